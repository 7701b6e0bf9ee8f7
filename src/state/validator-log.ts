/**
 * The validator-set change log: which set signs each height. Genesis names the set of height
 * 1; a block whose execution changes the set (src/app/validators) names the new one in its
 * header's nextValidatorSetHash, and the set takes effect at the next height. The ledger
 * persists each change with the block that made it (one batch), so `at(h)` answers for every
 * height from the log alone: a past set is never recomputed from old state.
 *
 * Encoding of a change (the store's meta bucket, key `vset/` ‖ 8-byte height): u8 version 1 |
 * list of 32-byte validator keys, in set order.
 */
import { makeValidatorSet, type ValidatorSet } from '../chain/validator-set.ts';
import { decode, expectVersion } from '../codec/reader.ts';
import { encode } from '../codec/writer.ts';
import { PUBLIC_KEY_LENGTH } from '../crypto/ed25519.ts';
import { CivitasError } from '../errors/index.ts';

export interface ValidatorChange {
  /** The first height the set signs. */
  readonly fromHeight: number;
  readonly set: ValidatorSet;
}

export function encodeValidatorKeys(set: ValidatorSet): Uint8Array {
  return encode((w) => {
    w.u8(1).list(set.validators, (ww, k) => ww.fixed(k, PUBLIC_KEY_LENGTH));
  });
}

export function decodeValidatorKeys(bytes: Uint8Array): ValidatorSet {
  return makeValidatorSet(
    decode(bytes, (r) => {
      expectVersion(r, 1, 'validator set');
      return r.list(1_024, (rr) => rr.fixed(PUBLIC_KEY_LENGTH));
    }),
  );
}

export class ValidatorLog {
  /** Sorted by fromHeight; the first is genesis's (from height 1). */
  private readonly entries: ValidatorChange[];

  constructor(genesis: ValidatorSet, changes: readonly ValidatorChange[] = []) {
    this.entries = [{ fromHeight: 1, set: genesis }];
    for (const c of [...changes].sort((a, b) => a.fromHeight - b.fromHeight)) this.add(c);
  }

  /**
   * The set that signs `height`. For a height above the next one this is only the latest
   * known set: a change may still come (callers judging a block ask for at most tip + 1).
   */
  at(height: number): ValidatorSet {
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.entries[mid]!.fromHeight <= height) lo = mid;
      else hi = mid - 1;
    }
    return this.entries[lo]!.set;
  }

  /** Every change after genesis, oldest first. */
  changes(): readonly ValidatorChange[] {
    return this.entries.slice(1);
  }

  /** Rule: changes come in height order, one per height, each a different set. */
  add(change: ValidatorChange): void {
    const last = this.entries.at(-1)!;
    if (change.fromHeight <= last.fromHeight) {
      throw new CivitasError(
        'LEDGER_CORRUPT',
        `validator change at ${change.fromHeight} is not after the one at ${last.fromHeight}`,
      );
    }
    this.entries.push(change);
  }
}
