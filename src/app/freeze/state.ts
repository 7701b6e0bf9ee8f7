/**
 * Freeze orders: a regulator's order that stops an account (and, with the use-case modules,
 * an asset, a document or a receivable) from disposing of value, never from being observed.
 *
 *   freeze/<kind>/<id>   FreezeOrder { active, legalBasis, reason, approvals, lifts, since, history }
 *
 * An order takes effect once `freezeThreshold` regulators have imposed it with the same
 * legal basis (the hash of the order document), and ends once as many have lifted it. Its
 * state is provable at any height; an absent key proves no order was ever made.
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import { decode, expectVersion } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { concatBytes, utf8 } from '../../crypto/bytes.ts';
import { HASH_LENGTH } from '../../crypto/hash.ts';
import { type History, readHistory, writeHistory } from '../history.ts';
import type { StateAccess, StateRead, ValueCodec } from '../state-view.ts';

/**
 * What can be frozen. Ids: an account's address (20 bytes); an asset's `CLASS/ID`, a
 * document's or a receivable's id (UTF-8, see object-id.ts).
 */
export const FREEZE_KINDS = ['account', 'asset', 'doc', 'recv'] as const;
export type FreezeKind = (typeof FREEZE_KINDS)[number];

export const FREEZE_REASON_MAX = 200;
/** At most this many regulators' approvals are kept per order (a threshold above is unreachable). */
export const FREEZE_MAX_APPROVALS = 32;

export interface FreezeOrder {
  readonly active: boolean;
  /** Hash of the legal document the order rests on. */
  readonly legalBasis: Uint8Array;
  readonly reason: string;
  /** Regulators who imposed the order with this legal basis (toward the threshold). */
  readonly approvals: readonly Uint8Array[];
  /** Regulators who lifted the active order (toward the threshold). */
  readonly lifts: readonly Uint8Array[];
  /** Height at which the order last took effect or ended. */
  readonly since: number;
  readonly history: History;
}

const PREFIX = utf8.encode('freeze/');

/** The order key of an object of `kind` with id bytes `id` (an address for accounts). */
export function freezeKey(kind: FreezeKind, id: Uint8Array): Uint8Array {
  return concatBytes(PREFIX, utf8.encode(`${kind}/`), id);
}

export const freezeOrderCodec: ValueCodec<FreezeOrder> = {
  encode: (o) =>
    encode((w) => {
      w.u8(1).bool(o.active).fixed(o.legalBasis, HASH_LENGTH).string(o.reason);
      w.list(o.approvals, (ww, a) => ww.fixed(a, ADDRESS_LENGTH));
      w.list(o.lifts, (ww, a) => ww.fixed(a, ADDRESS_LENGTH));
      w.varuint(o.since);
      writeHistory(w, o.history);
    }),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'freeze order');
      return {
        active: r.bool(),
        legalBasis: r.fixed(HASH_LENGTH),
        reason: r.string(FREEZE_REASON_MAX * 4),
        approvals: r.list(FREEZE_MAX_APPROVALS, (rr) => rr.fixed(ADDRESS_LENGTH)),
        lifts: r.list(FREEZE_MAX_APPROVALS, (rr) => rr.fixed(ADDRESS_LENGTH)),
        since: r.varuint(),
        history: readHistory(r),
      };
    }),
};

export function freezeOrder(
  state: StateRead,
  kind: FreezeKind,
  id: Uint8Array,
): FreezeOrder | undefined {
  return state.get(freezeKey(kind, id), freezeOrderCodec);
}

/**
 * Active orders per kind: a block key, so a call names an object's order key only while some
 * order of its kind is active (on most chains, never), and `isFrozen` reads it only then.
 */
export const ACTIVE_FREEZES_KEY = utf8.encode('freeze/active');

export const activeFreezesCodec: ValueCodec<ReadonlyMap<FreezeKind, number>> = {
  encode: (counts) =>
    encode((w) => {
      w.u8(1);
      const kinds = FREEZE_KINDS.filter((k) => (counts.get(k) ?? 0) > 0);
      w.list(kinds, (ww, k) => ww.string(k).varuint(counts.get(k)!));
    }),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'active freezes');
      const entries = r.list(FREEZE_KINDS.length, (rr) => [rr.string(16), rr.varuint()] as const);
      return new Map(
        entries.filter(([k]) => (FREEZE_KINDS as readonly string[]).includes(k)),
      ) as Map<FreezeKind, number>;
    }),
};

export function activeFreezes(state: StateRead, kind: FreezeKind): number {
  return state.get(ACTIVE_FREEZES_KEY, activeFreezesCodec)?.get(kind) ?? 0;
}

/** Counts an order of `kind` that took effect (+1) or ended (−1). */
export function countActiveFreeze(state: StateAccess, kind: FreezeKind, delta: 1 | -1): void {
  const counts = new Map(state.get(ACTIVE_FREEZES_KEY, activeFreezesCodec) ?? []);
  counts.set(kind, (counts.get(kind) ?? 0) + delta);
  state.set(ACTIVE_FREEZES_KEY, counts, activeFreezesCodec);
}

/**
 * The order key a call on the object must name so `isFrozen` can answer: none while no order
 * of its kind is active (derived from the block keys, see module.ts KeyContext).
 */
export function freezeKeysFor(state: StateRead, kind: FreezeKind, id: Uint8Array): Uint8Array[] {
  return activeFreezes(state, kind) === 0 ? [] : [freezeKey(kind, id)];
}

/** Whether an active order freezes the object. */
export function isFrozen(state: StateRead, kind: FreezeKind, id: Uint8Array): boolean {
  if (activeFreezes(state, kind) === 0) return false;
  return freezeOrder(state, kind, id)?.active === true;
}
