/** Funded accounts from `civitas init` and signed transfers between them. */
import {
  type CivitasClient,
  encodeTx,
  type KeyPair,
  loadKeyFile,
  parseAddress,
  type Tx,
  toHex,
  transfer,
  txHash,
} from '../../../../src/client/index.ts';
import { isCivitasError } from '../../../../src/errors/index.ts';
import type { InitSummary } from '../../../../src/node/home.ts';
import { sleep, type TestNetwork, waitFor } from './test-network.ts';

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

export async function loadAccounts(net: InitSummary): Promise<Account[]> {
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

/**
 * A reused keep-alive connection that the node closed just then (its 5 s idle timeout racing
 * a client whose event loop lags on a loaded machine) fails as CLIENT_UNREACHABLE before the
 * request was read; such a POST is sent again. If the retry finds the tx already pending or
 * committed, the first attempt got through after all.
 */
async function postWithRetry<T>(
  attempt: () => Promise<T>,
  alreadyKnown: () => Promise<T>,
): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isCivitasError(err)) throw err;
      if (tries > 1 && ['MEMPOOL_DUPLICATE', 'TX_ALREADY_COMMITTED'].includes(err.code)) {
        return alreadyKnown();
      }
      if (err.code !== 'CLIENT_UNREACHABLE' || tries >= 3) throw err;
      await sleep(100);
    }
  }
}

/** POST /txs without waiting; resolves once the node has admitted the tx. */
export async function submitTx(client: CivitasClient, tx: SignedTransfer): Promise<void> {
  await postWithRetry(
    async () => {
      const res = await client.submit(tx.encoded);
      if (res.hash !== tx.hash) throw new Error(`node named tx ${tx.hash} ${res.hash}`);
      if (res.status !== 'pending') throw new Error(`tx ${tx.hash} is ${res.status}, not pending`);
    },
    async () => {},
  );
}

export interface CommittedTx {
  status: string;
  height: number;
  receipt: { status: string; code: string } | null;
}

/** POST /txs?wait=commit to node i; resolves with the receipt once the tx is committed. */
export async function submitAndWait(
  network: TestNetwork,
  i: number,
  client: CivitasClient,
  tx: SignedTransfer,
  timeoutMs: number,
): Promise<CommittedTx> {
  return postWithRetry<CommittedTx>(
    async () => {
      const res = await client.submit(tx.encoded, { wait: true, timeoutMs });
      return res.status === 'committed'
        ? { status: res.status, height: res.height, receipt: res.receipt }
        : { status: res.status, height: 0, receipt: null };
    },
    () =>
      waitFor(
        async () => {
          const res = await network.get<CommittedTx>(i, `/txs/${tx.hash}`);
          return res?.status === 200 && res.body.status === 'committed' ? res.body : undefined;
        },
        `tx ${tx.hash} to commit`,
        timeoutMs,
      ),
  );
}
