/**
 * The engine's inputs (events) and outputs (actions). The engine is a pure function of the
 * sequence of events it is given: same events, same actions, byte for byte.
 */

import type { SealedBlock } from '../chain/block.ts';
import type { CommitCertificate } from '../chain/certificate.ts';
import type { Evidence } from './evidence.ts';
import type { ConsensusMessage } from './messages.ts';
import type { WalEntry } from './wal.ts';

export type TimerKind = 'view' | 'retransmit';

/**
 * The message and WAL entry types are parameters so a second protocol (src/consensus/hotstuff)
 * runs on the same events and actions; PBFT's are the defaults.
 */
export type ConsensusEvent<M = ConsensusMessage, W = WalEntry> =
  /** (Re)start at `height` (the next height to decide) after replaying the WAL. */
  | {
      readonly type: 'start';
      readonly height: number;
      /** Certificate of height − 1 (null at height 1). */
      readonly lastCommit: CommitCertificate | null;
      readonly wal: readonly W[];
    }
  /** A message from the network: raw bytes (decoded strictly here) or already decoded. */
  | { readonly type: 'message'; readonly bytes: Uint8Array }
  | { readonly type: 'message'; readonly message: M }
  | {
      readonly type: 'timer';
      readonly kind: TimerKind;
      readonly height: number;
      readonly view: number;
    }
  /** The node built the block asked for by a build-proposal action. */
  | {
      readonly type: 'proposal-built';
      readonly height: number;
      readonly view: number;
      readonly block: SealedBlock;
    }
  /** The node validated and executed a block asked for by a validate-proposal action. */
  | {
      readonly type: 'proposal-validated';
      readonly height: number;
      readonly blockHash: Uint8Array;
      readonly valid: boolean;
    }
  /**
   * Whether the node holds txs ready for a block (reported on change). While none are, an
   * idle view 0 waits longer for its proposal (EngineConfig.emptyBlockIntervalMs).
   */
  | { readonly type: 'txs'; readonly pending: boolean }
  /** The node committed `height` by block sync (certificate checked, block re-executed). */
  | { readonly type: 'synced'; readonly height: number; readonly certificate: CommitCertificate };

export type ConsensusAction<M = ConsensusMessage, W = WalEntry> =
  | { readonly type: 'broadcast'; readonly message: M; readonly bytes: Uint8Array }
  /** To one validator, named by its key (HotStuff's votes to the leader; PBFT never sends one). */
  | {
      readonly type: 'send';
      readonly to: Uint8Array;
      readonly message: M;
      readonly bytes: Uint8Array;
    }
  /** Must be durable before any later action of the same step that sends a message. */
  | { readonly type: 'persist'; readonly entry: W }
  /** Replaces the pending timer of the same kind. */
  | {
      readonly type: 'set-timer';
      readonly kind: TimerKind;
      readonly height: number;
      readonly view: number;
      readonly ms: number;
    }
  /** Cancels the pending timer of this kind (an idle view with no empty blocks to wait for). */
  | { readonly type: 'clear-timer'; readonly kind: TimerKind }
  | {
      readonly type: 'build-proposal';
      readonly height: number;
      readonly view: number;
      readonly lastCommit: CommitCertificate | null;
    }
  | { readonly type: 'validate-proposal'; readonly height: number; readonly block: SealedBlock }
  /** Durable before any later action of the same step (the next height builds on it). */
  | {
      readonly type: 'commit';
      readonly block: SealedBlock;
      readonly certificate: CommitCertificate;
    }
  | { readonly type: 'evidence'; readonly evidence: Evidence }
  /** A checked certificate shows `targetHeight` is committed and this node lacks it. */
  | { readonly type: 'need-sync'; readonly targetHeight: number }
  | {
      readonly type: 'reject';
      readonly reason: RejectReason;
      /** The validator the message claims to come from, if it got that far. */
      readonly validatorIndex: number | null;
      readonly detail: string;
    };

/**
 * Why a message was dropped. `duplicate`, `stale-height` and `stale-view` are normal on an
 * asynchronous network and are only counted; the others are returned as reject actions so
 * the node can score the peer that relayed the message.
 */
export const REJECT_REASONS = [
  'malformed',
  'duplicate',
  'stale-height',
  'stale-view',
  'future-height',
  'future-view',
  'unknown-validator',
  'not-primary',
  'bad-signature',
  'bad-block',
  'bad-certificate',
  'bad-view-change',
  'bad-new-view',
  'conflicting',
  'cap-exceeded',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** What a validity check found wrong with a message: the reason is decided where the check fails. */
export interface Problem {
  readonly reason: RejectReason;
  readonly detail: string;
}

export const BENIGN_REJECTS: ReadonlySet<RejectReason> = new Set([
  'duplicate',
  'stale-height',
  'stale-view',
]);
