/**
 * What the simulator needs of a consensus protocol (issue #17): its engine, its message
 * codec, its WAL entries and its Byzantine behaviours. `pbft` is src/consensus/engine.ts,
 * `hotstuff` src/consensus/hotstuff (docs/HOTSTUFF.md). The simulator feeds an engine only
 * messages and WAL entries its own protocol decoded, which is what makes the casts below sound.
 */

import type { EngineConfig } from '../config.ts';
import { ConsensusEngine, type EngineMemory, type EngineStatus } from '../engine.ts';
import type { ConsensusAction, ConsensusEvent, RejectReason } from '../events.ts';
import type { Evidence } from '../evidence.ts';
import { HotStuffEngine } from '../hotstuff/engine.ts';
import {
  decodeHotStuffMessage,
  describeHotStuffMessage,
  type HotStuffMessage,
  hotStuffDigestOf,
  positionOf,
  signedKindOf,
} from '../hotstuff/messages.ts';
import {
  decodeHotStuffWalEntry,
  encodeHotStuffWalEntry,
  type HotStuffWalEntry,
  hotStuffWalEntryHeight,
} from '../hotstuff/wal.ts';
import { type ConsensusMessage, decodeMessage, describeMessage, digestOf } from '../messages.ts';
import { decodeWalEntry, encodeWalEntry, type WalEntry, walEntryHeight } from '../wal.ts';
import { type ByzantineContext, ByzantineFilter, type Outgoing } from './byzantine.ts';
import type { SignedMessage } from './checker.ts';
import type { ByzantineBehaviour } from './faults.ts';
import { HotStuffByzantineFilter } from './hotstuff-byzantine.ts';
import { digestPrefix, messageSummary, type TraceValue } from './trace.ts';

export const PROTOCOLS = ['pbft', 'hotstuff'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

export function isProtocolName(s: string): s is ProtocolName {
  return (PROTOCOLS as readonly string[]).includes(s);
}

export type SimMessage = ConsensusMessage | HotStuffMessage;
export type SimWalEntry = WalEntry | HotStuffWalEntry;
export type ProtocolEvent = ConsensusEvent<SimMessage, SimWalEntry>;
export type ProtocolAction = ConsensusAction<SimMessage, SimWalEntry>;

export interface SimEngine {
  step(event: ProtocolEvent): ProtocolAction[];
  status(): EngineStatus;
  memory(): EngineMemory;
  memoryCaps(n: number): EngineMemory;
  evidence(): Evidence[];
  rejections(): Readonly<Record<RejectReason, number>>;
}

export interface SimByzantine {
  has(b: ByzantineBehaviour): boolean;
  describe(): string;
  onBroadcast(m: SimMessage, bytes: Uint8Array, others: readonly number[]): Outgoing[];
  /** A message to `targets` (the replicas holding one validator's key). */
  onSend(
    m: SimMessage,
    bytes: Uint8Array,
    targets: readonly number[],
    others: readonly number[],
  ): Outgoing[];
  onReceive(
    bytes: Uint8Array,
    m: SimMessage | null,
    others: readonly number[],
    leaderOf: (height: number, view: number) => number[],
  ): Outgoing[];
}

export interface SimProtocol {
  readonly name: ProtocolName;
  makeEngine(config: EngineConfig): SimEngine;
  decode(bytes: Uint8Array): SimMessage;
  /** The fields a trace records of a message. */
  summary(m: SimMessage): Record<string, TraceValue>;
  /** What the checker tracks of a message its sender signed (null: a certificate, unsigned). */
  signed(m: SimMessage): SignedMessage | null;
  encodeWal(entry: SimWalEntry): Uint8Array;
  decodeWal(bytes: Uint8Array): SimWalEntry;
  walHeight(entry: SimWalEntry): number;
  byzantine(ctx: ByzantineContext, behaviours: ReadonlySet<ByzantineBehaviour>): SimByzantine;
}

const pbft: SimProtocol = {
  name: 'pbft',
  makeEngine: (config) => {
    const engine = new ConsensusEngine(config);
    return {
      step: (event) => engine.step(event as ConsensusEvent) as ProtocolAction[],
      status: () => engine.status(),
      memory: () => engine.memory(),
      memoryCaps: (n) => engine.memoryCaps(n),
      evidence: () => engine.evidence(),
      rejections: () => engine.rejections(),
    };
  },
  decode: decodeMessage,
  summary: (m) => messageSummary(m as ConsensusMessage),
  signed: (m) => {
    const pm = m as ConsensusMessage;
    return {
      kind: pm.type,
      height: pm.height,
      view: pm.view,
      validatorIndex: pm.validatorIndex,
      digest: digestOf(pm),
      description: describeMessage(pm),
    };
  },
  encodeWal: (entry) => encodeWalEntry(entry as WalEntry),
  decodeWal: decodeWalEntry,
  walHeight: (entry) => walEntryHeight(entry as WalEntry),
  byzantine: (ctx, behaviours) => {
    const filter = new ByzantineFilter(ctx, behaviours);
    return {
      has: (b) => filter.has(b),
      describe: () => filter.describe(),
      onBroadcast: (m, bytes, others) => filter.onBroadcast(m as ConsensusMessage, bytes, others),
      onSend: (_m, bytes, targets) => targets.map((to) => ({ to, bytes })),
      onReceive: (bytes, m, others) =>
        filter.onReceive(bytes, m as ConsensusMessage | null, others),
    };
  },
};

const hotstuff: SimProtocol = {
  name: 'hotstuff',
  makeEngine: (config) => {
    const engine = new HotStuffEngine(config);
    return {
      step: (event) =>
        engine.step(event as ConsensusEvent<HotStuffMessage, HotStuffWalEntry>) as ProtocolAction[],
      status: () => engine.status(),
      memory: () => engine.memory(),
      memoryCaps: (n) => engine.memoryCaps(n),
      evidence: () => engine.evidence(),
      rejections: () => engine.rejections(),
    };
  },
  decode: decodeHotStuffMessage,
  summary: (m) => {
    const hm = m as HotStuffMessage;
    const { height, view } = positionOf(hm);
    return {
      kind: signedKindOf(hm),
      height,
      view,
      signer: 'validatorIndex' in hm ? hm.validatorIndex : null,
      digest: digestPrefix(hotStuffDigestOf(hm)),
    };
  },
  signed: (m) => {
    const hm = m as HotStuffMessage;
    if (hm.type === 'qc' || hm.type === 'decide') return null;
    return {
      kind: signedKindOf(hm),
      height: hm.height,
      view: hm.view,
      validatorIndex: hm.validatorIndex,
      digest: hotStuffDigestOf(hm),
      description: describeHotStuffMessage(hm),
    };
  },
  encodeWal: (entry) => encodeHotStuffWalEntry(entry as HotStuffWalEntry),
  decodeWal: decodeHotStuffWalEntry,
  walHeight: (entry) => hotStuffWalEntryHeight(entry as HotStuffWalEntry),
  byzantine: (ctx, behaviours) => {
    const filter = new HotStuffByzantineFilter(ctx, behaviours);
    return {
      has: (b) => filter.has(b),
      describe: () => filter.describe(),
      onBroadcast: (m, bytes, others) => filter.onBroadcast(m as HotStuffMessage, bytes, others),
      onSend: (m, bytes, targets, others) =>
        filter.onSend(m as HotStuffMessage, bytes, targets, others),
      onReceive: (bytes, m, others, leaderOf) =>
        filter.onReceive(bytes, m as HotStuffMessage | null, others, leaderOf),
    };
  },
};

export function protocolFor(name: ProtocolName): SimProtocol {
  return name === 'hotstuff' ? hotstuff : pbft;
}
