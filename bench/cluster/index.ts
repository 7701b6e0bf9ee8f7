/** Public surface of the cluster benchmark (`civitas bench cluster`). */
export {
  CLUSTER_DEFAULTS,
  type ClusterBenchOptions,
  type ClusterBenchResults,
  type Goal,
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
export { latencyCdfSpec, renderSvg, type SweepPoint, sweepSpec, throughputSpec } from './plots.ts';
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
