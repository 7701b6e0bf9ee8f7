/** Many seeded runs across validator counts and fault mixes, summarised. */

import type { RejectReason } from '../events.ts';
import type { Violation } from './checker.ts';
import { FAULTS, type FaultName } from './faults.ts';
import { addRejections, noRejections, type SeedRow, seedRow } from './metrics.ts';
import { runSimulation, type SimulationOptions, type SimulationReport } from './simulation.ts';

export interface SweepOptions {
  readonly validators: readonly number[];
  /** Seeds first..first+count−1 for every (validators, mix) pair. */
  readonly seeds: { readonly first: number; readonly count: number };
  /** Default: one mix of all faults. */
  readonly faultMixes?: readonly (readonly FaultName[])[];
  readonly byzantine?: number;
  readonly durationMs?: number;
  /** Every k-th seed runs with real ed25519 signatures (0: never). */
  readonly ed25519Every?: number;
  readonly extra?: Partial<SimulationOptions>;
  /** Keep one row per run in the report (`rows`). */
  readonly keepRows?: boolean;
  /** Called after each run (progress output). */
  readonly onRun?: (report: SimulationReport) => void;
  /** Wall clock, injected so the library stays free of ambient time. */
  readonly clock?: () => number;
}

/** A violation with everything needed to replay it. */
export interface SweepViolation extends Violation {
  readonly validators: number;
  readonly faults: readonly FaultName[];
  readonly byzantine: number | null;
  readonly durationMs: number;
  readonly signatures: 'fake' | 'ed25519';
}

export interface SweepGroup {
  readonly validators: number;
  readonly faults: string;
  readonly runs: number;
  readonly ed25519Runs: number;
  readonly committedBlocks: number;
  readonly minCommitted: number;
  readonly viewChanges: number;
  readonly crashes: number;
  readonly syncs: number;
  readonly evidence: number;
  readonly rejected: number;
  /** The same, by reason (metrics.ts rejectionBreakdown tells the benign ones). */
  readonly rejections: Readonly<Record<RejectReason, number>>;
  readonly maxRecoveryAfterGstMs: number | null;
  readonly violations: number;
  readonly wallMs: number | null;
  /** With the `reconfig` fault: set changes executed on the committed chains (Σ runs). */
  readonly setChanges: number;
  /** Runs whose planned change the guard refused. */
  readonly refusedChanges: number;
  /** Runs per reconfiguration scenario. */
  readonly scenarios: Readonly<Record<string, number>>;
}

export interface SweepReport {
  readonly runs: number;
  readonly groups: readonly SweepGroup[];
  readonly violations: readonly SweepViolation[];
  /** With `keepRows`: every run's row, with its group's fault mix. */
  readonly rows: ReadonlyArray<SeedRow & { readonly faults: string }>;
}

export function runSweep(opts: SweepOptions): SweepReport {
  const mixes = opts.faultMixes ?? [FAULTS];
  const groups: SweepGroup[] = [];
  const violations: SweepViolation[] = [];
  const rows: Array<SeedRow & { faults: string }> = [];
  let runs = 0;
  for (const validators of opts.validators) {
    for (const mix of mixes) {
      const started = opts.clock?.() ?? null;
      const g = {
        runs: 0,
        ed25519Runs: 0,
        committedBlocks: 0,
        minCommitted: Number.POSITIVE_INFINITY,
        viewChanges: 0,
        crashes: 0,
        syncs: 0,
        evidence: 0,
        rejected: 0,
        rejections: noRejections(),
        maxRecovery: null as number | null,
        violations: 0,
        setChanges: 0,
        refusedChanges: 0,
        scenarios: {} as Record<string, number>,
      };
      for (let seed = opts.seeds.first; seed < opts.seeds.first + opts.seeds.count; seed++) {
        const ed25519 = (opts.ed25519Every ?? 0) > 0 && seed % opts.ed25519Every! === 0;
        const report = runSimulation({
          ...opts.extra,
          validators,
          seed,
          faults: mix,
          signatures: ed25519 ? 'ed25519' : 'fake',
          ...(opts.byzantine !== undefined ? { byzantine: opts.byzantine } : {}),
          ...(opts.durationMs !== undefined ? { durationMs: opts.durationMs } : {}),
        });
        runs++;
        g.runs++;
        if (ed25519) g.ed25519Runs++;
        g.committedBlocks += report.committedMax;
        g.minCommitted = Math.min(g.minCommitted, report.committedMin);
        g.viewChanges += report.viewChanges;
        g.crashes += report.crashes;
        g.syncs += report.syncs;
        g.evidence += report.evidence;
        g.rejected += Object.values(report.rejections).reduce((a, b) => a + b, 0);
        addRejections(g.rejections, report.rejections);
        if (opts.keepRows) rows.push({ ...seedRow(report), faults: mix.join(',') });
        if (report.recoveryAfterGstMs !== null) {
          g.maxRecovery = Math.max(g.maxRecovery ?? 0, report.recoveryAfterGstMs);
        }
        g.violations += report.violations.length;
        const rc = report.reconfiguration;
        if (rc !== null) {
          g.setChanges += rc.executed.length;
          if (rc.refused !== null) g.refusedChanges++;
          g.scenarios[rc.scenario] = (g.scenarios[rc.scenario] ?? 0) + 1;
        }
        for (const v of report.violations) {
          violations.push({
            ...v,
            validators,
            faults: mix,
            byzantine: opts.byzantine ?? null,
            durationMs: report.durationMs,
            signatures: report.signatures,
          });
        }
        opts.onRun?.(report);
      }
      groups.push({
        validators,
        faults: mix.join(','),
        runs: g.runs,
        ed25519Runs: g.ed25519Runs,
        committedBlocks: g.committedBlocks,
        minCommitted: g.runs > 0 ? g.minCommitted : 0,
        viewChanges: g.viewChanges,
        crashes: g.crashes,
        syncs: g.syncs,
        evidence: g.evidence,
        rejected: g.rejected,
        rejections: g.rejections,
        maxRecoveryAfterGstMs: g.maxRecovery,
        violations: g.violations,
        setChanges: g.setChanges,
        refusedChanges: g.refusedChanges,
        scenarios: g.scenarios,
        wallMs: started === null ? null : opts.clock!() - started,
      });
    }
  }
  return { runs, groups, violations, rows };
}

/** The long sweep's fault mixes (scripts/sim-sweep.ts), each run over many seeds. */
export const SWEEP_MIXES: readonly (readonly FaultName[])[] = [
  FAULTS,
  ['delay', 'loss', 'reorder', 'duplicate'],
  ['partition', 'crash', 'delay'],
  ['crash', 'loss'],
  ['equivocate', 'double-vote', 'loss'],
  ['equivocate', 'double-vote', 'partition', 'crash'],
  ['silent', 'invalid-block', 'crash'],
  ['replay', 'forge', 'reorder', 'partition'],
  ['twins', 'delay', 'partition', 'crash'],
  ['skew', 'drift', 'delay', 'crash'],
  ['skew', 'drift', 'equivocate', 'double-vote', 'partition'],
];

/** Validator-set changes (a seeded scenario per run, reconfig.ts) under each kind of fault. */
export const RECONFIG_MIXES: readonly (readonly FaultName[])[] = [
  ['reconfig', 'delay', 'loss', 'reorder', 'duplicate'],
  ['reconfig', 'partition', 'crash', 'delay'],
  ['reconfig', 'equivocate', 'double-vote', 'partition', 'crash'],
  ['reconfig', 'twins', 'silent', 'invalid-block', 'crash'],
  ['reconfig', 'skew', 'drift', 'replay', 'forge', 'loss'],
];

export const ALL_SWEEP_MIXES: readonly (readonly FaultName[])[] = [
  ...SWEEP_MIXES,
  ...RECONFIG_MIXES,
];
