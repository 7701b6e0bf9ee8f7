/**
 * A simulated run's trace as structured events: `{t, node, event, ...fields}`, with time in
 * simulated ms, the replica's index (null for the network), the kind of event and its facts as
 * plain fields (a message is summarised as kind, height, view, signer and a digest prefix),
 * so a notebook loads the JSON lines as a table. The readable text log is a rendering of the
 * same events, so the two never disagree. A seed replays its trace byte for byte.
 */
import { toHex } from '../../crypto/bytes.ts';
import { type ConsensusMessage, digestOf } from '../messages.ts';

export const TRACE_EVENTS = [
  'start',
  'restart',
  'crash',
  'halt',
  'send',
  'receive',
  'undecodable',
  'timer',
  'state',
  'built',
  'validated',
  'commit',
  'reject',
  'evidence',
  'need-sync',
  'gst',
  'reconfig',
] as const;
export type TraceEventKind = (typeof TRACE_EVENTS)[number];

export type TraceValue = string | number | boolean | null;

export interface TraceEvent {
  /** Simulated ms since the run started. */
  readonly t: number;
  /** The replica the event happened at; null for events of the whole network (gst). */
  readonly node: number | null;
  readonly event: TraceEventKind;
  readonly [field: string]: TraceValue;
}

/** Hex chars of a digest kept in a summary: enough to tell blocks of one run apart. */
const DIGEST_CHARS = 8;

export function digestPrefix(bytes: Uint8Array): string {
  return toHex(bytes.subarray(0, DIGEST_CHARS / 2));
}

/**
 * A message as fields: kind, height, view, signer (its validator index) and the digest it
 * votes for (the view-change's own digest for a view change); a view change names the block
 * it carries as prepared, a new view how many view changes justify it. Any message with a
 * type, height, view and validator index summarises; other protocols' messages too.
 */
export function messageSummary(m: ConsensusMessage): Record<string, TraceValue> {
  const out: Record<string, TraceValue> = {
    kind: m.type,
    height: m.height,
    view: m.view,
    signer: m.validatorIndex,
    digest: digestPrefix(digestOf(m)),
  };
  if (m.type === 'view-change') {
    out.preparedView = m.prepared?.view ?? null;
    out.preparedDigest = m.prepared === null ? null : digestPrefix(m.prepared.blockHash);
  }
  if (m.type === 'new-view') out.viewChanges = m.viewChanges.length;
  return out;
}

/** Rounds simulated time to µs so the JSON stays short and free of float noise. */
export function traceTime(ms: number): number {
  return Math.round(ms * 1_000) / 1_000;
}

/** One event as one JSON line (fields in the order they were recorded). */
export function traceJsonLine(e: TraceEvent): string {
  return JSON.stringify(e);
}

function msg(e: TraceEvent): string {
  const base = `${e.kind} h=${e.height} v=${e.view} from=${e.signer}`;
  if (e.kind === 'view-change') {
    return `${base} prepared=${e.preparedView === null ? '-' : `v${e.preparedView}:${e.preparedDigest}`}`;
  }
  if (e.kind === 'new-view') return `${base} block=${e.digest} vcs=${e.viewChanges}`;
  return `${base} block=${e.digest}`;
}

/** The readable line of an event (what `civitas sim --seed X --trace` prints). */
export function formatTraceEvent(e: TraceEvent): string {
  const who = `r${e.node}`;
  let text: string;
  switch (e.event) {
    case 'start':
    case 'restart':
      text = `${who} ${e.event}s at h=${e.height} replaying ${e.walEntries} WAL entries${e.walForgotten ? ' (WAL FORGOTTEN)' : ''}`;
      break;
    case 'crash':
      text = `${who} CRASHES (down ${Number(e.downMs).toFixed(0)} ms)`;
      break;
    case 'halt':
      text = `${who} HALTS: ${e.error}`;
      break;
    case 'send':
      text = `${who} sends ${msg(e)}`;
      break;
    case 'receive':
      text = `${who} <- r${e.from} ${msg(e)}`;
      break;
    case 'undecodable':
      text = `${who} <- r${e.from} ${e.bytes} undecodable bytes`;
      break;
    case 'timer':
      text = `${who} timer ${e.timer} h=${e.height} v=${e.view}`;
      break;
    case 'state':
      text = `${who} now h=${e.height} v=${e.view} ${e.phase}`;
      break;
    case 'built':
      text = `${who} built ${e.invalid ? 'INVALID ' : ''}block ${e.digest} h=${e.height} v=${e.view}`;
      break;
    case 'validated':
      text = `${who} validated ${e.digest} h=${e.height}: ${e.problem ?? 'valid'}`;
      break;
    case 'commit':
      text = `${who} COMMITS h=${e.height} ${e.digest} (view ${e.certificateView}, by ${e.by === 'sync' ? `sync from r${e.source}` : e.by})`;
      break;
    case 'reject':
      text = `${who} rejects (${e.reason}) from ${e.signer ?? '?'}: ${e.detail}`;
      break;
    case 'evidence':
      text = `${who} evidence ${e.kind} h=${e.height} v=${e.view} against validator ${e.against}`;
      break;
    case 'need-sync':
      text = `${who} needs sync to h=${e.targetHeight}`;
      break;
    case 'gst':
      text = `GST: network healed, honest frontier at height ${e.frontier}`;
      break;
    case 'reconfig':
      text = `reconfig ${e.scenario}: ${e.changes || 'none'}${e.refused !== null ? ` (refused: ${e.refused})` : ''}; ${e.keys} keys`;
      break;
  }
  return `${e.t.toFixed(1).padStart(9)}ms ${text}`;
}
