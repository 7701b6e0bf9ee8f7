/**
 * `civitas lab run` on a one-run cluster experiment with HotStuff, as a user runs it: four
 * real validator processes at a low rate, validator 1 killed (kill -9) and restarted. Checks
 * the plumbing — the protocol reaches the bench chain's genesis, the bench's own results sit
 * in runs/<key>/, the lab's figures agree with them — not how fast anything is.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';

const EXPERIMENT = {
  name: 'tiny-cluster',
  kind: 'cluster',
  protocols: ['hotstuff'],
  validators: [4],
  faults: ['crash:1@2-5'],
  rates: [20],
  durationS: 8,
};

describe('civitas lab run, cluster', () => {
  it('runs HotStuff on four processes with a crash: the lab records what the bench measured', {
    timeout: 240_000,
  }, async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'tiny-cluster.json');
    writeFileSync(file, JSON.stringify(EXPERIMENT));
    const out = join(dir, 'out');
    const r = await runCli(['lab', 'run', file, '--out', out], { timeoutMs: 220_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[1\/1\] cluster\/hotstuff\/crash:1@2-5\/n4\/b1000\/r20\/rep1: /);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.equal(results.runs.length, 1);
    const run = results.runs[0];
    assert.deepEqual(run.problems, []);
    const bench = JSON.parse(readFileSync(join(run.dir, 'results.json'), 'utf8'));
    assert.equal(bench.config.protocol, 'hotstuff', 'the bench chain ran HotStuff');
    assert.deepEqual(bench.config.faults.length, 1);
    assert.ok(existsSync(join(run.dir, 'network', 'node1', 'node.log')), 'node logs kept');

    const m = run.metrics;
    assert.equal(m.throughputUnit, 'tx/s');
    assert.equal(m.throughput, Math.round(bench.run.throughput.meanTxPerSec * 1000) / 1000);
    assert.equal(m.committed, bench.run.blocks.count);
    assert.ok(m.committed > 0);
    assert.equal(m.viewChanges, bench.run.viewChanges.total);
    assert.equal(m.crashes, 1);
    assert.equal(m.uncommitted, bench.run.uncommitted);
    const window = bench.run.faults[0].recovery;
    assert.equal(m.longestStallMs, window.maxCommitGapMs);
    assert.equal(m.recoveryAfterGstMs, window.throughputRecoveredMs);
    assert.equal(m.recovered, window.throughputRecoveredMs !== null && m.uncommitted === 0);

    const csv = readFileSync(join(out, 'runs.csv'), 'utf8').trimEnd().split('\r\n');
    assert.match(
      csv[1]!,
      /^tiny-cluster,cluster\/hotstuff\/crash:1@2-5\/n4\/b1000\/r20\/rep1,cluster,hotstuff,4,crash:1@2-5,,1,1000,20,2000,30000,8000,/,
    );
    for (const svg of ['throughput-by-fault-mix.svg', 'view-changes-by-fault-mix.svg']) {
      assert.match(readFileSync(join(out, svg), 'utf8'), /^<svg[^>]*>/);
    }
  });
});
