/**
 * The first application module: accounts with balances and nonces, and transfers.
 *
 * State key of an account: "acct/" || address (hashed into the tree by the state tree).
 * Account value (v1): varbig balance (u128) | varuint nonce.
 * bank.transfer args (v1): 20 to | varbig amount (u128, > 0).
 */

import { ADDRESS_LENGTH } from '../chain/address.ts';
import type { TxOp } from '../chain/tx.ts';
import { decode } from '../codec/reader.ts';
import { encode } from '../codec/writer.ts';
import { concatBytes, utf8 } from '../crypto/bytes.ts';
import { CivitasError } from '../errors/index.ts';

export const BANK_MODULE = 'bank';
export const TRANSFER_METHOD = 'transfer';
export const MAX_AMOUNT = (1n << 128n) - 1n;

export interface Account {
  readonly balance: bigint;
  readonly nonce: number;
}

export const EMPTY_ACCOUNT: Account = Object.freeze({ balance: 0n, nonce: 0 });

const ACCOUNT_PREFIX = utf8.encode('acct/');

export function accountStateKey(address: Uint8Array): Uint8Array {
  return concatBytes(ACCOUNT_PREFIX, address);
}

export function encodeAccount(a: Account): Uint8Array {
  return encode((w) => w.varbig(a.balance).varuint(a.nonce), 24);
}

export function decodeAccount(bytes: Uint8Array): Account {
  return decode(bytes, (r) => ({ balance: r.varbig(), nonce: r.varuint() }));
}

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
    module: BANK_MODULE,
    method: TRANSFER_METHOD,
    args: encodeTransferArgs({ to, amount }),
    expectRev: null,
  };
}
