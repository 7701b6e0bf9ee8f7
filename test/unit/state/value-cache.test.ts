/**
 * The committed-value cache: hits only ever give the committed tip's value. A read that a
 * commit overlapped must not fill it, a failed commit empties it, absence is cached, and the
 * bound holds. Then the ledger on a real LevelDB: values read through the cache equal the
 * store's after every commit.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { accountStateKey } from '../../../src/app/bank/account.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { stateKeyHash } from '../../../src/state/smt/index.ts';
import { CommittedValueCache } from '../../../src/state/value-cache.ts';
import { accountAddress, commitNext, makeTestChain, transferTx } from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

const k = (n: number) => new Uint8Array(32).fill(n);
const v = (n: number) => Uint8Array.of(n);

describe('committed-value cache', () => {
  test('a read fills the misses; absence is a hit with undefined', () => {
    const cache = new CommittedValueCache();
    const first = cache.lookup([k(1), k(2)]);
    assert.deepEqual(first.missing, [0, 1]);
    cache.fill(cache.readEpoch(), [k(1), k(2)], [v(7), undefined]);
    const second = cache.lookup([k(2), k(1), k(3)]);
    assert.deepEqual(second.missing, [2]);
    assert.equal(second.values[0], undefined);
    assert.deepEqual(second.values[1], v(7));
    assert.deepEqual(cache.stats(), { hits: 2, misses: 3, entries: 2 });
  });

  test('a read overlapped by a commit, started before or during it, fills nothing', () => {
    const cache = new CommittedValueCache();
    const before = cache.readEpoch();
    cache.beginCommit();
    const during = cache.readEpoch();
    cache.fill(during, [k(1)], [v(1)]); // ends while the commit is writing
    cache.endCommit([[k(9), v(9)]]);
    cache.fill(before, [k(2)], [v(2)]); // started before, ends after
    cache.fill(during, [k(3)], [v(3)]); // started during, ends after
    assert.deepEqual(cache.lookup([k(1), k(2), k(3)]).missing, [0, 1, 2]);
    const after = cache.readEpoch();
    cache.fill(after, [k(4)], [v(4)]);
    assert.deepEqual(cache.lookup([k(4), k(9)]).values, [v(4), v(9)]);
  });

  test("a commit's writes replace cached values, deletions become cached absence", () => {
    const cache = new CommittedValueCache();
    cache.fill(cache.readEpoch(), [k(1), k(2)], [v(1), v(2)]);
    cache.beginCommit();
    cache.endCommit([
      [k(1), v(11)],
      [k(2), null],
    ]);
    const { values, missing } = cache.lookup([k(1), k(2)]);
    assert.deepEqual(missing, []);
    assert.deepEqual(values, [v(11), undefined]);
  });

  test('a failed commit empties the cache: what it wrote is unknown', () => {
    const cache = new CommittedValueCache();
    cache.fill(cache.readEpoch(), [k(1)], [v(1)]);
    cache.beginCommit();
    cache.endCommit();
    assert.deepEqual(cache.lookup([k(1)]).missing, [0]);
  });

  test('bounded by two generations: every hit is the latest value, never more than the bound', () => {
    // Random commits and reads against the truth: rotation must never resurrect a stale value.
    const max = 8;
    const cache = new CommittedValueCache(max);
    const truth = new Map<number, number>();
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 2_000; round++) {
      const key = next(20);
      if (next(2) === 0) {
        const value = next(250);
        truth.set(key, value);
        cache.beginCommit();
        cache.endCommit([[k(key), v(value)]]);
      } else {
        const { values, missing } = cache.lookup([k(key)]);
        if (missing.length === 0) {
          assert.deepEqual(values[0], truth.has(key) ? v(truth.get(key)!) : undefined);
        } else {
          const value = truth.get(key);
          cache.fill(cache.readEpoch(), [k(key)], [value === undefined ? undefined : v(value)]);
        }
      }
      assert.ok(cache.stats().entries <= max);
    }
  });

  test('bounded: the least recently used entry goes first', () => {
    const cache = new CommittedValueCache(2);
    cache.fill(cache.readEpoch(), [k(1), k(2)], [v(1), v(2)]);
    cache.lookup([k(1)]); // k(1) is now newer than k(2)
    cache.fill(cache.readEpoch(), [k(3)], [v(3)]);
    assert.deepEqual(cache.lookup([k(1), k(2), k(3)]).missing, [1]);
    assert.equal(cache.stats().entries, 2);
  });

  test('the ledger reads through it and always agrees with the store', async (t) => {
    const dir = join(await tempDir(t), 'db');
    const chain = makeTestChain({ validators: 4, accounts: 3, balance: 1_000n });
    const ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine());
    t.after(() => ledger.close());
    const keys = [0, 1, 2].map((i) => accountStateKey(accountAddress(chain, i)));
    const agree = async () => {
      for (const key of keys) {
        const cached = await ledger.getValue(key);
        const stored = await ledger.store.getValue(stateKeyHash(key));
        assert.equal(cached && toHex(cached), stored && toHex(stored));
      }
    };
    await agree();
    for (let nonce = 0; nonce < 3; nonce++) {
      // Reads overlapping the commit, then the reads after it.
      const overlapping = ledger.getValue(keys[1]!);
      await commitNext(ledger, chain, [transferTx(chain, 0, accountAddress(chain, 1), 5n, nonce)]);
      await overlapping;
      await agree();
    }
    assert.ok(ledger.valueCacheStats().hits > 0, 'the blocks and reads hit the cache');
  });
});
