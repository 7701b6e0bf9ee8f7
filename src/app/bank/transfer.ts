/**
 * bank.transfer {to, amount}: moves `amount` from the sender's balance to `to`.
 *
 * Args (v1): 20 to | varbig amount (u128, > 0). JSON: {"to": "<40 hex>", "amount": "10"}.
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import type { TxOp } from '../../chain/tx.ts';
import { decode } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { toHex } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import { freezeKeysFor, isFrozen } from '../freeze/state.ts';
import { jsonAddress, jsonAmount, jsonObject } from '../json-args.ts';
import type { Method } from '../module.ts';
import { accountStateKey, moveBalance } from './account.ts';

export interface TransferArgs {
  readonly to: Uint8Array;
  readonly amount: bigint;
}

export function encodeTransferArgs(args: TransferArgs): Uint8Array {
  return encode((w) => w.fixed(args.to, ADDRESS_LENGTH).varbig(args.amount), 40);
}

export function decodeTransferArgs(bytes: Uint8Array): TransferArgs {
  const args = decode(bytes, (r) => ({ to: r.fixed(ADDRESS_LENGTH), amount: r.varbig() }));
  if (args.amount === 0n) throw new CivitasError('BANK_BAD_ARGS', 'amount must be positive');
  return args;
}

/** The op of a bank transfer (it expects no revision: accounts have none). */
export function transferOp(to: Uint8Array, amount: bigint): TxOp {
  return {
    module: 'bank',
    method: 'transfer',
    args: encodeTransferArgs({ to, amount }),
    expectRev: null,
  };
}

export const transfer: Method<TransferArgs> = {
  args: {
    encode: encodeTransferArgs,
    decode: decodeTransferArgs,
    fromJson(json) {
      const o = jsonObject(json, 'BANK_BAD_ARGS', ['to', 'amount']);
      const amount = jsonAmount(o.amount, 'amount', 'BANK_BAD_ARGS');
      if (amount === 0n) throw new CivitasError('BANK_BAD_ARGS', 'amount must be positive');
      return { to: jsonAddress(o.to, 'to', 'BANK_BAD_ARGS'), amount };
    },
    toJson: (a) => ({ to: toHex(a.to), amount: a.amount.toString() }),
  },
  keys: (args, ctx) => [
    ctx.senderAccountKey,
    accountStateKey(args.to),
    ...freezeKeysFor(ctx.blockState, 'account', ctx.sender),
  ],
  execute(args, ctx) {
    const { state } = ctx;
    // Rule: accounts carry no revision, so an op cannot expect one.
    if (ctx.expectRev !== null) return 'APP_NO_REVISION';
    // Rule: a frozen account cannot send value (observation goes on).
    if (isFrozen(state, 'account', ctx.sender)) return 'FREEZE_ACTIVE';
    // keys() named the sender's account, then the recipient's.
    const [fromKey, toKey] = ctx.keys as [Uint8Array, Uint8Array];
    const moved = moveBalance(state, fromKey, toKey, args.amount);
    if (moved !== undefined) return moved;
    ctx.emit('transfer', [
      ['from', ctx.senderHex],
      ['to', toHex(args.to)],
      ['amount', args.amount.toString()],
    ]);
    return undefined;
  },
};
