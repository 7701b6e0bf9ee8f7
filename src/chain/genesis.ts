/**
 * Genesis: the chain's birth certificate. A JSON file every member holds the same copy of:
 * chain id, start time, the ordered validator set (with each validator's p2p address hint),
 * initial account balances and chain parameters. Its hash is the parent hash of block 1, so
 * nodes with different genesis files can never agree on a block.
 */

import { encode } from '../codec/writer.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { PUBLIC_KEY_LENGTH } from '../crypto/ed25519.ts';
import { DomainTag, taggedHash } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import { ADDRESS_LENGTH } from './address.ts';
import { Limits } from './limits.ts';
import { makeValidatorSet, type ValidatorSet } from './validator-set.ts';

export interface GenesisValidator {
  readonly name: string;
  readonly publicKey: Uint8Array;
}

export interface GenesisAccount {
  readonly address: Uint8Array;
  readonly balance: bigint;
}

export interface ChainParams {
  /** Most txs a proposer puts in one block. */
  readonly maxBlockTxs: number;
  /** Most bytes of encoded txs in one block. */
  readonly maxBlockBytes: number;
  /**
   * How far (ms) a validator's clock may stray from its peers' (estimated from their vote
   * times) before its node warns and /ready reports the clock unhealthy. Block time never
   * depends on it: it comes from the quorum (block-time.ts).
   */
  readonly maxClockDriftMs: number;
  /**
   * Blocks between two validator-set changes (src/app/validators), also how recent a joining
   * validator's readiness proof and the signatures that show members live must be:
   * 1..Limits.recentBlocks.
   */
  readonly validatorChangeSpacing: number;
  /**
   * Heights a tx may live: a tx in block h must expire at or below h + maxTxLifetime. Bounds
   * the tx index a node needs to refuse a committed tx again (a failed tx changes no nonce),
   * which is what lets a node join from a state snapshot (docs/STATE-SYNC.md). Absent:
   * unbounded (every genesis written before this parameter), and such a chain cannot
   * state-sync.
   */
  readonly maxTxLifetime?: number;
}

/**
 * The consensus protocols a chain may run: PBFT (src/consensus/engine.ts) or basic HotStuff
 * (src/consensus/hotstuff, docs/HOTSTUFF.md; `civitas init` writes it only with
 * --experimental-protocol).
 */
export const CONSENSUS_PROTOCOLS = ['pbft', 'hotstuff'] as const;
export type ConsensusProtocol = (typeof CONSENSUS_PROTOCOLS)[number];

/** How the chain decides its blocks. */
export interface GenesisConsensus {
  readonly protocol: ConsensusProtocol;
}

export interface Genesis {
  readonly chainId: string;
  readonly genesisTime: number;
  readonly validators: readonly GenesisValidator[];
  readonly accounts: readonly GenesisAccount[];
  readonly params: ChainParams;
  /**
   * The application modules' sections (`org`, `params`, …), as JSON: each module checks its
   * own when the genesis state is built (src/app/genesis.ts).
   */
  readonly app?: Readonly<Record<string, unknown>>;
  /**
   * The consensus protocol. Absent: PBFT (every genesis written before this field, which
   * hashes as it did); present, it is hashed, so every member runs the same protocol.
   */
  readonly consensus?: GenesisConsensus;
}

/** The protocol a genesis names: its `consensus.protocol`, PBFT when absent. */
export function consensusProtocol(g: Pick<Genesis, 'consensus'>): ConsensusProtocol {
  return g.consensus?.protocol ?? 'pbft';
}

export const DEFAULT_PARAMS: ChainParams = {
  maxBlockTxs: 5_000,
  // Below the 3.75 MiB gossip message cap (src/p2p/options.ts), so a full block can be proposed.
  maxBlockBytes: 3 * 1024 * 1024,
  maxClockDriftMs: 10_000,
  validatorChangeSpacing: Limits.recentBlocks,
};

/** Every chain parameter a genesis may set: DEFAULT_PARAMS's and the optional ones. */
export const CHAIN_PARAM_NAMES: readonly string[] = [
  ...Object.keys(DEFAULT_PARAMS),
  'maxTxLifetime',
];

export interface GenesisJson {
  chainId: string;
  genesisTime: number;
  validators: Array<{ name: string; publicKey: string }>;
  accounts: Array<{ address: string; balance: string }>;
  params: ChainParams;
  app?: Record<string, unknown>;
  consensus?: { protocol: string };
}

export function genesisToJson(g: Genesis): GenesisJson {
  return {
    chainId: g.chainId,
    genesisTime: g.genesisTime,
    validators: g.validators.map((v) => ({ name: v.name, publicKey: toHex(v.publicKey) })),
    accounts: g.accounts.map((a) => ({ address: toHex(a.address), balance: a.balance.toString() })),
    params: { ...g.params },
    ...(g.app === undefined ? {} : { app: structuredClone({ ...g.app }) }),
    ...(g.consensus === undefined ? {} : { consensus: { protocol: g.consensus.protocol } }),
  };
}

/**
 * JSON with object keys sorted and no whitespace: one text for one value, so the genesis
 * hash commits to the app sections whatever order a file lists their fields in.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function bad(message: string): never {
  throw new CivitasError('GENESIS_INVALID', `genesis: ${message}`);
}

/** Rule: a chain id is 1..64 characters of letters, digits, ".", "_" and "-". */
export function checkChainId(chainId: unknown): asserts chainId is string {
  if (typeof chainId !== 'string' || chainId.length === 0 || chainId.length > Limits.chainIdBytes) {
    bad(`chainId must be 1..${Limits.chainIdBytes} characters`);
  }
  if (!/^[a-zA-Z0-9._-]+$/.test(chainId)) bad('chainId may use letters, digits, ".", "_" and "-"');
}

export function genesisFromJson(json: unknown): Genesis {
  const j = json as Partial<GenesisJson>;
  if (j === null || typeof j !== 'object') bad('not a JSON object');
  checkChainId(j.chainId);
  if (!Number.isSafeInteger(j.genesisTime) || (j.genesisTime as number) < 0) {
    bad('genesisTime must be milliseconds since the epoch');
  }
  if (!Array.isArray(j.validators) || j.validators.length === 0)
    bad('needs at least one validator');
  const validators = j.validators.map((v, i) => {
    try {
      return {
        name: String(v.name ?? `validator-${i}`),
        publicKey: fromHex(v.publicKey, PUBLIC_KEY_LENGTH),
      };
    } catch {
      return bad(`validators[${i}].publicKey must be 32-byte hex`);
    }
  });
  if (j.accounts !== undefined && !Array.isArray(j.accounts)) bad('accounts must be a list');
  const accounts = (j.accounts ?? []).map((a, i) => {
    let address: Uint8Array;
    try {
      address = fromHex(a.address, ADDRESS_LENGTH);
    } catch {
      return bad(`accounts[${i}].address must be 20-byte hex`);
    }
    if (typeof a.balance !== 'string' || !/^(0|[1-9][0-9]{0,37})$/.test(a.balance)) {
      return bad(`accounts[${i}].balance must be a decimal string`);
    }
    return { address, balance: BigInt(a.balance) };
  });
  if (j.params !== undefined && j.params !== null) {
    if (typeof j.params !== 'object' || Array.isArray(j.params)) bad('params must be an object');
    // genesisHash commits to the known params only: an unknown key (a typo such as
    // "maxBlockTx") would be ignored by every node yet leave the hash unchanged.
    for (const k of Object.keys(j.params)) {
      if (!CHAIN_PARAM_NAMES.includes(k)) bad(`params.${k} is not a chain parameter`);
    }
  }
  const params = { ...DEFAULT_PARAMS, ...(j.params ?? {}) };
  for (const [k, v] of Object.entries(params)) {
    if (!Number.isSafeInteger(v) || v <= 0) bad(`params.${k} must be a positive integer`);
  }
  if (params.maxBlockTxs > Limits.blockTxs)
    bad(`params.maxBlockTxs may be at most ${Limits.blockTxs}`);
  if (params.maxBlockBytes > Limits.blockBytes)
    bad(`params.maxBlockBytes may be at most ${Limits.blockBytes}`);
  if (params.validatorChangeSpacing > Limits.recentBlocks)
    bad(`params.validatorChangeSpacing may be at most ${Limits.recentBlocks}`);
  if (
    j.app !== undefined &&
    (j.app === null || typeof j.app !== 'object' || Array.isArray(j.app))
  ) {
    bad('app must be an object of module sections');
  }
  const consensus = j.consensus === undefined ? undefined : checkConsensus(j.consensus);
  const genesis: Genesis = {
    chainId: j.chainId,
    genesisTime: j.genesisTime as number,
    validators,
    accounts,
    params,
    ...(j.app === undefined ? {} : { app: j.app }),
    ...(consensus === undefined ? {} : { consensus }),
  };
  makeValidatorSet(validators.map((v) => v.publicKey));
  return genesis;
}

/** Rule: `consensus` is `{ "protocol": "pbft" | "hotstuff" }`, nothing else. */
function checkConsensus(json: unknown): GenesisConsensus {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    bad('consensus must be an object such as {"protocol": "pbft"}');
  }
  for (const k of Object.keys(json)) {
    if (k !== 'protocol') bad(`consensus.${k} is not a consensus setting`);
  }
  const { protocol } = json as { protocol?: unknown };
  if (!(CONSENSUS_PROTOCOLS as readonly unknown[]).includes(protocol)) {
    bad(
      `consensus.protocol must be ${CONSENSUS_PROTOCOLS.join(' or ')}, not ${JSON.stringify(protocol) ?? 'missing'}`,
    );
  }
  return { protocol: protocol as ConsensusProtocol };
}

export function genesisValidatorSet(g: Genesis): ValidatorSet {
  return makeValidatorSet(g.validators.map((v) => v.publicKey));
}

/** The parent hash of block 1: commits to every field of the genesis. */
export function genesisHash(g: Genesis): Uint8Array {
  return taggedHash(
    DomainTag.genesis,
    encode((w) => {
      w.string(g.chainId).varuint(g.genesisTime);
      w.list(g.validators, (ww, v) => ww.string(v.name).fixed(v.publicKey, PUBLIC_KEY_LENGTH));
      w.list(g.accounts, (ww, a) => ww.fixed(a.address, ADDRESS_LENGTH).varbig(a.balance));
      w.varuint(g.params.maxBlockTxs)
        .varuint(g.params.maxBlockBytes)
        .varuint(g.params.maxClockDriftMs)
        .varuint(g.params.validatorChangeSpacing);
      // The app sections, when there are any (a genesis without them hashes as before).
      if (g.app !== undefined) w.string(canonicalJson(g.app));
      // Only when set, so a genesis without it hashes as before. The 0 byte cannot start the
      // app section (a string of at least "{}": its length byte is ≥ 2), so neither can pass
      // for the other.
      if (g.params.maxTxLifetime !== undefined) w.u8(0).varuint(g.params.maxTxLifetime);
      // Only when set, likewise: tag 1, which neither the app section's length byte (≥ 2) nor
      // maxTxLifetime's tag 0 can be. Absent (PBFT) and an explicit "pbft" hash differently:
      // the hash commits to the file as written.
      if (g.consensus !== undefined) w.u8(1).string(g.consensus.protocol);
    }),
  );
}
