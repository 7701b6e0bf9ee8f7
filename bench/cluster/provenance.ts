/**
 * What produced a cluster benchmark's figures, recorded in its results: the code (git commit,
 * and whether the working tree differed from it), the machine (cores, model, memory, load
 * average at the start and the end), and the crypto backends the nodes reported and the
 * harness process used (the harness measures the validation ceiling in-process).
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, freemem, loadavg, totalmem } from 'node:os';
import {
  type CryptoBackends as ProcessBackends,
  cryptoBackends as processBackends,
} from '../../src/crypto/backends.ts';
import { PACKAGE_ROOT } from '../../src/node/build-info.ts';

/** The repository (or installed package) the harness runs from. */
export const REPO_ROOT = PACKAGE_ROOT;

/** Paths of a dirty tree listed in the results; the count is always complete. */
const LISTED_CHANGES = 50;

export interface GitInfo {
  /** Short hash of HEAD; null when git or the repository is not available. */
  readonly commit: string | null;
  /**
   * Whether the working tree differed from HEAD (modified, staged, deleted or untracked
   * files that are not ignored): the figures then come from code no commit holds.
   */
  readonly dirty: boolean | null;
  /** How many paths differed. */
  readonly changedFiles: number;
  /** The first 50 of them, as `git status --porcelain` prints them ("XY path"). */
  readonly changes: readonly string[];
  /** Why commit or dirty is null. */
  readonly error?: string;
}

export function gitInfo(dir: string = REPO_ROOT): GitInfo {
  const git = (args: string[]): string =>
    execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
  let commit: string;
  try {
    commit = git(['rev-parse', '--short', 'HEAD']).trim();
  } catch (err) {
    return { commit: null, dirty: null, changedFiles: 0, changes: [], error: firstLine(err) };
  }
  try {
    const changes = git(['status', '--porcelain=v1', '--untracked-files=all'])
      .split('\n')
      .filter((line) => line.length > 0);
    return {
      commit,
      dirty: changes.length > 0,
      changedFiles: changes.length,
      changes: changes.slice(0, LISTED_CHANGES),
    };
  } catch (err) {
    return { commit, dirty: null, changedFiles: 0, changes: [], error: firstLine(err) };
  }
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: unknown; message?: string };
  const text = typeof e.stderr === 'string' && e.stderr.length > 0 ? e.stderr : e.message;
  return (text ?? String(err)).split('\n')[0]!.trim();
}

export interface MachineInfo {
  /** Cores Node may use (os.availableParallelism()). */
  readonly cpus: number;
  readonly model: string;
  readonly memoryGiB: number;
  readonly freeMemoryGiBAtStart: number;
  readonly node: string;
  readonly platform: string;
  /** 1, 5 and 15 minute load averages when the run started (before the ceiling). */
  readonly loadAverageStart: readonly number[];
  /** The same when the last run ended (null until then). */
  readonly loadAverageEnd: readonly number[] | null;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const gib = (bytes: number): number => Math.round((bytes / 2 ** 30) * 10) / 10;

export function machineAtStart(): MachineInfo {
  return {
    cpus: availableParallelism(),
    model: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: gib(totalmem()),
    freeMemoryGiBAtStart: gib(freemem()),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverageStart: loadavg().map(round2),
    loadAverageEnd: null,
  };
}

export function machineAtEnd(start: MachineInfo): MachineInfo {
  return { ...start, loadAverageEnd: loadavg().map(round2) };
}

/**
 * One backend a process reported: the metric that said so, its labels other than `backend`
 * (e.g. which operation), and the backend's name.
 */
export interface BackendReport {
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly backend: string;
}

export interface NodeBackends {
  readonly index: number;
  /** Null when the node did not answer GET /metrics. */
  readonly backends: readonly BackendReport[] | null;
}

export interface CryptoBackends {
  /** What each node's GET /metrics reported, from the cluster the runs used. */
  readonly nodes: readonly NodeBackends[];
  /**
   * What the harness process used (its validation ceiling ran here): src/crypto's
   * cryptoBackends() — ed25519 and sha256 backends, the forced choice, libsodium's status.
   */
  readonly harness: ProcessBackends | null;
  /** How to read this, and what was missing. */
  readonly note: string;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * The backends a node names in its Prometheus text, in either shape:
 * - an info gauge whose labels name an operation each (`civitas_crypto_backend_info{ed25519=
 *   "sodium",sha256="node:crypto"} 1`): one report per label, `{op: <label>}`;
 * - any series with a `backend` label (`…{path="sync",backend="sodium"} 7`): one report with
 *   its other labels.
 * Only series with a value above zero (an info gauge's stale series are 0 or absent); each
 * distinct report once.
 */
export function parseBackendMetrics(text: string): BackendReport[] {
  const reports: BackendReport[] = [];
  const seen = new Set<string>();
  const add = (report: BackendReport): void => {
    const key = JSON.stringify(report);
    if (seen.has(key)) return;
    seen.add(key);
    reports.push(report);
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line.trim());
    if (m === null || !(Number(m[3]) > 0)) continue;
    const metric = m[1]!;
    const labels: Record<string, string> = {};
    for (const [, name, value] of m[2]!.matchAll(LABEL)) labels[name!] = value!;
    const { backend, ...others } = labels;
    if (backend !== undefined) add({ metric, labels: others, backend });
    else if (/_backends?_info$/.test(metric)) {
      for (const [op, named] of Object.entries(labels))
        add({ metric, labels: { op }, backend: named });
    }
  }
  return reports;
}

/** Asks every node (by its API URL; null for one that is down) which backends it uses. */
export async function nodeBackends(urls: ReadonlyArray<string | null>): Promise<NodeBackends[]> {
  return Promise.all(
    urls.map(async (url, index) => {
      if (url === null) return { index, backends: null };
      try {
        const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
        return { index, backends: res.ok ? parseBackendMetrics(await res.text()) : null };
      } catch {
        return { index, backends: null };
      }
    }),
  );
}

/**
 * The backends of this process (the harness: its validation ceiling verifies here). Asked
 * after the ceiling, so the answer is the backend it ran on (asking first would load
 * libsodium itself); null, with the reason, if src/crypto cannot answer.
 */
export function harnessBackends(): { backends: ProcessBackends | null; note: string } {
  try {
    return { backends: processBackends(), note: 'src/crypto cryptoBackends() in the harness' };
  } catch (err) {
    return { backends: null, note: `cryptoBackends() failed: ${(err as Error).message}` };
  }
}

/** The harness's backends, short: "ed25519=sodium sha256=sodium+node:crypto". */
export function describeProcessBackends(b: ProcessBackends | null): string {
  if (b === null) return 'not recorded';
  const forced = b.choice === 'node' ? ' (node:crypto forced)' : '';
  const sodium = b.sodium.error === null ? '' : ` (libsodium: ${b.sodium.error})`;
  return `ed25519=${b.ed25519} sha256=${b.sha256}${forced}${sodium}`;
}

/** What the reports say, short: "crypto=sodium verify/admission=sodium". */
export function describeBackends(reports: readonly BackendReport[] | null): string {
  if (reports === null) return 'not reported';
  if (reports.length === 0) return 'none reported';
  const parts = reports.map((r) => {
    const what = Object.values(r.labels).join('/');
    const metric = r.metric.replace(/^civitas_/, '').replace(/(_backend)?_info$/, '');
    return `${what.length > 0 ? what : metric}=${r.backend}`;
  });
  return [...new Set(parts)].join(' ');
}
