/**
 * Accounts: a balance and the nonce of the next tx the account may send.
 *
 * State key: "acct/" || address. Value (v1): varbig balance (u128) | varuint nonce.
 */
import { ADDRESS_LENGTH, addressOf } from '../../chain/address.ts';
import { decode } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import type { Ledger } from '../../state/ledger.ts';
import { keyId, type StateAccess, type ValueCodec } from '../state-view.ts';

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

/** The address inside an account key. */
export function addressOfAccountKey(key: Uint8Array): Uint8Array {
  return key.subarray(ACCOUNT_PREFIX.length, ACCOUNT_PREFIX.length + ADDRESS_LENGTH);
}

export function encodeAccount(a: Account): Uint8Array {
  return encode((w) => w.varbig(a.balance).varuint(a.nonce), 24);
}

export function decodeAccount(bytes: Uint8Array): Account {
  return decode(bytes, (r) => ({ balance: r.varbig(), nonce: r.varuint() }));
}

export const accountCodec: ValueCodec<Account> = { encode: encodeAccount, decode: decodeAccount };

/**
 * Moves `amount` from the account at `fromKey` to the account at `toKey` (keys the call
 * named): the keeper bank.transfer and recv.settle pay through. It debits first, then reads
 * the recipient, so a payment to oneself sees its own debit. A code leaves the debit
 * written: the caller fails its op, and the executor rolls the whole tx back. Who may pay
 * (a signature, a freeze of the payer's account) is the caller's check.
 */
export function moveBalance(
  state: StateAccess,
  fromKey: Uint8Array,
  toKey: Uint8Array,
  amount: bigint,
): 'BANK_INSUFFICIENT_FUNDS' | 'BANK_BALANCE_OVERFLOW' | undefined {
  const from = state.get(fromKey, accountCodec) ?? EMPTY_ACCOUNT;
  if (from.balance < amount) return 'BANK_INSUFFICIENT_FUNDS';
  state.set(fromKey, { balance: from.balance - amount, nonce: from.nonce }, accountCodec);
  const to = state.get(toKey, accountCodec) ?? EMPTY_ACCOUNT;
  if (to.balance + amount > MAX_AMOUNT) return 'BANK_BALANCE_OVERFLOW';
  state.set(toKey, { balance: to.balance + amount, nonce: to.nonce }, accountCodec);
  return undefined;
}

/** Derived keys of a sender (by public key), cached: senders repeat from block to block. */
export interface SenderKeys {
  readonly address: Uint8Array;
  readonly addressHex: string;
  readonly accountKey: Uint8Array;
}

// A pure function of the public key, so the cache cannot change a result; bounded.
const SENDER_CACHE_MAX = 65_536;
const senderCache = new Map<string, SenderKeys>();

export function senderKeys(publicKey: Uint8Array): SenderKeys {
  const id = keyId(publicKey);
  let keys = senderCache.get(id);
  if (keys === undefined) {
    const address = addressOf(publicKey);
    keys = {
      address,
      addressHex: toHex(address),
      accountKey: accountStateKey(address),
    };
    if (senderCache.size >= SENDER_CACHE_MAX) senderCache.delete(senderCache.keys().next().value!);
    senderCache.set(id, keys);
  }
  return keys;
}

/** What reading accounts needs of a ledger: raw-key reads and proofs. */
export type AccountSource = Pick<Ledger, 'getValue' | 'prove'>;

/** The latest committed account (empty when absent). */
export async function getAccount(source: AccountSource, address: Uint8Array): Promise<Account> {
  const raw = await source.getValue(accountStateKey(address));
  return raw === undefined ? EMPTY_ACCOUNT : decodeAccount(raw);
}

/** An account's value with a proof against the state root of `height` (default: the tip). */
export function proveAccount(source: AccountSource, address: Uint8Array, height?: number) {
  return source.prove(accountStateKey(address), height);
}
