/**
 * Block headers. The block hash is the hash of the header, which commits to everything
 * else: the txs (txRoot), their outcomes (receiptRoot), the state after them (stateRoot),
 * the set of validators that must sign the next certificate (validatorSetHash), and the
 * certificate that committed the parent (lastCommitHash), as in CometBFT's LastCommit.
 *
 * Encoding (v2): u8 version | string chainId | varuint height | 32 parentHash |
 *   varuint timestamp (ms since epoch) | 32 proposer | 32 txRoot | 32 receiptRoot |
 *   32 stateRoot | 32 validatorSetHash | 32 lastCommitHash
 * In v2 the timestamp is not the proposer's to choose: it is the median vote time of the
 * certificate the block carries (block-time.ts), and validation recomputes it. v1 (the same
 * layout, a proposer-chosen time) is still decoded, for old data; `version: 1` marks such a
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
  readonly lastCommitHash: Uint8Array;
}

export function writeHeader(w: Writer, h: Header): void {
  w.u8(h.version === 1 ? 1 : HEADER_VERSION)
    .string(h.chainId)
    .varuint(h.height)
    .fixed(h.parentHash, HASH_LENGTH)
    .varuint(h.timestamp)
    .fixed(h.proposer, PUBLIC_KEY_LENGTH)
    .fixed(h.txRoot, HASH_LENGTH)
    .fixed(h.receiptRoot, HASH_LENGTH)
    .fixed(h.stateRoot, HASH_LENGTH)
    .fixed(h.validatorSetHash, HASH_LENGTH)
    .fixed(h.lastCommitHash, HASH_LENGTH);
}

export function readHeader(r: Reader): Header {
  const version = r.u8();
  if (version !== 1 && version !== HEADER_VERSION) {
    throw new CivitasError('CODEC_BAD_VERSION', `header: unknown version ${version}`, { version });
  }
  return {
    ...(version === 1 ? { version } : {}),
    chainId: r.string(Limits.chainIdBytes),
    height: r.varuint(),
    parentHash: r.fixed(HASH_LENGTH),
    timestamp: r.varuint(),
    proposer: r.fixed(PUBLIC_KEY_LENGTH),
    txRoot: r.fixed(HASH_LENGTH),
    receiptRoot: r.fixed(HASH_LENGTH),
    stateRoot: r.fixed(HASH_LENGTH),
    validatorSetHash: r.fixed(HASH_LENGTH),
    lastCommitHash: r.fixed(HASH_LENGTH),
  };
}

export function encodeHeader(h: Header): Uint8Array {
  return encode((w) => writeHeader(w, h), 320);
}

export function decodeHeader(bytes: Uint8Array): Header {
  return decode(bytes, readHeader);
}

/** The block hash. */
export function headerHash(h: Header): Uint8Array {
  return taggedHash(DomainTag.header, encodeHeader(h));
}
