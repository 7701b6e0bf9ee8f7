/**
 * The `recv` module: receivables for supply-chain finance (state.ts). A debtor (role
 * `issuer`) owes a supplier; the supplier's claim is a piece that can be split, moved and,
 * by the debtor paying its holder through `bank`, settled.
 *
 *   recv.issue    {id, to, amount, dueHeight}   role issuer (the debtor); `to` cosigns
 *   recv.split    {id, newId, amount, to}       the piece's holder signs
 *   recv.transfer {id, to}                      the piece's holder signs
 *   recv.settle   {id}                          the debtor signs; pays the holder
 *
 * "Signs": the sender or a cosigner, so one multi-party tx composes calls of several
 * parties (a financing: the bank sends [recv.transfer to itself, bank.transfer to the
 * supplier] and the supplier cosigns; all or nothing). A frozen piece (freeze kind `recv`,
 * id bytes: the UTF-8 id) is neither split, transferred nor settled (FREEZE_ACTIVE); a frozen
 * debtor account cannot pay a settlement.
 *
 * Keys: each call names its piece (and split the new one) from its args. Settlement also
 * changes the root piece (its outstanding amount) and pays the holder's account, neither of
 * which its args ({id}) name: it asks the executor for both in one more read round (the tx
 * runs again), unless they are loaded already (the piece is the root, the holder signed or
 * another tx of the block named them).
 *
 * Events: recv.issued, recv.split, recv.transferred, recv.settled.
 * Objects: GET /state/recv/<id> (a piece: live or settled; root pieces carry face and
 * outstanding).
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import { decode } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { toHex } from '../../crypto/bytes.ts';
import { CivitasError, type ReceiptFailureCode } from '../../errors/index.ts';
import { accountStateKey, moveBalance } from '../bank/account.ts';
import { freezeKeysFor, isFrozen } from '../freeze/state.ts';
import { NO_HISTORY } from '../history.ts';
import { jsonAddress, jsonAmount, jsonObject, jsonUint } from '../json-args.ts';
import type { AppModule, CallContext, KeyContext, Method } from '../module.ts';
import { checkObjectId, jsonObjectId, OBJECT_ID_MAX, objectIdBytes } from '../object-id.ts';
import { hasRole, memberKey } from '../org/state.ts';
import { MissingStateKeys, type StateView } from '../state-view.ts';
import { type Piece, pieceCodec, pieceKey } from './state.ts';

export interface IssueArgs {
  readonly id: string;
  /** The supplier the debtor owes: the first holder. */
  readonly to: Uint8Array;
  readonly amount: bigint;
  readonly dueHeight: number;
}

export interface SplitArgs {
  readonly id: string;
  readonly newId: string;
  readonly amount: bigint;
  readonly to: Uint8Array;
}

export interface TransferArgs {
  readonly id: string;
  readonly to: Uint8Array;
}

export interface SettleArgs {
  readonly id: string;
}

const BAD = 'RECV_BAD_ARGS';

function readId(value: string, field: string): string {
  return checkObjectId(value, field, BAD);
}

/** Rule: a receivable's amounts are positive (an empty piece owes nothing). */
function positive(amount: bigint, field: string): bigint {
  if (amount === 0n) throw new CivitasError(BAD, `${field} must be positive`);
  return amount;
}

function jsonPositive(value: unknown, field: string): bigint {
  return positive(jsonAmount(value, field, BAD), field);
}

const issueArgs = {
  // Args (v1): string id | 20 to | varbig amount (u128, > 0) | varuint dueHeight.
  encode: (a: IssueArgs) =>
    encode((w) => w.string(a.id).fixed(a.to, ADDRESS_LENGTH).varbig(a.amount).varuint(a.dueHeight)),
  decode: (bytes: Uint8Array): IssueArgs =>
    decode(bytes, (r) => ({
      id: readId(r.string(OBJECT_ID_MAX), 'id'),
      to: r.fixed(ADDRESS_LENGTH),
      amount: positive(r.varbig(), 'amount'),
      dueHeight: r.varuint(),
    })),
  fromJson(json: unknown): IssueArgs {
    const o = jsonObject(json, BAD, ['id', 'to', 'amount', 'dueHeight']);
    return {
      id: jsonObjectId(o.id, 'id', BAD),
      to: jsonAddress(o.to, 'to', BAD),
      amount: jsonPositive(o.amount, 'amount'),
      dueHeight: jsonUint(o.dueHeight, 'dueHeight', BAD),
    };
  },
  toJson: (a: IssueArgs) => ({
    id: a.id,
    to: toHex(a.to),
    amount: a.amount.toString(),
    dueHeight: a.dueHeight,
  }),
};

const splitArgs = {
  // Args (v1): string id | string newId | varbig amount (u128, > 0) | 20 to.
  encode: (a: SplitArgs) =>
    encode((w) => w.string(a.id).string(a.newId).varbig(a.amount).fixed(a.to, ADDRESS_LENGTH)),
  decode: (bytes: Uint8Array): SplitArgs =>
    decode(bytes, (r) => ({
      id: readId(r.string(OBJECT_ID_MAX), 'id'),
      newId: readId(r.string(OBJECT_ID_MAX), 'newId'),
      amount: positive(r.varbig(), 'amount'),
      to: r.fixed(ADDRESS_LENGTH),
    })),
  fromJson(json: unknown): SplitArgs {
    const o = jsonObject(json, BAD, ['id', 'newId', 'amount', 'to']);
    return {
      id: jsonObjectId(o.id, 'id', BAD),
      newId: jsonObjectId(o.newId, 'newId', BAD),
      amount: jsonPositive(o.amount, 'amount'),
      to: jsonAddress(o.to, 'to', BAD),
    };
  },
  toJson: (a: SplitArgs) => ({
    id: a.id,
    newId: a.newId,
    amount: a.amount.toString(),
    to: toHex(a.to),
  }),
};

const transferArgs = {
  // Args (v1): string id | 20 to.
  encode: (a: TransferArgs) => encode((w) => w.string(a.id).fixed(a.to, ADDRESS_LENGTH)),
  decode: (bytes: Uint8Array): TransferArgs =>
    decode(bytes, (r) => ({
      id: readId(r.string(OBJECT_ID_MAX), 'id'),
      to: r.fixed(ADDRESS_LENGTH),
    })),
  fromJson(json: unknown): TransferArgs {
    const o = jsonObject(json, BAD, ['id', 'to']);
    return { id: jsonObjectId(o.id, 'id', BAD), to: jsonAddress(o.to, 'to', BAD) };
  },
  toJson: (a: TransferArgs) => ({ id: a.id, to: toHex(a.to) }),
};

const settleArgs = {
  // Args (v1): string id.
  encode: (a: SettleArgs) => encode((w) => w.string(a.id)),
  decode: (bytes: Uint8Array): SettleArgs =>
    decode(bytes, (r) => ({ id: readId(r.string(OBJECT_ID_MAX), 'id') })),
  fromJson(json: unknown): SettleArgs {
    const o = jsonObject(json, BAD, ['id']);
    return { id: jsonObjectId(o.id, 'id', BAD) };
  },
  toJson: (a: SettleArgs) => ({ id: a.id }),
};

/** The order key a call on piece `id` names while any `recv` order is active. */
function pieceFreezeKeys(ctx: KeyContext, id: string): Uint8Array[] {
  return freezeKeysFor(ctx.blockState, 'recv', objectIdBytes(id));
}

/**
 * The piece an op disposes of (split, transfer, settle), if it may: it exists, is live, is
 * not frozen, and is at the revision the op expects.
 */
function disposable(ctx: CallContext, key: Uint8Array, id: string): Piece | ReceiptFailureCode {
  const p = ctx.state.get(key, pieceCodec);
  if (p === undefined) return 'RECV_NOT_FOUND';
  // Rule: a settled piece is done: it no longer splits, moves or pays.
  if (p.status !== 'live') return 'RECV_SETTLED';
  // Rule: a frozen piece is not disposed of (split, transferred or settled).
  if (isFrozen(ctx.state, 'recv', objectIdBytes(id))) return 'FREEZE_ACTIVE';
  return ctx.checkRev(p.history) ?? p;
}

/**
 * Keys a call finds it needs only from a value it read (settlement: the root piece and the
 * holder's account, from the piece). A read of an unloaded key makes the executor roll the
 * tx back, read that key and run the tx again; asking for every missing key at once costs
 * one such round instead of one per key. The outcome is the same as if they were named.
 */
function requireLoaded(state: StateView, keys: readonly Uint8Array[]): void {
  const missing = keys.filter((k) => !state.has(k));
  if (missing.length > 0) throw new MissingStateKeys(missing);
}

const issue: Method<IssueArgs> = {
  args: issueArgs,
  keys: (a, ctx) => [pieceKey(a.id), memberKey(ctx.sender)],
  execute(args, ctx) {
    // Rule: the debtor issues: an active member with the issuer role (granted by governance).
    if (!hasRole(ctx.state, ctx.sender, 'issuer')) return 'RECV_NOT_ISSUER';
    // Rule: the supplier confirms what it is owed: it cosigns the tx that issues it.
    if (!ctx.signed(args.to)) return 'RECV_CONSENT_REQUIRED';
    // Rule: a receivable falls due after the block that issues it.
    if (args.dueHeight <= ctx.height) return 'RECV_BAD_DUE_HEIGHT';
    const key = ctx.keys[0]!;
    // Rule: an id names one piece for ever (settled pieces keep theirs).
    if (ctx.state.get(key, pieceCodec) !== undefined) return 'RECV_EXISTS';
    const stale = ctx.checkRev(NO_HISTORY);
    if (stale !== undefined) return stale;
    const p: Piece = {
      root: args.id,
      parent: null,
      totals: { face: args.amount, outstanding: args.amount },
      debtor: ctx.sender,
      holder: args.to,
      amount: args.amount,
      dueHeight: args.dueHeight,
      status: 'live',
      history: ctx.advance(key, NO_HISTORY),
    };
    ctx.state.set(key, p, pieceCodec);
    ctx.emit('recv.issued', [
      ['recv', args.id],
      ['debtor', ctx.senderHex],
      ['holder', toHex(args.to)],
      ['amount', args.amount.toString()],
      ['dueHeight', String(args.dueHeight)],
      ['rev', String(p.history.rev)],
    ]);
    return undefined;
  },
};

const split: Method<SplitArgs> = {
  args: splitArgs,
  keys: (a, ctx) => [pieceKey(a.id), pieceKey(a.newId), ...pieceFreezeKeys(ctx, a.id)],
  execute(args, ctx) {
    const [key, newKey] = ctx.keys as [Uint8Array, Uint8Array];
    const p = disposable(ctx, key, args.id);
    if (typeof p === 'string') return p;
    // Rule: the holder splits its piece (its signature).
    if (!ctx.signed(p.holder)) return 'RECV_NOT_HOLDER';
    // Rule: a split leaves the piece a positive amount: 0 < amount < the piece's amount.
    if (args.amount >= p.amount) return 'RECV_OVER_SPLIT';
    // Rule: an id names one piece for ever (settled pieces keep theirs).
    if (ctx.state.get(newKey, pieceCodec) !== undefined) return 'RECV_EXISTS';
    const rest = p.amount - args.amount;
    const kept: Piece = { ...p, amount: rest, history: ctx.advance(key, p.history) };
    // The new piece owes the same debtor's debt at the same due height, under the same root:
    // the live pieces of the root still add up to its outstanding amount.
    const carved: Piece = {
      root: p.root,
      parent: args.id,
      totals: null,
      debtor: p.debtor,
      holder: args.to,
      amount: args.amount,
      dueHeight: p.dueHeight,
      status: 'live',
      history: ctx.advance(newKey, NO_HISTORY),
    };
    ctx.state.set(key, kept, pieceCodec);
    ctx.state.set(newKey, carved, pieceCodec);
    ctx.emit('recv.split', [
      ['recv', args.id],
      ['newId', args.newId],
      ['root', p.root],
      ['holder', toHex(p.holder)],
      ['to', toHex(args.to)],
      ['amount', args.amount.toString()],
      ['remaining', rest.toString()],
      ['rev', String(kept.history.rev)],
    ]);
    return undefined;
  },
};

const transfer: Method<TransferArgs> = {
  args: transferArgs,
  keys: (a, ctx) => [pieceKey(a.id), ...pieceFreezeKeys(ctx, a.id)],
  execute(args, ctx) {
    const key = ctx.keys[0]!;
    const p = disposable(ctx, key, args.id);
    if (typeof p === 'string') return p;
    // Rule: the holder transfers its piece (its signature); the recipient need not sign.
    if (!ctx.signed(p.holder)) return 'RECV_NOT_HOLDER';
    const moved: Piece = { ...p, holder: args.to, history: ctx.advance(key, p.history) };
    ctx.state.set(key, moved, pieceCodec);
    ctx.emit('recv.transferred', [
      ['recv', args.id],
      ['root', p.root],
      ['from', toHex(p.holder)],
      ['to', toHex(args.to)],
      ['amount', p.amount.toString()],
      ['rev', String(moved.history.rev)],
    ]);
    return undefined;
  },
};

const settle: Method<SettleArgs> = {
  args: settleArgs,
  // The piece, every signer's account and account order (the debtor signs, as sender or
  // cosigner), the piece's order; the root piece and the holder's account follow from the
  // piece (requireLoaded below).
  keys: (a, ctx) => [
    pieceKey(a.id),
    ctx.senderAccountKey,
    ...ctx.cosigners.map(accountStateKey),
    ...pieceFreezeKeys(ctx, a.id),
    ...freezeKeysFor(ctx.blockState, 'account', ctx.sender),
    ...ctx.cosigners.flatMap((c) => freezeKeysFor(ctx.blockState, 'account', c)),
  ],
  execute(args, ctx) {
    const key = ctx.keys[0]!;
    const p = disposable(ctx, key, args.id);
    if (typeof p === 'string') return p;
    // Rule: the debtor settles its debt (its signature): it pays, so no one else may.
    if (!ctx.signed(p.debtor)) return 'RECV_NOT_DEBTOR';
    // Rule: a frozen account cannot send value: a frozen debtor cannot pay a piece.
    if (isFrozen(ctx.state, 'account', p.debtor)) return 'FREEZE_ACTIVE';
    const rootKey = p.totals === null ? pieceKey(p.root) : key;
    const holderKey = accountStateKey(p.holder);
    requireLoaded(ctx.state, [rootKey, holderKey]);
    // Rule: settling pays the piece's amount from the debtor's balance to the holder, in
    // the same tx: no payment, no settlement.
    const paid = moveBalance(ctx.state, accountStateKey(p.debtor), holderKey, p.amount);
    if (paid !== undefined) return paid;
    let outstanding: bigint;
    if (p.totals !== null) {
      // The root piece itself: one object, one change.
      outstanding = p.totals.outstanding - p.amount;
      const done: Piece = {
        ...p,
        status: 'settled',
        totals: { face: p.totals.face, outstanding },
        history: ctx.advance(key, p.history),
      };
      ctx.state.set(key, done, pieceCodec);
    } else {
      const root = ctx.state.get(rootKey, pieceCodec);
      // A split piece's root exists with its totals (issued, never deleted); a state where
      // it does not is refused rather than trusted.
      if (root?.totals == null) return 'RECV_NOT_FOUND';
      outstanding = root.totals.outstanding - p.amount;
      ctx.state.set(
        rootKey,
        {
          ...root,
          totals: { face: root.totals.face, outstanding },
          history: ctx.advance(rootKey, root.history),
        },
        pieceCodec,
      );
      const done: Piece = { ...p, status: 'settled', history: ctx.advance(key, p.history) };
      ctx.state.set(key, done, pieceCodec);
    }
    ctx.emit('recv.settled', [
      ['recv', args.id],
      ['root', p.root],
      ['debtor', toHex(p.debtor)],
      ['holder', toHex(p.holder)],
      ['amount', p.amount.toString()],
      ['outstanding', outstanding.toString()],
      ['overdue', String(ctx.height > p.dueHeight)],
      ['rev', String(p.history.rev + 1)],
    ]);
    return undefined;
  },
};

export function pieceToJson(id: string, p: Piece): Record<string, unknown> {
  return {
    id,
    root: p.root,
    ...(p.parent === null ? {} : { parent: p.parent }),
    debtor: toHex(p.debtor),
    holder: toHex(p.holder),
    amount: p.amount.toString(),
    dueHeight: p.dueHeight,
    status: p.status,
    ...(p.totals === null
      ? {}
      : { face: p.totals.face.toString(), outstanding: p.totals.outstanding.toString() }),
    rev: p.history.rev,
    hist: toHex(p.history.hist),
  };
}

export const recvModule: AppModule = {
  name: 'recv',
  methods: { issue, split, transfer, settle },
  objects: {
    key: (id) => pieceKey(checkObjectId(id, 'a recv id', 'RECV_BAD_ID')),
    toJson: (value, id) => pieceToJson(id, pieceCodec.decode(value)),
  },
};
