/**
 * One short real run of the cluster benchmark: 4 validator processes, a low open-loop rate,
 * a silent validator for a few seconds and another's clock 30 s ahead through the admin API
 * (which the skewed node must see in its own /status clock), then results.json and the
 * plots. Checks that the numbers are consistent with each other, not how fast they are, and
 * that the results record where they came from (commit, machine, backends).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CLUSTER_DEFAULTS,
  type ClusterBenchResults,
  parseFaultSpec,
  runClusterBench,
  writeResults,
} from '../../bench/cluster/index.ts';
import { tempDir } from '../helpers/temp.ts';

test('4 validators, 8 s at 25 tx/s, a silent validator, a skewed clock: results.json with sane fields', {
  timeout: 150_000,
}, async (t) => {
  const out = await tempDir(t, 'civitas-bench-cluster-');
  const results = await runClusterBench({
    ...CLUSTER_DEFAULTS,
    validators: 4,
    durationS: 8,
    rate: 25,
    blockSize: 100,
    faults: parseFaultSpec('byzantine:3=silent@2-5 skew:2=+30s@1'),
    out,
    ceilingTxs: 200,
    drainS: 20,
  });
  const files = await writeResults(results, out);
  assert.deepEqual(files.map((f) => f.slice(out.length + 1)).sort(), [
    'latency-cdf.svg',
    'results.json',
    'throughput.svg',
  ]);
  const saved = JSON.parse(
    await readFile(join(out, 'results.json'), 'utf8'),
  ) as ClusterBenchResults;
  assert.equal(saved.version, 2);
  assert.equal(saved.machine.cpus > 0, true);
  assert.match(saved.machine.node, /^v\d+/);
  assert.equal(saved.machine.loadAverageStart.length, 3);
  assert.equal(saved.machine.loadAverageEnd?.length, 3);
  assert.ok(saved.machine.memoryGiB > 0 && saved.machine.model.length > 0);
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: join(import.meta.dirname, '..', '..'),
    encoding: 'utf8',
  }).trim();
  assert.equal(saved.git.commit, head, 'the commit the run came from');
  assert.equal(typeof saved.git.dirty, 'boolean');
  // Every node answered GET /metrics, and they all run the same build: the same backends.
  assert.deepEqual(
    saved.crypto.nodes.map((n) => n.index),
    [0, 1, 2, 3],
  );
  for (const n of saved.crypto.nodes) {
    assert.ok(n.backends !== null, `node${n.index} answered /metrics`);
    assert.deepEqual(n.backends, saved.crypto.nodes[0]!.backends);
  }
  assert.equal(typeof saved.crypto.note, 'string');
  const harness = saved.crypto.harness;
  assert.ok(
    harness !== null && ['sodium', 'node:crypto'].includes(harness.ed25519),
    'the harness records the backend its validation ceiling ran on',
  );
  // The nodes run on this machine with this environment: the same ed25519 backend.
  assert.deepEqual(
    saved.crypto.nodes[0]!.backends!.find((b) => b.labels.op === 'ed25519')?.backend,
    harness.ed25519,
  );
  assert.doesNotMatch(saved.crypto.note, /NOT RECORDED/);
  assert.equal(saved.ceiling?.verifyBackend, harness.ed25519, 'the ceiling ran on that backend');
  assert.ok(
    saved.ceiling!.signatureCeilings.some((c) => c.backend === 'node:crypto'),
    'the node:crypto signature ceiling was measured in the same run',
  );

  const run = saved.run!;
  assert.ok(run !== null);
  assert.equal(run.validators, 4);
  assert.equal(run.load.due, 200, 'rate × duration txs were due');
  assert.equal(run.load.accepted + run.load.failed, 200);
  assert.equal(run.load.failed, 0, JSON.stringify(run.load.failures));
  // Consistency, not speed: every accepted tx is either committed or counted as uncommitted,
  // and each committed tx has exactly one latency.
  assert.equal(run.committedLoadTxs + run.uncommitted, run.load.accepted);
  assert.ok(run.committedLoadTxs > 0, 'the cluster committed load txs');
  assert.equal(run.latency.count, run.committedLoadTxs, 'one latency per committed tx');
  const l = run.latency;
  assert.ok(l.p50Ms > 0 && l.p50Ms <= l.p90Ms && l.p90Ms <= l.p99Ms && l.p99Ms <= l.maxMs + 1e-9);
  assert.ok(l.cdf.length > 0 && l.cdf.at(-1)!.fraction === 1);
  assert.equal(run.throughput.overTime.length, 8);
  const inWindow = run.throughput.overTime.reduce((a, b) => a + b.txPerSec, 0);
  assert.ok(inWindow <= run.committedLoadTxs, 'no more commits in the window than in total');
  assert.ok(run.throughput.meanTxPerSec > 0);
  assert.ok(run.blocks.count > 0 && run.blocks.maxTxs <= 100, 'blocks respect the block size');

  assert.deepEqual(run.faultErrors, [], 'every node accepted its fault settings');
  assert.deepEqual(
    run.faults.map((f) => [f.spec, f.startS, f.endS]),
    [
      ['skew:2=+30s@1', 1, null],
      ['byzantine:3=silent@2-5', 2, 5],
    ],
  );
  assert.equal(run.nodes.length, 4);
  // Block time comes from the quorum's votes, so one fast clock moves no one else's estimate,
  // and the skewed node sees its own offset (read before the faults are lifted).
  for (const n of run.nodes) {
    const offset = n.clock?.offsetMs;
    assert.ok(offset !== null && offset !== undefined, `node${n.index} estimated its clock`);
    const skew = n.index === 2 ? 30_000 : 0;
    assert.ok(Math.abs(offset - skew) < 2_000, `node${n.index} offset ${offset}, skew ${skew}`);
    assert.equal(n.clock!.ok, n.index !== 2, `node${n.index} clock ok`);
  }
  for (const n of run.nodes) {
    assert.ok(n.usage.samples > 0, `node${n.index} sampled`);
    assert.ok(n.usage.rssMiBPeak > 10, `node${n.index} RSS`);
    assert.ok(n.usage.cpuPercentMean > 0, `node${n.index} CPU`);
    assert.equal(n.restarts, 0);
    assert.ok((n.finalHeight ?? 0) > 0);
  }

  assert.ok(saved.ceiling !== null && saved.ceiling.txPerSec > 0);
  assert.equal(
    saved.ceiling.chain,
    'consortium',
    'the ceiling validates the chain the cluster runs',
  );
  const ratio = saved.goals.find((g) => g.name.startsWith('cluster work'));
  assert.ok(ratio !== undefined && ratio.value !== null);
  assert.ok(
    Math.abs(ratio.value - (100 * run.throughput.meanTxPerSec * 4) / saved.ceiling.txPerSec) < 1e-6,
  );
  assert.equal(ratio.committedTxs, run.committedLoadTxs);
  const e = saved.efficiency!;
  assert.equal(e.run, 'fixed');
  assert.equal(e.validators, 4);
  assert.equal(e.committedTxs, run.committedLoadTxs);
  assert.ok(Math.abs(e.ratio * 100 - ratio.value) < 1e-9);
  for (const g of saved.goals) {
    assert.equal(g.reason === null, g.met === true, `${g.name}: a reason exactly when not met`);
  }
  assert.equal(saved.search, null, 'a fixed-rate run has no search');
  for (const n of run.nodes) assert.equal(typeof n.timings?.signatures, 'object');
  const svg = await readFile(join(out, 'throughput.svg'), 'utf8');
  assert.match(svg, /^<svg /);
  assert.ok(svg.includes('byzantine:3=silent@2-5'), 'the fault is marked on the plot');
  assert.ok(svg.includes('skew:2=+30s@1'), 'the skew is marked on the plot');
});
