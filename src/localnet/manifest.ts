/**
 * The manifest of a local network: everything that decides how the network directory is made
 * and how each validator process is started, as plain data. `resolveManifest` fills in the
 * defaults and rejects what cannot work before anything touches the disk; the functions below
 * it turn a resolved manifest into `initNetwork` options and per-node command lines, so the
 * launcher holds no policy of its own and all of it can be tested without processes.
 */

import { join } from 'node:path';
import type { ChainParams } from '../chain/genesis.ts';
import { CivitasError } from '../errors/index.ts';
import { DEFAULT_CONFIG, type NodeConfig } from '../node/config.ts';
import { FAULT_INJECTION_ENV } from '../node/fault-injection.ts';
import type { InitOptions, InitSummary } from '../node/home.ts';
import type { LogLevel } from '../node/logger.ts';
import { DEFAULT_MEMORY_BUDGET_MIB, heapFlags, NODE_ENV } from '../node/memory-budget.ts';
import type { MempoolOptions } from '../node/mempool.ts';

/**
 * What to do with `dir`:
 *  - `fresh`: initialise it; it must be empty or absent (benchmarks, tests);
 *  - `reuse`: keep the network already there (its chain, keys and configs as they are) if it
 *    has the same validators, or initialise it when there is none (the devnet);
 *  - `reset`: delete it, then initialise it.
 */
export type InitMode = 'fresh' | 'reuse' | 'reset';

/** Extras for one validator's process. */
export interface NodeExtras {
  /** Run it under V8's CPU profiler; the profile is written to `<home>/profile/` on exit. */
  readonly cpuProfile?: boolean;
  /** More environment for this node only. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface LocalNetworkManifest {
  /** The network directory: network.json, genesis.json, accounts/, one home per validator. */
  readonly dir: string;
  readonly validators: number;
  /** Funded accounts (key files in `<dir>/accounts`). */
  readonly accounts?: number;
  readonly init?: InitMode;
  /** initNetwork's default (civitas-devnet) when absent. */
  readonly chainId?: string;
  /**
   * Only members of organisations may transact (initNetwork's default, true, when absent);
   * `false` makes an open chain. The funded accounts are members either way.
   */
  readonly permissioned?: boolean;
  /**
   * Node i listens for p2p on base + 2i and serves its API on base + 2i + 1. `random` (the
   * default) picks a free range below Linux's ephemeral ports and, should another process
   * take one of them before the nodes bind it, starts over on another (`LocalNetwork.launch`).
   */
  readonly basePort?: number | 'random';
  /** Written into every config.json at init. */
  readonly consensus?: Partial<NodeConfig['consensus']>;
  readonly mempool?: Partial<MempoolOptions>;
  /** Chain parameters written into the genesis at init (e.g. maxBlockTxs). */
  readonly genesis?: Partial<ChainParams>;
  /** Node log level (the config's default, info, when absent); logs go to `<home>/node.log`. */
  readonly logLevel?: LogLevel;
  /** Start the nodes with the admin fault-injection API enabled (the cluster benchmark). */
  readonly faultInjection?: boolean;
  /** Environment added to every node's (on top of this process's). */
  readonly env?: Readonly<Record<string, string>>;
  /** Per-validator extras, by index. */
  readonly nodes?: Readonly<Record<number, NodeExtras>>;
}

export interface ResolvedManifest extends LocalNetworkManifest {
  readonly accounts: number;
  readonly init: InitMode;
  readonly basePort: number | 'random';
}

/** Most validators initNetwork accepts. */
const MAX_VALIDATORS = 100;

/** Defaults filled in, impossible combinations refused (one clear line each). */
export function resolveManifest(manifest: LocalNetworkManifest): ResolvedManifest {
  const { validators } = manifest;
  const accounts = manifest.accounts ?? 0;
  const basePort = manifest.basePort ?? 'random';
  const bad = (message: string): never => {
    throw new CivitasError('INIT_BAD_ARGS', `local network ${manifest.dir}: ${message}`);
  };
  if (!Number.isInteger(validators) || validators < 1 || validators > MAX_VALIDATORS)
    bad(`validators must be an integer from 1 to ${MAX_VALIDATORS}`);
  if (!Number.isInteger(accounts) || accounts < 0) bad('accounts must be a non-negative integer');
  if (basePort !== 'random' && (!Number.isInteger(basePort) || basePort < 1024))
    bad('basePort must be an integer from 1024, or "random"');
  for (const key of Object.keys(manifest.nodes ?? {})) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= validators)
      bad(`nodes[${key}] names no validator (0..${validators - 1})`);
  }
  for (const [name, value] of Object.entries(manifest.genesis ?? {})) {
    if (!Number.isSafeInteger(value) || value <= 0)
      bad(`genesis.${name} must be a positive integer`);
  }
  return { ...manifest, accounts, init: manifest.init ?? 'fresh', basePort };
}

/** initNetwork's options for this manifest on ports from `basePort`. */
export function initOptionsFor(manifest: ResolvedManifest, basePort: number): InitOptions {
  return {
    dir: manifest.dir,
    validators: manifest.validators,
    accounts: manifest.accounts,
    basePort,
    ...(manifest.chainId !== undefined ? { chainId: manifest.chainId } : {}),
    ...(manifest.permissioned !== undefined ? { permissioned: manifest.permissioned } : {}),
    configOverrides: {
      consensus: { ...DEFAULT_CONFIG.consensus, ...manifest.consensus },
      mempool: { ...DEFAULT_CONFIG.mempool, ...manifest.mempool },
      log: { ...DEFAULT_CONFIG.log, ...(manifest.logLevel ? { level: manifest.logLevel } : {}) },
    },
  };
}

/**
 * Why a network found in `dir` cannot serve this manifest, or undefined when it can. Only
 * what the caller asked for is compared: a reused network keeps its own configs.
 */
export function reuseMismatch(
  manifest: ResolvedManifest,
  summary: Pick<InitSummary, 'chainId' | 'nodes'> & Partial<Pick<InitSummary, 'permissioned'>>,
): string | undefined {
  if (summary.nodes.length !== manifest.validators) {
    return `${manifest.dir} holds a ${summary.nodes.length}-validator network, not ${manifest.validators}`;
  }
  if (manifest.chainId !== undefined && summary.chainId !== manifest.chainId) {
    return `${manifest.dir} holds chain ${summary.chainId}, not ${manifest.chainId}`;
  }
  if (
    manifest.permissioned !== undefined &&
    summary.permissioned !== undefined &&
    summary.permissioned !== manifest.permissioned
  ) {
    return `${manifest.dir} holds ${summary.permissioned ? 'a permissioned' : 'an open'} chain`;
  }
  return undefined;
}

export interface NodeCommand {
  /**
   * Arguments for the Node binary: V8 flags (the heap sized to the default memory budget, the
   * profiler), the CLI script, `node start --home <home>`.
   */
  readonly args: readonly string[];
  /** Environment added to this process's. */
  readonly env: Readonly<Record<string, string>>;
}

/** How validator `index` (home `home`) is started; `cliMain` is the CLI's entry script. */
export function nodeCommand(
  manifest: ResolvedManifest,
  index: number,
  home: string,
  cliMain: string,
): NodeCommand {
  const extras = manifest.nodes?.[index];
  const profile = extras?.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', join(home, 'profile')] : [];
  return {
    args: [
      ...heapFlags(DEFAULT_MEMORY_BUDGET_MIB),
      ...profile,
      cliMain,
      'node',
      'start',
      '--home',
      home,
    ],
    env: {
      ...NODE_ENV,
      ...(manifest.faultInjection ? { [FAULT_INJECTION_ENV]: '1' } : {}),
      ...manifest.env,
      ...extras?.env,
    },
  };
}

/** Whether a node's log says it died because a port was taken (another process got there). */
export function isPortClash(log: string): boolean {
  return /EADDRINUSE|RPC_LISTEN_FAILED/.test(log);
}

/**
 * An even base port for `count` ports, below Linux's ephemeral range (32768+) so that
 * outgoing connections rarely take them. `random` is injectable for tests.
 */
export function randomBasePort(count: number, random: () => number = Math.random): number {
  const low = 20_000;
  const slots = Math.floor((32_768 - low - count) / 2);
  return low + 2 * Math.floor(random() * slots);
}
