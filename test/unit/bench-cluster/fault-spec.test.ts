import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { boundaries, settingsAt } from '../../../bench/cluster/fault-schedule.ts';
import {
  checkFaults,
  describeFault,
  type Fault,
  parseFault,
  parseFaultManifest,
  parseFaultSpec,
} from '../../../bench/cluster/fault-spec.ts';
import { isCivitasError } from '../../../src/errors/index.ts';

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
  });

  test('JSON manifests: strings and objects, as an array or under "faults"', () => {
    const faults = parseFaultManifest({
      faults: [
        'crash:1@5-10',
        { kind: 'partition', groups: [[0], [1, 2]], atMs: 1000, untilMs: 2000 },
        { kind: 'delay', a: 0, b: '*', delayMs: 30, atMs: 0 },
        { kind: 'byzantine', node: 2, mode: 'equivocate' },
        { kind: 'crash', target: 'primary', atMs: 3000 },
      ],
    });
    assert.deepEqual(faults.map(describeFault), [
      'crash:1@5-10',
      'partition:0|1,2@1-2',
      'delay:0-*=30ms@0',
      'byzantine:2=equivocate@0',
      'crash:primary@3',
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
});
