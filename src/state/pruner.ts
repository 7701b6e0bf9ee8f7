/**
 * Pruning: a node keeps the state of its last `keepVersions` heights (proofs at recent
 * heights) and, when configured as a pruned node, the blocks, certificates and receipts of
 * its last `retainBlocks` heights; everything older is deleted in the background, but the
 * blocks a joining node fetches from this node's snapshots (`holdBlocksFrom`: the lifetime
 * window of the lowest snapshot kept, docs/STATE-SYNC.md) and the validator-change blocks.
 *
 * State, the Jellyfish way: each block commit lists, in its own atomic batch, the tree nodes
 * its update replaced, moved or removed, under the height they went stale at (the store's
 * `stale` bucket, smt/update.ts). A node stale since version s is reached by no version ≥ s,
 * so once the lowest kept version L reaches s it can go. Reads of kept versions never touch
 * what is deleted, which is why this needs no lock against commits or queries: deletions only
 * ever remove nodes of versions below L, and commits only add nodes (under new keys) and
 * index entries (above L).
 *
 * The work is done after commits, in chunks of at most `chunkKeys` deletions, one LevelDB
 * batch each, with a turn of the event loop between chunks, so a commit or a query waits at
 * most one chunk. Each chunk's batch also records the lowest kept version or height, and the
 * store raises it in memory before the batch is written (queries below it answer
 * STATE_VERSION_PRUNED or LEDGER_BLOCK_PRUNED from then on). A crash between chunks leaves a
 * consistent store: the next start finds the index entries left below L and deletes them.
 */
import { CivitasError } from '../errors/index.ts';
import type { ChainStore } from './store.ts';

export interface PruningOptions {
  /**
   * State versions kept whole: heights tip − keepVersions + 1 … tip answer proofs; null keeps
   * every version (an archive of state).
   */
  readonly keepVersions: number | null;
  /** Heights whose blocks, certificates and receipts are kept; null keeps every block. */
  readonly retainBlocks: number | null;
}

/**
 * The default state window. At one block a second (a busy chain makes several) it is close
 * to three hours of heights, at the idle rate of one block per 10 s more than a day: proofs
 * at recent heights, a light client that checks a few minutes or hours behind, and the state
 * reads of a history check (a governance action is proven at its own height) stay answerable
 * for that long, while the tree stays near the size of the live state instead of growing
 * with every block.
 */
export const DEFAULT_KEEP_VERSIONS = 10_000;
/** The tip and the height before it: a query at the tip survives the next commit. */
export const MIN_KEEP_VERSIONS = 2;
/** Deletions per LevelDB batch: a few hundred kilobytes of keys, a few milliseconds' work. */
export const PRUNE_CHUNK_KEYS = 4096;

/** Heights to wait after a failed round before the next. */
const RETRY_AFTER_BLOCKS = 64;

export interface PruningStats {
  /** The lowest state version kept whole (proofs below it answer STATE_VERSION_PRUNED). */
  readonly stateFrom: number;
  /** The lowest height whose block is kept (0: none pruned); validator changes are kept. */
  readonly blocksFrom: number;
  /** Tree nodes deleted since this process started. */
  readonly prunedNodes: number;
  /** Heights whose blocks were deleted since this process started. */
  readonly prunedBlocks: number;
}

/** Why `opts` cannot be used (undefined: they can), the fields named as in the config. */
export function pruningOptionsProblem(
  opts: PruningOptions,
  minRetainBlocks: number,
): string | undefined {
  const { keepVersions, retainBlocks } = opts;
  if (
    keepVersions !== null &&
    (!Number.isSafeInteger(keepVersions) || keepVersions < MIN_KEEP_VERSIONS)
  ) {
    return `"state.keepVersions" must be null (keep every version) or an integer ≥ ${MIN_KEEP_VERSIONS}`;
  }
  if (retainBlocks === null) return undefined;
  if (!Number.isSafeInteger(retainBlocks) || retainBlocks < minRetainBlocks) {
    return `"state.retainBlocks" must be null (keep every block) or an integer ≥ ${minRetainBlocks}`;
  }
  // A proof at a kept height needs that height's header and certificate.
  if (keepVersions === null || retainBlocks < keepVersions) {
    return '"state.retainBlocks" must be at least "state.keepVersions" (a proof at a kept height needs its block), which must then not be null';
  }
  return undefined;
}

export class Pruner {
  private readonly opts: PruningOptions;
  private readonly chunkKeys: number;
  private readonly store: ChainStore;
  /** Heights whose blocks stay whatever the window (the validator-set changes). */
  private readonly keepHeights: () => ReadonlySet<number>;
  private readonly holdVersion: () => number | undefined;
  private readonly holdBlocksFrom: () => number | undefined;
  private readonly onError: (err: unknown) => void;
  private tip = 0;
  /** The tip the last step worked for. */
  private steppedTip = -1;
  /** Index entries may remain below the kept version (a run that stopped, a crash). */
  private stateLeft = true;
  private running: Promise<void> | undefined;
  private closed = false;
  private prunedNodes = 0;
  private prunedBlocks = 0;
  /** After a failed round, the next one waits for this height (one warning, not one a block). */
  private retryAt = 0;

  constructor(
    opts: PruningOptions & { readonly chunkKeys?: number; readonly minRetainBlocks: number },
    deps: {
      store: ChainStore;
      keepHeights: () => ReadonlySet<number>;
      /** The lowest version something still reads (a snapshot being written): kept. */
      holdVersion?: () => number | undefined;
      /**
       * The lowest height whose block joining nodes still fetch (the tx-lifetime window of
       * the snapshots this node serves): it and every block above it are kept.
       */
      holdBlocksFrom?: () => number | undefined;
      onError?: (err: unknown) => void;
    },
  ) {
    const problem = pruningOptionsProblem(opts, opts.minRetainBlocks);
    if (problem !== undefined) throw new CivitasError('PRUNER_BAD_OPTION', problem);
    this.opts = { keepVersions: opts.keepVersions, retainBlocks: opts.retainBlocks };
    this.chunkKeys = opts.chunkKeys ?? PRUNE_CHUNK_KEYS;
    if (!Number.isSafeInteger(this.chunkKeys) || this.chunkKeys < 1) {
      throw new CivitasError('PRUNER_BAD_OPTION', 'chunkKeys must be a positive integer');
    }
    this.store = deps.store;
    this.keepHeights = deps.keepHeights;
    this.holdVersion = deps.holdVersion ?? (() => undefined);
    this.holdBlocksFrom = deps.holdBlocksFrom ?? (() => undefined);
    this.onError = deps.onError ?? (() => {});
  }

  /** The chain committed `tip`: starts a background round unless one is running. */
  noteCommitted(tip: number): void {
    this.tip = Math.max(this.tip, tip);
    if (this.closed || this.running !== undefined || this.tip < this.retryAt) return;
    this.running = this.run()
      .catch((err: unknown) => {
        this.retryAt = this.tip + RETRY_AFTER_BLOCKS;
        if (!this.closed) this.onError(err);
      })
      .finally(() => {
        this.running = undefined;
        // A commit noted while the last step was finding nothing left: go on for it.
        if (!this.closed && this.tip > this.steppedTip) this.noteCommitted(this.tip);
      });
  }

  /** Chunks until nothing is left to prune for the tip last noted (it may move meanwhile). */
  private async run(): Promise<void> {
    while (!this.closed && (await this.step(this.tip))) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * One chunk of work for `tip`: state first, then blocks. Returns whether more is left.
   * Public for tests, which stop between chunks; the node only calls noteCommitted.
   */
  async step(tip: number): Promise<boolean> {
    this.steppedTip = tip;
    const { keepVersions, retainBlocks } = this.opts;
    const { stateFrom, blocksFrom } = this.store.retainedFrom();
    const held = this.holdVersion();
    const stateTarget =
      keepVersions === null
        ? stateFrom
        : Math.max(stateFrom, Math.min(tip - keepVersions + 1, held ?? Number.POSITIVE_INFINITY));
    if (stateTarget > stateFrom || this.stateLeft) {
      const deleted = await this.store.pruneStateChunk(stateTarget, this.chunkKeys);
      this.prunedNodes += deleted;
      this.stateLeft = deleted === this.chunkKeys;
      if (this.stateLeft) return true;
    }
    if (retainBlocks !== null) {
      const below = Math.min(
        tip - retainBlocks + 1,
        this.holdBlocksFrom() ?? Number.POSITIVE_INFINITY,
      );
      if (below > blocksFrom) {
        this.prunedBlocks += await this.store.pruneBlocksChunk(
          below,
          this.keepHeights(),
          this.chunkKeys,
        );
        return this.store.retainedFrom().blocksFrom < below;
      }
    }
    return false;
  }

  stats(): PruningStats {
    const { stateFrom, blocksFrom } = this.store.retainedFrom();
    return {
      stateFrom,
      blocksFrom,
      prunedNodes: this.prunedNodes,
      prunedBlocks: this.prunedBlocks,
    };
  }

  /** Resolves once no round runs (everything due for the tips noted so far is done). */
  async settled(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Stops after the chunk in progress (what is left is picked up at the next start). */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}
