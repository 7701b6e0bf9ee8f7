/**
 * Commit certificates: 2f+1 COMMIT signatures on (height, view, block hash, vote time) from
 * distinct validators of the set in force at that height. A certificate is what makes a
 * block final, what block sync checks before accepting a block from a peer, and what a light
 * client checks before trusting a header. The vote times it carries set the next block's
 * time (block-time.ts).
 *
 * Encoding (v2): u8 version | varuint height | varuint view | 32 blockHash |
 *   list of (u16 validatorIndex | varuint timestamp | 64 signature), indexes strictly increasing
 * Encoding (v1, decoded for old data): the same without the timestamps; its signatures are
 *   untimed COMMITs (vote.ts) and its `timestamp`s read as 0.
 */

import { decode, type Reader } from '../codec/reader.ts';
import { encode, type Writer } from '../codec/writer.ts';
import { equalBytes } from '../crypto/bytes.ts';
import { SIGNATURE_LENGTH } from '../crypto/ed25519.ts';
import { DomainTag, HASH_LENGTH, taggedHash } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import { Limits } from './limits.ts';
import type { ValidatorSet } from './validator-set.ts';
import { voteSigningHash } from './vote.ts';

export const CERTIFICATE_VERSION = 2;

export interface CommitSignature {
  readonly validatorIndex: number;
  readonly signature: Uint8Array;
  /** The voter's signed clock reading, ms since epoch (0 in a v1 certificate). */
  readonly timestamp: number;
}

export interface CommitCertificate {
  /** Absent: the current version. 1 only on certificates decoded from v1 bytes. */
  readonly version?: number;
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

function isV1(c: CommitCertificate): boolean {
  return c.version === 1;
}

export function writeCertificate(w: Writer, c: CommitCertificate): void {
  const v1 = isV1(c);
  w.u8(v1 ? 1 : CERTIFICATE_VERSION)
    .varuint(c.height)
    .varuint(c.view)
    .fixed(c.blockHash, HASH_LENGTH)
    .list(c.signatures, (ww, s) => {
      ww.u16(s.validatorIndex);
      if (!v1) ww.varuint(s.timestamp);
      ww.fixed(s.signature, SIGNATURE_LENGTH);
    });
}

export function readCertificate(r: Reader): CommitCertificate {
  const version = r.u8();
  if (version !== 1 && version !== CERTIFICATE_VERSION) {
    throw new CivitasError('CODEC_BAD_VERSION', `certificate: unknown version ${version}`, {
      version,
    });
  }
  const v1 = version === 1;
  const height = r.varuint();
  const view = r.varuint();
  const blockHash = r.fixed(HASH_LENGTH);
  const signatures = r.list(Limits.validators, (rr) => ({
    validatorIndex: rr.u16(),
    timestamp: v1 ? 0 : rr.varuint(),
    signature: rr.fixed(SIGNATURE_LENGTH),
  }));
  // One encoding per certificate: signers sorted, no repeats.
  for (let i = 1; i < signatures.length; i++) {
    if (signatures[i]!.validatorIndex <= signatures[i - 1]!.validatorIndex) {
      throw new CivitasError('CODEC_BAD_ORDER', 'certificate signers must be strictly increasing');
    }
  }
  return v1
    ? { version, height, view, blockHash, signatures }
    : { height, view, blockHash, signatures };
}

export function encodeCertificate(c: CommitCertificate): Uint8Array {
  return encode((w) => writeCertificate(w, c), 64 + c.signatures.length * 74);
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
  const v1 = isV1(c);
  const untimed = v1
    ? voteSigningHash('commit', expect.chainId, c.height, c.view, c.blockHash)
    : null;
  for (const s of c.signatures) {
    if (s.validatorIndex <= previous || s.validatorIndex >= validators.length) {
      throw new CivitasError('CERT_BAD_SIGNER', `bad or repeated signer index ${s.validatorIndex}`);
    }
    previous = s.validatorIndex;
    // Rule: every signature is a valid COMMIT vote by that validator, its time included
    // (signatures last).
    const message =
      untimed ??
      voteSigningHash('commit', expect.chainId, c.height, c.view, c.blockHash, s.timestamp);
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
