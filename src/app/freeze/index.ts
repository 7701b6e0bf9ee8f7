/**
 * The `freeze` module: regulators impose and lift freeze orders (state.ts).
 *
 *   freeze.impose {kind, id, legalBasis, reason}   role regulator
 *   freeze.lift   {kind, id}                       role regulator
 *
 * Events: freeze.approved (an imposition below the threshold), freeze.imposed, freeze.lifted.
 * Objects: GET /state/freeze/<kind>/<id>, e.g. account/<address>, asset/<CLASS>/<ID>,
 * doc/<id>, recv/<id>.
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import { decode, type Reader } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { equalBytes, fromHex, toHex, utf8 } from '../../crypto/bytes.ts';
import { HASH_LENGTH } from '../../crypto/hash.ts';
import { CivitasError } from '../../errors/index.ts';
import { NO_HISTORY } from '../history.ts';
import { jsonHash, jsonObject, jsonString } from '../json-args.ts';
import type { AppModule, CallContext, CallOutcome, Method } from '../module.ts';
import { checkObjectId, objectIdBytes, parseAssetId } from '../object-id.ts';
import { hasRole, memberKey } from '../org/state.ts';
import { appParams, PARAMS_KEY } from '../params/state.ts';
import {
  ACTIVE_FREEZES_KEY,
  countActiveFreeze,
  FREEZE_KINDS,
  FREEZE_MAX_APPROVALS,
  FREEZE_REASON_MAX,
  type FreezeKind,
  type FreezeOrder,
  freezeKey,
  freezeOrderCodec,
} from './state.ts';

export interface FreezeTarget {
  readonly kind: FreezeKind;
  /** The object's id bytes: an address for accounts, the UTF-8 id for the others. */
  readonly id: Uint8Array;
}

export interface ImposeArgs extends FreezeTarget {
  readonly legalBasis: Uint8Array;
  readonly reason: string;
}

/** The longest id: an asset's CLASS/ID (64 + 1 + 64 bytes). */
const FREEZE_ID_MAX_BYTES = 129;

function isKind(kind: string): kind is FreezeKind {
  return (FREEZE_KINDS as readonly string[]).includes(kind);
}

/**
 * Parses an object id as it is written in JSON and URLs: an address (hex) for accounts,
 * `CLASS/ID` for assets, the id for documents and receivables.
 */
export function parseFreezeId(
  kind: FreezeKind,
  id: string,
  code: 'FREEZE_BAD_ID' | 'FREEZE_BAD_ARGS' = 'FREEZE_BAD_ID',
): Uint8Array {
  switch (kind) {
    case 'account':
      try {
        return fromHex(id, ADDRESS_LENGTH);
      } catch {
        throw new CivitasError(code, `an account id is an address (40 hex): ${id}`);
      }
    case 'asset':
      parseAssetId(id, code);
      return objectIdBytes(id);
    case 'doc':
    case 'recv':
      return objectIdBytes(checkObjectId(id, `a ${kind} id`, code));
  }
}

export function formatFreezeId(kind: FreezeKind, id: Uint8Array): string {
  return kind === 'account' ? toHex(id) : utf8.decode(id);
}

function kindOf(value: unknown, code: 'FREEZE_BAD_ARGS'): FreezeKind {
  const kind = jsonString(value, 'kind', code, { maxLength: 16 });
  if (!isKind(kind)) {
    throw new CivitasError(code, `kind must be one of ${FREEZE_KINDS.join(', ')}`);
  }
  return kind;
}

function readTarget(r: Reader): FreezeTarget {
  const kind = r.string(16);
  if (!isKind(kind)) throw new CivitasError('FREEZE_BAD_ARGS', `unknown freeze kind ${kind}`);
  const id = r.bytes(FREEZE_ID_MAX_BYTES);
  if (kind === 'account') {
    if (id.length !== ADDRESS_LENGTH) {
      throw new CivitasError('FREEZE_BAD_ARGS', 'an account id is 20 bytes');
    }
    return { kind, id };
  }
  // Canonical: exactly the bytes parseFreezeId gives for the id's text.
  let text: string;
  try {
    text = utf8.decode(id);
  } catch {
    throw new CivitasError('FREEZE_BAD_ARGS', `a ${kind} id is UTF-8 text`);
  }
  return { kind, id: parseFreezeId(kind, text, 'FREEZE_BAD_ARGS') };
}

function targetKeys(t: FreezeTarget, ctx: { sender: Uint8Array }): Uint8Array[] {
  return [freezeKey(t.kind, t.id), memberKey(ctx.sender), PARAMS_KEY];
}

function targetAttributes(t: FreezeTarget): Array<[string, string]> {
  return [
    ['kind', t.kind],
    ['id', formatFreezeId(t.kind, t.id)],
  ];
}

/** Rule: only an active regulator (role granted by governance) imposes or lifts orders. */
function requireRegulator(ctx: CallContext): CallOutcome {
  return hasRole(ctx.state, ctx.sender, 'regulator') ? undefined : 'FREEZE_NOT_REGULATOR';
}

const impose: Method<ImposeArgs> = {
  args: {
    encode: (a) =>
      encode((w) => w.string(a.kind).bytes(a.id).fixed(a.legalBasis, HASH_LENGTH).string(a.reason)),
    decode: (bytes) =>
      decode(bytes, (r) => {
        const target = readTarget(r);
        return {
          ...target,
          legalBasis: r.fixed(HASH_LENGTH),
          reason: r.string(FREEZE_REASON_MAX * 4),
        };
      }),
    fromJson(json) {
      const o = jsonObject(json, 'FREEZE_BAD_ARGS', ['kind', 'id', 'legalBasis', 'reason']);
      const kind = kindOf(o.kind, 'FREEZE_BAD_ARGS');
      if (o.legalBasis === undefined) {
        throw new CivitasError(
          'FREEZE_NO_LEGAL_BASIS',
          'legalBasis (the 32-byte hash of the order document) is required',
        );
      }
      return {
        kind,
        id: parseFreezeId(
          kind,
          jsonString(o.id, 'id', 'FREEZE_BAD_ARGS', { maxLength: 129 }),
          'FREEZE_BAD_ARGS',
        ),
        legalBasis: jsonHash(o.legalBasis, 'legalBasis', 'FREEZE_BAD_ARGS'),
        reason: jsonString(o.reason, 'reason', 'FREEZE_BAD_ARGS', { maxLength: FREEZE_REASON_MAX }),
      };
    },
    toJson: (a) => ({
      kind: a.kind,
      id: formatFreezeId(a.kind, a.id),
      legalBasis: toHex(a.legalBasis),
      reason: a.reason,
    }),
  },
  keys: targetKeys,
  execute(args, ctx) {
    const denied = requireRegulator(ctx);
    if (denied !== undefined) return denied;
    // Rule: an order rests on a legal document; the zero hash names none.
    if (args.legalBasis.every((b) => b === 0)) return 'FREEZE_NO_LEGAL_BASIS';
    const key = freezeKey(args.kind, args.id);
    const order = ctx.state.get(key, freezeOrderCodec);
    if (order?.active === true) return 'FREEZE_ALREADY_ACTIVE';
    const history = order?.history ?? NO_HISTORY;
    const stale = ctx.checkRev(history);
    if (stale !== undefined) return stale;
    // Approvals toward the threshold count only for the same legal basis.
    const pending =
      order !== undefined && equalBytes(order.legalBasis, args.legalBasis) ? order.approvals : [];
    if (pending.some((a) => equalBytes(a, ctx.sender))) return 'FREEZE_ALREADY_APPROVED';
    if (pending.length >= FREEZE_MAX_APPROVALS) return 'FREEZE_ALREADY_APPROVED';
    const approvals = [...pending, ctx.sender];
    const active = approvals.length >= appParams(ctx.state).freezeThreshold;
    const next: FreezeOrder = {
      active,
      legalBasis: args.legalBasis,
      reason: args.reason,
      approvals,
      lifts: [],
      since: active ? ctx.height : (order?.since ?? ctx.height),
      history: ctx.advance(key, history),
    };
    ctx.state.set(key, next, freezeOrderCodec);
    if (active) countActiveFreeze(ctx.state, args.kind, 1);
    ctx.emit(active ? 'freeze.imposed' : 'freeze.approved', [
      ...targetAttributes(args),
      ['legalBasis', toHex(args.legalBasis)],
      ['reason', args.reason],
      ['regulator', toHex(ctx.sender)],
      ['rev', String(next.history.rev)],
    ]);
    return undefined;
  },
};

const lift: Method<FreezeTarget> = {
  args: {
    encode: (a) => encode((w) => w.string(a.kind).bytes(a.id)),
    decode: (bytes) => decode(bytes, readTarget),
    fromJson(json) {
      const o = jsonObject(json, 'FREEZE_BAD_ARGS', ['kind', 'id']);
      const kind = kindOf(o.kind, 'FREEZE_BAD_ARGS');
      return {
        kind,
        id: parseFreezeId(
          kind,
          jsonString(o.id, 'id', 'FREEZE_BAD_ARGS', { maxLength: 129 }),
          'FREEZE_BAD_ARGS',
        ),
      };
    },
    toJson: (a) => ({ kind: a.kind, id: formatFreezeId(a.kind, a.id) }),
  },
  keys: targetKeys,
  execute(args, ctx) {
    const denied = requireRegulator(ctx);
    if (denied !== undefined) return denied;
    const key = freezeKey(args.kind, args.id);
    const order = ctx.state.get(key, freezeOrderCodec);
    if (order === undefined || !order.active) return 'FREEZE_NOT_ACTIVE';
    const stale = ctx.checkRev(order.history);
    if (stale !== undefined) return stale;
    if (order.lifts.some((a) => equalBytes(a, ctx.sender))) return 'FREEZE_ALREADY_APPROVED';
    const lifts = [...order.lifts, ctx.sender];
    const ended = lifts.length >= appParams(ctx.state).freezeThreshold;
    const next: FreezeOrder = ended
      ? { ...order, active: false, approvals: [], lifts: [], since: ctx.height }
      : { ...order, lifts };
    ctx.state.set(key, { ...next, history: ctx.advance(key, order.history) }, freezeOrderCodec);
    if (ended) countActiveFreeze(ctx.state, args.kind, -1);
    ctx.emit(ended ? 'freeze.lifted' : 'freeze.lift_approved', [
      ...targetAttributes(args),
      ['regulator', toHex(ctx.sender)],
      ['rev', String(order.history.rev + 1)],
    ]);
    return undefined;
  },
};

export function freezeOrderToJson(o: FreezeOrder): Record<string, unknown> {
  return {
    active: o.active,
    legalBasis: toHex(o.legalBasis),
    reason: o.reason,
    approvals: o.approvals.map(toHex),
    lifts: o.lifts.map(toHex),
    since: o.since,
    rev: o.history.rev,
    hist: toHex(o.history.hist),
  };
}

export const freezeModule: AppModule = {
  name: 'freeze',
  methods: { impose, lift },
  blockKeys: [ACTIVE_FREEZES_KEY],
  objects: {
    key(id) {
      const slash = id.indexOf('/');
      const kind = id.slice(0, slash);
      if (slash < 0 || !isKind(kind)) {
        throw new CivitasError(
          'FREEZE_BAD_ID',
          `a freeze id is <kind>/<id>, kind one of ${FREEZE_KINDS.join(', ')}`,
        );
      }
      return freezeKey(kind, parseFreezeId(kind, id.slice(slash + 1)));
    },
    toJson: (value) => freezeOrderToJson(freezeOrderCodec.decode(value)),
  },
};
