/**
 * The checker must catch a broken consensus. Each deliberately broken variant runs under a
 * scripted schedule that exposes it, next to the correct engine under the very same
 * schedule (which must pass), plus seeds from a random search that expose it too.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { primaryIndex } from '../../../src/consensus/proofs.ts';
import type { ViolationKind } from '../../../src/consensus/sim/checker.ts';
import {
  runSimulation,
  type SimHooks,
  type SimulationOptions,
  type SimulationReport,
} from '../../../src/consensus/sim/simulation.ts';
import { testDuration } from './sim-helpers.ts';

const base: SimulationOptions = { validators: 4, seed: 1, faults: [], durationMs: testDuration(4) };

function kinds(report: SimulationReport): Set<ViolationKind> {
  return new Set(report.violations.map((v) => v.kind));
}

/** Scripted message loss for the first 3 s of the run; the network is perfect afterwards. */
function dropEarly(
  rule: Parameters<NonNullable<SimHooks['deliver']>>[0] extends infer C ? (c: C) => boolean : never,
): SimHooks {
  return {
    deliver: (ctx) => (ctx.now < 3_000 && ctx.message !== null && rule(ctx) ? 'drop' : undefined),
  };
}

describe('broken variants are caught by the checker', () => {
  it('a quorum of 2f instead of 2f+1 commits two blocks at one height', () => {
    // Replicas 0 and 1 (primary of height 1) hear each other, 2 and 3 hear each other. With a
    // quorum of 2 each pair decides alone: {0,1} commits the primary's block in view 0, {2,3}
    // time out and commit a fresh block in view 1. With 2f+1 neither pair can decide alone.
    const hooks = dropEarly(
      ({ from, to, message }) => message!.height === 1 && from < 2 !== to < 2,
    );
    const broken = runSimulation({ ...base, hooks, unsafe: { quorum: 2 } });
    assert.ok(kinds(broken).has('agreement'), JSON.stringify(broken.violations));
    const correct = runSimulation({ ...base, hooks });
    assert.deepEqual(correct.violations, []);
  });

  it('a view change that ignores prepared certificates loses a committed block', () => {
    // Every replica prepares block A in view 0, but only replica 0 receives the COMMITs and
    // commits A; it then goes quiet. The others time out: the new primary must re-propose A.
    const hooks = dropEarly(
      ({ from, to, message }) =>
        (message!.height === 1 && message!.type === 'commit' && message!.view === 0 && to !== 0) ||
        (from === 0 && message!.height >= 2),
    );
    const broken = runSimulation({ ...base, hooks, unsafe: { ignorePreparedCertificates: true } });
    assert.ok(kinds(broken).has('agreement'), JSON.stringify(broken.violations));
    const correct = runSimulation({ ...base, hooks });
    assert.deepEqual(correct.violations, []);
  });

  it('a replica that forgets its WAL signs a second proposal for the same view', () => {
    // The primary of height 1 crashes right after broadcasting its PRE-PREPARE and restarts
    // at once. With its WAL it re-sends the same block; without, it builds and signs another.
    // For its first second it hears nothing, so it cannot learn block A back from its peers.
    const primary = primaryIndex(1, 0, 4);
    const run = (forgetWal: boolean) => {
      let crashed = false;
      return runSimulation({
        ...base,
        hooks: {
          deliver: ({ to, now }) => (to === primary && now < 1_000 ? 'drop' : undefined),
          afterAction: ({ replica, action, crash }) => {
            if (
              !crashed &&
              replica === primary &&
              action.type === 'broadcast' &&
              action.message.type === 'pre-prepare'
            ) {
              crashed = true;
              crash({ downMs: 1, forgetWal });
            }
          },
        },
      });
    };
    const broken = run(true);
    assert.ok(kinds(broken).has('honest-equivocation'), JSON.stringify(broken.violations));
    const correct = run(false);
    assert.equal(correct.crashes, 1);
    assert.deepEqual(correct.violations, []);
  });

  // Seeds found by searching 1..250 with exactly these options (a search script's output);
  // runs are deterministic, so they keep exposing the bug as long as the simulator's random
  // streams are unchanged. The scripted tests above do not depend on seeds at all.
  describe('and random seeds expose them too', () => {
    it('quorum 2f under an equivocating primary', () => {
      const seeds = [6, 7, 8];
      for (const seed of seeds) {
        const opts = {
          validators: 4,
          seed,
          faults: ['equivocate'] as const,
          durationMs: testDuration(4),
        };
        assert.ok(
          kinds(runSimulation({ ...opts, unsafe: { quorum: 2 } })).has('agreement'),
          `seed ${seed}`,
        );
        assert.deepEqual(runSimulation(opts).violations, [], `seed ${seed}, correct engine`);
      }
    });

    it('ignoring prepared certificates under loss, partitions and crashes', () => {
      const seeds = [85, 111, 162];
      const fired = seeds.filter((seed) =>
        kinds(
          runSimulation({
            validators: 4,
            seed,
            faults: ['loss', 'partition', 'crash'],
            durationMs: testDuration(4),
            unsafe: { ignorePreparedCertificates: true },
          }),
        ).has('agreement'),
      );
      assert.deepEqual(fired, seeds);
    });

    it('forgetting the WAL under crashes', () => {
      const seeds = [16, 21, 24];
      for (const seed of seeds) {
        const opts = {
          validators: 4,
          seed,
          faults: ['crash'] as const,
          durationMs: testDuration(4),
        };
        assert.ok(
          kinds(runSimulation({ ...opts, forgetWalOnRestart: true })).has('honest-equivocation'),
          `seed ${seed}`,
        );
        assert.deepEqual(runSimulation(opts).violations, [], `seed ${seed}, with the WAL`);
      }
    });
  });
});
