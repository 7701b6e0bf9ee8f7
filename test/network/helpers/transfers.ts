/** Funded accounts from `civitas init` and signed transfers between them. */
import {
  encodeTx,
  type KeyPair,
  loadKeyFile,
  parseAddress,
  type Tx,
  toHex,
  transfer,
  txHash,
} from '../../../src/client/index.ts';
import type { NetworkJson } from './cluster.ts';

export interface Account {
  readonly keys: KeyPair;
  readonly address: Uint8Array;
  readonly addressHex: string;
}

export interface SignedTransfer {
  readonly tx: Tx;
  readonly encoded: Uint8Array;
  readonly hash: string;
  /** Index of the sending account. */
  readonly sender: number;
  readonly nonce: number;
}

export async function loadAccounts(net: NetworkJson): Promise<Account[]> {
  return Promise.all(
    net.accounts.map(async (a) => ({
      keys: await loadKeyFile(a.file),
      address: parseAddress(a.address),
      addressHex: a.address,
    })),
  );
}

/** One signed transfer of `amount` from account `sender` to account `to`. */
export function signedTransfer(
  chainId: string,
  accounts: readonly Account[],
  opts: { sender: number; to: number; nonce: number; expiryHeight: number; amount?: bigint },
): SignedTransfer {
  const tx = transfer({
    chainId,
    keys: accounts[opts.sender]!.keys,
    to: accounts[opts.to]!.address,
    amount: opts.amount ?? 1n,
    nonce: opts.nonce,
    expiryHeight: opts.expiryHeight,
  });
  return {
    tx,
    encoded: encodeTx(tx),
    hash: toHex(txHash(tx)),
    sender: opts.sender,
    nonce: opts.nonce,
  };
}

/**
 * `perSender` transfers from every account (consecutive nonces from `firstNonce`), each to
 * the next account, ordered nonce by nonce so every sender's txs are spread over time.
 */
export function transferWave(
  chainId: string,
  accounts: readonly Account[],
  opts: { perSender: number; expiryHeight: number; firstNonce?: number },
): SignedTransfer[] {
  const out: SignedTransfer[] = [];
  const first = opts.firstNonce ?? 0;
  for (let nonce = first; nonce < first + opts.perSender; nonce++) {
    for (let sender = 0; sender < accounts.length; sender++) {
      out.push(
        signedTransfer(chainId, accounts, {
          sender,
          to: (sender + 1) % accounts.length,
          nonce,
          expiryHeight: opts.expiryHeight,
        }),
      );
    }
  }
  return out;
}
