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
import { copyFile, mkdir, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { genesisValues } from '../app/genesis.ts';
import { civitasApp } from '../app/registry.ts';
import { addressOf } from '../chain/address.ts';
import { checkChainId, DEFAULT_PARAMS, type Genesis, genesisToJson } from '../chain/genesis.ts';
import { toHex } from '../crypto/bytes.ts';
import { generateKeyPair, type KeyPair } from '../crypto/ed25519.ts';
import { saveKeyFile } from '../crypto/keyfile.ts';
import { CivitasError, isCivitasError } from '../errors/index.ts';
import { peerIdFromValidatorKey } from '../p2p/identity.ts';
import { DEFAULT_CONFIG, type NodeConfig } from './config.ts';

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
  const permissioned = opts.permissioned ?? true;

  const validatorKeys = Array.from({ length: n }, () => generateKeyPair());
  const accountKeys = Array.from({ length: k }, () => generateKeyPair());
  const adminKeys = Array.from({ length: n }, () => generateKeyPair());
  const regulatorKey = generateKeyPair();
  const nodeName = (i: number): string => `node${i}`;
  const orgId = (i: number): string => `org${i}`;
  const hexAddress = (kp: KeyPair): string => toHex(addressOf(kp.publicKey));
  const members: Array<Array<{ account: string; roles: string[] }>> = validatorKeys.map(() => []);
  accountKeys.forEach((kp, j) => {
    members[j % n]!.push({ account: hexAddress(kp), roles: ['member'] });
  });
  const genesis: Genesis = {
    chainId,
    genesisTime: Date.now(),
    validators: validatorKeys.map((kp, i) => ({ name: nodeName(i), publicKey: kp.publicKey })),
    // The accounts first, as before organisations: account i is still genesis account i.
    accounts: [...accountKeys, ...adminKeys, regulatorKey].map((kp) => ({
      address: addressOf(kp.publicKey),
      balance,
    })),
    params: DEFAULT_PARAMS,
    app: {
      params: { permissioned, freezeThreshold: 1 },
      org: [
        ...validatorKeys.map((_, i) => ({
          id: orgId(i),
          name: nodeName(i),
          committee: true,
          // The admin also issues (asset classes, receivables), so the use cases run as is.
          members: [
            { account: hexAddress(adminKeys[i]!), roles: ['admin', 'member', 'issuer'] },
            ...members[i]!,
          ],
        })),
        {
          id: REGULATOR_ORG,
          name: REGULATOR_NAME,
          committee: false,
          members: [{ account: hexAddress(regulatorKey), roles: ['member', 'regulator'] }],
        },
      ],
    },
  };
  checkGenesisState(genesis);
  const genesisPath = join(dir, 'genesis.json');
  await writeFile(
    join(stage, 'genesis.json'),
    `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`,
  );

  const p2pAddr = (i: number): string =>
    `/ip4/${host}/tcp/${basePort + 2 * i}/p2p/${peerIdFromValidatorKey(validatorKeys[i]!.publicKey)}`;
  const nodes: InitNodeSummary[] = [];
  for (let i = 0; i < n; i++) {
    const name = nodeName(i);
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

  const saveKey = async (path: string, kp: KeyPair): Promise<InitKeySummary> => {
    await saveKeyFile(join(stage, path), kp);
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
    nodes,
    organisations,
    regulator,
    accounts,
  };
  await writeFile(join(stage, 'network.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/**
 * Builds the genesis state as a node will at start, so a genesis the node would refuse (more
 * members in one organisation than the org module takes) fails init, not the first start.
 */
function checkGenesisState(genesis: Genesis): void {
  try {
    genesisValues(civitasApp(), genesis);
  } catch (err) {
    if (!isCivitasError(err, 'GENESIS_INVALID')) throw err;
    throw new CivitasError('INIT_BAD_ARGS', `the genesis would be invalid: ${err.message}`);
  }
}
