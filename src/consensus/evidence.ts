/**
 * Evidence: two messages signed by one validator for the same kind, height and view that
 * endorse different blocks. Each half carries only (blockHash, signature, and a COMMIT's signed
 * time): with the kind, height and view that is enough for anyone to re-check both signatures.
 */

import type { ValidatorSet } from '../chain/validator-set.ts';
import { voteSigningHash } from '../chain/vote.ts';
import { equalBytes } from '../crypto/bytes.ts';
import { prePrepareSigningHash } from './messages.ts';

export type EvidenceKind = 'pre-prepare' | 'prepare' | 'commit';

export interface SignedDigest {
  readonly blockHash: Uint8Array;
  readonly signature: Uint8Array;
  /** The vote time a COMMIT signs; 0 for the other kinds. */
  readonly timestamp: number;
}

export interface Evidence {
  readonly kind: EvidenceKind;
  readonly height: number;
  readonly view: number;
  readonly validatorIndex: number;
  readonly first: SignedDigest;
  readonly second: SignedDigest;
}

function signingHash(chainId: string, e: Evidence, half: SignedDigest): Uint8Array {
  switch (e.kind) {
    case 'pre-prepare':
      return prePrepareSigningHash(chainId, e.height, e.view, half.blockHash);
    case 'prepare':
      return voteSigningHash('prepare', chainId, e.height, e.view, half.blockHash);
    case 'commit':
      return voteSigningHash('commit', chainId, e.height, e.view, half.blockHash, half.timestamp);
  }
}

/** True when both halves are valid signatures by the validator on different blocks. */
export function verifyEvidence(
  e: Evidence,
  chainId: string,
  validators: ValidatorSet,
  verify: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean,
): boolean {
  const key = validators.validators[e.validatorIndex];
  if (key === undefined || equalBytes(e.first.blockHash, e.second.blockHash)) return false;
  return (
    verify(e.first.signature, signingHash(chainId, e, e.first), key) &&
    verify(e.second.signature, signingHash(chainId, e, e.second), key)
  );
}

/** Keeps the first `capacity` distinct pieces of evidence per (kind, height, view, validator). */
export class EvidenceStore {
  private readonly capacity: number;
  private readonly records = new Map<string, Evidence>();

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Returns false for a repeat; drops the oldest record when full. */
  add(e: Evidence): boolean {
    const key = `${e.kind}:${e.height}:${e.view}:${e.validatorIndex}`;
    if (this.records.has(key)) return false;
    if (this.records.size >= this.capacity) {
      this.records.delete(this.records.keys().next().value!);
    }
    this.records.set(key, e);
    return true;
  }

  get size(): number {
    return this.records.size;
  }

  list(): Evidence[] {
    return [...this.records.values()];
  }
}
