/**
 * RunResults for tests of the goals and the report, built the way run.ts builds them: the
 * latency summary from a real LatencyRecorder over the committed txs' latencies, throughput
 * from committed txs over the load window.
 */
import type { ValidationCeiling } from '../../../bench/cluster/ceiling.ts';
import type { FaultResult, NodeResult, RunResult } from '../../../bench/cluster/run.ts';
import { LatencyRecorder } from '../../../bench/cluster/stats.ts';

export interface RunFixture {
  rate: number;
  durationS?: number;
  validators?: number;
  /** Latency of each committed load tx, ms (their count is what committed). */
  latenciesMs: readonly number[];
  /** Accepted txs that never committed. */
  uncommitted?: number;
  failed?: number;
  faults?: FaultResult[];
  baselineTxPerSec?: number | null;
  /** Each node's clock at the end of the run; default: in step (offset 0). */
  clocks?: ReadonlyArray<NodeResult['clock']>;
}

export function runFixture(f: RunFixture): RunResult {
  const durationS = f.durationS ?? 10;
  const committed = f.latenciesMs.length;
  const uncommitted = f.uncommitted ?? 0;
  const failed = f.failed ?? 0;
  const recorder = new LatencyRecorder();
  for (const ms of f.latenciesMs) recorder.record(ms);
  const summary = recorder.summary();
  const cdf = recorder.cdf();
  recorder.destroy();
  const usage = {
    cpuPercentMean: 40,
    cpuPercentPeak: 60,
    rssMiBMean: 200,
    rssMiBPeak: 220,
    rssMiBByMinute: Array.from({ length: Math.ceil(durationS / 60) }, (_, m) => 190 + m),
    samples: durationS,
  };
  const validators = f.validators ?? 4;
  return {
    label: `${f.rate} tx/s`,
    rate: f.rate,
    durationS,
    validators,
    blockSize: 1_000,
    load: {
      due: committed + uncommitted + failed,
      sent: committed + uncommitted,
      accepted: committed + uncommitted,
      retries: 0,
      failed,
      failures: failed > 0 ? { MEMPOOL_BUSY: failed } : {},
      maxSendLagMs: 3,
      senders: 32,
    },
    committedLoadTxs: committed,
    uncommitted,
    throughput: {
      meanTxPerSec: committed / durationS,
      baselineTxPerSec: f.baselineTxPerSec ?? null,
      meanTxPerSecAll: committed / durationS,
      overTime: Array.from({ length: durationS }, (_, t) => ({
        t,
        txPerSec: committed / durationS,
      })),
    },
    latency: { ...summary, cdf },
    blocks: { count: committed === 0 ? 0 : 10, meanTxs: committed / 10, maxTxs: committed / 10 },
    viewChanges: { total: 0, maxPerNode: 0 },
    backlogOverTime: [],
    mempoolOverTime: [],
    faults: f.faults ?? [],
    faultErrors: [],
    nodes: Array.from({ length: validators }, (_, index) => ({
      index,
      timings: null,
      restarts: 0,
      viewChanges: 0,
      finalHeight: 10,
      clock:
        f.clocks === undefined ? { offsetMs: 0, ok: true, maxDriftMs: 10_000 } : f.clocks[index]!,
      usage,
    })),
    harness: usage,
    observer: { node: validators - 1, switches: 0 },
  };
}

/** `n` latencies spread evenly over [fromMs, toMs]. */
export function spread(n: number, fromMs: number, toMs: number): number[] {
  return Array.from({ length: n }, (_, i) => fromMs + ((toMs - fromMs) * i) / Math.max(1, n - 1));
}

export function ceilingFixture(txPerSec: number): ValidationCeiling {
  return {
    method: 'validate-bench',
    txPerSec,
    verifyBackend: 'sodium',
    verifyPerSecPerCore: 9_000,
    verifyCeilingTxPerSec: 18_000,
    signatureCeilings: [
      {
        backend: 'sodium',
        verifyPerSecPerCore: 9_000,
        cpuUsPerVerify: 110,
        ceilingTxPerSec: 18_000,
        ratio: txPerSec / 18_000,
        cpuRatio: 0.5,
      },
      {
        backend: 'node:crypto',
        verifyPerSecPerCore: 4_500,
        cpuUsPerVerify: 220,
        ceilingTxPerSec: 9_000,
        ratio: txPerSec / 9_000,
        cpuRatio: 0.9,
      },
    ],
    cores: 2,
    txs: 5_000,
    blockSize: 1_000,
    chain: 'consortium',
    seconds: 1,
    note: 'fixture',
  };
}
