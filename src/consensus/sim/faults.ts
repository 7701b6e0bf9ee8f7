/** The simulator's fault vocabulary (docs/CONSENSUS.md, "Fault model"). */

export const NETWORK_FAULTS = ['delay', 'loss', 'reorder', 'duplicate', 'partition'] as const;
export const CRASH_FAULTS = ['crash'] as const;
/** Replicas whose clocks are off: a constant offset (skew), a rate error (drift). */
export const CLOCK_FAULTS = ['skew', 'drift'] as const;
/** Validator-set changes by governance (reconfig.ts: one seeded scenario per run). */
export const RECONFIG_FAULTS = ['reconfig'] as const;
export const BYZANTINE_FAULTS = [
  'equivocate',
  'double-vote',
  'silent',
  'invalid-block',
  'replay',
  'forge',
  'twins',
] as const;
export const FAULTS = [
  ...NETWORK_FAULTS,
  ...CRASH_FAULTS,
  ...CLOCK_FAULTS,
  ...BYZANTINE_FAULTS,
  ...RECONFIG_FAULTS,
] as const;

export type FaultName = (typeof FAULTS)[number];
export type ByzantineBehaviour = (typeof BYZANTINE_FAULTS)[number];

export function isFaultName(s: string): s is FaultName {
  return (FAULTS as readonly string[]).includes(s);
}
