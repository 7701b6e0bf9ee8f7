/**
 * The figures a simulated run reports beside the checker's verdict: latency percentiles, one
 * row per seed for sweeps and experiments, and message rejections split into the benign ones
 * every healthy run has and the rest.
 */
import { BENIGN_REJECTS, REJECT_REASONS, type RejectReason } from '../events.ts';

export interface LatencySummary {
  /** How many values (committed heights with a known build time). */
  readonly count: number;
  /** Nearest-rank percentiles and the maximum, in simulated ms; null without values. */
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

const round3 = (x: number): number => Math.round(x * 1_000) / 1_000;

/** The nearest-rank percentile (p in 0..100) of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function latencySummary(values: readonly number[]): LatencySummary {
  if (values.length === 0) {
    return { count: 0, p50: null, p90: null, p99: null, max: null, mean: null };
  }
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round3(percentile(sorted, 50)),
    p90: round3(percentile(sorted, 90)),
    p99: round3(percentile(sorted, 99)),
    max: round3(sorted.at(-1)!),
    mean: round3(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

export interface RejectionBreakdown {
  readonly total: number;
  /** Duplicates and votes for heights or views already decided or left: every run has them. */
  readonly benign: number;
  readonly other: number;
  /** Non-zero reasons only, largest first. */
  readonly byReason: ReadonlyArray<{ reason: RejectReason; count: number; benign: boolean }>;
}

export function rejectionBreakdown(
  counts: Readonly<Partial<Record<RejectReason, number>>>,
): RejectionBreakdown {
  const byReason = REJECT_REASONS.map((reason) => ({
    reason,
    count: counts[reason] ?? 0,
    benign: BENIGN_REJECTS.has(reason),
  }))
    .filter((r) => r.count > 0)
    .sort((a, b) => b.count - a.count);
  const benign = byReason.filter((r) => r.benign).reduce((s, r) => s + r.count, 0);
  const total = byReason.reduce((s, r) => s + r.count, 0);
  return { total, benign, other: total - benign, byReason };
}

/** Adds `b`'s counts into `a`. */
export function addRejections(
  a: Record<RejectReason, number>,
  b: Readonly<Record<RejectReason, number>>,
): void {
  for (const reason of REJECT_REASONS) a[reason] += b[reason];
}

export function noRejections(): Record<RejectReason, number> {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
}

/** "2,700 benign (duplicate 2,000, stale-view 700); 160 other (future-height 160)". */
export function describeRejections(b: RejectionBreakdown): string {
  if (b.total === 0) return 'none';
  const list = (benign: boolean): string =>
    b.byReason
      .filter((r) => r.benign === benign)
      .map((r) => `${r.reason} ${r.count}`)
      .join(', ');
  const parts: string[] = [];
  if (b.benign > 0) parts.push(`${b.benign} benign (${list(true)})`);
  if (b.other > 0) parts.push(`${b.other} other (${list(false)})`);
  return parts.join('; ');
}

/** What the benign reasons mean, for the human output. */
export const BENIGN_REJECTS_NOTE =
  'benign: a duplicate, or a vote for a height already committed (stale-height) or a view already left (stale-view) — late votes after a decision arrive in every healthy run';

/** The simulation report's fields a seed row is made of (structural, to avoid a cycle). */
interface SeedReport {
  readonly seed: number;
  readonly validators: number;
  readonly signatures: string;
  readonly durationMs: number;
  readonly gstMs: number;
  readonly committedMin: number;
  readonly committedMax: number;
  readonly viewChanges: number;
  readonly crashes: number;
  readonly syncs: number;
  readonly evidence: number;
  readonly messages: {
    readonly sent: number;
    readonly delivered: number;
    readonly lost: number;
    readonly bytesSent: number;
  };
  readonly rejections: Readonly<Record<RejectReason, number>>;
  readonly commitLatencyMs: LatencySummary;
  readonly recoveryAfterGstMs: number | null;
  readonly violations: readonly unknown[];
}

/** One seed's figures, flat enough for a table. */
export interface SeedRow {
  readonly seed: number;
  readonly validators: number;
  readonly signatures: string;
  readonly durationMs: number;
  readonly committedMin: number;
  readonly committedMax: number;
  /** Committed blocks per simulated second (committedMax over the run). */
  readonly blocksPerSecond: number;
  readonly viewChanges: number;
  readonly crashes: number;
  readonly syncs: number;
  readonly evidence: number;
  readonly messagesSent: number;
  readonly bytesSent: number;
  /** Messages and bytes sent per committed block (null when nothing committed). */
  readonly messagesPerBlock: number | null;
  readonly bytesPerBlock: number | null;
  readonly rejectedBenign: number;
  readonly rejectedOther: number;
  readonly latencyMs: LatencySummary;
  readonly recoveryAfterGstMs: number | null;
  readonly violations: number;
}

export function seedRow(r: SeedReport): SeedRow {
  const rejected = rejectionBreakdown(r.rejections);
  const blocks = r.committedMax;
  return {
    seed: r.seed,
    validators: r.validators,
    signatures: r.signatures,
    durationMs: r.durationMs,
    committedMin: r.committedMin,
    committedMax: r.committedMax,
    blocksPerSecond: round3(blocks / (r.durationMs / 1_000)),
    viewChanges: r.viewChanges,
    crashes: r.crashes,
    syncs: r.syncs,
    evidence: r.evidence,
    messagesSent: r.messages.sent,
    bytesSent: r.messages.bytesSent,
    messagesPerBlock: blocks > 0 ? round3(r.messages.sent / blocks) : null,
    bytesPerBlock: blocks > 0 ? Math.round(r.messages.bytesSent / blocks) : null,
    rejectedBenign: rejected.benign,
    rejectedOther: rejected.other,
    latencyMs: r.commitLatencyMs,
    recoveryAfterGstMs: r.recoveryAfterGstMs === null ? null : round3(r.recoveryAfterGstMs),
    violations: r.violations.length,
  };
}
