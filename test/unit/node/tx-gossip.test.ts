/**
 * Tx gossip batches: what a node publishes for the txs clients submit to it, and the verdict
 * a receiver gives a batch (reject if anything in it is invalid, accept if anything was new).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from '../../../src/codec/index.ts';
import { silentLogger } from '../../../src/node/logger.ts';
import {
  decodeTxBatch,
  encodeTxBatch,
  MAX_TXS_PER_BATCH,
  TxGossip,
} from '../../../src/node/tx-gossip.ts';

const tx = (n: number, size = 100): Uint8Array => new Uint8Array(size).fill(n);

function gossip(opts: { maxDelayMs?: number; maxTxs?: number; maxBytes?: number } = {}) {
  const published: Uint8Array[][] = [];
  const g = new TxGossip(opts, {
    publish: async (batch) => {
      published.push(decodeTxBatch(batch));
    },
    admit: async (bytes) =>
      bytes[0] === 0xff ? 'reject' : bytes[0]! % 2 === 0 ? 'accept' : 'ignore',
    logger: silentLogger,
  });
  return { g, published };
}

test('a batch round-trips; malformed batches do not decode', () => {
  const txs = [tx(1), tx(2, 17 * 1024), tx(3, 1)];
  assert.deepEqual(decodeTxBatch(encodeTxBatch(txs)), txs);
  const bad = [
    encode((w) => w.u8(1).varuint(0)), // empty
    Uint8Array.of(...encodeTxBatch([tx(1)]), 0), // trailing byte
    Uint8Array.of(2, ...encodeTxBatch([tx(1)]).subarray(1)), // unknown version
    encodeTxBatch([tx(1, 17 * 1024 + 1)]), // a tx over the size limit
    encode((w) => w.u8(1).varuint(MAX_TXS_PER_BATCH + 1)), // count over the cap
    encodeTxBatch([tx(1)]).subarray(0, 50), // truncated
  ];
  for (const b of bad) {
    assert.throws(
      () => decodeTxBatch(b),
      (err: { code?: string }) => err.code?.startsWith('CODEC_') === true,
    );
  }
});

test('submitted txs go out together after the delay, or at once when the batch is full', async () => {
  const { g, published } = gossip({ maxDelayMs: 30, maxTxs: 3 });
  g.enqueue(tx(1));
  g.enqueue(tx(2));
  assert.equal(published.length, 0, 'waits for more');
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(published, [[tx(1), tx(2)]]);
  g.enqueue(tx(3));
  g.enqueue(tx(4));
  g.enqueue(tx(5));
  assert.deepEqual(published[1], [tx(3), tx(4), tx(5)], 'full: published without waiting');
  g.stop();
});

test('a batch never passes maxBytes: the pending one is flushed first', () => {
  const { g, published } = gossip({ maxDelayMs: 10_000, maxBytes: 1_000 });
  for (let i = 0; i < 5; i++) g.enqueue(tx(i, 300));
  g.flush();
  assert.deepEqual(
    published.map((b) => b.length),
    [3, 2],
  );
  for (const b of published) assert.ok(encodeTxBatch(b).length <= 1_000);
  g.stop();
});

test('receiver verdicts: reject on any invalid tx, accept on any new one, else ignore', async () => {
  const { g } = gossip();
  assert.equal(await g.receive(encodeTxBatch([tx(1), tx(2)])), 'accept');
  assert.equal(await g.receive(encodeTxBatch([tx(1), tx(3)])), 'ignore');
  assert.equal(await g.receive(encodeTxBatch([tx(2), tx(0xff)])), 'reject');
  assert.equal(await g.receive(tx(1)), 'reject', 'a bare tx is not a batch');
});

test('a received batch is admitted in slices, yielding to the event loop between them', async () => {
  const admitted: number[] = [];
  let seenByOtherWork = -1;
  const g = new TxGossip(
    { sliceTxs: 4 },
    {
      publish: async () => {},
      admit: async (bytes) => {
        // Work that arrives while the first slice runs (a consensus message, say) gets its
        // turn before the next slice, not after the whole batch.
        if (admitted.length === 0) setImmediate(() => (seenByOtherWork = admitted.length));
        admitted.push(bytes[0]!);
        return 'accept';
      },
      logger: silentLogger,
    },
  );
  const verdict = g.receive(encodeTxBatch(Array.from({ length: 10 }, (_, i) => tx(i))));
  assert.equal(g.queuedTxs, 10);
  assert.equal(await verdict, 'accept');
  assert.deepEqual(admitted, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'in order');
  assert.equal(seenByOtherWork, 4, 'other work ran after the first slice');
  assert.equal(g.queuedTxs, 0);
});

test('the ingest queue is bounded: a batch that would overflow it is ignored, not admitted', async () => {
  let admitted = 0;
  const g = new TxGossip(
    { sliceTxs: 2, maxQueuedTxs: 5 },
    {
      publish: async () => {},
      admit: async () => {
        admitted++;
        return 'accept';
      },
      logger: silentLogger,
    },
  );
  const first = g.receive(encodeTxBatch([tx(0), tx(2), tx(4), tx(6)]));
  assert.equal(await g.receive(encodeTxBatch([tx(8), tx(10)])), 'ignore', 'would make 6 > 5');
  assert.equal(g.batchesDropped, 1);
  assert.equal(await first, 'accept');
  assert.equal(admitted, 4);
  assert.equal(await g.receive(encodeTxBatch([tx(8), tx(10)])), 'accept', 'room again');
});

test('a batch with an invalid tx is rejected and the rest of it is not admitted', async () => {
  const admitted: number[] = [];
  const g = new TxGossip(
    { sliceTxs: 2 },
    {
      publish: async () => {},
      admit: async (bytes) => {
        admitted.push(bytes[0]!);
        return bytes[0] === 0xff ? 'reject' : 'accept';
      },
      logger: silentLogger,
    },
  );
  const bad = g.receive(encodeTxBatch([tx(0), tx(0xff), tx(2), tx(4), tx(6)]));
  const good = g.receive(encodeTxBatch([tx(8)]));
  assert.equal(await bad, 'reject');
  assert.equal(await good, 'accept');
  assert.deepEqual(admitted, [0, 0xff, 8], 'txs after the invalid slice are skipped');
  assert.equal(g.queuedTxs, 0);
});
