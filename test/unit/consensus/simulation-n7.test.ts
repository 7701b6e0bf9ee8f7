import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSweep } from '../../../src/consensus/sim/sweep.ts';
import { describeViolations, MIXES, testDuration } from './sim-helpers.ts';

describe('simulation, n = 7', () => {
  it('has no violations over 56 seeds across seven fault mixes', () => {
    const report = runSweep({
      validators: [7],
      seeds: { first: 1, count: 8 },
      faultMixes: MIXES,
      durationMs: testDuration(7),
    });
    assert.equal(report.runs, 56);
    assert.equal(report.violations.length, 0, describeViolations(report));
    for (const g of report.groups) assert.ok(g.minCommitted >= 1, `${g.faults}: no progress`);
  });

  it('tolerates f = 2 Byzantine replicas that equivocate and double-vote together', () => {
    const report = runSweep({
      validators: [7],
      seeds: { first: 100, count: 6 },
      faultMixes: [['equivocate', 'double-vote', 'delay', 'crash']],
      byzantine: 2,
      durationMs: testDuration(7),
    });
    assert.equal(report.violations.length, 0, describeViolations(report));
    assert.ok(report.groups[0]!.evidence > 0, 'equivocation was detected as evidence');
  });
});
