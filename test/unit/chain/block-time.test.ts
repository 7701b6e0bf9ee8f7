import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  blockTimeOf,
  type CommitCertificate,
  certificateTime,
  commitVoteTime,
} from '../../../src/chain/index.ts';

function cert(times: readonly number[]): CommitCertificate {
  return {
    height: 1,
    view: 0,
    blockHash: new Uint8Array(32),
    signatures: times.map((timestamp, validatorIndex) => ({
      validatorIndex,
      signature: new Uint8Array(64),
      timestamp,
    })),
  };
}

describe('block time from the quorum', () => {
  test('the lower median of the vote times; genesis + 1 ms at height 1', () => {
    assert.equal(certificateTime(cert([30, 10, 20])), 20);
    assert.equal(certificateTime(cert([40, 10, 30, 20])), 20);
    assert.equal(blockTimeOf(1, null, 1_000), 1_001);
    assert.equal(blockTimeOf(5, cert([7, 9, 8]), 1_000), 8);
  });

  test('an honest vote is never at or before the block it commits', () => {
    assert.equal(commitVoteTime(500, 100), 500);
    assert.equal(commitVoteTime(50, 100), 101);
    assert.equal(commitVoteTime(100.7, 100), 101);
  });

  test('with at most f liars among ≥ 2f+1 votes, the time lies within the honest votes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 21 }),
        fc.array(fc.maxSafeNat(), { minLength: 64, maxLength: 64 }),
        fc.array(fc.oneof(fc.constant(0), fc.maxSafeNat()), { minLength: 21, maxLength: 21 }),
        fc.nat(),
        (f, honestPool, lies, extra) => {
          const n = 3 * f + 1;
          // A certificate of k votes, 2f+1 ≤ k ≤ n, of which up to f lie (any value).
          const k = 2 * f + 1 + (extra % (n - 2 * f));
          const liars = extra % (f + 1);
          const honest = honestPool.slice(0, k - liars);
          const times = [...honest, ...lies.slice(0, liars)];
          const t = certificateTime(cert(times));
          assert.ok(t >= Math.min(...honest) && t <= Math.max(...honest));
        },
      ),
      { numRuns: 300 },
    );
  });
});
