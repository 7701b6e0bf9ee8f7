/**
 * An experiment file (docs/LAB.md, "The file format"): what to run, declared once, checked
 * whole before anything runs. A bad field is one line naming the file and the field
 * (LAB_BAD_EXPERIMENT); a field the format does not know is an error too, so a typo never
 * silently falls back to a default.
 *
 * An experiment expands into runs, each with a stable key and the exact parameters it ran
 * with: the key is what resuming matches on, the parameters what it checks.
 */

import type { TimeoutConfig } from '../../src/consensus/config.ts';
import {
  FAULTS,
  type FaultName,
  isFaultName,
  livenessBound,
  SIM_TIMEOUTS,
} from '../../src/consensus/sim/index.ts';
import { PROTOCOLS, type ProtocolName } from '../../src/consensus/sim/protocols.ts';
import { CivitasError } from '../../src/errors/index.ts';
import { checkFaults, parseFault } from '../cluster/fault-spec.ts';

export const LAB_KINDS = ['sim', 'cluster'] as const;
export type LabKind = (typeof LAB_KINDS)[number];

/**
 * Protocols the lab runs, by kind: the simulator runs every protocol it knows
 * (src/consensus/sim/protocols.ts); a cluster runs the ones the node runs, named in the
 * cluster bench's genesis (`consensus.protocol`; HotStuff as an experiment, docs/HOTSTUFF.md).
 */
export const LAB_PROTOCOLS: Readonly<Record<'sim' | 'cluster', readonly ProtocolName[]>> = {
  sim: PROTOCOLS,
  cluster: ['pbft', 'hotstuff'],
};
export type LabProtocol = ProtocolName;

export const LAB_METRICS = [
  'throughput',
  'latency',
  'messages',
  'view-changes',
  'recovery',
] as const;
export type LabMetric = (typeof LAB_METRICS)[number];

/** A named set of faults: the simulator's fault names, or cluster fault specs. */
export interface FaultMix {
  /** "none", "all", "crash,loss", or the cluster specs joined with spaces. */
  readonly label: string;
  readonly faults: readonly string[];
}

interface Common {
  readonly name: string;
  readonly description: string;
  readonly protocols: readonly LabProtocol[];
  readonly validators: readonly number[];
  readonly faults: readonly FaultMix[];
  readonly metrics: readonly LabMetric[];
}

export interface SimExperiment extends Common {
  readonly kind: 'sim';
  readonly seeds: { readonly first: number; readonly count: number };
  /** Virtual time per run; null: the simulator's default for each n. */
  readonly durationMs: number | null;
  readonly byzantine: number | null;
  readonly signatures: 'fake' | 'ed25519';
  /**
   * View timeouts at view 0 (TimeoutConfig.baseMs), a run dimension; null: the simulator's
   * (SIM_TIMEOUTS), and the runs' keys and parameters carry no timeout.
   */
  readonly viewTimeoutMs: readonly number[] | null;
  /** The cap a view's doubling timeout stops at; null: SIM_MAX_TIMEOUT_FACTOR × the base. */
  readonly maxViewTimeoutMs: number | null;
}

export interface ClusterExperiment extends Common {
  readonly kind: 'cluster';
  readonly blockSizes: readonly number[];
  readonly rates: readonly number[];
  readonly repetitions: number;
  readonly durationS: number;
  readonly viewTimeoutMs: number | null;
  readonly blockIntervalMs: number | null;
}

export type Experiment = SimExperiment | ClusterExperiment;

export interface SimRunParams {
  readonly kind: 'sim';
  readonly protocol: LabProtocol;
  readonly validators: number;
  readonly faults: readonly FaultName[];
  readonly faultMix: string;
  readonly seed: number;
  readonly durationMs: number;
  readonly byzantine: number | null;
  readonly signatures: 'fake' | 'ed25519';
  /** Present only when the experiment sets view timeouts (older results have neither). */
  readonly viewTimeoutMs?: number;
  readonly maxViewTimeoutMs?: number;
}

export interface ClusterRunParams {
  readonly kind: 'cluster';
  readonly protocol: LabProtocol;
  readonly validators: number;
  readonly faults: readonly string[];
  readonly faultMix: string;
  readonly blockSize: number;
  readonly rate: number;
  readonly repetition: number;
  readonly durationS: number;
  readonly viewTimeoutMs: number | null;
  readonly blockIntervalMs: number | null;
}

export type RunParams = SimRunParams | ClusterRunParams;

export interface PlannedRun {
  readonly key: string;
  readonly params: RunParams;
}

const COMMON_FIELDS = [
  'name',
  'description',
  'kind',
  'protocols',
  'validators',
  'faults',
  'metrics',
];
const SIM_FIELDS = [
  ...COMMON_FIELDS,
  'seeds',
  'durationMs',
  'byzantine',
  'signatures',
  'viewTimeoutMs',
  'maxViewTimeoutMs',
];
const CLUSTER_FIELDS = [
  ...COMMON_FIELDS,
  'blockSizes',
  'rates',
  'repetitions',
  'durationS',
  'viewTimeoutMs',
  'blockIntervalMs',
];

/** Parses and checks an experiment file's text; `source` names it in errors. */
export function parseExperiment(text: string, source: string): Experiment {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw bad(source, null, `not JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  return checkExperiment(json, source);
}

function bad(source: string, field: string | null, message: string): CivitasError {
  return new CivitasError(
    'LAB_BAD_EXPERIMENT',
    `${source}: ${field === null ? '' : `"${field}": `}${message}`,
    { source, field },
  );
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

export function checkExperiment(json: unknown, source: string): Experiment {
  const fail = (field: string | null, message: string): never => {
    throw bad(source, field, message);
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    fail(null, 'expected an object {"name", "kind", "validators", ...}');
  }
  const o = json as Record<string, unknown>;
  const kind = o.kind;
  if (!LAB_KINDS.includes(kind as LabKind)) {
    fail('kind', `must be ${LAB_KINDS.map((k) => `"${k}"`).join(' or ')}, got ${show(kind)}`);
  }
  const allowed = kind === 'sim' ? SIM_FIELDS : CLUSTER_FIELDS;
  for (const field of Object.keys(o)) {
    if (!allowed.includes(field)) {
      const other = kind === 'sim' ? CLUSTER_FIELDS : SIM_FIELDS;
      fail(
        field,
        other.includes(field)
          ? `applies to kind "${kind === 'sim' ? 'cluster' : 'sim'}" only`
          : `unknown field; the fields of a ${kind} experiment are ${allowed.join(', ')}`,
      );
    }
  }
  const int = (field: string, v: unknown, min: number, max: number): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      fail(field, `must be an integer ${min}..${max}, got ${show(v)}`);
    }
    return v as number;
  };
  const intList = (field: string, min: number, max: number, fallback?: number[]): number[] => {
    const v = o[field];
    if (v === undefined && fallback !== undefined) return fallback;
    if (!Array.isArray(v) || v.length === 0) {
      fail(field, `must be a non-empty list of integers ${min}..${max}, got ${show(v)}`);
    }
    const list = (v as unknown[]).map((x, i) => int(`${field}[${i}]`, x, min, max));
    if (new Set(list).size !== list.length) fail(field, `lists a value twice: ${show(v)}`);
    return list;
  };

  const name = o.name;
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) {
    fail('name', `must be 1-64 of a-z 0-9 . _ - (it names files), got ${show(name)}`);
  }
  const description = o.description ?? '';
  if (typeof description !== 'string') fail('description', 'must be a string');

  const protocolsValue = o.protocols ?? ['pbft'];
  if (!Array.isArray(protocolsValue) || protocolsValue.length === 0) {
    fail('protocols', `must be a non-empty list, e.g. ["pbft"], got ${show(protocolsValue)}`);
  }
  const runnable = LAB_PROTOCOLS[kind as LabKind];
  const protocols = (protocolsValue as unknown[]).map((p, i) => {
    if (runnable.includes(p as LabProtocol)) return p as LabProtocol;
    if (PROTOCOLS.includes(p as LabProtocol)) {
      fail(
        `protocols[${i}]`,
        `${show(p)} does not run in a ${kind} experiment; use ${runnable.join(', ')}`,
      );
    }
    return fail(`protocols[${i}]`, `must be one of ${runnable.join(', ')}, got ${show(p)}`);
  });
  if (new Set(protocols).size !== protocols.length) fail('protocols', 'lists a protocol twice');

  const validators = intList('validators', kind === 'sim' ? 1 : 1, kind === 'sim' ? 64 : 64);

  const metricsValue = o.metrics ?? [...LAB_METRICS];
  if (!Array.isArray(metricsValue) || metricsValue.length === 0) {
    fail('metrics', `must be a non-empty list of ${LAB_METRICS.join(', ')}`);
  }
  const metrics = (metricsValue as unknown[]).map((m, i) =>
    LAB_METRICS.includes(m as LabMetric)
      ? (m as LabMetric)
      : fail(`metrics[${i}]`, `must be one of ${LAB_METRICS.join(', ')}, got ${show(m)}`),
  );

  const faultsValue = o.faults ?? ['none'];
  if (!Array.isArray(faultsValue) || faultsValue.length === 0) {
    fail(
      'faults',
      `must be a non-empty list of fault mixes, e.g. ["none", "crash,loss"], got ${show(faultsValue)}`,
    );
  }
  const faults = (faultsValue as unknown[]).map((mix, i) =>
    kind === 'sim' ? simMix(mix, `faults[${i}]`, fail) : clusterMix(mix, `faults[${i}]`, fail),
  );
  const labels = faults.map((f) => f.label);
  if (new Set(labels).size !== labels.length) fail('faults', 'lists a fault mix twice');
  const common = {
    name: name as string,
    description: description as string,
    protocols,
    validators,
    faults,
    metrics,
  };

  if (kind === 'sim') {
    let seeds: { first: number; count: number };
    const s = o.seeds;
    if (typeof s === 'number') seeds = { first: 1, count: int('seeds', s, 1, 100_000) };
    else if (s !== null && typeof s === 'object' && !Array.isArray(s)) {
      const so = s as Record<string, unknown>;
      for (const k of Object.keys(so))
        if (k !== 'first' && k !== 'count')
          fail(`seeds.${k}`, 'unknown field; seeds is {first, count} or a count');
      seeds = {
        first: so.first === undefined ? 1 : int('seeds.first', so.first, 0, 2 ** 32 - 1),
        count: int('seeds.count', so.count, 1, 100_000),
      };
    } else {
      return fail('seeds', `must be a count or {"first", "count"}, got ${show(s)}`);
    }
    let viewTimeoutMs: number[] | null = null;
    if (typeof o.viewTimeoutMs === 'number') {
      viewTimeoutMs = [int('viewTimeoutMs', o.viewTimeoutMs, 10, 600_000)];
    } else if (o.viewTimeoutMs !== undefined) {
      viewTimeoutMs = intList('viewTimeoutMs', 10, 600_000);
    }
    const maxViewTimeoutMs =
      o.maxViewTimeoutMs === undefined
        ? null
        : int('maxViewTimeoutMs', o.maxViewTimeoutMs, 10, 600_000);
    if (maxViewTimeoutMs !== null) {
      const highest = Math.max(...(viewTimeoutMs ?? [SIM_TIMEOUTS.baseMs]));
      if (maxViewTimeoutMs < highest) {
        fail(
          'maxViewTimeoutMs',
          `${maxViewTimeoutMs} ms is below the view timeout of ${highest} ms it caps`,
        );
      }
    }
    const durationMs =
      o.durationMs === undefined ? null : int('durationMs', o.durationMs, 1, 24 * 3_600_000);
    if (durationMs !== null) {
      const longest = Math.max(...validators);
      const caps = (viewTimeoutMs ?? [null]).map(
        (base) => simTimeouts(base, maxViewTimeoutMs).maxMs,
      );
      const window = livenessBound(longest, { ...SIM_TIMEOUTS, maxMs: Math.max(...caps) });
      if (durationMs <= window) {
        fail(
          'durationMs',
          `${durationMs} ms does not exceed the liveness window of ${window} ms for ${longest} validators`,
        );
      }
    }
    const byzantine = o.byzantine === undefined ? null : int('byzantine', o.byzantine, 0, 63);
    if (byzantine !== null && byzantine >= Math.min(...validators)) {
      fail(
        'byzantine',
        `must be below every validator count (smallest ${Math.min(...validators)})`,
      );
    }
    const signatures = o.signatures ?? 'fake';
    if (signatures !== 'fake' && signatures !== 'ed25519')
      fail('signatures', `must be "fake" or "ed25519", got ${show(signatures)}`);
    return {
      ...common,
      kind,
      seeds,
      durationMs,
      byzantine,
      signatures: signatures as 'fake' | 'ed25519',
      viewTimeoutMs,
      maxViewTimeoutMs,
    };
  }
  const durationS = o.durationS === undefined ? 30 : int('durationS', o.durationS, 5, 24 * 3_600);
  faults.forEach((mix, i) => {
    for (const n of validators) {
      try {
        checkFaults(mix.faults.map(parseFault), n, durationS * 1_000);
      } catch (err) {
        fail(`faults[${i}]`, `with ${n} validators: ${(err as Error).message}`);
      }
    }
  });
  return {
    ...common,
    kind: 'cluster',
    blockSizes: intList('blockSizes', 1, 100_000, [1_000]),
    rates: intList('rates', 1, 1_000_000),
    repetitions: o.repetitions === undefined ? 1 : int('repetitions', o.repetitions, 1, 100),
    durationS,
    viewTimeoutMs:
      o.viewTimeoutMs === undefined ? null : int('viewTimeoutMs', o.viewTimeoutMs, 50, 600_000),
    blockIntervalMs:
      o.blockIntervalMs === undefined ? null : int('blockIntervalMs', o.blockIntervalMs, 0, 60_000),
  };
}

type Fail = (field: string | null, message: string) => never;

/** "none", "all", "crash,loss" or ["crash", "loss"]: the simulator's fault names. */
function simMix(mix: unknown, field: string, fail: Fail): FaultMix {
  let names: string[];
  if (mix === 'none') names = [];
  else if (mix === 'all') names = [...FAULTS];
  else if (typeof mix === 'string') names = mix.split(',').map((s) => s.trim());
  else if (Array.isArray(mix) && mix.every((m) => typeof m === 'string')) names = mix as string[];
  else
    return fail(
      field,
      `must be "none", "all", "crash,loss" or a list of fault names, got ${show(mix)}`,
    );
  for (const n of names) {
    if (!isFaultName(n))
      fail(field, `unknown fault ${show(n)}; the simulator's faults are ${FAULTS.join(', ')}`);
  }
  const unique = [...new Set(names)];
  const label =
    unique.length === 0 ? 'none' : unique.length === FAULTS.length ? 'all' : unique.join(',');
  return { label, faults: unique };
}

/** "none", a spec string ("crash:1@10-20 delay:*=50ms@5") or a list of specs: bench cluster's grammar. */
function clusterMix(mix: unknown, field: string, fail: Fail): FaultMix {
  let specs: string[];
  if (mix === 'none') specs = [];
  else if (typeof mix === 'string') specs = mix.split(/[;\s]+/).filter((s) => s.length > 0);
  else if (Array.isArray(mix) && mix.every((m) => typeof m === 'string')) specs = mix as string[];
  else
    return fail(field, `must be "none", a fault spec string or a list of specs, got ${show(mix)}`);
  for (const spec of specs) {
    try {
      parseFault(spec);
    } catch (err) {
      fail(field, (err as Error).message);
    }
  }
  return { label: specs.length === 0 ? 'none' : specs.join(' '), faults: specs };
}

/** The simulator's ratio of the cap to the base view timeout (2,400 ms to 300 ms): 8. */
export const SIM_MAX_TIMEOUT_FACTOR = SIM_TIMEOUTS.maxMs / SIM_TIMEOUTS.baseMs;

/**
 * The timeouts a sim run uses: the simulator's own when the experiment sets none; a base
 * without a cap is capped at SIM_MAX_TIMEOUT_FACTOR × the base, so the doubling keeps the
 * simulator's shape (three doublings); the retransmit interval stays the simulator's.
 */
export function simTimeouts(baseMs: number | null, maxMs: number | null): TimeoutConfig {
  const base = baseMs ?? SIM_TIMEOUTS.baseMs;
  const max = maxMs ?? (baseMs === null ? SIM_TIMEOUTS.maxMs : base * SIM_MAX_TIMEOUT_FACTOR);
  return { ...SIM_TIMEOUTS, baseMs: base, maxMs: max };
}

/**
 * The simulator's default run length for n validators: 10 s of faults + the liveness window,
 * which grows with the timeout cap.
 */
export function defaultSimDuration(
  validators: number,
  timeouts: TimeoutConfig = SIM_TIMEOUTS,
): number {
  return 10_000 + livenessBound(validators, timeouts);
}

/**
 * Every run of the experiment, in a fixed order: protocol, faults, n, then view timeout and
 * seed (sim) or block size, rate and repetition (cluster).
 */
export function planRuns(e: Experiment): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const protocol of e.protocols) {
    for (const mix of e.faults) {
      for (const validators of e.validators) {
        if (e.kind === 'sim') {
          for (const base of e.viewTimeoutMs ?? [null]) {
            const timeouts = simTimeouts(base, e.maxViewTimeoutMs);
            // Runs of an experiment that sets no timeout keep the keys and parameters they had.
            const explicit = base !== null || e.maxViewTimeoutMs !== null;
            for (let seed = e.seeds.first; seed < e.seeds.first + e.seeds.count; seed++) {
              runs.push({
                key: `sim/${protocol}/${mix.label}/n${validators}${base === null ? '' : `/vt${base}`}/seed${seed}`,
                params: {
                  kind: 'sim',
                  protocol,
                  validators,
                  faults: mix.faults as FaultName[],
                  faultMix: mix.label,
                  seed,
                  durationMs: e.durationMs ?? defaultSimDuration(validators, timeouts),
                  byzantine: e.byzantine,
                  signatures: e.signatures,
                  ...(explicit
                    ? { viewTimeoutMs: timeouts.baseMs, maxViewTimeoutMs: timeouts.maxMs }
                    : {}),
                },
              });
            }
          }
          continue;
        }
        for (const blockSize of e.blockSizes) {
          for (const rate of e.rates) {
            for (let repetition = 1; repetition <= e.repetitions; repetition++) {
              runs.push({
                key: `cluster/${protocol}/${mix.label}/n${validators}/b${blockSize}/r${rate}/rep${repetition}`,
                params: {
                  kind: 'cluster',
                  protocol,
                  validators,
                  faults: mix.faults,
                  faultMix: mix.label,
                  blockSize,
                  rate,
                  repetition,
                  durationS: e.durationS,
                  viewTimeoutMs: e.viewTimeoutMs,
                  blockIntervalMs: e.blockIntervalMs,
                },
              });
            }
          }
        }
      }
    }
  }
  return runs;
}
