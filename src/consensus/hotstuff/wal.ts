/**
 * What a HotStuff replica must remember across a crash (docs/HOTSTUFF.md, "The WAL"):
 * - `signed`: a message it signed (PROPOSAL, a vote, TIMEOUT), persisted before it is sent,
 *   so a restarted replica re-sends those bytes instead of signing something else;
 * - `qc`: a PREPARE QC (its highQC) before the PRE-COMMIT vote that answers it, and a
 *   PRE-COMMIT QC (its lock) before the COMMIT vote, with the block when held (a leader
 *   re-proposes its highQC's block).
 *
 * Encoding (v1): u8 version | u8 kind
 *   1 signed: bytes message (hotstuff/messages.ts)
 *   2 qc:     qc | bool [bytes block]
 */

import type { SealedBlock } from '../../chain/block.ts';
import { decode, expectVersion, type Reader } from '../../codec/reader.ts';
import { encode, type Writer } from '../../codec/writer.ts';
import { CivitasError } from '../../errors/index.ts';
import { MAX_MESSAGE_BYTES, readBlockBytes } from '../messages.ts';
import type { WalCodec } from '../wal.ts';
import {
  decodeHotStuffMessage,
  encodeHotStuffMessage,
  type HotStuffMessage,
  positionOf,
  type QuorumCertificate,
  readQc,
  writeQc,
} from './messages.ts';

export const HOTSTUFF_WAL_VERSION = 1;

export type HotStuffWalEntry =
  | { readonly kind: 'signed'; readonly message: HotStuffMessage }
  | { readonly kind: 'qc'; readonly qc: QuorumCertificate; readonly block: SealedBlock | null };

/** The height an entry belongs to; entries below the committed height may be dropped. */
export function hotStuffWalEntryHeight(entry: HotStuffWalEntry): number {
  return entry.kind === 'signed' ? positionOf(entry.message).height : entry.qc.height;
}

function writeEntry(w: Writer, entry: HotStuffWalEntry): void {
  w.u8(HOTSTUFF_WAL_VERSION);
  if (entry.kind === 'signed') {
    w.u8(1).bytes(encodeHotStuffMessage(entry.message));
    return;
  }
  w.u8(2);
  writeQc(w, entry.qc);
  w.bool(entry.block !== null);
  if (entry.block !== null) w.bytes(entry.block.encoded);
}

function readEntry(r: Reader): HotStuffWalEntry {
  expectVersion(r, HOTSTUFF_WAL_VERSION, 'hotstuff wal entry');
  const kind = r.u8();
  if (kind === 1) {
    return { kind: 'signed', message: decodeHotStuffMessage(r.bytes(MAX_MESSAGE_BYTES)) };
  }
  if (kind === 2) {
    const qc = readQc(r);
    const block = r.bool() ? readBlockBytes(r) : null;
    return { kind: 'qc', qc, block };
  }
  throw new CivitasError('CODEC_BAD_VALUE', `unknown hotstuff wal entry kind ${kind}`, { kind });
}

export function encodeHotStuffWalEntry(entry: HotStuffWalEntry): Uint8Array {
  return encode((w) => writeEntry(w, entry), 512);
}

export function decodeHotStuffWalEntry(bytes: Uint8Array): HotStuffWalEntry {
  return decode(bytes, readEntry);
}

/** How the node stores HotStuff's entries (behind the protocol byte, consensus/wal.ts). */
export const HOTSTUFF_WAL_CODEC: WalCodec<HotStuffWalEntry> = {
  protocol: 'hotstuff',
  encode: encodeHotStuffWalEntry,
  decode: decodeHotStuffWalEntry,
  height: hotStuffWalEntryHeight,
};
