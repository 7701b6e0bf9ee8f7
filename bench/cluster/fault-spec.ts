/**
 * The fault language of `civitas bench cluster --faults`. A SPEC is one or more faults
 * separated by ';' (or whitespace); times are seconds from the start of the load unless they
 * end in "ms":
 *
 *   crash:I@T[-T2]              kill -9 validator I at T; restart it at T2 (else it stays down)
 *   crash:primary@T[-T2]        the same for whichever validator is primary at T
 *   partition:A,B|C,D[|…]@T[-T2] cut every link between the groups (both directions); nodes
 *                               named in no group keep all their links
 *   delay:I-J=50ms@T[-T2]       add latency to messages on link I–J (both directions);
 *                               J may be '*' (every link of I), or the link is '*' (all links)
 *   loss:I-J=0.1@T[-T2]         drop this fraction of gossip on link I–J (both directions)
 *   byzantine:I=equivocate|silent[@T[-T2]]
 *                               validator I equivocates as primary or sends no consensus
 *                               messages (from the start unless a window is given)
 *   skew:I=+60s@T[-T2]          set validator I's clock this far ahead (+) or behind (-); the
 *                               sign is required, the unit (s or ms) too; within ±1 day.
 *                               Skews of one node that overlap add up
 *
 * A window without an end lasts until the run ends. A JSON manifest holds the same faults
 * as strings or objects: `{"faults": ["crash:1@5-15", {"kind": "delay", "a": 0, "b": "*",
 * "delayMs": 50, "atMs": 2000, "untilMs": 8000}]}` (or just the array). A skew object is
 * `{"kind": "skew", "node": 3, "offsetMs": 60000, "atMs": 5000}` (offsetMs a signed integer).
 */
import { CivitasError } from '../../src/errors/index.ts';

export type NodeRef = number | '*';

interface Window {
  /** Start, ms after the load starts. */
  readonly atMs: number;
  /** End, ms after the load starts; undefined: until the run ends. */
  readonly untilMs?: number;
}

export type Fault =
  | (Window & { readonly kind: 'crash'; readonly target: number | 'primary' })
  | (Window & { readonly kind: 'partition'; readonly groups: readonly (readonly number[])[] })
  | (Window & {
      readonly kind: 'delay';
      readonly a: NodeRef;
      readonly b: NodeRef;
      readonly delayMs: number;
    })
  | (Window & {
      readonly kind: 'loss';
      readonly a: NodeRef;
      readonly b: NodeRef;
      readonly lossRate: number;
    })
  | (Window & {
      readonly kind: 'byzantine';
      readonly node: number;
      readonly mode: 'equivocate' | 'silent';
    })
  | (Window & {
      readonly kind: 'skew';
      readonly node: number;
      /** Added to the node's clock: > 0 ahead, < 0 behind. */
      readonly offsetMs: number;
    });

export type FaultKind = Fault['kind'];

/**
 * The largest clock skew, either way: a day. The node refuses more (MAX_CLOCK_OFFSET_MS in
 * src/node/fault-injection.ts, not imported: that module pulls in libp2p, and this one loads
 * with every `civitas` command; a unit test keeps the two equal).
 */
export const MAX_SKEW_MS = 86_400_000;

export const FAULT_GRAMMAR = [
  'crash:I@T[-T2]  crash:primary@T[-T2]  partition:0,1|2,3@T[-T2]',
  'delay:I-J=50ms@T[-T2]  loss:I-J=0.1@T[-T2]  byzantine:I=equivocate|silent[@T[-T2]]',
  'skew:I=+60s@T[-T2]  skew:I=-1500ms@T[-T2]  (clock ahead/behind; sign and unit required, ≤ 1 day)',
  '(times in seconds from the start of the load, or with an "ms" suffix; J or the link may be *)',
].join('\n');

function bad(spec: string, why: string): never {
  throw new CivitasError('BENCH_BAD_FAULT', `fault "${spec}": ${why}`, { spec });
}

function parseNode(spec: string, text: string): number {
  if (!/^[0-9]{1,3}$/.test(text)) bad(spec, `"${text}" is not a validator index`);
  return Number(text);
}

/** "5", "2.5s", "1500ms" → ms. */
export function parseTime(spec: string, text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s)?$/.exec(text);
  if (m === null) bad(spec, `"${text}" is not a time (seconds, or e.g. 500ms)`);
  const ms = m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
  return Math.round(ms);
}

function parseWindow(spec: string, text: string | undefined, required: boolean): Window {
  if (text === undefined) {
    if (required) bad(spec, 'missing "@T" (when it starts)');
    return { atMs: 0 };
  }
  // "10-20", "500ms-2s"; the '-' between two times, never inside one.
  const m = /^([0-9.]+(?:ms|s)?)(?:-([0-9.]+(?:ms|s)?))?$/.exec(text);
  if (m === null) bad(spec, `"@${text}" is not a window (T or T-T2)`);
  const atMs = parseTime(spec, m[1]!);
  if (m[2] === undefined) return { atMs };
  const untilMs = parseTime(spec, m[2]);
  if (untilMs <= atMs) bad(spec, `the window ends (${m[2]}) before it starts (${m[1]})`);
  return { atMs, untilMs };
}

function parseLink(spec: string, text: string): { a: NodeRef; b: NodeRef } {
  if (text === '*') return { a: '*', b: '*' };
  const m = /^([0-9]{1,3})-([0-9]{1,3}|\*)$/.exec(text);
  if (m === null) bad(spec, `"${text}" is not a link (I-J, I-* or *)`);
  const a = Number(m[1]);
  const b = m[2] === '*' ? '*' : Number(m[2]);
  if (a === b) bad(spec, `link ${text} joins a node to itself`);
  return { a, b };
}

/** Parses one fault, e.g. "crash:1@5-10". */
// One line for an error (the full grammar is in `civitas bench cluster --help`).
const KINDS_HINT =
  'KIND is crash, partition, delay, loss, byzantine or skew (grammar: civitas bench cluster --help)';

/** "+60s", "-1500ms", "+0.5s" → signed ms. Rule: a sign, a number, a unit; within ±1 day. */
function parseSkew(spec: string, text: string): number {
  const m = /^([+-])([0-9]+(?:\.[0-9]+)?)(ms|s)$/.exec(text);
  if (m === null) {
    bad(spec, `skew "${text}" must be a signed duration with a unit, e.g. +60s or -1500ms`);
  }
  const ms = parseTime(spec, `${m[2]}${m[3]}`);
  if (ms > MAX_SKEW_MS) bad(spec, `skew "${text}" must be within ±1 day (±86400s)`);
  // -0 would describe as "+0s" but not deepEqual 0.
  return m[1] === '-' && ms !== 0 ? -ms : ms;
}

export function parseFault(spec: string): Fault {
  const trimmed = spec.trim();
  const colon = trimmed.indexOf(':');
  if (colon === -1) bad(trimmed, `expected KIND:…, ${KINDS_HINT}`);
  const kind = trimmed.slice(0, colon);
  const rest = trimmed.slice(colon + 1);
  const at = rest.lastIndexOf('@');
  const body = at === -1 ? rest : rest.slice(0, at);
  const windowText = at === -1 ? undefined : rest.slice(at + 1);
  switch (kind) {
    case 'crash': {
      const target = body === 'primary' ? 'primary' : parseNode(trimmed, body);
      return { kind, target, ...parseWindow(trimmed, windowText, true) };
    }
    case 'partition': {
      const groups = body.split('|').map((g) => {
        if (g.length === 0) bad(trimmed, 'empty group');
        return g.split(',').map((n) => parseNode(trimmed, n));
      });
      if (groups.length < 2) bad(trimmed, 'a partition needs at least two groups (A|B)');
      const seen = new Set<number>();
      for (const n of groups.flat()) {
        if (seen.has(n)) bad(trimmed, `validator ${n} is in two groups`);
        seen.add(n);
      }
      return { kind, groups, ...parseWindow(trimmed, windowText, true) };
    }
    case 'delay':
    case 'loss': {
      const eq = body.indexOf('=');
      if (eq === -1) bad(trimmed, `expected ${kind}:I-J=${kind === 'delay' ? '50ms' : '0.1'}@T`);
      const link = parseLink(trimmed, body.slice(0, eq));
      const value = body.slice(eq + 1);
      const window = parseWindow(trimmed, windowText, true);
      if (kind === 'delay') {
        if (!/^[0-9.]+(ms|s)$/.test(value)) bad(trimmed, `delay "${value}" needs a unit (ms or s)`);
        const delayMs = parseTime(trimmed, value);
        if (delayMs > 60_000) bad(trimmed, 'delay must be at most 60s');
        return { kind, ...link, delayMs, ...window };
      }
      const lossRate = Number(value);
      if (!/^[0-9.]+$/.test(value) || !(lossRate >= 0 && lossRate <= 1)) {
        bad(trimmed, `loss rate "${value}" must be a number in [0, 1]`);
      }
      return { kind, ...link, lossRate, ...window };
    }
    case 'byzantine': {
      const eq = body.indexOf('=');
      if (eq === -1) bad(trimmed, 'expected byzantine:I=equivocate|silent');
      const node = parseNode(trimmed, body.slice(0, eq));
      const mode = body.slice(eq + 1);
      if (mode !== 'equivocate' && mode !== 'silent') {
        bad(trimmed, `behaviour "${mode}" is not equivocate or silent`);
      }
      return { kind, node, mode, ...parseWindow(trimmed, windowText, false) };
    }
    case 'skew': {
      const eq = body.indexOf('=');
      if (eq === -1) bad(trimmed, 'expected skew:I=+60s@T (or -60s, or ms)');
      const node = parseNode(trimmed, body.slice(0, eq));
      const offsetMs = parseSkew(trimmed, body.slice(eq + 1));
      return { kind, node, offsetMs, ...parseWindow(trimmed, windowText, true) };
    }
    default:
      bad(trimmed, `unknown kind "${kind}"; ${KINDS_HINT}`);
  }
}

/** Parses a SPEC: faults separated by ';' or whitespace. */
export function parseFaultSpec(spec: string): Fault[] {
  return spec
    .split(/[;\s]+/)
    .filter((s) => s.length > 0)
    .map(parseFault);
}

const FAULT_KINDS: readonly FaultKind[] = [
  'crash',
  'partition',
  'delay',
  'loss',
  'byzantine',
  'skew',
];
const KINDS_RULE = 'kind must be crash, partition, delay, loss, byzantine or skew';

function checkObject(value: unknown, index: number): Fault {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CivitasError(
      'BENCH_BAD_FAULT',
      `manifest fault #${index}: expected a string or an object`,
    );
  }
  const o = value as Record<string, unknown>;
  const where = `manifest fault #${index} (${String(o.kind)})`;
  const num = (k: string, optional = false): number | undefined => {
    const v = o[k];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      bad(where, `"${k}" must be a number ≥ 0`);
    return v;
  };
  const ref = (k: string): NodeRef => {
    const v = o[k];
    if (v === '*') return '*';
    if (!Number.isInteger(v) || (v as number) < 0)
      bad(where, `"${k}" must be a validator index or "*"`);
    return v as number;
  };
  if (!FAULT_KINDS.includes(o.kind as FaultKind)) bad(where, KINDS_RULE);
  const atMs = num('atMs', o.kind === 'byzantine') ?? 0;
  const untilMs = num('untilMs', true);
  if (untilMs !== undefined && untilMs <= atMs) bad(where, 'untilMs must be after atMs');
  const window = { atMs, ...(untilMs !== undefined ? { untilMs } : {}) };
  switch (o.kind) {
    case 'crash': {
      const target = o.target === 'primary' ? 'primary' : ref('target');
      if (target === '*') bad(where, '"target" must be a validator index or "primary"');
      return { kind: 'crash', target, ...window };
    }
    case 'partition': {
      const groups = o.groups;
      if (
        !Array.isArray(groups) ||
        groups.length < 2 ||
        !groups.every(
          (g) => Array.isArray(g) && g.length > 0 && g.every((n) => Number.isInteger(n) && n >= 0),
        )
      ) {
        bad(where, '"groups" must be at least two non-empty lists of validator indexes');
      }
      const flat = (groups as number[][]).flat();
      if (new Set(flat).size !== flat.length) bad(where, 'a validator is in two groups');
      return { kind: 'partition', groups: groups as number[][], ...window };
    }
    case 'delay': {
      const delayMs = num('delayMs')!;
      if (delayMs > 60_000) bad(where, 'delayMs must be at most 60000');
      return { kind: 'delay', a: ref('a'), b: ref('b'), delayMs, ...window };
    }
    case 'loss': {
      const lossRate = num('lossRate')!;
      if (lossRate > 1) bad(where, 'lossRate must be in [0, 1]');
      return { kind: 'loss', a: ref('a'), b: ref('b'), lossRate, ...window };
    }
    case 'byzantine': {
      const node = ref('node');
      if (node === '*') bad(where, '"node" must be a validator index');
      if (o.mode !== 'equivocate' && o.mode !== 'silent')
        bad(where, '"mode" must be equivocate or silent');
      return { kind: 'byzantine', node, mode: o.mode, ...window };
    }
    case 'skew': {
      const node = ref('node');
      if (node === '*') bad(where, '"node" must be a validator index');
      const { offsetMs } = o;
      if (!Number.isSafeInteger(offsetMs) || Math.abs(offsetMs as number) > MAX_SKEW_MS) {
        bad(where, `"offsetMs" must be an integer number of ms within ±${MAX_SKEW_MS}`);
      }
      // -0 (JSON "-0") is 0: describeFault writes it "+0s".
      return { kind: 'skew', node, offsetMs: (offsetMs as number) || 0, ...window };
    }
    default:
      bad(where, KINDS_RULE);
  }
}

/** Parses a JSON manifest: an array of faults, or {"faults": [...]}; strings use the SPEC form. */
export function parseFaultManifest(json: unknown): Fault[] {
  const list = Array.isArray(json)
    ? json
    : json !== null &&
        typeof json === 'object' &&
        Array.isArray((json as { faults?: unknown }).faults)
      ? (json as { faults: unknown[] }).faults
      : undefined;
  if (list === undefined) {
    throw new CivitasError(
      'BENCH_BAD_FAULT',
      'a fault manifest is a JSON array or {"faults": [...]}',
    );
  }
  return list.flatMap((item, i) =>
    typeof item === 'string' ? parseFaultSpec(item) : [checkObject(item, i)],
  );
}

/** Checks faults against the cluster: indexes exist, windows start within the run. */
export function checkFaults(
  faults: readonly Fault[],
  validators: number,
  durationMs: number,
): void {
  const node = (f: Fault, n: NodeRef): void => {
    if (n !== '*' && n >= validators) {
      throw new CivitasError(
        'BENCH_BAD_FAULT',
        `${describeFault(f)}: there is no validator ${n} (validators 0..${validators - 1})`,
      );
    }
  };
  for (const f of faults) {
    if (f.atMs > durationMs) {
      throw new CivitasError(
        'BENCH_BAD_FAULT',
        `${describeFault(f)}: starts at ${f.atMs / 1000}s, after the run ends (${durationMs / 1000}s)`,
      );
    }
    switch (f.kind) {
      case 'crash':
        if (f.target !== 'primary') node(f, f.target);
        break;
      case 'partition':
        for (const n of f.groups.flat()) node(f, n);
        break;
      case 'delay':
      case 'loss':
        node(f, f.a);
        node(f, f.b);
        break;
      case 'byzantine':
      case 'skew':
        node(f, f.node);
        break;
    }
  }
  checkSkewSums(faults);
}

/**
 * Overlapping skews of one node add up; the sum must stay within ±1 day, which the node
 * enforces too (better refused here than as a fault error mid-run). The sum only changes at
 * a window's start or end, so those are the moments to check.
 */
function checkSkewSums(faults: readonly Fault[]): void {
  const skews = faults.filter((f): f is Extract<Fault, { kind: 'skew' }> => f.kind === 'skew');
  const moments = skews.flatMap((f) => (f.untilMs === undefined ? [f.atMs] : [f.atMs, f.untilMs]));
  for (const t of moments) {
    const sums = new Map<number, number>();
    for (const f of skews) {
      if (f.atMs <= t && (f.untilMs === undefined || t < f.untilMs)) {
        sums.set(f.node, (sums.get(f.node) ?? 0) + f.offsetMs);
      }
    }
    for (const [node, sum] of sums) {
      if (Math.abs(sum) > MAX_SKEW_MS) {
        throw new CivitasError(
          'BENCH_BAD_FAULT',
          `skews of validator ${node} add up to ${sum} ms at ${t / 1000}s, beyond ±1 day (${MAX_SKEW_MS} ms)`,
        );
      }
    }
  }
}

function timeText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}` : `${ms}ms`;
}

function skewText(ms: number): string {
  const size = Math.abs(ms);
  return `${ms < 0 ? '-' : '+'}${size % 1000 === 0 ? `${size / 1000}s` : `${size}ms`}`;
}

/** The SPEC form of a fault (parseFault(describeFault(f)) equals f). */
export function describeFault(f: Fault): string {
  const window = `${timeText(f.atMs)}${f.untilMs !== undefined ? `-${timeText(f.untilMs)}` : ''}`;
  const link = (a: NodeRef, b: NodeRef): string => (a === '*' ? '*' : `${a}-${b}`);
  switch (f.kind) {
    case 'crash':
      return `crash:${f.target}@${window}`;
    case 'partition':
      return `partition:${f.groups.map((g) => g.join(',')).join('|')}@${window}`;
    case 'delay':
      return `delay:${link(f.a, f.b)}=${f.delayMs}ms@${window}`;
    case 'loss':
      return `loss:${link(f.a, f.b)}=${f.lossRate}@${window}`;
    case 'byzantine':
      return `byzantine:${f.node}=${f.mode}@${window}`;
    case 'skew':
      return `skew:${f.node}=${skewText(f.offsetMs)}@${window}`;
  }
}
