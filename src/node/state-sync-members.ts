/**
 * Whom a node joining by state sync lets in (docs/STATE-SYNC.md, "Who the joiner talks to").
 * It holds no chain yet, so neither the validator-change log nor the registered observers a
 * running node admits (node.ts, networkMembers): only its genesis and its operator's bootstrap
 * list. Its members are the genesis validators and the keys inside the bootstrap addresses'
 * peer ids (`…/p2p/<id>`); on a chain whose set changed since the genesis, the bootstrap list
 * is how it reaches the current validators. Who the members are decides only whom it can
 * reach: what they send is checked from the genesis (state-sync.ts).
 */
import type { Genesis } from '../chain/index.ts';
import { toHex } from '../crypto/bytes.ts';
import { validatorKeyFromPeerId } from '../p2p/index.ts';

/** The keys inside the peer ids that end `addresses` (`…/p2p/<ed25519 id>`); others name none. */
export function bootstrapKeys(addresses: readonly string[]): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (const address of addresses) {
    const peerId = /\/p2p\/([^/]+)$/.exec(address)?.[1];
    const key = peerId === undefined ? undefined : validatorKeyFromPeerId(peerId);
    if (key !== undefined) keys.push(key);
  }
  return keys;
}

/** The joiner's members: the genesis validators and its bootstrap peers, each key once. */
export function stateSyncMembers(genesis: Genesis, bootstrap: readonly string[]): Uint8Array[] {
  const members = new Map<string, Uint8Array>();
  for (const v of genesis.validators) members.set(toHex(v.publicKey), v.publicKey);
  for (const key of bootstrapKeys(bootstrap)) members.set(toHex(key), key);
  return [...members.values()];
}
