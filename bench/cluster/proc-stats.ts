/**
 * CPU and memory of processes from Linux /proc: /proc/<pid>/stat (utime + stime, in clock
 * ticks) and /proc/<pid>/status (VmRSS). Sampled once a second per node; a restarted node
 * gets a new pid and its CPU counter starts again.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Clock ticks per second (sysconf(_SC_CLK_TCK)); 100 on every common Linux. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcSample {
  /** User + system CPU time since the process started, seconds. */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
}

/** Parses /proc/<pid>/stat: fields 14 and 15 (1-based) after the parenthesised command. */
export function parseProcStat(text: string, ticksPerSecond: number): number {
  const close = text.lastIndexOf(')');
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond;
}

export function parseVmRss(statusText: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** One sample, or undefined if the process is gone (or this is not Linux). */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { cpuSeconds: parseProcStat(stat, clockTicksPerSecond()), rssBytes: parseVmRss(status) };
  } catch {
    return undefined;
  }
}

export interface ProcessUsage {
  /** Mean CPU over the sampled time, percent of one core. */
  readonly cpuPercentMean: number;
  /** Highest 1 s CPU, percent of one core. */
  readonly cpuPercentPeak: number;
  readonly rssMiBMean: number;
  readonly rssMiBPeak: number;
  /** Mean RSS of each whole or started minute from the first sample: the curve of a long run. */
  readonly rssMiBByMinute: readonly number[];
  readonly samples: number;
}

/** Accumulates samples of one logical process (which may be restarted with a new pid). */
export class UsageTracker {
  private pid: number | undefined;
  private last: { sample: ProcSample; at: number } | undefined;
  private cpuSeconds = 0;
  private wallSeconds = 0;
  private cpuPeak = 0;
  private rssSum = 0;
  private rssPeak = 0;
  private samples = 0;
  private firstAt: number | undefined;
  private readonly minutes: Array<{ sum: number; count: number }> = [];

  sample(pid: number | undefined, now = performance.now()): void {
    if (pid === undefined) {
      this.last = undefined;
      return;
    }
    const s = sampleProcess(pid);
    if (s === undefined) return;
    if (pid === this.pid && this.last !== undefined) {
      const cpu = s.cpuSeconds - this.last.sample.cpuSeconds;
      const wall = (now - this.last.at) / 1000;
      if (wall > 0) {
        this.cpuSeconds += cpu;
        this.wallSeconds += wall;
        this.cpuPeak = Math.max(this.cpuPeak, (100 * cpu) / wall);
      }
    }
    this.pid = pid;
    this.last = { sample: s, at: now };
    this.rssSum += s.rssBytes;
    this.rssPeak = Math.max(this.rssPeak, s.rssBytes);
    this.samples++;
    this.firstAt ??= now;
    const minute = Math.floor((now - this.firstAt) / 60_000);
    const m = this.minutes[minute] ?? { sum: 0, count: 0 };
    this.minutes[minute] = m;
    m.sum += s.rssBytes;
    m.count++;
  }

  usage(): ProcessUsage {
    const mib = 2 ** 20;
    return {
      cpuPercentMean: this.wallSeconds === 0 ? 0 : (100 * this.cpuSeconds) / this.wallSeconds,
      cpuPercentPeak: this.cpuPeak,
      rssMiBMean: this.samples === 0 ? 0 : this.rssSum / this.samples / mib,
      rssMiBPeak: this.rssPeak / mib,
      rssMiBByMinute: Array.from(this.minutes, (m) =>
        m === undefined || m.count === 0 ? 0 : Math.round((10 * m.sum) / m.count / mib) / 10,
      ),
      samples: this.samples,
    };
  }
}
