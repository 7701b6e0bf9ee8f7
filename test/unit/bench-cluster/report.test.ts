/**
 * The human table of a --max run shows what results.json records: the commit and whether
 * the tree was dirty, the machine with its load at start and end, the crypto backends, the
 * efficiency, each probe against before the overload and whether the cluster recovered
 * after it, and why a goal is not met.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterBenchResults, ProbeResult } from '../../../bench/cluster/bench.ts';
import { efficiencyOf, goalsFor } from '../../../bench/cluster/goals.ts';
import {
  allRecovered,
  compareAfterOverload,
  recoveredAfter,
} from '../../../bench/cluster/recovery.ts';
import { formatResults } from '../../../bench/cluster/report.ts';
import { ceilingFixture, runFixture, spread } from './run-fixture.ts';

function probe(rate: number, txPerSec: number, sustainable: boolean, before: ProbeResult[]) {
  const afterOverload = compareAfterOverload(
    before.map((p) => ({ ...p })),
    { rate, txPerSec },
  );
  return {
    rate,
    txPerSec,
    committedTxs: txPerSec * 10,
    p99Ms: txPerSec === 0 ? null : 800,
    uncommitted: 0,
    failed: 0,
    maxSendLagMs: 2,
    viewChanges: 0,
    blocks: 40,
    sustainable,
    why: sustainable ? 'ok' : txPerSec === 0 ? 'nothing committed' : 'committed < 90% of offered',
    afterOverload,
    recoveredAfter: null,
  } satisfies ProbeResult;
}

test('a wedged --max run: the table says so, with where the figures came from', () => {
  const probes: ProbeResult[] = [];
  for (const [rate, txPerSec, ok] of [
    [800, 800, true],
    [1_600, 1_590, true],
    [3_200, 2_000, false],
    [2_400, 0, false],
  ] as const) {
    probes.push(probe(rate, txPerSec, ok, probes));
  }
  const run = runFixture({ rate: 1_600, latenciesMs: [], uncommitted: 16_000 });
  const half = runFixture({ rate: 800, latenciesMs: [], uncommitted: 8_000 });
  const runRecovery = compareAfterOverload(probes, { rate: 1_600, txPerSec: 0 });
  const halfRecovery = compareAfterOverload(probes, { rate: 800, txPerSec: 0 });
  const comparisons = [...probes.map((p) => p.afterOverload), runRecovery];
  const after = recoveredAfter(probes, comparisons);
  const ceiling = ceilingFixture(8_000);
  const results: ClusterBenchResults = {
    version: 2,
    date: '2026-12-08T10:00:00.000Z',
    git: { commit: 'abc1234', dirty: true, changedFiles: 3, changes: [' M x.ts'] },
    config: {},
    machine: {
      cpus: 2,
      model: 'AMD EPYC 7B13',
      memoryGiB: 23.5,
      freeMemoryGiBAtStart: 20.1,
      node: 'v24.21.0',
      platform: 'linux-x64',
      loadAverageStart: [1.25, 1, 0.5],
      loadAverageEnd: [3.5, 2, 1],
    },
    crypto: {
      nodes: [0, 1, 2, 3].map((index) => ({
        index,
        backends: [{ metric: 'civitas_crypto_backend_info', labels: {}, backend: 'sodium' }],
      })),
      harness: {
        ed25519: 'sodium',
        sha256: 'sodium+node:crypto',
        choice: 'auto',
        sodium: { attempted: true, loaded: true, version: '1.0.20', error: null },
      },
      note: 'nodes: …',
    },
    ceiling,
    search: {
      probes: probes.map((p, i) => ({ ...p, recoveredAfter: after[i]! })),
      maxSustainableTxPerSec: 1_600,
      afterSearch: { run: runRecovery, halfRateRun: halfRecovery },
      recovered: allRecovered([...comparisons, halfRecovery]),
    },
    run,
    halfRateRun: half,
    efficiency: efficiencyOf(run, ceiling, true),
    sweep: null,
    goals: goalsFor({
      max: true,
      viewTimeoutMs: 2_000,
      ceiling,
      run,
      halfRateRun: half,
      recovery: [...comparisons, halfRecovery],
    }),
    outDir: null,
  };
  const text = formatResults(results).join('\n');

  assert.match(text, /^Cluster benchmark — git abc1234 \+ uncommitted changes in 3 files/);
  assert.match(text, /load average 1\.25 1 0\.5 at start, 3\.5 2 1 at end/);
  assert.match(
    text,
    /crypto backends: nodes crypto=sodium \(all 4\); harness ed25519=sodium sha256=sodium\+node:crypto\n/,
  );
  assert.doesNotMatch(text, /NOT RECORDED/);
  assert.match(
    text,
    /\[validate-bench, consortium chain, 1,000-tx blocks\]; verifyNative \(sodium\) 9,000\/s\/core × 2 = 18,000\n/,
  );
  assert.match(
    text,
    /signature ceilings, same run: sodium 9,000\/s\/core × 2 = 18,000 \(validation at 0\.44 of it\); node:crypto 4,500\/s\/core × 2 = 9,000 \(validation at 0\.89 of it\)\n/,
  );
  assert.match(
    text,
    /efficiency \(run at the max rate\): 0 committed tx\/s × 4 validators ÷ 8,000 tx\/s = 0\.0% \(over 0 committed txs\)/,
  );
  const rows = text.split('\n');
  const row = (rate: string) => rows.find((l) => l.startsWith(`  ${rate} `))!;
  assert.match(row('3,200'), /NO$/, 'the 2,400 probe after it committed nothing');
  assert.match(row('1,600'), /sustainable$/, 'no comparison before the overload');
  assert.match(row('2,400'), /0% of 1,590 \(@1,600\) ✗\s+NO$/);
  assert.match(
    text,
    /run at the max rate vs before the overload: 0 committed tx\/s = 0% of the 1,590 expected from the same rate/,
  );
  assert.match(text, /recovered after overloads: NO/);
  assert.match(text, /latency: none — no load tx committed/);
  assert.match(
    text,
    /p99 latency at half the max rate: - ms \(target < 1000 ms\) — NOT met\n.*\n {4}why: no load tx committed: a percentile over zero commits is not a measurement/,
  );
  assert.match(
    text,
    /every probe and run after an overload probe vs before it: 0\.0 % .* — NOT met/,
  );
});

test('a skew fault: listed with the others, and each node says how far off its clock is', () => {
  const recovery = {
    firstCommitAfterStartMs: 180,
    maxCommitGapMs: 420,
    txPerSecDuring: 99,
    firstCommitAfterEndMs: null,
    throughputRecoveredMs: null,
  };
  const run = runFixture({
    rate: 100,
    durationS: 20,
    latenciesMs: spread(2_000, 200, 600),
    faults: [
      { spec: 'skew:3=+60s@5', kind: 'skew', startS: 5, endS: null, recovery },
      { spec: 'skew:1=-1500ms@6-8', kind: 'skew', startS: 6, endS: 8, recovery },
    ],
    clocks: [
      { offsetMs: -3, ok: true, maxDriftMs: 10_000 },
      { offsetMs: 0, ok: true, maxDriftMs: 10_000 },
      null,
      { offsetMs: 59_987, ok: false, maxDriftMs: 10_000 },
    ],
  });
  const text = formatResults({
    version: 2,
    date: '2026-12-08T10:00:00.000Z',
    git: { commit: 'abc1234', dirty: false, changedFiles: 0, changes: [] },
    config: {},
    machine: {
      cpus: 2,
      model: 'AMD EPYC 7B13',
      memoryGiB: 23.5,
      freeMemoryGiBAtStart: 20.1,
      node: 'v24.21.0',
      platform: 'linux-x64',
      loadAverageStart: [1, 1, 1],
      loadAverageEnd: [1, 1, 1],
    },
    crypto: { nodes: [], harness: null, note: 'NOT RECORDED: fixture' },
    ceiling: null,
    search: null,
    run,
    halfRateRun: null,
    efficiency: null,
    sweep: null,
    goals: [],
    outDir: null,
  }).join('\n');
  const rows = text.split('\n');
  const header = rows.find((l) => l.startsWith('  node ') && l.includes('CPU %'))!;
  assert.match(header, /view changes {2}clock offset ms$/);
  const cell = (node: string) => rows.find((l) => l.startsWith(`  ${node} `))!;
  assert.match(cell('node3'), /\s\+59,987 ✗$/, 'the skewed node knows, and is past the bound');
  assert.match(cell('node0'), /\s-3$/);
  assert.match(cell('node1'), /\s0$/);
  assert.match(cell('node2'), /\s-$/, 'no answer: no figure');
  assert.match(text, /\n {2}skew:3=\+60s@5 +180 +420 +99 +-\n/);
  assert.match(text, /\n {2}skew:1=-1500ms@6-8 /);
  assert.ok(!text.includes('RSS MiB by minute'), 'a 20 s run prints no memory curve');
});
