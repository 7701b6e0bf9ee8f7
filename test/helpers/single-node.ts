/**
 * A one-validator network as the e2e tests use it: `civitas init` in a temporary directory on
 * a random base port, its node's home edited if the test needs it, `civitas node start` as a
 * child process, waited for until it logs "node started" (its API answers by then), killed
 * when the test (or suite scope) ends, or stopped with SIGTERM by the test.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InitSummary } from '../../src/node/home.ts';
import { httpJson } from './http.ts';
import {
  type Child,
  CLI_MAIN,
  type CliResult,
  randomBasePort,
  runCli,
  startChild,
} from './process.ts';
import { type CleanupScope, tempDir } from './temp.ts';

export type { InitSummary };

export interface InitOptions {
  /** Validators (default 1) and funded accounts (default 2). */
  validators?: number;
  accounts?: number;
  /** Added to the environment of `civitas init` (and, in startSingleNode, of the node). */
  env?: Record<string, string>;
  /** Where to init; by default a new temporary directory of `scope`. */
  dir?: string;
}

export interface InitNet {
  dir: string;
  base: number;
  summary: InitSummary;
  /** The first node's home and API URL (http://127.0.0.1:<base+1>). */
  home: string;
  rpc: string;
  /** What `civitas init --json` printed. */
  init: CliResult;
}

/** `civitas init --json` on a random base port; fails the test if it does not exit 0. */
export async function initNet(scope: CleanupScope, opts: InitOptions = {}): Promise<InitNet> {
  const dir = opts.dir ?? (await tempDir(scope));
  const base = randomBasePort();
  const init = await runCli(
    [
      'init',
      '--validators',
      String(opts.validators ?? 1),
      '--accounts',
      String(opts.accounts ?? 2),
      '--dir',
      dir,
      '--base-port',
      String(base),
      '--json',
    ],
    { env: opts.env },
  );
  assert.equal(init.code, 0, init.stderr);
  const summary = JSON.parse(init.stdout) as InitSummary;
  return { dir, base, summary, home: summary.nodes[0]!.home, rpc: summary.nodes[0]!.rpc, init };
}

/** Reads a JSON file, lets `edit` change it, writes it back. */
export async function editJson<T>(file: string, edit: (json: T) => void): Promise<void> {
  const json = JSON.parse(await readFile(file, 'utf8')) as T;
  edit(json);
  await writeFile(file, JSON.stringify(json, null, 2));
}

/** A node home's config.json, as far as the tests edit it. */
export type NodeConfig = Record<string, unknown> & {
  consensus: Record<string, unknown>;
  state: Record<string, unknown>;
};

export function editConfig(home: string, edit: (config: NodeConfig) => void): Promise<void> {
  return editJson(join(home, 'config.json'), edit);
}

export interface StartOptions {
  /** Added to the node's environment. */
  env?: Record<string, string>;
  /** Sets CIVITAS_ENABLE_FAULT_INJECTION, so /admin/faults answers. */
  faultInjection?: boolean;
  /** How long the node may take to start (default 30 s). */
  timeoutMs?: number;
}

/** `civitas node start --home <home>`, killed when `scope` ends; resolves once it started. */
export async function startNode(
  scope: CleanupScope,
  home: string,
  opts: StartOptions = {},
): Promise<Child> {
  const env = {
    ...opts.env,
    ...(opts.faultInjection ? { CIVITAS_ENABLE_FAULT_INJECTION: '1' } : {}),
  };
  const child = startChild(scope, CLI_MAIN, ['node', 'start', '--home', home], {
    env,
    timeoutMs: opts.timeoutMs ?? 30_000,
  });
  try {
    await child.waitFor(
      (_out, err) => err.includes('"node started"'),
      `the node at ${home} to start`,
    );
  } catch (err) {
    await child.kill();
    throw err;
  }
  return child;
}

/** SIGTERM, and the node exits 0. */
export async function stopNode(child: Child): Promise<void> {
  child.process.kill('SIGTERM');
  const end = await child.exited;
  assert.deepEqual(end, { code: 0, signal: null }, `clean stop; stderr:\n${child.stderr()}`);
}

/**
 * `civitas init` and its first node started, with `configure` run on each new network before
 * the start; a port another process took meanwhile means a new network on other ports.
 */
export async function startSingleNode(
  scope: CleanupScope,
  opts: Omit<InitOptions, 'dir'> &
    StartOptions & {
      configure?: (net: InitNet) => Promise<void> | void;
      /** The temporary directory's prefix. */
      prefix?: string;
    } = {},
): Promise<InitNet & { node: Child }> {
  const parent = await tempDir(scope, opts.prefix);
  for (let attempt = 0; ; attempt++) {
    const net = await initNet(scope, { ...opts, dir: join(parent, `net${attempt}`) });
    await opts.configure?.(net);
    try {
      return { ...net, node: await startNode(scope, net.home, opts) };
    } catch (err) {
      if (attempt < 4 && /RPC_LISTEN_FAILED|P2P_LISTEN_FAILED|EADDRINUSE/.test(String(err))) {
        continue;
      }
      throw err;
    }
  }
}

/**
 * `civitas tx transfer --wait` of `amount` from the key file `from` to `to`; fails the test
 * unless it exits 0. Returns the committed tx's hash and height.
 */
export async function transfer(
  rpc: string,
  from: string,
  to: string,
  amount: string,
  opts: { timeoutMs?: number } = {},
): Promise<{ hash: string; height: number }> {
  const tx = await runCli(
    ['tx', 'transfer', '--to', to, '--amount', amount, '--key', from, '--wait', '--rpc', rpc],
    opts,
  );
  assert.equal(tx.code, 0, tx.stderr);
  const [, hash, height] = /^committed ([0-9a-f]{64}) at height (\d+)/m.exec(tx.stdout) ?? [];
  assert.ok(hash, tx.stdout);
  return { hash, height: Number(height) };
}

/**
 * `civitas tx call gov.propose --wait` with `adminKey`: a proposal that sets `params`,
 * expiring 1,000 heights after the tip; fails the test unless it exits 0. Returns what the
 * CLI printed.
 */
export async function proposeParams(
  rpc: string,
  adminKey: string,
  params: Record<string, unknown>,
): Promise<CliResult> {
  const { height } = (await httpJson<{ height: number }>(`${rpc}/status`)).body;
  const proposed = await runCli([
    'tx',
    'call',
    'gov.propose',
    '--args',
    JSON.stringify({
      actions: [{ call: 'params.set', args: params }],
      expiresAtHeight: height + 1_000,
    }),
    '--key',
    adminKey,
    '--wait',
    '--rpc',
    rpc,
  ]);
  assert.equal(proposed.code, 0, proposed.stderr);
  return proposed;
}
