/**
 * The numbers a cluster run reports, computed from raw observations: per-tx latencies (an
 * HdrHistogram, so percentiles are exact to 3 significant digits at any count), committed
 * txs per time bucket, and how the chain behaved around each fault.
 */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export interface CdfPoint {
  readonly latencyMs: number;
  /** Fraction of txs committed within latencyMs, 0..1. */
  readonly fraction: number;
}

/** Latencies in ms, kept in µs with 3 significant digits. */
export class LatencyRecorder {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

  record(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  percentileMs(p: number): number {
    if (this.count === 0) return 0;
    return this.histogram.getValueAtPercentile(p) / 1000;
  }

  summary(): LatencySummary {
    const count = this.count;
    return {
      count,
      meanMs: count === 0 ? 0 : this.histogram.mean / 1000,
      p50Ms: this.percentileMs(50),
      p90Ms: this.percentileMs(90),
      p99Ms: this.percentileMs(99),
      p999Ms: this.percentileMs(99.9),
      maxMs: count === 0 ? 0 : this.histogram.maxValue / 1000,
    };
  }

  /** The CDF at `points` evenly spaced fractions (plus the tails 99%, 99.9%, 100%). */
  cdf(points = 100): CdfPoint[] {
    if (this.count === 0) return [];
    const fractions = new Set<number>();
    for (let i = 0; i <= points; i++) fractions.add(i / points);
    for (const f of [0.99, 0.995, 0.999, 1]) fractions.add(f);
    return [...fractions]
      .sort((a, b) => a - b)
      .map((fraction) => ({ latencyMs: this.percentileMs(fraction * 100), fraction }));
  }

  destroy(): void {
    this.histogram.destroy();
  }
}

/** Nearest-rank percentile of sorted values (the reference the histogram is tested against). */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** One committed block as the harness saw it. */
export interface CommitEvent {
  readonly height: number;
  /** When the harness learned of the commit, ms after the load started. */
  readonly atMs: number;
  /** Txs in the block. */
  readonly txs: number;
  /** Of those, txs this run's load generator submitted. */
  readonly loadTxs: number;
}

/**
 * Committed load txs per second in consecutive buckets covering [0, durationMs): bucket k
 * counts commits with k·bucketMs ≤ atMs < (k+1)·bucketMs, scaled to per second. A last
 * partial bucket is scaled by its true length.
 */
export function throughputSeries(
  commits: readonly CommitEvent[],
  durationMs: number,
  bucketMs = 1000,
): Array<{ t: number; txPerSec: number }> {
  const buckets = Math.ceil(durationMs / bucketMs);
  const counts = new Array<number>(buckets).fill(0);
  for (const c of commits) {
    if (c.atMs < 0 || c.atMs >= durationMs) continue;
    counts[Math.floor(c.atMs / bucketMs)]! += c.loadTxs;
  }
  return counts.map((n, k) => {
    const length = Math.min(bucketMs, durationMs - k * bucketMs);
    return { t: (k * bucketMs) / 1000, txPerSec: (n * 1000) / length };
  });
}

/** Load txs committed within [fromMs, toMs), per second. */
export function meanThroughput(
  commits: readonly CommitEvent[],
  fromMs: number,
  toMs: number,
): number {
  if (toMs <= fromMs) return 0;
  let n = 0;
  for (const c of commits) if (c.atMs >= fromMs && c.atMs < toMs) n += c.loadTxs;
  return (n * 1000) / (toMs - fromMs);
}

export interface FaultWindow {
  readonly atMs: number;
  readonly untilMs?: number;
}

export interface FaultRecovery {
  /** First commit after the fault started, ms after its start (null: none before the end). */
  readonly firstCommitAfterStartMs: number | null;
  /** Longest time without any commit within the fault window (from its start), ms. */
  readonly maxCommitGapMs: number;
  /** Mean committed tx/s while the fault was active. */
  readonly txPerSecDuring: number;
  /** First commit after the fault ended, ms after its end (null: no end, or no commit). */
  readonly firstCommitAfterEndMs: number | null;
  /**
   * After the fault ended: ms until the first 1 s bucket reached 90% of the pre-fault
   * throughput (null: no end, or it never did within the run).
   */
  readonly throughputRecoveredMs: number | null;
}

/**
 * How the chain behaved around one fault. `baselineTxPerSec` is the throughput to recover to
 * (the healthy throughput before any fault, or the offered rate).
 */
export function faultRecovery(
  window: FaultWindow,
  commits: readonly CommitEvent[],
  durationMs: number,
  baselineTxPerSec: number,
): FaultRecovery {
  const sorted = [...commits].sort((a, b) => a.atMs - b.atMs);
  const end = Math.min(window.untilMs ?? durationMs, durationMs);
  const after = (t: number): CommitEvent | undefined => sorted.find((c) => c.atMs > t);
  const first = after(window.atMs);
  // A stall that starts inside the window lasts until the next commit, even one after it.
  const times = [window.atMs];
  for (const c of sorted) if (c.atMs > window.atMs && c.atMs <= end) times.push(c.atMs);
  const closing = after(end);
  times.push(closing === undefined ? end : closing.atMs);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);

  let firstAfterEnd: number | null = null;
  let recovered: number | null = null;
  if (window.untilMs !== undefined && window.untilMs < durationMs) {
    const c = after(window.untilMs);
    firstAfterEnd = c === undefined ? null : c.atMs - window.untilMs;
    const series = throughputSeries(sorted, durationMs);
    const target = 0.9 * baselineTxPerSec;
    for (const b of series) {
      const bucketEnd = b.t * 1000 + 1000;
      if (b.t * 1000 < window.untilMs) continue;
      if (b.txPerSec >= target) {
        recovered = bucketEnd - window.untilMs;
        break;
      }
    }
  }
  return {
    firstCommitAfterStartMs: first === undefined ? null : first.atMs - window.atMs,
    maxCommitGapMs: gap,
    txPerSecDuring: meanThroughput(sorted, window.atMs, end),
    firstCommitAfterEndMs: firstAfterEnd,
    throughputRecoveredMs: recovered,
  };
}
