import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSimulation } from '../../../src/consensus/sim/simulation.ts';
import { runSweep } from '../../../src/consensus/sim/sweep.ts';
import { describeViolations, MIXES, testDuration } from './sim-helpers.ts';

describe('simulation, n = 4', () => {
  it('has no violations over 140 seeds across seven fault mixes', () => {
    const report = runSweep({
      validators: [4],
      seeds: { first: 1, count: 20 },
      faultMixes: MIXES,
      durationMs: testDuration(4),
    });
    assert.equal(report.runs, 140);
    assert.equal(report.violations.length, 0, describeViolations(report));
    for (const g of report.groups) {
      // Progress under every mix (liveness is also checked per run, after GST).
      assert.ok(g.minCommitted >= 1, `${g.faults}: a run committed nothing`);
    }
    // The faults really happened: view changes, crashes, rejected forgeries, evidence.
    const total = (key: 'viewChanges' | 'crashes' | 'evidence' | 'rejected') =>
      report.groups.reduce((s, g) => s + g[key], 0);
    assert.ok(total('viewChanges') > 0 && total('crashes') > 0);
    assert.ok(total('evidence') > 0 && total('rejected') > 0);
  });

  it('more than f colluding Byzantine replicas break agreement, and the checker sees it', () => {
    // f = 1 at n = 4: two equivocating, double-voting replicas, or two pairs of twins, can
    // assemble two quorums. (The same seeds with one Byzantine replica are covered above.)
    const cases = [
      { faults: ['equivocate', 'double-vote'] as const, seeds: [4, 6, 9] },
      { faults: ['twins'] as const, seeds: [14, 20, 23] },
    ];
    for (const { faults, seeds } of cases) {
      for (const seed of seeds) {
        const report = runSimulation({
          validators: 4,
          seed,
          faults,
          byzantine: 2,
          durationMs: testDuration(4),
        });
        assert.ok(
          report.violations.some((v) => v.kind === 'agreement'),
          `${faults.join(',')} seed ${seed}`,
        );
      }
    }
  });

  it('has no violations with real ed25519 signatures', () => {
    const report = runSweep({
      validators: [4],
      seeds: { first: 500, count: 2 },
      durationMs: testDuration(4),
      ed25519Every: 1,
    });
    assert.equal(report.groups[0]!.ed25519Runs, 2);
    assert.equal(report.violations.length, 0, describeViolations(report));
  });

  it('replays a seed exactly: same report, same trace', () => {
    const opts = { validators: 4, seed: 77, durationMs: testDuration(4), trace: true } as const;
    const a = runSimulation(opts);
    const b = runSimulation(opts);
    assert.deepEqual(a, b);
    assert.ok(a.trace!.length > 100);
    assert.ok(a.trace!.some((line) => line.includes('COMMITS')));
    const c = runSimulation({ ...opts, seed: 78 });
    assert.notDeepEqual(a.trace, c.trace);
  });
});
