/**
 * Receipts: the outcome of one tx. A failed tx still gets a receipt (status failed, a reason
 * code such as BANK_INSUFFICIENT_FUNDS) and changes nothing else. The receipt root in the
 * header commits to every receipt, so an outcome is as provable as the tx itself.
 *
 * Encoding (v1): u8 version | 32 txHash | u8 status (0 ok, 1 failed) | string code |
 *   list of events (string type | list of (string key | string value))
 */

import { decode, expectVersion, type Reader } from '../codec/reader.ts';
import { encode, type Writer } from '../codec/writer.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import { Limits } from './limits.ts';

export const RECEIPT_VERSION = 1;

export interface ReceiptEvent {
  readonly type: string;
  readonly attributes: ReadonlyArray<readonly [key: string, value: string]>;
}

export interface Receipt {
  readonly txHash: Uint8Array;
  readonly status: 'ok' | 'failed';
  /**
   * 'OK' (RECEIPT_OK) on success, else the reason code: a ReceiptCode when this build executed
   * the tx, but a decoded receipt carries whatever string it was encoded with.
   */
  readonly code: string;
  readonly events: readonly ReceiptEvent[];
}

export function writeReceipt(w: Writer, r: Receipt): void {
  w.u8(RECEIPT_VERSION)
    .fixed(r.txHash, HASH_LENGTH)
    .u8(r.status === 'ok' ? 0 : 1)
    .string(r.code)
    .list(r.events, (we, e) =>
      we.string(e.type).list(e.attributes, (wa, [k, v]) => wa.string(k).string(v)),
    );
}

export function readReceipt(r: Reader): Receipt {
  expectVersion(r, RECEIPT_VERSION, 'receipt');
  const txHash = r.fixed(HASH_LENGTH);
  const statusByte = r.u8();
  if (statusByte > 1)
    throw new CivitasError('CODEC_BAD_VALUE', `unknown receipt status ${statusByte}`);
  const code = r.string(Limits.receiptCodeBytes);
  const events = r.list(Limits.eventsPerReceipt, (re) => ({
    type: re.string(Limits.eventStringBytes),
    attributes: re.list(
      Limits.eventAttributes,
      (ra) => [ra.string(Limits.eventStringBytes), ra.string(Limits.eventStringBytes)] as const,
    ),
  }));
  return { txHash, status: statusByte === 0 ? 'ok' : 'failed', code, events };
}

export function encodeReceipt(r: Receipt): Uint8Array {
  return encode((w) => writeReceipt(w, r), 128);
}

export function decodeReceipt(bytes: Uint8Array): Receipt {
  return decode(bytes, readReceipt);
}
