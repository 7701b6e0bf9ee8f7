/**
 * `civitas bench cluster`: the whole experiment — validation ceiling, cluster start-up,
 * warm-up, then a fixed-rate run, a max-rate search (plus runs at the max and at half of
 * it, each compared with what the cluster committed before its first overload), or a sweep
 * over validator counts and block sizes — and the results object, with the git commit, the
 * machine and the crypto backends that produced it.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ConsensusProtocol, parseAddress } from '../../src/chain/index.ts';
import { CivitasError } from '../../src/errors/index.ts';
import { LocalNetwork, type LocalNetworkManifest } from '../../src/localnet/index.ts';
import { measureValidationCeiling, type ValidationCeiling } from './ceiling.ts';
import { checkFaults, describeFault, type Fault } from './fault-spec.ts';
import { type Efficiency, efficiencyOf, type Goal, goalsFor } from './goals.ts';
import { loadSenders, TxFactory } from './load.ts';
import type { SweepPoint } from './plots.ts';
import {
  type CryptoBackends,
  type GitInfo,
  gitInfo,
  harnessBackends,
  type MachineInfo,
  machineAtEnd,
  machineAtStart,
  type NodeBackends,
  nodeBackends,
} from './provenance.ts';
import {
  allRecovered,
  compareAfterOverload,
  type RateMeasurement,
  type RecoveryComparison,
  recoveredAfter,
} from './recovery.ts';
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
  /** Nodes send compact proposals (the default); false: full blocks, for comparison. */
  compactProposals?: boolean;
  /**
   * The chain's consensus protocol (genesis consensus.protocol): pbft (default) or hotstuff,
   * which the bench runs as the experiment it is (docs/HOTSTUFF.md).
   */
  protocol?: ConsensusProtocol;
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
  /** Load txs the probe committed. */
  readonly committedTxs: number;
  /** Null when nothing committed: a percentile over zero commits is not a measurement. */
  readonly p99Ms: number | null;
  readonly uncommitted: number;
  readonly failed: number;
  readonly maxSendLagMs: number;
  readonly viewChanges: number;
  readonly blocks: number;
  readonly sustainable: boolean;
  readonly why: string;
  /** For a probe after an overload probe: what it committed vs before the overload. */
  readonly afterOverload: RecoveryComparison | null;
  /**
   * For an overload (unsustainable) probe: whether the cluster recovered after it, i.e. the
   * next probe (or the run at the max rate) met its comparison; null otherwise.
   */
  readonly recoveredAfter: boolean | null;
}

export interface ClusterBenchResults {
  readonly version: 2;
  readonly date: string;
  /** The code that ran: HEAD's short hash and whether the tree differed from it. */
  readonly git: GitInfo;
  readonly config: Record<string, unknown>;
  readonly machine: MachineInfo;
  readonly crypto: CryptoBackends;
  readonly ceiling: ValidationCeiling | null;
  readonly search: {
    readonly probes: readonly ProbeResult[];
    readonly maxSustainableTxPerSec: number;
    /** The runs at the max rate and at half of it, against before the first overload. */
    readonly afterSearch: {
      readonly run: RecoveryComparison | null;
      readonly halfRateRun: RecoveryComparison | null;
    };
    /**
     * False if any probe or run after an overload probe committed < 90% of the reference;
     * true if all did; null when no probe overloaded the cluster, or one cannot be told.
     */
    readonly recovered: boolean | null;
  } | null;
  readonly run: RunResult | null;
  readonly halfRateRun: RunResult | null;
  /** tx/s × validators ÷ single-process validation tx/s of `run` (null without both). */
  readonly efficiency: Efficiency | null;
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
  /** What each node's /metrics said about its crypto backends once the cluster committed. */
  backends: NodeBackends[];
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
      compactProposals: opts.compactProposals !== false,
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
    if ((opts.protocol ?? 'pbft') !== 'pbft') await writeProtocol(network, opts.protocol!);
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
    const backends = await nodeBackends(
      network.urls.map((url, i) => (network.isUp(i) ? url : null)),
    );
    return { network, factory, senders, backends };
  } catch (err) {
    await network.stop();
    throw err;
  }
}

/**
 * Names the protocol in the genesis of the network and of each home, before any node starts
 * (init writes PBFT's genesis, which names none).
 */
async function writeProtocol(network: LocalNetwork, protocol: ConsensusProtocol): Promise<void> {
  const { summary } = network;
  for (const path of [summary.genesis, ...summary.nodes.map((n) => join(n.home, 'genesis.json'))]) {
    const genesis = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    genesis.consensus = { protocol };
    await writeFile(path, `${JSON.stringify(genesis, null, 2)}\n`);
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

export function isSustainable(
  r: RunResult,
  rate: number,
  maxP99Ms: number,
): { ok: boolean; why: string } {
  if (r.committedLoadTxs === 0) return { ok: false, why: 'nothing committed' };
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

/** A probe as the recovery comparison sees it. */
function measured(p: ProbeResult): RateMeasurement {
  return {
    rate: p.rate,
    txPerSec: p.txPerSec,
    committedTxs: p.committedTxs,
    sustainable: p.sustainable,
  };
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
    const afterOverload = compareAfterOverload(probes.map(measured), {
      rate,
      txPerSec: r.throughput.meanTxPerSec,
    });
    probes.push({
      rate,
      txPerSec: r.throughput.meanTxPerSec,
      committedTxs: r.committedLoadTxs,
      p99Ms: r.latency.count === 0 ? null : r.latency.p99Ms,
      uncommitted: r.uncommitted,
      failed: r.load.failed,
      maxSendLagMs: r.load.maxSendLagMs,
      viewChanges: r.viewChanges.total,
      blocks: r.blocks.count,
      sustainable: ok,
      why,
      afterOverload,
      recoveredAfter: null,
    });
    const p99 = r.latency.count === 0 ? '-' : `${Math.round(r.latency.p99Ms)} ms`;
    opts.progress?.(
      `probe ${rate} tx/s: ${Math.round(r.throughput.meanTxPerSec)} committed/s, p99 ${p99} → ${ok ? 'sustainable' : why}${afterOverload === null ? '' : `; after the overload: ${afterOverload.reason}`}`,
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
  const git = gitInfo();
  const machine = machineAtStart();
  try {
    const ceiling =
      opts.ceilingTxs > 0
        ? await measureValidationCeiling({
            txs: opts.ceilingTxs,
            blockSize: opts.blockSize,
            chain: opts.open ? 'open' : 'consortium',
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
    let backends: NodeBackends[] = [];
    let runRecovery: RecoveryComparison | null = null;
    let halfRecovery: RecoveryComparison | null = null;

    if (opts.sweep) {
      const swept = await runSweep(work, opts);
      sweep = swept.points;
      backends = swept.backends;
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
      backends = session.backends;
      let probes: ProbeResult[] = [];
      try {
        let rate = opts.rate ?? 0;
        if (opts.max) {
          const found = await searchMax(session, opts);
          probes = found.probes;
          search = {
            probes,
            maxSustainableTxPerSec: found.max,
            afterSearch: { run: null, halfRateRun: null },
            recovered: allRecovered(probes.map((p) => p.afterOverload)),
          };
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
          runRecovery = compareAfterOverload(probes.map(measured), {
            rate,
            txPerSec: run.throughput.meanTxPerSec,
          });
          if (runRecovery !== null) {
            opts.progress?.(`max ${rate} tx/s after the overload: ${runRecovery.reason}`);
          }
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
          halfRecovery = compareAfterOverload(probes.map(measured), {
            rate: halfRate,
            txPerSec: half.throughput.meanTxPerSec,
          });
          if (halfRecovery !== null) {
            opts.progress?.(`half max ${halfRate} tx/s after the overload: ${halfRecovery.reason}`);
          }
        }
      } finally {
        await session.network.stop();
      }
      if (search !== null) {
        search = withRecovery(search, { run: runRecovery, halfRateRun: halfRecovery });
      }
    }
    const recovery = [
      ...(search?.probes.map((p) => p.afterOverload) ?? []),
      runRecovery,
      halfRecovery,
    ];
    const results: ClusterBenchResults = {
      version: 2,
      date: new Date().toISOString(),
      git,
      config: {
        validators: opts.validators,
        protocol: opts.protocol ?? 'pbft',
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
        compactProposals: opts.compactProposals !== false,
        probeDurationS: opts.probeDurationS,
        maxP99Ms: opts.maxP99Ms,
        drainS: opts.drainS,
        ceilingTxs: opts.ceilingTxs,
        open: opts.open ?? false,
        latency:
          'from the time each tx was due (open loop) to the time the observer node announced its block',
      },
      machine: machineAtEnd(machine),
      crypto: cryptoBackendsOf(backends),
      ceiling,
      search,
      run,
      halfRateRun: half,
      efficiency: efficiencyOf(run, ceiling, opts.max === true),
      sweep,
      goals: goalsFor({
        max: opts.max === true,
        viewTimeoutMs: opts.viewTimeoutMs,
        ceiling,
        run,
        halfRateRun: half,
        recovery,
      }),
      outDir: outDir ?? null,
    };
    return results;
  } finally {
    if (outDir === undefined) await rm(work, { recursive: true, force: true });
  }
}

/**
 * The search with `recoveredAfter` filled in: each overload probe is judged by the
 * measurement that followed it (the next probe, or the run at the max rate).
 */
function withRecovery(
  search: NonNullable<ClusterBenchResults['search']>,
  afterSearch: NonNullable<ClusterBenchResults['search']>['afterSearch'],
): NonNullable<ClusterBenchResults['search']> {
  const comparisons = [...search.probes.map((p) => p.afterOverload), afterSearch.run];
  const after = recoveredAfter(search.probes.map(measured), comparisons);
  return {
    ...search,
    probes: search.probes.map((p, i) => ({ ...p, recoveredAfter: after[i]! })),
    afterSearch,
    recovered: allRecovered([...comparisons, afterSearch.halfRateRun]),
  };
}

/** The nodes' reports and the harness's own backends, with what was missing said plainly. */
function cryptoBackendsOf(nodes: NodeBackends[]): CryptoBackends {
  const harness = harnessBackends();
  const missing: string[] = [];
  if (nodes.length === 0) missing.push('no cluster was asked');
  else if (nodes.every((n) => n.backends === null || n.backends.length === 0)) {
    missing.push('no node reported a metric with a backend label on GET /metrics');
  }
  if (harness.backends === null) missing.push(`harness: ${harness.note}`);
  return {
    nodes,
    harness: harness.backends,
    note:
      missing.length === 0
        ? 'nodes: series with a backend label on GET /metrics once the cluster committed; harness: src/crypto cryptoBackends() in this process after the validation ceiling ran in it'
        : `NOT RECORDED: ${missing.join('; ')}`,
  };
}

async function runSweep(
  work: string,
  opts: ClusterBenchOptions,
): Promise<{ points: NonNullable<ClusterBenchResults['sweep']>; backends: NodeBackends[] }> {
  const points: Array<SweepPoint & { viewChanges: number; rate: number; error?: string }> = [];
  let backends: NodeBackends[] = [];
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
        if (backends.length === 0) backends = session.backends;
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
  return { points, backends };
}
