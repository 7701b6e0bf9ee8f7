/**
 * The state a genesis file defines: its accounts (an address listed twice gets the sum), as
 * state-tree changes and as the root they produce. The ledger writes these changes at height
 * 0; a client holding the genesis file computes the same root to check a height-0 state proof
 * without trusting any node.
 */
import type { Genesis } from '../chain/index.ts';
import { toHex } from '../crypto/bytes.ts';
import { type Account, accountStateKey, EMPTY_ACCOUNT, encodeAccount } from './accounts.ts';
import { MemoryNodeReader, StateTree, stateKeyHash } from './smt/index.ts';

/** (key hash, encoded account) for every genesis account, ready for a tree update. */
export function genesisStateChanges(genesis: Genesis): Array<[Uint8Array, Uint8Array]> {
  const balances = new Map<string, { key: Uint8Array; account: Account }>();
  for (const a of genesis.accounts) {
    const key = accountStateKey(a.address);
    const hex = toHex(key);
    const prev = balances.get(hex)?.account ?? EMPTY_ACCOUNT;
    balances.set(hex, { key, account: { balance: prev.balance + a.balance, nonce: 0 } });
  }
  return [...balances.values()].map(({ key, account }) => [
    stateKeyHash(key),
    encodeAccount(account),
  ]);
}

/** The state root at height 0, computed in memory from the genesis file alone. */
export async function genesisStateRoot(genesis: Genesis): Promise<Uint8Array> {
  const tree = new StateTree(new MemoryNodeReader());
  const { rootHash } = await tree.update(null, 0, genesisStateChanges(genesis));
  return rootHash;
}
