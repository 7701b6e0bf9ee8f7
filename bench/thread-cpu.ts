/**
 * CPU time of this process's threads, grouped by what they do, from /proc/self/task (Linux
 * only; elsewhere `sampleThreadCpu` returns undefined). It answers the question the validation
 * benchmark's budget asks — where the CPU beyond the signature checks goes — which
 * `process.cpuUsage()` (one total) and `threadCpuUsage()` (the calling thread) cannot.
 * Resolution is the kernel's clock tick (10 ms here), so it is meant for runs of seconds.
 */
import { readdirSync, readFileSync } from 'node:fs';

export const THREAD_GROUPS = ['main', 'verifyWorkers', 'v8Helpers', 'libuv', 'other'] as const;
export type ThreadGroup = (typeof THREAD_GROUPS)[number];
export type ThreadCpu = Record<ThreadGroup, number>;

export const THREAD_GROUP_LABELS: Record<ThreadGroup, string> = {
  main: 'main thread',
  verifyWorkers: 'verify workers',
  v8Helpers: 'V8 helper threads (GC, compiler)',
  libuv: 'libuv pool (LevelDB reads and writes)',
  other: 'other threads',
};

// USER_HZ: 100 on every Linux the benchmark targets (sysconf is not reachable from Node).
const US_PER_TICK = 10_000;

function groupOf(name: string): ThreadGroup {
  if (name === 'MainThread' || name === 'node') return 'main';
  if (name === 'WorkerThread') return 'verifyWorkers';
  if (name.startsWith('V8')) return 'v8Helpers';
  if (name.startsWith('libuv')) return 'libuv';
  return 'other';
}

/** CPU µs (user + system) used so far by each live thread, keyed by thread id. */
export function sampleThreadCpu(): Map<string, { group: ThreadGroup; us: number }> | undefined {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  const out = new Map<string, { group: ThreadGroup; us: number }>();
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      // comm sits in parentheses and may contain spaces: fields resume after the last ')'.
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after pid and comm.
      const ticks = Number(fields[11]) + Number(fields[12]);
      out.set(tid, { group: groupOf(name), us: ticks * US_PER_TICK });
    } catch {
      // The thread ended between readdir and read: its CPU is lost to this sample.
    }
  }
  return out;
}

/**
 * CPU µs per group spent between two samples. A thread that ended before `after` is missing
 * from it, so keep the threads of interest alive until the second sample.
 */
export function threadCpuBetween(
  before: ReturnType<typeof sampleThreadCpu>,
  after: ReturnType<typeof sampleThreadCpu>,
): ThreadCpu | undefined {
  if (before === undefined || after === undefined) return undefined;
  const total: ThreadCpu = { main: 0, verifyWorkers: 0, v8Helpers: 0, libuv: 0, other: 0 };
  for (const [tid, now] of after) {
    total[now.group] += now.us - (before.get(tid)?.us ?? 0);
  }
  return total;
}
