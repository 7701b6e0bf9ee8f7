/**
 * The goals a cluster run is judged by (issue #11, docs/BENCHMARKS.md), and the efficiency
 * figure. A goal is `met` only when it was measured on committed txs: a latency percentile
 * over zero commits, or over the few txs that made it while the rest never committed, is not
 * a measurement, so such a goal is `met: false` with the reason.
 */
import type { ValidationCeiling } from './ceiling.ts';
import { RECOVERY_SHARE, type RecoveryComparison } from './recovery.ts';
import type { RunResult } from './run.ts';

export interface Goal {
  readonly name: string;
  readonly target: string;
  /** The measured value; null when there was nothing to measure. */
  readonly value: number | null;
  readonly unit: string;
  /**
   * True only when measured on committed txs and within the target; null when not applicable
   * or not judged (a fixed-rate run's efficiency, a recovery that cannot be told).
   */
  readonly met: boolean | null;
  readonly detail: string;
  /** Committed load txs the value was measured on (null for goals not measured per tx). */
  readonly committedTxs: number | null;
  /** Why the goal is not met, or not measured; null when it is met. */
  readonly reason: string | null;
}

/**
 * The cluster's efficiency: committed tx/s × validators ÷ the single-process validation
 * throughput measured in the same run. Every validator validates and commits every tx, so
 * 1.0 would mean the cluster does as much validation work per second as one process doing
 * nothing else; the rest goes to consensus, gossip, the API and sharing the cores.
 */
export interface Efficiency {
  readonly definition: string;
  /** The run it is computed from: the run at the max rate (--max), or the fixed-rate run. */
  readonly run: 'max' | 'fixed';
  readonly committedTxPerSec: number;
  readonly committedTxs: number;
  readonly validators: number;
  readonly ceilingTxPerSec: number;
  readonly ceilingMethod: ValidationCeiling['method'];
  readonly ratio: number;
}

export const EFFICIENCY_DEFINITION =
  'committed tx/s (mean after the warm-up) × validators ÷ single-process validation tx/s (bench/validate.ts in the harness process with its verify worker pool on all cores, measured before the cluster starts, on the chain kind and block size the cluster runs)';

/** Share of due txs that may go uncommitted before a latency percentile says nothing. */
export const MAX_UNCOMMITTED_SHARE = 0.01;

export function efficiencyOf(
  run: RunResult | null,
  ceiling: ValidationCeiling | null,
  max: boolean,
): Efficiency | null {
  if (run === null || ceiling === null || !(ceiling.txPerSec > 0)) return null;
  return {
    definition: EFFICIENCY_DEFINITION,
    run: max ? 'max' : 'fixed',
    committedTxPerSec: run.throughput.meanTxPerSec,
    committedTxs: run.committedLoadTxs,
    validators: run.validators,
    ceilingTxPerSec: ceiling.txPerSec,
    ceilingMethod: ceiling.method,
    ratio: (run.throughput.meanTxPerSec * run.validators) / ceiling.txPerSec,
  };
}

/** Why a latency percentile of this run is not a measurement; undefined when it is one. */
export function latencyNotMeasured(run: RunResult): string | undefined {
  if (run.latency.count === 0) {
    return 'no load tx committed: a percentile over zero commits is not a measurement';
  }
  // Rule: txs that never committed have no latency; the committed few would understate it.
  const lost = run.uncommitted + run.load.failed;
  const due = Math.max(1, run.load.due);
  if (lost / due > MAX_UNCOMMITTED_SHARE) {
    return `${lost} of ${run.load.due} due txs (${((100 * lost) / due).toFixed(1)}%) never committed (${run.uncommitted} uncommitted after the drain, ${run.load.failed} failed): the latency of the committed ones understates the run's`;
  }
  return undefined;
}

function goal(
  g: Omit<Goal, 'met' | 'reason'>,
  within: boolean,
  notMeasured: string | undefined,
  missed: string,
): Goal {
  if (notMeasured !== undefined) return { ...g, met: false, reason: notMeasured };
  return { ...g, met: within, reason: within ? null : missed };
}

export interface GoalInputs {
  readonly max: boolean;
  readonly viewTimeoutMs: number;
  readonly ceiling: ValidationCeiling | null;
  readonly run: RunResult | null;
  readonly halfRateRun: RunResult | null;
  /** Comparisons of every probe and run that followed an overload probe (--max). */
  readonly recovery: ReadonlyArray<RecoveryComparison | null>;
}

export function goalsFor(inputs: GoalInputs): Goal[] {
  const { run, halfRateRun: half, ceiling } = inputs;
  const goals: Goal[] = [];
  const efficiency = efficiencyOf(run, ceiling, inputs.max);
  if (efficiency !== null && run !== null) goals.push(efficiencyGoal(efficiency, run));
  if (half !== null) {
    const notMeasured = latencyNotMeasured(half);
    goals.push(
      goal(
        {
          name: 'p99 latency at half the max rate',
          target: '< 1000 ms',
          value: half.latency.count === 0 ? null : half.latency.p99Ms,
          unit: 'ms',
          detail: `${half.rate} tx/s offered, ${Math.round(half.throughput.meanTxPerSec)} committed/s, p99 over ${half.latency.count} committed txs`,
          committedTxs: half.committedLoadTxs,
        },
        half.latency.p99Ms < 1000,
        notMeasured,
        `p99 ${Math.round(half.latency.p99Ms)} ms ≥ 1000 ms`,
      ),
    );
  }
  goals.push(...faultGoals(inputs));
  const made = inputs.recovery.filter((c): c is RecoveryComparison => c !== null);
  if (inputs.max) goals.push(recoveryGoal(made));
  return goals;
}

function efficiencyGoal(e: Efficiency, run: RunResult): Goal {
  const measured = {
    name: 'cluster work vs single-process validation',
    target: '≥ 60% at the max rate',
    value: e.ratio * 100,
    unit: '%',
    detail: `${Math.round(e.committedTxPerSec)} committed tx/s × ${e.validators} validators = ${Math.round(e.committedTxPerSec * e.validators)} tx/s of validation vs ${Math.round(e.ceilingTxPerSec)} tx/s (${e.ceilingMethod})`,
    committedTxs: run.committedLoadTxs,
  };
  if (run.committedLoadTxs > 0 && e.run === 'fixed') {
    // Rule: only the run at the max rate measures the cluster at capacity.
    return {
      ...measured,
      met: null,
      reason: 'not judged: a fixed-rate run measures what was offered, not capacity (use --max)',
    };
  }
  return goal(
    measured,
    e.ratio >= 0.6,
    run.committedLoadTxs === 0 ? 'no load tx committed' : undefined,
    `${(e.ratio * 100).toFixed(1)}% < 60%`,
  );
}

function faultGoals(inputs: GoalInputs): Goal[] {
  const { run } = inputs;
  const goals: Goal[] = [];
  for (const f of run?.faults ?? []) {
    if (run === null) break;
    const nothing = run.committedLoadTxs === 0 ? 'no load tx committed in the run' : undefined;
    if (f.kind === 'crash' && f.spec.startsWith('crash:primary')) {
      const limit = 3 * inputs.viewTimeoutMs;
      const first = f.recovery.firstCommitAfterStartMs;
      goals.push(
        goal(
          {
            name: 'chain commits again after the primary is killed',
            target: `≤ ${limit} ms (3 × base view timeout)`,
            value: f.recovery.maxCommitGapMs,
            unit: 'ms',
            detail: `${f.spec}: node${f.resolvedNode} killed while deciding height ${f.heightAtStart}; first commit after ${Math.round(first ?? Number.NaN)} ms, longest stall ${Math.round(f.recovery.maxCommitGapMs)} ms`,
            committedTxs: run.committedLoadTxs,
          },
          f.recovery.maxCommitGapMs <= limit,
          // Rule: a stall that ends with the run, not with a commit, measures nothing.
          nothing ?? (first === null ? 'no commit after the kill before the run ended' : undefined),
          `longest stall ${Math.round(f.recovery.maxCommitGapMs)} ms > ${limit} ms`,
        ),
      );
    }
    if (f.kind === 'crash' && run.throughput.baselineTxPerSec !== null) {
      const baseline = run.throughput.baselineTxPerSec;
      const ratio = baseline > 0 ? f.recovery.txPerSecDuring / baseline : 0;
      goals.push(
        goal(
          {
            name: 'throughput with one validator crashed vs healthy',
            target: '≥ 70%',
            value: baseline > 0 ? ratio * 100 : null,
            unit: '%',
            detail: `${f.spec}: ${Math.round(f.recovery.txPerSecDuring)} tx/s while down vs ${Math.round(baseline)} tx/s before (only meaningful when the offered rate saturates the cluster)`,
            committedTxs: run.committedLoadTxs,
          },
          ratio >= 0.7,
          nothing ?? (baseline > 0 ? undefined : 'nothing committed before the crash'),
          `${(ratio * 100).toFixed(1)}% < 70%`,
        ),
      );
    }
  }
  return goals;
}

function recoveryGoal(made: readonly RecoveryComparison[]): Goal {
  const name = 'every probe and run after an overload probe vs before it';
  const target = `≥ ${RECOVERY_SHARE * 100}% of what the cluster committed before the overload`;
  if (made.length === 0) {
    return {
      name,
      target,
      value: null,
      unit: '%',
      met: null,
      detail: 'no probe overloaded the cluster',
      committedTxs: null,
      reason: 'not applicable: no overload probe',
    };
  }
  const worst = made.reduce((w, c) => (c.ratio < w.ratio ? c : w));
  const failed = made.filter((c) => c.recovered === false);
  const untold = made.filter((c) => c.recovered === null);
  const g = {
    name,
    target,
    value: worst.ratio * 100,
    unit: '%',
    detail: `${made.length} measurements after an overload; lowest: ${worst.reason}`,
    committedTxs: null,
  };
  if (failed.length > 0) {
    return {
      ...g,
      met: false,
      reason: `${failed.length} of ${made.length} did not recover: ${failed[0]!.reason}`,
    };
  }
  if (untold.length > 0) {
    return {
      ...g,
      met: null,
      reason: `${untold.length} of ${made.length} cannot be told: ${untold[0]!.reason}`,
    };
  }
  return { ...g, met: true, reason: null };
}
