/** Public surface of the consensus lab (`civitas lab`, docs/LAB.md). */
export { CSV_COLUMNS, csvCell, toCsv } from './csv.ts';
export {
  type ClusterExperiment,
  checkExperiment,
  defaultSimDuration,
  type Experiment,
  LAB_KINDS,
  LAB_METRICS,
  LAB_PROTOCOLS,
  type PlannedRun,
  parseExperiment,
  planRuns,
  type SimExperiment,
} from './experiment.ts';
export { labPlots } from './plots.ts';
export {
  type LabResults,
  loadResults,
  pendingRuns,
  RESULTS_FILE,
  type RunMetrics,
  type RunRecord,
} from './results.ts';
export {
  CSV_FILE,
  clusterOutcome,
  clusterRun,
  type LabOptions,
  type LabRunners,
  type LabSummary,
  type RunOutcome,
  runLab,
  simRun,
} from './runner.ts';
