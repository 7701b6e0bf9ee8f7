/**
 * Did the cluster recover after an overload? A max-rate search overloads the cluster on
 * purpose (the probe that fails); every measurement after that probe — later probes, the run
 * at the max rate, the run at half of it — is compared with what the cluster committed
 * BEFORE its first overload, at the same offered rate when one was probed then. A cluster
 * that wedges (a mempool clogged with txs it can never propose, every submission refused)
 * commits nothing afterwards, and this comparison is where that shows.
 */

/** One measurement at a fixed offered rate, in the order they ran. */
export interface RateMeasurement {
  readonly rate: number;
  /** Committed load tx/s (mean after the warm-up). */
  readonly txPerSec: number;
  /** Load txs committed in the whole measurement. */
  readonly committedTxs: number;
  readonly sustainable: boolean;
}

/** A measurement that follows an overload probe, against the healthy reference. */
export interface RecoveryComparison {
  /** Offered rate of the latest overload (unsustainable) probe before this measurement. */
  readonly afterOverloadRate: number;
  /**
   * The probe from before the first overload it is compared with (null: no probe committed
   * anything before it; then the offered rate is the reference).
   */
  readonly referenceRate: number | null;
  /** What that probe committed, tx/s. */
  readonly referenceTxPerSec: number | null;
  /** True when the reference ran at this measurement's offered rate. */
  readonly sameRate: boolean;
  /** What this measurement is expected to commit: min(reference tx/s, its offered rate). */
  readonly expectedTxPerSec: number;
  readonly txPerSec: number;
  /** txPerSec ÷ expectedTxPerSec. */
  readonly ratio: number;
  /**
   * ratio ≥ 0.9. Without a reference probe: true at ≥ 90% of the offered rate, false when
   * nothing committed, null in between (cannot be told).
   */
  readonly recovered: boolean | null;
  readonly reason: string;
}

const whole = (x: number): string => Math.round(x).toLocaleString('en-US');

/** A measurement after an overload must commit at least this share of the reference. */
export const RECOVERY_SHARE = 0.9;

/**
 * The reference for `rate` among the probes that ran before the first overload and
 * committed something: the one at the same rate; else the nearest rate below (the cluster sustained less then, so it should
 * commit at least that much now); else the nearest above (it sustained more, so it should
 * commit what is offered now). The latest such probe when a rate ran twice.
 */
function referenceFor(
  healthy: readonly RateMeasurement[],
  rate: number,
): RateMeasurement | undefined {
  let same: RateMeasurement | undefined;
  let below: RateMeasurement | undefined;
  let above: RateMeasurement | undefined;
  for (const m of healthy) {
    if (m.rate === rate) same = m;
    else if (m.rate < rate && (below === undefined || m.rate >= below.rate)) below = m;
    else if (m.rate > rate && (above === undefined || m.rate <= above.rate)) above = m;
  }
  return same ?? below ?? above;
}

/**
 * The comparison for `current`, given every measurement that ran before it (in order); null
 * when none of those was an overload probe (nothing to recover from).
 */
export function compareAfterOverload(
  earlier: readonly RateMeasurement[],
  current: Pick<RateMeasurement, 'rate' | 'txPerSec'>,
): RecoveryComparison | null {
  const firstOverload = earlier.findIndex((m) => !m.sustainable);
  if (firstOverload < 0) return null;
  const latestOverload = earlier.findLast((m) => !m.sustainable)!;
  // Rule: a probe that committed nothing is no measure of health.
  const healthy = earlier.slice(0, firstOverload).filter((m) => m.committedTxs > 0);
  const ref = referenceFor(healthy, current.rate);
  const base = { afterOverloadRate: latestOverload.rate, txPerSec: current.txPerSec };
  if (ref === undefined) return againstOffered(base, current.rate);
  const expected = Math.min(ref.txPerSec, current.rate);
  const ratio = current.txPerSec / expected;
  const recovered = ratio >= RECOVERY_SHARE;
  const at = ref.rate === current.rate ? 'the same rate' : `${whole(ref.rate)} tx/s`;
  return {
    ...base,
    referenceRate: ref.rate,
    referenceTxPerSec: ref.txPerSec,
    sameRate: ref.rate === current.rate,
    expectedTxPerSec: expected,
    ratio,
    recovered,
    reason: `${whole(current.txPerSec)} committed tx/s = ${Math.round(ratio * 100)}% of the ${whole(expected)} expected from ${at} before the overload (${recovered ? '≥' : '<'} ${RECOVERY_SHARE * 100}%)`,
  };
}

/**
 * No probe committed anything before the first overload (it was the first probe): only the
 * offered rate is left to hold a measurement to. Committing ≥ 90% of it proves the cluster
 * recovered and committing nothing proves it did not; anything between cannot tell a
 * cluster that never recovered from one whose capacity is below this rate.
 */
function againstOffered(
  base: Pick<RecoveryComparison, 'afterOverloadRate' | 'txPerSec'>,
  rate: number,
): RecoveryComparison {
  const ratio = base.txPerSec / rate;
  const recovered = ratio >= RECOVERY_SHARE ? true : base.txPerSec === 0 ? false : null;
  const verdict =
    recovered === null
      ? `(< ${RECOVERY_SHARE * 100}%: overloaded or not recovered, no healthy probe to tell)`
      : `(${recovered ? '≥' : '<'} ${RECOVERY_SHARE * 100}%)`;
  return {
    ...base,
    referenceRate: null,
    referenceTxPerSec: null,
    sameRate: false,
    expectedTxPerSec: rate,
    ratio,
    recovered,
    reason: `no probe committed before the first overload; ${whole(base.txPerSec)} committed tx/s = ${Math.round(ratio * 100)}% of the ${whole(rate)} offered ${verdict}`,
  };
}

/**
 * For each overload probe: did the cluster recover after it, i.e. did the next measurement
 * (a probe, or the run at the max rate) meet its comparison? `comparisons[i]` is the
 * comparison of `probes[i]`, and one more entry may follow for the run after the last probe.
 * Null for sustainable probes, and for an overload with nothing after it or nothing to
 * compare with.
 */
export function recoveredAfter(
  probes: readonly RateMeasurement[],
  comparisons: ReadonlyArray<RecoveryComparison | null>,
): Array<boolean | null> {
  return probes.map((p, i) => (p.sustainable ? null : (comparisons[i + 1]?.recovered ?? null)));
}

/**
 * False if any comparison failed; null if none was made or one cannot be told; else true.
 */
export function allRecovered(
  comparisons: ReadonlyArray<RecoveryComparison | null>,
): boolean | null {
  const made = comparisons.filter((c): c is RecoveryComparison => c !== null);
  if (made.some((c) => c.recovered === false)) return false;
  if (made.length === 0 || made.some((c) => c.recovered === null)) return null;
  return true;
}
