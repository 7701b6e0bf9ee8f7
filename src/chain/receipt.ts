/**
 * Receipts: the outcome of one tx. A failed tx still gets a receipt (status failed, a reason
 * code such as BANK_INSUFFICIENT_FUNDS) and changes nothing else. The receipt root in the
 * header commits to every receipt, so an outcome is as provable as the tx itself.
 *
 * Encoding v1 (failedOp null): u8 1 | 32 txHash | u8 status (0 ok, 1 failed) | string code |
 *   list of events (string type | list of (string key | string value))
 * Encoding v2 (a failed op named): u8 2 | the same fields | varuint failedOp
 * A receipt that names no failing op keeps the v1 bytes, so receipts of txs that predate
 * multi-op txs (and their receipt roots) do not change. Only a failed receipt names an op.
 */

import { decode, type Reader } from '../codec/reader.ts';
import { encode, type Writer } from '../codec/writer.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import { Limits } from './limits.ts';

export const RECEIPT_V1 = 1;
export const RECEIPT_V2 = 2;

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
  /**
   * The index of the op whose failure failed the (all or nothing) tx; null when the tx
   * succeeded or failed for a reason that is no op's (a bad nonce, say).
   */
  readonly failedOp: number | null;
}

function checkFailedOp(status: Receipt['status'], failedOp: number): void {
  // Rule: only a failed receipt names a failing op.
  if (status !== 'failed') {
    throw new CivitasError('CODEC_BAD_VALUE', 'a receipt with status ok names a failed op');
  }
  // Rule: the failing op is one of a tx's ops.
  if (!Number.isInteger(failedOp) || failedOp < 0 || failedOp >= Limits.txOps) {
    throw new CivitasError('CODEC_BAD_VALUE', `failedOp ${failedOp} is not an op index`);
  }
}

export function writeReceipt(w: Writer, r: Receipt): void {
  if (r.failedOp !== null) checkFailedOp(r.status, r.failedOp);
  w.u8(r.failedOp === null ? RECEIPT_V1 : RECEIPT_V2)
    .fixed(r.txHash, HASH_LENGTH)
    .u8(r.status === 'ok' ? 0 : 1)
    .string(r.code)
    .list(r.events, (we, e) =>
      we.string(e.type).list(e.attributes, (wa, [k, v]) => wa.string(k).string(v)),
    );
  if (r.failedOp !== null) w.varuint(r.failedOp);
}

export function readReceipt(r: Reader): Receipt {
  const version = r.u8();
  if (version !== RECEIPT_V1 && version !== RECEIPT_V2) {
    throw new CivitasError('CODEC_BAD_VERSION', `receipt: unknown version ${version}`, {
      expected: [RECEIPT_V1, RECEIPT_V2],
      actual: version,
    });
  }
  const txHash = r.fixed(HASH_LENGTH);
  const statusByte = r.u8();
  if (statusByte > 1)
    throw new CivitasError('CODEC_BAD_VALUE', `unknown receipt status ${statusByte}`);
  const status = statusByte === 0 ? 'ok' : 'failed';
  const code = r.string(Limits.receiptCodeBytes);
  const events = r.list(Limits.eventsPerReceipt, (re) => ({
    type: re.string(Limits.eventStringBytes),
    attributes: re.list(
      Limits.eventAttributes,
      (ra) => [ra.string(Limits.eventStringBytes), ra.string(Limits.eventStringBytes)] as const,
    ),
  }));
  let failedOp: number | null = null;
  if (version === RECEIPT_V2) {
    failedOp = r.varuint();
    checkFailedOp(status, failedOp);
  }
  return { txHash, status, code, events, failedOp };
}

export function encodeReceipt(r: Receipt): Uint8Array {
  return encode((w) => writeReceipt(w, r), 128);
}

export function decodeReceipt(bytes: Uint8Array): Receipt {
  return decode(bytes, readReceipt);
}
