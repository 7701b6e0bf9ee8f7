/** Experiment files: what parses, what is refused (one line, the field named), the run plan. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseExperiment, planRuns } from '../../../bench/lab/index.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { REPO_ROOT } from '../../helpers/process.ts';

const SIM = { name: 'tiny', kind: 'sim', validators: [4], seeds: 2 };

function refused(json: unknown, field: RegExp | null, message: RegExp): void {
  assert.throws(
    () => parseExperiment(typeof json === 'string' ? json : JSON.stringify(json), 'x.json'),
    (err: unknown) => {
      assert.ok(isCivitasError(err, 'LAB_BAD_EXPERIMENT'), String(err));
      const text = (err as Error).message;
      assert.ok(!text.includes('\n'), 'one line');
      assert.match(text, /^x\.json: /);
      if (field !== null) assert.match(text, field);
      assert.match(text, message);
      return true;
    },
  );
}

describe('experiment files', () => {
  it('a minimal sim experiment takes the defaults', () => {
    const e = parseExperiment(JSON.stringify(SIM), 'x.json');
    assert.equal(e.kind, 'sim');
    assert.deepEqual(e.protocols, ['pbft']);
    assert.deepEqual(e.faults, [{ label: 'none', faults: [] }]);
    if (e.kind !== 'sim') return;
    assert.deepEqual(e.seeds, { first: 1, count: 2 });
    assert.equal(e.durationMs, null);
  });

  it('refuses bad files with the field quoted', () => {
    refused('{"name": ', null, /not JSON/);
    refused([], null, /expected an object/);
    refused({ ...SIM, kind: 'cloud' }, /"kind"/, /"sim" or "cluster"/);
    refused({ ...SIM, validators: [4, 100] }, /"validators\[1\]"/, /1\.\.64, got 100/);
    refused({ ...SIM, validators: [] }, /"validators"/, /non-empty/);
    refused({ ...SIM, validator: [4] }, /"validator"/, /unknown field/);
    refused({ ...SIM, rates: [100] }, /"rates"/, /applies to kind "cluster" only/);
    refused({ ...SIM, faults: ['crash,flood'] }, /"faults\[0\]"/, /unknown fault "flood"/);
    refused({ ...SIM, protocols: ['raft'] }, /"protocols\[0\]"/, /one of pbft, hotstuff/);
    refused({ ...SIM, protocols: ['pbft', 'pbft'] }, /"protocols"/, /twice/);
    refused({ ...SIM, name: 'Has Spaces' }, /"name"/, /names files/);
    refused({ ...SIM, seeds: { count: 2, last: 3 } }, /"seeds\.last"/, /unknown field/);
    refused({ ...SIM, durationMs: 5_000 }, /"durationMs"/, /liveness window/);
    refused({ ...SIM, byzantine: 4 }, /"byzantine"/, /below every validator count/);
    refused({ ...SIM, metrics: ['tps'] }, /"metrics\[0\]"/, /throughput/);
    const cluster = { name: 'c', kind: 'cluster', validators: [4], rates: [100] };
    refused({ ...cluster, seeds: 3 }, /"seeds"/, /applies to kind "sim" only/);
    refused({ ...cluster, protocols: ['tendermint'] }, /"protocols\[0\]"/, /pbft, hotstuff/);
    refused({ ...cluster, faults: ['crash:9@5'] }, /"faults\[0\]"/, /no validator 9/);
    refused({ ...cluster, faults: ['quake:1@5'] }, /"faults\[0\]"/, /.+/);
  });

  it('the simulator runs both protocols, each a run dimension', () => {
    const e = parseExperiment(
      JSON.stringify({ ...SIM, protocols: ['pbft', 'hotstuff'] }),
      'x.json',
    );
    assert.deepEqual(
      planRuns(e).map((r) => r.key),
      [
        'sim/pbft/none/n4/seed1',
        'sim/pbft/none/n4/seed2',
        'sim/hotstuff/none/n4/seed1',
        'sim/hotstuff/none/n4/seed2',
      ],
    );
  });

  it('expands into runs with stable keys and exact parameters', () => {
    const e = parseExperiment(
      JSON.stringify({ ...SIM, validators: [4, 7], faults: ['none', 'loss,crash'] }),
      'x.json',
    );
    const runs = planRuns(e);
    assert.equal(runs.length, 2 * 2 * 2);
    assert.deepEqual(
      runs.slice(0, 3).map((r) => r.key),
      ['sim/pbft/none/n4/seed1', 'sim/pbft/none/n4/seed2', 'sim/pbft/none/n7/seed1'],
    );
    const last = runs.at(-1)!;
    assert.equal(last.key, 'sim/pbft/loss,crash/n7/seed2');
    assert.equal(last.params.kind, 'sim');
    if (last.params.kind === 'sim') assert.ok(last.params.durationMs > 10_000);
    const c = parseExperiment(
      JSON.stringify({
        name: 'c',
        kind: 'cluster',
        validators: [4],
        rates: [100, 200],
        repetitions: 2,
        faults: ['none', 'crash:1@10-20'],
        durationS: 30,
      }),
      'c.json',
    );
    const keys = planRuns(c).map((r) => r.key);
    assert.equal(keys.length, 2 * 2 * 2);
    assert.ok(keys.includes('cluster/pbft/crash:1@10-20/n4/b1000/r200/rep2'), keys.join(' '));
  });

  it('a cluster experiment runs HotStuff too, each protocol a run dimension', () => {
    const e = parseExperiment(
      JSON.stringify({
        name: 'c',
        kind: 'cluster',
        protocols: ['pbft', 'hotstuff'],
        validators: [4],
        rates: [100],
        faults: ['partition:0,1,2|3@10-20'],
      }),
      'c.json',
    );
    assert.deepEqual(
      planRuns(e).map((r) => [r.key, r.params.protocol]),
      [
        ['cluster/pbft/partition:0,1,2|3@10-20/n4/b1000/r100/rep1', 'pbft'],
        ['cluster/hotstuff/partition:0,1,2|3@10-20/n4/b1000/r100/rep1', 'hotstuff'],
      ],
    );
  });

  it('view timeouts are a sim run dimension: in the key, the parameters and the duration', () => {
    const e = parseExperiment(
      JSON.stringify({ ...SIM, seeds: 1, faults: ['crash,loss'], viewTimeoutMs: [500, 2000] }),
      'x.json',
    );
    const runs = planRuns(e);
    assert.deepEqual(
      runs.map((r) => r.key),
      ['sim/pbft/crash,loss/n4/vt500/seed1', 'sim/pbft/crash,loss/n4/vt2000/seed1'],
    );
    const [short, long] = runs.map((r) => r.params);
    assert.ok(short?.kind === 'sim' && long?.kind === 'sim');
    // No cap given: eight times the base, the simulator's own ratio (300 → 2,400 ms).
    assert.deepEqual([short.viewTimeoutMs, short.maxViewTimeoutMs], [500, 4_000]);
    assert.deepEqual([long.viewTimeoutMs, long.maxViewTimeoutMs], [2_000, 16_000]);
    // 10 s of faults + the liveness window (f + 2) × cap + 2 s, f = 1 at n = 4.
    assert.equal(short.durationMs, 10_000 + 3 * 4_000 + 2_000);
    assert.equal(long.durationMs, 10_000 + 3 * 16_000 + 2_000);

    const capped = parseExperiment(
      JSON.stringify({ ...SIM, seeds: 1, viewTimeoutMs: 500, maxViewTimeoutMs: 3_000 }),
      'x.json',
    );
    const [one] = planRuns(capped).map((r) => r.params);
    assert.ok(one?.kind === 'sim');
    assert.deepEqual([one.viewTimeoutMs, one.maxViewTimeoutMs], [500, 3_000]);
    assert.equal(one.durationMs, 10_000 + 3 * 3_000 + 2_000);

    // Without the fields, keys and parameters stay as they were (older folders resume).
    const plain = planRuns(parseExperiment(JSON.stringify(SIM), 'x.json'))[0]!;
    assert.equal(plain.key, 'sim/pbft/none/n4/seed1');
    assert.ok(!('viewTimeoutMs' in plain.params) && !('maxViewTimeoutMs' in plain.params));
  });

  it('refuses bad view timeouts with the field quoted', () => {
    refused({ ...SIM, viewTimeoutMs: [500, 5] }, /"viewTimeoutMs\[1\]"/, /10\.\.600000, got 5/);
    refused({ ...SIM, viewTimeoutMs: [] }, /"viewTimeoutMs"/, /non-empty/);
    refused({ ...SIM, viewTimeoutMs: [500, 500] }, /"viewTimeoutMs"/, /twice/);
    refused({ ...SIM, viewTimeoutMs: '500' }, /"viewTimeoutMs"/, /integers/);
    refused(
      { ...SIM, viewTimeoutMs: [500, 2000], maxViewTimeoutMs: 1000 },
      /"maxViewTimeoutMs"/,
      /1000 ms is below the view timeout of 2000 ms/,
    );
    refused({ ...SIM, maxViewTimeoutMs: 100 }, /"maxViewTimeoutMs"/, /below .* 300 ms/);
    // The window grows with the cap: 30 s is enough for the simulator's timeouts, not for 16 s.
    parseExperiment(JSON.stringify({ ...SIM, durationMs: 30_000 }), 'x.json');
    refused(
      { ...SIM, durationMs: 30_000, viewTimeoutMs: [300, 2000] },
      /"durationMs"/,
      /liveness window of 50000 ms/,
    );
    const cluster = { name: 'c', kind: 'cluster', validators: [4], rates: [100] };
    refused({ ...cluster, maxViewTimeoutMs: 8000 }, /"maxViewTimeoutMs"/, /kind "sim" only/);
  });

  it('the example experiments in experiments/ parse', () => {
    for (const file of [
      'pbft-n-scaling.json',
      'pbft-faults.json',
      'pbft-vs-hotstuff.json',
      'recovery-vs-view-timeout.json',
      'cluster-faults.json',
    ]) {
      const path = join(REPO_ROOT, 'experiments', file);
      const e = parseExperiment(readFileSync(path, 'utf8'), path);
      assert.ok(planRuns(e).length > 0);
    }
  });
});
