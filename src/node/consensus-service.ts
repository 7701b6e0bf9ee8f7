/** What the node needs from a consensus implementation, and what it offers one. */
import type { CommitCertificate, SealedBlock } from '../chain/index.ts';

export interface ConsensusStatus {
  engine: 'solo' | 'pbft' | 'hotstuff';
  view: number;
  /** Index of the current primary in the validator set. */
  primary: number;
  viewChanges: number;
}

export interface ConsensusService {
  start(): void | Promise<void>;
  stop(): Promise<void>;
  status(): ConsensusStatus;
  /** A hint that the mempool has txs waiting. */
  onTxsAvailable(): void;
  /** Block sync committed `height`; consensus moves on to the next height. */
  onBlockSynced(height: number, certificate: CommitCertificate): void;
}

/** The node's side: build, validate and commit blocks on the ledger. */
export interface ConsensusApp {
  height(): number;
  /** The certificate of the committed tip (null at genesis). */
  lastCertificate(): CommitCertificate | null;
  hasPendingTxs(): boolean;
  buildProposal(height: number, view: number): Promise<SealedBlock>;
  validateProposal(block: SealedBlock): Promise<boolean>;
  commit(block: SealedBlock, certificate: CommitCertificate): Promise<void>;
}
