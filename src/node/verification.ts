/**
 * Signature verification for the node, built in ONE place so that `civitas bench validate`
 * builds exactly what a running node runs (bench/validate.ts calls the same factory):
 *
 *   - a VerifyPool (src/crypto/verify-pool.ts) of worker threads, one per core by default:
 *     batches below `mainThreadBelow` signatures are verified on the calling thread (a worker
 *     round trip costs more than a few signatures), larger ones are split over the workers,
 *     and the chunks in flight are bounded (a caller over the bound waits for a slot);
 *   - one TxVerifier in front of it: its cache of verified tx hashes is shared by every
 *     path, so a tx admitted to the mempool is not verified again when proposed or synced;
 *   - the three paths that ask it, each with its own tally (signatures checked, cache hits):
 *       admission  mempool admission (client submissions and gossip). The mempool asks about
 *                  one tx at a time; the requests of one event-loop turn (a slice of a
 *                  gossiped batch, a burst of submissions) are verified as one batch, so a
 *                  busy node's admission goes to the workers instead of its event loop;
 *       proposal   validation of a peer's proposal and of a block consensus certified
 *                  (mostly cache hits: the txs came by gossip first);
 *       sync       block sync, through a BlockPipeline (src/state/block-pipeline.ts): the
 *                  signatures of the next blocks are checked on the workers while one block
 *                  executes. The benchmark drives this very pipeline.
 *
 * Every signature is checked on one backend, the pool's: by default the one verifyNative uses
 * here (libsodium when its addon loads, node:crypto otherwise; src/crypto/ed25519.ts), for the
 * workers and the calling thread alike. Commit-certificate signatures (a quorum per block) are
 * checked on the calling thread by `checkSignature`, on the same backend, and are not in the
 * tallies, which count tx signatures.
 */

import { availableParallelism } from 'node:os';
import {
  type BatchSignatureVerifier,
  emptyVerifyTally,
  type SignatureCheck,
  type Tx,
  TxVerifier,
  type VerifyTally,
} from '../chain/index.ts';
import { type NativeVerifier, verifierOf } from '../crypto/ed25519.ts';
import { hashBackend } from '../crypto/hash.ts';
import { VerifyPool, type VerifyPoolStats } from '../crypto/verify-pool.ts';
import {
  BlockPipeline,
  type BlockPipelineOptions,
  type CommitBlock,
  type PipelineTxVerifier,
} from '../state/block-pipeline.ts';
import type { Ledger } from '../state/ledger.ts';
import { type CacheSize, HEX_HASH_ENTRY_BYTES } from './memory-budget.ts';

/** How a block is checked before it is committed (signatures through the node's verifier). */
export type ValidationOptions = Parameters<Ledger['validateBlock']>[1];

export const VERIFY_PATHS = ['admission', 'proposal', 'sync'] as const;
export type VerifyPath = (typeof VERIFY_PATHS)[number];

/**
 * A node's verify workers when its config leaves them to it (`verify.workers: null`): one per
 * core but one, at least one. The event loop verifies small batches itself (at 150 tx/s on
 * 4 validators, 95% of the signatures: docs/BENCHMARKS.md, "Memory"), and each worker is a V8
 * isolate of its own, several MiB of a node's memory budget.
 */
export function defaultNodeVerifyWorkers(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/** Batch verifier the factory may be handed instead of its own pool (the noble benchmark). */
export interface ClosableBatchVerifier extends BatchSignatureVerifier {
  close(): Promise<void>;
}

export interface VerificationOptions {
  /** Verify worker threads; default os.availableParallelism(). 0 = all on the calling thread. */
  workers?: number;
  /** Batches with fewer signatures are verified on the calling thread; default 16 (the pool's). */
  mainThreadBelow?: number;
  /** Chunks submitted to workers and not yet answered; default 4 per worker (the pool's). */
  maxQueuedJobs?: number;
  /** Signatures per worker round trip; default 256 (the pool's). */
  chunkSize?: number;
  /** With no worker running, smaller batches stay on the calling thread; default chunkSize. */
  startWorkersAt?: number;
  /** Verified tx hashes remembered; default 200,000. */
  cacheEntries?: number;
  /**
   * The signature backend of the pool, its calling-thread share and the certificate checks;
   * default verifyNative's here (libsodium when it loads). 'sodium' throws
   * CRYPTO_BACKEND_UNAVAILABLE when it cannot load.
   */
  backend?: NativeVerifier;
  /** Most admission requests verified as one batch (more are flushed at once); default 1,024. */
  maxAdmissionBatch?: number;
  /**
   * Benchmarks only: verify through this batch verifier instead of a VerifyPool (the portable
   * backend's comparison run). Everything else is built as for the node.
   */
  batchVerifier?: ClosableBatchVerifier;
  /** Its backend's name, for the stats. */
  batchVerifierBackend?: string;
}

/** The backends in use, for the metrics and the benchmark report. */
export interface CryptoInUse {
  /** ed25519: the pool's backend (sodium, node:crypto), or what a benchmark injected. */
  readonly ed25519: string;
  /** SHA-256 on this thread (hash.ts: sodium+node:crypto, node:crypto or noble). */
  readonly sha256: string;
}

export interface VerificationStats {
  /** The ed25519 backend of every path (sodium, node:crypto, or what a benchmark injected). */
  readonly backend: string;
  /** The SHA-256 backend of this thread (hashes of txs, blocks and state). */
  readonly hashBackend: string;
  readonly workers: number;
  readonly paths: Readonly<Record<VerifyPath, Readonly<VerifyTally>>>;
  /** Tx signatures verified on the pool's workers and on the calling thread (all paths). */
  readonly onWorkers: number;
  readonly onCallingThread: number;
  /** Admission batches flushed, and the requests (txs) they held. */
  readonly admissionBatches: number;
  readonly admissionRequests: number;
  /** The pool's own counters; absent with an injected batch verifier. */
  readonly pool?: VerifyPoolStats;
}

/** What one path hands the TxVerifier: verdicts per tx, the path's tally kept. */
export type PathVerifier = PipelineTxVerifier;

interface AdmissionRequest {
  readonly tx: Tx;
  readonly hash: Uint8Array;
  readonly resolve: (valid: boolean) => void;
  readonly reject: (err: unknown) => void;
}

export class Verification {
  readonly txVerifier: TxVerifier;
  readonly workers: number;
  readonly backend: string;
  /** Certificate signatures (calling thread, the pool's backend). */
  readonly checkSignature: SignatureCheck;
  private readonly pool: VerifyPool | undefined;
  private readonly batch: ClosableBatchVerifier;
  private readonly tallies: Record<VerifyPath, VerifyTally> = {
    admission: emptyVerifyTally(),
    proposal: emptyVerifyTally(),
    sync: emptyVerifyTally(),
  };
  private readonly maxAdmissionBatch: number;
  private admissionQueue: AdmissionRequest[] = [];
  private admissionScheduled = false;
  private admissionBatches = 0;
  private admissionRequests = 0;
  private closing: Promise<void> | undefined;

  private constructor(opts: VerificationOptions) {
    if (opts.batchVerifier !== undefined) {
      this.batch = opts.batchVerifier;
      this.workers = opts.workers ?? availableParallelism();
      this.backend = opts.batchVerifierBackend ?? 'injected';
      this.checkSignature = verifierOf(opts.backend ?? 'native');
    } else {
      this.pool = VerifyPool.create({
        workers: opts.workers ?? availableParallelism(),
        mainThreadBelow: opts.mainThreadBelow,
        maxQueuedJobs: opts.maxQueuedJobs,
        chunkSize: opts.chunkSize,
        startWorkersAt: opts.startWorkersAt,
        backend: opts.backend,
      });
      this.batch = this.pool;
      const { workers, backend } = this.pool.stats();
      this.workers = workers;
      this.backend = backend;
      this.checkSignature = verifierOf(backend);
    }
    this.maxAdmissionBatch = opts.maxAdmissionBatch ?? 1_024;
    this.txVerifier = new TxVerifier({
      batch: this.batch,
      maxEntries: opts.cacheEntries ?? 200_000,
    });
  }

  /** Builds the pool (its threads start now) and the verifier in front of it. */
  static create(opts: VerificationOptions = {}): Verification {
    return new Verification(opts);
  }

  /** The verifier one path uses: the shared cache and pool, this path's tally. */
  verifier(path: VerifyPath): PathVerifier {
    const tally = this.tallies[path];
    return {
      verify: (txs, txHashes, encodedTxs) =>
        this.txVerifier.verify(txs, txHashes, encodedTxs, tally),
    };
  }

  /**
   * Mempool admission: verdicts for `txs`, verified together with every other admission
   * request of this event-loop turn (one batch: the pool sends it to the workers when it is
   * large enough). A flush happens at the end of the turn, or at once at maxAdmissionBatch.
   */
  admit(txs: readonly Tx[], txHashes: readonly Uint8Array[]): Promise<boolean[]> {
    return Promise.all(
      txs.map(
        (tx, i) =>
          new Promise<boolean>((resolve, reject) => {
            this.admissionQueue.push({ tx, hash: txHashes[i]!, resolve, reject });
            if (this.admissionQueue.length >= this.maxAdmissionBatch) this.flushAdmission();
            else if (!this.admissionScheduled) {
              this.admissionScheduled = true;
              setImmediate(() => this.flushAdmission());
            }
          }),
      ),
    );
  }

  /** Options for Ledger.validateBlock on the proposal path (a peer's block, or a certified one). */
  validationOptions(): ValidationOptions {
    const proposal = this.verifier('proposal');
    return {
      verifySignatures: (txs, hashes) => proposal.verify(txs, hashes),
      checkSignature: this.checkSignature,
    };
  }

  /**
   * A BlockPipeline on the sync path: what block sync commits through, and what
   * `bench validate` measures. `commit` is how a validated block is committed (the node's
   * commit path; default ledger.commit).
   */
  pipeline(
    ledger: Ledger,
    opts: Omit<BlockPipelineOptions, 'checkSignature'> & { checkSignature?: SignatureCheck } = {},
    commit?: CommitBlock,
  ): BlockPipeline {
    return new BlockPipeline(
      { ...opts, checkSignature: opts.checkSignature ?? this.checkSignature },
      { ledger, txVerifier: this.verifier('sync'), commit },
    );
  }

  /**
   * Starts the workers' modules and JIT before a measurement: verifies `items` straight on the
   * pool, outside every path's tally.
   */
  warmUp(items: Parameters<BatchSignatureVerifier['verifyBatch']>[0]): Promise<boolean[]> {
    return this.batch.verifyBatch(items);
  }

  /** The ed25519 and SHA-256 backends in use on this thread. */
  crypto(): CryptoInUse {
    return { ed25519: this.backend, sha256: hashBackend() };
  }

  /** The verified-tx cache: entries, with estimated bytes. */
  cacheStats(): CacheSize {
    const entries = this.txVerifier.cached;
    return { entries, bytes: entries * HEX_HASH_ENTRY_BYTES };
  }

  stats(): VerificationStats {
    const pool = this.pool?.stats();
    const copy = (t: VerifyTally): VerifyTally => ({ ...t });
    return {
      backend: this.backend,
      hashBackend: hashBackend(),
      workers: this.workers,
      paths: {
        admission: copy(this.tallies.admission),
        proposal: copy(this.tallies.proposal),
        sync: copy(this.tallies.sync),
      },
      onWorkers: pool?.itemsOnWorkers ?? 0,
      onCallingThread: pool?.itemsOnMainThread ?? 0,
      admissionBatches: this.admissionBatches,
      admissionRequests: this.admissionRequests,
      ...(pool === undefined ? {} : { pool }),
    };
  }

  /** Verifies what admission queued, then stops the workers. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.flushAdmission();
      await this.batch.close();
    })();
    return this.closing;
  }

  private flushAdmission(): void {
    this.admissionScheduled = false;
    const requests = this.admissionQueue;
    if (requests.length === 0) return;
    this.admissionQueue = [];
    this.admissionBatches++;
    this.admissionRequests += requests.length;
    this.txVerifier
      .verify(
        requests.map((r) => r.tx),
        requests.map((r) => r.hash),
        undefined,
        this.tallies.admission,
      )
      .then(
        (verdicts) => {
          for (const [i, r] of requests.entries()) r.resolve(verdicts[i] === true);
        },
        (err: unknown) => {
          for (const r of requests) r.reject(err);
        },
      );
  }
}
