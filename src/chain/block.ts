/**
 * Blocks: a header, the ordered txs, and the commit certificate of the parent (absent only at
 * height 1, whose parent is genesis).
 *
 * Encoding (v1): u8 version | header | list of (bytes encodedTx) | u8 hasLastCommit |
 *   [certificate]
 * Txs are length-framed so a decoder can hash each tx's exact bytes without re-encoding.
 */

import { decode, expectVersion } from '../codec/reader.ts';
import { encode } from '../codec/writer.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import {
  type CommitCertificate,
  certificateHash,
  readCertificate,
  writeCertificate,
} from './certificate.ts';
import { type Header, headerHash, readHeader, writeHeader } from './header.ts';
import { Limits } from './limits.ts';
import { merkleRoot } from './merkle.ts';
import { encodeTx, readTx, type Tx, txHashOfBytes } from './tx.ts';

export const BLOCK_VERSION = 1;
export const ZERO_HASH = new Uint8Array(HASH_LENGTH);

export interface Block {
  readonly header: Header;
  readonly txs: readonly Tx[];
  readonly lastCommit: CommitCertificate | null;
}

/** A block with the derived values validation and storage need, computed once. */
export interface SealedBlock extends Block {
  readonly hash: Uint8Array;
  readonly encoded: Uint8Array;
  readonly txHashes: readonly Uint8Array[];
  readonly encodedTxs: readonly Uint8Array[];
}

export function encodeBlockParts(
  header: Header,
  encodedTxs: readonly Uint8Array[],
  lastCommit: CommitCertificate | null,
): Uint8Array {
  let size = 512;
  for (const t of encodedTxs) size += t.length + 3;
  return encode((w) => {
    w.u8(BLOCK_VERSION);
    writeHeader(w, header);
    w.list(encodedTxs, (ww, t) => ww.bytes(t));
    w.bool(lastCommit !== null);
    if (lastCommit !== null) writeCertificate(w, lastCommit);
  }, size);
}

/** Seals a block built in memory (the proposer's path). */
export function sealBlock(block: Block): SealedBlock {
  const encodedTxs = block.txs.map(encodeTx);
  return {
    ...block,
    hash: headerHash(block.header),
    encoded: encodeBlockParts(block.header, encodedTxs, block.lastCommit),
    encodedTxs,
    txHashes: encodedTxs.map(txHashOfBytes),
  };
}

/**
 * Strict decode of a block from the network or disk. Format-level checks only; the rest of
 * validation lives in validation.ts.
 */
export function decodeBlock(bytes: Uint8Array): SealedBlock {
  if (bytes.length > Limits.blockBytes) {
    throw new CivitasError(
      'CODEC_TOO_LARGE',
      `block of ${bytes.length} bytes exceeds ${Limits.blockBytes}`,
    );
  }
  return decode(bytes, (r) => {
    expectVersion(r, BLOCK_VERSION, 'block');
    const header = readHeader(r);
    const encodedTxs = r.list(Limits.blockTxs, (rr) => rr.bytes(Limits.txBytes));
    const txs = encodedTxs.map((t) => decode(t, readTx));
    const lastCommit = r.bool() ? readCertificate(r) : null;
    return {
      header,
      txs,
      lastCommit,
      hash: headerHash(header),
      encoded: bytes,
      encodedTxs,
      txHashes: encodedTxs.map(txHashOfBytes),
    };
  });
}

export function computeTxRoot(txHashes: readonly Uint8Array[]): Uint8Array {
  return merkleRoot(txHashes);
}

export function lastCommitHashOf(lastCommit: CommitCertificate | null): Uint8Array {
  return lastCommit === null ? ZERO_HASH : certificateHash(lastCommit);
}
