/**
 * Transactions. A tx names its chain (no cross-chain replay), its sender's public key, a
 * per-sender nonce (no replay within the chain) and an expiry height (a tx is valid only in
 * blocks up to that height, so an old signed tx cannot resurface after a mempool is lost).
 * The payload is a module call: `bank.transfer(args)`; args are the module's canonical bytes.
 *
 * Encoding (v1): u8 version | string chainId | 32 sender | varuint nonce | varuint expiry |
 *   string module | string method | bytes args | 64 signature
 * The signature covers taggedHash(tx-signing, unsigned encoding) — everything but itself.
 * The tx hash is taggedHash(tx, signed encoding), so it commits to the signature too.
 */

import { decode, expectVersion, type Reader } from '../codec/reader.ts';
import { encode, type Writer } from '../codec/writer.ts';
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, sign } from '../crypto/ed25519.ts';
import { DomainTag, taggedHash } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import { Limits } from './limits.ts';

export const TX_VERSION = 1;

export interface TxPayload {
  readonly module: string;
  readonly method: string;
  readonly args: Uint8Array;
}

export interface UnsignedTx {
  readonly chainId: string;
  readonly sender: Uint8Array;
  readonly nonce: number;
  readonly expiryHeight: number;
  readonly payload: TxPayload;
}

export interface Tx extends UnsignedTx {
  readonly signature: Uint8Array;
}

function writeUnsigned(w: Writer, tx: UnsignedTx): void {
  w.u8(TX_VERSION)
    .string(tx.chainId)
    .fixed(tx.sender, PUBLIC_KEY_LENGTH)
    .varuint(tx.nonce)
    .varuint(tx.expiryHeight)
    .string(tx.payload.module)
    .string(tx.payload.method)
    .bytes(tx.payload.args);
}

export function writeTx(w: Writer, tx: Tx): void {
  writeUnsigned(w, tx);
  w.fixed(tx.signature, SIGNATURE_LENGTH);
}

export function readTx(r: Reader): Tx {
  expectVersion(r, TX_VERSION, 'tx');
  const chainId = r.string(Limits.chainIdBytes);
  const sender = r.fixed(PUBLIC_KEY_LENGTH);
  const nonce = r.varuint();
  const expiryHeight = r.varuint();
  const module = r.string(Limits.moduleNameBytes);
  const method = r.string(Limits.methodNameBytes);
  const args = r.bytes(Limits.txArgsBytes);
  const signature = r.fixed(SIGNATURE_LENGTH);
  return { chainId, sender, nonce, expiryHeight, payload: { module, method, args }, signature };
}

export function encodeTx(tx: Tx): Uint8Array {
  return encode((w) => writeTx(w, tx), 256);
}

/** Strict decode; rejects anything over the tx size limit before parsing. */
export function decodeTx(bytes: Uint8Array): Tx {
  if (bytes.length > Limits.txBytes) {
    throw new CivitasError(
      'CODEC_TOO_LARGE',
      `tx of ${bytes.length} bytes exceeds ${Limits.txBytes}`,
    );
  }
  return decode(bytes, readTx);
}

/** The 32 bytes the sender signs. */
export function txSigningHash(tx: UnsignedTx): Uint8Array {
  return taggedHash(
    DomainTag.txSigning,
    encode((w) => writeUnsigned(w, tx), 256),
  );
}

export function txHash(tx: Tx): Uint8Array {
  return taggedHash(DomainTag.tx, encodeTx(tx));
}

/** Hash of an already-encoded tx, avoiding a re-encode on the hot path. */
export function txHashOfBytes(encoded: Uint8Array): Uint8Array {
  return taggedHash(DomainTag.tx, encoded);
}

export function signTx(tx: UnsignedTx, secretKey: Uint8Array): Tx {
  return { ...tx, signature: sign(txSigningHash(tx), secretKey) };
}
