/**
 * Quiet when idle (EngineConfig.emptyBlockIntervalMs): an idle view 0 gives its primary time to
 * wait for txs, and the ordinary timeout runs again from the moment txs are pending or the
 * proposal arrives. The harness's timeouts: base 100 ms.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsensusAction } from '../../../src/consensus/events.ts';
import { primaryIndex } from '../../../src/consensus/proofs.ts';
import { Cluster } from './harness.ts';

const BASE_MS = 100;

/** The view timers set (or cleared: null) by these actions, in order. */
function viewTimers(actions: readonly ConsensusAction[]): Array<number | null> {
  const out: Array<number | null> = [];
  for (const a of actions) {
    if (a.type === 'set-timer' && a.kind === 'view') out.push(a.ms);
    if (a.type === 'clear-timer' && a.kind === 'view') out.push(null);
  }
  return out;
}

/** A cluster whose primary at height 1 never proposes (so view 0 stays open). */
function openRound(emptyBlockIntervalMs: number | undefined): { c: Cluster; backup: number } {
  const primary = primaryIndex(1, 0, 4);
  const c = new Cluster(4, { engine: { emptyBlockIntervalMs }, silent: new Set([primary]) });
  return { c, backup: (primary + 1) % 4 };
}

describe('engine: quiet when idle', () => {
  it('without emptyBlockIntervalMs, view 0 times out after the base timeout and is never idle', () => {
    const { c, backup } = openRound(undefined);
    c.startAll();
    assert.deepEqual(viewTimers(c.actions[backup]!), [BASE_MS]);
    assert.equal(c.engines[backup]!.status().idle, false);
    assert.deepEqual(viewTimers(c.step(backup, { type: 'txs', pending: true })), []);
  });

  it('an idle view 0 allows the empty-block interval, and txs bring the base timeout back', () => {
    const { c, backup } = openRound(5_000);
    c.startAll();
    assert.deepEqual(viewTimers(c.actions[backup]!), [5_000 + BASE_MS]);
    assert.equal(c.engines[backup]!.status().idle, true);
    // Txs pending: the primary has no reason left to wait.
    assert.deepEqual(viewTimers(c.step(backup, { type: 'txs', pending: true })), [BASE_MS]);
    assert.equal(c.engines[backup]!.status().idle, false);
    // Reported again: nothing changes (the timer is not pushed back).
    assert.deepEqual(viewTimers(c.step(backup, { type: 'txs', pending: true })), []);
    // The txs went into the block just committed and nothing happened in this view yet: idle
    // again, with the interval counted from now.
    assert.deepEqual(viewTimers(c.step(backup, { type: 'txs', pending: false })), [
      5_000 + BASE_MS,
    ]);
    assert.equal(c.engines[backup]!.status().idle, true);
  });

  it('with no empty blocks (0), an idle view 0 has no view timer until txs are pending', () => {
    const { c, backup } = openRound(0);
    c.startAll();
    assert.deepEqual(viewTimers(c.actions[backup]!), [null]);
    assert.equal(c.fire(backup).length, 0, 'no view timer to fire');
    assert.deepEqual(viewTimers(c.step(backup, { type: 'txs', pending: true })), [BASE_MS]);
    c.fire(backup);
    assert.equal(c.engines[backup]!.status().view, 1, 'a primary that ignores txs is replaced');
  });

  it('the proposal of an idle view restarts the ordinary timeout, and the chain goes on', () => {
    const c = new Cluster(4, { engine: { emptyBlockIntervalMs: 5_000 } });
    c.startAll();
    c.run(20_000, 2);
    assert.ok(c.heights().every((h) => h >= 2));
    for (let i = 0; i < 4; i++) {
      const timers = viewTimers(c.actions[i]!);
      // Each height starts idle (interval + base); the proposal cuts it back to base (the
      // primary itself re-arms when it sends its own).
      assert.equal(timers[0], 5_000 + BASE_MS);
      assert.ok(timers.includes(BASE_MS), `replica ${i} re-armed the base timeout`);
      assert.equal(c.engines[i]!.status().viewChanges, 0);
    }
  });

  it('a view change is not idle: view 1 times out after its own timeout', () => {
    const { c, backup } = openRound(5_000);
    c.startAll();
    c.fireAll('view');
    const engine = c.engines[backup]!;
    assert.equal(engine.status().view, 1);
    assert.equal(engine.status().idle, false);
    c.run();
    // Armed when the quorum of VIEW-CHANGEs arrived (and on NEW-VIEW): view 1's own timeout.
    const view1 = c.actions[backup]!.filter(
      (a) => a.type === 'set-timer' && a.kind === 'view' && a.height === 1 && a.view === 1,
    );
    assert.ok(view1.length > 0);
    assert.ok(viewTimers(view1).every((ms) => ms === 2 * BASE_MS));
    assert.ok(c.heights()[backup]! >= 1, 'view 1 decided the block');
  });
});
