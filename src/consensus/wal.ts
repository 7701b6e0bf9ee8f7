/**
 * The consensus write-ahead log: what a replica must remember across a crash so that it never
 * signs two conflicting messages and never forgets a block it helped prepare.
 *
 * Two kinds of entry (docs/CONSENSUS.md, "The WAL contract"):
 * - `signed`: a message this replica signed (PRE-PREPARE with its block, PREPARE, COMMIT,
 *   VIEW-CHANGE, NEW-VIEW). Replay restores "what I said at (height, view)", so the replica
 *   re-sends the same bytes instead of signing anew, and restores its view.
 * - `prepared`: a prepared certificate with its block, written before the COMMIT that it
 *   justifies. A restarted replica's VIEW-CHANGE must still carry it, or a quorum of
 *   view changes could miss a block that some replica already committed.
 *
 * Encoding (v1): u8 version | u8 kind
 *   1 signed:   bytes message (the canonical message encoding)
 *   2 prepared: varuint height | prepared certificate | bytes block
 *
 * In the node's WAL an entry is stored behind a protocol byte (encodeWalRecord below), so a node
 * restarted under the other protocol refuses its WAL instead of misreading it.
 */

import type { SealedBlock } from '../chain/block.ts';
import { decode, expectVersion, type Reader } from '../codec/reader.ts';
import { encode, type Writer } from '../codec/writer.ts';
import { CivitasError } from '../errors/index.ts';
import {
  type ConsensusMessage,
  decodeMessage,
  encodeMessage,
  MAX_MESSAGE_BYTES,
  type PreparedCertificate,
  readBlockBytes,
  readPreparedCertificate,
  writePreparedCertificate,
} from './messages.ts';

export const WAL_ENTRY_VERSION = 1;

export type WalEntry =
  | { readonly kind: 'signed'; readonly message: ConsensusMessage }
  | {
      readonly kind: 'prepared';
      readonly height: number;
      readonly certificate: PreparedCertificate;
      readonly block: SealedBlock;
    };

/** The height an entry belongs to; the WAL may drop entries below the committed height. */
export function walEntryHeight(entry: WalEntry): number {
  return entry.kind === 'signed' ? entry.message.height : entry.height;
}

function writeWalEntry(w: Writer, entry: WalEntry): void {
  w.u8(WAL_ENTRY_VERSION);
  if (entry.kind === 'signed') {
    w.u8(1).bytes(encodeMessage(entry.message));
  } else {
    w.u8(2).varuint(entry.height);
    writePreparedCertificate(w, entry.certificate);
    w.bytes(entry.block.encoded);
  }
}

function readWalEntry(r: Reader): WalEntry {
  expectVersion(r, WAL_ENTRY_VERSION, 'wal entry');
  const kind = r.u8();
  if (kind === 1) return { kind: 'signed', message: decodeMessage(r.bytes(MAX_MESSAGE_BYTES)) };
  if (kind === 2) {
    const height = r.varuint();
    const certificate = readPreparedCertificate(r);
    const block = readBlockBytes(r);
    return { kind: 'prepared', height, certificate, block };
  }
  throw new CivitasError('CODEC_BAD_VALUE', `unknown wal entry kind ${kind}`, { kind });
}

export function encodeWalEntry(entry: WalEntry): Uint8Array {
  return encode((w) => writeWalEntry(w, entry), 512);
}

export function decodeWalEntry(bytes: Uint8Array): WalEntry {
  return decode(bytes, readWalEntry);
}

// ---------------------------------------------------------------------------------------------
// Stored records: a protocol byte, then the protocol's entry

/**
 * The byte in front of every stored WAL entry, naming the protocol that wrote it. An entry
 * stored before there was a second protocol starts with its version byte (1) instead: a PBFT
 * entry, read as one. Neither protocol byte can be an entry version.
 */
export const WAL_PROTOCOL_BYTE = { pbft: 0xb1, hotstuff: 0xb2 } as const;
export type WalProtocol = keyof typeof WAL_PROTOCOL_BYTE;

/** How one protocol's WAL entries are stored: the driver and LevelWal are generic over it. */
export interface WalCodec<W> {
  readonly protocol: WalProtocol;
  encode(entry: W): Uint8Array;
  decode(bytes: Uint8Array): W;
  /** The height an entry belongs to (entries below the committed height are dropped). */
  height(entry: W): number;
}

export const PBFT_WAL_CODEC: WalCodec<WalEntry> = {
  protocol: 'pbft',
  encode: encodeWalEntry,
  decode: decodeWalEntry,
  height: walEntryHeight,
};

/** A stored record: the protocol byte, then the entry's encoding. */
export function encodeWalRecord<W>(codec: WalCodec<W>, entry: W): Uint8Array {
  const body = codec.encode(entry);
  const out = new Uint8Array(body.length + 1);
  out[0] = WAL_PROTOCOL_BYTE[codec.protocol];
  out.set(body, 1);
  return out;
}

/** The protocol that wrote a stored record (an untagged record is an old PBFT entry). */
export function walRecordProtocol(record: Uint8Array): WalProtocol | null {
  if (record[0] === WAL_ENTRY_VERSION) return 'pbft';
  for (const [protocol, byte] of Object.entries(WAL_PROTOCOL_BYTE)) {
    if (record[0] === byte) return protocol as WalProtocol;
  }
  return null;
}

/**
 * Decodes a stored record written by `codec`'s protocol; a record of the other protocol is
 * refused (CONSENSUS_WAL_PROTOCOL): its votes would be misread, or forgotten and signed anew.
 */
export function decodeWalRecord<W>(codec: WalCodec<W>, record: Uint8Array): W {
  const protocol = walRecordProtocol(record);
  if (protocol === null) {
    throw new CivitasError('CODEC_BAD_VALUE', `unknown wal record tag ${record[0]}`, {
      tag: record[0],
    });
  }
  if (protocol !== codec.protocol) {
    throw new CivitasError(
      'CONSENSUS_WAL_PROTOCOL',
      `the consensus WAL was written by ${protocol} but the genesis names ${codec.protocol}: start the node with the genesis it ran before`,
      { written: protocol, running: codec.protocol },
    );
  }
  // An untagged (old PBFT) record is the entry itself.
  return codec.decode(record[0] === WAL_ENTRY_VERSION ? record : record.subarray(1));
}
