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
    refused({ ...cluster, protocols: ['hotstuff'] }, /"protocols\[0\]"/, /simulator only/);
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

  it('the example experiments in experiments/ parse', () => {
    for (const file of ['pbft-n-scaling.json', 'pbft-faults.json']) {
      const path = join(REPO_ROOT, 'experiments', file);
      const e = parseExperiment(readFileSync(path, 'utf8'), path);
      assert.ok(planRuns(e).length > 0);
    }
  });
});
