import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAULTS } from '../../../../src/consensus/sim/faults.ts';
import { runSimulation } from '../../../../src/consensus/sim/simulation.ts';
import { ALL_SWEEP_MIXES } from '../../../../src/consensus/sim/sweep.ts';

/** The long sweep's mixes, a few seeds each. */
const MIXES = ALL_SWEEP_MIXES;

describe('HotStuff in the simulator', () => {
  for (const mix of MIXES) {
    const name = mix.length === FAULTS.length ? 'all faults' : mix.join(',');
    it(`passes every check under ${name}`, () => {
      for (const [validators, seed] of [
        [4, 1],
        [4, 2],
        [7, 3],
      ] as const) {
        const report = runSimulation({ validators, seed, faults: mix, protocol: 'hotstuff' });
        assert.deepEqual(
          report.violations.map((v) => `${v.kind}: ${v.detail}`),
          [],
          `n=${validators} seed ${seed}`,
        );
        assert.ok(report.committedMin > 0, `n=${validators} seed ${seed} committed nothing`);
      }
    });
  }

  it('a replica behind a validator-set change it has not seen asks its peers (seeds that stalled)', () => {
    // A later certificate fails against the guessed set (a validator was added in between);
    // the replica must still ask for sync, as PBFT's engine does.
    for (const [seed, faults] of [
      [13, ['reconfig', 'partition', 'crash', 'delay']],
      [9, ['reconfig', 'twins', 'silent', 'invalid-block', 'crash']],
    ] as const) {
      const report = runSimulation({ validators: 4, seed, faults, protocol: 'hotstuff' });
      assert.deepEqual(
        report.violations.map((v) => `${v.kind}: ${v.detail}`),
        [],
        `seed ${seed}`,
      );
    }
  });

  it('keeps a validated body after its view and commits only bodies it checked (seeds that failed)', () => {
    // n = 7 seed 42: a PREPARE QC arrived after the view changed and every replica had
    // dropped its block, so no leader could re-propose it (liveness). n = 10 seed 60: a
    // forged copy of a proposal (its certificate altered, its hash unchanged) was committed
    // unchecked (validity).
    for (const [validators, seed, faults] of [
      [7, 42, ['skew', 'drift', 'delay', 'crash']],
      [10, 60, ['reconfig', 'skew', 'drift', 'replay', 'forge', 'loss']],
    ] as const) {
      const report = runSimulation({ validators, seed, faults, protocol: 'hotstuff' });
      assert.deepEqual(
        report.violations.map((v) => `${v.kind}: ${v.detail}`),
        [],
        `n=${validators} seed ${seed}`,
      );
    }
  });

  it('is linear without faults: about 7(n − 1) messages per block where PBFT sends about 2n²', () => {
    const hotstuff = runSimulation({ validators: 10, seed: 5, faults: [], protocol: 'hotstuff' });
    const pbft = runSimulation({ validators: 10, seed: 5, faults: [], protocol: 'pbft' });
    const perBlock = (r: typeof hotstuff) => r.messages.sent / r.committedMax;
    assert.deepEqual(hotstuff.violations, []);
    assert.ok(perBlock(hotstuff) < 8 * 9, `hotstuff ${perBlock(hotstuff)}`);
    assert.ok(perBlock(pbft) > 2 * perBlock(hotstuff), `pbft ${perBlock(pbft)}`);
  });

  it('the checker catches a broken HotStuff: a quorum of f + 1 splits replicas under twins', () => {
    let found = 0;
    for (let seed = 1; seed <= 6 && found === 0; seed++) {
      const report = runSimulation({
        validators: 4,
        seed,
        faults: ['twins', 'equivocate', 'double-vote', 'partition'],
        protocol: 'hotstuff',
        unsafe: { quorum: 2 },
      });
      found += report.violations.filter((v) => v.kind === 'agreement').length;
    }
    assert.ok(found > 0, 'no agreement violation with a quorum of 2 of 4');
  });
});
