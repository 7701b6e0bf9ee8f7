/**
 * A real validator network for multi-process tests: a LocalNetwork in the test's temp dir on
 * random loopback ports with test-speed consensus timings, the HTTP queries and assertions the
 * tests make (status, heights, block hashes, identical chains), and cleanup: every node is
 * killed and the directory removed when the test ends (CIVITAS_KEEP_TEST_DIRS keeps it).
 * Node logs are `<dir>/net/nodeI/node.log`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { StatusResponse } from '../../../../src/client/index.ts';
import { isCivitasError } from '../../../../src/errors/index.ts';
import {
  type ExitStatus,
  LocalNetwork,
  type LocalNetworkManifest,
} from '../../../../src/localnet/index.ts';
import type { InitSummary } from '../../../../src/node/home.ts';
import type { LogLevel } from '../../../../src/node/logger.ts';

export interface ConsensusSettings {
  timeoutMs: number;
  blockIntervalMs: number;
  emptyBlockIntervalMs: number;
}

/**
 * Fast enough for tests, slow enough for a loaded 2-core machine: an idle chain makes an
 * empty block every 200 ms, so tests that wait for heights need no txs.
 */
export const TEST_CONSENSUS: ConsensusSettings = {
  timeoutMs: 1_000,
  blockIntervalMs: 50,
  emptyBlockIntervalMs: 200,
};

export interface TestNetworkOptions {
  validators: number;
  accounts: number;
  /** Nodes to start at once (default: all). */
  start?: readonly number[];
  consensus?: Partial<ConsensusSettings>;
  /** Node log level (default: the config's, info); CIVITAS_TEST_LOG_LEVEL overrides it. */
  logLevel?: LogLevel;
  /** Start the nodes with the fault-injection API (and its environment variables) enabled. */
  faultInjection?: boolean;
  /** Per-node extras (environment), by index. */
  nodes?: LocalNetworkManifest['nodes'];
  /** Chain parameters written into the genesis. */
  genesis?: LocalNetworkManifest['genesis'];
}

const HTTP_TIMEOUT_MS = 10_000;

/** A start-up failure with the node's log tail in the message, for the test report. */
function withLogTail(err: unknown): unknown {
  if (!isCivitasError(err) || typeof err.context.logTail !== 'string') return err;
  return new Error(`${err.message}\nlog tail:\n${err.context.logTail}`, { cause: err });
}

export class TestNetwork {
  readonly local: LocalNetwork;
  readonly consensus: ConsensusSettings;

  private constructor(local: LocalNetwork, consensus: ConsensusSettings) {
    this.local = local;
    this.consensus = consensus;
  }

  /** Initialises a network on random ports and starts the chosen nodes; cleaned up after `t`. */
  static async start(t: TestContext, opts: TestNetworkOptions): Promise<TestNetwork> {
    const root = await mkdtemp(join(tmpdir(), 'civitas-net-'));
    let local: LocalNetwork | undefined;
    t.after(async () => {
      await local?.stop({ signal: 'SIGKILL' });
      if (process.env.CIVITAS_KEEP_TEST_DIRS) return;
      await rm(root, { recursive: true, force: true, maxRetries: 3 });
    });
    const consensus = { ...TEST_CONSENSUS, ...opts.consensus };
    try {
      local = await LocalNetwork.launch(
        {
          dir: join(root, 'net'),
          validators: opts.validators,
          accounts: opts.accounts,
          consensus,
          logLevel: (process.env.CIVITAS_TEST_LOG_LEVEL as LogLevel | undefined) ?? opts.logLevel,
          env: { CIVITAS_DEBUG: '' },
          ...(opts.faultInjection ? { faultInjection: true } : {}),
          ...(opts.nodes ? { nodes: opts.nodes } : {}),
          ...(opts.genesis ? { genesis: opts.genesis } : {}),
        },
        { nodes: opts.start },
      );
    } catch (err) {
      throw withLogTail(err);
    }
    return new TestNetwork(local, consensus);
  }

  get size(): number {
    return this.local.size;
  }

  get chainId(): string {
    return this.local.chainId;
  }

  /** `<dir>/network.json`: nodes (home, key, rpc, p2p) and funded accounts. */
  get summary(): InitSummary {
    return this.local.summary;
  }

  logPath(i: number): string {
    return this.local.logPath(i);
  }

  isRunning(i: number): boolean {
    return this.local.isUp(i);
  }

  /** Starts node i (appending to its log) and resolves once its API answers as that node. */
  async startNode(i: number): Promise<void> {
    assert.ok(!this.local.isUp(i), `node${i} is already running`);
    await this.local.startNode(i).catch((err: unknown) => {
      throw withLogTail(err);
    });
  }

  /** Kills node i (SIGKILL by default) and waits for it to exit; returns how it ended. */
  async stopNode(
    i: number,
    signal: NodeJS.Signals = 'SIGKILL',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    assert.ok(this.local.isUp(i), `node${i} is not running`);
    // A graceful stop that hangs is finished off, so a test never waits forever.
    const exit = (await this.local.stopNode(i, { signal, graceMs: 20_000 })) as ExitStatus;
    return { code: exit.code, signal: exit.signal };
  }

  /** Asserts that each node in `nodes` is still running (it has not crashed). */
  assertAlive(nodes: readonly number[]): void {
    for (const i of nodes) {
      const exit = this.local.lastExit(i);
      assert.ok(
        this.local.isUp(i),
        exit === undefined
          ? `node${i} was not started`
          : `node${i} ${exit.expected ? 'was stopped' : 'exited on its own'}: ${JSON.stringify(exit)}`,
      );
    }
  }

  /** Lines of node i's log at `level` (the logs are JSON lines). */
  async logLines(i: number, level: LogLevel): Promise<string[]> {
    const text = await readFile(this.logPath(i), 'utf8').catch(() => '');
    return text.split('\n').filter((l) => l.includes(`"level":"${level}"`));
  }

  /**
   * GET a node's API; undefined when the node does not answer (not an error: nodes die here).
   * A reused keep-alive connection the node closed just then (its idle timeout racing a
   * client that lags on a loaded machine) is retried; a refused connection is not.
   */
  async get<T>(i: number, path: string): Promise<{ status: number; body: T } | undefined> {
    for (let tries = 1; ; tries++) {
      try {
        const res = await fetch(`${this.local.rpc(i)}${path}`, {
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

  status(i: number): Promise<StatusResponse | undefined> {
    return this.local.status(i, HTTP_TIMEOUT_MS);
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

  async logTails(lines = 12): Promise<string> {
    const parts: string[] = [];
    for (let i = 0; i < this.size; i++) {
      parts.push(`--- node${i} (${this.isRunning(i) ? 'running' : 'stopped'}) ---`);
      parts.push(await this.local.logTail(i, lines));
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
      throw new Error(`${message}\n\nnode logs (${this.summary.dir}):\n${tails}`, { cause: err });
    }
  }
}

export interface BlockJson {
  hash: string;
  header: { height: number; proposer: string; parentHash: string; timestamp: number };
  txHashes: string[];
  certificate: { height: number; view: number; blockHash: string; signers: number[] } | null;
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
