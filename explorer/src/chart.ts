/**
 * The chain page's chart: transactions per second and block time over the last minutes, one
 * point per block, drawn with uPlot (small, canvas, no dependencies). A sentence with the
 * same numbers summarised sits under it for readers who cannot see the chart. Nothing in it
 * answers only the mouse: the legend is a key, not a series toggle, and there is no drag to
 * zoom (hovering shows a point's values, which the summary gives in words).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom.ts';

/** How far back the chart reaches. */
export const CHART_WINDOW_MS = 5 * 60_000;

interface Point {
  /** Block time, seconds since the epoch (uPlot's x unit). */
  t: number;
  txPerS: number;
  blockTimeMs: number;
}

export class ThroughputChart {
  readonly element: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly points: Point[] = [];
  private plot: uPlot | undefined;
  private lastTimestamp: number | undefined;
  private pending = false;

  constructor() {
    this.summary = h('p', { class: 'chart-summary' }, 'Waiting for blocks…');
    this.element = h(
      'figure',
      { class: 'chart' },
      h('div', { class: 'chart-canvas', role: 'img', 'aria-label': 'tx/s and block time chart' }),
      h('figcaption', {}, this.summary),
    );
    // A narrower window (a phone turned, a sidebar opened) narrows the chart too, blocks or not.
    new ResizeObserver(() => this.fit()).observe(this.canvas());
  }

  private canvas(): HTMLElement {
    return this.element.querySelector<HTMLElement>('.chart-canvas')!;
  }

  /** The chart's width: its box's, at least 280 px. */
  private width(): number {
    return Math.max(this.canvas().clientWidth, 280);
  }

  private fit(): void {
    const width = this.width();
    if (this.plot !== undefined && Math.abs(this.plot.width - width) > 4) {
      this.plot.setSize({ width, height: 220 });
    }
  }

  /** A block, in height order. */
  add(timestamp: number, txs: number): void {
    const previous = this.lastTimestamp;
    this.lastTimestamp = timestamp;
    if (previous === undefined) return;
    const blockTimeMs = Math.max(timestamp - previous, 1);
    this.points.push({ t: timestamp / 1000, txPerS: (txs * 1000) / blockTimeMs, blockTimeMs });
    const from = timestamp - CHART_WINDOW_MS;
    while (this.points.length > 0 && this.points[0]!.t * 1000 < from) this.points.shift();
    // Many blocks arrive at once on a catch-up: draw once per frame.
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.draw();
      });
    }
  }

  private draw(): void {
    const data: uPlot.AlignedData = [
      this.points.map((p) => p.t),
      this.points.map((p) => p.txPerS),
      this.points.map((p) => p.blockTimeMs),
    ];
    const width = this.width();
    if (this.plot === undefined) {
      this.plot = new uPlot(
        {
          width,
          height: 220,
          cursor: { drag: { x: false, y: false, setScale: false }, bind: { click: () => null } },
          series: [
            {},
            { label: 'tx/s', stroke: '#0b5cad', width: 2, scale: 'tx' },
            { label: 'block time (ms)', stroke: '#b35900', width: 1, scale: 'ms' },
          ],
          axes: [
            {},
            { scale: 'tx', label: 'tx/s' },
            { scale: 'ms', label: 'ms', side: 1, grid: { show: false } },
          ],
        },
        data,
        this.canvas(),
      );
    } else {
      this.fit();
      this.plot.setData(data);
    }
    const n = this.points.length;
    const spanS = n > 0 ? this.points[n - 1]!.t - this.points[0]!.t : 0;
    const txs = this.points.reduce((sum, p) => sum + (p.txPerS * p.blockTimeMs) / 1000, 0);
    const meanBlockMs = this.points.reduce((sum, p) => sum + p.blockTimeMs, 0) / Math.max(n, 1);
    this.summary.textContent = `Last ${Math.round(spanS)} s: ${n} blocks, ${Math.round(txs)} txs (${(txs / Math.max(spanS, 1)).toFixed(1)} tx/s), mean block time ${Math.round(meanBlockMs)} ms.`;
  }
}
