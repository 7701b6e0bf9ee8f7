/**
 * Commit certificates: 2f+1 COMMIT signatures on (height, view, block hash) from distinct
 * validators of the set in force at that height. A certificate is what makes a block final,
 * what block sync checks before accepting a block from a peer, and what a light client
 * checks before trusting a header.
 *
 * Encoding (v1): u8 version | varuint height | varuint view | 32 blockHash |
 *   list of (u16 validatorIndex | 64 signature), indexes strictly increasing
 */

import { decode, expectVersion, type Reader } from '../codec/reader.ts';
import { encode, type Writer } from '../codec/writer.ts';
import { equalBytes } from '../crypto/bytes.ts';
import { SIGNATURE_LENGTH } from '../crypto/ed25519.ts';
import { DomainTag, HASH_LENGTH, taggedHash } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import { Limits } from './limits.ts';
import type { ValidatorSet } from './validator-set.ts';
import { voteSigningHash } from './vote.ts';

export const CERTIFICATE_VERSION = 1;

export interface CommitSignature {
  readonly validatorIndex: number;
  readonly signature: Uint8Array;
}

export interface CommitCertificate {
  readonly height: number;
  readonly view: number;
  readonly blockHash: Uint8Array;
  readonly signatures: readonly CommitSignature[];
}

/** A signature check, injected so callers choose the backend or a cached/batched verifier. */
export type SignatureCheck = (
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
) => boolean;

export function writeCertificate(w: Writer, c: CommitCertificate): void {
  w.u8(CERTIFICATE_VERSION)
    .varuint(c.height)
    .varuint(c.view)
    .fixed(c.blockHash, HASH_LENGTH)
    .list(c.signatures, (ww, s) => ww.u16(s.validatorIndex).fixed(s.signature, SIGNATURE_LENGTH));
}

export function readCertificate(r: Reader): CommitCertificate {
  expectVersion(r, CERTIFICATE_VERSION, 'certificate');
  const height = r.varuint();
  const view = r.varuint();
  const blockHash = r.fixed(HASH_LENGTH);
  const signatures = r.list(Limits.validators, (rr) => ({
    validatorIndex: rr.u16(),
    signature: rr.fixed(SIGNATURE_LENGTH),
  }));
  // One encoding per certificate: signers sorted, no repeats.
  for (let i = 1; i < signatures.length; i++) {
    if (signatures[i]!.validatorIndex <= signatures[i - 1]!.validatorIndex) {
      throw new CivitasError('CODEC_BAD_ORDER', 'certificate signers must be strictly increasing');
    }
  }
  return { height, view, blockHash, signatures };
}

export function encodeCertificate(c: CommitCertificate): Uint8Array {
  return encode((w) => writeCertificate(w, c), 64 + c.signatures.length * 66);
}

export function decodeCertificate(bytes: Uint8Array): CommitCertificate {
  return decode(bytes, readCertificate);
}

export function certificateHash(c: CommitCertificate): Uint8Array {
  return taggedHash(DomainTag.commitCertificate, encodeCertificate(c));
}

/**
 * Checks a certificate for block `blockHash` at `height` against the validator set in force
 * at that height. Throws a CERT_* error naming the rule that failed.
 */
export function verifyCertificate(
  c: CommitCertificate,
  expect: { chainId: string; height: number; blockHash: Uint8Array; validators: ValidatorSet },
  check: SignatureCheck,
): void {
  // Rule: the certificate is for this height and this block.
  if (c.height !== expect.height) {
    throw new CivitasError('CERT_WRONG_HEIGHT', `certificate is for height ${c.height}`, {
      expected: expect.height,
      actual: c.height,
    });
  }
  if (!equalBytes(c.blockHash, expect.blockHash)) {
    throw new CivitasError('CERT_WRONG_BLOCK', 'certificate signs a different block hash');
  }
  const { validators, quorum } = expect.validators;
  // Rule: at least a quorum (⌊2n/3⌋+1) of distinct validators signed (distinct and sorted
  // is enforced by the decoder; checked again for certificates built in memory).
  if (c.signatures.length < quorum) {
    throw new CivitasError(
      'CERT_NO_QUORUM',
      `certificate has ${c.signatures.length} signatures, quorum is ${quorum}`,
      { signatures: c.signatures.length, quorum },
    );
  }
  let previous = -1;
  const message = voteSigningHash('commit', expect.chainId, c.height, c.view, c.blockHash);
  for (const s of c.signatures) {
    if (s.validatorIndex <= previous || s.validatorIndex >= validators.length) {
      throw new CivitasError('CERT_BAD_SIGNER', `bad or repeated signer index ${s.validatorIndex}`);
    }
    previous = s.validatorIndex;
    // Rule: every signature is a valid COMMIT vote by that validator (signatures last).
    if (!check(s.signature, message, validators[s.validatorIndex]!)) {
      throw new CivitasError(
        'CERT_BAD_SIGNATURE',
        `invalid signature from validator ${s.validatorIndex}`,
        {
          validatorIndex: s.validatorIndex,
        },
      );
    }
  }
}
