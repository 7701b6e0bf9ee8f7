/**
 * `civitas sim` as a researcher calls it: --json with one row per seed and the git commit,
 * --trace --json as JSON lines ending in the report, the rejections explained in the human
 * output; scripts/sim-sweep.ts --help.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, runCli, runScript } from '../../helpers/process.ts';

describe('civitas sim for researchers', () => {
  it('--json has per-seed rows, latency percentiles, bytes and the git commit', async () => {
    const r = await runCli(['sim', '--seeds', '2', '--faults', 'crash', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.rows.length, 2);
    for (const row of out.rows) {
      assert.ok(row.committedMax > 0);
      assert.ok(row.bytesSent > row.messagesSent);
      assert.ok(row.latencyMs.p50 <= row.latencyMs.p90 && row.latencyMs.p99 <= row.latencyMs.max);
    }
    assert.match(out.provenance.commit, /^([0-9a-f]{40}(-dirty)?|unknown)$/);
    assert.match(out.provenance.command, /^civitas sim --seeds 2/);
    assert.equal(out.summary.rejectionsBenign + out.summary.rejectionsOther, out.summary.rejected);
  });

  it('--seed X --trace --json prints JSON lines, the report last, the same on a replay', async () => {
    const args = ['sim', '--seed', '3', '--faults', 'loss,crash', '--trace', '--json'];
    const [a, b] = await Promise.all([runCli(args), runCli(args)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    const lines = a.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(lines.length > 100);
    assert.equal(lines.at(-1).event, 'report');
    assert.equal(lines.at(-1).report.seed, 3);
    assert.ok(lines.some((e) => e.event === 'commit' && typeof e.digest === 'string'));
  });

  it('the human output says which rejections are benign', async () => {
    const r = await runCli(['sim', '--seeds', '1', '--faults', 'none']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rejected messages \d+: \d+ benign \(stale-height \d+/);
    assert.match(r.stdout, /late votes after a decision/);
    assert.match(r.stdout, /block commit latency \(simulated\): p50 /);
  });

  it('scripts/sim-sweep.ts --help explains itself; an unknown flag is one line', async () => {
    const script = join(REPO_ROOT, 'scripts/sim-sweep.ts');
    const help = await runScript(script, ['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /--mixes <mixes>/);
    const bad = await runScript(script, ['--bogus']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /see --help/);
  });
});
