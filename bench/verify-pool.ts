/**
 * Signature-verification throughput: the single-thread ceiling of verifyNative (on the node's
 * native backend: libsodium where its addon loads, else node:crypto), then VerifyPool
 * (piscina) with 1 and 2 workers at batch sizes 100 / 1,000 / 10,000, each as a ratio to
 * workers × single-core and to cores × single-core. A minimal hand-written worker_threads pool
 * (same packed chunks, same worker code) runs alongside as the yardstick for piscina's overhead.
 *
 *   node_modules/.bin/node bench/verify-pool.ts [--json] [--seconds 0.5]
 *
 * Batches are verified one after another (block validation waits for each batch), except the
 * rows marked "×4 concurrent", which keep 4 batches in flight.
 */
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { nativeVerifier, verifyNative } from '../src/crypto/ed25519.ts';
import { hasPackableShape, packChunk, type SignedItem } from '../src/crypto/verify-chunk.ts';
import { VerifyPool } from '../src/crypto/verify-pool.ts';

const args = process.argv.slice(2);
const jsonOnly = args.includes('--json');
const secondsArg = args.indexOf('--seconds');
const SLICE_SECONDS = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 0.5;
const ROUNDS = 3;
const BATCH_SIZES = [100, 1000, 10000];
const WORKER_COUNTS = [1, 2];
const KEYS = 64;

function log(line: string): void {
  if (!jsonOnly) console.log(line);
}

function makeItems(count: number): SignedItem[] {
  // node:crypto signs ~20x faster than noble, which keeps set-up short.
  const keys = Array.from({ length: KEYS }, () => generateKeyPairSync('ed25519'));
  const raw = keys.map((k) => {
    const der = k.publicKey.export({ format: 'der', type: 'spki' });
    return new Uint8Array(der.subarray(der.length - 32));
  });
  return Array.from({ length: count }, (_, i) => {
    const message = new Uint8Array(64);
    new DataView(message.buffer).setUint32(0, i);
    const signature = new Uint8Array(nodeSign(null, message, keys[i % KEYS]!.privateKey));
    return { signature, message, publicKey: raw[i % KEYS]! };
  });
}

/** Runs `round` for about `seconds` (at least once); returns items per second. */
async function slice(itemsPerRound: number, round: () => unknown): Promise<number> {
  let rounds = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    await round();
    rounds++;
    elapsed = performance.now() - start;
  } while (elapsed < SLICE_SECONDS * 1000);
  return (rounds * itemsPerRound) / (elapsed / 1000);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The machine is shared, so load drifts during a run. Each contender gets ROUNDS short slices,
 * interleaved with the others (single thread, piscina, hand-written, then again), and reports
 * its median; ratios use the single-thread median of the same group.
 */
async function interleaved(contenders: Array<[string, number, () => unknown]>) {
  for (const [, , round] of contenders) await round(); // warm-up: caches, JIT, worker start
  const samples = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, items, round] of contenders)
      samples.get(name)!.push(await slice(items, round));
  }
  return new Map([...samples].map(([name, xs]) => [name, median(xs)]));
}

/**
 * The yardstick: N bare worker_threads, each running the same verifyPackedChunk, with at most
 * two chunks in flight per worker, least-loaded dispatch, transferred buffers.
 */
class HandWrittenPool {
  private readonly workers: { worker: Worker; inFlight: number }[] = [];
  private readonly pending = new Map<number, (r: Uint8Array) => void>();
  private nextId = 0;

  constructor(count: number) {
    const chunkModule = new URL(
      `../src/crypto/verify-chunk.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
      import.meta.url,
    ).href;
    const source = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(chunkModule)}).then(({ verifyPackedChunk }) => {
        parentPort.on('message', ({ id, buffer }) => {
          const result = verifyPackedChunk(buffer);
          parentPort.postMessage({ id, result }, [result.buffer]);
        });
        parentPort.postMessage('ready');
      });`;
    for (let i = 0; i < count; i++) {
      const worker = new Worker(source, { eval: true });
      const slot = { worker, inFlight: 0 };
      worker.on('message', (msg: { id: number; result: Uint8Array } | 'ready') => {
        if (msg === 'ready') return;
        slot.inFlight--;
        this.pending.get(msg.id)!(msg.result);
        this.pending.delete(msg.id);
      });
      this.workers.push(slot);
    }
  }

  async ready(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) => new Promise<void>((resolve) => w.worker.once('message', () => resolve())),
      ),
    );
  }

  private run(buffer: ArrayBuffer): Promise<Uint8Array> {
    let best = this.workers[0]!;
    for (const w of this.workers) if (w.inFlight < best.inFlight) best = w;
    best.inFlight++;
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      best.worker.postMessage({ id, buffer }, [buffer]);
    });
  }

  async verifyBatch(items: ReadonlyArray<SignedItem>, chunkSize: number): Promise<boolean[]> {
    const results = new Array<boolean>(items.length).fill(false);
    const indices: number[] = [];
    for (let i = 0; i < items.length; i++) if (hasPackableShape(items[i]!)) indices.push(i);
    const perChunk = Math.min(chunkSize, Math.ceil(indices.length / this.workers.length));
    const jobs: Promise<void>[] = [];
    for (let start = 0; start < indices.length; start += perChunk) {
      const slice = indices.slice(start, start + perChunk);
      jobs.push(
        this.run(packChunk(items, slice)).then((r) => {
          for (let i = 0; i < slice.length; i++) results[slice[i]!] = r[i] === 1;
        }),
      );
    }
    await Promise.all(jobs);
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

interface Row {
  pool: 'piscina' | 'hand-written';
  workers: number;
  batchSize: number;
  concurrentBatches: number;
  sigsPerSecond: number;
  singleThreadSigsPerSecond: number;
  ratioToWorkersTimesSingle: number;
  ratioToCoresTimesSingle: number;
}

async function main(): Promise<void> {
  const cores = availableParallelism();
  const items = makeItems(Math.max(...BATCH_SIZES));
  const expected = items.map((x) => verifyNative(x.signature, x.message, x.publicKey));
  if (!expected.every(Boolean)) throw new Error('set-up produced an invalid signature');
  log(`cpu: ${cpus()[0]?.model ?? 'unknown'}, ${cores} cores, load ${loadavg()[0]!.toFixed(2)}`);
  log(`ed25519 backend: ${nativeVerifier()} (verifyNative, the pool's workers)`);

  const rows: Row[] = [];
  const singles: number[] = [];
  const header =
    'pool          workers  batch  concurrent   sigs/s  single/s  %workers×single  %cores×single';
  log(header);
  for (const workers of WORKER_COUNTS) {
    const pool = VerifyPool.create({ workers });
    const check = await pool.verifyBatch(items);
    if (check.some((ok, i) => ok !== expected[i]))
      throw new Error('pool disagrees with verifyNative');
    const hand = new HandWrittenPool(workers);
    await hand.ready();
    const cases: Array<{ batchSize: number; concurrent: number }> = [
      ...BATCH_SIZES.map((batchSize) => ({ batchSize, concurrent: 1 })),
      { batchSize: 100, concurrent: 4 },
    ];
    for (const { batchSize, concurrent } of cases) {
      const batch = items.slice(0, batchSize);
      const many = <T>(f: () => Promise<T>) =>
        concurrent === 1 ? f() : Promise.all(Array.from({ length: concurrent }, f));
      const results = await interleaved([
        [
          'single',
          batchSize,
          () => {
            for (const x of batch) verifyNative(x.signature, x.message, x.publicKey);
          },
        ],
        ['piscina', batchSize * concurrent, () => many(() => pool.verifyBatch(batch))],
        ['hand-written', batchSize * concurrent, () => many(() => hand.verifyBatch(batch, 256))],
      ]);
      const single = results.get('single')!;
      singles.push(single);
      for (const name of ['piscina', 'hand-written'] as const) {
        const sigsPerSecond = results.get(name)!;
        const row: Row = {
          pool: name,
          workers,
          batchSize,
          concurrentBatches: concurrent,
          sigsPerSecond,
          singleThreadSigsPerSecond: single,
          ratioToWorkersTimesSingle: sigsPerSecond / (workers * single),
          ratioToCoresTimesSingle: sigsPerSecond / (cores * single),
        };
        rows.push(row);
        log(
          `${name.padEnd(12)}  ${String(workers).padStart(7)}  ${String(batchSize).padStart(5)}` +
            `  ${String(concurrent).padStart(10)}  ${sigsPerSecond.toFixed(0).padStart(7)}` +
            `  ${single.toFixed(0).padStart(8)}` +
            `  ${(100 * row.ratioToWorkersTimesSingle).toFixed(0).padStart(14)}%` +
            `  ${(100 * row.ratioToCoresTimesSingle).toFixed(0).padStart(12)}%`,
        );
      }
    }
    await pool.close();
    await hand.close();
  }

  const single = median(singles);
  log(`\nsingle-thread verifyNative (median over groups): ${single.toFixed(0)} sigs/s per core`);
  log(`ceiling, ${cores} cores x single: ${(cores * single).toFixed(0)} sigs/s`);
  const report = {
    benchmark: 'verify-pool',
    backend: nativeVerifier(),
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores,
    loadAverageAtEnd: loadavg()[0],
    sliceSeconds: SLICE_SECONDS,
    rounds: ROUNDS,
    singleThreadSigsPerSecond: single,
    ceilingSigsPerSecond: cores * single,
    rows,
  };
  if (jsonOnly) console.log(JSON.stringify(report, null, 2));
  else console.log(`\n${JSON.stringify(report)}`);
}

await main();
