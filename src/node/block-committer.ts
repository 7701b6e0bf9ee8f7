/**
 * The commit path: a final block (certified by consensus, or fetched by block sync with its
 * certificate checked) goes to the ledger in one durable batch, then to the caches that
 * follow the chain (committed nonces, mempool), the clients waiting for its txs, and the
 * listeners of committed blocks. One commit at a time, in arrival order.
 */
import type { EventEmitter } from 'node:events';
import type { CommitCertificate, SealedBlock } from '../chain/index.ts';
import { toHex } from '../crypto/bytes.ts';
import { CivitasError } from '../errors/index.ts';
import type { ExecutedBlock, Ledger } from '../state/ledger.ts';
import type { BlockWorkGate } from './block-work-gate.ts';
import type { CommitCache } from './commit-cache.ts';
import type { Logger } from './logger.ts';
import type { Mempool } from './mempool.ts';
import type { NodeMetrics } from './metrics.ts';
import type { TxWaiters } from './tx-waiters.ts';
import type { ValidationOptions } from './verification.ts';

export interface CommittedBlockEvent {
  readonly block: SealedBlock;
  readonly certificate: CommitCertificate;
}

/** The node's events: each committed block, and a failure consensus cannot continue from. */
export type NodeEvents = EventEmitter<{ block: [CommittedBlockEvent]; fatal: [unknown] }>;

export interface BlockCommitterModules {
  ledger: Pick<Ledger, 'height' | 'executedFor' | 'validateBlock' | 'commit'> & {
    store: Pick<Ledger['store'], 'getHeightOfHash'>;
  };
  validationOptions: () => ValidationOptions;
  gate: BlockWorkGate;
  /** The in-memory views of committed state (nonces, admission verdicts): each block's writes. */
  caches: ReadonlyArray<Pick<CommitCache, 'onCommit'>>;
  mempool: Pick<Mempool, 'onCommit'>;
  waiters: Pick<TxWaiters, 'committed'>;
  metrics: Pick<NodeMetrics, 'time' | 'blockCommitted'>;
  events: NodeEvents;
  /** Block sync committed a height: consensus moves on to the next one. */
  onSynced: (height: number, certificate: CommitCertificate) => void;
  logger: Logger;
}

export class BlockCommitter {
  private readonly m: BlockCommitterModules;
  private queue: Promise<void> = Promise.resolve();
  private lastCommit = Date.now();

  constructor(modules: BlockCommitterModules) {
    this.m = modules;
  }

  /** When the last block committed (ms since the epoch; start-up time before the first). */
  get lastCommitAt(): number {
    return this.lastCommit;
  }

  /**
   * Commits a final block: ledger first (durable), then mempool, waiters and listeners.
   * `executed`, when the caller validated the block itself, is its result.
   */
  commit(
    block: SealedBlock,
    certificate: CommitCertificate,
    executed?: ExecutedBlock,
  ): Promise<void> {
    // One commit at a time, in arrival order, so the idempotence check below cannot race.
    const run = this.queue.then(() =>
      this.m.gate.run(() => this.commitOne(block, certificate, executed)),
    );
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * Commits a block block sync fetched, after the sync pipeline checked its certificate and
   * validated it (node.ts builds the pipeline with this as its commit step).
   */
  async commitSynced(
    block: SealedBlock,
    certificate: CommitCertificate,
    executed: ExecutedBlock,
  ): Promise<void> {
    await this.commit(block, certificate, executed);
    this.m.onSynced(block.header.height, certificate);
  }

  /** Resolves once the commits queued now are done (for shutdown). */
  drain(): Promise<void> {
    return this.queue;
  }

  private async commitOne(
    block: SealedBlock,
    certificate: CommitCertificate,
    validated: ExecutedBlock | undefined,
  ): Promise<void> {
    const { ledger, metrics } = this.m;
    // Consensus and block sync can both deliver a height; the second delivery of the same
    // block is a no-op. A different block at a committed height would be a fork: refuse.
    const height = block.header.height;
    if (height <= ledger.height) {
      const stored = await ledger.store.getHeightOfHash(block.hash);
      if (stored === height) return;
      throw new CivitasError(
        'NODE_CONFLICTING_COMMIT',
        `a different block is already committed at height ${height}`,
      );
    }
    const executed =
      validated ??
      ledger.executedFor(block) ??
      (await ledger.validateBlock(block, this.m.validationOptions()));
    await metrics.time('block_commit', () => ledger.commit(block, certificate, executed));
    for (const cache of this.m.caches) cache.onCommit(block, executed);
    this.lastCommit = Date.now();
    metrics.blockCommitted(block, this.lastCommit);
    await this.m.mempool.onCommit(block.txs, block.txHashes);
    this.m.waiters.committed(block.txHashes, height);
    this.m.logger.info('committed block', {
      height,
      txs: block.txs.length,
      hash: toHex(block.hash).slice(0, 16),
    });
    this.m.events.emit('block', { block, certificate });
  }
}
