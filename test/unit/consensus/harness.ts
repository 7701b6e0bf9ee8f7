/**
 * A small synchronous harness for engine unit tests: n engines, a FIFO of pending work
 * (deliveries, block builds, validations), filters to drop messages, and timers fired by hand.
 * No virtual time: tests decide exactly which timer fires when.
 */

import type { SealedBlock } from '../../../src/chain/block.ts';
import type { CommitCertificate } from '../../../src/chain/certificate.ts';
import { makeValidatorSet, type ValidatorSet } from '../../../src/chain/validator-set.ts';
import type { EngineConfig } from '../../../src/consensus/config.ts';
import { ConsensusEngine } from '../../../src/consensus/engine.ts';
import type { ConsensusAction, ConsensusEvent, TimerKind } from '../../../src/consensus/events.ts';
import { type ConsensusMessage, decodeMessage } from '../../../src/consensus/messages.ts';
import {
  type SignatureSchemeName,
  type SimKey,
  signatureScheme,
} from '../../../src/consensus/sim/signatures.ts';
import {
  buildSimBlock,
  genesisParent,
  type ParentInfo,
  parentOf,
  type SimChainContext,
  validateSimBlock,
} from '../../../src/consensus/sim/sim-chain.ts';
import type { WalEntry } from '../../../src/consensus/wal.ts';
import { utf8 } from '../../../src/crypto/bytes.ts';
import { sha256 } from '../../../src/crypto/hash.ts';

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
  | { kind: 'validate'; replica: number; height: number; block: SealedBlock };

export interface ClusterOptions {
  readonly scheme?: SignatureSchemeName;
  readonly engine?: Partial<EngineConfig>;
  /** Replicas whose outgoing messages are all lost and who never build. */
  readonly silent?: ReadonlySet<number>;
}

export class Cluster {
  readonly n: number;
  readonly keys: SimKey[];
  readonly validators: ValidatorSet;
  readonly ctx: SimChainContext;
  readonly engines: ConsensusEngine[] = [];
  readonly chains: Array<Array<{ block: SealedBlock; certificate: CommitCertificate }>> = [];
  readonly wal: WalEntry[][] = [];
  readonly actions: ConsensusAction[][] = [];
  readonly timers: Array<Map<TimerKind, { height: number; view: number; ms: number }>> = [];
  readonly sent: Array<Array<ConsensusMessage>> = [];
  readonly queue: Work[] = [];
  /** Return false to drop a message. */
  filter: (from: number, to: number, m: ConsensusMessage) => boolean = () => true;
  /** Replicas whose node builds invalid blocks (wrong state root). */
  readonly invalidProposals = new Set<number>();
  private readonly opts: ClusterOptions;
  private salt = 1;

  constructor(n: number, opts: ClusterOptions = {}) {
    this.n = n;
    this.opts = opts;
    const scheme = signatureScheme(opts.scheme ?? 'fake');
    this.keys = Array.from({ length: n }, (_, i) => scheme.key(7, i));
    this.validators = makeValidatorSet(this.keys.map((k) => k.publicKey));
    this.ctx = {
      chainId: CHAIN_ID,
      genesisHash: sha256(utf8.encode('test-genesis')),
      genesisTime: 1_700_000_000_000,
      validators: this.validators,
      quorum: this.validators.quorum,
      verify: scheme.verify,
    };
    for (let i = 0; i < n; i++) {
      this.engines.push(this.makeEngine(i));
      this.chains.push([]);
      this.wal.push([]);
      this.actions.push([]);
      this.timers.push(new Map());
      this.sent.push([]);
    }
  }

  makeEngine(i: number): ConsensusEngine {
    return new ConsensusEngine({
      chainId: CHAIN_ID,
      publicKey: this.keys[i]!.publicKey,
      validatorsAt: () => this.validators,
      sign: this.keys[i]!.sign,
      verify: this.ctx.verify,
      // No clock: every vote times its block + 1 ms, so runs are deterministic.
      clock: () => 0,
      timeouts: { baseMs: 100, maxMs: 800, retransmitMs: 0 },
      ...this.opts.engine,
    });
  }

  parent(i: number): ParentInfo {
    const tip = this.chains[i]!.at(-1);
    return tip === undefined ? genesisParent(this.ctx) : parentOf(tip.block);
  }

  buildBlock(i: number, lastCommit: CommitCertificate | null, invalid = false): SealedBlock {
    return buildSimBlock(this.ctx, {
      parent: this.parent(i),
      proposer: this.keys[i]!.publicKey,
      lastCommit,
      salt: this.salt++,
      invalid,
    });
  }

  startAll(): void {
    for (let i = 0; i < this.n; i++) this.start(i);
  }

  start(i: number, wal: readonly WalEntry[] = []): void {
    const tip = this.chains[i]!.at(-1);
    this.step(i, {
      type: 'start',
      height: this.chains[i]!.length + 1,
      lastCommit: tip?.certificate ?? null,
      wal,
    });
  }

  /** Replaces replica i's engine by a fresh one and restarts it (with its WAL unless told). */
  restart(i: number, opts: { forgetWal?: boolean } = {}): ConsensusAction[] {
    this.engines[i] = this.makeEngine(i);
    if (opts.forgetWal) this.wal[i] = [];
    const before = this.actions[i]!.length;
    this.start(i, this.wal[i]);
    return this.actions[i]!.slice(before);
  }

  step(i: number, event: ConsensusEvent): ConsensusAction[] {
    const actions = this.engines[i]!.step(event);
    this.actions[i]!.push(...actions);
    for (const a of actions) this.perform(i, a);
    return actions;
  }

  /** Injects bytes as if they came from the network. */
  inject(to: number, m: ConsensusMessage | Uint8Array): ConsensusAction[] {
    return this.step(
      to,
      m instanceof Uint8Array ? { type: 'message', bytes: m } : { type: 'message', message: m },
    );
  }

  private perform(i: number, a: ConsensusAction): void {
    switch (a.type) {
      case 'persist':
        this.wal[i]!.push(a.entry);
        return;
      case 'broadcast':
        this.sent[i]!.push(a.message);
        if (this.opts.silent?.has(i)) return;
        for (let to = 0; to < this.n; to++) {
          if (to !== i) this.queue.push({ kind: 'deliver', from: i, to, bytes: a.bytes });
        }
        return;
      case 'set-timer':
        this.timers[i]!.set(a.kind, { height: a.height, view: a.view, ms: a.ms });
        return;
      case 'clear-timer':
        this.timers[i]!.delete(a.kind);
        return;
      case 'build-proposal':
        if (this.opts.silent?.has(i)) return;
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
      default:
        return;
    }
  }

  /**
   * Runs queued work until nothing is left, `limit` items ran, or every replica reached
   * `untilHeight` committed blocks (a healthy cluster never runs out of work by itself).
   */
  run(limit = 20_000, untilHeight = 3): void {
    for (let k = 0; k < limit && this.queue.length > 0; k++) {
      if (this.chains.every((chain) => chain.length >= untilHeight)) return;
      const w = this.queue.shift()!;
      if (w.kind === 'deliver') {
        const m = decodeMessage(w.bytes);
        if (!this.filter(w.from, w.to, m)) continue;
        this.step(w.to, { type: 'message', bytes: w.bytes });
      } else if (w.kind === 'build') {
        const block = this.buildBlock(
          w.replica,
          w.lastCommit,
          this.invalidProposals.has(w.replica),
        );
        this.step(w.replica, { type: 'proposal-built', height: w.height, view: w.view, block });
      } else {
        const valid =
          this.chains[w.replica]!.length + 1 === w.height &&
          validateSimBlock(this.ctx, w.block, this.parent(w.replica)) === null;
        this.step(w.replica, {
          type: 'proposal-validated',
          height: w.height,
          blockHash: w.block.hash,
          valid,
        });
      }
    }
  }

  /** Fires replica i's pending timer of `kind` (the one the engine last set). */
  fire(i: number, kind: TimerKind = 'view'): ConsensusAction[] {
    const t = this.timers[i]!.get(kind);
    if (t === undefined) return [];
    this.timers[i]!.delete(kind);
    return this.step(i, { type: 'timer', kind, height: t.height, view: t.view });
  }

  fireAll(kind: TimerKind = 'view', except: ReadonlySet<number> = new Set()): void {
    for (let i = 0; i < this.n; i++) if (!except.has(i)) this.fire(i, kind);
  }

  heights(): number[] {
    return this.chains.map((c) => c.length);
  }

  rejections(i: number, reason: string): number {
    return this.actions[i]!.filter((a) => a.type === 'reject' && a.reason === reason).length;
  }
}
