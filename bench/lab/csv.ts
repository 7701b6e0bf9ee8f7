/**
 * The tidy table of a lab folder: one row per run, one column per parameter or figure, RFC
 * 4180 quoting, empty cells for what a kind does not measure. Loads as is in a notebook.
 * The view timeout columns hold what a run ran with, defaults included.
 */
import { DEFAULT_TIMEOUTS } from '../../src/consensus/config.ts';
import { SIM_TIMEOUTS } from '../../src/consensus/sim/simulation.ts';
import { CLUSTER_DEFAULTS } from '../cluster/defaults.ts';
import type { RunRecord } from './results.ts';

export const CSV_COLUMNS = [
  'experiment',
  'key',
  'kind',
  'protocol',
  'validators',
  'faults',
  'seed',
  'repetition',
  'block_size',
  'rate',
  'view_timeout_ms',
  'max_view_timeout_ms',
  'duration_ms',
  'committed',
  'throughput',
  'throughput_unit',
  'latency_p50_ms',
  'latency_p90_ms',
  'latency_p99_ms',
  'latency_max_ms',
  'latency_mean_ms',
  'view_changes',
  'messages_sent',
  'bytes_sent',
  'messages_per_block',
  'bytes_per_block',
  'crashes',
  'loss_rate',
  'recovery_after_gst_ms',
  'rejected_benign',
  'rejected_other',
  'violations',
  'recovered',
  'uncommitted',
  'longest_stall_ms',
  'wall_ms',
] as const;

type Cell = string | number | boolean | null | undefined;

export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(experiment: string, r: RunRecord): Cell[] {
  const p = r.params;
  const m = r.metrics;
  return [
    experiment,
    r.key,
    p.kind,
    p.protocol,
    p.validators,
    p.faultMix,
    p.kind === 'sim' ? p.seed : null,
    p.kind === 'cluster' ? p.repetition : null,
    p.kind === 'cluster' ? p.blockSize : null,
    p.kind === 'cluster' ? p.rate : null,
    // The timeouts a run had, defaults included: the simulator's, or a node's (which sets
    // the base only; its cap is the engine's default).
    p.kind === 'sim'
      ? (p.viewTimeoutMs ?? SIM_TIMEOUTS.baseMs)
      : (p.viewTimeoutMs ?? CLUSTER_DEFAULTS.viewTimeoutMs),
    p.kind === 'sim' ? (p.maxViewTimeoutMs ?? SIM_TIMEOUTS.maxMs) : DEFAULT_TIMEOUTS.maxMs,
    p.kind === 'sim' ? p.durationMs : p.durationS * 1_000,
    m.committed,
    m.throughput,
    m.throughputUnit,
    m.latencyP50Ms,
    m.latencyP90Ms,
    m.latencyP99Ms,
    m.latencyMaxMs,
    m.latencyMeanMs,
    m.viewChanges,
    m.messagesSent,
    m.bytesSent,
    m.messagesPerBlock,
    m.bytesPerBlock,
    m.crashes,
    m.lossRate,
    m.recoveryAfterGstMs,
    m.rejectedBenign,
    m.rejectedOther,
    m.violations,
    m.recovered,
    m.uncommitted,
    m.longestStallMs,
    Math.round(r.wallMs),
  ];
}

export function toCsv(experiment: string, runs: readonly RunRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of runs) lines.push(csvRow(experiment, r).map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
