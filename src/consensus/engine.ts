/**
 * PBFT (Castro & Liskov, OSDI'99) for blocks, as a deterministic state machine:
 * `step(event) → actions`. No clock, no randomness, no I/O: time arrives as timer events, the
 * network as message events, the node's work (building, validating, committing blocks) as
 * actions out and result events in. docs/CONSENSUS.md is the specification this file
 * implements; the rule numbers quoted in comments refer to it.
 *
 * One height is decided at a time. Views restart at 0 on every height and the primary of
 * (height, view) is validators[(height + view) mod n].
 *
 * This file holds the state transitions. Beside it: round.ts (the state of the height being
 * decided), validity.ts and proofs.ts (whether a message may enter that state),
 * own-messages.ts (what this replica signs), wal-replay.ts (restoring it after a restart).
 */

import type { SealedBlock } from '../chain/block.ts';
import { commitVoteTime } from '../chain/block-time.ts';
import { type CommitCertificate, verifyCertificate } from '../chain/certificate.ts';
import type { ValidatorSet } from '../chain/validator-set.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';
import { CivitasError } from '../errors/index.ts';
import { type EngineConfig, type ResolvedConfig, resolveConfig, viewTimeout } from './config.ts';
import {
  BENIGN_REJECTS,
  type ConsensusAction,
  type ConsensusEvent,
  type Problem,
  REJECT_REASONS,
  type RejectReason,
} from './events.ts';
import { type Evidence, type EvidenceKind, EvidenceStore, type SignedDigest } from './evidence.ts';
import { FutureBuffer } from './future-buffer.ts';
import {
  type ConsensusMessage,
  decodeMessage,
  describeMessage,
  encodeMessage,
  type NewView,
  type PrePrepare,
  type PreparedCertificate,
  type ViewChange,
  type Vote,
} from './messages.ts';
import {
  type Signer,
  signNewView,
  signPrePrepare,
  signViewChange,
  signVote,
} from './own-messages.ts';
import { blockMatchesHeader, chooseNewViewBlock, primaryIndex } from './proofs.ts';
import {
  type BlockEntry,
  type BlockStatus,
  blockCapacity,
  type Phase,
  type Proposal,
  proposalOf,
  Round,
} from './round.ts';
import {
  type AdmissionContext,
  admitNewView,
  admitPrePrepare,
  admitViewChange,
  admitVote,
  checkSignature,
} from './validity.ts';
import { VoteTally } from './vote-tally.ts';
import type { WalEntry } from './wal.ts';
import { PendingWal, replayHeight } from './wal-replay.ts';

export type { Phase } from './round.ts';

export interface EngineStatus {
  readonly started: boolean;
  readonly height: number;
  readonly view: number;
  readonly phase: Phase;
  /** Validator index of the primary of (height, view). */
  readonly primary: number;
  /** This replica's index at this height (−1: observer). */
  readonly validatorIndex: number;
  /** Views entered after view 0, summed over all heights. */
  readonly viewChanges: number;
  /** Highest height a checked certificate shows committed (≥ height means behind). */
  readonly syncTarget: number;
  /**
   * View 0 of this height is idle: no txs reported pending and no proposal yet, so its primary
   * may still be waiting to propose an empty block (EngineConfig.emptyBlockIntervalMs).
   */
  readonly idle: boolean;
  /** The last view this replica moved to, and why (null before any). */
  readonly lastViewChange: {
    readonly height: number;
    readonly view: number;
    readonly reason: ViewChangeReason;
  } | null;
}

/**
 * Why a replica left a view: its timer expired, the node found the proposal invalid (N3),
 * f + 1 others had moved on (V3), or a valid NEW-VIEW for a later view arrived.
 */
export type ViewChangeReason = 'timeout' | 'invalid-proposal' | 'joined' | 'new-view';

/** Sizes of every network-fed buffer, and their caps (the simulator checks size ≤ cap). */
export interface EngineMemory {
  readonly futureMaxPerValidator: number;
  readonly futureTotal: number;
  readonly votes: number;
  readonly viewChanges: number;
  readonly blocks: number;
  readonly evidence: number;
}

/** The certificate of the previous height that a message carries, if any. */
function certificateCarried(m: ConsensusMessage): CommitCertificate | null {
  switch (m.type) {
    case 'view-change':
      return m.lastCommit;
    case 'pre-prepare':
    case 'new-view':
      return m.block.lastCommit;
    default:
      return null;
  }
}

export class ConsensusEngine {
  private readonly cfg: ResolvedConfig;
  private started = false;
  private height = 0;
  private view = 0;
  private phase: Phase = 'normal';
  private lastCommit: CommitCertificate | null = null;
  private validators!: ValidatorSet;
  private myIndex = -1;
  private quorum = 1;
  private maxFaulty = 0;
  private round: Round;
  private readonly future: FutureBuffer;
  private readonly evidenceStore: EvidenceStore;
  /** WAL entries above the start height, restored when their height is reached. */
  private restored = new PendingWal([], 0);
  private syncTarget = 0;
  private syncAnnounced = 0;
  /** The node's last report: txs are ready for a block (event `txs`). */
  private txsPending = false;
  /** View 0 of this height waits for txs or the proposal (see EngineStatus.idle). */
  private idle = false;
  /** The height at which a later certificate failed against a guessed set (askPeers). */
  private askedPeersAt = 0;
  private viewChangesTotal = 0;
  private lastViewChange: EngineStatus['lastViewChange'] = null;
  private readonly rejectCounts: Record<RejectReason, number>;
  private readonly preverified = new WeakSet<ConsensusMessage>();
  /**
   * The hash of the validator set a buffered future message's signature was checked
   * against. The set of a height above the next is only a guess until the height before it
   * commits (a validator-set change executed there takes effect at once): on entering the
   * height, a message checked against another set is checked again, index and all.
   */
  private readonly checkedAgainst = new WeakMap<ConsensusMessage, Uint8Array>();
  private out: ConsensusAction[] = [];

  constructor(config: EngineConfig) {
    this.cfg = resolveConfig(config);
    this.future = new FutureBuffer(this.cfg.windows.futurePerValidator);
    this.evidenceStore = new EvidenceStore(this.cfg.windows.evidence);
    this.round = new Round(this.cfg.windows.views);
    this.rejectCounts = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<
      RejectReason,
      number
    >;
  }

  // -------------------------------------------------------------------------------------------
  // Public surface

  step(event: ConsensusEvent): ConsensusAction[] {
    this.out = [];
    if (event.type === 'start') {
      this.onStart(event.height, event.lastCommit, event.wal);
    } else if (this.started) {
      switch (event.type) {
        case 'message':
          this.onMessageEvent(event);
          break;
        case 'timer':
          this.onTimer(event.kind, event.height, event.view);
          break;
        case 'proposal-built':
          this.onProposalBuilt(event.height, event.view, event.block);
          break;
        case 'proposal-validated':
          this.onProposalValidated(event.height, event.blockHash, event.valid);
          break;
        case 'synced':
          if (event.height >= this.height) this.enterHeight(event.height + 1, event.certificate);
          break;
        case 'txs':
          if (event.pending === this.txsPending) break;
          this.txsPending = event.pending;
          if (event.pending) this.endIdle();
          else this.resumeIdle();
          break;
      }
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  status(): EngineStatus {
    const n = this.started ? this.validators.validators.length : 1;
    return {
      started: this.started,
      height: this.height,
      view: this.view,
      phase: this.phase,
      primary: primaryIndex(this.height, this.view, n),
      validatorIndex: this.myIndex,
      viewChanges: this.viewChangesTotal,
      lastViewChange: this.lastViewChange,
      syncTarget: this.syncTarget,
      idle: this.idle && this.view === 0 && this.phase === 'normal',
    };
  }

  memory(): EngineMemory {
    let blocks = this.round.blocks.size;
    if (!this.started) blocks = 0;
    return {
      futureMaxPerValidator: this.future.maxPerValidator,
      futureTotal: this.future.size,
      votes: this.round.prepares.size + this.round.commits.size,
      viewChanges: this.round.viewChangeCount(),
      blocks,
      evidence: this.evidenceStore.size,
    };
  }

  /** The caps `memory()` stays under, for a validator set of `n`. */
  memoryCaps(n: number): EngineMemory {
    const w = this.cfg.windows;
    const perView = n * VoteTally.MAX_VOTES_PER_VALIDATOR_VIEW;
    return {
      futureMaxPerValidator: w.futurePerValidator,
      futureTotal: w.futurePerValidator * n,
      // Prepares over views [v, v+W], commits over [v−W, v+W].
      votes: perView * (w.views + 1) + perView * (2 * w.views + 1),
      viewChanges: n * (w.views + 1),
      blocks: blockCapacity(w.views),
      evidence: w.evidence,
    };
  }

  evidence(): Evidence[] {
    return this.evidenceStore.list();
  }

  rejections(): Readonly<Record<RejectReason, number>> {
    return { ...this.rejectCounts };
  }

  // -------------------------------------------------------------------------------------------
  // Output helpers

  private emit(action: ConsensusAction): void {
    this.out.push(action);
  }

  /** `detail` may be a thunk: benign rejections are only counted, never described. */
  private reject(
    reason: RejectReason,
    validatorIndex: number | null,
    detail: string | (() => string),
  ): void {
    this.rejectCounts[reason]++;
    if (BENIGN_REJECTS.has(reason)) return;
    const text = typeof detail === 'string' ? detail : detail();
    this.emit({ type: 'reject', reason, validatorIndex, detail: text });
  }

  /** The problem's detail may describe the message: read only if the rejection is reported. */
  private rejectMessage(m: ConsensusMessage, problem: Problem): void {
    this.reject(problem.reason, m.validatorIndex, () => problem.detail);
  }

  /** WAL contract: a message this replica signs is persisted before it is sent. */
  private sendSigned(message: ConsensusMessage): void {
    this.emit({ type: 'persist', entry: { kind: 'signed', message } });
    this.emit({ type: 'broadcast', message, bytes: encodeMessage(message) });
  }

  private resend(message: ConsensusMessage): void {
    this.emit({ type: 'broadcast', message, bytes: encodeMessage(message) });
  }

  /**
   * Arms the view timer, and the retransmission timer. In the view-change phase the view timer
   * starts only once a quorum of VIEW-CHANGEs for the view is here (Castro & Liskov §4.5.2):
   * a replica that changed view alone must not keep running ahead, abandoning each view
   * before the others reach it — with capped timeouts it would never be caught up.
   */
  private armTimers(): void {
    this.round.viewTimerFor = -1;
    this.armViewTimer();
    if (this.cfg.timeouts.retransmitMs > 0) this.armRetransmitTimer();
  }

  private armRetransmitTimer(): void {
    this.emit({
      type: 'set-timer',
      kind: 'retransmit',
      height: this.height,
      view: this.view,
      ms: this.cfg.timeouts.retransmitMs,
    });
  }

  private armViewTimer(): void {
    const round = this.round;
    if (round.viewTimerFor === this.view) return;
    if (
      this.phase === 'view-change' &&
      (round.viewChanges.get(this.view)?.size ?? 0) < this.quorum
    ) {
      return;
    }
    let ms = viewTimeout(this.cfg.timeouts, this.view);
    if (this.idle && this.view === 0) {
      const wait = this.cfg.emptyBlockIntervalMs ?? 0;
      if (wait === 0) {
        // No empty blocks: an idle view has nothing to time (endIdle arms the timer).
        this.emit({ type: 'clear-timer', kind: 'view' });
        return;
      }
      ms += wait;
    }
    round.viewTimerFor = this.view;
    this.emit({ type: 'set-timer', kind: 'view', height: this.height, view: this.view, ms });
  }

  /**
   * Txs are pending or the proposal is here: the primary has no reason left to wait, so view
   * 0's timer restarts with the ordinary timeout from now.
   */
  private endIdle(): void {
    if (!this.idle) return;
    this.idle = false;
    if (this.view !== 0 || this.phase !== 'normal') return;
    this.round.viewTimerFor = -1;
    this.armViewTimer();
  }

  /**
   * The txs the node held went into the block just committed (it reports after the engine
   * entered the next height): view 0 of that height becomes idle again if nothing happened in
   * it yet, and its timer allows for the primary's wait from now.
   */
  private resumeIdle(): void {
    if (this.cfg.emptyBlockIntervalMs === undefined || this.idle) return;
    const round = this.round;
    if (this.view !== 0 || this.phase !== 'normal') return;
    if (round.proposals.size > 0 || round.own.prePrepare !== null) return;
    this.idle = true;
    round.viewTimerFor = -1;
    this.armViewTimer();
  }

  private requestSync(target: number): void {
    if (target > this.syncTarget) this.syncTarget = target;
    if (this.syncTarget > this.syncAnnounced) {
      this.syncAnnounced = this.syncTarget;
      this.emit({ type: 'need-sync', targetHeight: this.syncTarget });
    }
  }

  /** Re-asks for sync on every timer while behind: the first request may have failed. */
  private retrySync(): void {
    const behind = this.syncTarget >= this.height || this.askedPeersAt === this.height;
    const stuck = this.round.decided !== null;
    if (behind || stuck) {
      this.emit({ type: 'need-sync', targetHeight: Math.max(this.syncTarget, this.height) });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Heights, views, timers

  private quorumOf(validators: ValidatorSet): number {
    return this.cfg.unsafe?.quorum ?? validators.quorum;
  }

  private admissionContext(): AdmissionContext {
    return {
      chainId: this.cfg.chainId,
      height: this.height,
      validators: this.validators,
      quorum: this.quorum,
      verify: this.cfg.verify,
      view: this.view,
      viewWindow: this.cfg.windows.views,
      round: this.round,
      preverified: this.preverified,
      ignorePreparedCertificates: this.cfg.unsafe?.ignorePreparedCertificates ?? false,
    };
  }

  private signer(): Signer {
    const { chainId, sign } = this.cfg;
    return { chainId, height: this.height, validatorIndex: this.myIndex, sign };
  }

  private primaryOf(view: number): number {
    return primaryIndex(this.height, view, this.validators.validators.length);
  }

  private onStart(height: number, lastCommit: CommitCertificate | null, wal: readonly WalEntry[]) {
    if (!Number.isSafeInteger(height) || height < 1) {
      throw new CivitasError('CONSENSUS_BAD_START', `start height must be ≥ 1, got ${height}`);
    }
    this.started = true;
    this.restored = new PendingWal(wal, height);
    this.enterHeight(height, lastCommit);
  }

  private enterHeight(
    height: number,
    lastCommit: CommitCertificate | null,
    decided?: SealedBlock,
  ): void {
    this.height = height;
    this.view = 0;
    this.phase = 'normal';
    this.lastCommit = lastCommit;
    this.validators = this.cfg.validatorsAt(height, decided);
    // The set a decided block named for the next height is the one that signs it.
    if (
      decided !== undefined &&
      !equalBytes(this.validators.hash, decided.header.nextValidatorSetHash)
    ) {
      throw new CivitasError(
        'CONSENSUS_SET_MISMATCH',
        `the node's validator set for height ${height} is not the one block ${height - 1} names`,
      );
    }
    this.myIndex = this.validators.indexOf(this.cfg.publicKey);
    this.quorum = this.quorumOf(this.validators);
    this.maxFaulty = this.validators.maxFaulty;
    this.round = new Round(this.cfg.windows.views);
    this.idle = this.cfg.emptyBlockIntervalMs !== undefined && !this.txsPending;
    const entries = this.restored.take(height);
    if (entries !== undefined) this.restore(entries);
    if (this.view > 0 || this.round.proposals.size > 0) this.idle = false;
    this.armTimers();
    if (entries !== undefined) this.resendOwn();
    const round = this.round;
    this.maybePropose();
    if ((this.phase as Phase) === 'view-change') this.tryNewView();
    // Messages that arrived early for this height, in arrival order.
    for (const m of this.future.take(height)) {
      if (this.round !== round) break;
      const checked = this.checkedAgainst.get(m);
      if (checked !== undefined && equalBytes(checked, this.validators.hash)) {
        this.preverified.add(m);
      } else {
        this.preverified.delete(m);
      }
      this.onMessage(m);
    }
  }

  /** Rebuilds "what I signed at this height" from the WAL (docs/CONSENSUS.md, WAL replay). */
  private restore(entries: readonly WalEntry[]): void {
    const putBlock = (block: SealedBlock, status: BlockStatus) => this.putBlock(block, status);
    const resumed = replayHeight(this.round, entries, this.myIndex, putBlock);
    this.view = resumed.view;
    this.phase = resumed.phase;
    this.prune();
  }

  private onTimer(kind: 'view' | 'retransmit', height: number, view: number): void {
    if (height !== this.height || view !== this.view) return;
    if (kind === 'view') {
      this.retrySync();
      this.startViewChange(this.view + 1, 'timeout');
    } else {
      this.resendOwn();
      this.retrySync();
      this.armRetransmitTimer();
    }
  }

  /** Retransmission: the same signed bytes again, for peers that lost them. */
  private resendOwn(): void {
    const own = this.round.own;
    const vc = own.viewChanges.get(this.view);
    if (this.phase === 'view-change') {
      if (vc !== undefined) this.resend(vc);
      return;
    }
    if (vc !== undefined && !this.round.proposals.has(this.view)) this.resend(vc);
    if (this.view === 0 && own.prePrepare !== null) this.resend(own.prePrepare);
    const nv = own.newViews.get(this.view);
    if (nv !== undefined) this.resend(nv);
    const prepare = own.prepares.get(this.view);
    if (prepare !== undefined) this.resend(prepare);
    const commit = own.commits.get(this.view);
    if (commit !== undefined) this.resend(commit);
  }

  private maybePropose(): void {
    const round = this.round;
    if (this.phase !== 'normal' || this.view !== 0 || this.myIndex !== this.primaryOf(0)) return;
    if (round.own.prePrepare !== null || round.proposalRequested.has(0)) return;
    round.proposalRequested.add(0);
    this.emit({
      type: 'build-proposal',
      height: this.height,
      view: 0,
      lastCommit: this.lastCommit,
    });
  }

  private prune(): void {
    this.round.prune(this.view);
  }

  private putBlock(block: SealedBlock, status: BlockStatus): boolean {
    if (this.round.putBlock(block, status)) return true;
    this.reject('cap-exceeded', null, `block store of height ${this.height} is full`);
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // Normal case

  private onProposalBuilt(height: number, view: number, block: SealedBlock): void {
    if (height !== this.height || view !== this.view || this.myIndex !== this.primaryOf(view)) {
      return;
    }
    if (!blockMatchesHeader(block, this.cfg.chainId, height)) {
      this.reject('bad-block', this.myIndex, 'the node built a block whose body does not match');
      return;
    }
    const round = this.round;
    if (view === 0) {
      if (this.phase !== 'normal' || round.own.prePrepare !== null) return;
      const m = signPrePrepare(this.signer(), block);
      round.own.prePrepare = m;
      round.proposals.set(0, proposalOf(0, block.hash, m.signature));
      this.putBlock(block, 'valid');
      this.sendSigned(m);
      this.endIdle();
      this.tryPrepared(0);
    } else {
      this.tryNewView(block);
    }
  }

  /** The proposal of `view` is known: validate it, then PREPARE. */
  private onProposalReady(view: number): void {
    const p = this.round.proposals.get(view);
    if (p === undefined) return;
    const entry = this.round.blocks.get(p.hex);
    if (entry === undefined) return;
    switch (entry.status) {
      case 'valid':
        this.sendPrepare(view);
        this.tryPrepared(view);
        return;
      case 'unchecked':
        this.requestValidation(entry);
        return;
      case 'invalid':
        this.startViewChange(view + 1, 'invalid-proposal');
        return;
      case 'pending':
        return;
    }
  }

  private requestValidation(entry: BlockEntry): void {
    if (entry.status !== 'unchecked') return;
    entry.status = 'pending';
    this.emit({ type: 'validate-proposal', height: this.height, block: entry.block });
  }

  private onProposalValidated(height: number, blockHash: Uint8Array, valid: boolean): void {
    if (height !== this.height) return;
    const hex = toHex(blockHash);
    const entry = this.round.blocks.get(hex);
    if (entry === undefined || entry.status !== 'pending') return;
    entry.status = valid ? 'valid' : 'invalid';
    const round = this.round;
    const p = round.proposals.get(this.view);
    if (p !== undefined && p.hex === hex && this.phase === 'normal') {
      if (!valid) {
        // Rule N3: an invalid proposal is the primary's fault; do not wait for the timeout.
        this.reject('bad-block', this.primaryOf(this.view), 'the node rejected the proposal');
        this.startViewChange(this.view + 1, 'invalid-proposal');
      } else {
        this.sendPrepare(this.view);
        if (this.round === round) this.tryPrepared(this.view);
      }
    }
    if (this.round === round) this.tryFinalize();
  }

  private sendPrepare(view: number): void {
    const round = this.round;
    if (this.myIndex < 0 || this.phase !== 'normal' || view !== this.view) return;
    // Rule N2: the primary does not PREPARE; its pre-prepare stands for it.
    if (this.myIndex === this.primaryOf(view) || round.own.prepares.has(view)) return;
    const p = round.proposals.get(view)!;
    const vote = signVote(this.signer(), 'prepare', view, p.blockHash, 0);
    round.addOwnVote(vote);
    this.sendSigned(vote);
  }

  /** Rule N4: prepared = accepted proposal + quorum−1 PREPAREs from backups → COMMIT. */
  private tryPrepared(view: number): void {
    const round = this.round;
    if (this.phase !== 'normal' || view !== this.view) return;
    const p = round.proposals.get(view);
    if (p === undefined || round.blocks.get(p.hex)?.status !== 'valid') return;
    if (round.own.commits.has(view)) return;
    if (round.prepares.signerCount(view, p.blockHash) < this.quorum - 1) return;
    const primary = this.primaryOf(view);
    const backups = round.prepares
      .signers(view, p.blockHash)
      .filter((s) => s.validatorIndex !== primary);
    if (backups.length < this.quorum - 1) return;
    const certificate: PreparedCertificate = {
      view,
      blockHash: p.blockHash,
      prePrepareSignature: p.prePrepareSignature,
      prepares: backups.map(({ validatorIndex, signature }) => ({ validatorIndex, signature })),
    };
    const block = round.blocks.get(p.hex)!.block;
    if (round.prepared === null || round.prepared.certificate.view < view) {
      round.prepared = { certificate, block };
      // WAL contract: the prepared certificate is durable before the COMMIT it justifies.
      if (this.myIndex >= 0) {
        this.emit({
          type: 'persist',
          entry: { kind: 'prepared', height: this.height, certificate, block },
        });
      }
    }
    if (this.myIndex < 0) return;
    // The vote signs this replica's clock, never at or before the block's own time.
    const time = commitVoteTime(this.cfg.clock(), block.header.timestamp);
    const vote = signVote(this.signer(), 'commit', view, p.blockHash, time);
    round.addOwnVote(vote);
    this.sendSigned(vote);
    this.tryCommitted(view, p.blockHash);
  }

  /** Rule N5: a quorum of matching COMMITs in any view decides the height. */
  private tryCommitted(view: number, blockHash: Uint8Array): void {
    const round = this.round;
    if (round.decided !== null || round.commits.signerCount(view, blockHash) < this.quorum) return;
    const signers = round.commits.signers(view, blockHash);
    if (signers.length < this.quorum) return;
    round.decided = {
      height: this.height,
      view,
      blockHash,
      signatures: signers,
    };
    this.tryFinalize();
  }

  /** A decided height commits once its block is here and the node found it valid. */
  private tryFinalize(): void {
    const cert = this.round.decided;
    if (cert === null) return;
    const entry = this.round.blocks.get(toHex(cert.blockHash));
    if (entry === undefined || entry.status === 'invalid') {
      this.requestSync(this.height);
      return;
    }
    if (entry.status === 'unchecked') this.requestValidation(entry);
    if (entry.status !== 'valid') return;
    this.emit({ type: 'commit', block: entry.block, certificate: cert });
    this.enterHeight(this.height + 1, cert, entry.block);
  }

  // -------------------------------------------------------------------------------------------
  // View change

  private startViewChange(newView: number, reason: ViewChangeReason): void {
    if (newView <= this.view) return;
    const round = this.round;
    this.view = newView;
    this.phase = 'view-change';
    this.viewChangesTotal++;
    this.lastViewChange = { height: this.height, view: newView, reason };
    this.prune();
    if (this.myIndex >= 0) {
      const vc = signViewChange(this.signer(), newView, this.lastCommit, round.prepared);
      round.own.viewChanges.set(newView, vc);
      round.storeViewChange(vc);
      this.sendSigned(vc);
    }
    this.armTimers();
    this.tryNewView();
    if (this.round === round) this.tryJoinViewChange();
  }

  /** Rule V3: f+1 VIEW-CHANGEs for higher views prove an honest replica timed out: join. */
  private tryJoinViewChange(): void {
    const highest = new Map<number, number>();
    for (const [view, byValidator] of this.round.viewChanges) {
      if (view <= this.view) continue;
      for (const validator of byValidator.keys()) {
        if (validator === this.myIndex) continue;
        highest.set(validator, Math.max(highest.get(validator) ?? 0, view));
      }
    }
    if (highest.size < this.maxFaulty + 1) return;
    const views = [...highest.values()].sort((a, b) => b - a);
    this.startViewChange(views[this.maxFaulty]!, 'joined');
  }

  /** Rule V4: the new primary, with a quorum of VIEW-CHANGEs, sends NEW-VIEW. */
  private tryNewView(freshBlock?: SealedBlock): void {
    const round = this.round;
    const view = this.view;
    if (this.phase !== 'view-change' || this.myIndex !== this.primaryOf(view)) return;
    if (round.own.newViews.has(view)) return;
    const byValidator = round.viewChanges.get(view);
    if (byValidator === undefined || byValidator.size < this.quorum) return;
    const viewChanges = [...byValidator.values()]
      .sort((a, b) => a.validatorIndex - b.validatorIndex)
      .map((vc) => ({ ...vc, preparedBlock: null }));
    const choice = this.cfg.unsafe?.ignorePreparedCertificates
      ? ({ kind: 'fresh' } as const)
      : chooseNewViewBlock(viewChanges);
    let block: SealedBlock;
    let status: BlockStatus = 'valid';
    if (choice.kind === 'prepared') {
      const entry = round.blocks.get(toHex(choice.blockHash));
      // Cannot happen: a view change with a prepared certificate must attach its block.
      if (entry === undefined) return;
      block = entry.block;
      status = 'unchecked';
    } else if (freshBlock !== undefined) {
      block = freshBlock;
    } else {
      if (!round.proposalRequested.has(view)) {
        round.proposalRequested.add(view);
        this.emit({
          type: 'build-proposal',
          height: this.height,
          view,
          lastCommit: this.lastCommit,
        });
      }
      return;
    }
    const nv = signNewView(this.signer(), view, viewChanges, block);
    round.own.newViews.set(view, nv);
    this.sendSigned(nv);
    this.installView(view, proposalOf(view, block.hash, nv.prePrepareSignature), block, status);
  }

  private installView(view: number, p: Proposal, block: SealedBlock, status: BlockStatus): void {
    this.phase = 'normal';
    this.round.proposals.set(view, p);
    this.putBlock(block, status);
    this.prune();
    this.armTimers();
    this.onProposalReady(view);
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  private onMessageEvent(event: Extract<ConsensusEvent, { type: 'message' }>): void {
    let m: ConsensusMessage;
    if ('message' in event) {
      m = event.message;
    } else {
      try {
        m = decodeMessage(event.bytes);
      } catch (err) {
        const code = err instanceof CivitasError ? err.code : 'CODEC_ERROR';
        this.reject('malformed', null, code);
        return;
      }
    }
    this.onMessage(m);
  }

  private onMessage(m: ConsensusMessage): void {
    if (m.height < this.height) {
      this.reject('stale-height', m.validatorIndex, () => describeMessage(m));
      return;
    }
    if (m.height > this.height) {
      this.onFutureMessage(m);
      return;
    }
    const round = this.round;
    if (m.validatorIndex >= this.validators.validators.length) {
      this.reject('unknown-validator', m.validatorIndex, () => describeMessage(m));
      return;
    }
    switch (m.type) {
      case 'pre-prepare':
        this.onPrePrepare(m);
        break;
      case 'prepare':
      case 'commit':
        this.onVote(m);
        break;
      case 'view-change':
        this.onViewChange(m);
        break;
      case 'new-view':
        this.onNewView(m);
        break;
    }
    if (this.round === round) this.tryFinalize();
  }

  private onFutureMessage(m: ConsensusMessage): void {
    let validators: ValidatorSet;
    try {
      validators = this.cfg.validatorsAt(m.height);
    } catch {
      this.reject('unknown-validator', m.validatorIndex, `no validator set for ${m.height}`);
      return;
    }
    const cert = certificateCarried(m);
    const hint = cert !== null && cert.height >= this.height && cert.height > this.syncTarget;
    const key = validators.validators[m.validatorIndex];
    if (key === undefined) {
      this.observeGuessFailure(cert, hint);
      this.reject('unknown-validator', m.validatorIndex, () => describeMessage(m));
      return;
    }
    const inWindow = m.height <= this.height + this.cfg.windows.heights;
    if (!inWindow && !hint) {
      this.reject('future-height', m.validatorIndex, () => describeMessage(m));
      return;
    }
    const problem = checkSignature(m, key, this.admissionContext());
    if (problem !== null) {
      if (problem.reason === 'bad-signature') this.observeGuessFailure(cert, hint);
      this.rejectMessage(m, problem);
      return;
    }
    this.preverified.add(m);
    if (hint) this.observeCertificate(cert!);
    if (m.height === this.height) {
      this.onMessage(m);
      return;
    }
    if (m.height < this.height) return;
    if (m.height > this.height + this.cfg.windows.heights) {
      this.reject('future-height', m.validatorIndex, () => describeMessage(m));
      return;
    }
    this.checkedAgainst.set(m, validators.hash);
    const result = this.future.add(toHex(key), m);
    if (result !== 'buffered') {
      this.reject(result, m.validatorIndex, () => describeMessage(m));
    }
  }

  /**
   * A later height's message failed against the set guessed for its height (index unknown or
   * signature wrong). The guess is wrong whenever a set change was executed at a height not
   * yet committed here, and then every message of the next height looks forged: if the
   * certificate it carries were dropped with it, a replica that missed this height's COMMITs
   * would never learn it is behind (the long sweep with reconfiguration found that stall). A
   * certificate needs no trust in its carrier — q signatures checked against the set of its
   * own height, exact for the current one — so it is still observed; the message is not.
   */
  private observeGuessFailure(cert: CommitCertificate | null, hint: boolean): void {
    if (!hint) return;
    // Exact for the current height; for a later one checked against a guess, once a height.
    if (cert!.height === this.height || this.askedPeersAt !== this.height) {
      this.observeCertificate(cert!);
    }
  }

  /**
   * need-sync of this very height: "see whether peers are ahead", claiming nothing an
   * unverified certificate says (syncTarget stays). Repeated on every timer at this height.
   */
  private askPeers(): void {
    if (this.askedPeersAt === this.height) return;
    this.askedPeersAt = this.height;
    this.emit({ type: 'need-sync', targetHeight: this.height });
  }

  /**
   * A certificate from a later height's message: it decides our height if it is for it, and
   * shows we are behind if it is for a later one.
   */
  private observeCertificate(cert: CommitCertificate): void {
    if (cert.height < this.height) return;
    if (cert.height === this.height && this.round.decided !== null) return;
    let validators: ValidatorSet;
    try {
      validators = this.cfg.validatorsAt(cert.height);
      verifyCertificate(
        cert,
        {
          chainId: this.cfg.chainId,
          height: cert.height,
          blockHash: cert.blockHash,
          validators: { ...validators, quorum: this.quorumOf(validators) },
        },
        this.cfg.verify,
      );
    } catch (err) {
      this.reject('bad-certificate', null, err instanceof Error ? err.message : String(err));
      // The set of a later height is a guess: a change executed in between (not yet known
      // here) makes a genuine certificate fail. Let the node ask its peers how far they are
      // (need-sync of this very height claims nothing the certificate says): block sync
      // checks each block's certificate against the set its chain names, and gets past the
      // change (the long sweep with reconfiguration found replicas stuck behind one).
      if (cert.height > this.height) this.askPeers();
      return;
    }
    if (cert.height === this.height) {
      this.round.decided = cert;
      this.tryFinalize();
    } else {
      this.requestSync(cert.height);
    }
  }

  private onPrePrepare(m: PrePrepare): void {
    const problem = admitPrePrepare(m, this.admissionContext());
    if (problem !== null) {
      this.rejectMessage(m, problem);
      return;
    }
    const round = this.round;
    const existing = round.proposals.get(0);
    // Admitted while a proposal is held: a second one, validly signed (Rule P3).
    if (existing !== undefined) {
      this.recordEvidence(
        'pre-prepare',
        0,
        m.validatorIndex,
        { blockHash: existing.blockHash, signature: existing.prePrepareSignature, timestamp: 0 },
        { blockHash: m.block.hash, signature: m.signature, timestamp: 0 },
      );
      return;
    }
    if (!this.putBlock(m.block, 'unchecked')) return;
    round.proposals.set(0, proposalOf(0, m.block.hash, m.signature));
    this.endIdle();
    if (this.round !== round) return;
    this.onProposalReady(0);
  }

  private onVote(m: Vote): void {
    const problem = admitVote(m, this.admissionContext());
    if (problem !== null) {
      this.rejectMessage(m, problem);
      return;
    }
    const tally = m.type === 'prepare' ? this.round.prepares : this.round.commits;
    const first = tally.first(m.view, m.validatorIndex);
    // Admitted while the validator has a vote in this view: one for another block, evidence.
    if (first !== undefined) {
      this.recordEvidence(m.type, m.view, m.validatorIndex, first, m);
    }
    tally.add(m.view, m.validatorIndex, m.blockHash, m.signature, m.timestamp);
    if (m.type === 'prepare') this.tryPrepared(m.view);
    else this.tryCommitted(m.view, m.blockHash);
  }

  private recordEvidence(
    kind: EvidenceKind,
    view: number,
    validatorIndex: number,
    a: SignedDigest,
    b: SignedDigest,
  ): void {
    const first: SignedDigest = {
      blockHash: a.blockHash,
      signature: a.signature,
      timestamp: a.timestamp,
    };
    const second: SignedDigest = {
      blockHash: b.blockHash,
      signature: b.signature,
      timestamp: b.timestamp,
    };
    const evidence: Evidence = { kind, height: this.height, view, validatorIndex, first, second };
    if (this.evidenceStore.add(evidence)) this.emit({ type: 'evidence', evidence });
    this.reject('conflicting', validatorIndex, `${kind} h=${this.height} v=${view}`);
  }

  private onViewChange(m: ViewChange): void {
    const problem = admitViewChange(m, this.admissionContext());
    if (problem !== null) {
      this.rejectMessage(m, problem);
      return;
    }
    const round = this.round;
    if (m.preparedBlock !== null && !this.putBlock(m.preparedBlock, 'unchecked')) return;
    round.storeViewChange(m);
    if (m.view === this.view) this.armViewTimer();
    this.tryJoinViewChange();
    if (this.round === round) this.tryNewView();
  }

  private onNewView(m: NewView): void {
    const problem = admitNewView(m, this.admissionContext());
    if (problem !== null) {
      this.rejectMessage(m, problem);
      return;
    }
    const existing = this.round.proposals.get(m.view);
    // Admitted while the view has a proposal: the primary signed a second one (Rule P3).
    if (existing !== undefined) {
      this.recordEvidence(
        'pre-prepare',
        m.view,
        m.validatorIndex,
        { blockHash: existing.blockHash, signature: existing.prePrepareSignature, timestamp: 0 },
        { blockHash: m.blockHash, signature: m.prePrepareSignature, timestamp: 0 },
      );
      return;
    }
    if (m.view > this.view) {
      this.view = m.view;
      this.viewChangesTotal++;
      this.lastViewChange = { height: this.height, view: m.view, reason: 'new-view' };
    }
    this.installView(
      m.view,
      proposalOf(m.view, m.blockHash, m.prePrepareSignature),
      m.block,
      'unchecked',
    );
  }
}
