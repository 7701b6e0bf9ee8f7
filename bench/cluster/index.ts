/** Public surface of the cluster benchmark (`civitas bench cluster`). */
export {
  CLUSTER_DEFAULTS,
  type ClusterBenchOptions,
  type ClusterBenchResults,
  isSustainable,
  type ProbeResult,
  runClusterBench,
} from './bench.ts';
export { measureValidationCeiling, type ValidationCeiling } from './ceiling.ts';
export { type NodeFaultSettings, settingsAt } from './fault-schedule.ts';
export {
  checkFaults,
  describeFault,
  FAULT_GRAMMAR,
  type Fault,
  parseFault,
  parseFaultManifest,
  parseFaultSpec,
} from './fault-spec.ts';
export {
  EFFICIENCY_DEFINITION,
  type Efficiency,
  efficiencyOf,
  type Goal,
  goalsFor,
  latencyNotMeasured,
} from './goals.ts';
export { latencyCdfSpec, renderSvg, type SweepPoint, sweepSpec, throughputSpec } from './plots.ts';
export {
  type BackendReport,
  type CryptoBackends,
  describeBackends,
  type GitInfo,
  gitInfo,
  type MachineInfo,
  machineAtEnd,
  machineAtStart,
  parseBackendMetrics,
} from './provenance.ts';
export {
  allRecovered,
  compareAfterOverload,
  type RateMeasurement,
  RECOVERY_SHARE,
  type RecoveryComparison,
  recoveredAfter,
} from './recovery.ts';
export { formatResults, writeResults } from './report.ts';
export type { FaultResult, NodeResult, RunResult } from './run.ts';
export {
  type CommitEvent,
  faultRecovery,
  LatencyRecorder,
  meanThroughput,
  nearestRank,
  throughputSeries,
} from './stats.ts';
