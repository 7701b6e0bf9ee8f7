/**
 * The `org` module: organisations, their members and roles (state.ts).
 *
 *   org.addMember    {account, roles}              an admin of the organisation; the account cosigns
 *   org.removeMember {account}                     an admin of the account's organisation
 *   org.setRoles     {account, roles}              an admin (admin, member); governance (any)
 *   org.register     {id, name, admins, committee} governance only
 *   org.suspend      {id}                          governance only
 *
 * On a permissioned chain (params.permissioned) every tx's sender must be an active member of
 * an active organisation (checkTx); the node refuses others at admission already.
 *
 * Events: org.member_added, org.member_removed, org.roles_set, org.registered, org.suspended.
 * Objects: GET /state/org/<org id> and GET /state/org/member/<address>.
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import { decode, type Reader } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { CivitasError, type ReceiptFailureCode } from '../../errors/index.ts';
import { type History, NO_HISTORY } from '../history.ts';
import { jsonAddress, jsonBool, jsonList, jsonObject, jsonString } from '../json-args.ts';
import type { AppModule, CallContext, CallOutcome, Method } from '../module.ts';
import { appParams, PARAMS_KEY } from '../params/state.ts';
import type { StateAccess } from '../state-view.ts';
import { isObserverReadiness } from '../validators/state.ts';
import {
  ACTIVE_ORGS_KEY,
  COMMITTEE_KEY,
  GOVERNED_ROLES,
  isActiveMember,
  isActiveOrganisation,
  MAX_ORGS,
  type Member,
  memberCodec,
  memberKey,
  memberOf,
  ORG_ID_PATTERN,
  ORG_NAME_MAX,
  type Organisation,
  organisation,
  organisationCodec,
  orgKey,
  ROLES,
  type Role,
  rolesFromBits,
  rolesToBits,
  setActiveOrganisation,
  setInCommittee,
} from './state.ts';

/** Most admins an organisation is registered with in one call. */
const MAX_ADMINS = 16;

export interface MemberArgs {
  readonly account: Uint8Array;
  readonly roles: readonly Role[];
}

export interface RegisterArgs {
  readonly id: string;
  readonly name: string;
  readonly admins: readonly Uint8Array[];
  readonly committee: boolean;
}

function parseRoles(value: unknown, field: string): Role[] {
  const roles = jsonList(value, field, 'ORG_BAD_ARGS', ROLES.length, (v, f) => {
    if (typeof v !== 'string' || !(ROLES as readonly string[]).includes(v)) {
      throw new CivitasError('ORG_BAD_ARGS', `${f} must be one of ${ROLES.join(', ')}`);
    }
    return v as Role;
  });
  return rolesFromBits(rolesToBits(roles));
}

function readRoles(r: Reader): Role[] {
  const bits = r.u8();
  if (bits >= 1 << ROLES.length)
    throw new CivitasError('ORG_BAD_ARGS', `unknown role bits ${bits}`);
  return rolesFromBits(bits);
}

function orgId(value: unknown, field: string): string {
  return jsonString(value, field, 'ORG_BAD_ARGS', {
    maxLength: 32,
    pattern: ORG_ID_PATTERN,
    patternText: 'must be 1..32 of a-z, 0-9, "-", "_", starting with a letter or digit',
  });
}

const memberArgs = {
  encode: (a: MemberArgs) =>
    encode((w) => w.fixed(a.account, ADDRESS_LENGTH).u8(rolesToBits(a.roles))),
  decode: (bytes: Uint8Array) =>
    decode(bytes, (r) => ({ account: r.fixed(ADDRESS_LENGTH), roles: readRoles(r) })),
  fromJson(json: unknown): MemberArgs {
    const o = jsonObject(json, 'ORG_BAD_ARGS', ['account', 'roles']);
    return {
      account: jsonAddress(o.account, 'account', 'ORG_BAD_ARGS'),
      roles: parseRoles(o.roles ?? ['member'], 'roles'),
    };
  },
  toJson: (a: MemberArgs) => ({ account: toHex(a.account), roles: [...a.roles] }),
};

const accountArgs = {
  encode: (a: { account: Uint8Array }) => encode((w) => w.fixed(a.account, ADDRESS_LENGTH)),
  decode: (bytes: Uint8Array) => decode(bytes, (r) => ({ account: r.fixed(ADDRESS_LENGTH) })),
  fromJson(json: unknown) {
    const o = jsonObject(json, 'ORG_BAD_ARGS', ['account']);
    return { account: jsonAddress(o.account, 'account', 'ORG_BAD_ARGS') };
  },
  toJson: (a: { account: Uint8Array }) => ({ account: toHex(a.account) }),
};

/**
 * The id of the organisation the sender administers: an active admin of an active
 * organisation (read from the member record and the active list, a block key: no read of the
 * organisation record, which keys() does not name). A governance call acts for no
 * organisation (it may act on any).
 */
function adminOrg(ctx: CallContext): string | undefined {
  const m = memberOf(ctx.state, ctx.sender);
  if (m === undefined || !m.active || !m.roles.includes('admin')) return undefined;
  return isActiveOrganisation(ctx.state, m.org) ? m.org : undefined;
}

/** Rule: an admin acts within its own organisation; governance acts anywhere. */
function mayManage(ctx: CallContext, org: string): CallOutcome {
  if (ctx.origin === 'governance') return undefined;
  const own = adminOrg(ctx);
  if (own === undefined) return 'ORG_NOT_ADMIN';
  return own === org ? undefined : 'ORG_OTHER_ORGANISATION';
}

function writeMember(
  ctx: CallContext,
  account: Uint8Array,
  prev: Member | undefined,
  next: Omit<Member, 'history'>,
): Member {
  const member = { ...next, history: ctx.advance(memberKey(account), prev?.history ?? NO_HISTORY) };
  ctx.state.set(memberKey(account), member, memberCodec);
  return member;
}

const addMember: Method<MemberArgs> = {
  args: memberArgs,
  keys: (a, ctx) => [memberKey(a.account), memberKey(ctx.sender)],
  execute(args, ctx) {
    // Rule: an organisation's admin adds members to it (governance registers organisations).
    const own = adminOrg(ctx);
    if (own === undefined) return 'ORG_NOT_ADMIN';
    // Rule: regulator and issuer are granted by governance only (org.setRoles in a proposal).
    if (args.roles.some((r) => GOVERNED_ROLES.has(r))) return 'ORG_ROLE_GOVERNED';
    // Rule: an account joins only with its own consent: it cosigns the tx that adds it.
    if (!ctx.signed(args.account)) return 'ORG_CONSENT_REQUIRED';
    const existing = memberOf(ctx.state, args.account);
    // Rule: an account belongs to one organisation; a removed member may be added back to it.
    if (existing !== undefined && (existing.active || existing.org !== own)) {
      return 'ORG_ALREADY_MEMBER';
    }
    const stale = ctx.checkRev(existing?.history ?? NO_HISTORY);
    if (stale !== undefined) return stale;
    const roles = args.roles.length === 0 ? (['member'] as Role[]) : args.roles;
    writeMember(ctx, args.account, existing, { org: own, roles, active: true });
    ctx.emit('org.member_added', [
      ['org', own],
      ['account', toHex(args.account)],
      ['roles', roles.join(',')],
    ]);
    return undefined;
  },
};

/** The member record a call may change: an active member of an organisation the caller manages. */
function managedMember(ctx: CallContext, account: Uint8Array): Member | ReceiptFailureCode {
  const existing = memberOf(ctx.state, account);
  if (existing === undefined || !existing.active) return 'ORG_NOT_MEMBER';
  return mayManage(ctx, existing.org) ?? existing;
}

const removeMember: Method<{ account: Uint8Array }> = {
  args: accountArgs,
  keys: (a, ctx) => [memberKey(a.account), memberKey(ctx.sender)],
  execute(args, ctx) {
    const existing = managedMember(ctx, args.account);
    if (typeof existing === 'string') return existing;
    const stale = ctx.checkRev(existing.history);
    if (stale !== undefined) return stale;
    writeMember(ctx, args.account, existing, { ...existing, active: false });
    ctx.emit('org.member_removed', [
      ['org', existing.org],
      ['account', toHex(args.account)],
    ]);
    return undefined;
  },
};

const setRoles: Method<MemberArgs> = {
  args: memberArgs,
  keys: (a, ctx) => [memberKey(a.account), memberKey(ctx.sender)],
  execute(args, ctx) {
    const existing = managedMember(ctx, args.account);
    if (typeof existing === 'string') return existing;
    const { roles } = args;
    // Rule: an admin changes admin and member only; regulator and issuer change by governance.
    if (
      ctx.origin !== 'governance' &&
      [...GOVERNED_ROLES].some((r) => roles.includes(r) !== existing.roles.includes(r))
    ) {
      return 'ORG_ROLE_GOVERNED';
    }
    const stale = ctx.checkRev(existing.history);
    if (stale !== undefined) return stale;
    writeMember(ctx, args.account, existing, { ...existing, roles });
    ctx.emit('org.roles_set', [
      ['org', existing.org],
      ['account', toHex(args.account)],
      ['roles', roles.join(',')],
    ]);
    return undefined;
  },
};

/** Creates an organisation with its admins, as genesis and org.register do. */
function createOrganisation(
  state: StateAccess,
  args: RegisterArgs,
  history: (key: Uint8Array, prev: History) => History,
): CallOutcome {
  if (state.get(orgKey(args.id), organisationCodec) !== undefined) return 'ORG_EXISTS';
  for (const admin of args.admins) {
    if (state.get(memberKey(admin), memberCodec) !== undefined) return 'ORG_ALREADY_MEMBER';
  }
  state.set(
    orgKey(args.id),
    {
      id: args.id,
      name: args.name,
      active: true,
      committee: args.committee,
      history: history(orgKey(args.id), NO_HISTORY),
    },
    organisationCodec,
  );
  for (const admin of args.admins) {
    state.set(
      memberKey(admin),
      {
        org: args.id,
        roles: ['admin', 'member'],
        active: true,
        history: history(memberKey(admin), NO_HISTORY),
      },
      memberCodec,
    );
  }
  setActiveOrganisation(state, args.id, true);
  if (args.committee) setInCommittee(state, args.id, true);
  return undefined;
}

const register: Method<RegisterArgs> = {
  args: {
    encode: (a) =>
      encode((w) =>
        w
          .string(a.id)
          .string(a.name)
          .list(a.admins, (ww, x) => ww.fixed(x, ADDRESS_LENGTH))
          .bool(a.committee),
      ),
    decode: (bytes) =>
      decode(bytes, (r) => {
        const id = r.string(32);
        if (!ORG_ID_PATTERN.test(id))
          throw new CivitasError('ORG_BAD_ARGS', `bad organisation id ${id}`);
        return {
          id,
          name: r.string(ORG_NAME_MAX * 4),
          admins: r.list(MAX_ADMINS, (rr) => rr.fixed(ADDRESS_LENGTH)),
          committee: r.bool(),
        };
      }),
    fromJson(json) {
      const o = jsonObject(json, 'ORG_BAD_ARGS', ['id', 'name', 'admins', 'committee']);
      return {
        id: orgId(o.id, 'id'),
        name: jsonString(o.name, 'name', 'ORG_BAD_ARGS', { maxLength: ORG_NAME_MAX }),
        admins: jsonList(o.admins, 'admins', 'ORG_BAD_ARGS', MAX_ADMINS, (v, f) =>
          jsonAddress(v, f, 'ORG_BAD_ARGS'),
        ),
        committee:
          o.committee === undefined ? true : jsonBool(o.committee, 'committee', 'ORG_BAD_ARGS'),
      };
    },
    toJson: (a) => ({
      id: a.id,
      name: a.name,
      admins: a.admins.map(toHex),
      committee: a.committee,
    }),
  },
  keys: (a) => [orgKey(a.id), COMMITTEE_KEY, ...a.admins.map(memberKey)],
  execute(args, ctx) {
    if (ctx.origin !== 'governance') return 'GOV_ONLY';
    const code = createOrganisation(ctx.state, args, (key, h) => ctx.advance(key, h));
    if (code !== undefined) return code;
    ctx.emit('org.registered', [
      ['org', args.id],
      ['name', args.name],
      ['committee', String(args.committee)],
    ]);
    return undefined;
  },
};

const suspend: Method<{ id: string }> = {
  args: {
    encode: (a) => encode((w) => w.string(a.id)),
    decode: (bytes) => decode(bytes, (r) => ({ id: r.string(32) })),
    fromJson(json) {
      const o = jsonObject(json, 'ORG_BAD_ARGS', ['id']);
      return { id: orgId(o.id, 'id') };
    },
    toJson: (a) => ({ id: a.id }),
  },
  keys: (a) => [orgKey(a.id), COMMITTEE_KEY],
  execute(args, ctx) {
    if (ctx.origin !== 'governance') return 'GOV_ONLY';
    const org = organisation(ctx.state, args.id);
    if (org === undefined) return 'ORG_UNKNOWN';
    if (!org.active) return 'ORG_SUSPENDED';
    ctx.state.set(
      orgKey(args.id),
      { ...org, active: false, history: ctx.advance(orgKey(args.id), org.history) },
      organisationCodec,
    );
    setActiveOrganisation(ctx.state, args.id, false);
    setInCommittee(ctx.state, args.id, false);
    ctx.emit('org.suspended', [['org', args.id]]);
    return undefined;
  },
};

export function organisationToJson(o: Organisation): Record<string, unknown> {
  return {
    id: o.id,
    name: o.name,
    active: o.active,
    committee: o.committee,
    rev: o.history.rev,
    hist: toHex(o.history.hist),
  };
}

export function memberToJson(m: Member): Record<string, unknown> {
  return {
    org: m.org,
    roles: [...m.roles],
    active: m.active,
    rev: m.history.rev,
    hist: toHex(m.history.hist),
  };
}

interface GenesisOrg {
  id: string;
  name: string;
  committee: boolean;
  admins: Uint8Array[];
  members: Array<{ account: Uint8Array; roles: Role[] }>;
}

function parseGenesisOrgs(section: unknown): GenesisOrg[] {
  const list = jsonList(section, 'app.org', 'GENESIS_INVALID', MAX_ORGS, (v, f) => {
    const o = jsonObject(v, 'GENESIS_INVALID', ['id', 'name', 'committee', 'admins', 'members']);
    return {
      id: jsonString(o.id, `${f}.id`, 'GENESIS_INVALID', {
        maxLength: 32,
        pattern: ORG_ID_PATTERN,
      }),
      name: jsonString(o.name, `${f}.name`, 'GENESIS_INVALID', { maxLength: ORG_NAME_MAX }),
      committee:
        o.committee === undefined
          ? true
          : jsonBool(o.committee, `${f}.committee`, 'GENESIS_INVALID'),
      admins: jsonList(o.admins ?? [], `${f}.admins`, 'GENESIS_INVALID', MAX_ADMINS, (a, af) =>
        jsonAddress(a, af, 'GENESIS_INVALID'),
      ),
      members: jsonList(o.members ?? [], `${f}.members`, 'GENESIS_INVALID', 10_000, (m, mf) => {
        const mo = jsonObject(m, 'GENESIS_INVALID', ['account', 'roles']);
        let roles: Role[];
        try {
          roles = parseRoles(mo.roles ?? ['member'], `${mf}.roles`);
        } catch (err) {
          throw new CivitasError('GENESIS_INVALID', (err as Error).message);
        }
        return { account: jsonAddress(mo.account, `${mf}.account`, 'GENESIS_INVALID'), roles };
      }),
    };
  });
  return list;
}

export const orgModule: AppModule = {
  name: 'org',
  methods: { addMember, removeMember, setRoles, register, suspend },
  objects: {
    key(id) {
      if (id.startsWith('member/')) {
        try {
          return memberKey(fromHex(id.slice('member/'.length), ADDRESS_LENGTH));
        } catch {
          throw new CivitasError('ORG_BAD_ID', `a member id is member/<address>: ${id}`);
        }
      }
      if (!ORG_ID_PATTERN.test(id)) {
        throw new CivitasError('ORG_BAD_ID', `not an organisation id or member/<address>: ${id}`);
      }
      return orgKey(id);
    },
    toJson: (value, id) =>
      id.startsWith('member/')
        ? memberToJson(memberCodec.decode(value))
        : organisationToJson(organisationCodec.decode(value)),
  },
  blockKeys: [PARAMS_KEY, ACTIVE_ORGS_KEY],
  // The sender's membership is read only where it matters: on a permissioned chain.
  txKeys: (ctx) => (appParams(ctx.blockState).permissioned ? [memberKey(ctx.sender)] : []),
  checkTx(ctx) {
    // Rule: on a permissioned chain only active members of active organisations transact —
    // and a registered observer, for its readiness proof alone (validators/state.ts).
    if (!appParams(ctx.state).permissioned) return undefined;
    if (isActiveMember(ctx.state, ctx.sender)) return undefined;
    return isObserverReadiness(ctx.state, ctx.sender, ctx.txCalls) ? undefined : 'ORG_NOT_A_MEMBER';
  },
  genesis({ section, state }) {
    if (section === undefined) return;
    for (const org of parseGenesisOrgs(section)) {
      const code = createOrganisation(state, org, (_key, h) => h);
      if (code !== undefined) {
        throw new CivitasError('GENESIS_INVALID', `app.org ${org.id}: ${code}`);
      }
      for (const m of org.members) {
        if (state.get(memberKey(m.account), memberCodec) !== undefined) {
          throw new CivitasError(
            'GENESIS_INVALID',
            `app.org ${org.id}: ${toHex(m.account)} is a member twice`,
          );
        }
        state.set(
          memberKey(m.account),
          { org: org.id, roles: m.roles, active: true, history: NO_HISTORY },
          memberCodec,
        );
      }
    }
  },
};
