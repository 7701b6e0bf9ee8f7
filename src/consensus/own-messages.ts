/**
 * The messages this replica signs, built in one place: the engine decides when to sign, and
 * remembers what it signed (Round.own) so that it re-sends those bytes, never alternatives.
 */

import type { SealedBlock } from '../chain/block.ts';
import type { CommitCertificate } from '../chain/certificate.ts';
import { voteSigningHash } from '../chain/vote.ts';
import {
  type NewView,
  newViewSigningHash,
  type PrePrepare,
  type PreparedCertificate,
  prePrepareSigningHash,
  type ViewChange,
  type Vote,
  viewChangeSigningHash,
} from './messages.ts';

/** Who signs, and where: this replica at the height being decided. */
export interface Signer {
  readonly chainId: string;
  readonly height: number;
  readonly validatorIndex: number;
  readonly sign: (message: Uint8Array) => Uint8Array;
}

// Stands in for the signature while the signed bytes (which exclude it) are computed.
const NO_SIGNATURE = new Uint8Array(64);

export function signPrePrepare(s: Signer, block: SealedBlock): PrePrepare {
  const signature = s.sign(prePrepareSigningHash(s.chainId, s.height, 0, block.hash));
  return {
    type: 'pre-prepare',
    height: s.height,
    view: 0,
    validatorIndex: s.validatorIndex,
    block,
    signature,
  };
}

/** `timestamp`: the time a COMMIT signs (block-time.ts); 0 for a PREPARE, which signs none. */
export function signVote(
  s: Signer,
  kind: 'prepare' | 'commit',
  view: number,
  blockHash: Uint8Array,
  timestamp: number,
): Vote {
  const time = kind === 'commit' ? timestamp : null;
  const hash = voteSigningHash(kind, s.chainId, s.height, view, blockHash, time);
  return {
    type: kind,
    height: s.height,
    view,
    blockHash,
    validatorIndex: s.validatorIndex,
    signature: s.sign(hash),
    timestamp: time ?? 0,
  };
}

export function signViewChange(
  s: Signer,
  view: number,
  lastCommit: CommitCertificate | null,
  prepared: { certificate: PreparedCertificate; block: SealedBlock } | null,
): ViewChange {
  const unsigned: ViewChange = {
    type: 'view-change',
    height: s.height,
    view,
    validatorIndex: s.validatorIndex,
    lastCommit,
    prepared: prepared?.certificate ?? null,
    signature: NO_SIGNATURE,
    preparedBlock: prepared?.block ?? null,
  };
  return { ...unsigned, signature: s.sign(viewChangeSigningHash(s.chainId, unsigned)) };
}

/** `viewChanges` as carried: sorted by validator, attachments stripped. */
export function signNewView(
  s: Signer,
  view: number,
  viewChanges: readonly ViewChange[],
  block: SealedBlock,
): NewView {
  const prePrepareSignature = s.sign(prePrepareSigningHash(s.chainId, s.height, view, block.hash));
  const unsigned: NewView = {
    type: 'new-view',
    height: s.height,
    view,
    validatorIndex: s.validatorIndex,
    viewChanges,
    blockHash: block.hash,
    prePrepareSignature,
    signature: NO_SIGNATURE,
    block,
  };
  return { ...unsigned, signature: s.sign(newViewSigningHash(s.chainId, unsigned)) };
}
