/**
 * Piscina worker for the benchmark's @noble/curves comparison: the packed-chunk layout of
 * src/crypto/verify-chunk.ts, verified with verifyNoble instead of verifyNative.
 */
import { move } from 'piscina';
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, verifyNoble } from '../src/crypto/ed25519.ts';

const FIXED = SIGNATURE_LENGTH + PUBLIC_KEY_LENGTH;

export default function verifyNobleChunk(buffer: ArrayBuffer): unknown {
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  const count = view.getUint32(0, true);
  const results = new Uint8Array(count);
  let at = 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const messageLength = view.getUint32(4 + 4 * i, true);
    const signature = bytes.subarray(at, at + SIGNATURE_LENGTH);
    const publicKey = bytes.subarray(at + SIGNATURE_LENGTH, at + FIXED);
    const message = bytes.subarray(at + FIXED, at + FIXED + messageLength);
    results[i] = verifyNoble(signature, message, publicKey) ? 1 : 0;
    at += FIXED + messageLength;
  }
  return move(results);
}
