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
