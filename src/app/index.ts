/**
 * The application layer: native modules (bank, org, params, gov, freeze) registered in
 * registry.ts, executed block by block by executor.ts. `civitasStateMachine()` is what the
 * ledger executes with.
 */
import type { Genesis } from '../chain/genesis.ts';
import { equalBytes } from '../crypto/bytes.ts';
import type { StateMachine } from '../state/ledger.ts';
import type { App } from './app.ts';
import { executeBlock } from './executor.ts';
import { genesisValues } from './genesis.ts';
import { civitasApp } from './registry.ts';
import { entriesCodec, SET_KEY as VALIDATOR_SET_KEY } from './validators/state.ts';

export type { App } from './app.ts';
export { genesisStateRoot, genesisValues } from './genesis.ts';
export type { AppModule, Call, Method, ObjectQuery } from './module.ts';
export { civitasApp } from './registry.ts';

/** The ledger's view of an application: genesis values and block execution. */
export function civitasStateMachine(app: App = civitasApp()): StateMachine {
  return {
    genesisValues: (genesis: Genesis) => genesisValues(app, genesis),
    execute: async (txs, txHashes, height, read, chain) => {
      const result = await executeBlock(app, txs, txHashes, height, read, chain);
      // The set governance left in state is the ledger's next set (validators/state.ts).
      const set = result.changes.find((c) => equalBytes(c.key, VALIDATOR_SET_KEY));
      if (set === undefined) return result;
      const validators = entriesCodec.decode(set.value).map((e) => e.publicKey);
      return { ...result, validators };
    },
  };
}
