/**
 * A batch signature verifier on worker threads that uses @noble/curves (verifyNoble), for the
 * benchmark's portable-backend comparison: same chunk format and round trips as VerifyPool,
 * without its back-pressure (the benchmark's pipeline already bounds what is in flight).
 */
import { Piscina } from 'piscina';
import type { BatchSignatureVerifier, SignatureItem } from '../src/chain/index.ts';
import { verifyNoble } from '../src/crypto/ed25519.ts';
import { hasPackableShape, packChunk } from '../src/crypto/verify-chunk.ts';

export class NobleBatchVerifier implements BatchSignatureVerifier {
  private readonly piscina: Piscina | undefined;
  private readonly workers: number;

  constructor(workers: number) {
    this.workers = workers;
    this.piscina =
      workers > 0
        ? new Piscina({
            // .ts in a checkout, .js when installed (compiled).
            filename: new URL(
              `./noble-verify-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
              import.meta.url,
            ).href,
            minThreads: workers,
            maxThreads: workers,
            concurrentTasksPerWorker: 2,
            idleTimeout: Number.POSITIVE_INFINITY,
          })
        : undefined;
  }

  async verifyBatch(items: readonly SignatureItem[]): Promise<boolean[]> {
    const results = new Array<boolean>(items.length).fill(false);
    const indices: number[] = [];
    for (let i = 0; i < items.length; i++) if (hasPackableShape(items[i]!)) indices.push(i);
    if (this.piscina === undefined) {
      for (const i of indices) {
        const it = items[i]!;
        results[i] = verifyNoble(it.signature, it.message, it.publicKey);
      }
      return results;
    }
    const perChunk = Math.max(1, Math.min(64, Math.ceil(indices.length / this.workers)));
    const jobs: Promise<void>[] = [];
    for (let start = 0; start < indices.length; start += perChunk) {
      const slice = indices.slice(start, start + perChunk);
      const buffer = packChunk(items, slice);
      jobs.push(
        this.piscina.run(buffer, { transferList: [buffer] }).then((answer: Uint8Array) => {
          for (let i = 0; i < slice.length; i++) results[slice[i]!] = answer[i] === 1;
        }),
      );
    }
    await Promise.all(jobs);
    return results;
  }

  async close(): Promise<void> {
    await this.piscina?.close();
  }
}
