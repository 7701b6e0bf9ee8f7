/**
 * A sim run with view timeouts (docs/LAB.md, experiment 3): the simulator runs with them, and
 * the plots against the timeout are drawn for such runs only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SimRunParams } from '../../../bench/lab/experiment.ts';
import { labPlots, type RunRecord, simRun } from '../../../bench/lab/index.ts';

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
