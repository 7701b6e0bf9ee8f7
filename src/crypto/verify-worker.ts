/**
 * Piscina worker: verifies one packed chunk (see verify-chunk.ts) on the backend its pool names
 * in workerData (the backend of the thread that created the pool). The chunk's ArrayBuffer
 * arrives transferred; the result bytes go back transferred too.
 */
import { move, workerData } from 'piscina';
import { verifierOf } from './ed25519.ts';
import { verifyPackedChunk } from './verify-chunk.ts';
import type { VerifyWorkerData } from './verify-pool.ts';

// Resolved (and libsodium loaded) once, when the worker starts, not per chunk.
const verify = verifierOf((workerData as VerifyWorkerData | undefined)?.backend ?? 'native');

export default function verifyChunkTask(buffer: ArrayBuffer): unknown {
  return move(verifyPackedChunk(buffer, verify));
}
