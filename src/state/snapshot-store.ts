/**
 * Taking and keeping state snapshots (docs/STATE-SYNC.md, "Where snapshots live"): every
 * `interval` heights, after the commit of height S, the state of version S is cut into
 * chunks (snapshot.ts) in the background and written to the store's `snapshots` bucket,
 * chunks first and the manifest last, so a snapshot without a manifest is one that did not
 * finish (a crash, a close): removed at the next start. The last `kept` snapshots stay.
 *
 * Version S is never changed by later commits, so the walk needs no lock; only pruning could
 * remove it, and the pruner keeps every version from `holdVersion()` on while a snapshot is
 * being written (pruner.ts). One snapshot at a time: a height due while one runs is skipped.
 */
import { Limits } from '../chain/limits.ts';
import { concatBytes } from '../crypto/bytes.ts';
import { CivitasError } from '../errors/index.ts';
import { heightKey, readHeightKey } from './keys.ts';
import { LevelNodeReader } from './smt/index.ts';
import {
  createSnapshot,
  decodeManifest,
  encodeManifest,
  type SnapshotManifest,
} from './snapshot.ts';
import type { ChainStore } from './store.ts';

export interface SnapshotOptions {
  /** Heights between snapshots (a snapshot at every multiple); 0: none. */
  readonly interval: number;
  /** Snapshots kept (the newest), at least 1. */
  readonly kept: number;
  /** Chunk budget (tests); default SNAPSHOT_CHUNK_BYTES. */
  readonly maxChunkBytes?: number;
}

export const DEFAULT_SNAPSHOT_INTERVAL = 1_000;
export const DEFAULT_SNAPSHOTS_KEPT = 2;

const MANIFEST = 0;
const CHUNK = 1;

const manifestKey = (height: number): Uint8Array =>
  concatBytes(heightKey(height), Uint8Array.of(MANIFEST));

function chunkKey(height: number, index: number): Uint8Array {
  const key = new Uint8Array(13);
  key.set(heightKey(height), 0);
  key[8] = CHUNK;
  new DataView(key.buffer).setUint32(9, index);
  return key;
}

/**
 * The lowest height whose block a node must hold to serve a joiner from its snapshot of
 * `height` (docs/STATE-SYNC.md): the joiner fetches the blocks of its tx lifetime window and
 * the RECENT_BLOCKS (64) up to the snapshot.
 */
export function snapshotWindowFrom(height: number, maxTxLifetime: number): number {
  return Math.max(1, height - Math.max(maxTxLifetime, Limits.recentBlocks) + 1);
}

/** Why `opts` cannot be used (undefined: they can), the fields named as in the config. */
export function snapshotOptionsProblem(opts: {
  interval: number;
  kept: number;
}): string | undefined {
  if (!Number.isSafeInteger(opts.interval) || opts.interval < 0) {
    return '"state.snapshotInterval" must be an integer ≥ 0 (0: no snapshots)';
  }
  if (!Number.isSafeInteger(opts.kept) || opts.kept < 1) {
    return '"state.snapshotsKept" must be an integer ≥ 1';
  }
  return undefined;
}

/** Heights of the complete snapshots in `store`, oldest first. */
export async function storedSnapshots(store: ChainStore): Promise<number[]> {
  const out: number[] = [];
  for await (const key of store.snapshots.keys()) {
    if (key.length === 9 && key[8] === MANIFEST) out.push(readHeightKey(key));
  }
  return out;
}

/** The manifest of the stored snapshot of `height` (SNAPSHOT_NOT_FOUND when there is none). */
export async function readSnapshotManifest(
  store: ChainStore,
  height: number,
): Promise<{ manifest: SnapshotManifest; bytes: Uint8Array }> {
  const bytes = await store.snapshots.get(manifestKey(height));
  if (bytes === undefined) {
    throw new CivitasError('SNAPSHOT_NOT_FOUND', `no snapshot of height ${height} is stored here`, {
      height,
    });
  }
  return { manifest: decodeManifest(bytes), bytes };
}

/** Chunk `index` of the stored snapshot of `height` (SNAPSHOT_NOT_FOUND when absent). */
export async function readSnapshotChunk(
  store: ChainStore,
  height: number,
  index: number,
): Promise<Uint8Array> {
  const complete = await store.snapshots.get(manifestKey(height));
  const bytes =
    complete === undefined || !Number.isSafeInteger(index) || index < 0 || index > 0xffff_ffff
      ? undefined
      : await store.snapshots.get(chunkKey(height, index));
  if (bytes === undefined) {
    throw new CivitasError('SNAPSHOT_NOT_FOUND', `no chunk ${index} of a snapshot of ${height}`, {
      height,
      index,
    });
  }
  return bytes;
}

/**
 * What this store serves to a joining node (the sync protocol's kinds 5 and 6): the newest
 * complete snapshot at or below a height (0: any) that `servable` accepts (a node offers only
 * snapshots whose blocks it also holds), and its chunks; undefined where none.
 */
export async function servedManifest(
  store: ChainStore,
  atOrBelow: number,
  servable: (height: number) => boolean = () => true,
): Promise<Uint8Array | undefined> {
  const heights = (await storedSnapshots(store)).filter(
    (h) => (atOrBelow === 0 || h <= atOrBelow) && servable(h),
  );
  const newest = heights.at(-1);
  return newest === undefined ? undefined : store.snapshots.get(manifestKey(newest));
}

export async function servedChunk(
  store: ChainStore,
  height: number,
  index: number,
): Promise<Uint8Array | undefined> {
  try {
    return await readSnapshotChunk(store, height, index);
  } catch {
    return undefined; // SNAPSHOT_NOT_FOUND: removed meanwhile, or never was
  }
}

export class Snapshotter {
  private readonly opts: SnapshotOptions;
  private readonly store: ChainStore;
  private readonly chainId: string;
  private readonly onError: (err: unknown) => void;
  private running: Promise<void> | undefined;
  /** The version being written, held against pruning. */
  private writing: number | undefined;
  private closed = false;
  private cleaned = false;
  private taken = 0;
  /** Heights of the complete snapshots kept, oldest first (known after the first cleanup). */
  private keptHeights: readonly number[] = [];

  constructor(
    opts: SnapshotOptions,
    deps: { store: ChainStore; chainId: string; onError?: (err: unknown) => void },
  ) {
    const problem = snapshotOptionsProblem(opts);
    if (problem !== undefined) throw new CivitasError('SNAPSHOT_BAD_OPTION', problem);
    this.opts = opts;
    this.store = deps.store;
    this.chainId = deps.chainId;
    this.onError = deps.onError ?? (() => {});
  }

  /** The lowest version a snapshot in progress reads (pruning keeps it), if any. */
  holdVersion(): number | undefined {
    return this.writing;
  }

  /** Heights of the complete snapshots kept, oldest first. */
  heights(): readonly number[] {
    return this.keptHeights;
  }

  /** Snapshots written since this process started. */
  get snapshotsTaken(): number {
    return this.taken;
  }

  /**
   * Height `height` with state root `stateRoot` is committed: starts its snapshot when it is
   * due and none runs (and, the first time, removes what an interrupted run left).
   */
  noteCommitted(height: number, stateRoot: Uint8Array): void {
    if (this.closed || this.running !== undefined) return;
    const due = this.opts.interval > 0 && height > 0 && height % this.opts.interval === 0;
    if (!due && this.cleaned) return;
    this.writing = due ? height : undefined;
    this.running = (due ? this.take(height, stateRoot) : this.removeOld())
      .catch((err: unknown) => {
        if (!this.closed) this.onError(err);
      })
      .finally(() => {
        this.writing = undefined;
        this.running = undefined;
      });
  }

  private async take(height: number, stateRoot: Uint8Array): Promise<void> {
    await this.deleteSnapshot(height); // what an earlier attempt at this height left
    const manifest = await createSnapshot(
      new LevelNodeReader(this.store.tree),
      { chainId: this.chainId, height, stateRoot },
      async (index, bytes) => {
        if (this.closed) throw new CivitasError('SNAPSHOT_STOPPED', 'the node is stopping');
        await this.store.snapshots.put(chunkKey(height, index), bytes);
        // A turn of the event loop between chunks: commits and queries go first.
        await new Promise<void>((resolve) => setImmediate(resolve));
      },
      this.opts.maxChunkBytes === undefined ? {} : { maxChunkBytes: this.opts.maxChunkBytes },
    );
    await this.store.snapshots.put(manifestKey(height), encodeManifest(manifest));
    this.taken++;
    await this.removeOld();
  }

  /** Removes every snapshot but the newest `kept` complete ones (incomplete ones included). */
  private async removeOld(): Promise<void> {
    const complete = await storedSnapshots(this.store);
    const keep = new Set(complete.slice(-this.opts.kept));
    const heights = new Set<number>();
    for await (const key of this.store.snapshots.keys()) heights.add(readHeightKey(key));
    for (const h of heights) if (!keep.has(h) && h !== this.writing) await this.deleteSnapshot(h);
    this.keptHeights = [...keep];
    this.cleaned = true;
  }

  private async deleteSnapshot(height: number): Promise<void> {
    await this.store.snapshots.clear({ gte: heightKey(height), lt: heightKey(height + 1) });
  }

  /** Resolves once no snapshot is being written (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Stops after the chunk in progress; an unfinished snapshot is removed at the next start. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}
