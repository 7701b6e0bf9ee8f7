/**
 * A sim run with view timeouts (docs/LAB.md, experiment 3): the simulator runs with them, and
 * the plots against the timeout are drawn for such runs only. A cluster run's figures
 * (experiment 2) from what the cluster bench reports: recovered or not, per fault window.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunResult } from '../../../bench/cluster/run.ts';
import type { ClusterRunParams, SimRunParams } from '../../../bench/lab/experiment.ts';
import { clusterOutcome, labPlots, type RunRecord, simRun } from '../../../bench/lab/index.ts';

const BASE: SimRunParams = {
  kind: 'sim',
  protocol: 'pbft',
  validators: 4,
  faults: ['crash', 'loss'],
  faultMix: 'crash,loss',
  seed: 1,
  durationMs: 30_000,
  byzantine: null,
  signatures: 'fake',
};

describe('lab sim runs with view timeouts', () => {
  it("the simulator's own timeouts given explicitly change nothing; others change the run", () => {
    const plain = simRun(BASE);
    const same = simRun({ ...BASE, viewTimeoutMs: 300, maxViewTimeoutMs: 2_400 });
    const longer = simRun({ ...BASE, viewTimeoutMs: 1_000, maxViewTimeoutMs: 8_000 });
    assert.deepEqual(same.metrics, plain.metrics);
    assert.equal(plain.metrics.violations, 0, plain.problems.join('\n'));
    assert.equal(longer.metrics.violations, 0, longer.problems.join('\n'));
    assert.notDeepEqual(longer.metrics, plain.metrics);
  });

  it('draws recovery and view changes against the timeout only when runs vary it', () => {
    const record = (params: SimRunParams, key: string): RunRecord => ({
      key,
      params,
      session: 0,
      wallMs: 1,
      ...simRun(params),
    });
    const plain = [record(BASE, 'a')];
    const timed = [500, 1_000].map((vt) =>
      record({ ...BASE, viewTimeoutMs: vt, maxViewTimeoutMs: vt * 8 }, `vt${vt}`),
    );
    const files = (runs: RunRecord[]) =>
      labPlots('x', runs, ['recovery', 'view-changes']).map((p) => p.file);
    assert.deepEqual(files(plain), [
      'view-changes-vs-fault-rate.svg',
      'recovery-after-gst-vs-n.svg',
    ]);
    assert.deepEqual(files(timed), [
      'view-changes-vs-fault-rate.svg',
      'recovery-after-gst-vs-n.svg',
      'recovery-after-gst-vs-view-timeout.svg',
      'view-changes-vs-view-timeout.svg',
    ]);
    const spec = labPlots('x', timed, ['recovery']).find(
      (p) => p.file === 'recovery-after-gst-vs-view-timeout.svg',
    )!.spec as unknown as { data: { values: Array<{ x: number; series: string; panel: string }> } };
    assert.deepEqual(
      spec.data.values.map((v) => [v.x, v.series, v.panel]),
      [
        [500, 'pbft n=4', 'crash,loss'],
        [1_000, 'pbft n=4', 'crash,loss'],
      ],
    );
  });
});

describe('lab cluster runs', () => {
  const params: ClusterRunParams = {
    kind: 'cluster',
    protocol: 'hotstuff',
    validators: 4,
    faults: ['crash:1@10-20'],
    faultMix: 'crash:1@10-20',
    blockSize: 1000,
    rate: 100,
    repetition: 1,
    durationS: 30,
    viewTimeoutMs: null,
    blockIntervalMs: null,
  };
  // The parts of the cluster bench's run the lab reads; the rest does not matter here.
  const run = (recoveredMs: number | null, uncommitted: number): RunResult =>
    ({
      throughput: { meanTxPerSec: 99.87 },
      latency: {
        count: 3000,
        p50Ms: 130,
        p90Ms: 260,
        p99Ms: 1200.4,
        maxMs: 1800,
        meanMs: 170,
        cdf: [{ latencyMs: 130, fraction: 0.5 }],
      },
      blocks: { count: 240 },
      viewChanges: { total: 31, maxPerNode: 9 },
      uncommitted,
      faultErrors: [],
      faults: [
        {
          spec: 'crash:1@10-20',
          kind: 'crash',
          startS: 10,
          endS: 20,
          recovery: {
            firstCommitAfterStartMs: 120,
            maxCommitGapMs: 1650,
            txPerSecDuring: 98,
            firstCommitAfterEndMs: 40,
            throughputRecoveredMs: recoveredMs,
          },
        },
      ],
    }) as unknown as RunResult;

  it('a fault window that ends and whose throughput comes back: recovered, and how fast', () => {
    const m = clusterOutcome(params, run(2_000, 0), '/tmp/x').metrics;
    assert.equal(m.throughput, 99.87);
    assert.equal(m.throughputUnit, 'tx/s');
    assert.equal(m.latencyP99Ms, 1200.4);
    assert.equal(m.viewChanges, 31);
    assert.equal(m.crashes, 1);
    assert.equal(m.recoveryAfterGstMs, 2_000);
    assert.equal(m.longestStallMs, 1650);
    assert.equal(m.recovered, true);
  });

  it('not recovered: the throughput never came back, or txs were left uncommitted', () => {
    const never = clusterOutcome(params, run(null, 0), '/tmp/x').metrics;
    assert.equal(never.recovered, false);
    assert.equal(never.recoveryAfterGstMs, null);
    const lost = clusterOutcome(params, run(2_000, 5), '/tmp/x').metrics;
    assert.equal(lost.recovered, false);
    assert.equal(lost.uncommitted, 5);
    const calm = clusterOutcome(
      { ...params, faults: [], faultMix: 'none' },
      { ...run(null, 0), faults: [] },
      '/tmp/x',
    ).metrics;
    assert.equal(calm.recovered, null, 'no fault: nothing to recover from');
    assert.equal(calm.longestStallMs, null);
  });

  it('draws each figure by fault mix, and no recovery-after-GST plot, for cluster runs', () => {
    const record = (mix: string, rep: number): RunRecord => ({
      key: `${mix}/${rep}`,
      params: { ...params, faultMix: mix, faults: mix === 'none' ? [] : [mix], repetition: rep },
      session: 0,
      wallMs: 1,
      ...clusterOutcome(
        params,
        mix === 'none' ? { ...run(null, 0), faults: [] } : run(1_000 * rep, 0),
        '/tmp/x',
      ),
    });
    const runs = [record('none', 1), record('crash:1@10-20', 1), record('crash:1@10-20', 2)];
    const plots = labPlots('c', runs, ['throughput', 'latency', 'view-changes', 'recovery']);
    assert.deepEqual(
      plots.map((p) => p.file),
      [
        'throughput-vs-n.svg',
        'latency-cdf.svg',
        'latency-p99-vs-n.svg',
        'throughput-by-fault-mix.svg',
        'latency-p99-by-fault-mix.svg',
        'recovery-by-fault-mix.svg',
        'view-changes-by-fault-mix.svg',
      ],
    );
    const recovery = plots.find((p) => p.file === 'recovery-by-fault-mix.svg')!.spec as unknown as {
      data: { values: Array<{ mix: string; y: number; series: string }> };
    };
    assert.deepEqual(
      recovery.data.values.map((v) => [v.mix, v.y, v.series]),
      [
        ['crash:1@10-20', 1_000, 'hotstuff'],
        ['crash:1@10-20', 2_000, 'hotstuff'],
      ],
    );
  });
});
