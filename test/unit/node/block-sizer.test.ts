/**
 * The proposal cap: shrinks after a slow full height or a view change, grows after fast full
 * ones, and never leaves [minTxs, maxTxs].
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BlockSizer } from '../../../src/node/block-sizer.ts';

const opts = { maxTxs: 1_000, minTxs: 100, targetMs: 1_000 };

test('starts at the chain limit; a view change halves the cap, a slow full height shrinks it', () => {
  const s = new BlockSizer(opts);
  assert.equal(s.maxTxs, 1_000);
  s.observe(1_000, 500, 1);
  assert.equal(s.maxTxs, 500);
  s.observe(500, 1_500, 0);
  assert.equal(s.maxTxs, 350);
});

test('a slow small block does not shrink the cap (fixed costs, not size, made it slow)', () => {
  const s = new BlockSizer(opts);
  s.observe(1_000, 600, 1);
  s.observe(20, 3_000, 0);
  assert.equal(s.maxTxs, 500);
});

test('fast full heights grow the cap back to the limit, and no further', () => {
  const s = new BlockSizer(opts);
  s.observe(1_000, 100, 1);
  s.observe(500, 100, 1);
  assert.equal(s.maxTxs, 250);
  s.observe(100, 100, 0); // not full: no change
  assert.equal(s.maxTxs, 250);
  for (let i = 0; i < 20; i++) s.observe(s.maxTxs, 100, 0);
  assert.equal(s.maxTxs, 1_000);
});

test('the cap stays within [minTxs, maxTxs] whatever is observed', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(2_000), fc.nat(10_000), fc.nat(3)), { maxLength: 60 }),
      (events) => {
        const s = new BlockSizer(opts);
        for (const [txs, ms, view] of events) {
          s.observe(txs, ms, view);
          assert.ok(s.maxTxs >= 100 && s.maxTxs <= 1_000, String(s.maxTxs));
        }
      },
    ),
  );
});
