/**
 * results.json of a lab folder: every run with the exact parameters it ran with, its figures,
 * and the sessions (invocations) that produced them, each with its provenance: git commit,
 * machine, crypto backends, the exact command. A session that resumes a folder adds to it;
 * the file is replaced atomically after every run, so an interrupted session loses at most
 * the run it was in, and the folder never holds a half-written file.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { CivitasError } from '../../src/errors/index.ts';
import type { GitInfo, MachineInfo } from '../cluster/provenance.ts';
import type { Experiment, PlannedRun, RunParams } from './experiment.ts';

export const RESULTS_FILE = 'results.json';
export const RESULTS_VERSION = 1;

/** One run's figures, the same for both kinds (null where a kind does not measure it). */
export interface RunMetrics {
  /** Blocks committed (sim: the highest honest height; cluster: blocks in the run). */
  readonly committed: number;
  /** Sim: committed blocks per simulated second; cluster: committed tx/s (mean after warm-up). */
  readonly throughput: number;
  readonly throughputUnit: 'blocks/s' | 'tx/s';
  /** Sim: block commit latency (simulated); cluster: tx submit → commit latency. */
  readonly latencyP50Ms: number | null;
  readonly latencyP90Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly latencyMaxMs: number | null;
  readonly latencyMeanMs: number | null;
  readonly viewChanges: number;
  readonly messagesSent: number | null;
  readonly bytesSent: number | null;
  readonly messagesPerBlock: number | null;
  readonly bytesPerBlock: number | null;
  readonly crashes: number | null;
  /** The seeded loss probability before GST (sim; 0 without the loss fault). */
  readonly lossRate: number | null;
  /**
   * Sim: how long after GST the slowest honest replica commits past the frontier. Cluster:
   * the slowest fault window's time from its end to 1 s of throughput at 90% of the healthy
   * one (null when no fault ends, or one never recovered).
   */
  readonly recoveryAfterGstMs: number | null;
  readonly rejectedBenign: number | null;
  readonly rejectedOther: number | null;
  readonly violations: number;
  /**
   * Cluster: every fault window that ended saw the throughput back at 90% of the healthy one
   * (bench/cluster's `recovered after end`) and no accepted tx was left uncommitted after the
   * drain; null without a fault that ends. Absent in sim runs (and in older results).
   */
  readonly recovered?: boolean | null;
  /** Cluster: accepted txs not committed when the drain ended. */
  readonly uncommitted?: number;
  /** Cluster: the longest time without a commit inside a fault window, ms (null: no fault). */
  readonly longestStallMs?: number | null;
}

export interface RunRecord {
  readonly key: string;
  readonly params: RunParams;
  /** Index into `sessions`: which invocation ran it. */
  readonly session: number;
  readonly wallMs: number;
  readonly metrics: RunMetrics;
  /** Sim: every committed height's latency, in height order. */
  readonly latenciesMs?: readonly number[];
  /** Cluster: the latency CDF the harness measured. */
  readonly latencyCdf?: ReadonlyArray<{ latencyMs: number; fraction: number }>;
  /** What went wrong (checker violations, fault actions that failed). */
  readonly problems: readonly string[];
  /** Cluster: where the harness kept its own results.json, plots and node logs. */
  readonly dir?: string;
}

export interface Session {
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly command: string;
  readonly git: GitInfo;
  readonly machine: MachineInfo;
  readonly backends: unknown;
  readonly ran: number;
}

export interface LabResults {
  readonly version: typeof RESULTS_VERSION;
  readonly experiment: Experiment;
  /** The experiment file as given on the command line of the latest session. */
  readonly experimentFile: string | null;
  sessions: Session[];
  runs: RunRecord[];
}

/**
 * The folder's results, or null when it has none. A file that is not a lab's results.json, or
 * another experiment's (another name or kind), is LAB_RESULTS_CONFLICT: a folder holds one
 * experiment.
 */
export function loadResults(path: string, experiment: Experiment): LabResults | null {
  if (!existsSync(path)) return null;
  let json: LabResults;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as LabResults;
  } catch (err) {
    throw conflict(path, `unreadable (${(err as Error).message.split('\n')[0]})`);
  }
  if (
    json?.version !== RESULTS_VERSION ||
    !Array.isArray(json.runs) ||
    !Array.isArray(json.sessions)
  ) {
    throw conflict(path, `not a lab results file of version ${RESULTS_VERSION}`);
  }
  if (json.experiment?.name !== experiment.name || json.experiment?.kind !== experiment.kind) {
    throw conflict(
      path,
      `holds experiment "${json.experiment?.name}" (${json.experiment?.kind}), not "${experiment.name}" (${experiment.kind})`,
    );
  }
  return json;
}

function conflict(path: string, why: string): CivitasError {
  return new CivitasError('LAB_RESULTS_CONFLICT', `${path}: ${why}; give another --out`, { path });
}

/**
 * Which planned runs are still to do: a run whose key is in the results with the same
 * parameters is done; the same key with other parameters (the file changed the duration,
 * say) is a conflict, not a silent mix of two settings in one folder.
 */
export function pendingRuns(
  plan: readonly PlannedRun[],
  done: readonly RunRecord[],
  path: string,
): PlannedRun[] {
  const byKey = new Map(done.map((r) => [r.key, r]));
  return plan.filter((run) => {
    const record = byKey.get(run.key);
    if (record === undefined) return true;
    if (!isDeepStrictEqual(record.params, run.params)) {
      const changed = Object.keys(run.params).filter(
        (k) =>
          !isDeepStrictEqual(
            (record.params as unknown as Record<string, unknown>)[k],
            (run.params as unknown as Record<string, unknown>)[k],
          ),
      );
      throw conflict(path, `run ${run.key} was made with other settings (${changed.join(', ')})`);
    }
    return false;
  });
}

/** Writes `text` to `path` through a temporary file and a rename: all or nothing. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function saveResults(path: string, results: LabResults): void {
  writeAtomic(path, `${JSON.stringify(results, null, 2)}\n`);
}
