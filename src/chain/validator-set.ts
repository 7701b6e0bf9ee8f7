/**
 * The validator set: an ordered list of ed25519 public keys with equal voting power. Order
 * matters (primary of view v is validators[v mod n], certificates name signers by index), so
 * the set's hash commits to the order and every header names the hash of the set that signs
 * its successor's certificate.
 */

import { encode } from '../codec/writer.ts';
import { toHex } from '../crypto/bytes.ts';
import { PUBLIC_KEY_LENGTH } from '../crypto/ed25519.ts';
import { DomainTag, taggedHash } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import { Limits } from './limits.ts';

export interface ValidatorSet {
  readonly validators: readonly Uint8Array[];
  readonly hash: Uint8Array;
  /** f = ⌊(n−1)/3⌋: the number of Byzantine validators tolerated. */
  readonly maxFaulty: number;
  /** ⌊2n/3⌋+1: the size of a commit quorum (= 2f+1 when n = 3f+1). */
  readonly quorum: number;
  indexOf(publicKey: Uint8Array): number;
}

export function makeValidatorSet(validators: readonly Uint8Array[]): ValidatorSet {
  if (validators.length === 0 || validators.length > Limits.validators) {
    throw new CivitasError(
      'VALIDATORS_BAD_SIZE',
      `a validator set has 1..${Limits.validators} members, got ${validators.length}`,
    );
  }
  const index = new Map<string, number>();
  validators.forEach((v, i) => {
    if (v.length !== PUBLIC_KEY_LENGTH) {
      throw new CivitasError('VALIDATORS_BAD_KEY', `validator ${i} key is not 32 bytes`);
    }
    const hex = toHex(v);
    if (index.has(hex)) {
      throw new CivitasError('VALIDATORS_DUPLICATE', `validator ${hex} listed twice`);
    }
    index.set(hex, i);
  });
  const n = validators.length;
  const hash = taggedHash(
    DomainTag.validatorSet,
    encode((w) => w.list(validators, (ww, v) => ww.fixed(v, PUBLIC_KEY_LENGTH))),
  );
  return Object.freeze({
    validators: Object.freeze([...validators]),
    hash,
    maxFaulty: Math.floor((n - 1) / 3),
    quorum: Math.floor((2 * n) / 3) + 1,
    indexOf: (publicKey: Uint8Array) => index.get(toHex(publicKey)) ?? -1,
  });
}
