import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CommitCertificate, makeValidatorSet } from '../../../src/chain/index.ts';
import { ClockHealth } from '../../../src/node/clock-health.ts';

const keys = [1, 2, 3, 4].map((i) => new Uint8Array(32).fill(i));
const set = makeValidatorSet(keys);

function cert(votes: ReadonlyArray<[number, number]>): CommitCertificate {
  return {
    height: 1,
    view: 0,
    blockHash: new Uint8Array(32),
    signatures: votes.map(([validatorIndex, timestamp]) => ({
      validatorIndex,
      signature: new Uint8Array(64),
      timestamp,
    })),
  };
}

describe('clock health', () => {
  test('unknown until a certificate is seen, and then unknown is not unhealthy', () => {
    const health = new ClockHealth({ maxDriftMs: 10_000, self: keys[0]! });
    assert.deepEqual(health.report(), { offsetMs: null, ok: true, maxDriftMs: 10_000, peers: 0 });
  });

  test('a clock 60 s slow reads the validators 60 s ahead: offset −60 s, not ok', () => {
    const health = new ClockHealth({ maxDriftMs: 10_000, self: keys[3]! });
    const now = 1_000_000;
    // Our own vote (validator 3) says nothing about our clock.
    health.observe(
      cert([
        [0, now + 60_000],
        [1, now + 60_100],
        [3, now],
      ]),
      set,
      now,
    );
    assert.deepEqual(health.report(), {
      offsetMs: -60_050,
      ok: false,
      maxDriftMs: 10_000,
      peers: 2,
    });
  });

  test('one skewed peer cannot move the estimate; samples follow the latest certificate', () => {
    const health = new ClockHealth({ maxDriftMs: 10_000, self: keys[0]! });
    const now = 5_000_000;
    health.observe(
      cert([
        [1, now - 20],
        [2, now - 10],
        [3, now + 3_600_000],
      ]),
      set,
      now,
    );
    assert.equal(health.report().offsetMs, 10);
    assert.equal(health.report().ok, true);
    // Validator 3 missing from the next certificate keeps its last sample.
    health.observe(
      cert([
        [1, now + 1_000 - 30],
        [2, now + 1_000 - 30],
      ]),
      set,
      now + 1_000,
    );
    assert.equal(health.report().offsetMs, 30);
    assert.equal(health.report().peers, 3);
  });
});
