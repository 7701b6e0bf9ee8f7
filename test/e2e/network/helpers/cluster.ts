/**
 * A real validator network for multi-process tests: `civitas init` on random loopback ports,
 * one `civitas node start` child per validator with its log in the test's temp dir, kill -9
 * and restart, and the HTTP queries the tests make (status, heights, block hashes). Every
 * child is killed when the test ends (and when this process exits, so a cancelled run does
 * not leave validators behind).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { StatusResponse } from '../../../../src/client/index.ts';
import { CLI_MAIN, NODE_BIN, REPO_ROOT, runCli } from '../../../helpers/process.ts';

export interface NetworkNode {
  name: string;
  home: string;
  publicKey: string;
  rpc: string;
  p2p: string;
}

/** `D/network.json` as written by `civitas init`. */
export interface NetworkJson {
  chainId: string;
  dir: string;
  genesis: string;
  nodes: NetworkNode[];
  accounts: Array<{ file: string; address: string; balance: string }>;
}

export interface ConsensusSettings {
  timeoutMs: number;
  blockIntervalMs: number;
  emptyBlockIntervalMs: number;
}

/**
 * Fast enough for tests, slow enough for a loaded 2-core machine: an idle primary proposes
 * an empty block after min(emptyBlockIntervalMs, timeoutMs / 2), well inside the view timeout.
 */
export const TEST_CONSENSUS: ConsensusSettings = {
  timeoutMs: 1_000,
  blockIntervalMs: 50,
  emptyBlockIntervalMs: 200,
};

export interface ClusterOptions {
  validators: number;
  accounts: number;
  /** Nodes to start at once (default: all). */
  start?: readonly number[];
  consensus?: Partial<ConsensusSettings>;
  /** Node log level (default: the config's, info); CIVITAS_TEST_LOG_LEVEL overrides it. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** Below Linux's ephemeral range (32768+), so outgoing connections rarely take our ports. */
function randomBasePort(): number {
  return 20_000 + 2 * Math.floor(Math.random() * 6_000);
}

const START_TIMEOUT_MS = 90_000;
const HTTP_TIMEOUT_MS = 10_000;

/** Children alive in this process, killed synchronously if the test process exits early. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killLive = (): void => {
    for (const child of live) child.kill('SIGKILL');
  };
  process.once('exit', killLive);
  // The runner ends a file that overruns its timeout with SIGTERM, which skips 'exit'.
  process.once('SIGTERM', () => {
    killLive();
    process.exit(143);
  });
}

class PortClash extends Error {}

interface RunningNode {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Set when the process has exited, whether we ended it or it died on its own. */
  exitedWith: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

export class Cluster {
  readonly root: string;
  readonly net: NetworkJson;
  readonly consensus: ConsensusSettings;
  readonly #running = new Map<number, RunningNode>();

  private constructor(root: string, net: NetworkJson, consensus: ConsensusSettings) {
    this.root = root;
    this.net = net;
    this.consensus = consensus;
  }

  /**
   * Initialises a network on random ports and starts the chosen nodes; on a port clash it
   * starts over on other ports. Everything is killed and removed when `t` ends.
   */
  static async start(t: TestContext, opts: ClusterOptions): Promise<Cluster> {
    installExitHook();
    const root = await mkdtemp(join(tmpdir(), 'civitas-net-'));
    const clusters: Cluster[] = [];
    t.after(async () => {
      for (const c of clusters) await c.killAll();
      if (process.env.CIVITAS_KEEP_TEST_DIRS) return;
      await rm(root, { recursive: true, force: true, maxRetries: 3 });
    });
    const consensus = { ...TEST_CONSENSUS, ...opts.consensus };
    for (let attempt = 0; ; attempt++) {
      const dir = join(root, `net${attempt}`);
      const init = await runCli(
        [
          'init',
          '--validators',
          String(opts.validators),
          '--accounts',
          String(opts.accounts),
          '--dir',
          dir,
          '--base-port',
          String(randomBasePort()),
          '--json',
        ],
        { timeoutMs: 60_000 },
      );
      assert.equal(init.code, 0, `civitas init failed: ${init.stderr}`);
      const net = JSON.parse(init.stdout) as NetworkJson;
      const logLevel = process.env.CIVITAS_TEST_LOG_LEVEL ?? opts.logLevel;
      for (const node of net.nodes) await patchConfig(node.home, consensus, logLevel);
      const cluster = new Cluster(dir, net, consensus);
      clusters.push(cluster);
      const toStart = opts.start ?? net.nodes.map((_, i) => i);
      try {
        await Promise.all(toStart.map((i) => cluster.startNode(i)));
        return cluster;
      } catch (err) {
        await cluster.killAll();
        if (err instanceof PortClash && attempt < 4) continue;
        throw err;
      }
    }
  }

  get size(): number {
    return this.net.nodes.length;
  }

  get chainId(): string {
    return this.net.chainId;
  }

  logPath(i: number): string {
    return join(this.root, `node${i}.log`);
  }

  isRunning(i: number): boolean {
    return this.#running.has(i);
  }

  /** Starts node i (appending to its log) and resolves once its API answers as that node. */
  async startNode(i: number): Promise<void> {
    assert.ok(!this.#running.has(i), `node${i} is already running`);
    const node = this.net.nodes[i]!;
    const fd = openSync(this.logPath(i), 'a');
    let child: ChildProcess;
    try {
      child = spawn(NODE_BIN, [CLI_MAIN, 'node', 'start', '--home', node.home], {
        cwd: REPO_ROOT,
        env: { ...process.env, CIVITAS_DEBUG: '' },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    live.add(child);
    const running: RunningNode = {
      child,
      exitedWith: undefined,
      exited: new Promise((resolve) => {
        const onEnd = (code: number | null, signal: NodeJS.Signals | null): void => {
          running.exitedWith ??= { code, signal };
          live.delete(child);
          resolve(running.exitedWith);
        };
        child.on('exit', onEnd);
        child.on('error', () => onEnd(null, null));
      }),
    };
    this.#running.set(i, running);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (running.exitedWith !== undefined) {
        this.#running.delete(i);
        const log = await this.logTail(i, 15);
        if (/EADDRINUSE|RPC_LISTEN_FAILED/.test(log)) throw new PortClash(`node${i}: ${log}`);
        throw new Error(`node${i} exited during start-up; log tail:\n${log}`);
      }
      const status = await this.status(i);
      // Someone else's process may hold the port: only our node's key counts.
      if (status !== undefined && status.validator === node.publicKey) return;
      if (Date.now() > deadline) {
        throw new Error(
          `node${i} did not answer /status within ${START_TIMEOUT_MS} ms; log tail:\n${await this.logTail(i, 15)}`,
        );
      }
      await sleep(100);
    }
  }

  /** Kills node i (SIGKILL by default) and waits for it to exit; returns how it ended. */
  async stopNode(
    i: number,
    signal: NodeJS.Signals = 'SIGKILL',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const running = this.#running.get(i);
    assert.ok(running !== undefined, `node${i} is not running`);
    running.child.kill(signal);
    // A graceful stop that hangs is finished off, so a test never waits forever.
    const timer = setTimeout(() => running.child.kill('SIGKILL'), 20_000);
    const result = await running.exited;
    clearTimeout(timer);
    this.#running.delete(i);
    return result;
  }

  /** Asserts that each node in `nodes` is still running (it has not crashed). */
  assertAlive(nodes: readonly number[]): void {
    for (const i of nodes) {
      const running = this.#running.get(i);
      assert.ok(running !== undefined, `node${i} was not started`);
      assert.equal(
        running.exitedWith,
        undefined,
        `node${i} exited on its own: ${JSON.stringify(running.exitedWith)}`,
      );
    }
  }

  /** Lines of node i's log at `level` (the logs are JSON lines). */
  async logLines(i: number, level: 'debug' | 'info' | 'warn' | 'error'): Promise<string[]> {
    const text = await readFile(this.logPath(i), 'utf8').catch(() => '');
    return text.split('\n').filter((l) => l.includes(`"level":"${level}"`));
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.#running.keys()].map((i) => this.stopNode(i, 'SIGKILL')));
  }

  /**
   * GET a node's API; undefined when the node does not answer (not an error: nodes die here).
   * A reused keep-alive connection the node closed just then (its idle timeout racing a
   * client that lags on a loaded machine) is retried; a refused connection is not.
   */
  async get<T>(i: number, path: string): Promise<{ status: number; body: T } | undefined> {
    for (let tries = 1; ; tries++) {
      try {
        const res = await fetch(`${this.net.nodes[i]!.rpc}${path}`, {
          signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
        });
        const body = (await res.json()) as T;
        return { status: res.status, body };
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (tries >= 3 || (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET')) return undefined;
      }
    }
  }

  async status(i: number): Promise<StatusResponse | undefined> {
    const res = await this.get<StatusResponse>(i, '/status');
    return res?.status === 200 ? res.body : undefined;
  }

  /** Status of each node in `nodes`; fails if one of them does not answer. */
  async statuses(nodes: readonly number[]): Promise<StatusResponse[]> {
    return Promise.all(
      nodes.map(async (i) => {
        const s = await this.status(i);
        assert.ok(s !== undefined, `node${i} did not answer /status`);
        return s;
      }),
    );
  }

  async heights(nodes: readonly number[]): Promise<number[]> {
    return (await this.statuses(nodes)).map((s) => s.height);
  }

  /**
   * Waits until every node in `nodes` has committed at least `height`. The default deadline
   * allows for nodes that start seconds apart on a loaded machine and must first agree on a
   * view through doubling view timeouts.
   */
  async waitForHeight(
    nodes: readonly number[],
    height: number,
    timeoutMs = 60_000,
  ): Promise<number[]> {
    return waitFor(
      async () => {
        const hs = await Promise.all(nodes.map(async (i) => (await this.status(i))?.height ?? -1));
        return hs.every((h) => h >= height) ? hs : undefined;
      },
      `nodes ${nodes.join(',')} to reach height ${height}`,
      timeoutMs,
    );
  }

  /** Hash of the block at `height` on node i (fails if the node has no such block). */
  async blockHash(i: number, height: number): Promise<string> {
    return (await this.block(i, height)).hash;
  }

  async block(i: number, height: number): Promise<BlockJson> {
    const res = await this.get<BlockJson>(i, `/blocks/${height}`);
    assert.ok(res !== undefined, `node${i} did not answer GET /blocks/${height}`);
    assert.equal(res.status, 200, `node${i} GET /blocks/${height}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** Asserts that every node in `nodes` holds the same block at each height from..to. */
  async assertSameChain(nodes: readonly number[], from: number, to: number): Promise<void> {
    const heights = Array.from({ length: to - from + 1 }, (_, k) => from + k);
    await mapLimit(heights, 8, async (h) => {
      const hashes = await Promise.all(nodes.map((i) => this.blockHash(i, h)));
      for (let k = 1; k < nodes.length; k++) {
        assert.equal(
          hashes[k],
          hashes[0],
          `block ${h}: node${nodes[k]} has ${hashes[k]}, node${nodes[0]} has ${hashes[0]}`,
        );
      }
    });
  }

  /** The last `lines` lines of node i's log, plus its last warnings and errors. */
  async logTail(i: number, lines = 20): Promise<string> {
    let text: string;
    try {
      text = await readFile(this.logPath(i), 'utf8');
    } catch {
      return '(no log)';
    }
    const all = text.split('\n').filter((l) => l.length > 0);
    const tail = all.slice(-lines);
    const problems = all
      .slice(0, -lines)
      .filter((l) => !l.includes('"level":"info"') && !l.includes('"level":"debug"'))
      .slice(-10);
    return [...problems, ...(problems.length > 0 ? ['...'] : []), ...tail].join('\n');
  }

  async logTails(lines = 12): Promise<string> {
    const parts: string[] = [];
    for (let i = 0; i < this.size; i++) {
      parts.push(`--- node${i} (${this.isRunning(i) ? 'running' : 'stopped'}) ---`);
      parts.push(await this.logTail(i, lines));
    }
    return parts.join('\n');
  }

  /** Runs a test body; when it fails, the error carries the tail of every node's log. */
  async explain<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      const tails = await this.logTails().catch(() => '(logs unreadable)');
      const message = err instanceof Error ? err.message : String(err);
      // A new error: the runner prints a stack whose header was fixed when `err` was made.
      throw new Error(`${message}\n\nnode logs (${this.root}):\n${tails}`, { cause: err });
    }
  }
}

export interface BlockJson {
  hash: string;
  header: { height: number; proposer: string; parentHash: string };
  txHashes: string[];
  certificate: { height: number; view: number; blockHash: string; signers: number[] } | null;
}

/** Rewrites fields init wrote (never adds any: unknown fields are config errors). */
async function patchConfig(
  home: string,
  consensus: ConsensusSettings,
  logLevel: string | undefined,
): Promise<void> {
  const path = join(home, 'config.json');
  const config = JSON.parse(await readFile(path, 'utf8')) as {
    consensus: ConsensusSettings;
    log: { level: string };
  };
  config.consensus = { ...config.consensus, ...consensus };
  if (logLevel !== undefined) config.log.level = logLevel;
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value other than undefined; fails with `what` at the deadline. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const k = next++;
      results[k] = await fn(items[k]!, k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
