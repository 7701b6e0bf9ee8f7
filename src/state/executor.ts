/**
 * Executes a block's txs against the last committed state and returns the receipts and the
 * state changes. Deterministic and free of I/O once the touched accounts are loaded: every
 * account a block can touch (senders, transfer recipients) is prefetched in one read, then
 * txs run in order against an in-memory overlay.
 *
 * A tx that fails (bad nonce, unknown method, bad args, insufficient funds, overflow) gets a
 * failed receipt with a reason code and changes NOTHING — not even its sender's nonce. It
 * never throws: a failed tx must not be able to stop a block, let alone the node.
 */

import { addressOf } from '../chain/address.ts';
import type { Receipt } from '../chain/receipt.ts';
import type { Tx } from '../chain/tx.ts';
import { toHex } from '../crypto/bytes.ts';
import {
  type Account,
  accountStateKey,
  BANK_MODULE,
  decodeAccount,
  decodeTransferArgs,
  EMPTY_ACCOUNT,
  encodeAccount,
  MAX_AMOUNT,
  TRANSFER_METHOD,
  type TransferArgs,
} from './accounts.ts';

/** Reads current values by state key (raw app key, not hashed). */
export type StateReader = (keys: readonly Uint8Array[]) => Promise<(Uint8Array | undefined)[]>;

export interface ExecutionResult {
  readonly receipts: Receipt[];
  /** Changed state: raw app key → new value. */
  readonly changes: Map<string, { key: Uint8Array; value: Uint8Array }>;
}

function tryTransferArgs(tx: Tx): TransferArgs | undefined {
  if (tx.payload.module !== BANK_MODULE || tx.payload.method !== TRANSFER_METHOD) return undefined;
  try {
    return decodeTransferArgs(tx.payload.args);
  } catch {
    return undefined;
  }
}

export async function executeTxs(
  txs: readonly Tx[],
  txHashes: readonly Uint8Array[],
  read: StateReader,
): Promise<ExecutionResult> {
  // Prefetch every account this block can touch, in one batched read.
  const keys = new Map<string, Uint8Array>();
  const senderKeys: string[] = [];
  const recipientKeys: (string | undefined)[] = [];
  for (const tx of txs) {
    const sk = accountStateKey(addressOf(tx.sender));
    const skHex = toHex(sk);
    keys.set(skHex, sk);
    senderKeys.push(skHex);
    const args = tryTransferArgs(tx);
    if (args === undefined) {
      recipientKeys.push(undefined);
    } else {
      const rk = accountStateKey(args.to);
      const rkHex = toHex(rk);
      keys.set(rkHex, rk);
      recipientKeys.push(rkHex);
    }
  }
  const keyList = [...keys.values()];
  const loaded = await read(keyList);
  const accounts = new Map<string, Account>();
  [...keys.keys()].forEach((hex, i) => {
    const raw = loaded[i];
    accounts.set(hex, raw === undefined ? EMPTY_ACCOUNT : decodeAccount(raw));
  });

  const touched = new Set<string>();
  const receipts = txs.map((tx, i): Receipt => {
    const txHash = txHashes[i]!;
    const failed = (code: string): Receipt => ({ txHash, status: 'failed', code, events: [] });
    if (tx.payload.module !== BANK_MODULE || tx.payload.method !== TRANSFER_METHOD) {
      return failed('APP_UNKNOWN_METHOD');
    }
    const args = tryTransferArgs(tx);
    if (args === undefined) return failed('BANK_BAD_ARGS');
    const fromKey = senderKeys[i]!;
    const toKey = recipientKeys[i]!;
    const from = accounts.get(fromKey)!;
    if (tx.nonce !== from.nonce) return failed('BANK_BAD_NONCE');
    if (from.balance < args.amount) return failed('BANK_INSUFFICIENT_FUNDS');
    // Debit first, then read the recipient: a self-transfer must see its own debit.
    accounts.set(fromKey, { balance: from.balance - args.amount, nonce: from.nonce + 1 });
    const to = accounts.get(toKey)!;
    if (to.balance + args.amount > MAX_AMOUNT) {
      accounts.set(fromKey, from);
      return failed('BANK_BALANCE_OVERFLOW');
    }
    accounts.set(toKey, { balance: to.balance + args.amount, nonce: to.nonce });
    touched.add(fromKey);
    touched.add(toKey);
    return {
      txHash,
      status: 'ok',
      code: 'OK',
      events: [
        {
          type: 'transfer',
          attributes: [
            ['from', toHex(addressOf(tx.sender))],
            ['to', toHex(args.to)],
            ['amount', args.amount.toString()],
          ],
        },
      ],
    };
  });

  const changes = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  for (const hex of touched) {
    changes.set(hex, { key: keys.get(hex)!, value: encodeAccount(accounts.get(hex)!) });
  }
  return { receipts, changes };
}
