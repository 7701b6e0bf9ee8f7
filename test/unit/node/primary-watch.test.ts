import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultSilenceMs,
  type HeardMessage,
  PrimaryWatch,
  type WatchedRound,
} from '../../../src/node/primary-watch.ts';

/** A driver stand-in: a round, and a view timer that is pending for one (height, view). */
class FakeDriver {
  round: WatchedRound = { started: true, height: 1, view: 0, primary: 1, validatorIndex: 0 };
  pendingTimer: { height: number; view: number } | null = { height: 1, view: 0 };
  expired: Array<{ height: number; view: number }> = [];
  status(): WatchedRound {
    return this.round;
  }
  expireViewTimer(height: number, view: number): boolean {
    const t = this.pendingTimer;
    if (t === null || t.height !== height || t.view !== view) return false;
    this.pendingTimer = null;
    this.expired.push({ height, view });
    return true;
  }
  enter(height: number, view: number, primary: number): void {
    this.round = { ...this.round, height, view, primary };
    this.pendingTimer = { height, view };
  }
}

function setup(silenceMs = 1_000) {
  let clock = 10_000;
  const driver = new FakeDriver();
  const watch = new PrimaryWatch(driver, {
    silenceMs,
    validatorKey: (_height, index) => (index >= 0 && index < 4 ? `v${index}` : undefined),
    now: () => clock,
  });
  watch.begin();
  const advance = (ms: number) => {
    clock += ms;
  };
  const vote = (validatorIndex: number, height = 1, view = 0): HeardMessage => ({
    type: 'prepare',
    height,
    view,
    validatorIndex,
  });
  return { driver, watch, advance, vote };
}

describe('primary watch', () => {
  it('leaves a fresh network alone: start-up counts as having heard everyone', () => {
    const { driver, watch, advance } = setup();
    advance(999);
    assert.equal(watch.check(), false);
    assert.deepEqual(driver.expired, []);
  });

  it('expires the view timer once when the primary has been silent for silenceMs', () => {
    const { driver, watch, advance, vote } = setup();
    watch.heard(vote(1));
    advance(999);
    assert.equal(watch.check(), false, 'not yet silent long enough');
    advance(1);
    assert.equal(watch.check(), true);
    assert.deepEqual(driver.expired, [{ height: 1, view: 0 }]);
    // Once per round, even if a timer for the same round were pending again.
    driver.pendingTimer = { height: 1, view: 0 };
    advance(5_000);
    assert.equal(watch.check(), false);
    assert.equal(driver.expired.length, 1);
    assert.equal(watch.expiredRounds(), 1);
  });

  it('counts any message authored by the primary, and only the primary', () => {
    const { driver, watch, advance, vote } = setup();
    advance(800);
    watch.heard({ type: 'view-change', height: 1, view: 3, validatorIndex: 1 }); // any kind
    advance(800);
    watch.heard(vote(2)); // another validator speaking does not make the primary alive
    assert.equal(watch.check(), false);
    advance(200);
    assert.equal(watch.check(), true);
    assert.deepEqual(driver.expired, [{ height: 1, view: 0 }]);
  });

  it('never expires a round this node leads', () => {
    const { driver, watch, advance } = setup();
    driver.enter(2, 0, 0);
    advance(60_000);
    assert.equal(watch.check(), false);
    assert.deepEqual(driver.expired, []);
  });

  it('leaves a round alone once its primary proposal was heard', () => {
    const { driver, watch, advance } = setup();
    watch.heard({ type: 'pre-prepare', height: 1, view: 0, validatorIndex: 1 });
    advance(10_000);
    assert.equal(watch.check(), false, 'the proposal is in; the round no longer needs the primary');
    // The next round with the same silent primary is expired.
    driver.enter(1, 1, 1);
    assert.equal(watch.check(), true);
    assert.deepEqual(driver.expired, [{ height: 1, view: 1 }]);
  });

  it('retries while the view timer is not armed, and moves on with the rounds', () => {
    const { driver, watch, advance, vote } = setup();
    advance(2_000);
    driver.pendingTimer = null; // view-change phase, waiting for a quorum of VIEW-CHANGEs
    assert.equal(watch.check(), false);
    driver.pendingTimer = { height: 1, view: 0 };
    assert.equal(watch.check(), true);
    driver.enter(5, 0, 1);
    assert.equal(watch.check(), true, 'a later round of the same crashed primary');
    watch.heard(vote(2, 5));
    driver.enter(6, 0, 2);
    assert.equal(watch.check(), false, 'a primary heard just now is not silent');
  });

  it('does nothing before consensus started or for an unknown primary', () => {
    const { driver, watch, advance } = setup();
    advance(5_000);
    driver.round = { ...driver.round, started: false };
    assert.equal(watch.check(), false);
    driver.round = { ...driver.round, started: true, primary: 9 };
    assert.equal(watch.check(), false);
  });

  it('defaults the silence above the idle proposer wait (timeoutMs / 2)', () => {
    assert.equal(defaultSilenceMs(2_000), 1_500);
    assert.equal(defaultSilenceMs(400), 1_000);
    for (const t of [100, 1_000, 2_000, 10_000, 60_000]) assert.ok(defaultSilenceMs(t) > t / 2);
  });
  it('leaves an idle round alone, and gives its primary silenceMs from when txs are pending', () => {
    const { driver, watch, advance } = setup();
    driver.round = { ...driver.round, idle: true };
    advance(60_000);
    assert.equal(watch.check(), false, 'an idle primary is silent on purpose');
    driver.round = { ...driver.round, idle: false };
    assert.equal(watch.check(), false, 'txs just came: the primary gets its time');
    advance(999);
    assert.equal(watch.check(), false);
    advance(1);
    assert.equal(watch.check(), true);
    assert.deepEqual(driver.expired, [{ height: 1, view: 0 }]);
  });

  it('a crashed primary of a busy round is still caught at once', () => {
    const { driver, watch, advance } = setup();
    driver.round = { ...driver.round, idle: true };
    assert.equal(watch.check(), false);
    // The next height is busy from its start: silence counts from the primary's last message.
    advance(5_000);
    driver.enter(2, 0, 1);
    driver.round = { ...driver.round, idle: false };
    assert.equal(watch.check(), true);
  });
});
