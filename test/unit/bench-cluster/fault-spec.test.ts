import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { boundaries, settingsAt } from '../../../bench/cluster/fault-schedule.ts';
import {
  checkFaults,
  describeFault,
  FAULT_GRAMMAR,
  type Fault,
  MAX_SKEW_MS,
  parseFault,
  parseFaultManifest,
  parseFaultSpec,
} from '../../../bench/cluster/fault-spec.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { MAX_CLOCK_OFFSET_MS } from '../../../src/node/fault-injection.ts';

function rejects(spec: string, pattern: RegExp): void {
  assert.throws(
    () => parseFaultSpec(spec),
    (err: unknown) => {
      assert.ok(isCivitasError(err), 'a CivitasError');
      assert.equal(err.code, 'BENCH_BAD_FAULT');
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
      assert.ok(
        err.message.includes(
          spec
            .trim()
            .split(/[;\s]+/)
            .pop()!
            .slice(0, 6),
        ),
        err.message,
      );
      return true;
    },
  );
}

describe('fault SPEC parser', () => {
  test('parses every kind, with seconds and ms', () => {
    assert.deepEqual(parseFault('crash:2@5-10'), {
      kind: 'crash',
      target: 2,
      atMs: 5000,
      untilMs: 10_000,
    });
    assert.deepEqual(parseFault('crash:primary@7'), {
      kind: 'crash',
      target: 'primary',
      atMs: 7000,
    });
    assert.deepEqual(parseFault('crash:1@1.5s-2500ms'), {
      kind: 'crash',
      target: 1,
      atMs: 1500,
      untilMs: 2500,
    });
    assert.deepEqual(parseFault('partition:0,1|2,3@3-9'), {
      kind: 'partition',
      groups: [
        [0, 1],
        [2, 3],
      ],
      atMs: 3000,
      untilMs: 9000,
    });
    assert.deepEqual(parseFault('delay:0-3=50ms@2-4'), {
      kind: 'delay',
      a: 0,
      b: 3,
      delayMs: 50,
      atMs: 2000,
      untilMs: 4000,
    });
    assert.deepEqual(parseFault('delay:*=0.2s@0'), {
      kind: 'delay',
      a: '*',
      b: '*',
      delayMs: 200,
      atMs: 0,
    });
    assert.deepEqual(parseFault('loss:1-*=0.1@2'), {
      kind: 'loss',
      a: 1,
      b: '*',
      lossRate: 0.1,
      atMs: 2000,
    });
    assert.deepEqual(parseFault('byzantine:3=silent'), {
      kind: 'byzantine',
      node: 3,
      mode: 'silent',
      atMs: 0,
    });
    assert.deepEqual(parseFault('byzantine:0=equivocate@4-8'), {
      kind: 'byzantine',
      node: 0,
      mode: 'equivocate',
      atMs: 4000,
      untilMs: 8000,
    });
  });

  test('a SPEC holds several faults separated by ; or spaces', () => {
    const faults = parseFaultSpec('crash:1@5-10; delay:0-2=20ms@1  byzantine:3=silent');
    assert.deepEqual(
      faults.map((f) => f.kind),
      ['crash', 'delay', 'byzantine'],
    );
  });

  test('describeFault gives back a SPEC that parses to the same fault', () => {
    for (const spec of [
      'crash:2@5-10',
      'crash:primary@7',
      'partition:0,1|2,3|4@3-9',
      'delay:0-3=50ms@2500ms-4',
      'delay:*=10ms@0',
      'loss:1-*=0.25@2',
      'byzantine:3=silent@0',
      'byzantine:0=equivocate@4-8',
      'skew:3=+60s@5',
      'skew:1=-1500ms@2-4',
      'skew:0=-86400s@0-1',
      'skew:2=+0s@1',
    ]) {
      const f = parseFault(spec);
      assert.deepEqual(parseFault(describeFault(f)), f, spec);
    }
  });

  test('invalid specs fail with a message naming the problem', () => {
    rejects('explode:1@5', /unknown kind "explode"/);
    rejects('crash1@5', /expected KIND:/);
    rejects('crash:1', /missing "@T"/);
    rejects('crash:x@5', /"x" is not a validator index/);
    rejects('crash:1@10-5', /ends \(5\) before it starts \(10\)/);
    rejects('crash:1@soon', /not a window/);
    rejects('partition:0,1@3-4', /at least two groups/);
    rejects('partition:0,1|1,2@3-4', /validator 1 is in two groups/);
    rejects('partition:0,1|@3-4', /empty group/);
    rejects('delay:0-1=50@1-2', /needs a unit/);
    rejects('delay:0-0=50ms@1-2', /joins a node to itself/);
    rejects('delay:01=50ms@1-2', /not a link/);
    rejects('delay:0-1@1-2', /expected delay:I-J=50ms@T/);
    rejects('delay:0-1=2min@1', /needs a unit/);
    rejects('delay:0-1=61s@1', /at most 60s/);
    rejects('loss:0-1=1.5@1', /must be a number in \[0, 1\]/);
    rejects('loss:0-1=-0.1@1', /must be a number in \[0, 1\]/);
    rejects('byzantine:1=lazy', /"lazy" is not equivocate or silent/);
    rejects('byzantine:1', /expected byzantine:I=equivocate\|silent/);
    rejects('skew:3@5', /expected skew:I=\+60s@T/);
    rejects('skew:3=60s@5', /skew "60s" must be a signed duration with a unit, e\.g\. \+60s/);
    rejects('skew:3=+60@5', /skew "\+60" must be a signed duration with a unit/);
    rejects('skew:3=+1min@5', /skew "\+1min" must be a signed duration/);
    rejects('skew:3=+-5s@5', /must be a signed duration/);
    rejects('skew:3=+86401s@5', /skew "\+86401s" must be within ±1 day/);
    rejects('skew:3=-86400001ms@5', /must be within ±1 day/);
    rejects('skew:3=+60s', /missing "@T"/);
    rejects('skew:x=+60s@5', /"x" is not a validator index/);
    rejects('skew:3=+60s@5-2', /ends \(2\) before it starts \(5\)/);
  });

  test('skew: a signed offset in s or ms, within a day, for one node from T', () => {
    assert.deepEqual(parseFault('skew:3=+60s@5'), {
      kind: 'skew',
      node: 3,
      offsetMs: 60_000,
      atMs: 5000,
    });
    assert.deepEqual(parseFault('skew:0=-1500ms@500ms-2.5s'), {
      kind: 'skew',
      node: 0,
      offsetMs: -1500,
      atMs: 500,
      untilMs: 2500,
    });
    const offset = (spec: string): number => {
      const f = parseFault(spec);
      assert.equal(f.kind, 'skew');
      return f.offsetMs;
    };
    assert.equal(offset('skew:1=+0.25s@0'), 250);
    assert.equal(offset('skew:1=+86400s@0'), MAX_SKEW_MS);
    assert.ok(Object.is(offset('skew:1=-0s@0'), 0), '-0s is 0, not -0');
    assert.equal(describeFault(parseFault('skew:1=-0ms@0')), 'skew:1=+0s@0');
    assert.equal(describeFault(parseFault('skew:2=-90000ms@1')), 'skew:2=-90s@1');
    // The node refuses what the harness would allow past this bound, and the reverse.
    assert.equal(MAX_SKEW_MS, MAX_CLOCK_OFFSET_MS);
    assert.match(FAULT_GRAMMAR, /skew:I=\+60s@T\[-T2\]/);
    assert.ok(
      FAULT_GRAMMAR.split('\n').every((line) => line.length <= 100),
      'help lines stay short',
    );
  });

  test('checkFaults rejects validators that do not exist and faults after the run', () => {
    assert.throws(() => checkFaults(parseFaultSpec('crash:4@1'), 4, 10_000), /no validator 4/);
    assert.throws(
      () => checkFaults(parseFaultSpec('partition:0|7@1-2'), 4, 10_000),
      /no validator 7/,
    );
    assert.throws(
      () => checkFaults(parseFaultSpec('delay:0-9=5ms@1'), 4, 10_000),
      /no validator 9/,
    );
    assert.throws(() => checkFaults(parseFaultSpec('crash:1@11'), 4, 10_000), /after the run ends/);
    checkFaults(parseFaultSpec('crash:3@10 crash:primary@1 delay:*=5ms@0'), 4, 10_000);
    assert.throws(() => checkFaults(parseFaultSpec('skew:4=+1s@1'), 4, 10_000), /no validator 4/);
  });

  test("checkFaults keeps the sum of one node's overlapping skews within a day", () => {
    const refused = (spec: string, pattern: RegExp): void => {
      assert.throws(
        () => checkFaults(parseFaultSpec(spec), 4, 100_000),
        (err: unknown) =>
          isCivitasError(err) && err.code === 'BENCH_BAD_FAULT' && pattern.test(err.message),
        spec,
      );
    };
    refused('skew:1=+50000s@1 skew:1=+50000s@2', /validator 1 add up to 100000000 ms at 2s/);
    // Only while both are active: a negative skew ending leaves the large positive one alone.
    refused(
      'skew:1=+86400s@1 skew:1=-10s@1-3 skew:1=+5s@2',
      /validator 1 add up to 86405000 ms at 3s/,
    );
    checkFaults(parseFaultSpec('skew:1=+50000s@1-2 skew:1=+50000s@2'), 4, 100_000);
    checkFaults(parseFaultSpec('skew:1=+50000s@1 skew:2=+50000s@1'), 4, 100_000);
    checkFaults(parseFaultSpec('skew:1=+86400s@1 skew:1=-86400s@1'), 4, 100_000);
  });

  test('JSON manifests: strings and objects, as an array or under "faults"', () => {
    const faults = parseFaultManifest({
      faults: [
        'crash:1@5-10',
        { kind: 'partition', groups: [[0], [1, 2]], atMs: 1000, untilMs: 2000 },
        { kind: 'delay', a: 0, b: '*', delayMs: 30, atMs: 0 },
        { kind: 'byzantine', node: 2, mode: 'equivocate' },
        { kind: 'crash', target: 'primary', atMs: 3000 },
        { kind: 'skew', node: 3, offsetMs: 60_000, atMs: 5000 },
        { kind: 'skew', node: 1, offsetMs: -1500, atMs: 2000, untilMs: 4000 },
        'skew:0=-2s@1',
      ],
    });
    assert.deepEqual(faults.map(describeFault), [
      'crash:1@5-10',
      'partition:0|1,2@1-2',
      'delay:0-*=30ms@0',
      'byzantine:2=equivocate@0',
      'crash:primary@3',
      'skew:3=+60s@5',
      'skew:1=-1500ms@2-4',
      'skew:0=-2s@1',
    ]);
    assert.deepEqual(parseFaultManifest(['loss:*=0.5@1']).map(describeFault), ['loss:*=0.5@1']);
    assert.throws(() => parseFaultManifest({ nope: [] }), /JSON array or \{"faults"/);
    assert.throws(() => parseFaultManifest([{ kind: 'meteor' }]), /kind must be crash/);
    assert.throws(
      () => parseFaultManifest([{ kind: 'loss', a: 0, b: 1, lossRate: 2, atMs: 0 }]),
      /lossRate/,
    );
    assert.throws(
      () => parseFaultManifest([{ kind: 'crash', target: 1, atMs: 5, untilMs: 4 }]),
      /untilMs/,
    );
    assert.throws(
      () => parseFaultManifest([{ kind: 'partition', groups: [[0]], atMs: 0 }]),
      /groups/,
    );
    assert.throws(() => parseFaultManifest([7]), /expected a string or an object/);
    for (const [skew, pattern] of [
      [{ node: 3, offsetMs: 1.5, atMs: 0 }, /"offsetMs" must be an integer number of ms/],
      [{ node: 3, offsetMs: '60s', atMs: 0 }, /"offsetMs" must be an integer/],
      [{ node: 3, offsetMs: MAX_SKEW_MS + 1, atMs: 0 }, /within ±86400000/],
      [{ node: 3, atMs: 0 }, /"offsetMs"/],
      [{ node: '*', offsetMs: 1, atMs: 0 }, /"node" must be a validator index/],
      [{ node: 3, offsetMs: 1 }, /"atMs" must be a number/],
    ] as const) {
      assert.throws(() => parseFaultManifest([{ kind: 'skew', ...skew }]), pattern);
    }
    assert.equal(
      parseFaultManifest([{ kind: 'skew', node: 0, offsetMs: -MAX_SKEW_MS, atMs: 0 }])[0]!.kind,
      'skew',
    );
  });
});

describe('fault schedule', () => {
  const at = (faults: Fault[], t: number) => settingsAt(faults, 4, t);

  test('a partition blocks every cross-group link on both sides, only while active', () => {
    const faults = parseFaultSpec('partition:0,1|2,3@2-5');
    assert.deepEqual(at(faults, 1000), at([], 0));
    const s = at(faults, 2000);
    assert.deepEqual(s[0]!.links, { 2: { blocked: true }, 3: { blocked: true } });
    assert.deepEqual(s[3]!.links, { 0: { blocked: true }, 1: { blocked: true } });
    assert.deepEqual(at(faults, 5000), at([], 0));
  });

  test('delay and loss are set on both ends of a link, once per link, and compose', () => {
    const s = at(parseFaultSpec('delay:*=10ms@0 delay:0-1=5ms@0 loss:0-1=0.5@0 loss:1-0=0.5@0'), 0);
    assert.equal(s[0]!.links[1]!.delayMs, 15);
    assert.equal(s[1]!.links[0]!.delayMs, 15);
    assert.equal(s[2]!.links[3]!.delayMs, 10);
    assert.equal(s[0]!.links[1]!.lossRate, 0.75);
    assert.equal(s[1]!.links[0]!.lossRate, 0.75);
    assert.equal(s[2]!.links[0]!.lossRate, undefined);
    assert.equal(s[0]!.links[0], undefined, 'no link to itself');
  });

  test('byzantine modes and crash windows', () => {
    const faults = parseFaultSpec('byzantine:2=silent@1-3 crash:1@2-4');
    assert.equal(at(faults, 500)[2]!.byzantine, 'none');
    assert.equal(at(faults, 1000)[2]!.byzantine, 'silent');
    assert.equal(at(faults, 3000)[2]!.byzantine, 'none');
    assert.deepEqual(boundaries(faults, 10_000), [1000, 2000, 3000, 4000]);
    assert.deepEqual(boundaries(faults, 2500), [1000, 2000]);
  });

  test('skew sets clockOffsetMs on its node only, 0 otherwise; overlapping skews add up', () => {
    assert.deepEqual(
      at([], 0).map((s) => s.clockOffsetMs),
      [0, 0, 0, 0],
      'every node is told 0 when no skew is active',
    );
    const faults = parseFaultSpec('skew:3=+60s@5 skew:3=-1500ms@6-8 skew:1=-2s@7-9');
    assert.deepEqual(boundaries(faults, 20_000), [5000, 6000, 7000, 8000, 9000]);
    const offsets = (t: number) => at(faults, t).map((s) => s.clockOffsetMs);
    assert.deepEqual(offsets(4999), [0, 0, 0, 0]);
    assert.deepEqual(offsets(5000), [0, 0, 0, 60_000]);
    assert.deepEqual(offsets(6000), [0, 0, 0, 58_500]);
    assert.deepEqual(offsets(7000), [0, -2000, 0, 58_500]);
    assert.deepEqual(offsets(8000), [0, -2000, 0, 60_000]);
    assert.deepEqual(offsets(9000), [0, 0, 0, 60_000], 'a skew without an end lasts the run');
    const s = at(faults, 7000)[3]!;
    assert.deepEqual(s.links, {}, 'a skew touches no link');
    assert.equal(s.byzantine, 'none');
  });
});
