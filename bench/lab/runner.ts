/**
 * `civitas lab run`: runs an experiment's pending runs one after the other, recording each in
 * results.json as it finishes, then writes the tidy CSV and the plots from every run of the
 * experiment. A folder that already holds some of the runs resumes: only the rest run.
 *
 * Sim runs execute the simulator in this process (deterministic: a run's figures depend on
 * its parameters only, wall time apart). Cluster runs start a local network each through the
 * cluster benchmark (bench/cluster/), which keeps its own results and node logs in
 * runs/<key>/ under the folder.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation, seedRow } from '../../src/consensus/sim/index.ts';
import { CivitasError } from '../../src/errors/index.ts';
import { renderSvg } from '../cluster/plots.ts';
import { gitInfo, harnessBackends, machineAtEnd, machineAtStart } from '../cluster/provenance.ts';
import type { RunResult } from '../cluster/run.ts';
import { toCsv } from './csv.ts';
import {
  type ClusterRunParams,
  type Experiment,
  type PlannedRun,
  planRuns,
  type SimRunParams,
  simTimeouts,
} from './experiment.ts';
import { labPlots } from './plots.ts';
import {
  type LabResults,
  loadResults,
  pendingRuns,
  RESULTS_FILE,
  RESULTS_VERSION,
  type RunRecord,
  saveResults,
  writeAtomic,
} from './results.ts';

export const CSV_FILE = 'runs.csv';

/** What a run produced, before the runner adds its key, session and wall time. */
export type RunOutcome = Omit<RunRecord, 'key' | 'params' | 'session' | 'wallMs'>;

export interface LabRunners {
  sim(params: SimRunParams): RunOutcome;
  cluster(params: ClusterRunParams, dir: string): Promise<RunOutcome>;
}

export interface LabOptions {
  readonly experiment: Experiment;
  readonly experimentFile: string | null;
  readonly outDir: string;
  /** The exact command line, recorded with the session. */
  readonly command: string;
  /** Stop after this many runs (the rest run on the next call). */
  readonly maxRuns?: number;
  readonly progress?: (line: string) => void;
  /** Wall clock (ms), for wall times and the ETA. */
  readonly clock?: () => number;
  readonly runners?: Partial<LabRunners>;
}

export interface LabSummary {
  readonly outDir: string;
  readonly planned: number;
  /** Runs found done in the folder when the session started. */
  readonly skipped: number;
  /** Keys of the runs this session made, in order. */
  readonly ran: readonly string[];
  /** Planned runs still missing (maxRuns stopped the session early). */
  readonly remaining: number;
  readonly files: readonly string[];
  readonly violations: number;
  readonly results: LabResults;
}

const round3 = (x: number): number => Math.round(x * 1_000) / 1_000;

export function simRun(p: SimRunParams): RunOutcome {
  const report = runSimulation({
    protocol: p.protocol,
    validators: p.validators,
    seed: p.seed,
    faults: p.faults,
    durationMs: p.durationMs,
    signatures: p.signatures,
    ...(p.byzantine !== null ? { byzantine: p.byzantine } : {}),
    ...(p.viewTimeoutMs !== undefined
      ? { timeouts: simTimeouts(p.viewTimeoutMs, p.maxViewTimeoutMs ?? null) }
      : {}),
  });
  // The same figures as a sweep's seed row (sim/metrics.ts), named for the lab's table.
  const row = seedRow(report);
  const l = row.latencyMs;
  return {
    metrics: {
      committed: row.committedMax,
      throughput: row.blocksPerSecond,
      throughputUnit: 'blocks/s',
      latencyP50Ms: l.p50,
      latencyP90Ms: l.p90,
      latencyP99Ms: l.p99,
      latencyMaxMs: l.max,
      latencyMeanMs: l.mean,
      viewChanges: row.viewChanges,
      messagesSent: row.messagesSent,
      bytesSent: row.bytesSent,
      messagesPerBlock: row.messagesPerBlock,
      bytesPerBlock: row.bytesPerBlock,
      crashes: row.crashes,
      lossRate: report.network.loss,
      recoveryAfterGstMs: row.recoveryAfterGstMs,
      rejectedBenign: row.rejectedBenign,
      rejectedOther: row.rejectedOther,
      violations: row.violations,
    },
    latenciesMs: report.commitLatenciesMs.map(round3),
    problems: report.violations.map(
      (v) =>
        `${v.kind} at ${v.atMs.toFixed(1)} ms: ${v.detail} (replay: civitas sim --protocol ${p.protocol} --validators ${p.validators} --seed ${p.seed} --faults ${p.faults.length === 0 ? 'none' : p.faults.join(',')} --duration ${p.durationMs}ms --trace${
          // `civitas sim` has no timeout flags: runSimulation({timeouts}) replays such a run.
          p.viewTimeoutMs === undefined
            ? ''
            : `, with runSimulation's timeouts {baseMs: ${p.viewTimeoutMs}, maxMs: ${p.maxViewTimeoutMs}}`
        })`,
    ),
  };
}

export async function clusterRun(p: ClusterRunParams, dir: string): Promise<RunOutcome> {
  const { CLUSTER_DEFAULTS, runClusterBench, writeResults } = await import('../cluster/index.ts');
  const { parseFault } = await import('../cluster/fault-spec.ts');
  const results = await runClusterBench({
    ...CLUSTER_DEFAULTS,
    validators: p.validators,
    durationS: p.durationS,
    rate: p.rate,
    blockSize: p.blockSize,
    faults: p.faults.map(parseFault),
    out: dir,
    ceilingTxs: 0,
    protocol: p.protocol,
    ...(p.viewTimeoutMs !== null ? { viewTimeoutMs: p.viewTimeoutMs } : {}),
    ...(p.blockIntervalMs !== null ? { blockIntervalMs: p.blockIntervalMs } : {}),
  });
  // The bench's own results.json and plots beside its node logs, as `bench cluster --out` has.
  await writeResults(results, dir);
  const run = results.run;
  if (run === null) throw new CivitasError('INTERNAL', 'the cluster bench returned no run');
  return clusterOutcome(p, run, dir);
}

/** A cluster bench run's figures, named for the lab's table. */
export function clusterOutcome(p: ClusterRunParams, run: RunResult, dir: string): RunOutcome {
  const l = run.latency;
  const measured = l.count > 0;
  // The faults that end inside the load: the ones a cluster can be seen to recover from.
  const ended = run.faults.filter((f) => f.endS !== null && f.endS < p.durationS);
  const recoveries = ended.map((f) => f.recovery.throughputRecoveredMs);
  const allRecovered = recoveries.every((ms) => ms !== null);
  return {
    metrics: {
      committed: run.blocks.count,
      throughput: round3(run.throughput.meanTxPerSec),
      throughputUnit: 'tx/s',
      latencyP50Ms: measured ? round3(l.p50Ms) : null,
      latencyP90Ms: measured ? round3(l.p90Ms) : null,
      latencyP99Ms: measured ? round3(l.p99Ms) : null,
      latencyMaxMs: measured ? round3(l.maxMs) : null,
      latencyMeanMs: measured ? round3(l.meanMs) : null,
      viewChanges: run.viewChanges.total,
      messagesSent: null,
      bytesSent: null,
      messagesPerBlock: null,
      bytesPerBlock: null,
      crashes: p.faults.filter((f) => f.startsWith('crash:')).length,
      lossRate: null,
      recoveryAfterGstMs:
        recoveries.length > 0 && allRecovered ? Math.max(...(recoveries as number[])) : null,
      rejectedBenign: null,
      rejectedOther: null,
      violations: 0,
      recovered: ended.length === 0 ? null : allRecovered && run.uncommitted === 0,
      uncommitted: run.uncommitted,
      longestStallMs:
        run.faults.length === 0
          ? null
          : Math.max(...run.faults.map((f) => f.recovery.maxCommitGapMs)),
    },
    latencyCdf: run.latency.cdf.map((c) => ({ latencyMs: c.latencyMs, fraction: c.fraction })),
    problems: [...run.faultErrors],
    dir,
  };
}

function duration(ms: number): string {
  const s = Math.round(ms / 1_000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Runs the experiment's pending runs, then writes the CSV and the plots. */
export async function runLab(opts: LabOptions): Promise<LabSummary> {
  const { experiment, outDir } = opts;
  const clock = opts.clock ?? (() => performance.now());
  const progress = opts.progress ?? (() => {});
  const runners: LabRunners = { sim: simRun, cluster: clusterRun, ...opts.runners };
  const resultsPath = join(outDir, RESULTS_FILE);
  const plan = planRuns(experiment);
  // Everything is checked before the folder is touched.
  const existing = loadResults(resultsPath, experiment);
  const pending = pendingRuns(plan, existing?.runs ?? [], resultsPath);
  const todo = opts.maxRuns === undefined ? pending : pending.slice(0, opts.maxRuns);
  mkdirSync(outDir, { recursive: true });

  const machine = machineAtStart();
  const results: LabResults = existing ?? {
    version: RESULTS_VERSION,
    experiment,
    experimentFile: opts.experimentFile,
    sessions: [],
    runs: [],
  };
  const session = results.sessions.length;
  const started = new Date().toISOString();
  const backends = experiment.kind === 'sim' ? harnessBackends() : null;
  const git = gitInfo();
  const sessionRecord = (endedAt: string | null, ran: number) => ({
    startedAt: started,
    endedAt,
    command: opts.command,
    git,
    machine: endedAt === null ? machine : machineAtEnd(machine),
    backends:
      backends === null
        ? "each cluster run records its nodes' backends in runs/<key>/results.json"
        : {
            harness: backends.backends,
            note: `${backends.note}; the simulator signs with ${experiment.kind === 'sim' ? experiment.signatures : '-'} signatures`,
          },
    ran,
  });
  const next: LabResults = {
    ...results,
    experiment,
    experimentFile: opts.experimentFile,
    sessions: [...results.sessions, sessionRecord(null, 0)],
  };
  progress(
    `lab ${experiment.name}: ${plan.length} runs planned, ${plan.length - pending.length} already in ${resultsPath}, ${todo.length} to run now${git.commit === null ? '' : ` (commit ${git.commit}${git.dirty ? ', dirty tree' : ''})`}`,
  );

  const ran: string[] = [];
  const sessionStart = clock();
  for (const [i, run] of todo.entries()) {
    const t0 = clock();
    const outcome = await execute(run, runners, outDir);
    const wallMs = clock() - t0;
    next.runs.push({
      key: run.key,
      params: run.params,
      session,
      wallMs: Math.round(wallMs),
      ...outcome,
    });
    ran.push(run.key);
    next.sessions[session] = sessionRecord(null, ran.length);
    saveResults(resultsPath, next);
    const elapsed = clock() - sessionStart;
    const left = todo.length - (i + 1);
    const eta = left === 0 ? 'done' : `ETA ${duration((elapsed / (i + 1)) * left)}`;
    const m = outcome.metrics;
    progress(
      `[${i + 1}/${todo.length}] ${run.key}: ${m.committed} blocks, ${m.throughput} ${m.throughputUnit}, p99 ${m.latencyP99Ms ?? '-'} ms, ${m.viewChanges} view changes${m.violations > 0 ? `, ${m.violations} VIOLATIONS` : ''} (${duration(wallMs)}; ${eta})`,
    );
  }
  next.sessions[session] = sessionRecord(new Date().toISOString(), ran.length);
  saveResults(resultsPath, next);

  // The table and the plots show the experiment's runs (in plan order), done in any session.
  const byKey = new Map(next.runs.map((r) => [r.key, r]));
  const runs = plan.flatMap((p) => byKey.get(p.key) ?? []);
  const files = [resultsPath];
  const csvPath = join(outDir, CSV_FILE);
  writeAtomic(csvPath, toCsv(experiment.name, runs));
  files.push(csvPath);
  for (const plot of labPlots(experiment.name, runs, experiment.metrics)) {
    const path = join(outDir, plot.file);
    writeAtomic(path, await renderSvg(plot.spec));
    files.push(path);
  }
  return {
    outDir,
    planned: plan.length,
    skipped: plan.length - pending.length,
    ran,
    remaining: pending.length - todo.length,
    files,
    violations: runs.reduce((s, r) => s + r.metrics.violations, 0),
    results: next,
  };
}

async function execute(run: PlannedRun, runners: LabRunners, outDir: string): Promise<RunOutcome> {
  if (run.params.kind === 'sim') return runners.sim(run.params);
  const dir = join(
    outDir,
    'runs',
    run.key.replaceAll('/', '_').replaceAll(/[^A-Za-z0-9._=,+-]/g, '-'),
  );
  // A run that did not finish left its folder; the cluster bench wants an empty one.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return runners.cluster(run.params, dir);
}
