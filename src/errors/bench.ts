/**
 * Benchmarks (bench/, `civitas bench`), the consensus simulator (`civitas sim`) and the lab
 * (`civitas lab run`: bench/lab/).
 */
import { type CodeSpec, SERVER_ERROR } from './spec.ts';

export const BENCH_ERRORS = {
  BENCH_BAD_ARGS: { ...SERVER_ERROR, description: 'bench options conflict or are out of range' },
  BENCH_BAD_FAULT: { ...SERVER_ERROR, description: 'a fault spec or manifest does not parse' },
  BENCH_FAULT_REFUSED: { ...SERVER_ERROR, description: 'a node refused fault settings' },
  BENCH_NO_RATE: { ...SERVER_ERROR, description: 'not even the start rate was sustainable' },
  BENCH_OUT_NOT_EMPTY: { ...SERVER_ERROR, description: 'the output dir already holds a run' },
  BENCH_WARMUP_FAILED: { ...SERVER_ERROR, description: 'the warm-up tx was not committed' },

  SIM_BAD_OPTIONS: { ...SERVER_ERROR, description: 'simulation options are out of range' },

  LAB_BAD_EXPERIMENT: {
    ...SERVER_ERROR,
    description: 'an experiment file does not parse or a field is wrong (the field is named)',
  },
  LAB_RESULTS_CONFLICT: {
    ...SERVER_ERROR,
    description: "the output folder's results.json is another experiment's or unreadable",
  },
} as const satisfies Record<string, CodeSpec>;
