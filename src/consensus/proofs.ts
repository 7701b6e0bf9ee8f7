/**
 * Checks of the proofs a view change carries, and the rule that picks the block of a new
 * view. These are the safety-critical parts of the view change, kept as pure functions so
 * the new primary (which applies `chooseNewViewBlock`) and every replica (which recomputes it
 * to check the NEW-VIEW) run the same code.
 */

import { computeTxRoot, lastCommitHashOf, type SealedBlock } from '../chain/block.ts';
import type { SignatureCheck } from '../chain/certificate.ts';
import type { ValidatorSet } from '../chain/validator-set.ts';
import { voteSigningHash } from '../chain/vote.ts';
import { compareBytes, equalBytes } from '../crypto/bytes.ts';
import type { Problem } from './events.ts';
import {
  type PreparedCertificate,
  prePrepareSigningHash,
  signingHashOf,
  type ViewChange,
} from './messages.ts';

/** Primary of `view` at `height`: rotates per height and per view (docs/CONSENSUS.md). */
export function primaryIndex(height: number, view: number, n: number): number {
  return (height + view) % n;
}

export interface ProofContext {
  readonly chainId: string;
  readonly height: number;
  readonly validators: ValidatorSet;
  /** Commit quorum (⌊2n/3⌋+1 unless a test hook overrides it). */
  readonly quorum: number;
  readonly verify: SignatureCheck;
}

/**
 * Rule: a block body matches its header: the tx root commits to the txs and the header's
 * lastCommitHash to the carried certificate. (Execution roots are the node's to check.)
 */
export function blockMatchesHeader(block: SealedBlock, chainId: string, height: number): boolean {
  if (block.header.chainId !== chainId || block.header.height !== height) return false;
  let matches = bodyMatches.get(block);
  if (matches === undefined) {
    matches =
      equalBytes(lastCommitHashOf(block.lastCommit), block.header.lastCommitHash) &&
      equalBytes(computeTxRoot(block.txHashes), block.header.txRoot);
    bodyMatches.set(block, matches);
  }
  return matches;
}

// A sealed block is immutable: its body either matches its header or not, once and for all.
const bodyMatches = new WeakMap<SealedBlock, boolean>();

/**
 * Returns null when valid, else the rule that failed. Signature checks come last. A prepared
 * certificate only travels in a VIEW-CHANGE, so every failure is `bad-view-change`.
 */
export function checkPreparedCertificate(
  p: PreparedCertificate,
  ctx: ProofContext,
): Problem | null {
  const n = ctx.validators.validators.length;
  const primary = primaryIndex(ctx.height, p.view, n);
  // Rule: quorum − 1 PREPAREs from distinct validators other than the primary, whose
  // pre-prepare stands for its own prepare: quorum validators endorse the block in p.view.
  if (p.prepares.length < ctx.quorum - 1) {
    return badViewChange('prepared certificate lacks quorum − 1 prepares');
  }
  let previous = -1;
  for (const s of p.prepares) {
    if (s.validatorIndex <= previous || s.validatorIndex >= n) {
      return badViewChange('prepared certificate signers must be increasing validator indexes');
    }
    if (s.validatorIndex === primary) {
      return badViewChange('prepared certificate counts the primary as a backup');
    }
    previous = s.validatorIndex;
  }
  const prePrepareHash = prePrepareSigningHash(ctx.chainId, ctx.height, p.view, p.blockHash);
  if (!ctx.verify(p.prePrepareSignature, prePrepareHash, ctx.validators.validators[primary]!)) {
    return badViewChange('prepared certificate has a bad pre-prepare signature');
  }
  const prepareHash = voteSigningHash('prepare', ctx.chainId, ctx.height, p.view, p.blockHash);
  for (const s of p.prepares) {
    if (!ctx.verify(s.signature, prepareHash, ctx.validators.validators[s.validatorIndex]!)) {
      return badViewChange(
        `prepared certificate has a bad prepare signature from ${s.validatorIndex}`,
      );
    }
  }
  return null;
}

function badViewChange(detail: string): Problem {
  return { reason: 'bad-view-change', detail };
}

/**
 * Validity of a VIEW-CHANGE at the context's height. `requireBlock`: a VIEW-CHANGE sent on
 * its own must attach the body of the block it claims prepared, so the new primary can
 * re-propose it; inside a NEW-VIEW the bodies are stripped (the NEW-VIEW carries one).
 * `signatureChecked`: the outer signature was already verified (buffered messages).
 */
export function checkViewChange(
  vc: ViewChange,
  ctx: ProofContext,
  requireBlock: boolean,
  signatureChecked = false,
): Problem | null {
  const n = ctx.validators.validators.length;
  if (vc.height !== ctx.height) return badViewChange('view change is for another height');
  if (vc.view < 1) return badViewChange('view change must target a view ≥ 1');
  if (vc.validatorIndex >= n) return badViewChange('view change from an unknown validator index');
  // Rule: the certificate of the previous height rides along (absent only at height 1).
  if (ctx.height === 1 ? vc.lastCommit !== null : vc.lastCommit?.height !== ctx.height - 1) {
    return badViewChange('view change must carry the certificate of the previous height');
  }
  const p = vc.prepared;
  if (p !== null && p.view >= vc.view) {
    return badViewChange('prepared certificate is not below the new view');
  }
  if (requireBlock) {
    if (p === null && vc.preparedBlock !== null) {
      return badViewChange('view change attaches a block it did not prepare');
    }
    if (p !== null) {
      const b = vc.preparedBlock;
      if (b === null) return badViewChange('view change must attach its prepared block');
      if (!equalBytes(b.hash, p.blockHash)) {
        return badViewChange('attached block does not match the certificate');
      }
      if (!blockMatchesHeader(b, ctx.chainId, ctx.height)) {
        return badViewChange('attached block body does not match its header');
      }
    }
  }
  if (!signatureChecked) {
    const key = ctx.validators.validators[vc.validatorIndex]!;
    if (!ctx.verify(vc.signature, signingHashOf(ctx.chainId, vc), key)) {
      return { reason: 'bad-signature', detail: 'bad view change signature' };
    }
  }
  return p === null ? null : checkPreparedCertificate(p, ctx);
}

export type NewViewChoice =
  | { readonly kind: 'prepared'; readonly blockHash: Uint8Array; readonly view: number }
  | { readonly kind: 'fresh' };

/**
 * The block a new view must propose: the one prepared in the highest view among the quorum
 * of view changes, or any valid fresh block if none is prepared. Two certificates of the same
 * view for different blocks cannot exist with ≤ f faulty validators (quorum intersection);
 * if they do anyway, the lower hash wins so every replica still computes the same choice.
 */
export function chooseNewViewBlock(viewChanges: readonly ViewChange[]): NewViewChoice {
  let best: PreparedCertificate | null = null;
  for (const vc of viewChanges) {
    const p = vc.prepared;
    if (p === null) continue;
    if (
      best === null ||
      p.view > best.view ||
      (p.view === best.view && compareBytes(p.blockHash, best.blockHash) < 0)
    ) {
      best = p;
    }
  }
  return best === null
    ? { kind: 'fresh' }
    : { kind: 'prepared', blockHash: best.blockHash, view: best.view };
}
