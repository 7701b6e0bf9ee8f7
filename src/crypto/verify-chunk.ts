/**
 * The wire format of one verification chunk: many signatures packed into ONE ArrayBuffer, so a
 * worker round trip transfers a single buffer instead of structured-cloning 3 small arrays per
 * signature. Layout (little-endian u32):
 *
 *   count | messageLength[count] | (signature 64 | publicKey 32 | message)[count]
 *
 * Only items with a 64-byte signature and a 32-byte key are packed: anything else fails rule 1
 * of the signature rule, and the caller answers `false` for it without a round trip.
 */
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, verifyNative } from './ed25519.ts';

export interface SignedItem {
  readonly signature: Uint8Array;
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
}

const FIXED = SIGNATURE_LENGTH + PUBLIC_KEY_LENGTH;

/** Rule 1 of the signature rule; items failing it are never packed. */
export function hasPackableShape(item: SignedItem): boolean {
  return (
    item.signature instanceof Uint8Array &&
    item.publicKey instanceof Uint8Array &&
    item.message instanceof Uint8Array &&
    item.signature.length === SIGNATURE_LENGTH &&
    item.publicKey.length === PUBLIC_KEY_LENGTH
  );
}

/** Packs `items[indices[i]]` for every i. Every packed item must satisfy hasPackableShape. */
export function packChunk(
  items: ReadonlyArray<SignedItem>,
  indices: ArrayLike<number>,
): ArrayBuffer {
  const count = indices.length;
  let size = 4 + 4 * count + FIXED * count;
  for (let i = 0; i < count; i++) size += items[indices[i]!]!.message.length;
  const buffer = new ArrayBuffer(size);
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  view.setUint32(0, count, true);
  let at = 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const item = items[indices[i]!]!;
    view.setUint32(4 + 4 * i, item.message.length, true);
    bytes.set(item.signature, at);
    bytes.set(item.publicKey, at + SIGNATURE_LENGTH);
    bytes.set(item.message, at + FIXED);
    at += FIXED + item.message.length;
  }
  return buffer;
}

/**
 * Verifies every item of a packed chunk (with verifyNative unless another backend of the
 * same rule is given: the pool's workers pass theirs, the noble benchmark verifyNoble);
 * result[i] is 1 for valid.
 */
export function verifyPackedChunk(
  buffer: ArrayBuffer,
  verify: typeof verifyNative = verifyNative,
): Uint8Array {
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  const count = view.getUint32(0, true);
  const results = new Uint8Array(count);
  let at = 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const messageLength = view.getUint32(4 + 4 * i, true);
    // Views, not copies: the backends (OpenSSL, libsodium, noble) read them in place.
    const signature = bytes.subarray(at, at + SIGNATURE_LENGTH);
    const publicKey = bytes.subarray(at + SIGNATURE_LENGTH, at + FIXED);
    const message = bytes.subarray(at + FIXED, at + FIXED + messageLength);
    results[i] = verify(signature, message, publicKey) ? 1 : 0;
    at += FIXED + messageLength;
  }
  return results;
}
