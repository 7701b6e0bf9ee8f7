/**
 * Transactions. A tx names its chain (no cross-chain replay), its sender's public key, a
 * per-sender nonce (no replay within the chain) and an expiry height (a tx is valid only in
 * blocks up to that height, so an old signed tx cannot resurface after a mempool is lost).
 * It carries ops — module calls such as `bank.transfer(args)`, args being the module's
 * canonical bytes — executed all or nothing, and may name cosigners: every cosigner signs the
 * same signing hash as the sender. An op may name the revision it expects of the object it
 * acts on (optimistic concurrency).
 *
 * Encoding v1 (exactly one op, no expected revision, no cosigners):
 *   u8 1 | string chainId | 32 sender | varuint nonce | varuint expiry |
 *   string module | string method | bytes args | 64 signature
 * Encoding v2:
 *   u8 2 | string chainId | 32 sender | varuint nonce | varuint expiry |
 *   list(1..Limits.txOps) of (string module | string method | bytes args |
 *     varuint expectRev + 1, 0 for none) |
 *   list(0..Limits.txCosigners) of 32 cosigner key | 64 signature |
 *   64 cosignature per cosigner, in cosigner order (no count: the cosigner list fixes it)
 * Signatures cover taggedHash(tx-signing, unsigned encoding): everything before the signature.
 * The tx hash is taggedHash(tx, signed encoding), so it commits to the signatures too.
 *
 * Shape rules, enforced by the decoder and the encoder alike (a tx object breaking one cannot
 * be encoded, signed or hashed): a v1 tx has exactly one op, with no expected revision, and no
 * cosigners (TX_NOT_V1); a v2 tx has 1..Limits.txOps ops (TX_BAD_OP_COUNT) and at most
 * Limits.txCosigners cosigners (TX_TOO_MANY_COSIGNERS), all distinct (TX_DUPLICATE_COSIGNER)
 * and none the sender (TX_COSIGNER_IS_SENDER); a signed tx has one cosignature per cosigner
 * (TX_BAD_COSIGNATURE_COUNT).
 *
 * A v2 tx that would fit v1 is still valid as v2: the version is part of the signed bytes, so
 * nobody but the sender can turn one into the other, and the nonce lets only one of them run.
 */

import { decode, type Reader } from '../codec/reader.ts';
import { encode, type Writer } from '../codec/writer.ts';
import { equalBytes } from '../crypto/bytes.ts';
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, sign } from '../crypto/ed25519.ts';
import { DomainTag, taggedHash } from '../crypto/hash.ts';
import { CivitasError, type ErrorCode } from '../errors/index.ts';
import { Limits } from './limits.ts';

export const TX_V1 = 1;
export const TX_V2 = 2;
export type TxVersion = typeof TX_V1 | typeof TX_V2;

export interface TxOp {
  readonly module: string;
  readonly method: string;
  readonly args: Uint8Array;
  /** The revision the op expects of the object it acts on (optimistic concurrency); null = none. */
  readonly expectRev: number | null;
}

export interface UnsignedTx {
  /** v1: exactly one op with expectRev null and no cosigners. */
  readonly version: TxVersion;
  readonly chainId: string;
  readonly sender: Uint8Array;
  readonly nonce: number;
  readonly expiryHeight: number;
  /** 1..Limits.txOps ops, all or nothing. */
  readonly ops: readonly TxOp[];
  /** 0..Limits.txCosigners public keys, distinct, none equal to the sender. */
  readonly cosigners: readonly Uint8Array[];
}

export interface Tx extends UnsignedTx {
  /** The sender's. */
  readonly signature: Uint8Array;
  /** One per cosigner, in the same order. */
  readonly cosignatures: readonly Uint8Array[];
}

/** A v1 tx has neither cosigners nor cosignatures: decoded ones share this empty list. */
const NONE: readonly Uint8Array[] = Object.freeze([]);

function fail(code: ErrorCode, message: string, context: Record<string, unknown> = {}): never {
  throw new CivitasError(code, message, context);
}

function checkOpCount(count: number): void {
  // Rule: a v2 tx carries 1..Limits.txOps ops.
  if (count < 1 || count > Limits.txOps) {
    fail('TX_BAD_OP_COUNT', `a tx carries 1 to ${Limits.txOps} ops, not ${count}`, { count });
  }
}

function checkCosignerCount(count: number): void {
  // Rule: a v2 tx names at most Limits.txCosigners cosigners.
  if (count > Limits.txCosigners) {
    fail('TX_TOO_MANY_COSIGNERS', `${count} cosigners exceed ${Limits.txCosigners}`, { count });
  }
}

function checkCosigners(sender: Uint8Array, cosigners: readonly Uint8Array[]): void {
  for (let i = 0; i < cosigners.length; i++) {
    const cosigner = cosigners[i]!;
    // Rule: the sender signs as the sender, never again as a cosigner.
    if (equalBytes(cosigner, sender)) {
      fail('TX_COSIGNER_IS_SENDER', `cosigner ${i} is the sender`, { index: i });
    }
    // Rule: each cosigner is named once.
    for (let j = 0; j < i; j++) {
      if (equalBytes(cosigners[j]!, cosigner)) {
        fail('TX_DUPLICATE_COSIGNER', `cosigners ${j} and ${i} are the same key`, {
          index: i,
        });
      }
    }
  }
}

function checkShape(tx: UnsignedTx): void {
  if (tx.version === TX_V1) {
    // Rule: a v1 tx is exactly one op with no expected revision, and has no cosigners.
    if (tx.ops.length !== 1 || tx.ops[0]!.expectRev !== null || tx.cosigners.length !== 0) {
      fail('TX_NOT_V1', 'a version-1 tx has exactly one op, no expected revision, no cosigners');
    }
  } else if (tx.version === TX_V2) {
    checkOpCount(tx.ops.length);
    checkCosignerCount(tx.cosigners.length);
    checkCosigners(tx.sender, tx.cosigners);
  } else {
    throw new CivitasError('CODEC_BAD_VERSION', `tx: unknown version ${String(tx.version)}`);
  }
}

function checkCosignatureCount(tx: Tx): void {
  // Rule: one cosignature per cosigner, in cosigner order.
  if (tx.cosignatures.length !== tx.cosigners.length) {
    fail(
      'TX_BAD_COSIGNATURE_COUNT',
      `${tx.cosignatures.length} cosignatures for ${tx.cosigners.length} cosigners`,
    );
  }
}

function writeOp(w: Writer, op: TxOp): void {
  w.string(op.module).string(op.method).bytes(op.args);
  const rev = op.expectRev;
  if (rev === null) {
    w.varuint(0);
    return;
  }
  // rev + 1 must itself be a safe integer; a negative rev would otherwise pass as "none".
  if (!Number.isSafeInteger(rev) || rev < 0 || rev >= Number.MAX_SAFE_INTEGER) {
    throw new CivitasError('CODEC_BAD_VALUE', `expectRev out of range: ${rev}`);
  }
  w.varuint(rev + 1);
}

function writeUnsigned(w: Writer, tx: UnsignedTx): void {
  checkShape(tx);
  w.u8(tx.version)
    .string(tx.chainId)
    .fixed(tx.sender, PUBLIC_KEY_LENGTH)
    .varuint(tx.nonce)
    .varuint(tx.expiryHeight);
  if (tx.version === TX_V1) {
    const op = tx.ops[0]!;
    w.string(op.module).string(op.method).bytes(op.args);
    return;
  }
  w.list(tx.ops, writeOp).list(tx.cosigners, (wc, key) => wc.fixed(key, PUBLIC_KEY_LENGTH));
}

export function writeTx(w: Writer, tx: Tx): void {
  checkCosignatureCount(tx);
  writeUnsigned(w, tx);
  w.fixed(tx.signature, SIGNATURE_LENGTH);
  for (const cosignature of tx.cosignatures) w.fixed(cosignature, SIGNATURE_LENGTH);
}

function readOp(r: Reader): TxOp {
  const module = r.string(Limits.moduleNameBytes);
  const method = r.string(Limits.methodNameBytes);
  const args = r.bytes(Limits.txArgsBytes);
  const rev = r.varuint();
  return { module, method, args, expectRev: rev === 0 ? null : rev - 1 };
}

function readUnsigned(r: Reader): UnsignedTx {
  const version = r.u8();
  if (version !== TX_V1 && version !== TX_V2) {
    throw new CivitasError('CODEC_BAD_VERSION', `tx: unknown version ${version}`, {
      expected: [TX_V1, TX_V2],
      actual: version,
    });
  }
  const chainId = r.string(Limits.chainIdBytes);
  const sender = r.fixed(PUBLIC_KEY_LENGTH);
  const nonce = r.varuint();
  const expiryHeight = r.varuint();
  if (version === TX_V1) {
    const module = r.string(Limits.moduleNameBytes);
    const method = r.string(Limits.methodNameBytes);
    const args = r.bytes(Limits.txArgsBytes);
    const ops = [{ module, method, args, expectRev: null }];
    return { version, chainId, sender, nonce, expiryHeight, ops, cosigners: NONE };
  }
  // Counts are read by hand rather than with r.list: they are small, and out of range they
  // are the tx's own rule (TX_*), not a codec limit.
  const opCount = r.varuint();
  checkOpCount(opCount);
  const ops: TxOp[] = [];
  for (let i = 0; i < opCount; i++) ops.push(readOp(r));
  const cosignerCount = r.varuint();
  checkCosignerCount(cosignerCount);
  const cosigners: Uint8Array[] = [];
  for (let i = 0; i < cosignerCount; i++) cosigners.push(r.fixed(PUBLIC_KEY_LENGTH));
  checkCosigners(sender, cosigners);
  return { version, chainId, sender, nonce, expiryHeight, ops, cosigners };
}

export function readTx(r: Reader): Tx {
  const tx = readUnsigned(r);
  const signature = r.fixed(SIGNATURE_LENGTH);
  let cosignatures = NONE;
  if (tx.cosigners.length > 0) {
    const read: Uint8Array[] = [];
    for (let i = 0; i < tx.cosigners.length; i++) read.push(r.fixed(SIGNATURE_LENGTH));
    cosignatures = read;
  }
  return withSignatures(tx, signature, cosignatures);
}

/** The signed tx of `tx`'s fields and these signatures (no checks: callers check). */
function withSignatures(
  tx: UnsignedTx,
  signature: Uint8Array,
  cosignatures: readonly Uint8Array[],
): Tx {
  return {
    version: tx.version,
    chainId: tx.chainId,
    sender: tx.sender,
    nonce: tx.nonce,
    expiryHeight: tx.expiryHeight,
    ops: tx.ops,
    cosigners: tx.cosigners,
    signature,
    cosignatures,
  };
}

export function encodeTx(tx: Tx): Uint8Array {
  return encode((w) => writeTx(w, tx), 256);
}

function checkSize(bytes: Uint8Array): void {
  if (bytes.length > Limits.txBytes) {
    throw new CivitasError(
      'CODEC_TOO_LARGE',
      `tx of ${bytes.length} bytes exceeds ${Limits.txBytes}`,
    );
  }
}

/** Strict decode; rejects anything over the tx size limit before parsing. */
export function decodeTx(bytes: Uint8Array): Tx {
  checkSize(bytes);
  return decode(bytes, readTx);
}

/**
 * The bytes every signer signs the hash of: what a sender hands to cosigners on other
 * machines, who decode it (decodeUnsignedTx), check it and return cosignTx's signature.
 */
export function encodeUnsignedTx(tx: UnsignedTx): Uint8Array {
  return encode((w) => writeUnsigned(w, tx), 256);
}

/** Strict decode of encodeUnsignedTx's bytes, under the same rules and size limit as a tx. */
export function decodeUnsignedTx(bytes: Uint8Array): UnsignedTx {
  checkSize(bytes);
  return decode(bytes, readUnsigned);
}

/** The 32 bytes the sender and every cosigner sign. */
export function txSigningHash(tx: UnsignedTx): Uint8Array {
  return taggedHash(DomainTag.txSigning, encodeUnsignedTx(tx));
}

export function txHash(tx: Tx): Uint8Array {
  return taggedHash(DomainTag.tx, encodeTx(tx));
}

/** Hash of an already-encoded tx, avoiding a re-encode on the hot path. */
export function txHashOfBytes(encoded: Uint8Array): Uint8Array {
  return taggedHash(DomainTag.tx, encoded);
}

/**
 * Signs `tx` as its sender and, with `cosignerSecrets` (one per cosigner, in cosigner order),
 * as every cosigner. A secret that is not its cosigner's key gives a tx that fails
 * verification (TX_BAD_SIGNATURE), not an error here.
 */
export function signTx(
  tx: UnsignedTx,
  senderSecret: Uint8Array,
  cosignerSecrets: readonly Uint8Array[] = [],
): Tx {
  if (cosignerSecrets.length !== tx.cosigners.length) {
    fail(
      'TX_BAD_COSIGNATURE_COUNT',
      `${cosignerSecrets.length} cosigner secrets for ${tx.cosigners.length} cosigners`,
    );
  }
  const message = txSigningHash(tx);
  return assembleTx(
    tx,
    sign(message, senderSecret),
    cosignerSecrets.map((secret) => sign(message, secret)),
  );
}

/** One cosigner's signature of `tx`, made where that cosigner's key lives. */
export function cosignTx(tx: UnsignedTx, secretKey: Uint8Array): Uint8Array {
  return sign(txSigningHash(tx), secretKey);
}

/**
 * A signed tx from its parts (signatures gathered from several machines). Checks the shape
 * and the cosignature count, not the signatures: TxVerifier does.
 */
export function assembleTx(
  tx: UnsignedTx,
  signature: Uint8Array,
  cosignatures: readonly Uint8Array[] = NONE,
): Tx {
  const signed = withSignatures(tx, signature, cosignatures);
  checkShape(signed);
  checkCosignatureCount(signed);
  return signed;
}

/** An op as a builder takes it: no expected revision unless one is given. */
export interface TxOpInput {
  readonly module: string;
  readonly method: string;
  readonly args: Uint8Array;
  readonly expectRev?: number | null;
}

export interface TxFields {
  readonly chainId: string;
  readonly sender: Uint8Array;
  readonly nonce: number;
  readonly expiryHeight: number;
  readonly ops: readonly TxOpInput[];
  readonly cosigners?: readonly Uint8Array[];
}

/** A v2 unsigned tx, shape-checked and frozen. */
export function unsignedTx(fields: TxFields): UnsignedTx {
  const tx: UnsignedTx = {
    version: TX_V2,
    chainId: fields.chainId,
    sender: fields.sender,
    nonce: fields.nonce,
    expiryHeight: fields.expiryHeight,
    ops: Object.freeze(
      fields.ops.map((op) =>
        Object.freeze({
          module: op.module,
          method: op.method,
          args: op.args,
          expectRev: op.expectRev ?? null,
        }),
      ),
    ),
    cosigners: Object.freeze([...(fields.cosigners ?? [])]),
  };
  checkShape(tx);
  return Object.freeze(tx);
}

/** A v1 unsigned tx: one op, no cosigners (what clients that only transfer build). */
export function unsignedTxV1(
  fields: Omit<TxFields, 'ops' | 'cosigners'> & {
    readonly op: Omit<TxOpInput, 'expectRev'>;
  },
): UnsignedTx {
  const { module, method, args } = fields.op;
  return Object.freeze({
    version: TX_V1,
    chainId: fields.chainId,
    sender: fields.sender,
    nonce: fields.nonce,
    expiryHeight: fields.expiryHeight,
    ops: Object.freeze([Object.freeze({ module, method, args, expectRev: null })]),
    cosigners: NONE,
  });
}

/** Builds a v2 tx and signs it as the sender and every cosigner (secrets in cosigner order). */
export function makeTx(
  fields: TxFields,
  senderSecret: Uint8Array,
  cosignerSecrets: readonly Uint8Array[] = [],
): Tx {
  return signTx(unsignedTx(fields), senderSecret, cosignerSecrets);
}
