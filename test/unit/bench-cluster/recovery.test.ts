/**
 * The recovery comparison of the max-rate search: every probe and run after an overload
 * probe against what the cluster committed before its first overload — at the same rate
 * when one was probed then — including the wedge issue #11 reported (3,200 tx/s overloads
 * the cluster, every later probe commits 0).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  allRecovered,
  compareAfterOverload,
  type RateMeasurement,
  RECOVERY_SHARE,
  recoveredAfter,
} from '../../../bench/cluster/recovery.ts';

const m = (rate: number, txPerSec: number, sustainable: boolean): RateMeasurement => ({
  rate,
  txPerSec,
  committedTxs: Math.round(txPerSec * 8),
  sustainable,
});

describe('compareAfterOverload', () => {
  test('nothing to recover from before the first overload probe', () => {
    assert.equal(compareAfterOverload([], { rate: 200, txPerSec: 200 }), null);
    assert.equal(
      compareAfterOverload([m(200, 200, true), m(400, 398, true)], { rate: 800, txPerSec: 10 }),
      null,
    );
  });

  test('the same rate probed before the overload is the reference', () => {
    const earlier = [m(200, 201, true), m(400, 398, true), m(800, 500, false)];
    const c = compareAfterOverload(earlier, { rate: 400, txPerSec: 380 })!;
    assert.equal(c.afterOverloadRate, 800);
    assert.equal(c.referenceRate, 400);
    assert.equal(c.referenceTxPerSec, 398);
    assert.equal(c.sameRate, true);
    assert.equal(c.expectedTxPerSec, 398);
    assert.equal(c.ratio, 380 / 398);
    assert.equal(c.recovered, true);
    assert.match(c.reason, /95% of the 398 expected from the same rate before the overload/);

    const worse = compareAfterOverload(earlier, { rate: 400, txPerSec: 357 })!;
    assert.ok(worse.ratio! < RECOVERY_SHARE);
    assert.equal(worse.recovered, false);
  });

  test('exactly 90% recovers; just under does not', () => {
    const earlier = [m(1_000, 1_000, true), m(2_000, 700, false)];
    assert.equal(compareAfterOverload(earlier, { rate: 1_000, txPerSec: 900 })!.recovered, true);
    assert.equal(compareAfterOverload(earlier, { rate: 1_000, txPerSec: 899.9 })!.recovered, false);
  });

  test('a new rate (bisection) is held to the nearest rate below it from before the overload', () => {
    const earlier = [m(200, 200, true), m(400, 401, true), m(800, 790, true), m(1_600, 900, false)];
    const c = compareAfterOverload(earlier, { rate: 1_200, txPerSec: 1_000 })!;
    assert.equal(c.referenceRate, 800);
    assert.equal(c.sameRate, false);
    assert.equal(c.expectedTxPerSec, 790);
    assert.equal(c.recovered, true);
    assert.equal(compareAfterOverload(earlier, { rate: 1_200, txPerSec: 700 })!.recovered, false);
  });

  test('below every earlier rate, a higher rate sustained before means the offered rate is expected', () => {
    const earlier = [m(400, 400, true), m(800, 300, false)];
    const c = compareAfterOverload(earlier, { rate: 200, txPerSec: 190 })!;
    assert.equal(c.referenceRate, 400);
    assert.equal(c.expectedTxPerSec, 200, 'min(400 committed before, 200 offered now)');
    assert.equal(c.ratio, 0.95);
    assert.equal(c.recovered, true);
  });

  test('the reference comes from before the FIRST overload, not from a later probe at that rate', () => {
    // 1,200 was probed after the overload at 1,600 and already committed little; the run
    // at 1,200 must still be held to what 800 committed while the cluster was healthy.
    const earlier = [m(800, 800, true), m(1_600, 600, false), m(1_200, 300, false)];
    const c = compareAfterOverload(earlier, { rate: 1_200, txPerSec: 350 })!;
    assert.equal(c.referenceRate, 800);
    assert.equal(c.afterOverloadRate, 1_200, 'the latest overload before it');
    assert.equal(c.recovered, false);
  });

  test('a probe that committed nothing before the overload is no reference', () => {
    const earlier = [
      m(200, 200, true),
      { rate: 400, txPerSec: 0, committedTxs: 0, sustainable: true },
      m(800, 0, false),
    ];
    const c = compareAfterOverload(earlier, { rate: 400, txPerSec: 190 })!;
    assert.equal(c.referenceRate, 200, 'the nearest rate below that committed');
    assert.equal(c.recovered, true);
  });

  test('the first probe overloading: held to the offered rate, and only what that can tell', () => {
    const earlier = [m(400, 300, false)];
    const ok = compareAfterOverload(earlier, { rate: 200, txPerSec: 190 })!;
    assert.equal(ok.referenceRate, null);
    assert.equal(ok.expectedTxPerSec, 200);
    assert.equal(ok.ratio, 0.95);
    assert.equal(ok.recovered, true, 'it commits what is offered: recovered');
    assert.match(
      ok.reason,
      /^no probe committed before the first overload; 190 committed tx\/s = 95% of the 200 offered/,
    );

    const wedged = compareAfterOverload(earlier, { rate: 200, txPerSec: 0 })!;
    assert.equal(
      wedged.recovered,
      false,
      'nothing committed: not recovered, whatever the capacity',
    );

    const between = compareAfterOverload(earlier, { rate: 300, txPerSec: 150 })!;
    assert.equal(between.recovered, null, 'overloaded or not recovered: cannot be told');
    assert.match(between.reason, /no healthy probe to tell/);
  });
});

describe('recoveredAfter and allRecovered', () => {
  test('the wedge of issue #11: 3,200 tx/s overloads, every later probe and the max run commit 0', () => {
    const probes: RateMeasurement[] = [];
    const comparisons = [];
    // Doubling from 200 until 3,200 fails, then bisection between 1,600 and 3,200.
    const observed: Array<[number, number, boolean]> = [
      [200, 200, true],
      [400, 400, true],
      [800, 799, true],
      [1_600, 1_590, true],
      [3_200, 2_100, false],
      [2_400, 0, false],
      [2_000, 0, false],
      [1_800, 0, false],
      [1_700, 0, false],
    ];
    for (const [rate, txPerSec, sustainable] of observed) {
      comparisons.push(compareAfterOverload(probes, { rate, txPerSec }));
      probes.push(m(rate, txPerSec, sustainable));
    }
    // The run at the max rate (1,600, found before the overload) committed 0 as well.
    const maxRun = compareAfterOverload(probes, { rate: 1_600, txPerSec: 0 });
    assert.deepEqual(
      comparisons.map((c) => c?.recovered ?? null),
      [null, null, null, null, null, false, false, false, false],
    );
    assert.equal(maxRun!.sameRate, true);
    assert.equal(maxRun!.recovered, false);
    assert.deepEqual(recoveredAfter(probes, [...comparisons, maxRun]), [
      null,
      null,
      null,
      null,
      false,
      false,
      false,
      false,
      false,
    ]);
    assert.equal(allRecovered([...comparisons, maxRun]), false);
  });

  test('a cluster that recovers: every overload probe says so', () => {
    const probes = [
      m(1_000, 1_000, true),
      m(2_000, 1_300, false),
      m(1_500, 1_480, true),
      m(1_700, 1_400, false),
    ];
    const comparisons = probes.map((p, i) => compareAfterOverload(probes.slice(0, i), p));
    const maxRun = compareAfterOverload(probes, { rate: 1_500, txPerSec: 1_470 });
    assert.deepEqual(recoveredAfter(probes, [...comparisons, maxRun]), [null, true, null, true]);
    assert.equal(allRecovered([...comparisons, maxRun]), true);
  });

  test('an overload probe with nothing after it says nothing', () => {
    const probes = [m(1_000, 1_000, true), m(2_000, 1_300, false)];
    const comparisons = probes.map((p, i) => compareAfterOverload(probes.slice(0, i), p));
    assert.deepEqual(recoveredAfter(probes, comparisons), [null, null]);
  });

  test('allRecovered: null when none was made or one cannot be told, false on any failure', () => {
    assert.equal(allRecovered([]), null);
    assert.equal(allRecovered([null, null]), null);
    const first = [m(400, 300, false)];
    const yes = compareAfterOverload(first, { rate: 200, txPerSec: 200 });
    const untold = compareAfterOverload(first, { rate: 300, txPerSec: 150 });
    const no = compareAfterOverload(first, { rate: 200, txPerSec: 0 });
    assert.equal(allRecovered([null, yes]), true);
    assert.equal(allRecovered([yes, untold]), null);
    assert.equal(allRecovered([yes, untold, no]), false);
  });
});
