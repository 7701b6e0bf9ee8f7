/**
 * Basic HotStuff (Yin et al., PODC'19), one height at a time, as a pure state machine:
 * `step(event) → actions`, no I/O, the same events and action kinds as the PBFT engine
 * (docs/HOTSTUFF.md is its specification). Deterministic: the same events give the same
 * actions, byte for byte.
 *
 * Per view: the leader proposes; replicas send PREPARE votes to it; q of them are a PREPARE QC
 * it broadcasts; PRE-COMMIT votes make the PRE-COMMIT QC (replicas lock on it); COMMIT votes
 * make the commit certificate, broadcast as DECIDE. Views change by timeout certificates.
 */

import type { SealedBlock } from '../../chain/block.ts';
import { commitVoteTime } from '../../chain/block-time.ts';
import { type CommitCertificate, verifyCertificate } from '../../chain/certificate.ts';
import type { ValidatorSet } from '../../chain/validator-set.ts';
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import { type EngineConfig, type ResolvedConfig, resolveConfig, viewTimeout } from '../config.ts';
import type { EngineMemory, EngineStatus, ViewChangeReason } from '../engine.ts';
import {
  BENIGN_REJECTS,
  type ConsensusAction,
  type ConsensusEvent,
  REJECT_REASONS,
  type RejectReason,
} from '../events.ts';
import type { Evidence } from '../evidence.ts';
import { blockMatchesHeader } from '../proofs.ts';
import {
  decodeHotStuffMessage,
  encodeHotStuffMessage,
  type HotStuffMessage,
  type HotStuffVote,
  hotStuffVoteSigningHash,
  type Proposal,
  positionOf,
  proposalSigningHash,
  type QcPhase,
  type QuorumCertificate,
  type Timeout,
  type TimeoutCertificate,
  timeoutSigningHash,
  type VotePhase,
} from './messages.ts';
import { certifiedTimeoutView, joinView, leaderIndex } from './pacemaker.ts';
import type { HotStuffWalEntry } from './wal.ts';

export type HotStuffEvent = ConsensusEvent<HotStuffMessage, HotStuffWalEntry>;
export type HotStuffAction = ConsensusAction<HotStuffMessage, HotStuffWalEntry>;

/**
 * Block bodies kept at once at a height: highQC's, lockedQC's and the latest proposals. A
 * body outlives its view (a QC for it may arrive after the view changed, and a leader
 * re-proposes its highQC's block); the oldest other one goes first.
 */
const MAX_BLOCKS = 6;
const NEXT_PHASE: Record<QcPhase, VotePhase> = { prepare: 'pre-commit', 'pre-commit': 'commit' };

export class HotStuffEngine {
  private readonly cfg: ResolvedConfig;
  private out: HotStuffAction[] = [];
  private started = false;
  private height = 0;
  private view = 0;
  private validators: ValidatorSet | null = null;
  private myIndex = -1;
  private lastCommit: CommitCertificate | null = null;
  /** The highest PREPARE QC known at this height, and the lock (highest PRE-COMMIT QC). */
  private highQC: QuorumCertificate | null = null;
  private lockedQC: QuorumCertificate | null = null;
  /** The TC that justifies the current view (of view − 1). */
  private highTC: TimeoutCertificate | null = null;
  private readonly blocks = new Map<string, SealedBlock>();
  private readonly validity = new Map<string, boolean>();
  private proposal: Proposal | null = null;
  /** A certificate of this height whose block the node is still validating. */
  private pendingDecide: CommitCertificate | null = null;
  private building = false;
  private timedOut = false;
  /** What this replica signed at this height: `${view}:${phase}` votes, proposals, timeouts. */
  private readonly myVotes = new Map<string, HotStuffVote>();
  private readonly myProposals = new Map<number, Proposal>();
  private readonly myTimeouts = new Map<number, Timeout>();
  /** Leader of the current view: votes by `${phase}:${hash}`, then by validator. */
  private readonly tally = new Map<string, Map<number, HotStuffVote>>();
  private readonly formed = new Set<VotePhase>();
  /** This view's broadcasts (proposal, QCs) and last vote, re-sent when nothing moves. */
  private broadcasts: HotStuffMessage[] = [];
  private lastVote: HotStuffVote | null = null;
  /** TIMEOUTs of views view..view + windows.views, by view then validator. */
  private readonly timeouts = new Map<number, Map<number, Timeout>>();
  private readonly lastTimeoutView = new Map<number, number>();
  private readonly verified = new WeakSet<object>();
  private viewChanges = 0;
  private syncTarget = 0;
  /** The height at which an unverifiable later certificate made it ask peers (once a height). */
  private askedPeersAt = 0;
  private lastViewChange: EngineStatus['lastViewChange'] = null;
  private readonly rejectCounts = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<
    RejectReason,
    number
  >;

  constructor(config: EngineConfig) {
    this.cfg = resolveConfig(config);
  }

  step(event: HotStuffEvent): HotStuffAction[] {
    this.out = [];
    if (event.type === 'start') {
      this.start(event.height, event.lastCommit, event.wal);
    } else if (this.started) {
      switch (event.type) {
        case 'message':
          this.onMessage('message' in event ? event.message : this.decode(event.bytes));
          break;
        case 'timer':
          if (event.height === this.height && event.view === this.view) {
            // Behind: ask again on every timer (the last sync may have failed).
            if (this.syncTarget >= this.height) this.needSync(this.syncTarget);
            if (event.kind === 'view') this.timeoutNow();
            else this.retransmit();
          }
          break;
        case 'proposal-built':
          this.onBuilt(event.height, event.view, event.block);
          break;
        case 'proposal-validated':
          this.onValidated(event.height, event.blockHash, event.valid);
          break;
        case 'synced':
          if (event.height >= this.height) this.enterHeight(event.height + 1, event.certificate);
          break;
        case 'txs':
          break;
      }
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  status(): EngineStatus {
    const n = this.validators?.validators.length ?? 1;
    return {
      started: this.started,
      height: this.height,
      view: this.view,
      phase: this.timedOut ? 'view-change' : 'normal',
      primary: leaderIndex(this.height, this.view, n),
      validatorIndex: this.myIndex,
      viewChanges: this.viewChanges,
      syncTarget: this.syncTarget,
      idle: false,
      lastViewChange: this.lastViewChange,
    };
  }

  memory(): EngineMemory {
    let votes = 0;
    for (const byValidator of this.tally.values()) votes += byValidator.size;
    let timeouts = 0;
    for (const byValidator of this.timeouts.values()) timeouts += byValidator.size;
    return {
      futureMaxPerValidator: 0,
      futureTotal: 0,
      votes,
      viewChanges: timeouts,
      blocks: this.blocks.size,
      evidence: 0,
    };
  }

  /** Caps of `memory()` for a set of n validators (nothing is kept for future heights). */
  memoryCaps(n: number): EngineMemory {
    return {
      futureMaxPerValidator: 0,
      futureTotal: 0,
      votes: 3 * n,
      viewChanges: n * (this.cfg.windows.views + 1),
      blocks: MAX_BLOCKS,
      evidence: 0,
    };
  }

  /** Conflicting messages are refused, not yet kept as evidence (docs/HOTSTUFF.md). */
  evidence(): Evidence[] {
    return [];
  }

  rejections(): Readonly<Record<RejectReason, number>> {
    return this.rejectCounts;
  }

  // -------------------------------------------------------------------------------------------
  // Heights and views

  private start(
    height: number,
    lastCommit: CommitCertificate | null,
    wal: readonly HotStuffWalEntry[],
  ): void {
    if (!Number.isSafeInteger(height) || height < 1) {
      throw new CivitasError('CONSENSUS_BAD_START', `cannot start at height ${height}`);
    }
    this.started = true;
    this.resetHeight(height, lastCommit, undefined);
    // Replay: what this replica signed and the QCs it voted on, at this height only.
    let view = 0;
    for (const entry of wal) {
      if (entry.kind === 'qc') {
        if (entry.qc.height !== height) continue;
        this.raiseQc(entry.qc);
        if (entry.block !== null) this.keepBlock(entry.block, true);
        continue;
      }
      const m = entry.message;
      if (positionOf(m).height !== height) continue;
      if (m.type === 'proposal') {
        this.myProposals.set(m.view, m);
        this.keepBlock(m.block, true);
      } else if (m.type === 'vote') {
        this.myVotes.set(`${m.view}:${m.phase}`, m);
      } else if (m.type === 'timeout') {
        this.myTimeouts.set(m.view, m);
        if (m.tc !== null && m.tc.view === m.view - 1) this.highTC = m.tc;
      } else {
        continue;
      }
      view = Math.max(view, m.view);
    }
    this.startView(view, null);
  }

  private resetHeight(
    height: number,
    lastCommit: CommitCertificate | null,
    decided: SealedBlock | undefined,
  ): void {
    this.height = height;
    this.lastCommit = lastCommit;
    this.validators = this.cfg.validatorsAt(height, decided);
    this.myIndex = this.validators.indexOf(this.cfg.publicKey);
    this.highQC = null;
    this.lockedQC = null;
    this.highTC = null;
    this.blocks.clear();
    this.validity.clear();
    this.myVotes.clear();
    this.myProposals.clear();
    this.myTimeouts.clear();
    this.pendingDecide = null;
    this.timeouts.clear();
    this.lastTimeoutView.clear();
    this.syncTarget = Math.max(this.syncTarget, height - 1);
  }

  private enterHeight(height: number, lastCommit: CommitCertificate, decided?: SealedBlock): void {
    this.resetHeight(height, lastCommit, decided);
    this.startView(0, null);
  }

  private startView(view: number, reason: ViewChangeReason | null): void {
    if (reason !== null) {
      this.viewChanges++;
      this.lastViewChange = { height: this.height, view, reason };
    }
    this.view = view;
    this.proposal = null;
    this.building = false;
    this.timedOut = this.myTimeouts.has(view);
    this.tally.clear();
    this.formed.clear();
    this.broadcasts = [];
    this.lastVote = null;
    for (const v of [...this.timeouts.keys()]) if (v < view) this.timeouts.delete(v);
    this.emit({
      type: 'set-timer',
      kind: 'view',
      height: this.height,
      view,
      ms: viewTimeout(this.cfg.timeouts, view),
    });
    this.armRetransmit();
    const own = this.myProposals.get(view);
    if (own !== undefined) {
      // Replayed from the WAL: the same proposal again, never another one.
      this.broadcast(own);
      this.acceptProposal(own);
    } else if (this.timedOut) {
      this.broadcast(this.myTimeouts.get(view)!);
    } else {
      this.tryPropose();
    }
  }

  /** Makes room for one more body: the oldest that is neither highQC's nor the lock's goes. */
  private evictBlock(): void {
    const keep = new Set<string>();
    if (this.highQC !== null) keep.add(toHex(this.highQC.blockHash));
    if (this.lockedQC !== null) keep.add(toHex(this.lockedQC.blockHash));
    if (this.proposal !== null) keep.add(toHex(this.proposal.block.hash));
    for (const hash of this.blocks.keys()) {
      if (!keep.has(hash)) {
        this.blocks.delete(hash);
        this.validity.delete(hash);
        return;
      }
    }
  }

  private keepBlock(block: SealedBlock, valid?: boolean): void {
    const hash = toHex(block.hash);
    if (!this.blocks.has(hash)) {
      if (this.blocks.size >= MAX_BLOCKS) this.evictBlock();
      if (this.blocks.size >= MAX_BLOCKS) return;
      this.blocks.set(hash, block);
    }
    if (valid !== undefined) this.validity.set(hash, valid);
  }

  private leader(view = this.view): number {
    return leaderIndex(this.height, view, this.validators!.validators.length);
  }

  private quorum(): number {
    return this.cfg.unsafe?.quorum ?? this.validators!.quorum;
  }

  // -------------------------------------------------------------------------------------------
  // Proposing

  private tryPropose(): void {
    if (this.myIndex < 0 || this.myIndex !== this.leader() || this.timedOut) return;
    if (this.proposal !== null || this.building) return;
    // A later view needs the TC of the one before; a leader that joined without one waits.
    if (this.view > 0 && this.highTC?.view !== this.view - 1) return;
    if (this.view > 0 && !this.coversTc(this.highQC, this.highTC!)) return;
    if (this.highQC !== null) {
      const block = this.blocks.get(toHex(this.highQC.blockHash));
      if (block !== undefined) this.propose(block);
      return;
    }
    this.building = true;
    this.emit({
      type: 'build-proposal',
      height: this.height,
      view: this.view,
      lastCommit: this.lastCommit,
    });
  }

  private onBuilt(height: number, view: number, block: SealedBlock): void {
    if (height !== this.height || view !== this.view || !this.building) return;
    this.building = false;
    if (this.highQC !== null || this.timedOut) return;
    this.keepBlock(block, true);
    this.propose(block);
  }

  private propose(block: SealedBlock): void {
    const signature = this.cfg.sign(
      proposalSigningHash(this.cfg.chainId, this.height, this.view, block.hash),
    );
    const proposal: Proposal = {
      type: 'proposal',
      height: this.height,
      view: this.view,
      validatorIndex: this.myIndex,
      justify: this.highQC,
      tc: this.view > 0 ? this.highTC : null,
      signature,
      block,
    };
    this.myProposals.set(this.view, proposal);
    this.emit({ type: 'persist', entry: { kind: 'signed', message: proposal } });
    this.broadcast(proposal);
    this.acceptProposal(proposal);
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  private decode(bytes: Uint8Array): HotStuffMessage | null {
    try {
      return decodeHotStuffMessage(bytes);
    } catch (err) {
      this.reject('malformed', null, (err as Error).message);
      return null;
    }
  }

  private onMessage(m: HotStuffMessage | null): void {
    if (m === null) return;
    const { height, view } = positionOf(m);
    if (height < this.height) {
      this.reject('stale-height', null, `height ${height} < ${this.height}`);
      return;
    }
    if (height > this.height) {
      // A later height is used only for the certificate it carries.
      const carried =
        m.type === 'proposal'
          ? m.block.lastCommit
          : m.type === 'timeout'
            ? m.lastCommit
            : m.type === 'decide'
              ? m.certificate
              : null;
      this.catchUp(carried);
      if (height !== this.height) {
        this.reject('future-height', null, `height ${height} > ${this.height}`);
        return;
      }
    }
    if (m.type !== 'decide' && view > this.view + this.cfg.windows.views) {
      this.reject('future-view', null, `view ${view} beyond window`);
      return;
    }
    switch (m.type) {
      case 'proposal':
        this.onProposal(m);
        return;
      case 'vote':
        this.onVote(m);
        return;
      case 'qc':
        this.onQc(m.qc);
        return;
      case 'decide':
        this.onDecide(m.certificate);
        return;
      case 'timeout':
        this.onTimeout(m);
        return;
    }
  }

  private onProposal(m: Proposal): void {
    if (m.view < this.view) {
      this.reject('stale-view', m.validatorIndex, 'proposal');
      return;
    }
    const n = this.validators!.validators.length;
    if (m.validatorIndex >= n) {
      this.reject('unknown-validator', m.validatorIndex, 'proposal');
      return;
    }
    if (m.validatorIndex !== this.leader(m.view)) {
      this.reject('not-primary', m.validatorIndex, `not the leader of view ${m.view}`);
      return;
    }
    // Rule: the body matches the header (tx root, last commit), which the hash signs.
    if (!blockMatchesHeader(m.block, this.cfg.chainId, this.height)) {
      this.reject('bad-block', m.validatorIndex, 'block body does not match its header');
      return;
    }
    const own = this.myProposals.get(m.view);
    if (this.proposal !== null && m.view === this.view) {
      const same = equalBytes(this.proposal.block.hash, m.block.hash);
      this.reject(same ? 'duplicate' : 'conflicting', m.validatorIndex, 'proposal');
      return;
    }
    if (own !== undefined) return;
    const justify = m.justify;
    if (justify !== null) {
      // Rule: the justify is a PREPARE QC of this height, of an earlier view, for this block.
      if (
        justify.phase !== 'prepare' ||
        justify.height !== this.height ||
        justify.view >= m.view ||
        !equalBytes(justify.blockHash, m.block.hash) ||
        !this.validQc(justify)
      ) {
        this.reject('bad-certificate', m.validatorIndex, 'proposal justify');
        return;
      }
    }
    // Rule: a proposal after view 0 carries the TC of the view before, and its justify is at
    // least every highQC the TC's signers reported (no hidden lock).
    if (m.view === 0 ? m.tc !== null : m.tc === null || m.tc.view !== m.view - 1) {
      this.reject('bad-certificate', m.validatorIndex, 'proposal tc');
      return;
    }
    if (m.tc !== null && (!this.validTc(m.tc) || !this.coversTc(justify, m.tc))) {
      this.reject('bad-certificate', m.validatorIndex, 'proposal tc');
      return;
    }
    const key = this.validators!.validators[m.validatorIndex]!;
    const hash = proposalSigningHash(this.cfg.chainId, m.height, m.view, m.block.hash);
    if (!this.cfg.verify(m.signature, hash, key)) {
      this.reject('bad-signature', m.validatorIndex, 'proposal');
      return;
    }
    if (m.view > this.view) {
      if (m.tc !== null) this.highTC = m.tc;
      this.startView(m.view, 'new-view');
      if (this.proposal !== null) return;
    }
    if (justify !== null) this.raiseQc(justify);
    this.acceptProposal(m);
  }

  private acceptProposal(m: Proposal): void {
    this.proposal = m;
    this.keepBlock(m.block);
    if (this.timedOut || this.myIndex < 0) return;
    // Safety rule (safeNode): the locked block, or a justify newer than the lock.
    const lock = this.lockedQC;
    if (
      lock !== null &&
      !equalBytes(lock.blockHash, m.block.hash) &&
      (m.justify === null || m.justify.view <= lock.view)
    ) {
      return;
    }
    const hash = toHex(m.block.hash);
    const validity = this.validity.get(hash);
    if (validity === true) this.vote('prepare', m.block.hash);
    else if (validity === false) this.timeoutNow();
    else this.emit({ type: 'validate-proposal', height: this.height, block: m.block });
  }

  private onValidated(height: number, blockHash: Uint8Array, valid: boolean): void {
    if (height !== this.height) return;
    const hash = toHex(blockHash);
    if (this.blocks.has(hash)) this.validity.set(hash, valid);
    const decided = this.pendingDecide;
    if (decided !== null && equalBytes(decided.blockHash, blockHash)) {
      this.pendingDecide = null;
      this.onDecide(decided);
      return;
    }
    if (this.proposal === null || !equalBytes(this.proposal.block.hash, blockHash)) return;
    if (valid) this.acceptProposal(this.proposal);
    else this.timeoutNow();
  }

  private onVote(m: HotStuffVote): void {
    if (m.view < this.view) {
      this.reject('stale-view', m.validatorIndex, 'vote');
      return;
    }
    if (m.view > this.view) {
      this.reject('future-view', m.validatorIndex, 'vote');
      return;
    }
    const n = this.validators!.validators.length;
    if (m.validatorIndex >= n) {
      this.reject('unknown-validator', m.validatorIndex, 'vote');
      return;
    }
    if (this.myIndex !== this.leader()) {
      this.reject('not-primary', m.validatorIndex, 'vote sent to a non-leader');
      return;
    }
    // The leader counts votes for its own proposal only.
    if (this.proposal === null || !equalBytes(this.proposal.block.hash, m.blockHash)) {
      this.reject('conflicting', m.validatorIndex, 'vote for another block');
      return;
    }
    const key = `${m.phase}:${toHex(m.blockHash)}`;
    let byValidator = this.tally.get(key);
    const previous = byValidator?.get(m.validatorIndex);
    if (previous !== undefined) {
      this.reject('duplicate', m.validatorIndex, 'vote');
      return;
    }
    if (m.validatorIndex !== this.myIndex) {
      const signed = hotStuffVoteSigningHash(
        m.phase,
        this.cfg.chainId,
        m.height,
        m.view,
        m.blockHash,
        m.timestamp,
      );
      if (!this.cfg.verify(m.signature, signed, this.validators!.validators[m.validatorIndex]!)) {
        this.reject('bad-signature', m.validatorIndex, 'vote');
        return;
      }
    }
    if (byValidator === undefined) {
      byValidator = new Map();
      this.tally.set(key, byValidator);
    }
    byValidator.set(m.validatorIndex, m);
    if (byValidator.size < this.quorum() || this.formed.has(m.phase)) return;
    this.formed.add(m.phase);
    const votes = [...byValidator.values()].sort((a, b) => a.validatorIndex - b.validatorIndex);
    if (m.phase === 'commit') {
      const certificate: CommitCertificate = {
        height: this.height,
        view: this.view,
        blockHash: m.blockHash,
        signatures: votes.map((v) => ({
          validatorIndex: v.validatorIndex,
          signature: v.signature,
          timestamp: v.timestamp,
        })),
      };
      this.verified.add(certificate);
      this.broadcast({ type: 'decide', certificate });
      this.onDecide(certificate);
      return;
    }
    const qc: QuorumCertificate = {
      phase: m.phase,
      height: this.height,
      view: this.view,
      blockHash: m.blockHash,
      signatures: votes.map((v) => ({ validatorIndex: v.validatorIndex, signature: v.signature })),
    };
    this.verified.add(qc);
    this.broadcast({ type: 'qc', qc });
    this.onQc(qc);
  }

  private onQc(qc: QuorumCertificate): void {
    if (!this.validQc(qc)) {
      this.reject('bad-certificate', null, 'qc');
      return;
    }
    if (qc.view > this.view) this.startView(qc.view, 'new-view');
    this.raiseQc(qc);
    if (qc.view !== this.view || this.timedOut || this.myIndex < 0) return;
    const phase = NEXT_PHASE[qc.phase];
    if (this.myVotes.has(`${this.view}:${phase}`)) return;
    // Before the vote that answers it, the QC is durable (highQC, or the lock).
    const block = this.blocks.get(toHex(qc.blockHash)) ?? null;
    if (phase === 'commit' && block === null) return;
    this.emit({ type: 'persist', entry: { kind: 'qc', qc, block } });
    this.vote(phase, qc.blockHash);
  }

  /** Raises highQC (PREPARE QCs) or the lock (PRE-COMMIT QCs); both only ever go up. */
  private raiseQc(qc: QuorumCertificate): void {
    if (qc.phase === 'prepare') {
      if (this.highQC === null || qc.view > this.highQC.view) this.highQC = qc;
    } else if (this.lockedQC === null || qc.view > this.lockedQC.view) {
      this.lockedQC = qc;
    }
  }

  private onDecide(certificate: CommitCertificate): void {
    if (!this.validCertificate(certificate, this.validators!)) {
      this.reject('bad-certificate', null, 'decide');
      return;
    }
    const hash = toHex(certificate.blockHash);
    const block = this.blocks.get(hash);
    const validity = this.validity.get(hash);
    if (block === undefined || validity === false) {
      this.needSync(certificate.height);
      return;
    }
    // Only a block the node found valid is committed (a body never checked is checked first).
    if (validity === undefined) {
      if (this.pendingDecide === null) {
        this.pendingDecide = certificate;
        this.emit({ type: 'validate-proposal', height: this.height, block });
      }
      return;
    }
    this.commitBlock(block, certificate);
  }

  /** A certificate of this height or later, carried by a message of a later height. */
  private catchUp(certificate: CommitCertificate | null): void {
    if (certificate === null || certificate.height < this.height) return;
    if (certificate.height === this.height) {
      this.onDecide(certificate);
      return;
    }
    const set = this.cfg.validatorsAt(certificate.height);
    if (this.validCertificate(certificate, set)) {
      this.needSync(certificate.height);
    } else if (this.askedPeersAt !== this.height) {
      // The set of a later height is a guess: a change executed in between makes a genuine
      // certificate fail. Ask peers how far they are, claiming nothing the certificate says.
      this.askedPeersAt = this.height;
      this.emit({ type: 'need-sync', targetHeight: this.height });
    }
  }

  private needSync(height: number): void {
    this.syncTarget = Math.max(this.syncTarget, height);
    this.emit({ type: 'need-sync', targetHeight: height });
  }

  private commitBlock(block: SealedBlock, certificate: CommitCertificate): void {
    this.emit({ type: 'commit', block, certificate });
    this.enterHeight(this.height + 1, certificate, block);
  }

  // -------------------------------------------------------------------------------------------
  // Voting and timeouts

  private vote(phase: VotePhase, blockHash: Uint8Array): void {
    const key = `${this.view}:${phase}`;
    let vote = this.myVotes.get(key);
    if (vote === undefined) {
      let timestamp = 0;
      if (phase === 'commit') {
        const block = this.blocks.get(toHex(blockHash))!;
        timestamp = commitVoteTime(this.cfg.clock(), block.header.timestamp);
      }
      const signed = hotStuffVoteSigningHash(
        phase,
        this.cfg.chainId,
        this.height,
        this.view,
        blockHash,
        timestamp,
      );
      vote = {
        type: 'vote',
        phase,
        height: this.height,
        view: this.view,
        blockHash,
        validatorIndex: this.myIndex,
        signature: this.cfg.sign(signed),
        timestamp,
      };
      this.myVotes.set(key, vote);
      this.emit({ type: 'persist', entry: { kind: 'signed', message: vote } });
    } else if (!equalBytes(vote.blockHash, blockHash)) {
      return;
    }
    this.lastVote = vote;
    this.armRetransmit();
    this.sendToLeader(vote);
  }

  private sendToLeader(vote: HotStuffVote): void {
    const leader = this.leader(vote.view);
    if (leader === this.myIndex) {
      this.onVote(vote);
      return;
    }
    this.emit({
      type: 'send',
      to: this.validators!.validators[leader]!,
      message: vote,
      bytes: encodeHotStuffMessage(vote),
    });
  }

  private timeoutNow(): void {
    if (this.timedOut) return;
    this.timedOut = true;
    if (this.myIndex < 0) return;
    let timeout = this.myTimeouts.get(this.view);
    if (timeout === undefined) {
      const highQC = this.highQC;
      const signature = this.cfg.sign(
        timeoutSigningHash(this.cfg.chainId, this.height, this.view, highQC),
      );
      timeout = {
        type: 'timeout',
        height: this.height,
        view: this.view,
        validatorIndex: this.myIndex,
        highQC,
        lastCommit: this.lastCommit,
        tc: this.view > 0 && this.highTC?.view === this.view - 1 ? this.highTC : null,
        signature,
        highBlock: highQC === null ? null : (this.blocks.get(toHex(highQC.blockHash)) ?? null),
      };
      this.myTimeouts.set(this.view, timeout);
      this.emit({ type: 'persist', entry: { kind: 'signed', message: timeout } });
    }
    this.broadcast(timeout);
    this.armRetransmit();
    this.onTimeout(timeout);
  }

  private onTimeout(m: Timeout): void {
    if (m.view < this.view) {
      this.reject('stale-view', m.validatorIndex, 'timeout');
      return;
    }
    const set = this.validators!;
    if (m.validatorIndex >= set.validators.length) {
      this.reject('unknown-validator', m.validatorIndex, 'timeout');
      return;
    }
    let byValidator = this.timeouts.get(m.view);
    const previous = byValidator?.get(m.validatorIndex);
    if (previous !== undefined) {
      const same = equalBytes(previous.signature, m.signature);
      this.reject(same ? 'duplicate' : 'conflicting', m.validatorIndex, 'timeout');
      return;
    }
    if (m.validatorIndex !== this.myIndex) {
      const qc = m.highQC;
      if (
        qc !== null &&
        (qc.phase !== 'prepare' ||
          qc.height !== this.height ||
          qc.view > m.view ||
          !this.validQc(qc))
      ) {
        this.reject('bad-certificate', m.validatorIndex, 'timeout highQC');
        return;
      }
      if (m.tc !== null && (m.tc.view !== m.view - 1 || !this.validTc(m.tc))) {
        this.reject('bad-certificate', m.validatorIndex, 'timeout tc');
        return;
      }
      if (
        m.highBlock !== null &&
        (qc === null ||
          !equalBytes(m.highBlock.hash, qc.blockHash) ||
          !blockMatchesHeader(m.highBlock, this.cfg.chainId, this.height))
      ) {
        this.reject('bad-block', m.validatorIndex, 'timeout block');
        return;
      }
      const signed = timeoutSigningHash(this.cfg.chainId, m.height, m.view, qc);
      if (!this.cfg.verify(m.signature, signed, set.validators[m.validatorIndex]!)) {
        this.reject('bad-signature', m.validatorIndex, 'timeout');
        return;
      }
    }
    if (byValidator === undefined) {
      byValidator = new Map();
      this.timeouts.set(m.view, byValidator);
    }
    byValidator.set(m.validatorIndex, m);
    this.lastTimeoutView.set(
      m.validatorIndex,
      Math.max(m.view, this.lastTimeoutView.get(m.validatorIndex) ?? 0),
    );
    if (m.highQC !== null) {
      this.raiseQc(m.highQC);
      if (m.highBlock !== null && equalBytes(m.highBlock.hash, this.highQC!.blockHash)) {
        this.keepBlock(m.highBlock);
      }
    }
    this.advance(m.tc);
  }

  /** The pacemaker: enter the view a TC justifies, or join f + 1 who gave up. */
  private advance(carried: TimeoutCertificate | null): void {
    if (carried !== null && carried.view >= this.view) {
      this.highTC = carried;
      this.startView(carried.view + 1, 'new-view');
    }
    const counts = new Map<number, number>();
    for (const [view, byValidator] of this.timeouts) counts.set(view, byValidator.size);
    const certified = certifiedTimeoutView(counts, this.quorum());
    if (certified !== null && certified >= this.view) {
      const signatures = [...this.timeouts.get(certified)!.values()]
        .sort((a, b) => a.validatorIndex - b.validatorIndex)
        .map((t) => ({
          validatorIndex: t.validatorIndex,
          highQC: t.highQC === null ? null : { view: t.highQC.view, blockHash: t.highQC.blockHash },
          signature: t.signature,
        }));
      this.highTC = { height: this.height, view: certified, signatures };
      this.verified.add(this.highTC);
      this.startView(certified + 1, 'timeout');
      return;
    }
    const join = joinView(this.lastTimeoutView.values(), this.validators!.maxFaulty);
    if (join !== null && join >= this.view && !(join === this.view && this.timedOut)) {
      if (join > this.view) this.startView(join, 'joined');
      this.timeoutNow();
      return;
    }
    // A leader waiting for its highQC's body may have just received it.
    this.tryPropose();
  }

  private retransmit(): void {
    for (const m of this.broadcasts) this.broadcast(m, false);
    const timeout = this.myTimeouts.get(this.view);
    if (this.timedOut && timeout !== undefined) this.broadcast(timeout, false);
    else if (this.lastVote !== null) this.sendToLeader(this.lastVote);
    this.armRetransmit();
  }

  private armRetransmit(): void {
    if (this.cfg.timeouts.retransmitMs === 0) return;
    this.emit({
      type: 'set-timer',
      kind: 'retransmit',
      height: this.height,
      view: this.view,
      ms: this.cfg.timeouts.retransmitMs,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Certificates

  private validQc(qc: QuorumCertificate): boolean {
    if (this.verified.has(qc)) return true;
    const set = this.validators!;
    if (qc.signatures.length < this.quorum()) return false;
    let previous = -1;
    for (const s of qc.signatures) {
      if (s.validatorIndex <= previous || s.validatorIndex >= set.validators.length) return false;
      previous = s.validatorIndex;
      const signed = hotStuffVoteSigningHash(
        qc.phase,
        this.cfg.chainId,
        qc.height,
        qc.view,
        qc.blockHash,
        0,
      );
      if (!this.cfg.verify(s.signature, signed, set.validators[s.validatorIndex]!)) return false;
    }
    this.verified.add(qc);
    return true;
  }

  private validTc(tc: TimeoutCertificate): boolean {
    if (this.verified.has(tc)) return true;
    const set = this.validators!;
    if (tc.height !== this.height || tc.signatures.length < this.quorum()) return false;
    let previous = -1;
    for (const s of tc.signatures) {
      if (s.validatorIndex <= previous || s.validatorIndex >= set.validators.length) return false;
      previous = s.validatorIndex;
      if (s.highQC !== null && s.highQC.view > tc.view) return false;
      const signed = timeoutSigningHash(this.cfg.chainId, tc.height, tc.view, s.highQC);
      if (!this.cfg.verify(s.signature, signed, set.validators[s.validatorIndex]!)) return false;
    }
    this.verified.add(tc);
    return true;
  }

  /** Whether `qc` is at least every highQC the TC's signers reported. */
  private coversTc(qc: QuorumCertificate | null, tc: TimeoutCertificate): boolean {
    for (const s of tc.signatures) {
      if (s.highQC !== null && (qc === null || qc.view < s.highQC.view)) return false;
    }
    return true;
  }

  private validCertificate(certificate: CommitCertificate, set: ValidatorSet): boolean {
    if (this.verified.has(certificate)) return true;
    try {
      verifyCertificate(
        certificate,
        {
          chainId: this.cfg.chainId,
          height: certificate.height,
          blockHash: certificate.blockHash,
          validators: { ...set, quorum: this.cfg.unsafe?.quorum ?? set.quorum },
        },
        this.cfg.verify,
      );
    } catch {
      return false;
    }
    this.verified.add(certificate);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Output

  private broadcast(m: HotStuffMessage, remember = true): void {
    if (remember && m.type !== 'timeout' && m.type !== 'decide') this.broadcasts.push(m);
    this.emit({ type: 'broadcast', message: m, bytes: encodeHotStuffMessage(m) });
  }

  private reject(reason: RejectReason, validatorIndex: number | null, detail: string): void {
    this.rejectCounts[reason]++;
    if (!BENIGN_REJECTS.has(reason)) this.emit({ type: 'reject', reason, validatorIndex, detail });
  }

  private emit(action: HotStuffAction): void {
    this.out.push(action);
  }
}
