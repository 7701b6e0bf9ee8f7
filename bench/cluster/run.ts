/**
 * One measured run on a running cluster: open-loop load at a fixed rate for a duration, the
 * fault schedule played against real processes, commits tracked per tx, status and /proc
 * sampled every second. Several runs can share one cluster (the max-rate search does):
 * senders keep their nonces across runs through the shared TxFactory, resynchronised with
 * the chain before each run (a tx given up on in an overload leaves no gap).
 */
import type { ClockJson, StatusResponse } from '../../src/api/types.ts';
import { addressOf } from '../../src/chain/address.ts';
import { DEFAULT_PARAMS } from '../../src/chain/genesis.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { CivitasError } from '../../src/errors/index.ts';
import type { LocalNetwork } from '../../src/localnet/index.ts';
import { CommitTracker } from './commit-tracker.ts';
import { boundaries, type NodeFaultSettings, settingsAt } from './fault-schedule.ts';
import { describeFault, type Fault } from './fault-spec.ts';
import { type LoadCounters, OpenLoopGenerator, type TxFactory } from './load.ts';
import { type ProcessUsage, UsageTracker } from './proc-stats.ts';
import {
  type CdfPoint,
  type FaultRecovery,
  faultRecovery,
  LatencyRecorder,
  type LatencySummary,
  meanThroughput,
  throughputSeries,
} from './stats.ts';

export interface RunOptions {
  readonly rate: number;
  readonly durationS: number;
  readonly faults: readonly Fault[];
  /** Longest wait after the load for submitted txs to commit. */
  readonly drainS: number;
  /** Seconds at the start left out of the mean throughput (pipeline filling). */
  readonly warmupS: number;
  readonly label: string;
  readonly progress?: (line: string) => void;
}

export interface FaultResult {
  readonly spec: string;
  readonly kind: Fault['kind'];
  readonly startS: number;
  readonly endS: number | null;
  /** crash:primary: the validator that was primary when the fault started. */
  readonly resolvedNode?: number;
  /** crash: the height the chain was deciding when the node was killed. */
  readonly heightAtStart?: number;
  readonly recovery: FaultRecovery;
}

/** Where a node's time went, from its own /metrics at the end of the run (since it started). */
export interface NodeTimings {
  /** Per stage: mean ms and count (mempool_admit, proposal_build, proposal_validate, …). */
  readonly stages: Record<string, { meanMs: number; count: number }>;
  /** Mean block proposal → commit on this node, ms. */
  readonly blockCommitLatencyMeanMs: number | null;
  /** Event-loop lag p99 (prom-client's monitor), ms. */
  readonly eventLoopLagP99Ms: number | null;
  /** Gossip verdicts by topic and result. */
  readonly gossip: Record<string, number>;
  readonly consensusRejects: Record<string, number>;
  /**
   * The node's tx signature counters (`civitas_tx_signatures_<what>_total{<label>="<value>"}`)
   * as `<what>/<value>`: signatures verified per path (verified/admission, …) and per thread
   * (by_thread/workers, by_thread/calling). Empty when the node exposes none.
   */
  readonly signatures: Record<string, number>;
  /** Compact proposal counters (`civitas_compact_proposals_total{event}`); empty if none. */
  readonly compactProposals?: Record<string, number>;
  /** Consensus bytes published, as sent and as v1 (`civitas_consensus_published_bytes_total`). */
  readonly consensusBytes?: { readonly wire: number; readonly v1: number };
}

export interface NodeResult {
  readonly index: number;
  readonly timings: NodeTimings | null;
  readonly restarts: number;
  /** View changes this node went through (summed over its restarts). */
  readonly viewChanges: number;
  readonly finalHeight: number | null;
  /**
   * The node's own clock estimate (GET /status `clock`) at the end of the run, before the
   * faults are lifted: a skewed node should see itself off by about its skew. Null if the
   * node never answered.
   */
  readonly clock: ClockJson | null;
  readonly usage: ProcessUsage;
}

export interface RunResult {
  readonly label: string;
  readonly rate: number;
  readonly durationS: number;
  readonly validators: number;
  readonly blockSize: number;
  readonly load: LoadCounters & { readonly senders: number };
  readonly committedLoadTxs: number;
  /** Accepted txs that had not committed when the drain ended. */
  readonly uncommitted: number;
  readonly throughput: {
    /** Mean committed tx/s over [warmup, duration). */
    readonly meanTxPerSec: number;
    /** Mean over [warmup, first fault) when that is ≥ 2 s long: the healthy throughput. */
    readonly baselineTxPerSec: number | null;
    /** Mean over the whole load window [0, duration). */
    readonly meanTxPerSecAll: number;
    readonly overTime: ReadonlyArray<{ t: number; txPerSec: number }>;
  };
  readonly latency: LatencySummary & { readonly cdf: readonly CdfPoint[] };
  readonly blocks: { readonly count: number; readonly meanTxs: number; readonly maxTxs: number };
  readonly viewChanges: { readonly total: number; readonly maxPerNode: number };
  readonly backlogOverTime: ReadonlyArray<{ t: number; pending: number }>;
  readonly mempoolOverTime: ReadonlyArray<{ t: number; max: number }>;
  readonly faults: readonly FaultResult[];
  /** Fault actions that failed (a node refused its settings, a restart timed out). */
  readonly faultErrors: readonly string[];
  readonly nodes: readonly NodeResult[];
  readonly harness: ProcessUsage;
  readonly observer: { readonly node: number; readonly switches: number };
}

interface TxTiming {
  due: number;
  committed: boolean;
}

/**
 * View changes of one node during the run: its counter is cumulative since the process
 * started, so the first value seen is subtracted, and a restart (counter back to 0) carries
 * what was counted before it.
 */
class ViewChangeCounter {
  private start: number | undefined;
  private carried = 0;
  private last = 0;

  observe(value: number): void {
    if (this.start === undefined) {
      this.start = value;
      this.last = value;
      return;
    }
    if (value < this.last) this.carried += this.last;
    this.last = value;
  }

  get total(): number {
    return this.carried + this.last - (this.start ?? 0);
  }
}

/** Which node to watch commits on: the one the faults leave alone, if any. */
function pickObserver(faults: readonly Fault[], n: number): number {
  const touched = new Set<number>();
  for (const f of faults) {
    if (f.kind === 'crash' && f.target !== 'primary') touched.add(f.target);
    if (f.kind === 'partition') for (const i of f.groups.flat()) touched.add(i);
    if (f.kind === 'byzantine' || f.kind === 'skew') touched.add(f.node);
    if ((f.kind === 'delay' || f.kind === 'loss') && f.a !== '*') {
      touched.add(f.a);
      if (f.b !== '*') touched.add(f.b);
    }
  }
  for (let i = n - 1; i >= 0; i--) if (!touched.has(i)) return i;
  return n - 1;
}

export async function runLoad(
  network: LocalNetwork,
  factory: TxFactory,
  senders: number,
  opts: RunOptions,
): Promise<RunResult> {
  const n = network.size;
  const durationMs = opts.durationS * 1000;
  const count = Math.max(1, Math.round(opts.rate * opts.durationS));
  const statusNow = await firstStatus(network);
  const rpc = network.urls[network.urls.findIndex((_, i) => network.isUp(i))]!;
  const movedBack = await factory.resync(async (publicKey) => {
    const res = await fetch(`${rpc}/accounts/${toHex(addressOf(publicKey))}`);
    return ((await res.json()) as { nonce: number }).nonce;
  });
  if (movedBack > 0) {
    opts.progress?.(`${opts.label}: ${movedBack} senders resume at the chain's next nonce`);
  }
  opts.progress?.(`${opts.label}: signing ${count.toLocaleString('en-US')} txs`);
  const txs = factory.batch(count);
  const timings = new Map<string, TxTiming>();
  for (const tx of txs) timings.set(tx.hash, { due: Number.NaN, committed: false });

  const latency = new LatencyRecorder();
  let origin = 0;
  const tracker = new CommitTracker({
    target: { urls: network.urls, isUp: (i) => network.isUp(i) },
    observer: pickObserver(opts.faults, n),
    fromHeight: statusNow.height,
    origin: () => origin,
    onTx: (hash, atMs) => {
      const t = timings.get(hash);
      if (t === undefined || t.committed) return false;
      t.committed = true;
      if (!Number.isNaN(t.due)) latency.record(atMs - (t.due - origin));
      return true;
    },
  });
  const generator = new OpenLoopGenerator({ urls: network.urls, isUp: (i) => network.isUp(i) });

  // Samplers: node status and /proc every second.
  const usage = Array.from({ length: n }, () => new UsageTracker());
  const harnessUsage = new UsageTracker();
  const viewChanges = Array.from({ length: n }, () => new ViewChangeCounter());
  const finalHeights: Array<number | null> = new Array(n).fill(null);
  const clocks: Array<ClockJson | null> = new Array(n).fill(null);
  const backlog: Array<{ t: number; pending: number }> = [];
  const mempool: Array<{ t: number; max: number }> = [];
  let committedCount = 0;
  const sample = async (): Promise<void> => {
    const t = (performance.now() - origin) / 1000;
    harnessUsage.sample(process.pid);
    let maxMempool = 0;
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        usage[i]!.sample(network.pid(i));
        if (!network.isUp(i)) return;
        const s = await network.status(i);
        if (s === undefined) return;
        viewChanges[i]!.observe(s.consensus.viewChanges);
        finalHeights[i] = s.height;
        clocks[i] = s.clock;
        maxMempool = Math.max(maxMempool, s.mempool.size);
      }),
    );
    committedCount = tracker.commits.reduce((a, c) => a + c.loadTxs, 0);
    backlog.push({
      t: Math.round(t * 10) / 10,
      pending: generator.counters.accepted - committedCount,
    });
    mempool.push({ t: Math.round(t * 10) / 10, max: maxMempool });
  };

  // Fault schedule.
  const faultResults: Array<Omit<FaultResult, 'recovery'>> = [];
  const crashTargets = new Map<Fault, number>();
  const faultErrors: string[] = [];
  const applied: NodeFaultSettings[] = settingsAt([], n, 0);
  const applySettings = async (t: number): Promise<void> => {
    const next = settingsAt(opts.faults, n, t);
    await Promise.all(
      next.map(async (s, i) => {
        if (JSON.stringify(s) === JSON.stringify(applied[i]) || !network.isUp(i)) return;
        await setFaults(network, i, s);
        applied[i] = s;
      }),
    );
  };
  const faultEvents = async (t: number): Promise<void> => {
    for (const f of opts.faults) {
      if (f.kind !== 'crash') continue;
      if (f.atMs === t) {
        const status = await firstStatus(network);
        const target = f.target === 'primary' ? status.consensus.primary : f.target;
        crashTargets.set(f, target);
        opts.progress?.(
          `${opts.label}: t=${t / 1000}s kill -9 node${target} (height ${status.height + 1})`,
        );
        await network.kill(target);
        applied[target] = settingsAt([], n, 0)[target]!;
        faultResults.push({
          spec: describeFault(f),
          kind: f.kind,
          startS: f.atMs / 1000,
          endS: f.untilMs === undefined ? null : f.untilMs / 1000,
          resolvedNode: target,
          heightAtStart: status.height + 1,
        });
      }
      if (f.untilMs === t) {
        const target = crashTargets.get(f);
        if (target !== undefined) {
          opts.progress?.(`${opts.label}: t=${t / 1000}s restart node${target}`);
          await network.restart(target, { timeoutMs: 60_000 });
        }
      }
    }
    for (const f of opts.faults) {
      if (f.kind !== 'crash' && f.atMs === t) {
        faultResults.push({
          spec: describeFault(f),
          kind: f.kind,
          startS: f.atMs / 1000,
          endS: f.untilMs === undefined ? null : f.untilMs / 1000,
        });
      }
    }
    await applySettings(t);
  };

  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const s = network.isUp(i) ? await network.status(i) : undefined;
      if (s !== undefined) viewChanges[i]!.observe(s.consensus.viewChanges);
    }),
  );
  opts.progress?.(`${opts.label}: ${opts.rate} tx/s for ${opts.durationS}s`);
  origin = performance.now();
  tracker.start();
  const sampler = setInterval(() => void sample(), 1000);
  const times = boundaries(opts.faults, durationMs);
  let faultLoop: Promise<void> = Promise.resolve();
  const faultTimers = times.map((t) =>
    setTimeout(() => {
      faultLoop = faultLoop.then(() =>
        faultEvents(t).catch((err) => {
          faultErrors.push(`t=${t / 1000}s: ${(err as Error).message}`);
          opts.progress?.(`${opts.label}: fault at ${t / 1000}s failed: ${(err as Error).message}`);
        }),
      );
    }, t),
  );
  if (times[0] === 0) {
    clearTimeout(faultTimers[0]);
    await faultEvents(0);
    origin = performance.now();
  }
  const loadDone = generator.run(txs, opts.rate, origin, (tx, due) => {
    timings.get(tx.hash)!.due = due;
  });
  await Promise.race([loadDone, new Promise((r) => setTimeout(r, durationMs + 1000))]);
  generator.stopSending();
  for (const timer of faultTimers) clearTimeout(timer);
  await faultLoop;

  // Drain: wait for accepted txs to commit and refused ones (503 from a node with a backlog)
  // to be admitted, or the drain time to pass.
  const drainUntil = performance.now() + opts.drainS * 1000;
  while (performance.now() < drainUntil) {
    committedCount = tracker.commits.reduce((a, c) => a + c.loadTxs, 0);
    if (committedCount >= generator.counters.accepted && generator.pending === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  generator.stop();
  clearInterval(sampler);
  await sample();
  await tracker.stop();
  generator.close();
  const nodeStages = await Promise.all(
    network.urls.map((url, i) => (network.isUp(i) ? nodeTimings(url) : null)),
  );
  // Faults end with the run: a later run on this cluster starts clean.
  for (let i = 0; i < n; i++) {
    if (!network.isUp(i)) await network.restart(i, { timeoutMs: 60_000 }).catch(() => {});
  }
  await Promise.all(
    applied.map((s, i) =>
      JSON.stringify(s) === JSON.stringify(settingsAt([], n, 0)[i]) || !network.isUp(i)
        ? undefined
        : setFaults(network, i, settingsAt([], n, 0)[i]!).catch(() => {}),
    ),
  );

  const commits = tracker.commits;
  const committedLoadTxs = commits.reduce((a, c) => a + c.loadTxs, 0);
  const firstFault = Math.min(durationMs, ...opts.faults.map((f) => f.atMs));
  const warmupMs = Math.min(opts.warmupS * 1000, durationMs / 2);
  const healthy =
    opts.faults.length > 0 && firstFault - warmupMs >= 2000
      ? meanThroughput(commits, warmupMs, firstFault)
      : null;
  const baseline = healthy ?? opts.rate;
  const loadBlocks = commits.filter((c) => c.atMs >= 0 && c.atMs < durationMs);
  const summary = latency.summary();
  const result: RunResult = {
    label: opts.label,
    rate: opts.rate,
    durationS: opts.durationS,
    validators: n,
    blockSize: network.manifest.genesis?.maxBlockTxs ?? DEFAULT_PARAMS.maxBlockTxs,
    load: { ...generator.counters, senders },
    committedLoadTxs,
    uncommitted: Math.max(0, generator.counters.accepted - committedLoadTxs),
    throughput: {
      meanTxPerSec: meanThroughput(commits, warmupMs, durationMs),
      baselineTxPerSec: healthy,
      meanTxPerSecAll: meanThroughput(commits, 0, durationMs),
      overTime: throughputSeries(commits, durationMs),
    },
    latency: { ...summary, cdf: latency.cdf() },
    blocks: {
      count: loadBlocks.length,
      meanTxs:
        loadBlocks.length === 0 ? 0 : loadBlocks.reduce((a, c) => a + c.txs, 0) / loadBlocks.length,
      maxTxs: Math.max(0, ...loadBlocks.map((c) => c.txs)),
    },
    viewChanges: {
      total: viewChanges.reduce((a, v) => a + v.total, 0),
      maxPerNode: Math.max(...viewChanges.map((v) => v.total)),
    },
    backlogOverTime: backlog,
    mempoolOverTime: mempool,
    faults: faultResults
      .sort((a, b) => a.startS - b.startS)
      .map((f) => ({
        ...f,
        recovery: faultRecovery(
          { atMs: f.startS * 1000, ...(f.endS !== null ? { untilMs: f.endS * 1000 } : {}) },
          commits,
          durationMs,
          baseline,
        ),
      })),
    faultErrors,
    nodes: usage.map((u, i) => ({
      index: i,
      timings: nodeStages[i]!,
      restarts: network.restartCount(i),
      viewChanges: viewChanges[i]!.total,
      finalHeight: finalHeights[i]!,
      clock: clocks[i]!,
      usage: u.usage(),
    })),
    harness: harnessUsage.usage(),
    observer: { node: tracker.observedNode, switches: tracker.observerSwitches },
  };
  latency.destroy();
  return result;
}

/** Reads the series the report needs from Prometheus text. */
export function parseNodeTimings(text: string): NodeTimings {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.length === 0) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  const stages: NodeTimings['stages'] = {};
  const gossip: Record<string, number> = {};
  const consensusRejects: Record<string, number> = {};
  const signatures: Record<string, number> = {};
  const compactProposals: Record<string, number> = {};
  for (const [series, value] of values) {
    let m = /^civitas_validation_stage_seconds_count\{stage="([a-z_]+)"\}$/.exec(series);
    if (m !== null && value > 0) {
      const sum = values.get(`civitas_validation_stage_seconds_sum{stage="${m[1]}"}`) ?? 0;
      stages[m[1]!] = { meanMs: (1000 * sum) / value, count: value };
    }
    m = /^civitas_gossip_messages_total\{topic="([a-z]+)",result="([a-z_]+)"\}$/.exec(series);
    if (m !== null && value > 0) gossip[`${m[1]}/${m[2]}`] = value;
    m = /^civitas_consensus_messages_rejected_total\{reason="([a-z-]+)"\}$/.exec(series);
    if (m !== null && value > 0) consensusRejects[m[1]!] = value;
    m = /^civitas_tx_signatures_([a-z_]+)_total\{[a-z_]+="([a-z_:]+)"\}$/.exec(series);
    if (m !== null) signatures[`${m[1]}/${m[2]}`] = value;
    m = /^civitas_compact_proposals_total\{event="([a-z_]+)"\}$/.exec(series);
    if (m !== null) compactProposals[m[1]!] = value;
  }
  const wire = values.get('civitas_consensus_published_bytes_total{form="wire"}');
  const v1 = values.get('civitas_consensus_published_bytes_total{form="v1"}');
  const blocks = values.get('civitas_block_commit_latency_seconds_count') ?? 0;
  const lag = values.get('nodejs_eventloop_lag_p99_seconds');
  return {
    stages,
    blockCommitLatencyMeanMs:
      blocks > 0
        ? (1000 * (values.get('civitas_block_commit_latency_seconds_sum') ?? 0)) / blocks
        : null,
    eventLoopLagP99Ms: lag === undefined ? null : lag * 1000,
    gossip,
    consensusRejects,
    signatures,
    ...(Object.keys(compactProposals).length > 0 ? { compactProposals } : {}),
    ...(wire !== undefined && v1 !== undefined ? { consensusBytes: { wire, v1 } } : {}),
  };
}

async function nodeTimings(url: string): Promise<NodeTimings | null> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return res.ok ? parseNodeTimings(await res.text()) : null;
  } catch {
    return null;
  }
}

/** Status of the first node that answers. */
async function firstStatus(network: LocalNetwork): Promise<StatusResponse> {
  for (let attempt = 0; attempt < 50; attempt++) {
    for (let i = 0; i < network.size; i++) {
      if (!network.isUp(i)) continue;
      const s = await network.status(i);
      if (s !== undefined) return s;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no node answers /status');
}

/** Waits until every live node's mempool is empty (the previous load has drained). */
export async function waitIdle(network: LocalNetwork, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const sizes = await Promise.all(
      Array.from({ length: network.size }, (_, i) => network.status(i)),
    );
    if (sizes.every((s) => s === undefined || s.mempool.size === 0)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** Replaces node i's fault settings through its admin API (fault injection is on). */
async function setFaults(
  network: LocalNetwork,
  i: number,
  settings: NodeFaultSettings,
): Promise<void> {
  const res = await fetch(`${network.rpc(i)}/admin/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(settings),
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) {
    throw new CivitasError(
      'BENCH_FAULT_REFUSED',
      `node${i} refused fault settings: HTTP ${res.status} ${await res.text()}`,
    );
  }
}
