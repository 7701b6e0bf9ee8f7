/**
 * Organisations and their members: who may act on a consortium chain.
 *
 *   org/o/<org id>     Organisation { name, active, committee, history }
 *   org/m/<address>    Member       { org, roles, active, history }
 *   org/active         the ids of the active organisations (a block key: every permission
 *                      check needs it, and it is small)
 *   org/committee      the ids of the active committee organisations
 *
 * An account belongs to at most one organisation. Roles: `admin` (of its organisation),
 * `member` (may transact), `regulator`, `issuer`. An organisation's admins are its members
 * with the admin role; `committee` organisations vote in governance (one vote each).
 */
import { decode, expectVersion } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { concatBytes, utf8 } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import { type History, readHistory, writeHistory } from '../history.ts';
import type { StateAccess, StateRead, ValueCodec } from '../state-view.ts';

export const ROLES = ['admin', 'member', 'regulator', 'issuer'] as const;
export type Role = (typeof ROLES)[number];

/** Roles only governance may grant or revoke. */
export const GOVERNED_ROLES: ReadonlySet<Role> = new Set(['regulator', 'issuer']);

/** An organisation id: 1..32 of lower-case letters, digits, "-" and "_". */
export const ORG_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const ORG_NAME_MAX = 100;

export interface Organisation {
  readonly id: string;
  readonly name: string;
  readonly active: boolean;
  /** Votes in governance (one vote, cast by any of its admins). */
  readonly committee: boolean;
  readonly history: History;
}

export interface Member {
  readonly org: string;
  readonly roles: readonly Role[];
  readonly active: boolean;
  readonly history: History;
}

const ORG_PREFIX = utf8.encode('org/o/');
const MEMBER_PREFIX = utf8.encode('org/m/');

export function orgKey(id: string): Uint8Array {
  return concatBytes(ORG_PREFIX, utf8.encode(id));
}

export function memberKey(address: Uint8Array): Uint8Array {
  return concatBytes(MEMBER_PREFIX, address);
}

/** Roles as a bit set: bit i is ROLES[i]; canonical order. */
export function rolesToBits(roles: readonly Role[]): number {
  let bits = 0;
  for (const r of roles) bits |= 1 << ROLES.indexOf(r);
  return bits;
}

export function rolesFromBits(bits: number): Role[] {
  return ROLES.filter((_, i) => (bits & (1 << i)) !== 0);
}

export const organisationCodec: ValueCodec<Organisation> = {
  encode: (o) =>
    encode((w) => {
      w.u8(1).string(o.id).string(o.name).bool(o.active).bool(o.committee);
      writeHistory(w, o.history);
    }),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'organisation');
      return {
        id: r.string(32),
        name: r.string(ORG_NAME_MAX * 4),
        active: r.bool(),
        committee: r.bool(),
        history: readHistory(r),
      };
    }),
};

export const memberCodec: ValueCodec<Member> = {
  encode: (m) =>
    encode((w) => {
      w.u8(1).string(m.org).u8(rolesToBits(m.roles)).bool(m.active);
      writeHistory(w, m.history);
    }),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'member');
      const org = r.string(32);
      const bits = r.u8();
      if (bits >= 1 << ROLES.length) {
        throw new CivitasError('CODEC_BAD_VALUE', `member roles: unknown bits in ${bits}`);
      }
      return { org, roles: rolesFromBits(bits), active: r.bool(), history: readHistory(r) };
    }),
};

/** The member record of an account (active or not), if it has one. */
export function memberOf(state: StateRead, address: Uint8Array): Member | undefined {
  return state.get(memberKey(address), memberCodec);
}

export function organisation(state: StateRead, id: string): Organisation | undefined {
  return state.get(orgKey(id), organisationCodec);
}

/** Whether an account holds `role` now: an active member of an active organisation with it. */
export function hasRole(state: StateRead, address: Uint8Array, role: Role): boolean {
  const m = memberOf(state, address);
  if (m === undefined || !m.active || !m.roles.includes(role)) return false;
  return isActiveOrganisation(state, m.org);
}

/** Whether an account may transact: an active member (any role) of an active organisation. */
export function isActiveMember(state: StateRead, address: Uint8Array): boolean {
  const m = memberOf(state, address);
  if (m === undefined || !m.active) return false;
  return isActiveOrganisation(state, m.org);
}

/** The committee: ids of the active committee organisations, sorted. */
export const COMMITTEE_KEY = utf8.encode('org/committee');
/** The ids of the active organisations, sorted. */
export const ACTIVE_ORGS_KEY = utf8.encode('org/active');

/** A sorted list of organisation ids (the committee, the active organisations). */
export const orgIdsCodec: ValueCodec<readonly string[]> = {
  encode: (ids) => encode((w) => w.u8(1).list(ids, (ww, id) => ww.string(id))),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'organisation ids');
      return r.list(MAX_ORGS, (rr) => rr.string(32));
    }),
};

/** Most organisations on a chain (a bound for every list of them). */
export const MAX_ORGS = 256;

export function committee(state: StateRead): readonly string[] {
  return state.get(COMMITTEE_KEY, orgIdsCodec) ?? [];
}

/** Whether an organisation is registered and not suspended (reads the block key org/active). */
export function isActiveOrganisation(state: StateRead, id: string): boolean {
  return (state.get(ACTIVE_ORGS_KEY, orgIdsCodec) ?? []).includes(id);
}

/** Adds or removes an id in a sorted list of organisation ids (sorted, so it is canonical). */
function setInList(state: StateAccess, key: Uint8Array, id: string, member: boolean): void {
  const ids = state.get(key, orgIdsCodec) ?? [];
  if (ids.includes(id) === member) return;
  state.set(key, member ? [...ids, id].sort() : ids.filter((x) => x !== id), orgIdsCodec);
}

/** Adds an organisation to (or removes it from) the committee. */
export function setInCommittee(state: StateAccess, id: string, member: boolean): void {
  setInList(state, COMMITTEE_KEY, id, member);
}

/** Marks an organisation active (registered) or not (suspended) in org/active. */
export function setActiveOrganisation(state: StateAccess, id: string, active: boolean): void {
  setInList(state, ACTIVE_ORGS_KEY, id, active);
}
