/**
 * Plots as SVG files: each is a Vega-Lite spec compiled to Vega and rendered headless in Node
 * (vega's View with no renderer → toSVG), so no browser and no hand-written SVG.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vegaSpec = compile(spec).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface FaultMarker {
  readonly label: string;
  readonly startS: number;
  /** Undefined: lasts until the end. */
  readonly endS?: number;
}

const WIDTH = 640;
const HEIGHT = 260;

/** Committed tx/s per second, the offered rate as a dashed line, fault windows shaded. */
export function throughputSpec(opts: {
  title: string;
  series: ReadonlyArray<{ t: number; txPerSec: number }>;
  offeredTxPerSec?: number;
  faults: readonly FaultMarker[];
  durationS: number;
}): TopLevelSpec {
  const layers: unknown[] = [];
  if (opts.faults.length > 0) {
    const windows = opts.faults.map((f) => ({
      label: f.label,
      start: f.startS,
      end: f.endS ?? opts.durationS,
    }));
    layers.push(
      {
        data: { values: windows },
        mark: { type: 'rect', opacity: 0.15, color: '#d62728' },
        encoding: { x: { field: 'start', type: 'quantitative' }, x2: { field: 'end' } },
      },
      {
        data: { values: windows },
        mark: { type: 'rule', color: '#d62728', strokeWidth: 1.5 },
        encoding: { x: { field: 'start', type: 'quantitative' } },
      },
      {
        data: { values: windows.map((w, i) => ({ ...w, row: i })) },
        mark: {
          type: 'text',
          align: 'left',
          dx: 3,
          baseline: 'top',
          color: '#d62728',
          fontSize: 10,
        },
        encoding: {
          x: { field: 'start', type: 'quantitative' },
          y: { value: 0 },
          yOffset: {
            field: 'row',
            type: 'quantitative',
            scale: { range: [2, 2 + 12 * windows.length] },
          },
          text: { field: 'label' },
        },
      },
    );
  }
  if (opts.offeredTxPerSec !== undefined) {
    layers.push({
      data: { values: [{ rate: opts.offeredTxPerSec }] },
      mark: { type: 'rule', strokeDash: [6, 4], color: '#7f7f7f' },
      encoding: { y: { field: 'rate', type: 'quantitative' } },
    });
  }
  layers.push({
    data: { values: opts.series.map((s) => ({ ...s })) },
    mark: { type: 'line', point: { size: 12 }, color: '#1f77b4', interpolate: 'step-after' },
    encoding: {
      x: {
        field: 't',
        type: 'quantitative',
        title: 'time since load start (s)',
        scale: { domain: [0, opts.durationS] },
      },
      y: { field: 'txPerSec', type: 'quantitative', title: 'committed tx/s' },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    layer: layers,
  } as TopLevelSpec;
}

/**
 * Fraction of txs committed within a latency (log-scale x). The lab draws its CDFs with it
 * too, naming its own axes (blocks of a simulated run) and allowing longer series labels.
 */
export function latencyCdfSpec(opts: {
  title: string;
  series: ReadonlyArray<{
    label: string;
    points: ReadonlyArray<{ latencyMs: number; fraction: number }>;
  }>;
  xTitle?: string;
  yTitle?: string;
  legendLabelLimit?: number;
}): TopLevelSpec {
  const values = opts.series.flatMap((s) =>
    s.points.map((p) => ({
      run: s.label,
      latencyMs: Math.max(p.latencyMs, 0.1),
      fraction: p.fraction,
    })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: {
        field: 'latencyMs',
        type: 'quantitative',
        title: opts.xTitle ?? 'submit → commit latency (ms)',
        scale: { type: 'log' },
      },
      y: {
        field: 'fraction',
        type: 'quantitative',
        title: opts.yTitle ?? 'fraction of txs',
        scale: { domain: [0, 1] },
      },
      color: {
        field: 'run',
        type: 'nominal',
        title: null,
        ...(opts.legendLabelLimit !== undefined
          ? { legend: { labelLimit: opts.legendLabelLimit } }
          : {}),
      },
    },
  } as TopLevelSpec;
}

export interface SweepPoint {
  readonly validators: number;
  readonly blockSize: number;
  readonly txPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** One metric of a sweep against validators or block size, one line per value of the other. */
export function sweepSpec(opts: {
  title: string;
  points: readonly SweepPoint[];
  x: 'validators' | 'blockSize';
  y: 'txPerSec' | 'p99Ms' | 'p50Ms';
}): TopLevelSpec {
  const other = opts.x === 'validators' ? 'blockSize' : 'validators';
  const titles: Record<string, string> = {
    validators: 'validators (N)',
    blockSize: 'max txs per block',
    txPerSec: 'committed tx/s',
    p99Ms: 'p99 latency (ms)',
    p50Ms: 'p50 latency (ms)',
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    data: { values: opts.points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: opts.x,
        type: 'quantitative',
        title: titles[opts.x],
        ...(opts.x === 'blockSize'
          ? { scale: { type: 'log' } }
          : { axis: { format: 'd', tickMinStep: 1 } }),
      },
      y: { field: opts.y, type: 'quantitative', title: titles[opts.y] },
      color: { field: other, type: 'nominal', title: titles[other] },
    },
  } as TopLevelSpec;
}
