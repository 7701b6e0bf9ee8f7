/**
 * `civitas genesis`: a consortium founded from its members' public keys. Each member makes
 * its validator and admin keys on its own machine (`civitas keys generate --out`) and hands
 * over only the public keys, its host and ports; a members manifest gathers them, and this
 * writes the genesis and one home per member (config.json, a copy of the genesis and
 * NEXT_STEPS.txt) without ever seeing a secret: each member puts its own
 * validator-key.json into its home.
 *
 * The manifest (JSON):
 *
 *   { "chainId": "city-net", "genesisTime"?: ms, "permissioned"?: true, "params"?: {...},
 *     "members": [{ "name": "city-water", "validatorKey": hex, "adminKey": hex,
 *                   "host": "10.0.0.5" | "node.example.org", "p2pPort": 26600,
 *                   "rpcPort": 26601, "rpcListen"?: "0.0.0.0:26601", "adminBalance"?: "..." }],
 *     "regulator"?: { "name": "regulator", "adminKey": hex, "adminBalance"?: "..." },
 *     "accounts"?: [{ "publicKey": hex, "org": "<member or regulator name>", "balance"?: "..." }] }
 *
 * The same consortium as `civitas init` (src/node/consortium.ts): a member's name is its
 * validator's name, its organisation's id and its home's folder.
 */

import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { addressOf } from '../chain/address.ts';
import {
  CHAIN_PARAM_NAMES,
  type ChainParams,
  checkChainId,
  DEFAULT_PARAMS,
  genesisFromJson,
  genesisToJson,
} from '../chain/genesis.ts';
import { makeValidatorSet } from '../chain/validator-set.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { isAcceptablePublicKey, PUBLIC_KEY_LENGTH } from '../crypto/ed25519.ts';
import { CivitasError, type ErrorCode, isCivitasError } from '../errors/index.ts';
import { parseJsonText } from '../errors/json-text.ts';
import { peerIdFromValidatorKey } from '../p2p/identity.ts';
import { checkGenesisState, consortiumGenesis, memberMultiaddr } from './consortium.ts';
import { DEFAULT_ACCOUNT_BALANCE, homeConfig, writeStaged } from './home.ts';

export interface ManifestMember {
  name: string;
  validatorKey: Uint8Array;
  adminKey: Uint8Array;
  host: string;
  p2pPort: number;
  rpcPort: number;
  /** host:port of the member's API; default 127.0.0.1:<rpcPort>. */
  rpcListen: string;
  adminBalance: bigint;
}

export interface MembersManifest {
  chainId: string;
  /** Absent: the time `civitas genesis` runs. */
  genesisTime: number | undefined;
  permissioned: boolean;
  params: ChainParams;
  members: ManifestMember[];
  regulator: { name: string; adminKey: Uint8Array; adminBalance: bigint } | undefined;
  accounts: Array<{ publicKey: Uint8Array; org: string; balance: bigint }>;
}

/** A member's name: an organisation id, so also a safe folder name. */
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const NAME_RULE = 'must be 1..32 of a-z, 0-9, "-", "_", starting with a letter or digit';
const AMOUNT_PATTERN = /^(0|[1-9][0-9]{0,37})$/;
/** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
const DNS_PATTERN =
  /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
export const MAX_MEMBERS = 100;
export const MAX_MANIFEST_ACCOUNTS = 100_000;

const TOP_FIELDS = [
  'chainId',
  'genesisTime',
  'permissioned',
  'params',
  'members',
  'regulator',
  'accounts',
];
const MEMBER_FIELDS = [
  'name',
  'validatorKey',
  'adminKey',
  'host',
  'p2pPort',
  'rpcPort',
  'rpcListen',
  'adminBalance',
];
const REGULATOR_FIELDS = ['name', 'adminKey', 'adminBalance'];
const ACCOUNT_FIELDS = ['publicKey', 'org', 'balance'];

/** Checks a manifest field by field; every error is one line naming the field and its rule. */
export function parseMembersManifest(json: unknown, source = 'members manifest'): MembersManifest {
  const fail = (code: ErrorCode, field: string, rule: string): never => {
    throw new CivitasError(code, `${source}: ${field} ${rule}`, { field });
  };
  const object = (v: unknown, field: string, fields: string[]): Record<string, unknown> => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      return fail('MEMBERS_BAD_FIELD', field, 'must be a JSON object');
    }
    for (const k of Object.keys(v)) {
      if (!fields.includes(k)) {
        fail('MEMBERS_UNKNOWN_FIELD', `${field === '' ? '' : `${field}.`}${k}`, 'is not a field');
      }
    }
    return v as Record<string, unknown>;
  };
  const required = (o: Record<string, unknown>, k: string, field: string): unknown => {
    if (o[k] === undefined) fail('MEMBERS_BAD_FIELD', field, 'is required');
    return o[k];
  };
  const name = (v: unknown, field: string): string => {
    if (typeof v !== 'string' || !NAME_PATTERN.test(v)) fail('MEMBERS_BAD_FIELD', field, NAME_RULE);
    return v as string;
  };
  const publicKey = (v: unknown, field: string): Uint8Array => {
    let key: Uint8Array | undefined;
    try {
      key = fromHex(v as string, PUBLIC_KEY_LENGTH);
    } catch {
      fail(
        'MEMBERS_BAD_FIELD',
        field,
        'must be a 32-byte ed25519 public key in hex (64 characters)',
      );
    }
    if (!isAcceptablePublicKey(key!)) {
      fail(
        'MEMBERS_BAD_FIELD',
        field,
        'is not an ed25519 public key (not a canonical curve point of large order)',
      );
    }
    return key!;
  };
  const port = (v: unknown, field: string): number => {
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65_535) {
      fail('MEMBERS_BAD_FIELD', field, 'must be an integer from 1 to 65535');
    }
    return v as number;
  };
  const amount = (v: unknown, field: string): bigint => {
    if (v === undefined) return DEFAULT_ACCOUNT_BALANCE;
    if (typeof v !== 'string' || !AMOUNT_PATTERN.test(v)) {
      fail('MEMBERS_BAD_FIELD', field, 'must be a whole amount as a decimal string, e.g. "1000"');
    }
    return BigInt(v as string);
  };
  const list = (v: unknown, field: string, min: number, max: number): unknown[] => {
    if (!Array.isArray(v) || v.length < min || v.length > max) {
      fail('MEMBERS_BAD_FIELD', field, `must be a list of ${min} to ${max} entries`);
    }
    return v as unknown[];
  };

  const top = object(json, '', TOP_FIELDS);
  const chainId = required(top, 'chainId', 'chainId');
  try {
    checkChainId(chainId);
  } catch (err) {
    if (!isCivitasError(err, 'GENESIS_INVALID')) throw err;
    fail('MEMBERS_BAD_FIELD', 'chainId', 'must be 1..64 of letters, digits, ".", "_" and "-"');
  }
  const genesisTime = top.genesisTime;
  if (
    genesisTime !== undefined &&
    (!Number.isSafeInteger(genesisTime) || (genesisTime as number) < 0)
  ) {
    fail(
      'MEMBERS_BAD_FIELD',
      'genesisTime',
      'must be milliseconds since the epoch (an integer >= 0)',
    );
  }
  if (top.permissioned !== undefined && typeof top.permissioned !== 'boolean') {
    fail('MEMBERS_BAD_FIELD', 'permissioned', 'must be true or false');
  }
  const params: Record<string, number> = { ...DEFAULT_PARAMS };
  if (top.params !== undefined) {
    const given = object(top.params, 'params', [...CHAIN_PARAM_NAMES]);
    for (const [k, v] of Object.entries(given)) {
      if (!Number.isSafeInteger(v) || (v as number) <= 0) {
        fail('MEMBERS_BAD_FIELD', `params.${k}`, 'must be a positive integer');
      }
      params[k] = v as number;
    }
  }

  const members = list(required(top, 'members', 'members'), 'members', 1, MAX_MEMBERS).map(
    (entry, i): ManifestMember => {
      const f = `members[${i}]`;
      const m = object(entry, f, MEMBER_FIELDS);
      const host = required(m, 'host', `${f}.host`);
      if (typeof host !== 'string' || (isIP(host) === 0 && !DNS_PATTERN.test(host))) {
        fail('MEMBERS_BAD_FIELD', `${f}.host`, 'must be an IPv4 or IPv6 address or a DNS name');
      }
      const p2pPort = port(required(m, 'p2pPort', `${f}.p2pPort`), `${f}.p2pPort`);
      const rpcPort = port(required(m, 'rpcPort', `${f}.rpcPort`), `${f}.rpcPort`);
      if (p2pPort === rpcPort)
        fail('MEMBERS_BAD_FIELD', `${f}.rpcPort`, 'must differ from p2pPort');
      let rpcListen = `127.0.0.1:${rpcPort}`;
      if (m.rpcListen !== undefined) {
        const match =
          typeof m.rpcListen === 'string' ? /^([^:\s]+):(\d{1,5})$/.exec(m.rpcListen) : null;
        if (match === null) fail('MEMBERS_BAD_FIELD', `${f}.rpcListen`, 'must be host:port');
        if (Number(match![2]) !== rpcPort) {
          fail('MEMBERS_BAD_FIELD', `${f}.rpcListen`, `must use rpcPort ${rpcPort}`);
        }
        rpcListen = m.rpcListen as string;
      }
      return {
        name: name(required(m, 'name', `${f}.name`), `${f}.name`),
        validatorKey: publicKey(
          required(m, 'validatorKey', `${f}.validatorKey`),
          `${f}.validatorKey`,
        ),
        adminKey: publicKey(required(m, 'adminKey', `${f}.adminKey`), `${f}.adminKey`),
        host: host as string,
        p2pPort,
        rpcPort,
        rpcListen,
        adminBalance: amount(m.adminBalance, `${f}.adminBalance`),
      };
    },
  );

  let regulator: MembersManifest['regulator'];
  if (top.regulator !== undefined) {
    const r = object(top.regulator, 'regulator', REGULATOR_FIELDS);
    regulator = {
      name: name(required(r, 'name', 'regulator.name'), 'regulator.name'),
      adminKey: publicKey(required(r, 'adminKey', 'regulator.adminKey'), 'regulator.adminKey'),
      adminBalance: amount(r.adminBalance, 'regulator.adminBalance'),
    };
  }
  // Rule: names are unique (one organisation, validator and home each).
  const names = new Map<string, string>();
  const claimName = (value: string, field: string): void => {
    const earlier = names.get(value);
    if (earlier !== undefined) fail('MEMBERS_DUPLICATE', field, `"${value}" is already ${earlier}`);
    names.set(value, field);
  };
  for (const [i, m] of members.entries()) claimName(m.name, `members[${i}].name`);
  if (regulator) claimName(regulator.name, 'regulator.name');
  const orgs = new Set([...members.map((m) => m.name), ...(regulator ? [regulator.name] : [])]);
  const accounts = list(top.accounts ?? [], 'accounts', 0, MAX_MANIFEST_ACCOUNTS).map(
    (entry, i) => {
      const f = `accounts[${i}]`;
      const a = object(entry, f, ACCOUNT_FIELDS);
      const org = required(a, 'org', `${f}.org`);
      if (typeof org !== 'string' || !orgs.has(org)) {
        fail(
          'MEMBERS_UNKNOWN_ORG',
          `${f}.org`,
          `must name a member or the regulator (${[...orgs].join(', ')})`,
        );
      }
      return {
        publicKey: publicKey(required(a, 'publicKey', `${f}.publicKey`), `${f}.publicKey`),
        org: org as string,
        balance: amount(a.balance, `${f}.balance`),
      };
    },
  );

  // Rule: a key serves once. A validator key stays on its node and signs nothing else; an
  // account is a member of one organisation only.
  const keys = new Map<string, string>();
  const claimKey = (key: Uint8Array, field: string): void => {
    const hex = toHex(key);
    const earlier = keys.get(hex);
    if (earlier !== undefined) fail('MEMBERS_DUPLICATE', field, `is the same key as ${earlier}`);
    keys.set(hex, field);
  };
  for (const [i, m] of members.entries()) claimKey(m.validatorKey, `members[${i}].validatorKey`);
  for (const [i, m] of members.entries()) claimKey(m.adminKey, `members[${i}].adminKey`);
  if (regulator) claimKey(regulator.adminKey, 'regulator.adminKey');
  for (const [i, a] of accounts.entries()) claimKey(a.publicKey, `accounts[${i}].publicKey`);
  // Rule: on one host no port is used twice (p2p and API alike).
  const ports = new Map<string, string>();
  members.forEach((m, i) => {
    for (const [k, p] of [
      ['p2pPort', m.p2pPort],
      ['rpcPort', m.rpcPort],
    ] as const) {
      const at = `${m.host.toLowerCase()}:${p}`;
      const earlier = ports.get(at);
      if (earlier !== undefined)
        fail('MEMBERS_DUPLICATE', `members[${i}].${k}`, `${at} is already ${earlier}`);
      ports.set(at, `members[${i}].${k}`);
    }
  });

  return {
    chainId: chainId as string,
    genesisTime: genesisTime as number | undefined,
    permissioned: (top.permissioned as boolean | undefined) ?? true,
    params: params as unknown as ChainParams,
    members,
    regulator,
    accounts,
  };
}

export async function loadMembersManifest(path: string): Promise<MembersManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CivitasError('MEMBERS_NOT_FOUND', `cannot read members manifest ${path} (${code})`, {
      path,
    });
  }
  const json = parseJsonText(text, path, 'MEMBERS_BAD_JSON');
  return parseMembersManifest(json, path);
}

export interface GenesisMemberSummary {
  name: string;
  home: string;
  org: string;
  validatorKey: string;
  peerId: string;
  /** The multiaddr the other members dial. */
  p2p: string;
  rpcListen: string;
  admin: string;
}

export interface GenesisSummary {
  chainId: string;
  dir: string;
  genesis: string;
  /** SHA-256 of genesis.json's bytes: members compare it out of band. */
  genesisSha256: string;
  permissioned: boolean;
  members: GenesisMemberSummary[];
  regulator: { org: string; address: string } | null;
  accounts: Array<{ address: string; org: string; balance: string }>;
}

/**
 * A member listens for p2p on every interface (its host may be a public address that is not
 * on the machine, behind NAT), except on a loopback host: a consortium tried out on one
 * machine stays on loopback.
 */
function p2pListen(host: string, port: number): string {
  if (host === 'localhost' || /^127\./.test(host)) {
    return `/ip4/${host === 'localhost' ? '127.0.0.1' : host}/tcp/${port}`;
  }
  if (host === '::1') return `/ip6/::1/tcp/${port}`;
  return isIP(host) === 6 ? `/ip6/::/tcp/${port}` : `/ip4/0.0.0.0/tcp/${port}`;
}

/** Writes DIR/genesis.json and DIR/<member>/ for every member; refuses a non-empty DIR. */
export async function writeConsortiumFromMembers(
  manifest: MembersManifest,
  out: string,
  option = '--out',
): Promise<GenesisSummary> {
  const genesis = consortiumGenesis({
    chainId: manifest.chainId,
    genesisTime: manifest.genesisTime ?? Date.now(),
    permissioned: manifest.permissioned,
    params: manifest.params,
    members: manifest.members.map((m) => ({
      validatorName: m.name,
      validatorKey: m.validatorKey,
      orgId: m.name,
      orgName: m.name,
      adminKey: m.adminKey,
      adminBalance: m.adminBalance,
    })),
    ...(manifest.regulator && {
      regulator: {
        orgId: manifest.regulator.name,
        orgName: manifest.regulator.name,
        key: manifest.regulator.adminKey,
        balance: manifest.regulator.adminBalance,
      },
    }),
    accounts: manifest.accounts,
  });
  const genesisJson = genesisToJson(genesis);
  // The node reads the file back with these rules: check them before anything is written.
  try {
    genesisFromJson(genesisJson);
  } catch (err) {
    if (!isCivitasError(err, 'GENESIS_INVALID')) throw err;
    throw new CivitasError('MEMBERS_BAD_FIELD', `the genesis would be invalid: ${err.message}`);
  }
  checkGenesisState(genesis, 'MEMBERS_BAD_FIELD');
  const genesisText = `${JSON.stringify(genesisJson, null, 2)}\n`;
  const genesisSha256 = createHash('sha256').update(genesisText).digest('hex');
  const addresses = manifest.members.map((m) => memberMultiaddr(m.host, m.p2pPort, m.validatorKey));

  return writeStaged(out, option, async (stage, dir) => {
    await writeFile(join(stage, 'genesis.json'), genesisText);
    const members: GenesisMemberSummary[] = [];
    for (const [i, m] of manifest.members.entries()) {
      const home = join(stage, m.name);
      const others = manifest.members.filter((_, j) => j !== i);
      const config = homeConfig({
        moniker: m.name,
        rpcListen: m.rpcListen,
        p2pListen: [p2pListen(m.host, m.p2pPort)],
        bootstrap: addresses.filter((_, j) => j !== i),
      });
      await mkdir(home);
      await writeFile(join(home, 'genesis.json'), genesisText);
      await writeFile(join(home, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
      await writeFile(
        join(home, 'NEXT_STEPS.txt'),
        nextSteps({
          member: m,
          chainId: manifest.chainId,
          genesisSha256,
          keyFile: config.keyFile,
          others,
          quorum: makeValidatorSet(genesis.validators.map((v) => v.publicKey)).quorum,
        }),
      );
      members.push({
        name: m.name,
        home: join(dir, m.name),
        org: m.name,
        validatorKey: toHex(m.validatorKey),
        peerId: peerIdFromValidatorKey(m.validatorKey),
        p2p: addresses[i]!,
        rpcListen: m.rpcListen,
        admin: toHex(addressOf(m.adminKey)),
      });
    }
    const summary: GenesisSummary = {
      chainId: manifest.chainId,
      dir,
      genesis: join(dir, 'genesis.json'),
      genesisSha256,
      permissioned: manifest.permissioned,
      members,
      regulator: manifest.regulator
        ? { org: manifest.regulator.name, address: toHex(addressOf(manifest.regulator.adminKey)) }
        : null,
      accounts: manifest.accounts.map((a) => ({
        address: toHex(addressOf(a.publicKey)),
        org: a.org,
        balance: a.balance.toString(),
      })),
    };
    await writeFile(join(stage, 'network.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  });
}

function nextSteps(opts: {
  member: ManifestMember;
  chainId: string;
  genesisSha256: string;
  keyFile: string;
  others: ManifestMember[];
  quorum: number;
}): string {
  const { member: m } = opts;
  return `Civitas: the home of validator ${m.name} on chain ${opts.chainId}

This folder holds config.json and genesis.json. It has no key: the key never left your
machine. Before you start:

1. Check the genesis is the one every member holds. Its SHA-256 is
     ${opts.genesisSha256}
   (sha256sum genesis.json); compare it with the other members over a channel you trust.

2. Put your validator key here as ${opts.keyFile}: copy in the file you made on this
   machine with "civitas keys generate --out FILE" (keep mode 0600; it is never sent to
   anyone). Its public key must be
     ${toHex(m.validatorKey)}
   and its peer id ${peerIdFromValidatorKey(m.validatorKey)}; check with
     civitas keys show --key ${opts.keyFile}

3. Let the other members reach TCP port ${m.p2pPort} on ${m.host}, and reach theirs:
${opts.others.map((o) => `     ${o.name}  ${o.host}:${o.p2pPort}`).join('\n') || '     (none)'}
   Keep the API (${m.rpcListen}) on loopback or behind your own proxy.

4. Start the node from this folder:
     civitas node start --home .
   The chain commits blocks once ${opts.quorum} of the ${opts.others.length + 1} validators run.
`;
}
