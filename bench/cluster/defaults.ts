/** Defaults of `civitas bench cluster`, in a module light enough for the CLI to load at start. */
export const CLUSTER_DEFAULTS = {
  validators: 4,
  durationS: 30,
  blockSize: 1_000,
  sweepValidators: [4, 7, 10, 13],
  sweepBlockSizes: [100, 1_000, 5_000],
  viewTimeoutMs: 2_000,
  blockIntervalMs: 50,
  probeDurationS: 10,
  maxP99Ms: 5_000,
  startRate: 200,
  maxRate: 20_000,
  ceilingTxs: 5_000,
  drainS: 15,
} as const;
