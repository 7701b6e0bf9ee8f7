/**
 * `civitas bench cluster`: the whole experiment — validation ceiling, cluster start-up,
 * warm-up, then a fixed-rate run, a max-rate search (plus runs at the max and at half of
 * it), or a sweep over validator counts and block sizes — and the results object.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAddress } from '../../src/chain/index.ts';
import { CivitasError } from '../../src/errors/index.ts';
import { LocalNetwork, type LocalNetworkManifest } from '../../src/localnet/index.ts';
import { measureValidationCeiling, type ValidationCeiling } from './ceiling.ts';
import { checkFaults, describeFault, type Fault } from './fault-spec.ts';
import { loadSenders, TxFactory } from './load.ts';
import type { SweepPoint } from './plots.ts';
import { type RunResult, runLoad, waitIdle } from './run.ts';

export interface ClusterBenchOptions {
  validators: number;
  durationS: number;
  /** Fixed offered rate (tx/s); ignored with `max`. */
  rate?: number;
  /** Search for the max sustainable rate. */
  max?: boolean;
  blockSize: number;
  faults: readonly Fault[];
  /** Output directory (results, plots, node homes); a temp dir that is removed when absent. */
  out?: string;
  sweep?: boolean;
  /** Apply the faults in every max-search probe too (e.g. the max rate with a node down). */
  faultsInSearch?: boolean;
  sweepValidators: readonly number[];
  sweepBlockSizes: readonly number[];
  viewTimeoutMs: number;
  blockIntervalMs: number;
  /** Load senders; default scales with the rate. */
  senders?: number;
  /**
   * An open chain (anyone with funds may transact) instead of the permissioned one the devnet
   * runs, whose senders are members: compares with builds that had no permissioning.
   */
  open?: boolean;
  probeDurationS: number;
  /** A probe is unsustainable above this p99 latency. */
  maxP99Ms: number;
  startRate: number;
  maxRate: number;
  /** Txs for the validation ceiling (0 skips it). */
  ceilingTxs: number;
  drainS: number;
  basePort?: number;
  /** Node log level; node logs are kept in <out>/network/nodeI/node.log. */
  nodeLogLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** CPU-profile this validator (V8 --cpu-prof; the profile lands in its home's profile/). */
  profileNode?: number;
  progress?: (line: string) => void;
  /** For sweeps: one call per finished point. */
  onSweepPoint?: (done: number, total: number, label: string) => void;
}

export { CLUSTER_DEFAULTS } from './defaults.ts';

export interface ProbeResult {
  readonly rate: number;
  readonly txPerSec: number;
  readonly p99Ms: number;
  readonly uncommitted: number;
  readonly failed: number;
  readonly maxSendLagMs: number;
  readonly viewChanges: number;
  readonly blocks: number;
  readonly sustainable: boolean;
  readonly why: string;
}

export interface Goal {
  readonly name: string;
  readonly target: string;
  readonly value: number | null;
  readonly unit: string;
  readonly met: boolean | null;
  readonly detail: string;
}

export interface ClusterBenchResults {
  readonly version: 1;
  readonly date: string;
  readonly config: Record<string, unknown>;
  readonly machine: {
    readonly cpus: number;
    readonly model: string;
    readonly memoryGiB: number;
    readonly node: string;
    readonly platform: string;
    readonly loadAverage: readonly number[];
  };
  readonly ceiling: ValidationCeiling | null;
  readonly search: {
    readonly probes: readonly ProbeResult[];
    readonly maxSustainableTxPerSec: number;
  } | null;
  readonly run: RunResult | null;
  readonly halfRateRun: RunResult | null;
  readonly sweep: ReadonlyArray<
    SweepPoint & { readonly viewChanges: number; readonly rate: number; readonly error?: string }
  > | null;
  readonly goals: readonly Goal[];
  readonly outDir: string | null;
}

function sendersFor(rate: number, durationS: number): number {
  // Enough senders that a 20 s stall leaves each well under its 1,000-tx mempool window.
  return Math.min(
    2_000,
    Math.max(32, Math.ceil(rate / 40), Math.ceil((rate * Math.min(durationS, 20)) / 800)),
  );
}

interface Session {
  network: LocalNetwork;
  factory: TxFactory;
  senders: number;
}

/** The benchmark's network: its block size and timings, fault injection on, quiet logs. */
function benchManifest(
  dir: string,
  validators: number,
  blockSize: number,
  senders: number,
  opts: ClusterBenchOptions,
): LocalNetworkManifest {
  return {
    dir,
    validators,
    // Load senders, plus one for the warm-up.
    accounts: senders + 1,
    chainId: 'civitas-bench',
    basePort: opts.basePort ?? 'random',
    consensus: {
      timeoutMs: opts.viewTimeoutMs,
      blockIntervalMs: opts.blockIntervalMs,
      emptyBlockIntervalMs: 10_000,
    },
    mempool: { maxTxs: 100_000, maxTxsPerSender: 1_000, maxNonceGap: 1_000 },
    genesis: { maxBlockTxs: blockSize },
    logLevel: opts.nodeLogLevel ?? 'warn',
    faultInjection: true,
    permissioned: opts.open !== true,
    env: { CIVITAS_DEBUG: '' },
    nodes: opts.profileNode === undefined ? {} : { [opts.profileNode]: { cpuProfile: true } },
  };
}

async function startSession(
  dir: string,
  validators: number,
  blockSize: number,
  senders: number,
  opts: ClusterBenchOptions,
): Promise<Session> {
  opts.progress?.(
    `init: ${validators} validators, ${senders} funded senders, blocks ≤ ${blockSize} txs in ${dir}`,
  );
  const network = await LocalNetwork.create(
    benchManifest(dir, validators, blockSize, senders, opts),
  );
  try {
    const accounts = network.summary.accounts;
    const keys = await loadSenders(accounts.map((a) => a.file));
    const sink = parseAddress(accounts[senders]!.address);
    const factory = new TxFactory({
      chainId: network.chainId,
      senders: keys.slice(0, senders),
      sink,
    });
    opts.progress?.('starting validator processes');
    await network.start({ waitForPeers: true });
    await warmUp(
      network,
      new TxFactory({ chainId: network.chainId, senders: keys.slice(senders), sink }),
    );
    opts.progress?.('cluster is committing');
    return { network, factory, senders };
  } catch (err) {
    await network.stop();
    throw err;
  }
}

/** One tx through every node, each waited for: consensus and tx gossip work end to end. */
async function warmUp(network: LocalNetwork, factory: TxFactory): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (let i = 0; i < network.size; i++) {
    const tx = factory.one(0);
    for (;;) {
      try {
        const res = await fetch(`${network.rpc(i)}/txs?wait=commit&timeoutMs=30000`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: tx.bytes,
          signal: AbortSignal.timeout(35_000),
        });
        if (res.ok || res.status === 409) break;
      } catch {}
      if (Date.now() > deadline) {
        throw new CivitasError(
          'BENCH_WARMUP_FAILED',
          `the cluster did not commit a warm-up tx through node${i}`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function isSustainable(r: RunResult, rate: number, maxP99Ms: number): { ok: boolean; why: string } {
  if (r.load.maxSendLagMs > 1_000) {
    return {
      ok: false,
      why: `the generator fell ${Math.round(r.load.maxSendLagMs)} ms behind (harness-bound)`,
    };
  }
  if (r.throughput.meanTxPerSec < 0.9 * rate) {
    return {
      ok: false,
      why: `committed ${Math.round(r.throughput.meanTxPerSec)} < 90% of offered`,
    };
  }
  if (r.latency.p99Ms > maxP99Ms)
    return { ok: false, why: `p99 ${Math.round(r.latency.p99Ms)} ms > ${maxP99Ms}` };
  if (r.uncommitted > rate)
    return { ok: false, why: `${r.uncommitted} txs left uncommitted (backlog)` };
  if (r.load.failed > 0) return { ok: false, why: `${r.load.failed} submissions failed` };
  return { ok: true, why: 'ok' };
}

async function searchMax(
  session: Session,
  opts: ClusterBenchOptions,
): Promise<{ probes: ProbeResult[]; max: number }> {
  const probes: ProbeResult[] = [];
  const probe = async (rate: number): Promise<boolean> => {
    const r = await runLoad(session.network, session.factory, session.senders, {
      rate,
      durationS: opts.probeDurationS,
      faults: opts.faultsInSearch ? opts.faults : [],
      drainS: 10,
      warmupS: 2,
      label: `probe ${rate} tx/s`,
      progress: opts.progress,
    });
    const { ok, why } = isSustainable(r, rate, opts.maxP99Ms);
    probes.push({
      rate,
      txPerSec: r.throughput.meanTxPerSec,
      p99Ms: r.latency.p99Ms,
      uncommitted: r.uncommitted,
      failed: r.load.failed,
      maxSendLagMs: r.load.maxSendLagMs,
      viewChanges: r.viewChanges.total,
      blocks: r.blocks.count,
      sustainable: ok,
      why,
    });
    opts.progress?.(
      `probe ${rate} tx/s: ${Math.round(r.throughput.meanTxPerSec)} committed/s, p99 ${Math.round(r.latency.p99Ms)} ms → ${ok ? 'sustainable' : why}`,
    );
    await waitIdle(session.network, 30_000);
    return ok;
  };
  let good = 0;
  let bad = 0;
  let rate = opts.startRate;
  while (rate <= opts.maxRate) {
    if (await probe(rate)) {
      good = rate;
      rate *= 2;
    } else {
      bad = rate;
      break;
    }
  }
  if (bad === 0) return { probes, max: good };
  for (let step = 0; step < 4 && bad / Math.max(good, 1) > 1.15; step++) {
    const mid = Math.round((good + bad) / 2 / 10) * 10;
    if (await probe(mid)) good = mid;
    else bad = mid;
  }
  return { probes, max: good };
}

function goalsFor(
  opts: ClusterBenchOptions,
  ceiling: ValidationCeiling | null,
  run: RunResult | null,
  half: RunResult | null,
): Goal[] {
  const goals: Goal[] = [];
  if (run !== null && ceiling !== null) {
    const ratio = (run.throughput.meanTxPerSec * run.validators) / ceiling.txPerSec;
    goals.push({
      name: 'cluster work vs single-process validation',
      target: '≥ 60%',
      value: ratio * 100,
      unit: '%',
      met: ratio >= 0.6,
      detail: `${Math.round(run.throughput.meanTxPerSec)} committed tx/s × ${run.validators} validators = ${Math.round(run.throughput.meanTxPerSec * run.validators)} tx/s of validation vs ${Math.round(ceiling.txPerSec)} tx/s (${ceiling.method})`,
    });
  }
  if (half !== null) {
    goals.push({
      name: 'p99 latency at half the max rate',
      target: '< 1000 ms',
      value: half.latency.p99Ms,
      unit: 'ms',
      met: half.latency.p99Ms < 1000,
      detail: `${half.rate} tx/s offered, ${Math.round(half.throughput.meanTxPerSec)} committed/s`,
    });
  }
  for (const f of run?.faults ?? []) {
    if (f.kind === 'crash' && f.spec.startsWith('crash:primary')) {
      const limit = 3 * opts.viewTimeoutMs;
      goals.push({
        name: 'chain commits again after the primary is killed',
        target: `≤ ${limit} ms (3 × base view timeout)`,
        value: f.recovery.maxCommitGapMs,
        unit: 'ms',
        met: f.recovery.maxCommitGapMs <= limit,
        detail: `${f.spec}: node${f.resolvedNode} killed while deciding height ${f.heightAtStart}; first commit after ${Math.round(f.recovery.firstCommitAfterStartMs ?? Number.NaN)} ms, longest stall ${Math.round(f.recovery.maxCommitGapMs)} ms`,
      });
    }
    if (f.kind === 'crash' && run !== null && run.throughput.baselineTxPerSec !== null) {
      const ratio = f.recovery.txPerSecDuring / run.throughput.baselineTxPerSec;
      goals.push({
        name: 'throughput with one validator crashed vs healthy',
        target: '≥ 70%',
        value: ratio * 100,
        unit: '%',
        met: ratio >= 0.7,
        detail: `${f.spec}: ${Math.round(f.recovery.txPerSecDuring)} tx/s while down vs ${Math.round(run.throughput.baselineTxPerSec)} tx/s before (only meaningful when the offered rate saturates the cluster)`,
      });
    }
  }
  return goals;
}

export async function runClusterBench(opts: ClusterBenchOptions): Promise<ClusterBenchResults> {
  if (!opts.max && (opts.rate === undefined || !(opts.rate > 0))) {
    throw new CivitasError('BENCH_BAD_ARGS', 'give --rate R (tx/s) or --max (also for --sweep)');
  }
  checkFaults(opts.faults, opts.validators, opts.durationS * 1000);
  if (opts.faultsInSearch) checkFaults(opts.faults, opts.validators, opts.probeDurationS * 1000);
  const outDir = opts.out === undefined ? undefined : resolve(opts.out);
  if (outDir !== undefined) {
    const existing = await readdir(outDir).catch(() => undefined);
    if (existing?.includes('network')) {
      throw new CivitasError(
        'BENCH_OUT_NOT_EMPTY',
        `${outDir} already holds a run (network/); choose another --out`,
      );
    }
    await mkdir(outDir, { recursive: true });
  }
  const work = outDir ?? (await mkdtemp(join(tmpdir(), 'civitas-bench-cluster-')));
  const cpuList = cpus();
  const machine = {
    cpus: availableParallelism(),
    model: cpuList[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage: [] as number[],
  };
  const { loadavg } = await import('node:os');
  machine.loadAverage = loadavg().map((x) => Math.round(x * 100) / 100);
  try {
    const ceiling =
      opts.ceilingTxs > 0
        ? await measureValidationCeiling({
            txs: opts.ceilingTxs,
            blockSize: opts.blockSize,
            progress: opts.progress,
          })
        : null;
    if (ceiling !== null) {
      opts.progress?.(
        `validation ceiling: ${Math.round(ceiling.txPerSec)} tx/s (${ceiling.method})`,
      );
    }
    let search: ClusterBenchResults['search'] = null;
    let run: RunResult | null = null;
    let half: RunResult | null = null;
    let sweep: ClusterBenchResults['sweep'] = null;

    if (opts.sweep) {
      sweep = await runSweep(work, opts);
    } else {
      const planned = opts.max ? opts.maxRate : opts.rate!;
      const senders = opts.senders ?? sendersFor(Math.min(planned, 5_000), opts.durationS);
      const session = await startSession(
        join(work, 'network'),
        opts.validators,
        opts.blockSize,
        senders,
        opts,
      );
      try {
        let rate = opts.rate ?? 0;
        if (opts.max) {
          const found = await searchMax(session, opts);
          search = { probes: found.probes, maxSustainableTxPerSec: found.max };
          rate = found.max;
          if (rate === 0)
            throw new CivitasError(
              'BENCH_NO_RATE',
              `not even ${opts.startRate} tx/s was sustainable`,
            );
        }
        run = await runLoad(session.network, session.factory, session.senders, {
          rate,
          durationS: opts.durationS,
          faults: opts.faults,
          drainS: opts.drainS,
          warmupS: 2,
          label: opts.max ? `max ${rate} tx/s` : `${rate} tx/s`,
          progress: opts.progress,
        });
        if (opts.max) {
          await waitIdle(session.network, 30_000);
          const halfRate = Math.max(1, Math.round(rate / 2));
          half = await runLoad(session.network, session.factory, session.senders, {
            rate: halfRate,
            durationS: opts.durationS,
            faults: [],
            drainS: opts.drainS,
            warmupS: 2,
            label: `half max ${halfRate} tx/s`,
            progress: opts.progress,
          });
        }
      } finally {
        await session.network.stop();
      }
    }
    const results: ClusterBenchResults = {
      version: 1,
      date: new Date().toISOString(),
      config: {
        validators: opts.validators,
        durationS: opts.durationS,
        rate: opts.rate ?? null,
        max: opts.max ?? false,
        faultsInSearch: opts.faultsInSearch ?? false,
        blockSize: opts.blockSize,
        faults: opts.faults.map(describeFault),
        sweep: opts.sweep
          ? { validators: opts.sweepValidators, blockSizes: opts.sweepBlockSizes }
          : null,
        viewTimeoutMs: opts.viewTimeoutMs,
        blockIntervalMs: opts.blockIntervalMs,
        probeDurationS: opts.probeDurationS,
        maxP99Ms: opts.maxP99Ms,
        drainS: opts.drainS,
        latency:
          'from the time each tx was due (open loop) to the time the observer node announced its block',
      },
      machine,
      ceiling,
      search,
      run,
      halfRateRun: half,
      sweep,
      goals: goalsFor(opts, ceiling, run, half),
      outDir: outDir ?? null,
    };
    return results;
  } finally {
    if (outDir === undefined) await rm(work, { recursive: true, force: true });
  }
}

async function runSweep(
  work: string,
  opts: ClusterBenchOptions,
): Promise<NonNullable<ClusterBenchResults['sweep']>> {
  const points: Array<SweepPoint & { viewChanges: number; rate: number; error?: string }> = [];
  const total = opts.sweepValidators.length * opts.sweepBlockSizes.length;
  let done = 0;
  for (const n of opts.sweepValidators) {
    for (const b of opts.sweepBlockSizes) {
      const label = `N=${n} block=${b}`;
      opts.onSweepPoint?.(done, total, label);
      const planned = opts.max ? opts.maxRate : opts.rate!;
      const senders = opts.senders ?? sendersFor(Math.min(planned, 5_000), opts.durationS);
      let rate = opts.rate ?? 0;
      let r: RunResult | null = null;
      let error: string | undefined;
      // One point that cannot start or commit is recorded, not fatal to the sweep.
      try {
        const session = await startSession(join(work, `sweep-n${n}-b${b}`), n, b, senders, opts);
        try {
          if (opts.max) rate = (await searchMax(session, opts)).max;
          if (rate > 0) {
            r = await runLoad(session.network, session.factory, session.senders, {
              rate,
              durationS: opts.durationS,
              faults: [],
              drainS: opts.drainS,
              warmupS: 2,
              label,
              progress: opts.progress,
            });
          }
        } finally {
          await session.network.stop();
        }
      } catch (err) {
        error = (err as Error).message;
        opts.progress?.(`${label}: failed: ${error}`);
      }
      points.push({
        validators: n,
        blockSize: b,
        rate,
        txPerSec: r?.throughput.meanTxPerSec ?? 0,
        p50Ms: r?.latency.p50Ms ?? 0,
        p99Ms: r?.latency.p99Ms ?? 0,
        viewChanges: r?.viewChanges.total ?? 0,
        ...(error !== undefined ? { error } : {}),
      });
      done++;
      opts.onSweepPoint?.(done, total, label);
    }
  }
  return points;
}
