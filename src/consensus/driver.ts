/**
 * Binds a pure engine (PBFT's, or HotStuff's: hotstuff/driver.ts) to the world through small interfaces the node implements: network,
 * write-ahead log, timers and the application (build / validate / commit blocks).
 *
 * Rules the driver keeps (docs/CONSENSUS.md, "Driver"):
 * - One event at a time: events queue and each step's actions finish (or are handed off,
 *   for slow node work) before the next event is stepped.
 * - Persist before send: consecutive persist actions are appended as one durable batch, and
 *   that batch completes before any later broadcast or commit of the same step.
 * - Commit before moving on: a commit action is awaited before the next height's actions.
 * - Building and validating blocks run off the event queue; their results come back as
 *   events, so a slow validation never blocks message handling.
 * - The inbound message queue is bounded; overflow is dropped and counted.
 */

import type { SealedBlock } from '../chain/block.ts';
import type { CommitCertificate } from '../chain/certificate.ts';
import { CivitasError } from '../errors/index.ts';
import type { EngineConfig } from './config.ts';
import { ConsensusEngine, type EngineStatus } from './engine.ts';
import type { ConsensusAction, ConsensusEvent, RejectReason, TimerKind } from './events.ts';
import type { Evidence } from './evidence.ts';
import type { ConsensusMessage } from './messages.ts';
import type { WalEntry } from './wal.ts';

/**
 * What the driver needs of an engine: PBFT's ConsensusEngine and HotStuff's HotStuffEngine
 * both are one, over their own message (M) and WAL entry (W) types.
 */
export interface StepEngine<M, W> {
  step(event: ConsensusEvent<M, W>): ConsensusAction<M, W>[];
  status(): EngineStatus;
  evidence(): Evidence[];
}

export interface ConsensusNetwork<M = ConsensusMessage> {
  /**
   * `bytes` is the message's canonical encoding; `message` the same message decoded, for a
   * network layer that sends another wire form of it (the node's compact proposals).
   */
  broadcast(bytes: Uint8Array, message: M): void | Promise<void>;
  /**
   * To the one validator whose key is `to` (HotStuff's votes to the leader; PBFT sends
   * none). A network without it broadcasts the message instead.
   */
  send?(to: Uint8Array, bytes: Uint8Array, message: M): void | Promise<void>;
}

export interface ConsensusWal<W = WalEntry> {
  /** Resolves once the entries are durable (synced). */
  append(entries: readonly W[]): Promise<void>;
  load(): Promise<W[]>;
  truncateBelow(height: number): Promise<void>;
}

export interface Timers {
  /** Calls fn after ms; the returned function cancels it. */
  set(ms: number, fn: () => void): () => void;
}

export interface DriverApp {
  buildProposal(
    height: number,
    view: number,
    lastCommit: CommitCertificate | null,
  ): Promise<SealedBlock>;
  validateProposal(block: SealedBlock): Promise<boolean>;
  /** Resolves once the block and its certificate are durable. */
  commit(block: SealedBlock, certificate: CommitCertificate): Promise<void>;
  /** A certificate shows the chain is at least at `targetHeight`: fetch the missing blocks. */
  requestSync?(targetHeight: number): void;
  onEvidence?(evidence: Evidence): void;
  /** A message was rejected (for peer scoring and logs). */
  onReject?(reason: RejectReason, validatorIndex: number | null, detail: string): void;
}

export interface DriverLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface DriverOptions<M = ConsensusMessage, W = WalEntry> {
  readonly engine: EngineConfig;
  /** The engine to drive; PBFT's ConsensusEngine when absent (HotStuff: hotstuff/driver.ts). */
  readonly createEngine?: (config: EngineConfig) => StepEngine<M, W>;
  /** Inbound messages waiting for a step; more are dropped. */
  readonly maxQueuedMessages?: number;
}

export interface DriverModules<M = ConsensusMessage, W = WalEntry> {
  readonly network: ConsensusNetwork<M>;
  readonly wal: ConsensusWal<W>;
  readonly timers: Timers;
  readonly app: DriverApp;
  readonly logger?: DriverLogger;
}

export interface DriverStatus extends EngineStatus {
  readonly queued: number;
  readonly droppedMessages: number;
  readonly committedBlocks: number;
}

interface PendingTimer {
  readonly height: number;
  readonly view: number;
  readonly cancel: () => void;
}

export class ConsensusDriver<M = ConsensusMessage, W = WalEntry> {
  private readonly engine: StepEngine<M, W>;
  private readonly modules: DriverModules<M, W>;
  private readonly maxQueued: number;
  private readonly queue: ConsensusEvent<M, W>[] = [];
  private queuedMessages = 0;
  private droppedMessages = 0;
  private committedBlocks = 0;
  private readonly timers = new Map<TimerKind, PendingTimer>();
  private draining: Promise<void> | null = null;
  private running = false;
  private failure: unknown = null;

  constructor(opts: DriverOptions<M, W>, modules: DriverModules<M, W>) {
    this.engine =
      opts.createEngine?.(opts.engine) ??
      // Without createEngine M and W are PBFT's (the defaults): the cast only says so.
      (new ConsensusEngine(opts.engine) as unknown as StepEngine<M, W>);
    this.modules = modules;
    this.maxQueued = opts.maxQueuedMessages ?? 10_000;
  }

  /** Replays the WAL and starts deciding `height` (the node's committed height + 1). */
  async start(height: number, lastCommit: CommitCertificate | null): Promise<void> {
    if (this.running) throw new CivitasError('CONSENSUS_ALREADY_STARTED', 'driver already started');
    const wal = await this.modules.wal.load();
    this.running = true;
    this.enqueue({ type: 'start', height, lastCommit, wal });
    await this.idle();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    this.queue.length = 0;
    this.queuedMessages = 0;
    await this.draining;
  }

  /**
   * A message from the network: raw bytes (decoded strictly by the engine), or a message the
   * caller already decoded with decodeMessage (the engine checks it the same way after).
   */
  deliver(input: Uint8Array | M): void {
    if (!this.running) return;
    if (this.queuedMessages >= this.maxQueued) {
      this.droppedMessages++;
      return;
    }
    this.queuedMessages++;
    this.enqueue(
      input instanceof Uint8Array
        ? { type: 'message', bytes: input }
        : { type: 'message', message: input as M },
    );
  }

  /** Whether the node holds txs ready for a block; call on change (engine event `txs`). */
  txsPending(pending: boolean): void {
    this.enqueue({ type: 'txs', pending });
  }

  /** Block sync committed `height` with `certificate`. */
  onBlockSynced(height: number, certificate: CommitCertificate): void {
    this.enqueue({ type: 'synced', height, certificate });
  }

  /**
   * Fires the pending view timer of (height, view) now, as if it had expired: the same event
   * the timer would have queued, and the scheduled one is cancelled. Only if that exact timer
   * is pending; returns whether it fired. Liveness only: safety never depends on when a
   * timer fires (docs/CONSENSUS.md, "Why it is safe").
   */
  expireViewTimer(height: number, view: number): boolean {
    const t = this.timers.get('view');
    if (t === undefined || t.height !== height || t.view !== view) return false;
    if (!this.running || this.failure !== null) return false;
    t.cancel();
    this.timers.delete('view');
    this.enqueue({ type: 'timer', kind: 'view', height, view });
    return true;
  }

  status(): DriverStatus {
    return {
      ...this.engine.status(),
      queued: this.queue.length,
      droppedMessages: this.droppedMessages,
      committedBlocks: this.committedBlocks,
    };
  }

  evidence(): Evidence[] {
    return this.engine.evidence();
  }

  /** Resolves when every queued event has been stepped and its actions executed. */
  async idle(): Promise<void> {
    while (this.draining !== null) await this.draining;
    if (this.failure !== null) throw this.failure;
  }

  private enqueue(event: ConsensusEvent<M, W>): void {
    if (!this.running || this.failure !== null) return;
    this.queue.push(event);
    if (this.draining === null) {
      this.draining = this.drain().finally(() => {
        this.draining = null;
      });
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && this.running) {
      const event = this.queue.shift()!;
      if (event.type === 'message') this.queuedMessages--;
      try {
        await this.execute(this.engine.step(event));
      } catch (err) {
        // A failed durable write or commit: continuing could violate the WAL contract.
        this.failure = err;
        this.running = false;
        this.modules.logger?.error('consensus driver stopped', { error: errorText(err) });
        for (const t of this.timers.values()) t.cancel();
        this.timers.clear();
        return;
      }
    }
  }

  private async execute(actions: readonly ConsensusAction<M, W>[]): Promise<void> {
    const { network, wal, app, logger } = this.modules;
    let pending: W[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const entries = pending;
      pending = [];
      await wal.append(entries);
    };
    for (const action of actions) {
      switch (action.type) {
        case 'persist':
          pending.push(action.entry);
          break;
        case 'broadcast':
          await flush();
          this.fireAndForget(network.broadcast(action.bytes, action.message), 'broadcast failed');
          break;
        case 'send':
          await flush();
          this.fireAndForget(
            network.send === undefined
              ? network.broadcast(action.bytes, action.message)
              : network.send(action.to, action.bytes, action.message),
            'send failed',
          );
          break;
        case 'set-timer': {
          this.timers.get(action.kind)?.cancel();
          const { kind, height, view } = action;
          const pending: PendingTimer = {
            height,
            view,
            cancel: this.modules.timers.set(action.ms, () => {
              if (this.timers.get(kind) === pending) this.timers.delete(kind);
              this.enqueue({ type: 'timer', kind, height, view });
            }),
          };
          this.timers.set(kind, pending);
          break;
        }
        case 'clear-timer':
          this.timers.get(action.kind)?.cancel();
          this.timers.delete(action.kind);
          break;
        case 'build-proposal': {
          const { height, view } = action;
          app.buildProposal(height, view, action.lastCommit).then(
            (block) => this.enqueue({ type: 'proposal-built', height, view, block }),
            (err) =>
              logger?.warn('building a proposal failed', { height, view, error: errorText(err) }),
          );
          break;
        }
        case 'validate-proposal': {
          const { height, block } = action;
          app.validateProposal(block).then(
            (valid) =>
              this.enqueue({ type: 'proposal-validated', height, blockHash: block.hash, valid }),
            (err) => {
              logger?.warn('validating a proposal failed', { height, error: errorText(err) });
              this.enqueue({
                type: 'proposal-validated',
                height,
                blockHash: block.hash,
                valid: false,
              });
            },
          );
          break;
        }
        case 'commit':
          await flush();
          await app.commit(action.block, action.certificate);
          this.committedBlocks++;
          await wal.truncateBelow(action.certificate.height + 1);
          break;
        case 'evidence':
          app.onEvidence?.(action.evidence);
          break;
        case 'need-sync':
          app.requestSync?.(action.targetHeight);
          break;
        case 'reject':
          app.onReject?.(action.reason, action.validatorIndex, action.detail);
          logger?.debug('consensus message rejected', {
            reason: action.reason,
            validator: action.validatorIndex,
            detail: action.detail,
          });
          break;
      }
    }
    await flush();
  }

  private fireAndForget(result: void | Promise<void>, what: string): void {
    if (result instanceof Promise) {
      result.catch((err) => this.modules.logger?.warn(what, { error: errorText(err) }));
    }
  }
}

function errorText(err: unknown): string {
  if (err instanceof CivitasError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
