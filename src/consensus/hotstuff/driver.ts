/**
 * The driver for HotStuff: src/consensus/driver.ts, the one the PBFT node runs, over
 * HotStuff's engine, messages and WAL entries (the same rules: one event at a time, persist
 * before send, commit before moving on). Votes to the leader leave by the network's `send`.
 */

import { ConsensusDriver, type DriverModules, type DriverOptions } from '../driver.ts';
import { HotStuffEngine } from './engine.ts';
import type { HotStuffMessage } from './messages.ts';
import type { HotStuffWalEntry } from './wal.ts';

export type HotStuffDriver = ConsensusDriver<HotStuffMessage, HotStuffWalEntry>;
export type HotStuffDriverModules = DriverModules<HotStuffMessage, HotStuffWalEntry>;

export function createHotStuffDriver(
  opts: Omit<DriverOptions<HotStuffMessage, HotStuffWalEntry>, 'createEngine'>,
  modules: HotStuffDriverModules,
): HotStuffDriver {
  return new ConsensusDriver(
    { ...opts, createEngine: (config) => new HotStuffEngine(config) },
    modules,
  );
}
