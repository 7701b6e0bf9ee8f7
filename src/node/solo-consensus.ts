/**
 * Consensus for a chain with exactly one validator: the validator's own COMMIT vote is a
 * quorum (⌊2·1/3⌋+1 = 1), so it proposes, signs the certificate and commits. It drives the
 * same ConsensusApp callbacks as the PBFT driver, which replaces it whenever n > 1 — from the
 * start, or from the height a validators.add takes effect (the node's leaveSolo); it never
 * decides a height whose set is more than this validator.
 */

import { type CommitCertificate, commitVoteTime, voteSigningHash } from '../chain/index.ts';
import { sign } from '../crypto/ed25519.ts';
import type { ConsensusApp, ConsensusService, ConsensusStatus } from './consensus-service.ts';
import type { Logger } from './logger.ts';

export interface SoloOptions {
  chainId: string;
  secretKey: Uint8Array;
  blockIntervalMs: number;
  emptyBlockIntervalMs: number;
  /** The node's clock (ms since epoch): times the validator's COMMIT vote. */
  now: () => number;
  /** Whether this validator alone is the set of `height` (after a set change it is not). */
  decidesAlone: (height: number) => boolean;
}

export class SoloConsensus implements ConsensusService {
  private readonly opts: SoloOptions;
  private readonly app: ConsensusApp;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private lastBlockAt = Date.now();
  private producing: Promise<void> = Promise.resolve();

  constructor(opts: SoloOptions, deps: { app: ConsensusApp; logger: Logger }) {
    this.opts = opts;
    this.app = deps.app;
    this.log = deps.logger;
  }

  start(): void {
    this.running = true;
    this.schedule(this.opts.blockIntervalMs);
  }

  /** Called when txs arrive, so a block follows after at most blockIntervalMs. */
  onTxsAvailable(): void {}

  /** A solo validator is the only source of blocks; there is nothing to sync from. */
  onBlockSynced(): void {}

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.producing = this.tick().catch((err) => {
        this.log.error('block production failed', { err });
      });
      void this.producing.then(() => this.schedule(this.opts.blockIntervalMs));
    }, ms);
  }

  private async tick(): Promise<void> {
    const idleFor = Date.now() - this.lastBlockAt;
    const emptyDue =
      this.opts.emptyBlockIntervalMs > 0 && idleFor >= this.opts.emptyBlockIntervalMs;
    if (!this.app.hasPendingTxs() && !emptyDue) return;
    const height = this.app.height() + 1;
    // Rule: a one-signature certificate is a quorum only of a one-validator set.
    if (!this.opts.decidesAlone(height)) return;
    const block = await this.app.buildProposal(height, 0);
    const timestamp = commitVoteTime(this.opts.now(), block.header.timestamp);
    const signature = sign(
      voteSigningHash('commit', this.opts.chainId, height, 0, block.hash, timestamp),
      this.opts.secretKey,
    );
    const certificate: CommitCertificate = {
      height,
      view: 0,
      blockHash: block.hash,
      signatures: [{ validatorIndex: 0, signature, timestamp }],
    };
    await this.app.commit(block, certificate);
    this.lastBlockAt = Date.now();
  }

  status(): ConsensusStatus {
    return { engine: 'solo', view: 0, primary: 0, viewChanges: 0 };
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.producing;
  }
}
