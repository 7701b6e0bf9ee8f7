/**
 * A small synchronous harness for HotStuff engine tests: n engines, a FIFO of pending work
 * (deliveries, block builds, validations), a filter to drop messages, timers fired by hand.
 * No virtual time: tests decide which timer fires when.
 */

import type { SealedBlock } from '../../../../src/chain/block.ts';
import type { CommitCertificate } from '../../../../src/chain/certificate.ts';
import { makeValidatorSet, type ValidatorSet } from '../../../../src/chain/validator-set.ts';
import type { EngineConfig } from '../../../../src/consensus/config.ts';
import type { TimerKind } from '../../../../src/consensus/events.ts';
import {
  type HotStuffAction,
  HotStuffEngine,
  type HotStuffEvent,
} from '../../../../src/consensus/hotstuff/engine.ts';
import {
  decodeHotStuffMessage,
  type HotStuffMessage,
} from '../../../../src/consensus/hotstuff/messages.ts';
import type { HotStuffWalEntry } from '../../../../src/consensus/hotstuff/wal.ts';
import { type SimKey, signatureScheme } from '../../../../src/consensus/sim/signatures.ts';
import {
  buildSimBlock,
  genesisParent,
  type ParentInfo,
  parentOf,
  type SimChainContext,
  validateSimBlock,
} from '../../../../src/consensus/sim/sim-chain.ts';
import { equalBytes, utf8 } from '../../../../src/crypto/bytes.ts';
import { sha256 } from '../../../../src/crypto/hash.ts';

export const CHAIN_ID = 'civitas-test';

type Work =
  | { kind: 'deliver'; from: number; to: number; bytes: Uint8Array }
  | {
      kind: 'build';
      replica: number;
      height: number;
      view: number;
      lastCommit: CommitCertificate | null;
    }
  | { kind: 'validate'; replica: number; height: number; block: SealedBlock }
  | { kind: 'sync'; replica: number };

export class HotStuffCluster {
  readonly n: number;
  readonly keys: SimKey[];
  readonly validators: ValidatorSet;
  readonly ctx: SimChainContext;
  readonly engines: HotStuffEngine[] = [];
  readonly chains: Array<Array<{ block: SealedBlock; certificate: CommitCertificate }>> = [];
  readonly wal: HotStuffWalEntry[][] = [];
  readonly timers: Array<Map<TimerKind, { height: number; view: number }>> = [];
  /** Messages each replica handed to the network, counted per recipient. */
  delivered = 0;
  readonly queue: Work[] = [];
  /** Return false to drop a message. */
  filter: (from: number, to: number, m: HotStuffMessage) => boolean = () => true;
  /** Replicas that send nothing and build nothing. */
  readonly silent = new Set<number>();
  private readonly engineConfig: Partial<EngineConfig>;
  private salt = 1;

  constructor(n: number, engineConfig: Partial<EngineConfig> = {}) {
    this.n = n;
    this.engineConfig = engineConfig;
    const scheme = signatureScheme('fake');
    this.keys = Array.from({ length: n }, (_, i) => scheme.key(11, i));
    this.validators = makeValidatorSet(this.keys.map((k) => k.publicKey));
    this.ctx = {
      chainId: CHAIN_ID,
      genesisHash: sha256(utf8.encode('test-genesis')),
      genesisTime: 1_700_000_000_000,
      validators: this.validators,
      verify: scheme.verify,
    };
    for (let i = 0; i < n; i++) {
      this.engines.push(this.makeEngine(i));
      this.chains.push([]);
      this.wal.push([]);
      this.timers.push(new Map());
    }
  }

  makeEngine(i: number): HotStuffEngine {
    return new HotStuffEngine({
      chainId: CHAIN_ID,
      publicKey: this.keys[i]!.publicKey,
      validatorsAt: () => this.validators,
      sign: this.keys[i]!.sign,
      verify: this.ctx.verify,
      clock: () => 0,
      timeouts: { baseMs: 100, maxMs: 800, retransmitMs: 0 },
      ...this.engineConfig,
    });
  }

  parent(i: number): ParentInfo {
    const tip = this.chains[i]!.at(-1);
    return tip === undefined ? genesisParent(this.ctx) : parentOf(tip.block);
  }

  buildBlock(i: number, lastCommit: CommitCertificate | null): SealedBlock {
    return buildSimBlock(this.ctx, {
      parent: this.parent(i),
      proposer: this.keys[i]!.publicKey,
      lastCommit,
      salt: this.salt++,
    });
  }

  startAll(): void {
    for (let i = 0; i < this.n; i++) this.start(i);
  }

  start(i: number, wal: readonly HotStuffWalEntry[] = []): void {
    const tip = this.chains[i]!.at(-1);
    this.step(i, {
      type: 'start',
      height: this.chains[i]!.length + 1,
      lastCommit: tip?.certificate ?? null,
      wal,
    });
  }

  restart(i: number): HotStuffAction[] {
    this.engines[i] = this.makeEngine(i);
    const tip = this.chains[i]!.at(-1);
    return this.step(i, {
      type: 'start',
      height: this.chains[i]!.length + 1,
      lastCommit: tip?.certificate ?? null,
      wal: [...this.wal[i]!],
    });
  }

  step(i: number, event: HotStuffEvent): HotStuffAction[] {
    const actions = this.engines[i]!.step(event);
    for (const a of actions) this.perform(i, a);
    return actions;
  }

  inject(to: number, m: HotStuffMessage): HotStuffAction[] {
    return this.step(to, { type: 'message', message: m });
  }

  private enqueue(from: number, to: number, bytes: Uint8Array): void {
    if (this.silent.has(from)) return;
    this.queue.push({ kind: 'deliver', from, to, bytes });
  }

  private perform(i: number, a: HotStuffAction): void {
    switch (a.type) {
      case 'persist':
        this.wal[i]!.push(a.entry);
        return;
      case 'broadcast':
        for (let to = 0; to < this.n; to++) if (to !== i) this.enqueue(i, to, a.bytes);
        return;
      case 'send': {
        const to = this.keys.findIndex((k) => equalBytes(k.publicKey, a.to));
        this.enqueue(i, to, a.bytes);
        return;
      }
      case 'set-timer':
        this.timers[i]!.set(a.kind, { height: a.height, view: a.view });
        return;
      case 'clear-timer':
        this.timers[i]!.delete(a.kind);
        return;
      case 'build-proposal':
        if (this.silent.has(i)) return;
        this.queue.push({
          kind: 'build',
          replica: i,
          height: a.height,
          view: a.view,
          lastCommit: a.lastCommit,
        });
        return;
      case 'validate-proposal':
        this.queue.push({ kind: 'validate', replica: i, height: a.height, block: a.block });
        return;
      case 'commit':
        this.chains[i]!.push({ block: a.block, certificate: a.certificate });
        return;
      case 'need-sync':
        this.queue.push({ kind: 'sync', replica: i });
        return;
      default:
        return;
    }
  }

  /** Runs queued work until none is left (or `limit` items). */
  run(limit = 100_000): void {
    for (let k = 0; k < limit && this.queue.length > 0; k++) {
      const w = this.queue.shift()!;
      if (w.kind === 'deliver') {
        const m = decodeHotStuffMessage(w.bytes);
        if (!this.filter(w.from, w.to, m)) continue;
        this.delivered++;
        this.step(w.to, { type: 'message', bytes: w.bytes });
      } else if (w.kind === 'build') {
        if (this.chains[w.replica]!.length + 1 !== w.height) continue;
        const block = this.buildBlock(w.replica, w.lastCommit);
        this.step(w.replica, { type: 'proposal-built', height: w.height, view: w.view, block });
      } else if (w.kind === 'sync') {
        this.sync(w.replica);
      } else {
        const parent = this.parent(w.replica);
        const valid =
          parent.height + 1 === w.height && validateSimBlock(this.ctx, w.block, parent) === null;
        this.step(w.replica, {
          type: 'proposal-validated',
          height: w.height,
          blockHash: w.block.hash,
          valid,
        });
      }
    }
  }

  /** Block sync: copies certified blocks from the longest chain, validating each. */
  private sync(i: number): void {
    const source = this.chains.reduce((a, b) => (b.length > a.length ? b : a));
    const chain = this.chains[i]!;
    let last: CommitCertificate | null = null;
    while (chain.length < source.length) {
      const entry = source[chain.length]!;
      if (validateSimBlock(this.ctx, entry.block, this.parent(i)) !== null) break;
      chain.push(entry);
      last = entry.certificate;
    }
    if (last !== null) this.step(i, { type: 'synced', height: last.height, certificate: last });
  }

  /** Fires replica i's pending timer of `kind`, if any. */
  fire(i: number, kind: TimerKind = 'view'): void {
    const t = this.timers[i]!.get(kind);
    if (t === undefined) return;
    this.timers[i]!.delete(kind);
    this.step(i, { type: 'timer', kind, height: t.height, view: t.view });
  }

  /** Fires every live replica's view timer and runs. */
  timeoutAll(): void {
    for (let i = 0; i < this.n; i++) if (!this.silent.has(i)) this.fire(i, 'view');
    this.run(2_000);
  }
}
