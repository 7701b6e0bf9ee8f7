/**
 * PREPARE or COMMIT votes at one height, by view and block. Bounded by construction: a
 * validator holds at most two votes per view (its first, and one conflicting vote that is
 * kept as evidence and still counted, since quorum intersection is what makes counting safe),
 * and the engine prunes views outside its window.
 */

import type { CommitSignature } from '../chain/certificate.ts';
import { toHex } from '../crypto/bytes.ts';

export type VoteStatus = 'new' | 'duplicate' | 'conflict' | 'cap-exceeded';

export interface RecordedVote {
  readonly blockHash: Uint8Array;
  readonly signature: Uint8Array;
  readonly timestamp: number;
}

/** A counted vote: its signature and the time it signs (COMMITs; 0 for PREPAREs). */
interface Signed {
  readonly signature: Uint8Array;
  readonly timestamp: number;
}

export class VoteTally {
  /** view → block hash hex → validator → signed vote. */
  private readonly byView = new Map<number, Map<string, Map<number, Signed>>>();
  /** view → validator → the votes it cast in that view (≤ 2). */
  private readonly byValidator = new Map<number, Map<number, RecordedVote[]>>();
  private count = 0;

  static readonly MAX_VOTES_PER_VALIDATOR_VIEW = 2;

  get size(): number {
    return this.count;
  }

  /** Cheap pre-check (no signature needed) of what recording this vote would mean. */
  status(view: number, validator: number, blockHash: Uint8Array): VoteStatus {
    const votes = this.byValidator.get(view)?.get(validator);
    if (votes === undefined || votes.length === 0) return 'new';
    const hex = toHex(blockHash);
    if (votes.some((v) => toHex(v.blockHash) === hex)) return 'duplicate';
    return votes.length >= VoteTally.MAX_VOTES_PER_VALIDATOR_VIEW ? 'cap-exceeded' : 'conflict';
  }

  /** The validator's first vote in `view`, if any. */
  first(view: number, validator: number): RecordedVote | undefined {
    return this.byValidator.get(view)?.get(validator)?.[0];
  }

  /** Records a vote whose signature was checked; call only after status() said new/conflict. */
  add(
    view: number,
    validator: number,
    blockHash: Uint8Array,
    signature: Uint8Array,
    timestamp: number,
  ): void {
    let validators = this.byValidator.get(view);
    if (validators === undefined) {
      validators = new Map();
      this.byValidator.set(view, validators);
    }
    let votes = validators.get(validator);
    if (votes === undefined) {
      votes = [];
      validators.set(validator, votes);
    }
    votes.push({ blockHash, signature, timestamp });
    let blocks = this.byView.get(view);
    if (blocks === undefined) {
      blocks = new Map();
      this.byView.set(view, blocks);
    }
    const hex = toHex(blockHash);
    let signers = blocks.get(hex);
    if (signers === undefined) {
      signers = new Map();
      blocks.set(hex, signers);
    }
    signers.set(validator, { signature, timestamp });
    this.count++;
  }

  /** Signers of `blockHash` in `view`, sorted by validator index. */
  signers(view: number, blockHash: Uint8Array): CommitSignature[] {
    const signers = this.byView.get(view)?.get(toHex(blockHash));
    if (signers === undefined) return [];
    return [...signers.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([validatorIndex, { signature, timestamp }]) => ({
        validatorIndex,
        signature,
        timestamp,
      }));
  }

  signerCount(view: number, blockHash: Uint8Array): number {
    return this.byView.get(view)?.get(toHex(blockHash))?.size ?? 0;
  }

  /** Drops every view outside [low, high]. */
  retain(low: number, high: number): void {
    for (const view of [...this.byValidator.keys()]) {
      if (view >= low && view <= high) continue;
      for (const votes of this.byValidator.get(view)!.values()) this.count -= votes.length;
      this.byValidator.delete(view);
      this.byView.delete(view);
    }
  }
}
