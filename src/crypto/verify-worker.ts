/**
 * Piscina worker: verifies one packed chunk (see verify-chunk.ts). The chunk's ArrayBuffer
 * arrives transferred; the result bytes go back transferred too.
 */
import { move } from 'piscina';
import { verifyPackedChunk } from './verify-chunk.ts';

export default function verifyChunkTask(buffer: ArrayBuffer): unknown {
  return move(verifyPackedChunk(buffer));
}
