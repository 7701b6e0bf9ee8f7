/**
 * The lab's plots, as Vega-Lite specs rendered to SVG the way bench/cluster/plots.ts does:
 * throughput and messages per block against n, latency CDFs, view changes against the loss
 * rate, recovery after GST against n, and, when a sim experiment varies the view timeout,
 * recovery after GST and view changes against it. One series per protocol and fault mix;
 * every run is a point, the line joins the means, so the spread between seeds stays visible.
 */
import type { TopLevelSpec } from 'vega-lite';
import { latencyCdfSpec as clusterLatencyCdfSpec } from '../cluster/plots.ts';
import type { LabMetric } from './experiment.ts';
import type { RunRecord } from './results.ts';

const WIDTH = 560;
const HEIGHT = 280;
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * A run's series: protocol and fault mix (and block size and rate in a cluster experiment,
 * the view timeout in a sim experiment that varies it).
 */
export function seriesOf(r: RunRecord): string {
  const p = r.params;
  const extra =
    p.kind === 'cluster'
      ? ` b${p.blockSize} ${p.rate} tx/s`
      : p.viewTimeoutMs !== undefined
        ? ` timeout ${p.viewTimeoutMs} ms`
        : '';
  return `${p.protocol} ${p.faultMix}${extra}`;
}

function pointsAndMeans(opts: {
  title: string;
  runs: readonly RunRecord[];
  x: {
    field: string;
    title: string;
    of: (r: RunRecord) => number | null;
    log?: boolean;
    /** Ticks at the values the runs have (n, the view timeouts), not a round scale. */
    ticksAtValues?: boolean;
  };
  y: { title: string; of: (r: RunRecord) => number | null; log?: boolean };
  /** Mean per (series, x) joined by a line; false for scatter plots of continuous x. */
  meanLine: boolean;
  /** The colour a run gets (default seriesOf). */
  series?: (r: RunRecord) => string;
  /** One panel per value, side by side (e.g. the fault mix); none when absent. */
  panel?: { title: string; of: (r: RunRecord) => string };
}): TopLevelSpec | null {
  const seriesFor = opts.series ?? seriesOf;
  const values = opts.runs
    .map((r) => ({
      series: seriesFor(r),
      x: opts.x.of(r),
      y: opts.y.of(r),
      key: r.key,
      panel: opts.panel?.of(r) ?? '',
    }))
    .filter(
      (v): v is { series: string; x: number; y: number; key: string; panel: string } =>
        v.x !== null && v.y !== null,
    );
  if (values.length === 0) return null;
  const x = {
    field: 'x',
    type: 'quantitative',
    title: opts.x.title,
    ...(opts.x.log ? { scale: { type: 'log' } } : {}),
    ...(opts.x.field === 'validators' || opts.x.ticksAtValues
      ? { axis: { values: [...new Set(values.map((v) => v.x))] } }
      : {}),
  };
  const y = {
    field: 'y',
    type: 'quantitative',
    title: opts.y.title,
    ...(opts.y.log ? { scale: { type: 'log' } } : {}),
  };
  const color = { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 320 } };
  const layers: unknown[] = [
    {
      mark: { type: 'point', filled: true, opacity: 0.45, size: 30 },
      encoding: { x, y, color, tooltip: [{ field: 'key' }, { field: 'y', title: opts.y.title }] },
    },
  ];
  if (opts.meanLine) {
    layers.push({
      transform: [
        { aggregate: [{ op: 'mean', field: 'y', as: 'y' }], groupby: ['series', 'x', 'panel'] },
      ],
      mark: { type: 'line', point: true },
      encoding: { x, y, color },
    });
  }
  if (opts.panel !== undefined) {
    return {
      $schema: SCHEMA,
      title: opts.title,
      background: 'white',
      data: { values },
      facet: { column: { field: 'panel', type: 'nominal', title: opts.panel.title } },
      spec: { width: WIDTH / 2, height: HEIGHT, layer: layers },
      resolve: { scale: { y: 'shared' } },
    } as TopLevelSpec;
  }
  return {
    $schema: SCHEMA,
    title: opts.title,
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    data: { values },
    layer: layers,
  } as TopLevelSpec;
}

/**
 * A figure per fault mix (cluster experiments: one n, a few mixes): every run a point, the
 * mean of each (protocol, mix) a tick, one colour per protocol (and n, block size and rate
 * when the experiment has more than one).
 */
function byFaultMix(opts: {
  title: string;
  runs: readonly RunRecord[];
  y: { title: string; of: (r: RunRecord) => number | null };
}): TopLevelSpec | null {
  const distinct = (f: (r: RunRecord) => unknown) => new Set(opts.runs.map(f)).size > 1;
  const showN = distinct((r) => r.params.validators);
  const showLoad = distinct((r) =>
    r.params.kind === 'cluster' ? `${r.params.blockSize}/${r.params.rate}` : null,
  );
  const mixes = [...new Set(opts.runs.map((r) => r.params.faultMix))];
  const values = opts.runs
    .map((r) => {
      const p = r.params;
      const load = p.kind === 'cluster' && showLoad ? ` b${p.blockSize} ${p.rate} tx/s` : '';
      return {
        series: `${p.protocol}${showN ? ` n=${p.validators}` : ''}${load}`,
        mix: p.faultMix,
        y: opts.y.of(r),
        key: r.key,
      };
    })
    .filter((v): v is { series: string; mix: string; y: number; key: string } => v.y !== null);
  if (values.length === 0) return null;
  const x = {
    field: 'mix',
    type: 'nominal',
    title: 'faults',
    sort: mixes,
    axis: { labelAngle: 0, labelLimit: 220 },
  };
  const y = { field: 'y', type: 'quantitative', title: opts.y.title };
  const color = { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 320 } };
  const offset = { xOffset: { field: 'series', type: 'nominal' } };
  return {
    $schema: SCHEMA,
    title: opts.title,
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    data: { values },
    layer: [
      {
        mark: { type: 'point', filled: true, opacity: 0.5, size: 40 },
        encoding: {
          x,
          y,
          color,
          ...offset,
          tooltip: [{ field: 'key' }, { field: 'y', title: opts.y.title }],
        },
      },
      {
        transform: [
          { aggregate: [{ op: 'mean', field: 'y', as: 'y' }], groupby: ['series', 'mix'] },
        ],
        mark: { type: 'tick', thickness: 2, size: 18 },
        encoding: { x, y, color, ...offset },
      },
    ],
  } as TopLevelSpec;
}

/** Fraction of blocks (sim) or txs (cluster) committed within a latency, log x. */
export function latencyCdfSpec(title: string, runs: readonly RunRecord[]): TopLevelSpec | null {
  const series: Array<{
    label: string;
    points: ReadonlyArray<{ latencyMs: number; fraction: number }>;
  }> = [];
  const bySeries = new Map<string, RunRecord[]>();
  // A cluster experiment at one block size and rate: the legend leaves them out.
  const oneLoad =
    new Set(
      runs.map((r) =>
        r.params.kind === 'cluster' ? `${r.params.blockSize}/${r.params.rate}` : '',
      ),
    ).size === 1;
  for (const r of runs) {
    const p = r.params;
    const series = p.kind === 'cluster' && oneLoad ? `${p.protocol} ${p.faultMix}` : seriesOf(r);
    const label = `n=${String(p.validators).padStart(2)} ${series}`;
    bySeries.set(label, [...(bySeries.get(label) ?? []), r]);
  }
  for (const [label, group] of bySeries) {
    const sim = group.flatMap((r) => r.latenciesMs ?? []);
    if (sim.length > 0) {
      // Every seed's latencies pooled: the distribution over all blocks of the group.
      const sorted = sim.sort((a, b) => a - b);
      const step = Math.max(1, Math.floor(sorted.length / 200));
      const points: Array<{ latencyMs: number; fraction: number }> = [];
      for (let i = 0; i < sorted.length; i += step) {
        points.push({ latencyMs: sorted[i]!, fraction: (i + 1) / sorted.length });
      }
      points.push({ latencyMs: sorted.at(-1)!, fraction: 1 });
      series.push({ label, points });
      continue;
    }
    group.forEach((r, i) => {
      const points = r.latencyCdf ?? [];
      if (points.length === 0) return;
      series.push({ label: group.length > 1 ? `${label} #${i + 1}` : label, points });
    });
  }
  if (series.length === 0) return null;
  const sim = runs.some((r) => r.params.kind === 'sim');
  return clusterLatencyCdfSpec({
    title,
    series,
    ...(sim
      ? { xTitle: 'block commit latency, simulated (ms)', yTitle: 'fraction of blocks' }
      : {}),
    legendLabelLimit: 320,
  });
}

export interface LabPlot {
  /** File name in the output folder. */
  readonly file: string;
  readonly metric: LabMetric;
  readonly spec: TopLevelSpec;
}

/** The plots an experiment's metrics ask for, each only when its runs have data for it. */
export function labPlots(
  name: string,
  runs: readonly RunRecord[],
  metrics: readonly LabMetric[],
): LabPlot[] {
  const sim = runs.every((r) => r.params.kind === 'sim');
  const unit = runs[0]?.metrics.throughputUnit ?? 'blocks/s';
  const validators = {
    field: 'validators',
    title: 'validators (n)',
    of: (r: RunRecord) => r.params.validators,
  };
  const plots: Array<{ file: string; metric: LabMetric; spec: TopLevelSpec | null }> = [
    {
      file: 'throughput-vs-n.svg',
      metric: 'throughput',
      spec: pointsAndMeans({
        title: `${name}: throughput vs n`,
        runs,
        x: validators,
        y: {
          title: sim ? 'committed blocks per simulated s' : `committed ${unit}`,
          of: (r) => r.metrics.throughput,
        },
        meanLine: true,
      }),
    },
    {
      file: 'latency-cdf.svg',
      metric: 'latency',
      spec: latencyCdfSpec(`${name}: latency CDF`, runs),
    },
    {
      file: 'latency-p99-vs-n.svg',
      metric: 'latency',
      spec: pointsAndMeans({
        title: `${name}: p99 latency vs n`,
        runs,
        x: validators,
        y: {
          title: sim ? 'p99 block commit latency, simulated (ms)' : 'p99 latency (ms)',
          of: (r) => r.metrics.latencyP99Ms,
        },
        meanLine: true,
      }),
    },
    {
      file: 'messages-per-block-vs-n.svg',
      metric: 'messages',
      spec: pointsAndMeans({
        title: `${name}: messages per committed block vs n`,
        runs,
        x: validators,
        y: { title: 'messages sent per block', of: (r) => r.metrics.messagesPerBlock, log: true },
        meanLine: true,
      }),
    },
    {
      file: 'view-changes-vs-fault-rate.svg',
      metric: 'view-changes',
      spec: sim
        ? pointsAndMeans({
            title: `${name}: view changes vs loss rate before GST`,
            runs,
            x: {
              field: 'loss',
              title: 'message loss probability before GST (seeded)',
              of: (r) => r.metrics.lossRate,
            },
            y: { title: 'view changes (honest replicas)', of: (r) => r.metrics.viewChanges },
            meanLine: false,
          })
        : null,
    },
    {
      file: 'recovery-after-gst-vs-n.svg',
      metric: 'recovery',
      // A cluster's recovery is per fault window (recovery-by-fault-mix.svg), not after a GST.
      spec: !sim
        ? null
        : pointsAndMeans({
            title: `${name}: recovery after GST vs n`,
            runs,
            x: validators,
            y: {
              title: 'slowest honest replica past the GST frontier (ms)',
              of: (r) => r.metrics.recoveryAfterGstMs,
            },
            meanLine: true,
          }),
    },
  ];
  // A cluster experiment: each figure per fault mix (its runs are few, its mixes named).
  if (runs.length > 0 && runs.every((r) => r.params.kind === 'cluster')) {
    plots.push(
      {
        file: 'throughput-by-fault-mix.svg',
        metric: 'throughput',
        spec: byFaultMix({
          title: `${name}: committed tx/s by fault mix`,
          runs,
          y: { title: 'committed tx/s (mean after warm-up)', of: (r) => r.metrics.throughput },
        }),
      },
      {
        file: 'latency-p99-by-fault-mix.svg',
        metric: 'latency',
        spec: byFaultMix({
          title: `${name}: p99 latency by fault mix`,
          runs,
          y: { title: 'p99 tx submit → commit latency (ms)', of: (r) => r.metrics.latencyP99Ms },
        }),
      },
      {
        file: 'recovery-by-fault-mix.svg',
        metric: 'recovery',
        spec: byFaultMix({
          title: `${name}: recovery after the faults end`,
          runs,
          y: {
            title: 'fault end → 1 s at 90% of healthy tx/s (ms)',
            of: (r) => r.metrics.recoveryAfterGstMs,
          },
        }),
      },
      {
        file: 'view-changes-by-fault-mix.svg',
        metric: 'view-changes',
        spec: byFaultMix({
          title: `${name}: view changes by fault mix`,
          runs,
          y: { title: 'view changes (all nodes)', of: (r) => r.metrics.viewChanges },
        }),
      },
    );
  }
  // A sim experiment with view timeouts as a run dimension (docs/LAB.md, experiment 3): each
  // figure against the timeout, one line per protocol and n, one panel per fault mix.
  if (runs.some((r) => r.params.kind === 'sim' && r.params.viewTimeoutMs !== undefined)) {
    const byTimeout = {
      field: 'viewTimeoutMs',
      title: 'view timeout at view 0 (ms, log scale)',
      of: (r: RunRecord) => (r.params.kind === 'sim' ? (r.params.viewTimeoutMs ?? null) : null),
      log: true,
      ticksAtValues: true,
    };
    const series = (r: RunRecord) => `${r.params.protocol} n=${r.params.validators}`;
    const panel = { title: 'fault mix before GST', of: (r: RunRecord) => r.params.faultMix };
    plots.push(
      {
        file: 'recovery-after-gst-vs-view-timeout.svg',
        metric: 'recovery',
        spec: pointsAndMeans({
          title: `${name}: recovery after GST vs view timeout`,
          runs,
          x: byTimeout,
          y: {
            title: 'slowest honest replica past the GST frontier (ms)',
            of: (r) => r.metrics.recoveryAfterGstMs,
          },
          meanLine: true,
          series,
          panel,
        }),
      },
      {
        file: 'view-changes-vs-view-timeout.svg',
        metric: 'view-changes',
        spec: pointsAndMeans({
          title: `${name}: view changes vs view timeout`,
          runs,
          x: byTimeout,
          y: { title: 'view changes (honest replicas)', of: (r) => r.metrics.viewChanges },
          meanLine: true,
          series,
          panel,
        }),
      },
    );
  }
  return plots.filter((p): p is LabPlot => p.spec !== null && metrics.includes(p.metric));
}
