/**
 * Validator-set changes in the simulator (issue #14): the planner's guard, the sim chain's
 * validation of a change, sweeps of every scenario under faults with no violation, seeds that
 * stalled before the engine's fix, and broken variants of a replica's `validatorsAt` the
 * checker must catch.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeValidatorSet } from '../../../src/chain/validator-set.ts';
import { primaryIndex } from '../../../src/consensus/proofs.ts';
import type { FaultName } from '../../../src/consensus/sim/faults.ts';
import { Prng } from '../../../src/consensus/sim/prng.ts';
import {
  applyChange,
  changeOf,
  plannedSets,
  planReconfiguration,
  RECONFIG_SCENARIOS,
  type ReconfigScenario,
  SIM_CHANGE_SPACING,
} from '../../../src/consensus/sim/reconfig.ts';
import { fakeScheme } from '../../../src/consensus/sim/signatures.ts';
import {
  buildSimBlock,
  childInfo,
  genesisParent,
  type SimChainContext,
  validateSimBlock,
} from '../../../src/consensus/sim/sim-chain.ts';
import { runSimulation, type SimulationReport } from '../../../src/consensus/sim/simulation.ts';
import { runSweep } from '../../../src/consensus/sim/sweep.ts';
import { toHex, utf8 } from '../../../src/crypto/bytes.ts';
import { sha256 } from '../../../src/crypto/hash.ts';
import { describeViolations, testDuration } from './sim-helpers.ts';

const keys = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => fakeScheme.key(99, from + i).publicKey);

describe('reconfiguration planner', () => {
  const initial = keys(0, 4);
  const spare = keys(4, 3);

  it('keeps the faulty members of every planned set at most its f', () => {
    // One Byzantine validator of 4: removing an honest one would leave 1 faulty of 3 (f = 0).
    const faulty = new Set([toHex(initial[2]!)]);
    for (let seed = 1; seed <= 30; seed++) {
      for (const scenario of RECONFIG_SCENARIOS) {
        const plan = planReconfiguration(new Prng(seed), { scenario, initial, spare, faulty });
        for (const set of plannedSets(makeValidatorSet(initial), plan)) {
          const bad = set.validators.filter((k) => faulty.has(toHex(k))).length;
          assert.ok(
            bad <= set.maxFaulty,
            `${scenario} seed ${seed}: ${bad} faulty of ${set.validators.length}`,
          );
        }
        if (scenario === 'remove') {
          assert.equal(plan.changes.length, 1);
          assert.equal(toHex(plan.changes[0]!.change.key), toHex(initial[2]!));
        }
      }
    }
  });

  it('refuses a removal no member can survive, as the app refuses VALIDATORS_WOULD_HALT', () => {
    const two = keys(0, 2);
    const faulty = new Set([toHex(two[0]!), toHex(two[1]!)]);
    const plan = planReconfiguration(new Prng(1), {
      scenario: 'remove',
      initial: two,
      spare: [],
      faulty,
    });
    assert.equal(plan.changes.length, 0);
    assert.match(plan.refused!, /guard/);
  });

  it('removes the primary of the change height (remove-self) or of the next one (remove-primary)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      for (const [scenario, shift] of [
        ['remove-self', 0],
        ['remove-primary', 1],
      ] as const) {
        const plan = planReconfiguration(new Prng(seed), {
          scenario,
          initial,
          spare,
          faulty: new Set(),
        });
        const { change, notBefore } = plan.changes[0]!;
        const primary = initial[primaryIndex(notBefore + shift, 0, initial.length)]!;
        assert.equal(toHex(change.key), toHex(primary), `${scenario} seed ${seed}`);
      }
    }
  });

  it('grows 4 → 7 one validator at a time, spaced', () => {
    const plan = planReconfiguration(new Prng(3), {
      scenario: 'grow-3',
      initial,
      spare,
      faulty: new Set(),
    });
    const sizes = plannedSets(makeValidatorSet(initial), plan).map((s) => s.validators.length);
    assert.deepEqual(sizes, [4, 5, 6, 7]);
    for (let i = 1; i < plan.changes.length; i++) {
      const gap = plan.changes[i]!.notBefore - plan.changes[i - 1]!.notBefore;
      assert.ok(gap >= SIM_CHANGE_SPACING);
    }
  });
});

describe('sim chain: a block executing a set change', () => {
  const genesis = makeValidatorSet(keys(0, 4));
  const joining = keys(4, 1)[0]!;
  const ctx: SimChainContext = {
    chainId: 'civitas-sim',
    genesisHash: sha256(utf8.encode('reconfig-test')),
    genesisTime: 1_700_000_000_000,
    validators: genesis,
    plan: [{ change: { op: 'add', key: joining }, notBefore: 1 }],
    verify: fakeScheme.verify,
  };
  const parent = genesisParent(ctx);
  const proposer = genesis.validators[1]!;

  it('names the next set and carries the change; the child info applies it', () => {
    const block = buildSimBlock(ctx, { parent, proposer, lastCommit: null, salt: 7 });
    assert.equal(validateSimBlock(ctx, block, parent), null);
    const change = changeOf(block.txs);
    assert.ok(change !== null && typeof change !== 'string' && change.op === 'add');
    const next = applyChange(genesis, change);
    assert.ok(typeof next !== 'string');
    assert.equal(toHex(block.header.validatorSetHash), toHex(genesis.hash));
    assert.equal(toHex(block.header.nextValidatorSetHash), toHex(next.hash));
    const info = childInfo(ctx, parent, block);
    assert.equal(info.validators!.validators.length, 5);
    assert.equal(info.lastChangeHeight, 1);
    // The same height without the change is valid too (inclusion is the proposer's choice).
    const without = buildSimBlock(ctx, {
      parent,
      proposer,
      lastCommit: null,
      salt: 7,
      skipChange: true,
    });
    assert.equal(validateSimBlock(ctx, without, parent), null);
    assert.equal(toHex(without.header.nextValidatorSetHash), toHex(genesis.hash));
  });

  it('refuses a change that is not the planned one, or not due', () => {
    const notDue: SimChainContext = { ...ctx, plan: [{ ...ctx.plan![0]!, notBefore: 5 }] };
    const block = buildSimBlock(ctx, { parent, proposer, lastCommit: null, salt: 7 });
    assert.equal(validateSimBlock(notDue, block, parent), 'set change not due');
    const other: SimChainContext = {
      ...ctx,
      plan: [{ change: { op: 'remove', key: genesis.validators[0]! }, notBefore: 1 }],
    };
    assert.equal(validateSimBlock(other, block, parent), 'set change not due');
    // With nothing planned, no change is ever due.
    assert.equal(validateSimBlock({ ...ctx, plan: [] }, block, parent), 'set change not due');
  });
});

function runsOf(
  scenario: ReconfigScenario,
  mixes: readonly (readonly FaultName[])[],
  count: number,
) {
  const reports: SimulationReport[] = [];
  const sweep = runSweep({
    validators: [4],
    seeds: { first: 1, count },
    faultMixes: mixes,
    durationMs: testDuration(4),
    extra: { reconfig: scenario },
    onRun: (r) => reports.push(r),
  });
  return { sweep, reports };
}

describe('simulation with validator-set changes', () => {
  const mixes: readonly (readonly FaultName[])[] = [
    ['reconfig', 'delay', 'loss', 'partition', 'crash'],
    ['reconfig', 'equivocate', 'double-vote', 'crash', 'skew'],
  ];
  for (const scenario of RECONFIG_SCENARIOS) {
    it(`${scenario}: no violations over 24 seeds, and the change executes`, () => {
      const { sweep, reports } = runsOf(scenario, mixes, 12);
      assert.equal(sweep.runs, 24);
      assert.equal(sweep.violations.length, 0, describeViolations(sweep));
      let executed = 0;
      for (const r of reports) {
        const rc = r.reconfiguration!;
        assert.equal(rc.scenario, scenario);
        if (rc.refused === null && rc.executed.length === rc.planned.length) executed++;
      }
      // A change comes due between heights 3 and 12 (later ones spaced): nearly every run
      // executes all of its plan before the end.
      assert.ok(executed >= 20, `${scenario}: only ${executed} of 24 runs executed their plan`);
    });
  }

  it('n = 7 with f = 2 Byzantine replicas and twins: no violations', () => {
    const report = runSweep({
      validators: [7],
      seeds: { first: 1, count: 6 },
      faultMixes: [
        ['reconfig', 'equivocate', 'double-vote', 'partition', 'crash'],
        ['reconfig', 'twins', 'delay', 'crash'],
      ],
      durationMs: testDuration(7),
    });
    assert.equal(report.violations.length, 0, describeViolations(report));
  });

  it('stalls the engine had before it looked at certificates past a guessed set stay fixed', () => {
    // Each of these stalled every honest replica (liveness) before the engine observed the
    // certificate carried by a next-height message that failed against the guessed set
    // (remove 5) and asked its peers when a later certificate failed (add 9, remove-self 13).
    const faults: FaultName[] = ['reconfig', 'delay', 'loss', 'partition', 'crash'];
    for (const [reconfig, seed] of [
      ['remove', 5],
      ['add', 9],
      ['remove-self', 13],
      ['remove-primary', 13],
    ] as const) {
      const report = runSimulation({ validators: 4, seed, faults, reconfig });
      assert.deepEqual(report.violations, [], `${reconfig} seed ${seed}`);
      assert.equal(report.reconfiguration!.executed.length, 1);
    }
  });

  it('replays a seed exactly', () => {
    const opts = {
      validators: 4,
      seed: 21,
      faults: ['reconfig', 'crash', 'loss'] as FaultName[],
      reconfig: 'grow-shrink' as const,
      durationMs: testDuration(4),
      trace: true,
    };
    assert.deepEqual(runSimulation(opts), runSimulation(opts));
  });

  it('a static run is unchanged by the reconfiguration machinery (no spare replicas)', () => {
    const report = runSimulation({
      validators: 4,
      seed: 3,
      faults: ['crash'],
      durationMs: testDuration(4),
    });
    assert.equal(report.reconfiguration, null);
  });
});

describe('broken validator sets are caught by the checker', () => {
  const kindsOf = (r: SimulationReport) => new Set(r.violations.map((v) => v.kind));

  it('a replica that ignores the decided block stops on CONSENSUS_SET_MISMATCH', () => {
    for (const reconfig of ['add', 'remove', 'replace'] as const) {
      const opts = {
        validators: 4,
        seed: 2,
        faults: ['reconfig'] as FaultName[],
        reconfig,
        durationMs: testDuration(4),
      };
      const broken = runSimulation({ ...opts, brokenSets: 'ignore-decided' });
      assert.ok(
        broken.violations.some(
          (v) => v.kind === 'validator-set' && v.detail.includes('CONSENSUS_SET_MISMATCH'),
        ),
        JSON.stringify(broken.violations),
      );
      assert.deepEqual(runSimulation(opts).violations, []);
    }
  });

  it('a replica that applies a change one height late holds another set, and signs outside it', () => {
    const opts = {
      validators: 4,
      faults: ['reconfig', 'crash', 'loss'] as FaultName[],
      reconfig: 'remove' as const,
      durationMs: testDuration(4),
    };
    let outside = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const broken = runSimulation({ ...opts, seed, brokenSets: 'late' });
      assert.ok(kindsOf(broken).has('validator-set'), `seed ${seed}`);
      if (kindsOf(broken).has('outside-set')) outside++;
      assert.deepEqual(runSimulation({ ...opts, seed }).violations, [], `correct, seed ${seed}`);
    }
    // A removed replica restarting after the change signs as a member it no longer is
    // (seeds 9 and 10 at the time of writing).
    assert.ok(outside >= 1);
  });
});
