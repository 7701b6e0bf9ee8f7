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

import { ADDRESS_LENGTH, addressOf } from '../chain/address.ts';
import type { Receipt } from '../chain/receipt.ts';
import type { Tx } from '../chain/tx.ts';
import { toHex } from '../crypto/bytes.ts';
import { RECEIPT_OK, type ReceiptFailureCode } from '../errors/index.ts';
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

const ACCOUNT_KEY_PREFIX_HEX_LENGTH =
  2 * (accountStateKey(new Uint8Array(ADDRESS_LENGTH)).length - ADDRESS_LENGTH);

/** Reads current values by state key (raw app key, not hashed). */
export type StateReader = (keys: readonly Uint8Array[]) => Promise<(Uint8Array | undefined)[]>;

export interface ExecutionResult {
  readonly receipts: Receipt[];
  /** Changed state: raw app key → new value. */
  readonly changes: Map<string, { key: Uint8Array; value: Uint8Array }>;
}

/**
 * The one kind of tx this executor runs: a single bank.transfer op expecting no revision (the
 * only op of every v1 transfer). Anything else, multi-op txs included, fails as
 * APP_UNKNOWN_METHOD. Its receipts name no failed op (failedOp null), so they keep their v1
 * bytes.
 */
function isTransfer(tx: Tx): boolean {
  const op = tx.ops[0]!;
  return (
    tx.ops.length === 1 &&
    op.module === BANK_MODULE &&
    op.method === TRANSFER_METHOD &&
    op.expectRev === null
  );
}

function tryTransferArgs(tx: Tx): TransferArgs | undefined {
  if (!isTransfer(tx)) return undefined;
  try {
    return decodeTransferArgs(tx.ops[0]!.args);
  } catch {
    return undefined;
  }
}

interface SenderInfo {
  readonly stateKey: Uint8Array;
  readonly stateKeyHex: string;
  /** Hex of the sender's address, for the transfer event. */
  readonly addressHex: string;
}

// Senders repeat from block to block, and their address costs a hash: keep the derived keys of
// recent senders. A pure function of the public key, so the cache cannot change a result.
const SENDER_CACHE_MAX = 65_536;
const senderCache = new Map<string, SenderInfo>();

function senderInfo(publicKey: Uint8Array): SenderInfo {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString(
    'latin1',
  );
  let info = senderCache.get(id);
  if (info === undefined) {
    const address = addressOf(publicKey);
    const stateKey = accountStateKey(address);
    info = { stateKey, stateKeyHex: toHex(stateKey), addressHex: toHex(address) };
    if (senderCache.size >= SENDER_CACHE_MAX) senderCache.delete(senderCache.keys().next().value!);
    senderCache.set(id, info);
  }
  return info;
}

export async function executeTxs(
  txs: readonly Tx[],
  txHashes: readonly Uint8Array[],
  read: StateReader,
): Promise<ExecutionResult> {
  // Prefetch every account this block can touch, in one batched read.
  const keys = new Map<string, Uint8Array>();
  const senders: SenderInfo[] = [];
  const transfers: (TransferArgs | undefined)[] = [];
  const recipientKeys: (string | undefined)[] = [];
  for (const tx of txs) {
    const sender = senderInfo(tx.sender);
    keys.set(sender.stateKeyHex, sender.stateKey);
    senders.push(sender);
    const args = tryTransferArgs(tx);
    transfers.push(args);
    if (args === undefined) {
      recipientKeys.push(undefined);
    } else {
      const rk = accountStateKey(args.to);
      const rkHex = toHex(rk);
      keys.set(rkHex, rk);
      recipientKeys.push(rkHex);
    }
  }
  const loaded = await read([...keys.values()]);
  const accounts = new Map<string, Account>();
  let k = 0;
  for (const hex of keys.keys()) {
    const raw = loaded[k++];
    accounts.set(hex, raw === undefined ? EMPTY_ACCOUNT : decodeAccount(raw));
  }

  const touched = new Set<string>();
  const receipts = txs.map((tx, i): Receipt => {
    const txHash = txHashes[i]!;
    const failed = (code: ReceiptFailureCode): Receipt => ({
      txHash,
      status: 'failed',
      code,
      events: [],
      failedOp: null,
    });
    if (!isTransfer(tx)) return failed('APP_UNKNOWN_METHOD');
    const args = transfers[i];
    if (args === undefined) return failed('BANK_BAD_ARGS');
    const sender = senders[i]!;
    const fromKey = sender.stateKeyHex;
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
      code: RECEIPT_OK,
      events: [
        {
          type: 'transfer',
          attributes: [
            ['from', sender.addressHex],
            // The state key is the prefix and the address: its hex ends with the address's.
            ['to', toKey.slice(ACCOUNT_KEY_PREFIX_HEX_LENGTH)],
            ['amount', args.amount.toString()],
          ],
        },
      ],
      failedOp: null,
    };
  });

  const changes = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  for (const hex of touched) {
    changes.set(hex, { key: keys.get(hex)!, value: encodeAccount(accounts.get(hex)!) });
  }
  return { receipts, changes };
}
