/**
 * The validity rules of each message at the height being decided (docs/CONSENSUS.md,
 * "Messages and their validity rules"), as pure checks against the round: cheap rules first,
 * signatures last. Each returns null when the message may enter the round, else the Problem;
 * what an admitted message does to the round is the engine's business.
 */

import { equalBytes } from '../crypto/bytes.ts';
import type { Problem, RejectReason } from './events.ts';
import {
  type ConsensusMessage,
  describeMessage,
  type NewView,
  type PrePrepare,
  prePrepareSigningHash,
  signingHashOf,
  type ViewChange,
  type Vote,
} from './messages.ts';
import {
  blockMatchesHeader,
  checkViewChange,
  chooseNewViewBlock,
  type ProofContext,
  primaryIndex,
} from './proofs.ts';
import type { Round } from './round.ts';

export interface AdmissionContext extends ProofContext {
  /** The replica's current view. */
  readonly view: number;
  /** W: how far ahead of the current view (and, for COMMITs, behind it) messages count. */
  readonly viewWindow: number;
  readonly round: Round;
  /** Messages whose own signature was checked already (they arrived early and waited). */
  readonly preverified: { has(m: ConsensusMessage): boolean };
  /** Broken-variant hook: skip NV4. */
  readonly ignorePreparedCertificates: boolean;
}

/**
 * A problem whose detail is the message itself, described only when read: benign rejections
 * (duplicates, stale messages) are frequent and only counted, and describing a VIEW-CHANGE
 * hashes it.
 */
function problemWith(reason: RejectReason, m: ConsensusMessage): Problem {
  return {
    reason,
    get detail() {
      return describeMessage(m);
    },
  };
}

export function checkSignature(
  m: ConsensusMessage,
  key: Uint8Array,
  ctx: Pick<AdmissionContext, 'chainId' | 'verify' | 'preverified'>,
): Problem | null {
  if (ctx.preverified.has(m)) return null;
  if (ctx.verify(m.signature, signingHashOf(ctx.chainId, m), key)) return null;
  return problemWith('bad-signature', m);
}

/** Also admits a validly signed second proposal for view 0: it is evidence (P3). */
export function admitPrePrepare(m: PrePrepare, ctx: AdmissionContext): Problem | null {
  // Rule P1: a standalone PRE-PREPARE is for view 0; later views propose by NEW-VIEW.
  if (m.view !== 0) return { reason: 'malformed', detail: 'pre-prepare outside view 0' };
  // Rule P2: it comes from the primary of (height, 0).
  const primary = primaryIndex(ctx.height, 0, ctx.validators.validators.length);
  if (m.validatorIndex !== primary) return problemWith('not-primary', m);
  const key = ctx.validators.validators[primary]!;
  const existing = ctx.round.proposals.get(0);
  if (existing !== undefined) {
    if (equalBytes(existing.blockHash, m.block.hash)) return problemWith('duplicate', m);
    // Rule P3: one proposal per view; a second, if signed, is evidence.
    return checkSignature(m, key, ctx);
  }
  if (ctx.view !== 0) return problemWith('stale-view', m);
  // Rule P4: the body matches the header (tx root, last commit) for this chain and height.
  if (!blockMatchesHeader(m.block, ctx.chainId, ctx.height)) return problemWith('bad-block', m);
  return checkSignature(m, key, ctx);
}

/** Also admits a validator's second vote in a view for another block: evidence that counts. */
export function admitVote(m: Vote, ctx: AdmissionContext): Problem | null {
  const w = ctx.viewWindow;
  const tally = m.type === 'prepare' ? ctx.round.prepares : ctx.round.commits;
  // Rule N1: PREPAREs count in the current view and up to W views ahead; COMMITs also up
  // to W views back (a quorum of COMMITs decides in any view).
  const low = m.type === 'prepare' ? ctx.view : ctx.view - w;
  if (m.view < low) return problemWith('stale-view', m);
  if (m.view > ctx.view + w) return problemWith('future-view', m);
  const status = tally.status(m.view, m.validatorIndex, m.blockHash);
  if (status === 'duplicate' || status === 'cap-exceeded') return problemWith(status, m);
  return checkSignature(m, ctx.validators.validators[m.validatorIndex]!, ctx);
}

export function admitViewChange(m: ViewChange, ctx: AdmissionContext): Problem | null {
  // Rule V1: a VIEW-CHANGE counts if its view is not yet installed and within the window.
  const installed = m.view < ctx.view || (m.view === ctx.view && ctx.round.proposals.has(m.view));
  if (installed) return problemWith('stale-view', m);
  if (m.view > ctx.view + ctx.viewWindow) return problemWith('future-view', m);
  if (ctx.round.viewChanges.get(m.view)?.has(m.validatorIndex)) return problemWith('duplicate', m);
  // Rule V2: signed, proofs valid, prepared block attached (docs/CONSENSUS.md).
  return checkViewChange(m, ctx, true, ctx.preverified.has(m));
}

/**
 * Also admits a NEW-VIEW proposing another block for a view that has a proposal, when its
 * pre-prepare signature is the primary's: evidence (P3; it counts as a pre-prepare).
 */
export function admitNewView(m: NewView, ctx: AdmissionContext): Problem | null {
  const primary = primaryIndex(ctx.height, m.view, ctx.validators.validators.length);
  const existing = ctx.round.proposals.get(m.view);
  if (m.view < ctx.view || existing !== undefined) {
    if (
      existing !== undefined &&
      !equalBytes(existing.blockHash, m.blockHash) &&
      m.validatorIndex === primary &&
      ctx.verify(
        m.prePrepareSignature,
        prePrepareSigningHash(ctx.chainId, ctx.height, m.view, m.blockHash),
        ctx.validators.validators[m.validatorIndex]!,
      )
    ) {
      return null;
    }
    return problemWith(
      existing !== undefined && m.view === ctx.view ? 'duplicate' : 'stale-view',
      m,
    );
  }
  if (m.view < 1) return { reason: 'malformed', detail: 'new-view for view 0' };
  if (m.view > ctx.view + ctx.viewWindow) return problemWith('future-view', m);
  // Rule NV1: from the primary of the new view.
  if (m.validatorIndex !== primary) return problemWith('not-primary', m);
  return checkNewView(m, ctx);
}

/** Rules NV2–NV5. Returns null when the NEW-VIEW is valid, else the failed rule. */
function checkNewView(m: NewView, ctx: AdmissionContext): Problem | null {
  const key = ctx.validators.validators[m.validatorIndex]!;
  // NV2: the carried block is the one proposed, for this chain and height, body matching.
  if (!equalBytes(m.block.hash, m.blockHash)) {
    return { reason: 'bad-block', detail: 'block does not match the proposed hash' };
  }
  if (!blockMatchesHeader(m.block, ctx.chainId, ctx.height)) {
    return { reason: 'bad-block', detail: 'block body does not match its header' };
  }
  // NV3: a quorum of VIEW-CHANGEs for this very view, from distinct validators (the
  // decoder enforces strictly increasing validators).
  if (m.viewChanges.length < ctx.quorum) {
    return { reason: 'bad-new-view', detail: 'fewer than a quorum of view changes' };
  }
  for (const vc of m.viewChanges) {
    if (vc.view !== m.view) {
      return { reason: 'bad-new-view', detail: 'a carried view change is for another view' };
    }
  }
  // NV4: the proposal is the highest-view prepared block among them, if any (recomputed).
  if (!ctx.ignorePreparedCertificates) {
    const choice = chooseNewViewBlock(m.viewChanges);
    if (choice.kind === 'prepared' && !equalBytes(choice.blockHash, m.blockHash)) {
      return { reason: 'bad-new-view', detail: 'does not re-propose the highest prepared block' };
    }
  }
  // NV5: signatures last — the NEW-VIEW, its pre-prepare, every carried view change.
  if (!ctx.preverified.has(m) && !ctx.verify(m.signature, signingHashOf(ctx.chainId, m), key)) {
    return { reason: 'bad-signature', detail: 'bad signature' };
  }
  const prePrepareHash = prePrepareSigningHash(ctx.chainId, ctx.height, m.view, m.blockHash);
  if (!ctx.verify(m.prePrepareSignature, prePrepareHash, key)) {
    return { reason: 'bad-new-view', detail: 'bad pre-prepare signature' };
  }
  for (const vc of m.viewChanges) {
    const problem = checkViewChange(vc, ctx, false);
    // A carried view change that fails makes the NEW-VIEW bad, whatever failed in it.
    if (problem !== null) {
      return {
        reason: 'bad-new-view',
        detail: `carried view change from ${vc.validatorIndex}: ${problem.detail}`,
      };
    }
  }
  return null;
}
