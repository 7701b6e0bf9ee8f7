/**
 * Compact wire form of the consensus messages that carry a block (PRE-PREPARE, VIEW-CHANGE
 * with a prepared block, NEW-VIEW): the block's txs are named by hash, since peers usually
 * hold them already (gossiped into their mempools). This is a node/wire concern only: the
 * engine still receives the full message, rebuilt byte for byte before it is delivered.
 *
 * What is signed does not change: a PRE-PREPARE and a NEW-VIEW sign (height, view,
 * blockHash), a VIEW-CHANGE signs its body without the block, and the block hash is the
 * header hash, which commits to the txs through the tx root. A replica rebuilds the block from
 * the header, the named txs (each checked against its hash) and the parent certificate,
 * checks the tx root of what it rebuilt against the header, and only then hands the message
 * to the engine; the rebuilt message bytes are exactly the v1 encoding the sender signed.
 *
 * Encoding (v2, first byte 2, where a v1 consensus message starts with 1):
 *   u8 2 | bytes head | header | list of 32 txHash | list of (varuint index | bytes tx) |
 *   bool [certificate lastCommit]
 * head is the message's v1 encoding up to its block (PRE-PREPARE, NEW-VIEW: before
 * `bytes block`; VIEW-CHANGE: before `bool [bytes preparedBlock]`); the second list carries
 * txs inline (indexes strictly increasing, each tx hashing to its named hash).
 * Full v1 bytes = head | (VIEW-CHANGE: u8 1) | bytes block.
 */

import { computeTxRoot, encodeBlockParts, type SealedBlock } from '../chain/block.ts';
import { type CommitCertificate, readCertificate, writeCertificate } from '../chain/certificate.ts';
import { type Header, headerHash, readHeader, writeHeader } from '../chain/header.ts';
import { Limits } from '../chain/limits.ts';
import { type Tx, txHashOfBytes } from '../chain/tx.ts';
import { decode, expectVersion } from '../codec/reader.ts';
import { encode } from '../codec/writer.ts';
import {
  type ConsensusMessage,
  MAX_MESSAGE_BYTES,
  MESSAGE_VERSION,
  MessageTypeCode,
  readMessage,
} from '../consensus/messages.ts';
import { equalBytes } from '../crypto/bytes.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';

export const COMPACT_VERSION = 2;

/** A message type that carries a block, so has a compact form. */
export type CompactType = 'pre-prepare' | 'view-change' | 'new-view';

export interface CompactMessage {
  readonly type: CompactType;
  readonly height: number;
  readonly view: number;
  readonly validatorIndex: number;
  /** The message's v1 encoding up to its block. */
  readonly head: Uint8Array;
  readonly header: Header;
  /** headerHash(header): the hash every signature in the message binds. */
  readonly blockHash: Uint8Array;
  readonly txHashes: readonly Uint8Array[];
  /** Txs sent inline, by index into txHashes; each hashes to its named hash. */
  readonly inline: ReadonlyMap<number, Uint8Array>;
  readonly lastCommit: CommitCertificate | null;
}

/** True when the bytes (an opened gossip envelope) are a compact message, not a v1 one. */
export function isCompact(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === COMPACT_VERSION;
}

/** The block a message carries, or null (votes, a VIEW-CHANGE with nothing prepared). */
export function blockOf(m: ConsensusMessage): SealedBlock | null {
  if (m.type === 'pre-prepare' || m.type === 'new-view') return m.block;
  if (m.type === 'view-change') return m.preparedBlock;
  return null;
}

function varuintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

/**
 * The compact form of `m`, given its v1 encoding `full`; null when `m` carries no block.
 * `sendInline(i)` says which txs to carry inline (default none).
 */
export function encodeCompact(
  m: ConsensusMessage,
  full: Uint8Array,
  sendInline: (index: number) => boolean = () => false,
): Uint8Array | null {
  const block = blockOf(m);
  if (block === null) return null;
  const size = block.encoded.length;
  const tail = size + varuintLength(size) + (m.type === 'view-change' ? 1 : 0);
  const head = full.subarray(0, full.length - tail);
  const inline: number[] = [];
  for (let i = 0; i < block.txHashes.length; i++) if (sendInline(i)) inline.push(i);
  let bytes = head.length + 512 + block.txHashes.length * (HASH_LENGTH + 1);
  for (const i of inline) bytes += block.encodedTxs[i]!.length + 8;
  return encode((w) => {
    w.u8(COMPACT_VERSION).bytes(head);
    writeHeader(w, block.header);
    w.list(block.txHashes, (ww, h) => ww.fixed(h, HASH_LENGTH));
    w.list(inline, (ww, i) => ww.varuint(i).bytes(block.encodedTxs[i]!));
    w.bool(block.lastCommit !== null);
    if (block.lastCommit !== null) writeCertificate(w, block.lastCommit);
  }, bytes);
}

const TYPES_BY_CODE = new Map<number, CompactType>([
  [MessageTypeCode['pre-prepare'], 'pre-prepare'],
  [MessageTypeCode['view-change'], 'view-change'],
  [MessageTypeCode['new-view'], 'new-view'],
]);

/** Strict decode of a compact message (format only: signatures are the engine's job). */
export function decodeCompact(bytes: Uint8Array): CompactMessage {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new CivitasError(
      'CODEC_TOO_LARGE',
      `compact consensus message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`,
    );
  }
  return decode(bytes, (r) => {
    expectVersion(r, COMPACT_VERSION, 'compact consensus message');
    const head = r.bytes(MAX_MESSAGE_BYTES);
    const { type, height, view, validatorIndex } = decode(head, (hr) => {
      expectVersion(hr, MESSAGE_VERSION, 'compact consensus message head');
      const code = hr.u8();
      const t = TYPES_BY_CODE.get(code);
      if (t === undefined) {
        throw new CivitasError('CODEC_BAD_VALUE', `message type ${code} has no compact form`);
      }
      const fields = {
        type: t,
        height: hr.varuint(),
        view: hr.varuint(),
        validatorIndex: hr.u16(),
      };
      hr.slice(hr.remaining);
      return fields;
    });
    const header = readHeader(r);
    const txHashes = r.list(Limits.blockTxs, (rr) => rr.fixed(HASH_LENGTH));
    const inlineList = r.list(Limits.blockTxs, (rr) => ({
      index: rr.varuint(),
      tx: rr.bytes(Limits.txBytes),
    }));
    const inline = new Map<number, Uint8Array>();
    let previous = -1;
    for (const { index, tx } of inlineList) {
      if (index <= previous || index >= txHashes.length) {
        throw new CivitasError(
          'CODEC_BAD_ORDER',
          'compact message: inline tx indexes must be strictly increasing and name a tx',
        );
      }
      if (!equalBytes(txHashOfBytes(tx), txHashes[index]!)) {
        throw new CivitasError(
          'CODEC_BAD_VALUE',
          `compact message: inline tx ${index} mismatches its hash`,
        );
      }
      inline.set(index, tx);
      previous = index;
    }
    const lastCommit = r.bool() ? readCertificate(r) : null;
    const blockHash = headerHash(header);
    return {
      type,
      height,
      view,
      validatorIndex,
      head,
      header,
      blockHash,
      txHashes,
      inline,
      lastCommit,
    };
  });
}

/** A tx as a node holds it: its exact bytes and the strict decode of them. */
export interface HeldTx {
  readonly encoded: Uint8Array;
  readonly tx: Tx;
}

/**
 * Rebuilds the block of `c` from its txs (in order, each already checked against its named
 * hash): the v1 block encoding, checked to commit to the header's tx root. The txs are not
 * decoded again (mempool entries hold them decoded), and the bytes are those of the v1
 * encoding: the header and certificate re-encode canonically and each tx is its exact bytes.
 */
export function rebuildBlock(c: CompactMessage, held: readonly HeldTx[]): SealedBlock {
  const encodedTxs = held.map((t) => t.encoded);
  const encoded = encodeBlockParts(c.header, encodedTxs, c.lastCommit);
  if (encoded.length > Limits.blockBytes) {
    throw new CivitasError(
      'CODEC_TOO_LARGE',
      `block of ${encoded.length} bytes exceeds ${Limits.blockBytes}`,
    );
  }
  const block: SealedBlock = {
    header: c.header,
    txs: held.map((t) => t.tx),
    lastCommit: c.lastCommit,
    hash: c.blockHash,
    encoded,
    encodedTxs,
    txHashes: c.txHashes,
  };
  checkTxRoot(block, c.height);
  return block;
}

/** Throws PROPOSAL_TX_ROOT_MISMATCH unless the block's txs make its header's tx root. */
export function checkTxRoot(block: SealedBlock, height: number): void {
  if (!equalBytes(computeTxRoot(block.txHashes), block.header.txRoot)) {
    throw new CivitasError(
      'PROPOSAL_TX_ROOT_MISMATCH',
      'the txs of a compact proposal do not match its header tx root',
      { height },
    );
  }
}

/**
 * The full v1 message of `c` with its block: decoded from exactly the bytes the sender's v1
 * encoding has. `block` must hash to c.blockHash (a block fetched whole is checked here).
 */
export function expandCompact(c: CompactMessage, block: SealedBlock): ConsensusMessage {
  if (!equalBytes(block.hash, c.blockHash)) {
    throw new CivitasError('PROPOSAL_BLOCK_MISMATCH', 'the block does not hash to the one named', {
      height: c.height,
    });
  }
  const full = encode(
    (w) => {
      w.raw(c.head);
      if (c.type === 'view-change') w.bool(true);
      w.bytes(block.encoded);
    },
    c.head.length + block.encoded.length + 16,
  );
  // The block field is skipped over, not decoded again: it is `block`, already checked.
  return decode(full, (r) =>
    readMessage(r, (rr) => {
      rr.bytes(Limits.blockBytes);
      return block;
    }),
  );
}

/**
 * The message of `c` without its block: every field the sender signed (a PRE-PREPARE signs
 * the block hash, which the header gives; VIEW-CHANGE and NEW-VIEW sign their bodies), so
 * the sender's signature can be checked before anything is fetched for it. Its block is a
 * stand-in with only the hash: never hand this message to the engine.
 */
export function signedPartOf(c: CompactMessage): ConsensusMessage {
  const standIn = { hash: c.blockHash } as SealedBlock;
  const bytes = encode((w) => {
    w.raw(c.head);
    if (c.type === 'view-change') w.bool(true);
    w.bytes(new Uint8Array(0));
  }, c.head.length + 4);
  return decode(bytes, (r) =>
    readMessage(r, (rr) => {
      rr.bytes(0);
      return standIn;
    }),
  );
}
