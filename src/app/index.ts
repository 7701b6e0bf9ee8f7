/**
 * The application layer: native modules (bank, org, params, gov, freeze) registered in
 * registry.ts, executed block by block by executor.ts. `civitasStateMachine()` is what the
 * ledger executes with.
 */
import type { Genesis } from '../chain/genesis.ts';
import type { StateMachine } from '../state/ledger.ts';
import type { App } from './app.ts';
import { executeBlock } from './executor.ts';
import { genesisValues } from './genesis.ts';
import { civitasApp } from './registry.ts';

export type { App } from './app.ts';
export { genesisStateRoot, genesisValues } from './genesis.ts';
export type { AppModule, Call, Method, ObjectQuery } from './module.ts';
export { civitasApp } from './registry.ts';

/** The ledger's view of an application: genesis values and block execution. */
export function civitasStateMachine(app: App = civitasApp()): StateMachine {
  return {
    genesisValues: (genesis: Genesis) => genesisValues(app, genesis),
    execute: (txs, txHashes, height, read) => executeBlock(app, txs, txHashes, height, read),
  };
}
