/** Shared settings for the simulation tests: fault mixes and short runs. */

import { FAULTS, type FaultName } from '../../../src/consensus/sim/faults.ts';
import { livenessBound, SIM_TIMEOUTS } from '../../../src/consensus/sim/simulation.ts';
import type { SweepReport } from '../../../src/consensus/sim/sweep.ts';

export const MIXES: readonly (readonly FaultName[])[] = [
  FAULTS,
  ['delay', 'loss', 'reorder', 'duplicate'],
  ['partition', 'crash', 'delay'],
  ['equivocate', 'double-vote', 'loss'],
  ['silent', 'invalid-block', 'crash'],
  ['replay', 'forge', 'reorder', 'partition'],
  ['twins', 'delay', 'crash'],
];

/** Five seconds of faults, then the liveness window. */
export function testDuration(validators: number): number {
  return 5_000 + livenessBound(validators, SIM_TIMEOUTS);
}

export function describeViolations(report: SweepReport): string {
  return report.violations
    .slice(0, 10)
    .map(
      (v) =>
        `n=${v.validators} seed=${v.seed} faults=${v.faults.join(',')}: ${v.kind}: ${v.detail}`,
    )
    .join('\n');
}
