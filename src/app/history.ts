/**
 * Objects that change over time carry a revision and a history hash chain:
 *
 *   rev' = rev + 1
 *   hist' = H_history(hist ‖ txHash ‖ u32 opIndex ‖ H_record(module ‖ method ‖ args))
 *
 * where the record is the call that changed the object (the tx's op, or a governance action
 * executed by the vote op at `opIndex`). A client holding the txs that touched an object,
 * with their inclusion proofs and certificates, replays the chain and compares it with the
 * proven current `hist`: a missing, reordered or altered entry changes the result. The chain
 * starts at 32 zero bytes (rev 0) when the object is created by genesis or by its first call.
 */
import type { Reader } from '../codec/reader.ts';
import { encode, type Writer } from '../codec/writer.ts';
import { DomainTag, HASH_LENGTH, taggedHash } from '../crypto/hash.ts';

export interface History {
  readonly rev: number;
  readonly hist: Uint8Array;
}

export const NO_HISTORY: History = Object.freeze({ rev: 0, hist: new Uint8Array(HASH_LENGTH) });

/** The hash of the call that changed an object. */
export function historyRecordHash(module: string, method: string, args: Uint8Array): Uint8Array {
  return taggedHash(
    DomainTag.historyRecord,
    encode((w) => w.string(module).string(method).bytes(args), args.length + 32),
  );
}

/** The history after one more change by the call `recordHash`, made at (txHash, opIndex). */
export function nextHistory(
  prev: History,
  txHash: Uint8Array,
  opIndex: number,
  recordHash: Uint8Array,
): History {
  const input = new Uint8Array(HASH_LENGTH * 3 + 4);
  input.set(prev.hist, 0);
  input.set(txHash, HASH_LENGTH);
  new DataView(input.buffer).setUint32(HASH_LENGTH * 2, opIndex);
  input.set(recordHash, HASH_LENGTH * 2 + 4);
  return { rev: prev.rev + 1, hist: taggedHash(DomainTag.objectHistory, input) };
}

/** Writes rev and hist (the tail of every tracked object's encoding). */
export function writeHistory(w: Writer, h: History): void {
  w.varuint(h.rev);
  w.fixed(h.hist, HASH_LENGTH);
}

export function readHistory(r: Reader): History {
  return { rev: r.varuint(), hist: r.fixed(HASH_LENGTH) };
}
