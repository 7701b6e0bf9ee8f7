/**
 * A local cluster of real validator processes: a fresh network from `initNetwork` (with the
 * benchmark's block size written into the genesis), one `civitas node start` child per
 * validator with fault injection enabled, and the controls the harness needs — kill -9,
 * restart, status, fault settings. Every child is killed when the cluster stops.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CivitasError } from '../../src/errors.ts';
import { FAULT_INJECTION_ENV } from '../../src/node/fault-injection.ts';
import { type InitSummary, initNetwork } from '../../src/node/home.ts';
import { DEFAULT_MEMPOOL } from '../../src/node/mempool.ts';
import type { NodeFaultSettings } from './fault-schedule.ts';

const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface ClusterOptions {
  readonly dir: string;
  readonly validators: number;
  /** Funded accounts (load senders + one for warm-up). */
  readonly accounts: number;
  /** Max txs per block (genesis params.maxBlockTxs). */
  readonly blockSize: number;
  /** Base view timeout (consensus.timeoutMs). */
  readonly viewTimeoutMs: number;
  /** Minimum block spacing (consensus.blockIntervalMs). */
  readonly blockIntervalMs: number;
  /** Mempool capacity per node. */
  readonly mempoolTxs: number;
  /** Client submissions refused (503) above this many blocks' worth waiting (mempool.backlogBlocks). */
  readonly backlogBlocks?: number;
  /** Port base; random free ports when undefined. */
  readonly basePort?: number;
  readonly chainId?: string;
  /** Node log level (logs go to <home>/node.log). */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Run this validator with V8's CPU profiler (--cpu-prof into <home>/profile). */
  readonly profileNode?: number;
}

export interface NodeStatus {
  height: number;
  consensus: { view: number; primary: number; viewChanges: number };
  mempool: { size: number };
  peers: string[];
}

/** Whether all of ports base..base+count-1 can be bound on 127.0.0.1 right now. */
async function portsFree(base: number, count: number): Promise<boolean> {
  for (let p = base; p < base + count; p++) {
    const ok = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(p, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (!ok) return false;
  }
  return true;
}

async function freeBasePort(count: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 30_000 + 2 * Math.floor(Math.random() * 12_000);
    if (await portsFree(base, count)) return base;
  }
  throw new CivitasError('BENCH_NO_PORTS', `found no ${count} free consecutive ports`);
}

export class Cluster {
  readonly summary: InitSummary;
  readonly opts: ClusterOptions;
  private readonly children: Array<ChildProcess | undefined>;
  private readonly restarts: number[];
  private stopping = false;

  private constructor(opts: ClusterOptions, summary: InitSummary) {
    this.opts = opts;
    this.summary = summary;
    this.children = summary.nodes.map(() => undefined);
    this.restarts = summary.nodes.map(() => 0);
  }

  /** Initialises a fresh network in `opts.dir` (which must be empty or absent). */
  static async create(opts: ClusterOptions): Promise<Cluster> {
    const basePort = opts.basePort ?? (await freeBasePort(2 * opts.validators));
    const summary = await initNetwork({
      dir: opts.dir,
      validators: opts.validators,
      accounts: opts.accounts,
      basePort,
      chainId: opts.chainId ?? 'civitas-bench',
      configOverrides: {
        consensus: {
          timeoutMs: opts.viewTimeoutMs,
          blockIntervalMs: opts.blockIntervalMs,
          emptyBlockIntervalMs: 10_000,
        },
        mempool: {
          maxTxs: opts.mempoolTxs,
          maxTxsPerSender: 1_000,
          maxNonceGap: 1_000,
          backlogBlocks: opts.backlogBlocks ?? DEFAULT_MEMPOOL.backlogBlocks,
        },
        log: { level: opts.logLevel ?? 'warn', format: 'json' },
      },
    });
    // initNetwork writes the default chain params; the benchmark's block size goes into every
    // copy of the genesis before any node reads it.
    const paths = [summary.genesis, ...summary.nodes.map((n) => join(n.home, 'genesis.json'))];
    for (const path of paths) {
      const genesis = JSON.parse(await readFile(path, 'utf8')) as {
        params: { maxBlockTxs: number };
      };
      genesis.params.maxBlockTxs = opts.blockSize;
      await writeFile(path, `${JSON.stringify(genesis, null, 2)}\n`);
    }
    return new Cluster(opts, summary);
  }

  get size(): number {
    return this.summary.nodes.length;
  }

  get urls(): string[] {
    return this.summary.nodes.map((n) => n.rpc);
  }

  isUp(i: number): boolean {
    const c = this.children[i];
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  pid(i: number): number | undefined {
    return this.isUp(i) ? this.children[i]!.pid : undefined;
  }

  restartCount(i: number): number {
    return this.restarts[i]!;
  }

  /** Starts every node and waits until each answers and sees all its peers. */
  async start(timeoutMs = 90_000): Promise<void> {
    for (let i = 0; i < this.size; i++) this.spawn(i);
    const deadline = Date.now() + timeoutMs;
    await Promise.all(this.summary.nodes.map((_, i) => this.waitReady(i, deadline, true)));
  }

  private spawn(i: number): void {
    const node = this.summary.nodes[i]!;
    const log = createWriteStream(join(node.home, 'node.log'), { flags: 'a' });
    const profile =
      this.opts.profileNode === i
        ? ['--cpu-prof', '--cpu-prof-dir', join(node.home, 'profile')]
        : [];
    const child = spawn(
      process.execPath,
      [...profile, CLI_MAIN, 'node', 'start', '--home', node.home],
      {
        env: { ...process.env, [FAULT_INJECTION_ENV]: '1', CIVITAS_DEBUG: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.once('exit', () => log.end());
    this.children[i] = child;
  }

  /** Waits for node i's API (and, with `peers`, for connections to every other member). */
  async waitReady(i: number, deadline: number, peers: boolean): Promise<void> {
    const url = this.urls[i]!;
    while (Date.now() < deadline) {
      if (!this.isUp(i)) {
        throw new CivitasError(
          'BENCH_NODE_EXITED',
          `node${i} exited during start-up; see ${join(this.summary.nodes[i]!.home, 'node.log')}`,
        );
      }
      const status = await this.status(i);
      if (status !== undefined && (!peers || status.peers.length >= this.size - 1)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new CivitasError('BENCH_START_TIMEOUT', `node${i} (${url}) was not ready in time`);
  }

  async status(i: number): Promise<NodeStatus | undefined> {
    try {
      const res = await fetch(`${this.urls[i]}/status`, { signal: AbortSignal.timeout(3_000) });
      if (!res.ok) return undefined;
      return (await res.json()) as NodeStatus;
    } catch {
      return undefined;
    }
  }

  /** kill -9: no clean shutdown, as a crash. */
  async kill(i: number): Promise<void> {
    const child = this.children[i];
    if (child === undefined || !this.isUp(i)) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Restarts a killed node on the same home (it recovers from LevelDB and its WAL). */
  async restart(i: number, timeoutMs = 60_000): Promise<void> {
    if (this.isUp(i)) return;
    this.restarts[i]!++;
    this.spawn(i);
    await this.waitReady(i, Date.now() + timeoutMs, false);
  }

  async setFaults(i: number, settings: NodeFaultSettings): Promise<void> {
    const res = await fetch(`${this.urls[i]}/admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(settings),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) {
      throw new CivitasError(
        'BENCH_FAULT_REFUSED',
        `node${i} refused fault settings: HTTP ${res.status} ${await res.text()}`,
      );
    }
  }

  /** SIGTERM every node, SIGKILL whatever is left after `graceMs`. Idempotent. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const live = this.children.filter(
      (c): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null,
    );
    await Promise.all(
      live.map(
        (c) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  }
}
