/**
 * Network initialisation: one genesis for N validators, one self-contained home per node
 * (config, validator key, a copy of the genesis), and K funded account key files. Ports are
 * assigned from a base so homes on one machine never collide: node i listens for p2p on
 * base + 2i and serves its API on base + 2i + 1.
 *
 * Everything is written into a staging directory that is renamed into place at the end, so
 * a failed init leaves nothing half-written behind.
 */
import { copyFile, mkdir, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { addressOf } from '../chain/address.ts';
import { checkChainId, DEFAULT_PARAMS, type Genesis, genesisToJson } from '../chain/genesis.ts';
import { toHex } from '../crypto/bytes.ts';
import { generateKeyPair } from '../crypto/ed25519.ts';
import { saveKeyFile } from '../crypto/keyfile.ts';
import { CivitasError } from '../errors/index.ts';
import { peerIdFromValidatorKey } from '../p2p/identity.ts';
import { DEFAULT_CONFIG, type NodeConfig } from './config.ts';

export interface InitOptions {
  dir: string;
  validators: number;
  accounts: number;
  chainId?: string;
  basePort?: number;
  host?: string;
  /** Balance of each funded account. */
  balance?: bigint;
  /** Extra config applied to every node (e.g. faster timeouts for tests). */
  configOverrides?: Partial<Pick<NodeConfig, 'consensus' | 'log' | 'mempool'>>;
}

export interface InitNodeSummary {
  name: string;
  home: string;
  publicKey: string;
  rpc: string;
  p2p: string;
}

export interface InitSummary {
  chainId: string;
  dir: string;
  genesis: string;
  nodes: InitNodeSummary[];
  accounts: Array<{ file: string; address: string; balance: string }>;
}

export const DEFAULT_BASE_PORT = 26600;
export const DEFAULT_ACCOUNT_BALANCE = 1_000_000_000n;

export async function initNetwork(opts: InitOptions): Promise<InitSummary> {
  const { validators: n, accounts: k } = opts;
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw new CivitasError('INIT_BAD_ARGS', '--validators must be an integer from 1 to 100');
  }
  if (!Number.isInteger(k) || k < 0 || k > 100_000) {
    throw new CivitasError('INIT_BAD_ARGS', '--accounts must be an integer from 0 to 100000');
  }
  const basePort = opts.basePort ?? DEFAULT_BASE_PORT;
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 2 * n > 65_535) {
    throw new CivitasError(
      'INIT_BAD_ARGS',
      '--base-port leaves no room for the nodes (1024..65535)',
    );
  }
  // The same rule a node applies to the genesis at start, checked before anything is written.
  checkChainId(opts.chainId ?? 'civitas-devnet');
  const dir = resolve(opts.dir);
  const existing = await readdir(dir).catch(() => undefined);
  if (existing !== undefined && existing.length > 0) {
    throw new CivitasError(
      'INIT_DIR_NOT_EMPTY',
      `${dir} is not empty; choose another --dir or remove it`,
    );
  }
  const stage = `${dir}.init-${process.pid}`;
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  try {
    const summary = await writeNetwork(opts, dir, stage);
    if (existing !== undefined) await rmdir(dir);
    await rename(stage, dir);
    return summary;
  } catch (err) {
    await rm(stage, { recursive: true, force: true });
    throw err;
  }
}

/** Writes the network into `stage`; paths in configs are relative, summaries name `dir`. */
async function writeNetwork(opts: InitOptions, dir: string, stage: string): Promise<InitSummary> {
  const { validators: n, accounts: k } = opts;
  const basePort = opts.basePort ?? DEFAULT_BASE_PORT;
  const host = opts.host ?? '127.0.0.1';
  const chainId = opts.chainId ?? 'civitas-devnet';
  const balance = opts.balance ?? DEFAULT_ACCOUNT_BALANCE;

  const validatorKeys = Array.from({ length: n }, () => generateKeyPair());
  const accountKeys = Array.from({ length: k }, () => generateKeyPair());
  const genesis: Genesis = {
    chainId,
    genesisTime: Date.now(),
    validators: validatorKeys.map((kp, i) => ({ name: `node${i}`, publicKey: kp.publicKey })),
    accounts: accountKeys.map((kp) => ({ address: addressOf(kp.publicKey), balance })),
    params: DEFAULT_PARAMS,
  };
  const genesisPath = join(dir, 'genesis.json');
  await writeFile(
    join(stage, 'genesis.json'),
    `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`,
  );

  const p2pAddr = (i: number): string =>
    `/ip4/${host}/tcp/${basePort + 2 * i}/p2p/${peerIdFromValidatorKey(validatorKeys[i]!.publicKey)}`;
  const nodes: InitNodeSummary[] = [];
  for (let i = 0; i < n; i++) {
    const name = `node${i}`;
    const home = join(dir, name);
    const stagedHome = join(stage, name);
    await mkdir(stagedHome, { recursive: true });
    await saveKeyFile(join(stagedHome, 'validator-key.json'), validatorKeys[i]!);
    await copyFile(join(stage, 'genesis.json'), join(stagedHome, 'genesis.json'));
    const config: NodeConfig = {
      ...DEFAULT_CONFIG,
      moniker: name,
      rpc: { ...DEFAULT_CONFIG.rpc, listen: `${host}:${basePort + 2 * i + 1}` },
      p2p: {
        ...DEFAULT_CONFIG.p2p,
        listen: [`/ip4/${host}/tcp/${basePort + 2 * i}`],
        bootstrap: validatorKeys
          .map((_, j) => j)
          .filter((j) => j !== i)
          .map(p2pAddr),
      },
      consensus: { ...DEFAULT_CONFIG.consensus, ...opts.configOverrides?.consensus },
      mempool: { ...DEFAULT_CONFIG.mempool, ...opts.configOverrides?.mempool },
      log: { ...DEFAULT_CONFIG.log, ...opts.configOverrides?.log },
    };
    await writeFile(join(stagedHome, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    nodes.push({
      name,
      home,
      publicKey: toHex(validatorKeys[i]!.publicKey),
      rpc: `http://${host}:${basePort + 2 * i + 1}`,
      p2p: p2pAddr(i),
    });
  }

  const accounts: InitSummary['accounts'] = [];
  if (k > 0) await mkdir(join(stage, 'accounts'), { recursive: true });
  for (let i = 0; i < k; i++) {
    const file = join(dir, 'accounts', `account${i}.json`);
    await saveKeyFile(join(stage, 'accounts', `account${i}.json`), accountKeys[i]!);
    accounts.push({
      file,
      address: toHex(addressOf(accountKeys[i]!.publicKey)),
      balance: balance.toString(),
    });
  }
  const summary: InitSummary = { chainId, dir, genesis: genesisPath, nodes, accounts };
  await writeFile(join(stage, 'network.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
