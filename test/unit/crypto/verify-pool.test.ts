import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { verifyNative } from '../../../src/crypto/ed25519.ts';
import { packChunk, type SignedItem, verifyPackedChunk } from '../../../src/crypto/verify-chunk.ts';
import { VerifyPool } from '../../../src/crypto/verify-pool.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { L, scalarFromBytes, scalarToBytes, unhex } from './ed25519-reference.ts';

const KEYS = Array.from({ length: 8 }, () => {
  const pair = generateKeyPairSync('ed25519');
  const der = pair.publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey: pair.privateKey, publicKey: new Uint8Array(der.subarray(der.length - 32)) };
});

function signed(i: number, messageLength = 40): SignedItem {
  const message = new Uint8Array(messageLength);
  if (messageLength >= 4) new DataView(message.buffer).setUint32(0, i);
  const key = KEYS[i % KEYS.length]!;
  return {
    signature: new Uint8Array(nodeSign(null, message, key.privateKey)),
    message,
    publicKey: key.publicKey,
  };
}

/** Valid iff i % 3 === 0, with a different kind of defect for the rest. */
function mixedItems(count: number): SignedItem[] {
  return Array.from({ length: count }, (_, i) => {
    const item = signed(i, i % 5 === 0 ? 0 : 1 + (i % 97));
    if (i % 3 === 0) return item;
    const signature = item.signature.slice();
    switch (i % 9) {
      case 1:
      case 2:
        signature[i % 64]! ^= 1 << (i % 8);
        return { ...item, signature };
      case 4: {
        const S = scalarFromBytes(signature.subarray(32)) + L;
        return {
          ...item,
          signature: new Uint8Array([...signature.subarray(0, 32), ...scalarToBytes(S)]),
        };
      }
      case 5:
        return { ...item, signature: signature.subarray(0, 63) };
      case 7:
        return { ...item, publicKey: item.publicKey.subarray(1) };
      default:
        return { ...item, message: new Uint8Array([...item.message, 0]) };
    }
  });
}

function expectedOf(items: ReadonlyArray<SignedItem>): boolean[] {
  return items.map((x) => verifyNative(x.signature, x.message, x.publicKey));
}

/** The published and generated edge vectors, so the pool is held to the conformance verdicts. */
function edgeItems(): { items: SignedItem[]; verdicts: boolean[] } {
  const edge = JSON.parse(
    readFileSync(new URL('../../fixtures/ed25519-edge.json', import.meta.url), 'utf8'),
  ) as { vectors: { publicKey: string; message: string; signature: string; expected: boolean }[] };
  return {
    items: edge.vectors.map((v) => ({
      signature: unhex(v.signature),
      message: unhex(v.message),
      publicKey: unhex(v.publicKey),
    })),
    verdicts: edge.vectors.map((v) => v.expected),
  };
}

describe('packed chunks', () => {
  test('pack then verify in place gives verifyNative per item', () => {
    const items = mixedItems(60).filter(
      (x) => x.signature.length === 64 && x.publicKey.length === 32,
    );
    const indices = items.map((_, i) => i).reverse();
    const results = verifyPackedChunk(packChunk(items, indices));
    assert.deepEqual(
      Array.from(results, (r) => r === 1),
      indices.map((i) => verifyNative(items[i]!.signature, items[i]!.message, items[i]!.publicKey)),
    );
  });
});

describe('VerifyPool on worker threads', () => {
  let pool: VerifyPool;
  before(() => {
    pool = VerifyPool.create({ workers: 2, chunkSize: 7, mainThreadBelow: 4, maxQueuedJobs: 3 });
  });
  after(() => pool.close());

  test('results equal verifyNative per item, in order, across many chunks', async () => {
    const items = mixedItems(500);
    const expected = expectedOf(items);
    assert.ok(expected.includes(true) && expected.includes(false));
    const before = pool.stats();
    assert.deepEqual(await pool.verifyBatch(items), expected);
    const stats = pool.stats();
    const packable = items.filter((x) => x.signature.length === 64 && x.publicKey.length === 32);
    assert.equal(stats.jobs - before.jobs, Math.ceil(packable.length / 7), 'one job per chunk');
    assert.equal(stats.itemsMalformed - before.itemsMalformed, items.length - packable.length);
  });

  test('edge vectors get their conformance verdicts from the workers', async () => {
    const { items, verdicts } = edgeItems();
    assert.deepEqual(await pool.verifyBatch(items), verdicts);
  });

  test('empty batch', async () => {
    const before = pool.stats();
    assert.deepEqual(await pool.verifyBatch([]), []);
    assert.equal(pool.stats().jobs, before.jobs);
  });

  test('small batches stay on the calling thread', async () => {
    const items = mixedItems(3);
    const before = pool.stats();
    assert.deepEqual(await pool.verifyBatch(items), expectedOf(items));
    const stats = pool.stats();
    assert.equal(stats.jobs, before.jobs);
    assert.ok(stats.itemsOnMainThread > before.itemsOnMainThread);
  });

  test('concurrent batches: the job bound holds and callers wait instead', async () => {
    const batches = Array.from({ length: 12 }, (_, b) => mixedItems(30 + b * 5));
    let observedMax = 0;
    let sawWaiting = false;
    let done = false;
    const sampler = (async () => {
      while (!done) {
        const s = pool.stats();
        observedMax = Math.max(observedMax, s.jobsInFlight);
        if (s.jobsWaiting > 0) sawWaiting = true;
        await nextTurn();
      }
    })();
    let results: boolean[][];
    try {
      results = await Promise.all(batches.map((b) => pool.verifyBatch(b)));
    } finally {
      done = true;
      await sampler;
    }
    for (const [b, r] of results.entries()) {
      assert.deepEqual(r, expectedOf(batches[b]!), `batch ${b}`);
    }
    const stats = pool.stats();
    assert.ok(observedMax <= 3, `observed ${observedMax} jobs in flight`);
    assert.ok(stats.peakJobsInFlight <= 3, `peak ${stats.peakJobsInFlight}`);
    assert.equal(stats.peakJobsInFlight, 3, 'the bound was reached');
    assert.ok(sawWaiting && stats.backpressureWaits > 0, 'callers had to wait');
    assert.equal(stats.jobsInFlight, 0);
    assert.equal(stats.jobsWaiting, 0);
  });
});

describe('VerifyPool on each native backend', () => {
  for (const backend of ['sodium', 'node:crypto'] as const) {
    test(`${backend}: the workers and the calling thread give the conformance verdicts`, async () => {
      const pool = VerifyPool.create({ workers: 1, chunkSize: 16, mainThreadBelow: 8, backend });
      try {
        assert.equal(pool.stats().backend, backend);
        const { items, verdicts } = edgeItems();
        assert.deepEqual(await pool.verifyBatch(items), verdicts);
        for (let i = 0; i < items.length; i += 5) {
          // Batches below mainThreadBelow: the calling thread, on the same backend.
          assert.deepEqual(await pool.verifyBatch(items.slice(i, i + 5)), verdicts.slice(i, i + 5));
        }
        const stats = pool.stats();
        assert.ok(stats.itemsOnWorkers > 0 && stats.itemsOnMainThread > 0);
      } finally {
        await pool.close();
      }
    });
  }
});

describe('VerifyPool lifecycle and options', () => {
  test('workers: 0 verifies everything on the calling thread', async () => {
    const pool = VerifyPool.create({ workers: 0, chunkSize: 16 });
    const items = mixedItems(100);
    assert.deepEqual(await pool.verifyBatch(items), expectedOf(items));
    const stats = pool.stats();
    assert.equal(stats.jobs, 0);
    assert.equal(stats.itemsOnMainThread + stats.itemsMalformed, 100);
    await pool.close();
  });

  test('workers start when a batch needs them and stop when idle', async () => {
    const pool = VerifyPool.create({
      workers: 2,
      chunkSize: 8,
      mainThreadBelow: 16,
      idleWorkerMs: 50,
    });
    assert.equal(pool.stats().liveWorkers, 0, 'none at creation');
    const small = mixedItems(10);
    assert.deepEqual(await pool.verifyBatch(small), expectedOf(small));
    assert.equal(pool.stats().liveWorkers, 0, 'a batch the calling thread takes starts none');
    const large = mixedItems(200);
    assert.deepEqual(await pool.verifyBatch(large), expectedOf(large));
    assert.ok(pool.stats().liveWorkers >= 1, 'a large batch started workers');
    assert.ok(pool.stats().itemsOnWorkers > 0);
    // A generous bound: on a loaded machine a second worker may still be starting up.
    const deadline = Date.now() + 60_000;
    while (pool.stats().liveWorkers > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(pool.stats().liveWorkers, 0, 'idle workers stopped');
    // And they come back for the next large batch.
    assert.deepEqual(await pool.verifyBatch(large), expectedOf(large));
    await pool.close();
  });

  test('with no worker running, only a batch of startWorkersAt items starts one', async () => {
    const pool = VerifyPool.create({
      workers: 1,
      chunkSize: 8,
      mainThreadBelow: 4,
      startWorkersAt: 100,
    });
    const medium = mixedItems(50);
    assert.deepEqual(await pool.verifyBatch(medium), expectedOf(medium));
    assert.equal(pool.stats().jobs, 0, 'below startWorkersAt: the calling thread');
    assert.equal(pool.stats().liveWorkers, 0);
    const large = mixedItems(300);
    assert.deepEqual(await pool.verifyBatch(large), expectedOf(large));
    assert.equal(pool.stats().liveWorkers, 1, 'a batch of at least startWorkersAt started one');
    const jobs = pool.stats().jobs;
    assert.deepEqual(await pool.verifyBatch(medium), expectedOf(medium));
    assert.ok(pool.stats().jobs > jobs, 'with a worker running, mainThreadBelow decides');
    await pool.close();
  });

  test('close() lets accepted batches finish, then refuses new ones', async () => {
    const pool = VerifyPool.create({ workers: 1, chunkSize: 10, mainThreadBelow: 0 });
    const items = mixedItems(120);
    const pending = pool.verifyBatch(items);
    const closing = pool.close();
    assert.deepEqual(await pending, expectedOf(items));
    await closing;
    await pool.close(); // idempotent
    await assert.rejects(
      pool.verifyBatch(items),
      (err: unknown) => isCivitasError(err) && err.code === 'CRYPTO_VERIFY_POOL_CLOSED',
    );
    assert.equal(pool.stats().jobsInFlight, 0);
  });

  test('bad options are typed errors', () => {
    for (const opts of [
      { workers: -1 },
      { chunkSize: 0 },
      { maxQueuedJobs: 1.5 },
      { idleWorkerMs: -1 },
      { startWorkersAt: -2 },
    ]) {
      assert.throws(
        () => VerifyPool.create(opts),
        (err: unknown) => isCivitasError(err) && err.code === 'CRYPTO_VERIFY_POOL_BAD_OPTION',
        JSON.stringify(opts),
      );
    }
  });
});
