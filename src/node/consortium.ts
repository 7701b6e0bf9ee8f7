/**
 * The consortium genesis, one shape whoever holds the keys: `civitas init` (which makes every
 * key on one machine) and `civitas genesis` (which takes the members' public keys) both build
 * it here. One validator and one organisation per member, in the governance committee, its
 * admin key holding roles admin, member and issuer; optionally a regulator organisation
 * outside the committee; funded accounts as members of a named organisation.
 */
import { isIP } from 'node:net';
import { genesisValues } from '../app/genesis.ts';
import { civitasApp } from '../app/registry.ts';
import { addressOf } from '../chain/address.ts';
import { type ChainParams, DEFAULT_PARAMS, type Genesis } from '../chain/genesis.ts';
import { toHex } from '../crypto/bytes.ts';
import { CivitasError, type ErrorCode, isCivitasError } from '../errors/index.ts';
import { peerIdFromValidatorKey } from '../p2p/identity.ts';

export interface ConsortiumMember {
  /** The validator's name in the genesis. */
  validatorName: string;
  validatorKey: Uint8Array;
  /** Its organisation's id and display name. */
  orgId: string;
  orgName: string;
  adminKey: Uint8Array;
  adminBalance: bigint;
}

export interface ConsortiumRegulator {
  orgId: string;
  orgName: string;
  key: Uint8Array;
  balance: bigint;
}

export interface ConsortiumAccount {
  publicKey: Uint8Array;
  /** The id of the organisation it is a member (role member) of. */
  org: string;
  balance: bigint;
}

export interface ConsortiumSpec {
  chainId: string;
  genesisTime: number;
  /** Only members of organisations may transact (`app.params.permissioned`). */
  permissioned: boolean;
  params?: ChainParams;
  members: readonly ConsortiumMember[];
  regulator?: ConsortiumRegulator;
  accounts: readonly ConsortiumAccount[];
}

/** The roles a member organisation's admin holds: it also issues (asset classes, receivables). */
export const ADMIN_ROLES = ['admin', 'member', 'issuer'] as const;
export const REGULATOR_ROLES = ['member', 'regulator'] as const;

const hexAddress = (publicKey: Uint8Array): string => toHex(addressOf(publicKey));

/**
 * The genesis of a consortium. Genesis accounts list the accounts first, then the admins,
 * then the regulator (so with `civitas init`, account i is genesis account i).
 */
export function consortiumGenesis(spec: ConsortiumSpec): Genesis {
  const accountsOf = (orgId: string) =>
    spec.accounts
      .filter((a) => a.org === orgId)
      .map((a) => ({ account: hexAddress(a.publicKey), roles: ['member'] }));
  const { regulator } = spec;
  return {
    chainId: spec.chainId,
    genesisTime: spec.genesisTime,
    validators: spec.members.map((m) => ({ name: m.validatorName, publicKey: m.validatorKey })),
    accounts: [
      ...spec.accounts.map((a) => ({ address: addressOf(a.publicKey), balance: a.balance })),
      ...spec.members.map((m) => ({ address: addressOf(m.adminKey), balance: m.adminBalance })),
      ...(regulator ? [{ address: addressOf(regulator.key), balance: regulator.balance }] : []),
    ],
    params: spec.params ?? DEFAULT_PARAMS,
    app: {
      params: { permissioned: spec.permissioned, freezeThreshold: 1 },
      org: [
        ...spec.members.map((m) => ({
          id: m.orgId,
          name: m.orgName,
          committee: true,
          members: [
            { account: hexAddress(m.adminKey), roles: [...ADMIN_ROLES] },
            ...accountsOf(m.orgId),
          ],
        })),
        ...(regulator
          ? [
              {
                id: regulator.orgId,
                name: regulator.orgName,
                committee: false,
                members: [
                  { account: hexAddress(regulator.key), roles: [...REGULATOR_ROLES] },
                  ...accountsOf(regulator.orgId),
                ],
              },
            ]
          : []),
      ],
    },
  };
}

/**
 * Builds the genesis state as a node will at start, so a genesis the node would refuse (more
 * members in one organisation than the org module takes) fails here, not at the first start.
 */
export function checkGenesisState(genesis: Genesis, code: ErrorCode): void {
  try {
    genesisValues(civitasApp(), genesis);
  } catch (err) {
    if (!isCivitasError(err, 'GENESIS_INVALID')) throw err;
    throw new CivitasError(code, `the genesis would be invalid: ${err.message}`);
  }
}

/** The multiaddr other members dial: `/ip4|ip6|dns4/<host>/tcp/<port>/p2p/<peer id>`. */
export function memberMultiaddr(host: string, port: number, validatorKey: Uint8Array): string {
  const family = isIP(host);
  const protocol = family === 4 ? 'ip4' : family === 6 ? 'ip6' : 'dns4';
  return `/${protocol}/${host}/tcp/${port}/p2p/${peerIdFromValidatorKey(validatorKey)}`;
}
