/**
 * Binds the PBFT driver (src/consensus/driver.ts) to the node: consensus messages travel on
 * the chain's gossip topic, the WAL lives in LevelDB, timers are real, and blocks are built,
 * validated and committed by the node's ConsensusApp. The engine itself stays pure.
 */

import type { CommitCertificate, SealedBlock, ValidatorSet } from '../chain/index.ts';
import { ConsensusDriver } from '../consensus/driver.ts';
import type { EngineStatus } from '../consensus/engine.ts';
import type { RejectReason } from '../consensus/events.ts';
import { type ConsensusMessage, decodeMessage, signingHashOf } from '../consensus/messages.ts';
import { primaryIndex } from '../consensus/proofs.ts';
import { equalBytes } from '../crypto/bytes.ts';
import { verifyNative } from '../crypto/ed25519.ts';
import { peerIdFromValidatorKey } from '../p2p/identity.ts';
import type { P2PNode } from '../p2p/index.ts';
import { type CompactMessage, decodeCompact, type HeldTx, isCompact } from './compact-proposal.ts';
import type { ConsensusApp, ConsensusService, ConsensusStatus } from './consensus-service.ts';
import {
  consensusPublisher,
  engineBase,
  fatalOn,
  openEnvelope,
  primaryWatchFor,
  roundTimers,
  WATCH_INTERVAL_MS,
  walBinding,
} from './driver-binding.ts';
import type { LevelWal } from './level-wal.ts';
import type { Logger } from './logger.ts';
import type { PrimaryWatch } from './primary-watch.ts';
import { ProposalResolver, type ProposalResolverOptions } from './proposal-resolver.ts';

export interface PbftOptions {
  chainId: string;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  timeoutMs: number;
  /**
   * Quiet when idle: with no txs, a primary proposes an empty block after this long (0: never)
   * and the others' view timers allow for it (EngineConfig.emptyBlockIntervalMs). Unset: the
   * engine's plain timeouts.
   */
  emptyBlockIntervalMs?: number;
  /**
   * A primary silent this long (no consensus message authored by it heard) is taken for
   * crashed: its round's view timer expires at once. Default: defaultSilenceMs(timeoutMs).
   */
  silenceMs?: number;
  validatorsAt: (height: number, decided?: SealedBlock) => ValidatorSet;
  /**
   * Send block-carrying messages in compact form (txs named by hash; default true). Receiving
   * either form is always supported.
   */
  compact?: boolean;
  resolver?: Partial<ProposalResolverOptions>;
}

export interface PbftModules {
  app: ConsensusApp;
  /** Consensus messages travel on the chain's `consensus` gossip topic. */
  p2p: Pick<P2PNode, 'publish' | 'onGossip' | 'requestSync' | 'connectedPeers' | 'isMember'>;
  /** A tx in this node's mempool, bytes and decoded (compact proposals name txs by hash). */
  lookupTx: (hash: Uint8Array) => HeldTx | undefined;
  /** Whether to send a tx of our block inline (peers may not hold it yet). Default: none. */
  sendInline?: (hash: Uint8Array) => boolean;
  wal: Pick<LevelWal, 'append' | 'load' | 'truncateBelow'>;
  /** A certificate shows the chain is at least at `height`: catch up by block sync. */
  requestSync: (height: number) => void;
  /** Counts what the engine reports about other validators' messages. */
  metrics: { consensusRejected(reason: RejectReason): void; evidenceRecorded(): void };
  logger: Logger;
  /** Called when the driver hits an error it cannot continue from (a failed durable write). */
  onFatal: (err: unknown) => void;
  /** The node's clock: times this validator's COMMIT votes (chain/block-time.ts). */
  clock: () => number;
  /** Each certificate consensus decides, as it commits (clock health reads its vote times). */
  onDecided?: (certificate: CommitCertificate) => void;
}

export class PbftConsensus implements ConsensusService {
  private readonly driver: ConsensusDriver;
  private readonly m: PbftModules;
  private readonly watch: PrimaryWatch;
  /** Rebuilds received compact proposals and serves their parts (block sync's kinds 3, 4). */
  readonly proposals: ProposalResolver;
  /** Bytes of consensus messages this node published: as sent, and as v1 would have been. */
  readonly publishedBytes = { wire: 0, v1: 0 };
  private watchTimer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private readonly validatorsAt: PbftOptions['validatorsAt'];
  /** The last view change logged (logViewChange). */
  private loggedViewChange: EngineStatus['lastViewChange'] = null;
  /** What the engine was last told about the mempool (reportTxs). */
  private reportedTxs = false;

  constructor(opts: PbftOptions, m: PbftModules) {
    this.m = m;
    this.validatorsAt = opts.validatorsAt;
    const log = m.logger;
    const compact = opts.compact ?? true;
    const resolver = new ProposalResolver(opts.resolver ?? {}, {
      lookupTx: m.lookupTx,
      sendInline: m.sendInline,
      request: (peerId, request, o) => m.p2p.requestSync(peerId, request, o),
      peers: () => m.p2p.connectedPeers().filter((p) => m.p2p.isMember(p)),
      authentic: (signed) => {
        const key = opts.validatorsAt(signed.height).validators[signed.validatorIndex];
        return (
          key !== undefined &&
          verifyNative(signed.signature, signingHashOf(opts.chainId, signed), key)
        );
      },
      authorOf: (height, index) => {
        try {
          const key = opts.validatorsAt(height).validators[index];
          if (key === undefined || equalBytes(key, opts.publicKey)) return undefined;
          return peerIdFromValidatorKey(key);
        } catch {
          return undefined;
        }
      },
      tip: () => m.app.height(),
      logger: log,
    });
    this.proposals = resolver;
    const fatal = fatalOn(m.onFatal);
    const publish = consensusPublisher(m.p2p, log);
    this.driver = new ConsensusDriver(
      {
        engine: {
          ...engineBase(opts, m.clock),
          emptyBlockIntervalMs: opts.emptyBlockIntervalMs,
        },
      },
      {
        network: {
          broadcast: (bytes, message) => {
            const wire = compact ? resolver.wireBytes(message, bytes) : bytes;
            this.publishedBytes.wire += wire.length;
            this.publishedBytes.v1 += bytes.length;
            return publish(wire);
          },
        },
        wal: walBinding(m.wal, fatal),
        timers: roundTimers(
          () => this.logViewChange(),
          () => this.checkPrimary(),
        ),
        app: {
          buildProposal: (height, view) => m.app.buildProposal(height, view),
          validateProposal: (block) => m.app.validateProposal(block),
          commit: (block, certificate) => {
            m.onDecided?.(certificate);
            return fatal(m.app.commit(block, certificate)).then(() => this.reportTxs());
          },
          requestSync: (target) => m.requestSync(target),
          onEvidence: (e) => {
            m.metrics.evidenceRecorded();
            log.warn('equivocation evidence', {
              validator: e.validatorIndex,
              kind: e.kind,
              height: e.height,
            });
            const key = opts.validatorsAt(e.height).validators[e.validatorIndex];
            if (key !== undefined && equalBytes(key, opts.publicKey)) this.stopSigning(e);
          },
          // The driver logs each one at debug level.
          onReject: (reason) => m.metrics.consensusRejected(reason),
        },
        logger: log,
      },
    );
    this.watch = primaryWatchFor(this.driver, opts, log, 'primary');
    // Cheap checks at the gossip layer (size is capped by p2p; here: it decodes), so garbage
    // is never relayed. Signatures are checked once, by the engine. The decoded message is
    // handed from validator to handler, so a PRE-PREPARE's block is decoded once, not twice.
    // A compact message (first byte 2) is relayed as it came, then rebuilt into the full
    // message (txs from the mempool, missing ones fetched) before the engine sees it.
    const decoded = new WeakMap<Uint8Array, ConsensusMessage | CompactMessage>();
    m.p2p.onGossip(
      'consensus',
      (data) => {
        const bytes = openEnvelope(data);
        if (bytes === undefined) return 'reject';
        try {
          decoded.set(data, isCompact(bytes) ? decodeCompact(bytes) : decodeMessage(bytes));
          return 'accept';
        } catch {
          return 'reject';
        }
      },
      (data, from) => {
        const message = decoded.get(data);
        if (message !== undefined && 'head' in message) {
          // Heard on arrival, not once rebuilt: a fetch in progress is not a silent primary
          // (an unresolvable proposal falls back to the normal view timeout).
          this.watch.heard(message);
          return resolver.resolve(message, from.peerId).then((full) => {
            if (full !== undefined && !this.stopped) this.driver.deliver(full);
          });
        }
        if (message !== undefined) this.watch.heard(message);
        const input = message ?? openEnvelope(data);
        if (input !== undefined) this.driver.deliver(input);
      },
    );
  }

  async start(): Promise<void> {
    const tip = this.m.app.height();
    this.watch.begin();
    await this.driver.start(tip + 1, this.m.app.lastCertificate());
    if (!this.stopped) {
      this.watchTimer = setInterval(() => this.checkPrimary(), WATCH_INTERVAL_MS);
      this.watchTimer.unref();
    }
  }

  onTxsAvailable(): void {
    this.reportTxs();
  }

  onBlockSynced(height: number, certificate: CommitCertificate): void {
    this.driver.onBlockSynced(height, certificate);
    this.reportTxs();
  }

  /** Tells the engine when the mempool gains or loses ready txs (idle views wait longer). */
  private reportTxs(): void {
    const pending = this.m.app.hasPendingTxs();
    if (pending === this.reportedTxs || this.stopped) return;
    this.reportedTxs = pending;
    this.driver.txsPending(pending);
  }

  private checkPrimary(): void {
    if (this.stopped) return;
    this.watch.check();
  }

  /** One info line per view this replica moves to, with why (EngineStatus.lastViewChange). */
  private logViewChange(): void {
    const change = this.driver.status().lastViewChange;
    if (change === null || change === this.loggedViewChange) return;
    this.loggedViewChange = change;
    const n = this.validatorsAt(change.height).validators.length;
    this.m.logger.info('view change', {
      height: change.height,
      view: change.view,
      reason: change.reason,
      primary: primaryIndex(change.height, change.view, n),
    });
  }

  status(): ConsensusStatus {
    const s = this.driver.status();
    return { engine: 'pbft', view: s.view, primary: s.primary, viewChanges: s.viewChanges };
  }

  /**
   * The double-sign guard: two conflicting messages signed with this node's own key, one of
   * which it did not make, mean another process runs this validator key (a copied home, a
   * restored backup started twice). Signing on would make the validator equivocate: this node
   * stops taking part in consensus at once (it keeps syncing and serving) and says why.
   */
  private stopSigning(e: { height: number; kind: string }): void {
    if (this.stopped) return;
    this.m.logger.error(
      'this validator key signed two conflicting messages: another process runs it; consensus stops here',
      { height: e.height, kind: e.kind, hint: 'stop the other copy, then restart this node' },
    );
    this.stop().catch((err: unknown) =>
      this.m.logger.warn('consensus stop failed', { err: (err as Error).message }),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchTimer !== null) clearInterval(this.watchTimer);
    this.watchTimer = null;
    await this.driver.stop();
  }
}
