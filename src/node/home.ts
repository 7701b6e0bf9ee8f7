/**
 * Network initialisation: one genesis for N validators, one self-contained home per node
 * (config, validator key, a copy of the genesis), and K funded account key files. Ports are
 * assigned from a base so homes on one machine never collide: node i listens for p2p on
 * base + 2i and serves its API on base + 2i + 1.
 *
 * The chain is a consortium: one organisation per validator (`org<i>`, in the governance
 * committee) with a funded admin key (roles admin, member and issuer), a regulator
 * organisation outside the committee with one funded regulator key, and each funded account
 * a member of organisation i mod N. It is
 * permissioned unless asked otherwise: only members may transact.
 *
 * Everything is written into a staging directory that is renamed into place at the end, so
 * a failed init leaves nothing half-written behind.
 */
import { copyFile, mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { addressOf } from '../chain/address.ts';
import { type ConsensusProtocol, checkChainId, genesisToJson } from '../chain/genesis.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';
import { generateKeyPair, type KeyPair } from '../crypto/ed25519.ts';
import {
  type KeyFileProtection,
  keyFileSealer,
  readKeyFileContent,
  saveKeyFile,
  writeKeyFileText,
} from '../crypto/keyfile.ts';
import { CivitasError, isCivitasError } from '../errors/index.ts';
import { peerIdFromValidatorKey, validatorKeyFromPeerId } from '../p2p/identity.ts';
import { DEFAULT_CONFIG, type NodeConfig } from './config.ts';
import { checkGenesisState, consortiumGenesis, memberMultiaddr } from './consortium.ts';
import { loadGenesisFile } from './genesis-file.ts';

export interface InitOptions {
  dir: string;
  validators: number;
  accounts: number;
  chainId?: string;
  basePort?: number;
  host?: string;
  /** Balance of each funded account (admins and the regulator included). */
  balance?: bigint;
  /** Only members of organisations may transact (`app.params.permissioned`); default true. */
  permissioned?: boolean;
  /**
   * The consensus protocol the genesis names (`consensus.protocol`). Default PBFT, which the
   * genesis leaves unsaid (so it is written as before this option).
   */
  protocol?: ConsensusProtocol;
  /**
   * How the key files are written: encrypted under `passphrase` (one scrypt run for all of
   * them), or plaintext. The default is plaintext marked as such (`"encryption": "none"`):
   * the devnet's and the tests' throwaway local keys. `civitas init` always says which.
   */
  keyFiles?: KeyFileProtection;
  /** Extra config applied to every node (e.g. faster timeouts for tests). */
  configOverrides?: {
    consensus?: Partial<NodeConfig['consensus']>;
    log?: Partial<NodeConfig['log']>;
    mempool?: Partial<NodeConfig['mempool']>;
  };
}

export interface InitNodeSummary {
  name: string;
  home: string;
  publicKey: string;
  rpc: string;
  p2p: string;
}

/** A funded key file and its account. */
export interface InitKeySummary {
  file: string;
  address: string;
  balance: string;
}

/** A validator's organisation: in the governance committee, administered by `admin`. */
export interface InitOrganisationSummary {
  id: string;
  name: string;
  committee: boolean;
  /** The validator (node name) the organisation runs. */
  validator: string;
  admin: InitKeySummary;
}

/** The regulator organisation (outside the committee) and its regulator's key. */
export interface InitRegulatorSummary extends InitKeySummary {
  org: string;
  name: string;
}

export interface InitSummary {
  chainId: string;
  dir: string;
  genesis: string;
  /** Whether only members of organisations may transact. */
  permissioned: boolean;
  /** The consensus protocol of the genesis. */
  protocol: ConsensusProtocol;
  /** Whether the key files' secrets are encrypted under a passphrase. */
  encryptedKeys: boolean;
  nodes: InitNodeSummary[];
  organisations: InitOrganisationSummary[];
  regulator: InitRegulatorSummary;
  /** Funded accounts; account i is a member (role member) of organisation i mod N. */
  accounts: Array<InitKeySummary & { org: string }>;
}

export const REGULATOR_ORG = 'regulator';
const REGULATOR_NAME = 'Regulator';

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
  return writeStaged(opts.dir, '--dir', (stage, dir) => writeNetwork(opts, dir, stage));
}

/**
 * Runs `write` on a fresh staging directory beside `target` and renames it into place, so a
 * failure leaves nothing half-written. Refuses a target that exists and is not an empty
 * directory (`option` names the flag in the error).
 */
export async function writeStaged<T>(
  target: string,
  option: string,
  write: (stage: string, dir: string) => Promise<T>,
): Promise<T> {
  const dir = resolve(target);
  const found = await stat(dir).catch(() => undefined);
  const existing = found?.isDirectory() ? await readdir(dir) : undefined;
  if (found !== undefined && (existing === undefined || existing.length > 0)) {
    throw new CivitasError(
      'INIT_DIR_NOT_EMPTY',
      `${dir} ${existing === undefined ? 'is not a directory' : 'is not empty'}; choose another ${option} or remove it`,
      { dir },
    );
  }
  const stage = `${dir}.init-${process.pid}`;
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  try {
    const result = await write(stage, dir);
    if (existing !== undefined) await rmdir(dir);
    await rename(stage, dir);
    return result;
  } catch (err) {
    await rm(stage, { recursive: true, force: true });
    throw err;
  }
}

/** A home's config: the defaults with its listen addresses, bootstrap peers and overrides. */
export function homeConfig(opts: {
  moniker: string;
  rpcListen: string;
  p2pListen: string[];
  bootstrap: string[];
  overrides?: InitOptions['configOverrides'];
}): NodeConfig {
  const { overrides } = opts;
  return {
    ...DEFAULT_CONFIG,
    moniker: opts.moniker,
    rpc: { ...DEFAULT_CONFIG.rpc, listen: opts.rpcListen },
    p2p: { ...DEFAULT_CONFIG.p2p, listen: opts.p2pListen, bootstrap: opts.bootstrap },
    consensus: { ...DEFAULT_CONFIG.consensus, ...overrides?.consensus },
    mempool: { ...DEFAULT_CONFIG.mempool, ...overrides?.mempool },
    log: { ...DEFAULT_CONFIG.log, ...overrides?.log },
  };
}

/** A protection with a passphrase becomes one with a sealer: scrypt runs once, not per file. */
async function sealOnce(protection: KeyFileProtection): Promise<KeyFileProtection> {
  if (protection.passphrase === undefined || protection.sealer !== undefined) return protection;
  return { sealer: await keyFileSealer(protection.passphrase) };
}

/** Writes the network into `stage`; paths in configs are relative, summaries name `dir`. */
async function writeNetwork(opts: InitOptions, dir: string, stage: string): Promise<InitSummary> {
  const { validators: n, accounts: k } = opts;
  const basePort = opts.basePort ?? DEFAULT_BASE_PORT;
  const host = opts.host ?? '127.0.0.1';
  const chainId = opts.chainId ?? 'civitas-devnet';
  const balance = opts.balance ?? DEFAULT_ACCOUNT_BALANCE;
  const permissioned = opts.permissioned ?? true;
  const keyFiles = await sealOnce(opts.keyFiles ?? { declaredPlaintext: true });

  const validatorKeys = Array.from({ length: n }, () => generateKeyPair());
  const accountKeys = Array.from({ length: k }, () => generateKeyPair());
  const adminKeys = Array.from({ length: n }, () => generateKeyPair());
  const regulatorKey = generateKeyPair();
  const nodeName = (i: number): string => `node${i}`;
  const orgId = (i: number): string => `org${i}`;
  const hexAddress = (kp: KeyPair): string => toHex(addressOf(kp.publicKey));
  const protocol = opts.protocol ?? 'pbft';
  const consortium = consortiumGenesis({
    chainId,
    genesisTime: Date.now(),
    permissioned,
    members: validatorKeys.map((kp, i) => ({
      validatorName: nodeName(i),
      validatorKey: kp.publicKey,
      orgId: orgId(i),
      orgName: nodeName(i),
      adminKey: adminKeys[i]!.publicKey,
      adminBalance: balance,
    })),
    regulator: {
      orgId: REGULATOR_ORG,
      orgName: REGULATOR_NAME,
      key: regulatorKey.publicKey,
      balance,
    },
    accounts: accountKeys.map((kp, j) => ({ publicKey: kp.publicKey, org: orgId(j % n), balance })),
  });
  const genesis = protocol === 'pbft' ? consortium : { ...consortium, consensus: { protocol } };
  checkGenesisState(genesis, 'INIT_BAD_ARGS');
  const genesisPath = join(dir, 'genesis.json');
  await writeFile(
    join(stage, 'genesis.json'),
    `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`,
  );

  const p2pAddr = (i: number): string =>
    memberMultiaddr(host, basePort + 2 * i, validatorKeys[i]!.publicKey);
  const nodes: InitNodeSummary[] = [];
  for (let i = 0; i < n; i++) {
    const name = nodeName(i);
    const home = join(dir, name);
    const stagedHome = join(stage, name);
    await mkdir(stagedHome, { recursive: true });
    await saveKeyFile(join(stagedHome, 'validator-key.json'), validatorKeys[i]!, keyFiles);
    await copyFile(join(stage, 'genesis.json'), join(stagedHome, 'genesis.json'));
    const config = homeConfig({
      moniker: name,
      rpcListen: `${host}:${basePort + 2 * i + 1}`,
      p2pListen: [`/ip4/${host}/tcp/${basePort + 2 * i}`],
      bootstrap: validatorKeys
        .map((_, j) => j)
        .filter((j) => j !== i)
        .map(p2pAddr),
      overrides: opts.configOverrides,
    });
    await writeFile(join(stagedHome, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    nodes.push({
      name,
      home,
      publicKey: toHex(validatorKeys[i]!.publicKey),
      rpc: `http://${host}:${basePort + 2 * i + 1}`,
      p2p: p2pAddr(i),
    });
  }

  const saveKey = async (path: string, kp: KeyPair): Promise<InitKeySummary> => {
    await saveKeyFile(join(stage, path), kp, keyFiles);
    return { file: join(dir, path), address: hexAddress(kp), balance: balance.toString() };
  };
  if (k > 0) await mkdir(join(stage, 'accounts'), { recursive: true });
  await mkdir(join(stage, 'orgs'), { recursive: true });
  const accounts: InitSummary['accounts'] = [];
  for (let i = 0; i < k; i++) {
    const key = await saveKey(join('accounts', `account${i}.json`), accountKeys[i]!);
    accounts.push({ ...key, org: orgId(i % n) });
  }
  const organisations: InitOrganisationSummary[] = [];
  for (let i = 0; i < n; i++) {
    organisations.push({
      id: orgId(i),
      name: nodeName(i),
      committee: true,
      validator: nodeName(i),
      admin: await saveKey(join('orgs', `${orgId(i)}-admin.json`), adminKeys[i]!),
    });
  }
  const regulator: InitRegulatorSummary = {
    org: REGULATOR_ORG,
    name: REGULATOR_NAME,
    ...(await saveKey(join('orgs', `${REGULATOR_ORG}.json`), regulatorKey)),
  };
  const summary: InitSummary = {
    chainId,
    dir,
    genesis: genesisPath,
    permissioned,
    protocol,
    encryptedKeys: keyFiles.sealer !== undefined,
    nodes,
    organisations,
    regulator,
    accounts,
  };
  await writeFile(join(stage, 'network.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

export interface ObserverInitOptions {
  dir: string;
  /** The chain's genesis file, copied byte for byte into the home. */
  genesis: string;
  /**
   * The node's ed25519 key file, copied into the home with mode 0600: an encrypted one as it
   * is (no passphrase needed), a plaintext one as `keyFiles` says (encrypted when it has a
   * passphrase; by default kept as the source has it).
   */
  key: string;
  keyFiles?: KeyFileProtection;
  /** Multiaddrs of nodes to dial, each ending in `/p2p/<peer id>`. */
  bootstrap: string[];
  rpcPort?: number;
  p2pPort?: number;
  /** The address p2p listens on (default 0.0.0.0: every interface). */
  p2pHost?: string;
}

export interface ObserverInitSummary {
  chainId: string;
  dir: string;
  config: string;
  genesis: string;
  keyFile: string;
  /** Whether the home's key file is encrypted. */
  encryptedKey: boolean;
  publicKey: string;
  address: string;
  peerId: string;
  /** Whether the key is a validator of the genesis (then the home runs a validator). */
  genesisValidator: boolean;
  rpc: string;
  p2p: string[];
  bootstrap: string[];
}

export const DEFAULT_OBSERVER_P2P_PORT = DEFAULT_BASE_PORT;
export const DEFAULT_OBSERVER_RPC_PORT = DEFAULT_BASE_PORT + 1;

/**
 * The home of a node that is not (yet) a validator: config.json, a copy of the genesis and
 * the key. The key is copied, not referenced: the home stays self-contained like a
 * validator's (it can be moved or backed up whole), the copy is 0600 whatever the source's
 * mode, and if governance later adds the key to the validator set the same home runs the
 * validator (`keyFile` is the default `validator-key.json`).
 */
export async function initObserver(opts: ObserverInitOptions): Promise<ObserverInitSummary> {
  const rpcPort = opts.rpcPort ?? DEFAULT_OBSERVER_RPC_PORT;
  const p2pPort = opts.p2pPort ?? DEFAULT_OBSERVER_P2P_PORT;
  for (const [option, port] of [
    ['--rpc-port', rpcPort],
    ['--p2p-port', p2pPort],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new CivitasError('INIT_BAD_ARGS', `${option} must be an integer from 1 to 65535`);
    }
  }
  if (rpcPort === p2pPort) {
    throw new CivitasError('INIT_BAD_ARGS', '--rpc-port and --p2p-port must differ');
  }
  const p2pHost = opts.p2pHost ?? '0.0.0.0';
  const family = isIP(p2pHost);
  if (family === 0) {
    throw new CivitasError('INIT_BAD_ARGS', `--p2p-host must be an IP address, got "${p2pHost}"`);
  }
  const genesis = await loadGenesisFile(opts.genesis).catch((err: unknown) => {
    // The loader's message names the rule; the operator needs the file too.
    if (isCivitasError(err, 'GENESIS_INVALID') && !err.message.startsWith(opts.genesis)) {
      throw new CivitasError(err.code, `${opts.genesis}: ${err.message}`, err.context);
    }
    throw err;
  });
  const source = await readKeyFileContent(opts.key);
  const key = { publicKey: source.content.publicKey };
  const peerId = peerIdFromValidatorKey(key.publicKey);
  if (opts.bootstrap.length === 0) {
    throw new CivitasError('INIT_BAD_MULTIADDR', '--bootstrap needs at least one multiaddr');
  }
  opts.bootstrap.forEach((address, i) => {
    checkBootstrapMultiaddr(address, `--bootstrap ${i + 1}`);
    if (address.endsWith(`/p2p/${peerId}`)) {
      throw new CivitasError(
        'INIT_BAD_MULTIADDR',
        `--bootstrap ${i + 1} names this node's own peer id ${peerId}`,
      );
    }
  });
  const config = homeConfig({
    moniker: `observer-${peerId.slice(-8)}`,
    rpcListen: `127.0.0.1:${rpcPort}`,
    p2pListen: [`/${family === 4 ? 'ip4' : 'ip6'}/${p2pHost}/tcp/${p2pPort}`],
    bootstrap: [...opts.bootstrap],
  });
  return writeStaged(opts.dir, '--dir', async (stage, dir) => {
    await copyFile(opts.genesis, join(stage, config.genesisFile));
    const keyFile = join(stage, config.keyFile);
    const { content } = source;
    let encryptedKey = content.encrypted;
    if (content.encrypted) {
      await writeKeyFileText(keyFile, source.text);
    } else {
      const protection = opts.keyFiles ?? {};
      await saveKeyFile(keyFile, content.keys, {
        ...protection,
        declaredPlaintext: protection.declaredPlaintext || content.declaredPlaintext,
      });
      encryptedKey = protection.passphrase !== undefined || protection.sealer !== undefined;
    }
    await writeFile(join(stage, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    return {
      chainId: genesis.chainId,
      dir,
      config: join(dir, 'config.json'),
      genesis: join(dir, config.genesisFile),
      keyFile: join(dir, config.keyFile),
      encryptedKey,
      publicKey: toHex(key.publicKey),
      address: toHex(addressOf(key.publicKey)),
      peerId,
      genesisValidator: genesis.validators.some((v) => equalBytes(v.publicKey, key.publicKey)),
      rpc: `http://${config.rpc.listen}`,
      p2p: config.p2p.listen,
      bootstrap: config.p2p.bootstrap,
    };
  });
}

/**
 * Rule: a bootstrap address is a multiaddr with a TCP transport that ends in `/p2p/<peer id>`
 * of an ed25519 key (a node's identity is its validator key; no other peer can be a member).
 */
export function checkBootstrapMultiaddr(text: string, field: string): void {
  const bad = (rule: string): never => {
    throw new CivitasError('INIT_BAD_MULTIADDR', `${field} "${text}" ${rule}`, { address: text });
  };
  let components: Array<{ name: string; value?: string }> = [];
  try {
    components = multiaddr(text).getComponents();
  } catch {
    bad('is not a multiaddr');
  }
  const last = components.at(-1);
  if (last?.name !== 'p2p' || last.value === undefined) bad('must end in /p2p/<peer id>');
  if (validatorKeyFromPeerId(last!.value!) === undefined) {
    bad('must name an ed25519 peer id (12D3KooW...)');
  }
  if (!components.some((c) => c.name === 'tcp')) bad('must have a /tcp/<port>');
}
