/**
 * The state a genesis file defines: each module writes its section (`genesis.app.<module>`;
 * the bank reads the top-level `accounts`) into one in-memory state, in registry order. The
 * ledger writes these values at height 0; a client holding the genesis file computes the same
 * root to check a height-0 state proof without trusting any node.
 */
import type { Genesis } from '../chain/genesis.ts';
import { compareBytes } from '../crypto/bytes.ts';
import { CivitasError } from '../errors/index.ts';
import { MemoryNodeReader, StateTree, stateKeyHash } from '../state/smt/index.ts';
import type { App } from './app.ts';
import { keyId, type StateAccess, type ValueCodec } from './state-view.ts';

/** (raw state key, encoded value) for every object the genesis creates, in key order. */
export function genesisValues(app: App, genesis: Genesis): Array<[Uint8Array, Uint8Array]> {
  const values = new Map<string, { key: Uint8Array; value: unknown; codec: ValueCodec<unknown> }>();
  const state: StateAccess = {
    get: <T>(key: Uint8Array, _codec: ValueCodec<T>): T | undefined => {
      const e = values.get(keyId(key));
      return e === undefined ? undefined : (e.value as T);
    },
    set: <T>(key: Uint8Array, value: T, codec: ValueCodec<T>): void => {
      values.set(keyId(key), { key, value, codec: codec as ValueCodec<unknown> });
    },
  };
  const sections = genesis.app ?? {};
  for (const name of Object.keys(sections)) {
    if (!app.modules.has(name)) {
      throw new CivitasError('GENESIS_INVALID', `genesis: app.${name} is not a module`);
    }
  }
  for (const module of app.modules.values()) {
    module.genesis?.({ genesis, section: sections[module.name], state });
  }
  // compareBytes, not Buffer.compare: a client computes this in a browser too (the explorer).
  return [...values.values()]
    .map((e): [Uint8Array, Uint8Array] => [e.key, e.codec.encode(e.value)])
    .sort(([a], [b]) => compareBytes(a, b));
}

/** The state root at height 0, computed in memory from the genesis file alone. */
export async function genesisStateRoot(app: App, genesis: Genesis): Promise<Uint8Array> {
  const tree = new StateTree(new MemoryNodeReader());
  const { rootHash } = await tree.update(
    null,
    0,
    genesisValues(app, genesis).map(([key, value]) => [stateKeyHash(key), value] as const),
  );
  return rootHash;
}
