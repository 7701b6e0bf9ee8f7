/**
 * Batch ed25519 verification on worker threads, under the same rule as `verifyNative`, on the
 * fastest native backend: by default the one verifyNative uses on the thread that creates the
 * pool (libsodium when it loads, node:crypto otherwise; see nativeVerifier), or the one named
 * by the `backend` option, for comparisons. Workers and the calling thread use the same
 * backend, which `stats().backend` reports; every backend applies the same rule and is
 * cross-checked (test/unit/crypto), so the pool can never disagree with the calling thread.
 *
 * - A batch is split into chunks; a chunk is packed into ONE ArrayBuffer that is transferred
 *   to a worker and answered with one transferred result buffer (verify-chunk.ts).
 * - Chunks submitted and not yet answered are bounded by `maxQueuedJobs`. A caller that
 *   would exceed it awaits a slot (FIFO), so a flood of batches turns into waiting callers,
 *   not into memory: a chunk is only packed once it holds a slot. Lodestar leaves this bound
 *   as a TODO; here the bound is the only way in.
 * - Batches smaller than `mainThreadBelow` are verified on the calling thread: a worker round
 *   trip costs more than a handful of signatures. Workers start only when a batch needs them
 *   (`startWorkersAt` items with none running) and stop after `idleWorkerMs` without work.
 *   `workers: 0` verifies everything on the
 *   calling thread, yielding to the event loop between chunks.
 *
 * Callers must not mutate the items of a batch until its promise settles: chunks are packed
 * lazily, as slots free up.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Piscina } from 'piscina';
import { CivitasError } from '../errors/index.ts';
import { type NativeVerifier, nativeVerifier, verifierOf } from './ed25519.ts';
import { hasPackableShape, packChunk, type SignedItem } from './verify-chunk.ts';

export type { SignedItem } from './verify-chunk.ts';

export interface VerifyPoolOptions {
  /** Worker threads; default os.availableParallelism(). 0 = verify on the calling thread. */
  workers?: number;
  /** Max chunks submitted to workers and not yet answered; default 4 per worker. */
  maxQueuedJobs?: number;
  /** Batches with fewer items than this are verified on the calling thread; default 16. */
  mainThreadBelow?: number;
  /** Max signatures per chunk (one worker round trip); default 256. */
  chunkSize?: number;
  /**
   * Workers start when a batch first needs them and stop after this long without work;
   * default 30 s. Infinity keeps a started worker for the pool's life. Each worker is a V8
   * isolate of its own, ~30 MiB of resident memory: a node whose batches all stay on the
   * calling thread (a few hundred tx/s) should not hold one.
   */
  idleWorkerMs?: number;
  /**
   * With no worker running, batches with fewer items than this stay on the calling thread
   * too; default chunkSize. Starting a worker costs its module load and ~20 MiB, which a
   * burst of a few dozen signatures (a millisecond or two of work) does not repay.
   */
  startWorkersAt?: number;
  /**
   * Signature backend of the workers and the calling thread; default nativeVerifier() here.
   * 'sodium' throws CRYPTO_BACKEND_UNAVAILABLE when libsodium cannot load.
   */
  backend?: NativeVerifier;
}

export interface VerifyPoolStats {
  /** The signature backend of the workers and of the calling thread's share. */
  backend: NativeVerifier;
  workers: number;
  /** Worker threads running now (started on demand, stopped when idle). */
  liveWorkers: number;
  maxQueuedJobs: number;
  /** Chunks submitted to workers and not yet answered (never above maxQueuedJobs). */
  jobsInFlight: number;
  /** Highest jobsInFlight seen since the pool was created. */
  peakJobsInFlight: number;
  /** Chunks whose batch is waiting for a slot right now. */
  jobsWaiting: number;
  /** Times a chunk had to wait for a slot. */
  backpressureWaits: number;
  batches: number;
  jobs: number;
  itemsOnWorkers: number;
  itemsOnMainThread: number;
  /** Items answered `false` without verification because of their length (rule 1). */
  itemsMalformed: number;
}

/** Heap limits of each verify worker, MB (see the Piscina options). */
const WORKER_HEAP_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 };

/** How long an idle worker lives by default (see VerifyPoolOptions.idleWorkerMs). */
export const DEFAULT_IDLE_WORKER_MS = 30_000;

/** What a worker is told at start (see verify-worker.ts). */
export interface VerifyWorkerData {
  readonly backend: NativeVerifier;
}

/** The worker module beside this one: .ts in a checkout, .js when installed (compiled). */
const WORKER_FILE = new URL(
  `./verify-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
  import.meta.url,
).href;

function positiveInt(value: number | undefined, fallback: number, name: string, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) {
    throw new CivitasError('CRYPTO_VERIFY_POOL_BAD_OPTION', `${name} must be an integer ≥ ${min}`, {
      [name]: value,
    });
  }
  return v;
}

function backendOption(value: NativeVerifier | undefined): NativeVerifier {
  if (value === undefined) return nativeVerifier();
  if (value !== 'sodium' && value !== 'node:crypto') {
    throw new CivitasError(
      'CRYPTO_VERIFY_POOL_BAD_OPTION',
      "backend must be 'sodium' or 'node:crypto'",
      {
        backend: String(value),
      },
    );
  }
  return value;
}

export class VerifyPool {
  private readonly backend: NativeVerifier;
  private readonly verify: ReturnType<typeof verifierOf>;
  private readonly workers: number;
  private readonly maxQueuedJobs: number;
  private readonly mainThreadBelow: number;
  private readonly chunkSize: number;
  private readonly startWorkersAt: number;
  private readonly piscina: Piscina | undefined;
  private readonly slotWaiters: Array<() => void> = [];
  private readonly activeBatches = new Set<Promise<unknown>>();
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly counters = {
    jobsInFlight: 0,
    peakJobsInFlight: 0,
    backpressureWaits: 0,
    batches: 0,
    jobs: 0,
    itemsOnWorkers: 0,
    itemsOnMainThread: 0,
    itemsMalformed: 0,
  };

  private constructor(opts: VerifyPoolOptions) {
    this.backend = backendOption(opts.backend);
    // Throws CRYPTO_BACKEND_UNAVAILABLE now, not in a worker, if the backend cannot load.
    this.verify = verifierOf(this.backend);
    this.workers = positiveInt(opts.workers, availableParallelism(), 'workers', 0);
    this.maxQueuedJobs = positiveInt(
      opts.maxQueuedJobs,
      4 * Math.max(1, this.workers),
      'maxQueuedJobs',
    );
    this.mainThreadBelow = positiveInt(opts.mainThreadBelow, 16, 'mainThreadBelow', 0);
    this.chunkSize = positiveInt(opts.chunkSize, 256, 'chunkSize');
    this.startWorkersAt = positiveInt(opts.startWorkersAt, this.chunkSize, 'startWorkersAt', 0);
    const idleWorkerMs = opts.idleWorkerMs ?? DEFAULT_IDLE_WORKER_MS;
    if (!(idleWorkerMs >= 0)) {
      throw new CivitasError('CRYPTO_VERIFY_POOL_BAD_OPTION', 'idleWorkerMs must be ≥ 0', {
        idleWorkerMs,
      });
    }
    if (this.workers > 0) {
      this.piscina = new Piscina({
        filename: WORKER_FILE,
        // None until a batch needs them; those idle for idleWorkerMs stop again.
        minThreads: 0,
        maxThreads: this.workers,
        idleTimeout: idleWorkerMs,
        // Two tasks per worker: the next chunk is already in the worker's inbox when the
        // current one finishes, so a worker never idles for a message round trip.
        concurrentTasksPerWorker: 2,
        // Our own slot bound keeps piscina's queue below this; it is a safety net only.
        maxQueue: this.maxQueuedJobs,
        workerData: { backend: this.backend } satisfies VerifyWorkerData,
        // A worker holds one chunk of hashes, keys and signatures at a time (a few tens of
        // KB): V8's defaults, sized from the machine's memory, would let each worker's heap
        // grow to hundreds of MB of garbage before collecting it.
        resourceLimits: WORKER_HEAP_LIMITS,
      });
    }
  }

  static create(opts: VerifyPoolOptions = {}): VerifyPool {
    return new VerifyPool(opts);
  }

  /**
   * result[i] is verifyNative(items[i].signature, items[i].message, items[i].publicKey), as
   * computed by the pool's backend.
   */
  verifyBatch(items: ReadonlyArray<SignedItem>): Promise<boolean[]> {
    if (this.closed) {
      return Promise.reject(
        new CivitasError('CRYPTO_VERIFY_POOL_CLOSED', 'verify pool is closed', {}),
      );
    }
    this.counters.batches++;
    const batch = this.runBatch(items);
    this.activeBatches.add(batch);
    const forget = () => this.activeBatches.delete(batch);
    batch.then(forget, forget);
    return batch;
  }

  /** Waits for accepted batches to finish, then stops the workers. Idempotent. */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      await Promise.allSettled([...this.activeBatches]);
      await this.piscina?.close();
    })();
    return this.closing;
  }

  stats(): VerifyPoolStats {
    return {
      backend: this.backend,
      workers: this.workers,
      liveWorkers: this.piscina?.threads.length ?? 0,
      maxQueuedJobs: this.maxQueuedJobs,
      jobsWaiting: this.slotWaiters.length,
      ...this.counters,
    };
  }

  private async runBatch(items: ReadonlyArray<SignedItem>): Promise<boolean[]> {
    const results = new Array<boolean>(items.length).fill(false);
    const packable: number[] = [];
    for (let i = 0; i < items.length; i++) {
      if (hasPackableShape(items[i]!)) packable.push(i);
    }
    this.counters.itemsMalformed += items.length - packable.length;
    if (packable.length === 0) return results;

    if (this.piscina === undefined) {
      await this.verifyOnCallingThread(items, packable, results, true);
      return results;
    }
    const below =
      this.piscina.threads.length > 0
        ? this.mainThreadBelow
        : Math.max(this.mainThreadBelow, this.startWorkersAt);
    if (packable.length < below) {
      await this.verifyOnCallingThread(items, packable, results, false);
      return results;
    }
    // Spread a batch over all workers even when it is smaller than workers × chunkSize.
    const perChunk = Math.min(this.chunkSize, Math.ceil(packable.length / this.workers));
    const jobs: Promise<void>[] = [];
    let failure: unknown;
    for (let start = 0; start < packable.length && failure === undefined; start += perChunk) {
      const indices = packable.slice(start, start + perChunk);
      await this.acquireSlot();
      if (failure !== undefined) {
        this.releaseSlot();
        break;
      }
      jobs.push(
        this.submit(items, indices, results).catch((err: unknown) => {
          failure ??= err;
        }),
      );
    }
    await Promise.all(jobs);
    if (failure !== undefined) {
      throw new CivitasError('CRYPTO_VERIFY_POOL_FAILED', 'a verification worker failed', {
        cause: String(failure),
      });
    }
    return results;
  }

  private async submit(
    items: ReadonlyArray<SignedItem>,
    indices: number[],
    results: boolean[],
  ): Promise<void> {
    try {
      const buffer = packChunk(items, indices);
      this.counters.jobs++;
      this.counters.itemsOnWorkers += indices.length;
      const answer = (await this.piscina!.run(buffer, { transferList: [buffer] })) as Uint8Array;
      for (let i = 0; i < indices.length; i++) results[indices[i]!] = answer[i] === 1;
    } finally {
      this.releaseSlot();
    }
  }

  private async verifyOnCallingThread(
    items: ReadonlyArray<SignedItem>,
    indices: number[],
    results: boolean[],
    yieldBetweenChunks: boolean,
  ): Promise<void> {
    for (let start = 0; start < indices.length; start += this.chunkSize) {
      if (yieldBetweenChunks && start > 0) await yieldToEventLoop();
      const end = Math.min(indices.length, start + this.chunkSize);
      for (let i = start; i < end; i++) {
        const item = items[indices[i]!]!;
        results[indices[i]!] = this.verify(item.signature, item.message, item.publicKey);
      }
      this.counters.itemsOnMainThread += end - start;
    }
  }

  private acquireSlot(): Promise<void> | undefined {
    if (this.counters.jobsInFlight < this.maxQueuedJobs && this.slotWaiters.length === 0) {
      this.takeSlot();
      return undefined;
    }
    this.counters.backpressureWaits++;
    return new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  private takeSlot(): void {
    this.counters.jobsInFlight++;
    if (this.counters.jobsInFlight > this.counters.peakJobsInFlight) {
      this.counters.peakJobsInFlight = this.counters.jobsInFlight;
    }
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next === undefined) {
      this.counters.jobsInFlight--;
      return;
    }
    // Hand the slot straight to the oldest waiter: jobsInFlight is unchanged.
    next();
  }
}
