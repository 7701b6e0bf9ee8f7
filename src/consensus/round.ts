/**
 * Everything known about the height being decided: the proposal of each view, the PREPARE and
 * COMMIT tallies, VIEW-CHANGEs, block bodies and what this replica signed. Bounded by the view
 * window around the current view (`prune`) and dropped whole when the height commits.
 */

import type { SealedBlock } from '../chain/block.ts';
import type { CommitCertificate } from '../chain/certificate.ts';
import { toHex } from '../crypto/bytes.ts';
import type { NewView, PrePrepare, PreparedCertificate, ViewChange, Vote } from './messages.ts';
import { VoteTally } from './vote-tally.ts';

/** Normal case, or waiting for a NEW-VIEW of the current view. */
export type Phase = 'normal' | 'view-change';

/** Known body of a block: checked by the node (`valid`/`invalid`), asked (`pending`), or not. */
export type BlockStatus = 'unchecked' | 'pending' | 'valid' | 'invalid';

export interface BlockEntry {
  readonly block: SealedBlock;
  status: BlockStatus;
}

/** The block accepted for a view (from a PRE-PREPARE in view 0 or a NEW-VIEW). */
export interface Proposal {
  readonly view: number;
  readonly blockHash: Uint8Array;
  readonly hex: string;
  readonly prePrepareSignature: Uint8Array;
}

export function proposalOf(view: number, blockHash: Uint8Array, signature: Uint8Array): Proposal {
  return { view, blockHash, hex: toHex(blockHash), prePrepareSignature: signature };
}

/**
 * Block bodies held at one height: one proposal per view in the window, at most one prepared
 * block per view (a second would need two quorums to intersect in f+1 equivocators), the
 * prepared and decided blocks.
 */
export function blockCapacity(viewWindow: number): number {
  return 2 * (viewWindow + 1) + 2;
}

export class Round {
  readonly proposals = new Map<number, Proposal>();
  readonly blocks = new Map<string, BlockEntry>();
  readonly prepares = new VoteTally();
  readonly commits = new VoteTally();
  /** view → validator → its VIEW-CHANGE to that view. */
  readonly viewChanges = new Map<number, Map<number, ViewChange>>();
  prepared: { certificate: PreparedCertificate; block: SealedBlock } | null = null;
  decided: CommitCertificate | null = null;
  readonly proposalRequested = new Set<number>();
  /** The view whose timer is running (−1: none yet in this view). */
  viewTimerFor = -1;
  /** What this replica signed at this height: it re-sends these, never signs alternatives. */
  readonly own = {
    prePrepare: null as PrePrepare | null,
    newViews: new Map<number, NewView>(),
    prepares: new Map<number, Vote>(),
    commits: new Map<number, Vote>(),
    viewChanges: new Map<number, ViewChange>(),
  };
  private readonly viewWindow: number;

  constructor(viewWindow: number) {
    this.viewWindow = viewWindow;
  }

  viewChangeCount(): number {
    let n = 0;
    for (const m of this.viewChanges.values()) n += m.size;
    return n;
  }

  storeViewChange(vc: ViewChange): void {
    let byValidator = this.viewChanges.get(vc.view);
    if (byValidator === undefined) {
      byValidator = new Map();
      this.viewChanges.set(vc.view, byValidator);
    }
    byValidator.set(vc.validatorIndex, vc);
  }

  /** A vote this replica signed: remembered for re-sending, and counted. */
  addOwnVote(vote: Vote): void {
    const tally = vote.type === 'prepare' ? this.prepares : this.commits;
    const own = vote.type === 'prepare' ? this.own.prepares : this.own.commits;
    own.set(vote.view, vote);
    if (tally.status(vote.view, vote.validatorIndex, vote.blockHash) === 'new') {
      tally.add(vote.view, vote.validatorIndex, vote.blockHash, vote.signature, vote.timestamp);
    }
  }

  /** Holds a block body (a known one can only become `valid`); false when the store is full. */
  putBlock(block: SealedBlock, status: BlockStatus): boolean {
    const hex = toHex(block.hash);
    const existing = this.blocks.get(hex);
    if (existing !== undefined) {
      if (status === 'valid') existing.status = 'valid';
      return true;
    }
    const cap = blockCapacity(this.viewWindow);
    if (this.blocks.size >= cap) this.pruneBlocks();
    if (this.blocks.size >= cap) return false;
    this.blocks.set(hex, { block, status });
    return true;
  }

  /** Drops per-view state outside the window around the current view, then unused bodies. */
  prune(currentView: number): void {
    const w = this.viewWindow;
    const v = currentView;
    this.prepares.retain(v, v + w);
    this.commits.retain(Math.max(0, v - w), v + w);
    for (const view of [...this.viewChanges.keys()]) {
      if (view < v) this.viewChanges.delete(view);
    }
    for (const view of [...this.proposals.keys()]) {
      if (view < v - w) this.proposals.delete(view);
    }
    for (const view of [...this.own.viewChanges.keys()]) {
      if (view < v) this.own.viewChanges.delete(view);
    }
    for (const map of [this.own.prepares, this.own.commits, this.own.newViews]) {
      for (const view of [...map.keys()]) if (view < v - w) map.delete(view);
    }
    for (const view of [...this.proposalRequested]) {
      if (view < v) this.proposalRequested.delete(view);
    }
    this.pruneBlocks();
  }

  /** Keeps the bodies a proposal, a prepared or decided certificate, or a view change names. */
  private pruneBlocks(): void {
    const keep = new Set<string>();
    for (const p of this.proposals.values()) keep.add(p.hex);
    if (this.prepared !== null) keep.add(toHex(this.prepared.certificate.blockHash));
    if (this.decided !== null) keep.add(toHex(this.decided.blockHash));
    for (const byValidator of this.viewChanges.values()) {
      for (const vc of byValidator.values()) {
        if (vc.prepared !== null) keep.add(toHex(vc.prepared.blockHash));
      }
    }
    for (const hex of [...this.blocks.keys()]) if (!keep.has(hex)) this.blocks.delete(hex);
  }
}
