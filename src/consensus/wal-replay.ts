/**
 * WAL replay (docs/CONSENSUS.md, "Replay"): after a restart the replica rebuilds, height by
 * height, what it signed, so that it re-sends those bytes instead of signing alternatives.
 */

import type { SealedBlock } from '../chain/block.ts';
import { type BlockStatus, type Phase, proposalOf, type Round } from './round.ts';
import { type WalEntry, walEntryHeight } from './wal.ts';

/** The WAL entries at or above the start height, handed out as each height is entered. */
export class PendingWal {
  private readonly byHeight = new Map<number, WalEntry[]>();

  constructor(wal: readonly WalEntry[], startHeight: number) {
    for (const entry of wal) {
      const h = walEntryHeight(entry);
      if (h < startHeight) continue;
      const list = this.byHeight.get(h) ?? [];
      list.push(entry);
      this.byHeight.set(h, list);
    }
  }

  /** The entries of `height`, once; entries of lower heights are dropped (never entered). */
  take(height: number): WalEntry[] | undefined {
    for (const h of [...this.byHeight.keys()]) if (h < height) this.byHeight.delete(h);
    const entries = this.byHeight.get(height);
    this.byHeight.delete(height);
    return entries;
  }
}

/** Where a replayed height resumes: the highest view it signed anything in. */
export interface Resumed {
  readonly view: number;
  readonly phase: Phase;
}

/**
 * Restores into a fresh `round` the replica's own messages of one height (proposal, votes,
 * view changes, NEW-VIEWs) and its highest prepared certificate. If the highest view it
 * signed in is one it sent a VIEW-CHANGE for, it resumes waiting for that view's NEW-VIEW.
 * `putBlock` stores a body the way the engine does (a full store is a rejection).
 */
export function replayHeight(
  round: Round,
  entries: readonly WalEntry[],
  myIndex: number,
  putBlock: (block: SealedBlock, status: BlockStatus) => void,
): Resumed {
  let normalView = 0;
  let changeView = 0;
  for (const entry of entries) {
    if (entry.kind === 'prepared') {
      if (round.prepared === null || entry.certificate.view > round.prepared.certificate.view) {
        round.prepared = { certificate: entry.certificate, block: entry.block };
      }
      putBlock(entry.block, 'valid');
      continue;
    }
    const m = entry.message;
    if (m.validatorIndex !== myIndex) continue;
    switch (m.type) {
      case 'pre-prepare':
        round.own.prePrepare = m;
        round.proposals.set(m.view, proposalOf(m.view, m.block.hash, m.signature));
        putBlock(m.block, 'valid');
        normalView = Math.max(normalView, m.view);
        break;
      case 'new-view':
        round.own.newViews.set(m.view, m);
        round.proposals.set(m.view, proposalOf(m.view, m.blockHash, m.prePrepareSignature));
        putBlock(m.block, 'unchecked');
        normalView = Math.max(normalView, m.view);
        break;
      case 'prepare':
      case 'commit':
        round.addOwnVote(m);
        normalView = Math.max(normalView, m.view);
        break;
      case 'view-change':
        round.own.viewChanges.set(m.view, m);
        round.storeViewChange(m);
        changeView = Math.max(changeView, m.view);
        break;
    }
  }
  return {
    view: Math.max(normalView, changeView),
    phase: changeView > normalView ? 'view-change' : 'normal',
  };
}
