/**
 * `civitas lab run` on a tiny simulator experiment (2 runs), as a user runs it: the files it
 * writes, progress on stderr, a rerun that runs nothing, and a bad file refused in one line
 * with nothing written.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';

const TINY = {
  name: 'tiny',
  description: 'two seeds of four validators with crashes',
  kind: 'sim',
  validators: [4],
  faults: ['crash,loss'],
  seeds: 2,
};

describe('civitas lab run', () => {
  it('runs a tiny experiment: results.json, runs.csv, plots; a rerun skips both runs', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'tiny.json');
    writeFileSync(file, JSON.stringify(TINY));
    const out = join(dir, 'out');
    const r = await runCli(['lab', 'run', file, '--out', out], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[1\/2\] sim\/pbft\/crash,loss\/n4\/seed1: \d+ blocks.*ETA/);
    assert.match(r.stderr, /\[2\/2\] sim\/pbft\/crash,loss\/n4\/seed2: .*done\)/);
    assert.match(r.stdout, /2 runs now, 0 were already done, 0 still to run/);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.equal(results.runs.length, 2);
    assert.deepEqual(
      results.runs.map((x: { params: { seed: number } }) => x.params.seed),
      [1, 2],
    );
    for (const run of results.runs) {
      assert.ok(run.metrics.committed > 0);
      assert.equal(run.metrics.violations, 0, run.problems.join('\n'));
      assert.equal(run.latenciesMs.length, run.metrics.committed);
    }
    const session = results.sessions[0];
    assert.match(session.command, /^civitas lab run .*tiny\.json --out /);
    assert.ok('commit' in session.git && 'dirty' in session.git);
    assert.ok(session.machine.cpus > 0);
    assert.ok(session.backends.harness !== undefined);
    assert.equal(results.experimentFile, file);

    const csv = readFileSync(join(out, 'runs.csv'), 'utf8').trimEnd().split('\r\n');
    assert.equal(csv.length, 3);
    assert.match(csv[0]!, /^experiment,key,kind,protocol,validators,faults,seed,/);
    assert.match(csv[1]!, /^tiny,"sim\/pbft\/crash,loss\/n4\/seed1",sim,pbft,4,"crash,loss",1,/);

    const svgs = readdirSync(out)
      .filter((f) => f.endsWith('.svg'))
      .sort();
    assert.deepEqual(svgs, [
      'latency-cdf.svg',
      'latency-p99-vs-n.svg',
      'messages-per-block-vs-n.svg',
      'recovery-after-gst-vs-n.svg',
      'throughput-vs-n.svg',
      'view-changes-vs-fault-rate.svg',
    ]);
    for (const svg of svgs) {
      const text = readFileSync(join(out, svg), 'utf8');
      assert.match(text, /^<svg[^>]*>/);
      assert.match(text, /tiny: /, `${svg} has its title`);
    }

    const again = await runCli(['lab', 'run', file, '--out', out, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(again.stdout);
    assert.deepEqual([summary.ran, summary.skipped, summary.remaining], [[], 2, 0]);
    const after = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.deepEqual(after.runs, results.runs, 'the runs are kept as they were');
    assert.equal(after.sessions.length, 2);
  });

  it('a bad experiment file: one line with the code and the field, exit 1, nothing written', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...TINY, validators: [4, 0] }));
    const out = join(dir, 'out');
    const r = await runCli(['lab', 'run', file, '--out', out]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(
      r.stderr,
      /"validators\[1\]": must be an integer 1\.\.64, got 0 \[LAB_BAD_EXPERIMENT\]/,
    );
    assert.ok(!existsSync(out));
    const check = await runCli(['lab', 'check', file]);
    assert.equal(check.code, 1);
  });
});
