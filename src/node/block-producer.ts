/**
 * The node's side of consensus (ConsensusApp): builds a proposal from the mempool when a
 * block is worth proposing, validates a peer's proposal, and hands certified blocks to the
 * commit path. Consensus work is tracked so shutdown can let it finish before the database
 * closes.
 */
import type { CommitCertificate, SealedBlock } from '../chain/index.ts';
import { codeOf } from '../errors/index.ts';
import type { Ledger } from '../state/ledger.ts';
import type { BlockCommitter } from './block-committer.ts';
import type { BlockSizer } from './block-sizer.ts';
import type { BlockWorkGate } from './block-work-gate.ts';
import type { ConsensusApp } from './consensus-service.ts';
import type { Logger } from './logger.ts';
import type { Mempool } from './mempool.ts';
import type { NodeMetrics } from './metrics.ts';
import type { ValidationOptions } from './verification.ts';

/** How often a primary waiting to propose looks at the mempool again. */
const WAIT_POLL_MS = 5;

export interface BlockProducerOptions {
  proposer: Uint8Array;
  maxBlockBytes: number;
  /** Minimum time from a commit to the next proposal while the block would be partial. */
  blockIntervalMs: number;
  emptyBlockIntervalMs: number;
  timeoutMs: number;
  /**
   * Whether to wait for txs before building (several validators), asked per block: a solo
   * validator's own timer already spaces its blocks, so it builds at once — until the set
   * grows and PBFT asks for the blocks.
   */
  waitForTxs: () => boolean;
}

export interface BlockProducerModules {
  ledger: Pick<Ledger, 'height' | 'tip' | 'buildBlock' | 'validateBlock'>;
  mempool: Pick<Mempool, 'readyCount' | 'reap'>;
  blockSizer: BlockSizer;
  gate: BlockWorkGate;
  committer: Pick<BlockCommitter, 'commit' | 'lastCommitAt'>;
  validationOptions: () => ValidationOptions;
  metrics: Pick<NodeMetrics, 'time'>;
  logger: Logger;
}

export class BlockProducer implements ConsensusApp {
  private readonly opts: BlockProducerOptions;
  private readonly m: BlockProducerModules;
  private readonly pendingWork = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(opts: BlockProducerOptions, modules: BlockProducerModules) {
    this.opts = opts;
    this.m = modules;
  }

  height(): number {
    return this.m.ledger.height;
  }

  lastCertificate(): CommitCertificate | null {
    return this.m.ledger.tip.certificate;
  }

  /** Only ready txs count: a tx queued behind a nonce gap cannot go in a block. */
  hasPendingTxs(): boolean {
    return this.m.mempool.readyCount > 0;
  }

  buildProposal(_height: number, view: number): Promise<SealedBlock> {
    return this.inFlight(this.build(view));
  }

  validateProposal(block: SealedBlock): Promise<boolean> {
    return this.inFlight(this.m.gate.run(() => this.validate(block)));
  }

  async commit(block: SealedBlock, certificate: CommitCertificate): Promise<void> {
    await this.m.committer.commit(block, certificate);
    const proposalToCommitMs = Date.now() - block.header.timestamp;
    this.m.blockSizer.observe(block.txs.length, proposalToCommitMs, certificate.view);
  }

  /** Stops waiting for txs and resolves once the consensus work started so far is done. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.pendingWork]);
  }

  /**
   * In view 0 an idle primary waits for txs up to emptyBlockIntervalMs after the last commit
   * (0: until txs come), which the others' view timers allow for (the engine's
   * emptyBlockIntervalMs). After a view change nothing is allowed for: the new primary proposes
   * within half its timeout, txs or not.
   */
  private async build(view: number): Promise<SealedBlock> {
    if (this.opts.waitForTxs()) {
      const { emptyBlockIntervalMs, timeoutMs } = this.opts;
      const lastCommitAt = this.m.committer.lastCommitAt;
      const idleUntil =
        view > 0
          ? Date.now() + timeoutMs / 2
          : emptyBlockIntervalMs === 0
            ? Number.POSITIVE_INFINITY
            : Math.max(lastCommitAt, Date.now() - emptyBlockIntervalMs) + emptyBlockIntervalMs;
      await this.waitForTxs(idleUntil);
    }
    const { ledger, mempool, metrics } = this.m;
    const { block } = await this.m.gate.run(async () => {
      const entries = await mempool.reap(this.m.blockSizer.maxTxs, this.opts.maxBlockBytes);
      return metrics.time('proposal_build', () =>
        ledger.buildBlock({
          txs: entries.map((e) => e.tx),
          proposer: this.opts.proposer,
          lastCommit: ledger.tip.certificate,
        }),
      );
    });
    return block;
  }

  /**
   * Resolves when a block is worth proposing: at once when a full block (the sizer's cap) is
   * waiting, when some txs wait and the minimum block spacing since the last commit has
   * passed, or (empty block) at `idleUntil`. The spacing batches txs at low rates; under load
   * it would only delay full blocks.
   */
  private async waitForTxs(idleUntil: number): Promise<void> {
    const fullBlock = this.m.blockSizer.maxTxs;
    const spacingEnd = this.m.committer.lastCommitAt + this.opts.blockIntervalMs;
    const deadline = Math.max(spacingEnd, idleUntil);
    while (!this.stopping) {
      const waiting = this.m.mempool.readyCount;
      const now = Date.now();
      if (waiting >= fullBlock || (waiting > 0 && now >= spacingEnd) || now >= deadline) return;
      const until = waiting > 0 ? spacingEnd : deadline;
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(WAIT_POLL_MS, until - now))));
    }
  }

  private async validate(block: SealedBlock): Promise<boolean> {
    try {
      await this.m.metrics.time('proposal_validate', () =>
        this.m.ledger.validateBlock(block, this.m.validationOptions()),
      );
      return true;
    } catch (err) {
      this.m.logger.warn('invalid proposal', {
        height: block.header.height,
        code: codeOf(err),
        err: (err as Error).message,
      });
      return false;
    }
  }

  /** Tracks consensus work so stop() can let it finish before the database closes. */
  private inFlight<T>(work: Promise<T>): Promise<T> {
    this.pendingWork.add(work);
    void work.then(
      () => this.pendingWork.delete(work),
      () => this.pendingWork.delete(work),
    );
    return work;
  }
}
