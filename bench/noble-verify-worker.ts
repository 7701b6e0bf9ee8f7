/**
 * Piscina worker for the benchmark's @noble/curves comparison: the packed-chunk layout of
 * src/crypto/verify-chunk.ts, verified with verifyNoble instead of verifyNative.
 */
import { move } from 'piscina';
import { verifyNoble } from '../src/crypto/ed25519.ts';
import { verifyPackedChunk } from '../src/crypto/verify-chunk.ts';

export default function verifyNobleChunk(buffer: ArrayBuffer): unknown {
  return move(verifyPackedChunk(buffer, verifyNoble));
}
