/**
 * Clock faults in the simulator (skew: a constant offset, drift: a rate error, on up to f
 * replicas): block time comes from the quorum, so runs stay safe and live and every block's
 * time stays within the correct clocks; with every clock off, the checker reports it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSimulation } from '../../../src/consensus/sim/simulation.ts';
import { runSweep } from '../../../src/consensus/sim/sweep.ts';
import { describeViolations, testDuration } from './sim-helpers.ts';

describe('simulator clock faults', () => {
  it('skewed and drifting clocks (honest or Byzantine) cause no violation', () => {
    const report = runSweep({
      validators: [4, 7],
      seeds: { first: 1, count: 12 },
      faultMixes: [
        ['skew', 'drift', 'delay', 'crash'],
        ['skew', 'drift', 'equivocate', 'double-vote', 'loss'],
      ],
      durationMs: testDuration(7),
    });
    assert.equal(report.runs, 48);
    assert.equal(report.violations.length, 0, describeViolations(report));
    for (const g of report.groups) assert.ok(g.minCommitted >= 1, `${g.faults}: no progress`);
  });

  it('assigns clock faults to at most f validators and reports them', () => {
    const report = runSimulation({
      validators: 7,
      seed: 3,
      faults: ['skew', 'drift'],
      durationMs: testDuration(7),
    });
    assert.equal(report.clocks.length, 2);
    for (const c of report.clocks) {
      assert.ok(Math.abs(c.offsetMs) >= 5_000 && Math.abs(c.offsetMs) <= 120_000);
      assert.ok(Math.abs(c.drift) >= 0.001 && Math.abs(c.drift) <= 0.05);
    }
    assert.equal(report.violations.length, 0);
    assert.ok(report.committedMin > 10);
  });

  it('with every clock 2 minutes fast, the checker sees block times ahead of the correct clocks', () => {
    const ahead = new Map([0, 1, 2, 3].map((id) => [id, { offsetMs: 120_000, drift: 0 }] as const));
    const report = runSimulation({
      validators: 4,
      seed: 1,
      faults: ['skew'],
      clockAssignment: ahead,
      durationMs: testDuration(4),
    });
    const times = report.violations.filter((v) => v.kind === 'block-time');
    assert.ok(times.length > 0, 'block-time violations reported');
    assert.match(times[0]!.detail, /ahead of the correct clocks/);
    // Only the time check fails: the chain itself is fine.
    assert.ok(report.violations.every((v) => v.kind === 'block-time'));
  });
});
