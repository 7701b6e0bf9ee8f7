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
  /** The probe from before the first overload it is compared with (null: none ran). */
  readonly referenceRate: number | null;
  /** What that probe committed, tx/s. */
  readonly referenceTxPerSec: number | null;
  /** True when the reference ran at this measurement's offered rate. */
  readonly sameRate: boolean;
  /** What this measurement is expected to commit: min(reference tx/s, its offered rate). */
  readonly expectedTxPerSec: number | null;
  readonly txPerSec: number;
  /** txPerSec ÷ expectedTxPerSec. */
  readonly ratio: number | null;
  /** ratio ≥ 0.9; null when there is nothing to compare with. */
  readonly recovered: boolean | null;
  readonly reason: string;
}

const whole = (x: number): string => Math.round(x).toLocaleString('en-US');

/** A measurement after an overload must commit at least this share of the reference. */
export const RECOVERY_SHARE = 0.9;

/**
 * The reference for `rate` among the probes that ran before the first overload: the one at
 * the same rate; else the nearest rate below (the cluster sustained less then, so it should
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
  const ref = referenceFor(earlier.slice(0, firstOverload), current.rate);
  const base = {
    afterOverloadRate: latestOverload.rate,
    txPerSec: current.txPerSec,
  };
  if (ref === undefined) {
    return {
      ...base,
      referenceRate: null,
      referenceTxPerSec: null,
      sameRate: false,
      expectedTxPerSec: null,
      ratio: null,
      recovered: null,
      reason: 'no probe ran before the first overload: nothing to compare with',
    };
  }
  const expected = Math.min(ref.txPerSec, current.rate);
  const reference = {
    referenceRate: ref.rate,
    referenceTxPerSec: ref.txPerSec,
    sameRate: ref.rate === current.rate,
    expectedTxPerSec: expected,
  };
  // Rule: a reference that committed nothing is not a measurement of health.
  if (ref.committedTxs === 0 || !(expected > 0)) {
    return {
      ...base,
      ...reference,
      ratio: null,
      recovered: null,
      reason: `the probe at ${whole(ref.rate)} tx/s before the overload committed nothing`,
    };
  }
  const ratio = current.txPerSec / expected;
  const recovered = ratio >= RECOVERY_SHARE;
  const at = ref.rate === current.rate ? 'the same rate' : `${whole(ref.rate)} tx/s`;
  return {
    ...base,
    ...reference,
    ratio,
    recovered,
    reason: `${whole(current.txPerSec)} committed tx/s = ${Math.round(ratio * 100)}% of the ${whole(expected)} expected from ${at} before the overload (${recovered ? '≥' : '<'} ${RECOVERY_SHARE * 100}%)`,
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

/** False if any comparison failed; true if there were some and all held; null if none. */
export function allRecovered(
  comparisons: ReadonlyArray<RecoveryComparison | null>,
): boolean | null {
  const made = comparisons.filter((c) => c !== null && c.recovered !== null);
  if (made.length === 0) return null;
  return made.every((c) => c!.recovered === true);
}
