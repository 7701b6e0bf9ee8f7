/**
 * The simulated network: per-link base delays, and before GST (global stabilisation time)
 * whichever faults the run enables — delay spikes, loss, reordering jitter, duplication and
 * partitions that heal. After GST every link delivers every message within its base delay
 * plus a small jitter: the partial-synchrony assumption PBFT's liveness rests on.
 */

import type { FaultName } from './faults.ts';
import type { Prng } from './prng.ts';

export interface Partition {
  readonly startMs: number;
  readonly endMs: number;
  /** Side (0 or 1) of each replica; messages across sides are lost. */
  readonly side: readonly number[];
}

export interface NetworkPlan {
  readonly gstMs: number;
  readonly baseDelayMs: readonly (readonly number[])[];
  readonly jitterMeanMs: number;
  readonly spike: { readonly probability: number; readonly maxMs: number } | null;
  readonly loss: number;
  readonly duplicate: number;
  readonly reorderMs: number;
  readonly partitions: readonly Partition[];
}

export function planNetwork(
  rng: Prng,
  replicas: number,
  faults: ReadonlySet<FaultName>,
  gstMs: number,
): NetworkPlan {
  const baseDelayMs: number[][] = [];
  for (let i = 0; i < replicas; i++) {
    const row: number[] = [];
    for (let j = 0; j < replicas; j++) row.push(i === j ? 0 : rng.int(2, 25));
    baseDelayMs.push(row);
  }
  const partitions: Partition[] = [];
  if (faults.has('partition') && replicas > 1) {
    const count = rng.int(1, 4);
    for (let k = 0; k < count; k++) {
      const startMs = rng.int(0, Math.floor(gstMs * 0.8));
      const endMs = Math.min(
        gstMs,
        startMs + rng.int(Math.floor(gstMs * 0.05), Math.floor(gstMs * 0.4)),
      );
      const side = Array.from({ length: replicas }, () => rng.int(0, 2));
      // Both sides non-empty.
      if (side.every((s) => s === side[0])) {
        const i = rng.int(0, replicas);
        side[i] = 1 - side[i]!;
      }
      partitions.push({ startMs, endMs, side });
    }
  }
  return {
    gstMs,
    baseDelayMs,
    jitterMeanMs: 3,
    spike: faults.has('delay')
      ? { probability: rng.int(5, 30) / 100, maxMs: rng.int(100, 600) }
      : null,
    loss: faults.has('loss') ? rng.int(2, 30) / 100 : 0,
    duplicate: faults.has('duplicate') ? rng.int(2, 20) / 100 : 0,
    reorderMs: faults.has('reorder') ? rng.int(20, 150) : 0,
    partitions,
  };
}

export function partitioned(plan: NetworkPlan, from: number, to: number, now: number): boolean {
  for (const p of plan.partitions) {
    if (now >= p.startMs && now < p.endMs && p.side[from] !== p.side[to]) return true;
  }
  return false;
}

/** Delays of the copies of one message from→to sent at `now` ([] = lost). */
export function deliveryDelays(
  plan: NetworkPlan,
  rng: Prng,
  from: number,
  to: number,
  now: number,
): number[] {
  const base = plan.baseDelayMs[from]![to]! + rng.exponential(plan.jitterMeanMs);
  if (now >= plan.gstMs) return [base];
  if (partitioned(plan, from, to, now)) return [];
  if (plan.loss > 0 && rng.chance(plan.loss)) return [];
  let delay = base;
  if (plan.spike !== null && rng.chance(plan.spike.probability))
    delay += rng.next() * plan.spike.maxMs;
  if (plan.reorderMs > 0) delay += rng.next() * plan.reorderMs;
  if (plan.duplicate > 0 && rng.chance(plan.duplicate)) return [delay, delay + rng.next() * 100];
  return [delay];
}
