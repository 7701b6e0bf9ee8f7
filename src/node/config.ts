/**
 * Node configuration: one JSON file per node home (`<home>/config.json`). Every field has a
 * sane default; relative paths are relative to the home. README "Configuration" documents
 * each field; keep the two in step.
 */

import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { Limits } from '../chain/index.ts';
import { CivitasError } from '../errors/index.ts';
import { parseJsonText } from '../errors/json-text.ts';
import { DEFAULT_KEEP_VERSIONS, pruningOptionsProblem } from '../state/pruner.ts';
import {
  DEFAULT_SNAPSHOT_INTERVAL,
  DEFAULT_SNAPSHOTS_KEPT,
  snapshotOptionsProblem,
} from '../state/snapshot-store.ts';
import type { LogFormat, LogLevel } from './logger.ts';
import { DEFAULT_MEMORY_BUDGET_MIB, MIN_MEMORY_BUDGET_MIB } from './memory-budget.ts';
import { DEFAULT_MEMPOOL, type MempoolOptions } from './mempool.ts';

export interface NodeConfig {
  /** Human name of this node, shown in logs and /status. */
  moniker: string;
  /** Genesis file (same content on every member). */
  genesisFile: string;
  /** This node's validator key file (mode 0600). */
  keyFile: string;
  /** LevelDB directory. */
  dataDir: string;
  rpc: {
    /** host:port of the HTTP API; keep it on 127.0.0.1 unless fronted by a proxy. */
    listen: string;
    /** Largest accepted request body in bytes. */
    maxBodyBytes: number;
  };
  p2p: {
    /** libp2p listen multiaddrs. */
    listen: string[];
    /** Multiaddrs (with /p2p/<peerId>) of other members to dial. */
    bootstrap: string[];
    /** Optional pre-shared key file (libp2p pnet format) for network isolation. */
    pskFile: string | null;
  };
  consensus: {
    /** Base view timeout; doubles per failed view. */
    timeoutMs: number;
    /**
     * Minimum time from a commit to the next proposal while the block would be partial, to
     * batch txs; a primary with a full block (maxBlockTxs) waiting proposes at once.
     */
    blockIntervalMs: number;
    /**
     * Propose an empty block after this long without txs (0 = never: blocks only when there
     * are txs). With several validators the others' view timers allow for the wait (an idle
     * view does not time out), so it must be the same on every validator.
     */
    emptyBlockIntervalMs: number;
    /**
     * Send this node's block-carrying consensus messages in compact form (txs named by hash,
     * docs/CONSENSUS.md "Compact proposals"); false sends full blocks. Receiving accepts both.
     */
    compactProposals: boolean;
  };
  mempool: MempoolOptions;
  verify: {
    /** Signature worker threads; null: one per core but one (at least one); 0: on the event loop. */
    workers: number | null;
  };
  /** What the node keeps (src/state/pruner.ts; docs/OPERATIONS.md, "Pruning"). */
  state: {
    /** State versions (heights) kept for proofs; null: every version (an archive node). */
    keepVersions: number | null;
    /** Heights whose blocks, certificates and receipts are kept; null: all (not pruned). */
    retainBlocks: number | null;
    /** A state snapshot every this many heights (docs/STATE-SYNC.md); 0: none. */
    snapshotInterval: number;
    /** Snapshots kept (the newest). */
    snapshotsKept: number;
    /** With a database holding no block, join from peers' newest snapshot (state-sync-start.ts). */
    sync: boolean;
  };
  /** src/node/memory-budget.ts; docs/OPERATIONS.md, "Memory". */
  memory: {
    /** What the node's resident memory should stay near, MiB; sizes its heap and caches. */
    budgetMiB: number;
  };
  log: { level: LogLevel; format: LogFormat };
}

export const DEFAULT_CONFIG: NodeConfig = {
  moniker: 'civitas-node',
  genesisFile: 'genesis.json',
  keyFile: 'validator-key.json',
  dataDir: 'data',
  rpc: { listen: '127.0.0.1:26657', maxBodyBytes: 1024 * 1024 },
  p2p: { listen: ['/ip4/127.0.0.1/tcp/26656'], bootstrap: [], pskFile: null },
  consensus: {
    timeoutMs: 2_000,
    blockIntervalMs: 50,
    emptyBlockIntervalMs: 10_000,
    compactProposals: true,
  },
  mempool: { ...DEFAULT_MEMPOOL },
  verify: { workers: null },
  state: {
    keepVersions: DEFAULT_KEEP_VERSIONS,
    retainBlocks: null,
    snapshotInterval: DEFAULT_SNAPSHOT_INTERVAL,
    snapshotsKept: DEFAULT_SNAPSHOTS_KEPT,
    sync: false,
  },
  memory: { budgetMiB: DEFAULT_MEMORY_BUDGET_MIB },
  log: { level: 'info', format: 'json' },
};

function bad(path: string, message: string): never {
  throw new CivitasError('CONFIG_INVALID', `${path}: ${message}`, { path });
}

function mergeSection<T extends object>(
  defaults: T,
  given: unknown,
  path: string,
  section: string,
): T {
  if (given === undefined) return { ...defaults };
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    bad(path, `"${section}" must be an object`);
  }
  for (const key of Object.keys(given)) {
    if (!(key in defaults)) bad(path, `unknown field "${section}.${key}"`);
  }
  return { ...defaults, ...(given as Partial<T>) };
}

/** Parses and checks a config object; unknown fields are errors, so typos do not pass silently. */
export function parseConfig(json: unknown, path = 'config.json'): NodeConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    bad(path, 'expected a JSON object');
  const j = json as Record<string, unknown>;
  for (const key of Object.keys(j))
    if (!(key in DEFAULT_CONFIG)) bad(path, `unknown field "${key}"`);
  const config: NodeConfig = {
    moniker: (j.moniker as string) ?? DEFAULT_CONFIG.moniker,
    genesisFile: (j.genesisFile as string) ?? DEFAULT_CONFIG.genesisFile,
    keyFile: (j.keyFile as string) ?? DEFAULT_CONFIG.keyFile,
    dataDir: (j.dataDir as string) ?? DEFAULT_CONFIG.dataDir,
    rpc: mergeSection(DEFAULT_CONFIG.rpc, j.rpc, path, 'rpc'),
    p2p: mergeSection(DEFAULT_CONFIG.p2p, j.p2p, path, 'p2p'),
    consensus: mergeSection(DEFAULT_CONFIG.consensus, j.consensus, path, 'consensus'),
    mempool: mergeSection(DEFAULT_CONFIG.mempool, j.mempool, path, 'mempool'),
    verify: mergeSection(DEFAULT_CONFIG.verify, j.verify, path, 'verify'),
    state: mergeSection(DEFAULT_CONFIG.state, j.state, path, 'state'),
    memory: mergeSection(DEFAULT_CONFIG.memory, j.memory, path, 'memory'),
    log: mergeSection(DEFAULT_CONFIG.log, j.log, path, 'log'),
  };
  for (const f of ['moniker', 'genesisFile', 'keyFile', 'dataDir'] as const) {
    if (typeof config[f] !== 'string' || config[f].length === 0)
      bad(path, `"${f}" must be a non-empty string`);
  }
  if (!/^[^:]+:\d{1,5}$/.test(config.rpc.listen)) bad(path, '"rpc.listen" must be host:port');
  const positive: Array<[string, unknown]> = [
    ['rpc.maxBodyBytes', config.rpc.maxBodyBytes],
    ['consensus.timeoutMs', config.consensus.timeoutMs],
    ['mempool.maxTxs', config.mempool.maxTxs],
    ['mempool.maxTxsPerSender', config.mempool.maxTxsPerSender],
    ['mempool.maxNonceGap', config.mempool.maxNonceGap],
    ['mempool.maxQueuedTxs', config.mempool.maxQueuedTxs],
    ['mempool.maxQueuedPerSender', config.mempool.maxQueuedPerSender],
    ['mempool.queuedLifetimeMs', config.mempool.queuedLifetimeMs],
  ];
  for (const [name, v] of positive) {
    if (!Number.isSafeInteger(v) || (v as number) <= 0)
      bad(path, `"${name}" must be a positive integer`);
  }
  for (const [name, v] of [
    ['consensus.blockIntervalMs', config.consensus.blockIntervalMs],
    ['consensus.emptyBlockIntervalMs', config.consensus.emptyBlockIntervalMs],
    ['mempool.backlogBlocks', config.mempool.backlogBlocks],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) bad(path, `"${name}" must be a non-negative integer`);
  }
  if (typeof config.consensus.compactProposals !== 'boolean') {
    bad(path, '"consensus.compactProposals" must be true or false');
  }
  const workers = config.verify.workers;
  if (workers !== null && (!Number.isSafeInteger(workers) || workers < 0 || workers > 64)) {
    bad(path, '"verify.workers" must be null (one per core) or an integer from 0 to 64');
  }
  const budget = config.memory.budgetMiB;
  if (!Number.isSafeInteger(budget) || budget < MIN_MEMORY_BUDGET_MIB || budget > 1_048_576) {
    bad(path, `"memory.budgetMiB" must be an integer from ${MIN_MEMORY_BUDGET_MIB} to 1048576`);
  }
  const pruning = pruningOptionsProblem(config.state, Limits.recentBlocks);
  if (pruning !== undefined) bad(path, pruning);
  const snapshots = snapshotOptionsProblem({
    interval: config.state.snapshotInterval,
    kept: config.state.snapshotsKept,
  });
  if (snapshots !== undefined) bad(path, snapshots);
  if (typeof config.state.sync !== 'boolean') bad(path, '"state.sync" must be true or false');
  if (!Array.isArray(config.p2p.listen) || !config.p2p.listen.every((a) => typeof a === 'string')) {
    bad(path, '"p2p.listen" must be a list of multiaddrs');
  }
  if (
    !Array.isArray(config.p2p.bootstrap) ||
    !config.p2p.bootstrap.every((a) => typeof a === 'string')
  ) {
    bad(path, '"p2p.bootstrap" must be a list of multiaddrs');
  }
  const psk = config.p2p.pskFile;
  if (psk !== null && (typeof psk !== 'string' || psk.length === 0))
    bad(path, '"p2p.pskFile" must be null or a file path');
  if (!['debug', 'info', 'warn', 'error'].includes(config.log.level))
    bad(path, '"log.level" must be debug|info|warn|error');
  if (!['json', 'pretty'].includes(config.log.format))
    bad(path, '"log.format" must be json|pretty');
  return config;
}

export async function loadConfig(home: string): Promise<NodeConfig> {
  const path = join(home, 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CivitasError('CONFIG_NOT_FOUND', `no config at ${path} (run "civitas init" first)`, {
      path,
    });
  }
  return parseConfig(parseJsonText(text, path, 'CONFIG_INVALID'), path);
}

/** A pnet pre-shared key file: 32 bytes as 64 hex characters (optionally in libp2p's swarm.key format). */
export async function loadPsk(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CivitasError('CONFIG_PSK_NOT_FOUND', `cannot read p2p.pskFile ${path}`);
  }
  const hex = text.trim().split(/\s+/).pop() ?? '';
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new CivitasError('CONFIG_PSK_INVALID', `${path}: expected 32 bytes as 64 hex characters`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function resolveHomePath(home: string, p: string): string {
  return isAbsolute(p) ? p : join(home, p);
}
