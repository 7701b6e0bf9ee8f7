/**
 * A local network of real validator processes: the directory `initNetwork` makes (or one
 * made before), one `civitas node start` child per validator with its output appended to
 * `<home>/node.log`, and the controls its users need — start, kill -9, stop, restart,
 * readiness, status. Children die with this process (orphan-guard.ts). What the devnet, the
 * cluster benchmark and the multi-process tests do beyond that stays with them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StatusResponse } from '../api/types.ts';
import type { ChainParams } from '../chain/genesis.ts';
import { CivitasError, isCivitasError } from '../errors/index.ts';
import { type InitSummary, initNetwork } from '../node/home.ts';
import {
  initOptionsFor,
  isPortClash,
  type LocalNetworkManifest,
  nodeCommand,
  type ResolvedManifest,
  randomBasePort,
  resolveManifest,
  reuseMismatch,
} from './manifest.ts';
import { guardChild } from './orphan-guard.ts';

/** The CLI's entry beside this module: .ts in a checkout, .js when installed (compiled). */
const CLI_MAIN = fileURLToPath(new URL(`../cli/main.${moduleExtension()}`, import.meta.url));

function moduleExtension(): 'ts' | 'js' {
  return import.meta.url.endsWith('.ts') ? 'ts' : 'js';
}

/** Start-up attempts on new random ports after another process took one of ours. */
const PORT_RETRIES = 4;
const POLL_MS = 200;

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Ended by this launcher (kill, stop), not on its own. */
  readonly expected: boolean;
}

export interface StartOptions {
  /** Which validators (default: every one that is not running). */
  readonly nodes?: readonly number[];
  /** Also wait until each sees all the others started with it as peers. */
  readonly waitForPeers?: boolean;
  readonly timeoutMs?: number;
}

interface NodeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  exit: ExitStatus | undefined;
  /** Set before this launcher signals it, so its exit counts as expected. */
  ending: boolean;
}

export type ExitListener = (index: number, exit: ExitStatus) => void;

export class LocalNetwork {
  readonly manifest: ResolvedManifest;
  readonly summary: InitSummary;
  /** Whether the directory already held this network (`init: 'reuse'`). */
  readonly reused: boolean;
  readonly #procs: Array<NodeProcess | undefined>;
  readonly #starts: number[];
  readonly #exitListeners = new Set<ExitListener>();

  private constructor(manifest: ResolvedManifest, summary: InitSummary, reused: boolean) {
    this.manifest = manifest;
    this.summary = summary;
    this.reused = reused;
    this.#procs = summary.nodes.map(() => undefined);
    this.#starts = summary.nodes.map(() => 0);
  }

  /** Initialises (or, with `init: 'reuse'`, finds) the network directory; starts nothing. */
  static async create(manifest: LocalNetworkManifest): Promise<LocalNetwork> {
    const resolved = resolveManifest(manifest);
    const dir = resolve(resolved.dir);
    if (resolved.init === 'reset') await rm(dir, { recursive: true, force: true });
    if (resolved.init === 'reuse') {
      const existing = await readNetworkSummary(dir);
      if (existing !== undefined) {
        const why = reuseMismatch(resolved, existing);
        if (why !== undefined) throw new CivitasError('LOCALNET_MISMATCH', why, { dir });
        return new LocalNetwork(resolved, existing, true);
      }
    }
    const basePort =
      resolved.basePort === 'random'
        ? await freeBasePort(2 * resolved.validators)
        : resolved.basePort;
    const summary = await initNetwork({ ...initOptionsFor(resolved, basePort), dir });
    if (resolved.genesis !== undefined) await writeGenesisParams(summary, resolved.genesis);
    return new LocalNetwork(resolved, summary, false);
  }

  /**
   * `create` then `start`. On random ports, a node that dies because another process took
   * its port makes it start over in a fresh directory on other ports (up to 4 times).
   * Whatever it started is killed if it fails.
   */
  static async launch(
    manifest: LocalNetworkManifest,
    start: StartOptions = {},
  ): Promise<LocalNetwork> {
    for (let attempt = 0; ; attempt++) {
      const network = await LocalNetwork.create(manifest);
      try {
        await network.start(start);
        return network;
      } catch (err) {
        await network.stop({ signal: 'SIGKILL' });
        const retry =
          isCivitasError(err) &&
          err.context.portClash === true &&
          network.manifest.basePort === 'random' &&
          !network.reused &&
          attempt < PORT_RETRIES;
        if (!retry) throw err;
        await rm(network.summary.dir, { recursive: true, force: true, maxRetries: 3 });
      }
    }
  }

  get size(): number {
    return this.summary.nodes.length;
  }

  get chainId(): string {
    return this.summary.chainId;
  }

  get urls(): string[] {
    return this.summary.nodes.map((n) => n.rpc);
  }

  rpc(i: number): string {
    return this.#node(i).rpc;
  }

  home(i: number): string {
    return this.#node(i).home;
  }

  logPath(i: number): string {
    return join(this.#node(i).home, 'node.log');
  }

  isUp(i: number): boolean {
    const proc = this.#procs[i];
    return (
      proc !== undefined &&
      proc.exit === undefined &&
      proc.child.exitCode === null &&
      proc.child.signalCode === null
    );
  }

  pid(i: number): number | undefined {
    return this.isUp(i) ? this.#procs[i]!.child.pid : undefined;
  }

  /** How often node i was started again after its first start. */
  restartCount(i: number): number {
    return Math.max(0, this.#starts[i]! - 1);
  }

  /** How node i's latest process ended; undefined while it runs or if it never started. */
  lastExit(i: number): ExitStatus | undefined {
    return this.#procs[i]?.exit;
  }

  /** Called for every node process that ends, expected or not; returns an unsubscribe. */
  onExit(listener: ExitListener): () => void {
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }

  /** Starts the chosen nodes at once and waits until each answers as itself. */
  async start(opts: StartOptions = {}): Promise<void> {
    const nodes = opts.nodes ?? this.summary.nodes.map((_, i) => i).filter((i) => !this.isUp(i));
    for (const i of nodes) if (!this.isUp(i)) this.#spawn(i);
    const peers = opts.waitForPeers ? nodes.length - 1 : 0;
    const timeoutMs = opts.timeoutMs ?? 90_000;
    await Promise.all(nodes.map((i) => this.waitReady(i, { timeoutMs, peers })));
  }

  /** Starts node i unless it runs (appending to its log) and waits until it answers. */
  async startNode(i: number, opts: Omit<StartOptions, 'nodes'> = {}): Promise<void> {
    await this.start({ ...opts, nodes: [i] });
  }

  /** kill -9 if it runs, then start again on the same home (it recovers from its data). */
  async restart(i: number, opts: Omit<StartOptions, 'nodes'> = {}): Promise<void> {
    await this.kill(i);
    await this.startNode(i, opts);
  }

  /**
   * Waits until node i's API answers as node i (someone else's process may hold the port)
   * and, with `peers`, sees that many peers. Fails at once if the process exits.
   */
  async waitReady(i: number, opts: { timeoutMs: number; peers?: number }): Promise<void> {
    const node = this.#node(i);
    const peers = opts.peers ?? 0;
    const deadline = Date.now() + opts.timeoutMs;
    let seen: StatusResponse | undefined;
    while (Date.now() < deadline) {
      if (!this.isUp(i)) throw await this.#exitedError(i);
      seen = await this.status(i);
      if (seen?.validator === node.publicKey && seen.peers.length >= peers) return;
      await sleep(POLL_MS);
    }
    const state =
      seen === undefined
        ? 'did not answer /status'
        : seen.validator !== node.publicKey
          ? `is not answering /status (another validator, ${seen.validator.slice(0, 16)}…, is)`
          : `sees ${seen.peers.length} of ${peers} peers`;
    throw new CivitasError(
      'LOCALNET_START_TIMEOUT',
      `${node.name} (${node.rpc}) ${state} within ${opts.timeoutMs} ms; see ${this.logPath(i)}`,
      { node: i },
    );
  }

  /** kill -9 (a crash: no clean shutdown) and wait for the exit; undefined if it was down. */
  kill(i: number): Promise<ExitStatus | undefined> {
    return this.stopNode(i, { signal: 'SIGKILL' });
  }

  /** Sends `signal` (SIGTERM by default), SIGKILL after `graceMs`, and waits for the exit. */
  async stopNode(
    i: number,
    opts: { signal?: NodeJS.Signals; graceMs?: number } = {},
  ): Promise<ExitStatus | undefined> {
    const proc = this.#procs[i];
    if (proc === undefined || !this.isUp(i)) return proc?.exit;
    proc.ending = true;
    proc.child.kill(opts.signal ?? 'SIGTERM');
    const graceMs = opts.graceMs ?? 20_000;
    const timer = Number.isFinite(graceMs)
      ? setTimeout(() => proc.child.kill('SIGKILL'), graceMs)
      : undefined;
    const exit = await proc.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Stops every running node (SIGTERM, SIGKILL after `graceMs`; Infinity waits forever). */
  async stop(opts: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
    const graceMs = opts.graceMs ?? 5_000;
    await Promise.all(this.#procs.map((_, i) => this.stopNode(i, { ...opts, graceMs })));
  }

  /**
   * GET /status of node i; undefined when it does not answer (nodes die here). A reused
   * keep-alive connection the node closed just then (its idle timeout racing a client that
   * lags on a loaded machine) is retried; a refused connection is not.
   */
  async status(i: number, timeoutMs = 3_000): Promise<StatusResponse | undefined> {
    for (let tries = 1; ; tries++) {
      try {
        const res = await fetch(`${this.#node(i).rpc}/status`, {
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!res.ok) return undefined;
        return (await res.json()) as StatusResponse;
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (tries >= 3 || (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET')) return undefined;
      }
    }
  }

  /** The last `lines` lines of node i's log, after its last warnings and errors before them. */
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

  #node(i: number): InitSummary['nodes'][number] {
    const node = this.summary.nodes[i];
    if (node === undefined) {
      throw new CivitasError('INIT_BAD_ARGS', `no validator ${i} in a ${this.size}-node network`);
    }
    return node;
  }

  #spawn(i: number): void {
    const home = this.#node(i).home;
    const command = nodeCommand(this.manifest, i, home, CLI_MAIN);
    // Output goes straight to the file: a pipe would make the node wait on this process.
    const fd = openSync(this.logPath(i), 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, command.args, {
        env: { ...process.env, ...command.env },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    guardChild(child);
    const proc: NodeProcess = {
      child,
      exit: undefined,
      ending: false,
      exited: new Promise((resolveExit) => {
        const onEnd = (code: number | null, signal: NodeJS.Signals | null): void => {
          if (proc.exit !== undefined) return;
          proc.exit = { code, signal, expected: proc.ending };
          resolveExit(proc.exit);
          for (const listener of this.#exitListeners) listener(i, proc.exit);
        };
        child.once('exit', onEnd);
        child.once('error', () => onEnd(null, null));
      }),
    };
    this.#procs[i] = proc;
    this.#starts[i]!++;
  }

  async #exitedError(i: number): Promise<CivitasError> {
    const exit = this.#procs[i]?.exit;
    const how = exit?.signal ?? `exit code ${exit?.code}`;
    const tail = await this.logTail(i, 15);
    const last = tail.split('\n').at(-1)?.slice(0, 300) ?? '';
    return new CivitasError(
      'LOCALNET_NODE_EXITED',
      `${this.#node(i).name} exited during start-up (${how}); see ${this.logPath(i)}: ${last}`,
      { node: i, portClash: isPortClash(tail), logTail: tail },
    );
  }
}

/** `<dir>/network.json` if `dir` holds a network. */
export async function readNetworkSummary(dir: string): Promise<InitSummary | undefined> {
  let summary: InitSummary;
  try {
    summary = JSON.parse(await readFile(join(dir, 'network.json'), 'utf8')) as InitSummary;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // Written before chains had organisations: its users would look for keys it never made.
  if (summary.organisations === undefined || summary.regulator === undefined) {
    throw new CivitasError(
      'LOCALNET_MISMATCH',
      `${dir} holds a network made before organisations (no admin or regulator keys)`,
      { dir },
    );
  }
  return summary;
}

/**
 * initNetwork writes the default chain params; the manifest's go into every copy of the
 * genesis (the network's and each home's) before any node reads one.
 */
async function writeGenesisParams(
  summary: InitSummary,
  params: Partial<ChainParams>,
): Promise<void> {
  const paths = [summary.genesis, ...summary.nodes.map((n) => join(n.home, 'genesis.json'))];
  for (const path of paths) {
    const genesis = JSON.parse(await readFile(path, 'utf8')) as { params: ChainParams };
    genesis.params = { ...genesis.params, ...params };
    await writeFile(path, `${JSON.stringify(genesis, null, 2)}\n`);
  }
}

/** Whether all of ports base..base+count-1 can be bound on 127.0.0.1 right now. */
async function portsFree(base: number, count: number): Promise<boolean> {
  for (let port = base; port < base + count; port++) {
    const ok = await new Promise<boolean>((resolveFree) => {
      const server = createServer();
      server.once('error', () => resolveFree(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
    });
    if (!ok) return false;
  }
  return true;
}

async function freeBasePort(count: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = randomBasePort(count);
    if (await portsFree(base, count)) return base;
  }
  throw new CivitasError('LOCALNET_NO_PORTS', `found no ${count} free consecutive ports`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
