/**
 * Block headers. The block hash is the hash of the header, which commits to everything
 * else: the txs (txRoot), their outcomes (receiptRoot), the state after them (stateRoot),
 * the set of validators that signs this block's certificate (validatorSetHash) and the set
 * that signs the next one (nextValidatorSetHash: a change executed here takes effect at the
 * next height, so this block's certificate also certifies the next set), and the
 * certificate that committed the parent (lastCommitHash), as in CometBFT's LastCommit.
 *
 * Encoding (v2): u8 version | string chainId | varuint height | 32 parentHash |
 *   varuint timestamp (ms since epoch) | 32 proposer | 32 txRoot | 32 receiptRoot |
 *   32 stateRoot | 32 validatorSetHash | 32 nextValidatorSetHash | 32 lastCommitHash
 * In v2 the timestamp is not the proposer's to choose: it is the median vote time of the
 * certificate the block carries (block-time.ts), and validation recomputes it. v1 (the same
 * layout without nextValidatorSetHash, a proposer-chosen time) is still decoded, for old data; `version: 1` marks such a
 * header so it re-encodes to the bytes it was read from.
 */

import { decode, type Reader } from '../codec/reader.ts';
import { encode, type Writer } from '../codec/writer.ts';
import { PUBLIC_KEY_LENGTH } from '../crypto/ed25519.ts';
import { DomainTag, HASH_LENGTH, taggedHash } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import { Limits } from './limits.ts';

export const HEADER_VERSION = 2;

export interface Header {
  /** Absent: the current version. 1 only on headers decoded from v1 bytes. */
  readonly version?: number;
  readonly chainId: string;
  readonly height: number;
  readonly parentHash: Uint8Array;
  readonly timestamp: number;
  readonly proposer: Uint8Array;
  readonly txRoot: Uint8Array;
  readonly receiptRoot: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly validatorSetHash: Uint8Array;
  /** The set in force at height + 1, after this block's changes (v1: absent, read as zeros). */
  readonly nextValidatorSetHash: Uint8Array;
  readonly lastCommitHash: Uint8Array;
}

export function writeHeader(w: Writer, h: Header): void {
  const v1 = h.version === 1;
  w.u8(v1 ? 1 : HEADER_VERSION)
    .string(h.chainId)
    .varuint(h.height)
    .fixed(h.parentHash, HASH_LENGTH)
    .varuint(h.timestamp)
    .fixed(h.proposer, PUBLIC_KEY_LENGTH)
    .fixed(h.txRoot, HASH_LENGTH)
    .fixed(h.receiptRoot, HASH_LENGTH)
    .fixed(h.stateRoot, HASH_LENGTH)
    .fixed(h.validatorSetHash, HASH_LENGTH);
  if (!v1) w.fixed(h.nextValidatorSetHash, HASH_LENGTH);
  w.fixed(h.lastCommitHash, HASH_LENGTH);
}

export function readHeader(r: Reader): Header {
  const version = r.u8();
  if (version !== 1 && version !== HEADER_VERSION) {
    throw new CivitasError('CODEC_BAD_VERSION', `header: unknown version ${version}`, { version });
  }
  const chainId = r.string(Limits.chainIdBytes);
  const height = r.varuint();
  const parentHash = r.fixed(HASH_LENGTH);
  const timestamp = r.varuint();
  const proposer = r.fixed(PUBLIC_KEY_LENGTH);
  const txRoot = r.fixed(HASH_LENGTH);
  const receiptRoot = r.fixed(HASH_LENGTH);
  const stateRoot = r.fixed(HASH_LENGTH);
  const validatorSetHash = r.fixed(HASH_LENGTH);
  const nextValidatorSetHash = version === 1 ? new Uint8Array(HASH_LENGTH) : r.fixed(HASH_LENGTH);
  const lastCommitHash = r.fixed(HASH_LENGTH);
  return {
    ...(version === 1 ? { version } : {}),
    chainId,
    height,
    parentHash,
    timestamp,
    proposer,
    txRoot,
    receiptRoot,
    stateRoot,
    validatorSetHash,
    nextValidatorSetHash,
    lastCommitHash,
  };
}

export function encodeHeader(h: Header): Uint8Array {
  return encode((w) => writeHeader(w, h), 352);
}

export function decodeHeader(bytes: Uint8Array): Header {
  return decode(bytes, readHeader);
}

/** The block hash. */
export function headerHash(h: Header): Uint8Array {
  return taggedHash(DomainTag.header, encodeHeader(h));
}
