/**
 * Block-validation throughput: full validation and commit of a chain of signed blocks through
 * the BlockPipeline, against the ceiling measured in the same run.
 *
 *   civitas bench validate [--workload transfers,records,mixed] [--chain open|consortium]
 *     [--txs N] [--block-size B] [--workers W] [--json] [--progress]
 *   (npm run bench; the command lives in src/cli/commands/bench.ts)
 *
 * Workloads (bench/workloads.ts): transfers (the default), asset records, a mix with 2-op
 * batches; each workload's tx/s is also given as a ratio to the transfers run of the same
 * block size in the same run. Every tx of every block must succeed (a failed receipt aborts
 * the run with its code), both where the chain is built and where it is validated.
 *
 * For each block size (default 100, 1,000 and 10,000 txs) and workload: generate a chain (not timed), then
 * replay it from genesis into a fresh LevelDB in a temp dir: decode → signatures (worker pool,
 * overlapped with the previous block) → tx root → parent and certificate checks → execution
 * → state-tree update → one synced commit per block. The verify pool, the verified-tx cache
 * and the pipeline come from the node's own factory (src/node/verification.ts): the path
 * measured is the node's block-sync path, built the same way, on the node's backend
 * (libsodium where its addon loads, node:crypto otherwise). Two ceilings are measured just
 * before each run, in interleaved slices on one thread: libsodium's and node:crypto's
 * single-thread verify rates, each × the cores the pool uses; the run reports its ratio to
 * each. A smaller run with @noble/curves as the verifier shows what the portable backend
 * costs. Nothing is cached on disk between runs; every temp dir is removed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { civitasStateMachine } from '../src/app/index.ts';
import { decodeBlock, type SignatureItem, txSigningHash } from '../src/chain/index.ts';
import { type NativeVerifier, nativeVerifier, verifierOf } from '../src/crypto/ed25519.ts';
import { hashBackend } from '../src/crypto/hash.ts';
import { loadSodium, type SodiumStatus, sodiumStatus } from '../src/crypto/sodium.ts';
import { Verification } from '../src/node/verification.ts';
import { Ledger } from '../src/state/ledger.ts';
import { benchKey, signFast } from './chain-generator.ts';
import { type EncodedChain, generateChainInChild } from './chain-generator-process.ts';
import { NobleBatchVerifier } from './noble-verifier.ts';
import {
  emptyStageTotals,
  STAGE_LABELS,
  STAGE_NAMES,
  StageProbe,
  type StageTotals,
} from './stage-probe.ts';
import {
  sampleThreadCpu,
  THREAD_GROUP_LABELS,
  THREAD_GROUPS,
  type ThreadCpu,
  threadCpuBetween,
} from './thread-cpu.ts';
import {
  assertReceiptsOk,
  type ChainKind,
  chainKindFor,
  TX_KINDS,
  type TxMix,
  type WorkloadName,
} from './workloads.ts';

/** A run on the node's native backend (libsodium or node:crypto), or on the portable one. */
export type VerifyBackendName = 'native' | 'noble';
/** A backend a ceiling is measured on. */
export type CeilingBackend = NativeVerifier | 'noble';

/** One ceiling: a backend's single-thread verify rate × cores, and the run against it. */
export interface Ceiling {
  readonly backend: CeilingBackend;
  /** Verifies per second on one thread, measured just before the run. */
  readonly verifyPerSecPerCore: number;
  /** CPU time of one verify in that measurement, µs. */
  readonly cpuUsPerVerify: number;
  /** verifyPerSecPerCore × cores. */
  readonly ceilingTxPerSec: number;
  /** The run's tx/s ÷ ceilingTxPerSec. */
  readonly ratio: number;
  /** cpuUsPerVerify × txs ÷ the CPU time the whole process used validating. */
  readonly cpuRatio: number;
}

export interface ValidateBenchOptions {
  /** Workloads to run at each block size, in this order; default ['transfers']. */
  workloads?: readonly WorkloadName[];
  /** The genesis of every run: default open for transfers alone, else the consortium. */
  chain?: ChainKind;
  /** Txs per block size; default 20,000 / 30,000 / 50,000 for 100 / 1,000 / 10,000. */
  txs?: number;
  /** Block sizes to run; default [100, 1000, 10000]. */
  blockSizes?: readonly number[];
  /** Verification worker threads; default os.availableParallelism(). */
  workers?: number;
  /** Txs for the @noble/curves comparison (1,000-tx blocks, or the only size); 0 skips it. */
  nobleTxs?: number;
  /** Blocks whose signatures are checked ahead of the executing one; default 2. */
  lookAhead?: number;
  /** Seconds spent measuring each single-thread verify rate; default 1. */
  ceilingSeconds?: number;
  /** One sender per this many txs; default 10. */
  txsPerSender?: number;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
}

/** A run's throughput against the transfers run of the same backend and block size. */
export interface VersusTransfers {
  /** tx/s ÷ the transfers run's tx/s. */
  readonly ratio: number;
  /** The transfers run's CPU per tx (all threads) ÷ this run's: the same in CPU time. */
  readonly cpuRatio: number;
}

export interface ValidateRun {
  readonly backend: VerifyBackendName;
  readonly workload: WorkloadName;
  /** Txs of each kind in the chain (transfer, record, 2-op batch). */
  readonly mix: TxMix;
  readonly blockSize: number;
  readonly txs: number;
  readonly blocks: number;
  readonly senders: number;
  readonly workers: number;
  /** Cores the ceiling counts: workers, or 1 with 0 or 1 worker. */
  readonly cores: number;
  readonly seconds: number;
  readonly txPerSec: number;
  readonly blocksPerSec: number;
  /** The ed25519 backend the run verified on (the pool, the calling thread, certificates). */
  readonly verifyBackend: CeilingBackend;
  /** Single-thread verify rate of the run's own backend measured just before the run. */
  readonly verifyPerSecPerCore: number;
  readonly ceilingTxPerSec: number;
  readonly ratio: number;
  /**
   * Every ceiling measured for the run, in the same minutes: libsodium (when its addon loads)
   * and node:crypto for a native run, noble for the noble run.
   */
  readonly ceilings: readonly Ceiling[];
  /** Main-thread ms per stage, summed over the run. */
  readonly stages: StageTotals;
  /** The same per tx, µs. */
  readonly stagesUsPerTx: StageTotals;
  /**
   * What the node's verifier reports for the run (the sync path it drives): the backend, tx
   * signatures checked, and where they ran (the pool's workers or the calling thread).
   */
  readonly verification: {
    readonly backend: string;
    readonly signatures: number;
    readonly onWorkers: number;
    readonly onCallingThread: number;
  };
  /** Summed wall time of the overlapped signature checks on the pool, ms. */
  readonly signaturePoolWallMs: number;
  /**
   * CPU time per tx while validating, µs: the whole process (all threads), the main thread,
   * and one bare verify in the ceiling measurement.
   */
  readonly cpuUsPerTx: {
    readonly process: number;
    readonly mainThread: number;
    readonly verify: number;
  };
  /**
   * CPU µs per tx by thread group (main, verify workers, V8 helper threads, libuv pool,
   * other), from /proc/self/task; absent where that does not exist.
   */
  readonly cpuUsPerTxByThread?: ThreadCpu;
  /**
   * Share of the CPU time the run used that bare verification of its txs needs: the ratio to
   * the ceiling in CPU time rather than wall time, so other load on the machine moves it far
   * less than `ratio`.
   */
  readonly cpuRatio: number;
  /** Highest resident set size sampled while validating (all threads), bytes. */
  readonly peakRssBytes: number;
  readonly chainBytes: number;
  readonly generationSeconds: number;
  /** Against the transfers run of this block size and backend; null without one. */
  readonly vsTransfers: VersusTransfers | null;
}

export interface ValidateBenchReport {
  readonly date: string;
  readonly machine: { cpus: number; model: string; node: string; platform: string };
  /**
   * The crypto of the native runs: the ed25519 backend the node's pool uses here, the
   * SHA-256 backend, and whether libsodium loaded (and why not).
   */
  readonly crypto: { ed25519: NativeVerifier; sha256: string; sodium: SodiumStatus };
  readonly workers: number;
  readonly lookAhead: number;
  readonly workloads: readonly WorkloadName[];
  /** The genesis every run used: open, or the permissioned consortium the devnet runs. */
  readonly chain: ChainKind;
  readonly runs: readonly ValidateRun[];
  /** Process-wide peak RSS (process.resourceUsage().maxRSS, worker threads included), bytes. */
  readonly peakRssBytes: number;
}

const DEFAULT_SIZES = [100, 1_000, 10_000];
const DEFAULT_TXS: Record<number, number> = { 100: 20_000, 1000: 30_000, 10000: 50_000 };
const DEFAULT_NOBLE_TXS = 2_000;

function defaultTxs(blockSize: number): number {
  return DEFAULT_TXS[blockSize] ?? Math.max(blockSize * 10, 20_000);
}

/** Signatures of the chain's first txs, as the pool receives them. */
function sampleItems(chain: EncodedChain, count: number): SignatureItem[] {
  const items: SignatureItem[] = [];
  for (const b of chain.blocks) {
    for (const tx of decodeBlock(b.block).txs) {
      items.push({ signature: tx.signature, message: txSigningHash(tx), publicKey: tx.sender });
      if (items.length >= count) return items;
    }
  }
  return items;
}

/**
 * Single-thread verify rates of `backends` on `items` (keys already in the key cache), in
 * interleaved slices (A, B, A, B, ...) so every backend sees the same minutes of a shared
 * machine: per second of wall time, and the CPU time of one verify (which other load
 * disturbs much less). About `seconds` per backend.
 */
export function measureVerifyRates(
  items: readonly SignatureItem[],
  backends: readonly CeilingBackend[],
  seconds: number,
): Map<CeilingBackend, { perSecond: number; cpuUsPerVerify: number }> {
  const rounds = 4;
  const contenders = backends.map((backend) => {
    const verify = verifierOf(backend);
    for (const it of items) {
      if (!verify(it.signature, it.message, it.publicKey)) {
        throw new Error(`sample does not verify on ${backend}`);
      }
    }
    // The portable backend's BigInt code is still being optimised after one pass over the
    // sample: keep warming for as long as the measurement lasts, or the ceiling comes out low.
    if (backend === 'noble') {
      const until = performance.now() + seconds * 1000;
      for (let i = 0; performance.now() < until; i++) {
        const it = items[i % items.length]!;
        verify(it.signature, it.message, it.publicKey);
      }
    }
    return { backend, verify, done: 0, wallMs: 0, cpuUs: 0 };
  });
  for (let round = 0; round < rounds; round++) {
    for (const c of contenders) {
      let done = 0;
      const cpu0 = process.threadCpuUsage();
      const start = performance.now();
      let elapsed = 0;
      while (elapsed < (seconds * 1000) / rounds || done < 16) {
        const it = items[(c.done + done) % items.length]!;
        c.verify(it.signature, it.message, it.publicKey);
        done++;
        if ((done & 15) === 0) elapsed = performance.now() - start;
      }
      const cpu = process.threadCpuUsage(cpu0);
      c.wallMs += performance.now() - start;
      c.cpuUs += cpu.user + cpu.system;
      c.done += done;
    }
  }
  return new Map(
    contenders.map((c) => [
      c.backend,
      { perSecond: c.done / (c.wallMs / 1000), cpuUsPerVerify: c.cpuUs / c.done },
    ]),
  );
}

/** Single-thread verify rate of one backend (see measureVerifyRates). */
export function measureVerifyRate(
  items: readonly SignatureItem[],
  backend: CeilingBackend,
  seconds: number,
): { perSecond: number; cpuUsPerVerify: number } {
  return measureVerifyRates(items, [backend], seconds).get(backend)!;
}

/** The native backends whose ceilings a run measures: libsodium when it loads, node:crypto. */
export function nativeCeilingBackends(): NativeVerifier[] {
  return loadSodium() === undefined ? ['node:crypto'] : ['sodium', 'node:crypto'];
}

/** Starts the pool's threads (module load, JIT) before the clock runs, with keys of no sender. */
async function warmUp(verification: Verification, count: number): Promise<void> {
  const key = benchKey(3, 0);
  const items = Array.from({ length: count }, (_, i) => {
    const message = new Uint8Array(32).fill(i & 0xff);
    return { signature: signFast(message, key), message, publicKey: key.publicKey };
  });
  const verdicts = await verification.warmUp(items);
  if (verdicts.some((v) => !v)) throw new Error('warm-up signatures did not verify');
}

class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), 20);
    this.timer.unref();
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/** Validates and commits one generated chain against the ceiling measured just before. */
export async function validateChain(
  chain: EncodedChain,
  blockSize: number,
  backend: VerifyBackendName,
  opts: {
    workers: number;
    lookAhead: number;
    ceilingSeconds: number;
    generationSeconds: number;
    progress?: (line: string) => void;
  },
): Promise<Omit<ValidateRun, 'vsTransfers'>> {
  const cores = Math.max(1, opts.workers);
  const sample = sampleItems(chain, backend === 'native' ? 2_000 : 200);
  const ownBackend: CeilingBackend = backend === 'native' ? nativeVerifier() : 'noble';
  const rates = measureVerifyRates(
    sample,
    backend === 'native' ? nativeCeilingBackends() : ['noble'],
    opts.ceilingSeconds,
  );
  const rate = rates.get(ownBackend)!;
  const verifyPerSecPerCore = rate.perSecond;
  const ceilingTxPerSec = verifyPerSecPerCore * cores;

  // The node's own verification components (src/node/verification.ts), as block sync builds
  // them; the noble run swaps in its worker verifier and keeps everything else.
  const verification = Verification.create(
    backend === 'native'
      ? { workers: opts.workers }
      : {
          workers: opts.workers,
          batchVerifier: new NobleBatchVerifier(opts.workers),
          batchVerifierBackend: 'noble',
        },
  );
  const dir = await mkdtemp(join(tmpdir(), 'civitas-bench-validate-'));
  const label = `${backend} ${blockSize.toLocaleString('en-US')}-tx blocks, ${chain.workload}`;
  try {
    await warmUp(verification, backend === 'native' ? 256 : 16);
    const ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine());
    try {
      const probe = new StageProbe(ledger, verification.checkSignature);
      let signaturePoolWallMs = 0;
      let committedTxs = 0;
      let lastReport = performance.now();
      const start = performance.now();
      const pipeline = verification.pipeline(
        ledger,
        {
          lookAhead: opts.lookAhead,
          checkSignature: probe.checkSignature,
          onCommitted: (info) => {
            probe.record(info.times);
            signaturePoolWallMs += info.times.signatureWallMs;
            committedTxs += info.txs;
            const now = performance.now();
            if (opts.progress !== undefined && now - lastReport >= 1000) {
              lastReport = now;
              const rate = committedTxs / ((now - start) / 1000);
              opts.progress(
                `  ${label}: ${committedTxs.toLocaleString('en-US')}/${chain.txCount.toLocaleString('en-US')} txs, ${Math.round(rate).toLocaleString('en-US')} tx/s`,
              );
            }
          },
        },
        // The validator's own receipts, checked as well: every tx of the chain must succeed.
        (block, certificate, executed) => {
          assertReceiptsOk(block.header.height, block.txs, executed.receipts);
          return ledger.commit(block, certificate, executed);
        },
      );
      const verified0 = verification.stats();
      const rss = new RssSampler();
      const cpu0 = process.cpuUsage();
      const thread0 = process.threadCpuUsage();
      const threads0 = sampleThreadCpu();
      const result = await pipeline.run(chain.blocks);
      const byThread = threadCpuBetween(threads0, sampleThreadCpu());
      const seconds = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const thread = process.threadCpuUsage(thread0);
      const peakRssBytes = rss.stop();
      if (result.txs !== chain.txCount) throw new Error('pipeline did not validate every tx');
      const verified = verification.stats();
      const stagesUsPerTx = emptyStageTotals();
      for (const name of STAGE_NAMES) {
        stagesUsPerTx[name] = (probe.totals[name] * 1000) / chain.txCount;
      }
      const txPerSec = chain.txCount / seconds;
      const processCpuUs = cpu.user + cpu.system;
      const ceilings: Ceiling[] = [...rates].map(([b, r]) => ({
        backend: b,
        verifyPerSecPerCore: r.perSecond,
        cpuUsPerVerify: r.cpuUsPerVerify,
        ceilingTxPerSec: r.perSecond * cores,
        ratio: txPerSec / (r.perSecond * cores),
        cpuRatio: (r.cpuUsPerVerify * chain.txCount) / processCpuUs,
      }));
      return {
        backend,
        workload: chain.workload,
        mix: chain.mix,
        blockSize,
        txs: chain.txCount,
        blocks: result.blocks,
        senders: chain.senders,
        workers: opts.workers,
        cores,
        seconds,
        txPerSec,
        blocksPerSec: result.blocks / seconds,
        verifyBackend: ownBackend,
        verifyPerSecPerCore,
        ceilingTxPerSec,
        ratio: txPerSec / ceilingTxPerSec,
        ceilings,
        stages: probe.totals,
        stagesUsPerTx,
        verification: {
          backend: verified.backend,
          signatures: verified.paths.sync.signatures,
          onWorkers: verified.onWorkers - verified0.onWorkers,
          onCallingThread: verified.onCallingThread - verified0.onCallingThread,
        },
        signaturePoolWallMs,
        cpuUsPerTx: {
          process: (cpu.user + cpu.system) / chain.txCount,
          mainThread: (thread.user + thread.system) / chain.txCount,
          verify: rate.cpuUsPerVerify,
        },
        ...(byThread === undefined
          ? {}
          : {
              cpuUsPerTxByThread: Object.fromEntries(
                THREAD_GROUPS.map((g) => [g, byThread[g] / chain.txCount]),
              ) as ThreadCpu,
            }),
        cpuRatio: (rate.cpuUsPerVerify * chain.txCount) / processCpuUs,
        peakRssBytes,
        chainBytes: chain.chainBytes,
        generationSeconds: opts.generationSeconds,
      };
    } finally {
      await ledger.close();
    }
  } finally {
    await verification.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function generate(
  txs: number,
  blockSize: number,
  workload: WorkloadName,
  chainKind: ChainKind,
  opts: ValidateBenchOptions,
): Promise<{ chain: EncodedChain; seconds: number }> {
  const start = performance.now();
  let lastReport = start;
  const chain = await generateChainInChild(
    { txs, blockSize, txsPerSender: opts.txsPerSender, workload, chain: chainKind },
    (height, blocks) => {
      const now = performance.now();
      if (opts.progress !== undefined && (now - lastReport >= 1000 || height === blocks)) {
        lastReport = now;
        opts.progress(`  generating ${blockSize}-tx blocks (${workload}): ${height}/${blocks}`);
      }
    },
  );
  return { chain, seconds: (performance.now() - start) / 1000 };
}

/** Each run's ratio to the transfers run of the same backend and block size. */
function versusTransfers(runs: readonly Omit<ValidateRun, 'vsTransfers'>[]): ValidateRun[] {
  return runs.map((r) => {
    const base = runs.find(
      (t) => t.workload === 'transfers' && t.backend === r.backend && t.blockSize === r.blockSize,
    );
    return {
      ...r,
      vsTransfers:
        base === undefined
          ? null
          : {
              ratio: r.txPerSec / base.txPerSec,
              cpuRatio: base.cpuUsPerTx.process / r.cpuUsPerTx.process,
            },
    };
  });
}

export async function runValidateBench(
  opts: ValidateBenchOptions = {},
): Promise<ValidateBenchReport> {
  const workers = opts.workers ?? availableParallelism();
  const lookAhead = opts.lookAhead ?? 2;
  const ceilingSeconds = opts.ceilingSeconds ?? 1;
  const sizes = opts.blockSizes ?? DEFAULT_SIZES;
  const nobleTxs = opts.nobleTxs ?? DEFAULT_NOBLE_TXS;
  const workloads: readonly WorkloadName[] =
    opts.workloads === undefined || opts.workloads.length === 0 ? ['transfers'] : opts.workloads;
  const chainKind = chainKindFor(workloads, opts.chain);
  const runs: Omit<ValidateRun, 'vsTransfers'>[] = [];
  for (const blockSize of sizes) {
    const txs = opts.txs ?? defaultTxs(blockSize);
    // The workloads of one block size run back to back, so their ratio sees the same machine.
    for (const workload of workloads) {
      const what = workloads.length === 1 ? '' : ` (${workload})`;
      opts.progress?.(
        `${blockSize}-tx blocks${what}: generating ${txs.toLocaleString('en-US')} txs`,
      );
      const { chain, seconds } = await generate(txs, blockSize, workload, chainKind, opts);
      opts.progress?.(`${blockSize}-tx blocks${what}: validating (native, ${workers} workers)`);
      runs.push(
        await validateChain(chain, blockSize, 'native', {
          workers,
          lookAhead,
          ceilingSeconds,
          generationSeconds: seconds,
          progress: opts.progress,
        }),
      );
    }
  }
  if (nobleTxs > 0) {
    const blockSize = sizes.includes(1_000) || sizes.length !== 1 ? 1_000 : sizes[0]!;
    const txs = Math.max(nobleTxs, 1);
    // The portable backend's cost is per signature: one workload shows it (the first named).
    const workload = workloads[0]!;
    opts.progress?.(`noble: generating ${txs.toLocaleString('en-US')} txs`);
    const { chain, seconds } = await generate(
      txs,
      Math.min(blockSize, txs),
      workload,
      chainKind,
      opts,
    );
    opts.progress?.(`noble: validating (${workers} workers)`);
    runs.push(
      await validateChain(chain, Math.min(blockSize, txs), 'noble', {
        workers,
        lookAhead,
        ceilingSeconds,
        generationSeconds: seconds,
        progress: opts.progress,
      }),
    );
  }
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: availableParallelism(),
      model: cpuList[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    crypto: { ed25519: nativeVerifier(), sha256: hashBackend(), sodium: sodiumStatus() },
    workers,
    lookAhead,
    workloads,
    chain: chainKind,
    runs: versusTransfers(runs),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

const CHAIN_LABELS: Record<ChainKind, string> = {
  open: 'open chain (no organisations)',
  consortium: 'consortium chain (permissioned, every sender a member)',
};

function mixText(mix: TxMix): string {
  const total = mix.transfer + mix.record + mix.batch;
  const pct = (n: number) => `${fmt((n * 100) / Math.max(total, 1), 1)}%`;
  return `${pct(mix.transfer)} transfer, ${pct(mix.record)} record, ${pct(mix.batch)} 2-op batch`;
}

export function formatValidateReport(report: ValidateBenchReport): string[] {
  const { runs } = report;
  const mib = (b: number) => `${fmt(b / 2 ** 20)} MiB`;
  // Transfers alone on the open chain print as they did before workloads existed.
  const plain =
    report.chain === 'open' && report.workloads.length === 1 && report.workloads[0] === 'transfers';
  const name = (r: ValidateRun) =>
    `${r.backend} ${fmt(r.blockSize)}${plain ? '' : ` ${r.workload}`}`;
  const versus = (r: ValidateRun): string[] =>
    plain
      ? []
      : r.vsTransfers === null
        ? ['n/a', 'n/a']
        : [fmt(r.vsTransfers.ratio, 3), fmt(r.vsTransfers.cpuRatio, 3)];
  const mixes = new Map<WorkloadName, TxMix>();
  for (const r of runs) {
    const sum = mixes.get(r.workload) ?? { transfer: 0, record: 0, batch: 0 };
    for (const kind of TX_KINDS) sum[kind] += r.mix[kind];
    mixes.set(r.workload, sum);
  }
  const lines = [
    `Block validation + commit, ${report.machine.cpus} cores (${report.machine.model}), node ${report.machine.node}, ${report.workers} verify workers, look-ahead ${report.lookAhead}${plain ? '' : `, ${CHAIN_LABELS[report.chain]}`}`,
    `  crypto: ed25519 on ${report.crypto.ed25519} (verify pool, calling thread, certificates), SHA-256 on ${report.crypto.sha256}; libsodium ${report.crypto.sodium.loaded ? `${report.crypto.sodium.version} loaded` : `not loaded (${report.crypto.sodium.error ?? 'not asked for'})`}`,
    ...(plain
      ? []
      : [...mixes].map(([workload, mix]) => `  ${workload}: ${mixText(mix)} of its txs`)),
    '',
    ...table(
      [
        plain ? 'backend / block' : 'backend / block / workload',
        'txs',
        'blocks',
        'seconds',
        'tx/s',
        'blocks/s',
        'verify/s/core',
        'ceiling tx/s',
        'ratio',
        'CPU ratio',
        ...(plain ? [] : ['vs transfers', 'CPU vs transfers']),
        'peak RSS',
      ],
      runs.map((r) => [
        name(r),
        fmt(r.txs),
        fmt(r.blocks),
        fmt(r.seconds, 2),
        fmt(r.txPerSec),
        fmt(r.blocksPerSec, 1),
        fmt(r.verifyPerSecPerCore),
        fmt(r.ceilingTxPerSec),
        `${fmt(r.ratio * 100, 1)}%`,
        `${fmt(r.cpuRatio * 100, 1)}%`,
        ...versus(r),
        mib(r.peakRssBytes),
      ]),
    ),
    '',
    'Ratio to each ceiling, measured in the same minutes (verify/s on one thread × cores)',
    ...table(
      [
        plain ? 'backend / block' : 'backend / block / workload',
        'ceiling of',
        'verify/s/core',
        'CPU µs/verify',
        'ceiling tx/s',
        'tx/s',
        'ratio',
        'CPU ratio',
      ],
      runs.flatMap((r) =>
        r.ceilings.map((c) => [
          name(r),
          c.backend,
          fmt(c.verifyPerSecPerCore),
          fmt(c.cpuUsPerVerify, 1),
          fmt(c.ceilingTxPerSec),
          fmt(r.txPerSec),
          `${fmt(c.ratio * 100, 1)}%`,
          `${fmt(c.cpuRatio * 100, 1)}%`,
        ]),
      ),
    ),
    '',
    'Main-thread time per tx by stage, µs (signatures: submit + waiting for the pool)',
    ...table(
      ['stage', ...runs.map(name)],
      [
        ...STAGE_NAMES.map((name) => [
          STAGE_LABELS[name],
          ...runs.map((r) => fmt(r.stagesUsPerTx[name], 1)),
        ]),
        ['total (wall time per tx)', ...runs.map((r) => fmt((r.seconds * 1e6) / r.txs, 1))],
        [
          'pool wall time per tx (overlapped)',
          ...runs.map((r) => fmt((r.signaturePoolWallMs * 1000) / r.txs, 1)),
        ],
        ['CPU per tx, main thread', ...runs.map((r) => fmt(r.cpuUsPerTx.mainThread, 1))],
        ['CPU per tx, all threads', ...runs.map((r) => fmt(r.cpuUsPerTx.process, 1))],
        ['CPU of one bare verify', ...runs.map((r) => fmt(r.cpuUsPerTx.verify, 1))],
        ...THREAD_GROUPS.map((g) => [
          `  by thread: ${THREAD_GROUP_LABELS[g]}`,
          ...runs.map((r) =>
            r.cpuUsPerTxByThread === undefined ? 'n/a' : fmt(r.cpuUsPerTxByThread[g], 1),
          ),
        ]),
      ],
    ),
    '',
    `process peak RSS (maxRSS, all threads): ${mib(report.peakRssBytes)}`,
  ];
  return lines;
}
