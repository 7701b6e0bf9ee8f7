/**
 * Blocks in the simulator: real chain Blocks (sealBlock) with synthetic txs and a state root
 * derived from the parent's (stateRoot(h) = H(stateRoot(h−1) ‖ h)), and the validation the
 * node would do: parent link, height, proposer, validator set, the set change it executes and
 * the next set it names, last commit certificate (against the set of its own height), quorum
 * time (chain/block-time.ts), tx root, state root. A Byzantine proposer's "invalid block" has
 * a wrong state root — the kind of fault only execution finds, so the engine must ask the node.
 *
 * Which set signs a height is derived from the chain alone: `childInfo` carries it from a
 * parent to its child, applying the set change the child executes (reconfig.ts).
 */

import {
  computeTxRoot,
  lastCommitHashOf,
  type SealedBlock,
  sealBlock,
  ZERO_HASH,
} from '../../chain/block.ts';
import { blockTimeOf } from '../../chain/block-time.ts';
import {
  type CommitCertificate,
  type SignatureCheck,
  verifyCertificate,
} from '../../chain/certificate.ts';
import { assembleTx, encodeTx, type Tx, txHashOfBytes, unsignedTxV1 } from '../../chain/tx.ts';
import type { ValidatorSet } from '../../chain/validator-set.ts';
import { encode } from '../../codec/writer.ts';
import { concatBytes, equalBytes, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import {
  applyChange,
  changeOf,
  changeTx,
  type PlannedChange,
  SIM_CHANGE_SPACING,
  sameChange,
} from './reconfig.ts';

export interface SimChainContext {
  readonly chainId: string;
  readonly genesisHash: Uint8Array;
  readonly genesisTime: number;
  /** The set of height 1. */
  readonly validators: ValidatorSet;
  /** The validator-set changes governance decided, in order (absent or empty: a static set). */
  readonly plan?: readonly PlannedChange[];
  /** Overrides every set's quorum (only broken variants set it). */
  readonly quorum?: number;
  readonly verify: SignatureCheck;
}

/** What a block builds on: the committed parent (height 0 is genesis) and the chain's sets. */
export interface ParentInfo {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly timestamp: number;
  /**
   * The set that signed the parent (its certificate's), null for genesis. This and the next
   * three are absent for a chain whose set never changes (`parentOf`): then ctx.validators.
   */
  readonly parentValidators?: ValidatorSet | null;
  /** The set that signs the child: the one the parent's header names as next. */
  readonly validators?: ValidatorSet;
  /** Planned changes executed up to the parent, and the height of the last one (0: none). */
  readonly changes?: number;
  readonly lastChangeHeight?: number;
}

/** The set that signs the block built on `parent`. */
export function setAfter(ctx: SimChainContext, parent: ParentInfo): ValidatorSet {
  return parent.validators ?? ctx.validators;
}

/** For a chain with a static set (ctx.validators at every height). */
export function parentOf(block: SealedBlock): ParentInfo {
  return {
    height: block.header.height,
    hash: block.hash,
    stateRoot: block.header.stateRoot,
    timestamp: block.header.timestamp,
  };
}

const STATE_TAG = utf8.encode('civitas/sim-state');
const GENESIS_STATE = sha256(utf8.encode('civitas/sim-genesis-state'));

export function genesisParent(ctx: SimChainContext): ParentInfo {
  return {
    height: 0,
    hash: ctx.genesisHash,
    stateRoot: GENESIS_STATE,
    timestamp: ctx.genesisTime,
    parentValidators: null,
    validators: ctx.validators,
    changes: 0,
    lastChangeHeight: 0,
  };
}

/**
 * The chain after `block` (valid on `parent`): the set it names for the next height is its
 * own with the change it executes applied. A block that does not apply (only an invalid one,
 * which the checker reports) leaves the set as it was.
 */
export function childInfo(
  ctx: SimChainContext,
  parent: ParentInfo,
  block: SealedBlock,
): ParentInfo {
  const set = setAfter(ctx, parent);
  const change = changeOf(block.txs);
  const next = change === null || typeof change === 'string' ? null : applyChange(set, change);
  const changed = next !== null && typeof next !== 'string';
  return {
    height: block.header.height,
    hash: block.hash,
    stateRoot: block.header.stateRoot,
    timestamp: block.header.timestamp,
    parentValidators: set,
    validators: changed ? next : set,
    changes: (parent.changes ?? 0) + (changed ? 1 : 0),
    lastChangeHeight: changed ? block.header.height : (parent.lastChangeHeight ?? 0),
  };
}

/** The planned change a block on `parent` may execute, if one is due. */
export function dueChange(ctx: SimChainContext, parent: ParentInfo): PlannedChange | null {
  const planned = ctx.plan?.[parent.changes ?? 0];
  const height = parent.height + 1;
  if (planned === undefined || height < planned.notBefore) return null;
  // Rule (app, spacing): changes SIM_CHANGE_SPACING heights apart.
  const last = parent.lastChangeHeight ?? 0;
  if (last > 0 && height - last < SIM_CHANGE_SPACING) return null;
  return planned;
}

export function expectedStateRoot(parentStateRoot: Uint8Array, height: number): Uint8Array {
  return sha256(
    concatBytes(
      STATE_TAG,
      parentStateRoot,
      encode((w) => w.varuint(height)),
    ),
  );
}

function syntheticTxs(ctx: SimChainContext, height: number, salt: number): Tx[] {
  const count = salt % 3;
  const txs: Tx[] = [];
  for (let i = 0; i < count; i++) {
    const unsigned = unsignedTxV1({
      chainId: ctx.chainId,
      sender: sha256(utf8.encode(`sim-sender/${salt % 7}`)),
      nonce: height * 4 + i,
      expiryHeight: height + 100,
      op: {
        module: 'sim',
        method: 'noop',
        args: encode((w) => w.varuint(salt).varuint(i)),
      },
    });
    txs.push(assembleTx(unsigned, new Uint8Array(64)));
  }
  return txs;
}

export interface BuildOptions {
  readonly parent: ParentInfo;
  readonly proposer: Uint8Array;
  readonly lastCommit: CommitCertificate | null;
  /** Varies the txs, so two proposals at one height differ. */
  readonly salt: number;
  /** Build a block with a wrong state root (a Byzantine proposer). */
  readonly invalid?: boolean;
  /** Leave a due set change out (a proposer may: governance txs are its choice). */
  readonly skipChange?: boolean;
}

export function buildSimBlock(ctx: SimChainContext, opts: BuildOptions): SealedBlock {
  const height = opts.parent.height + 1;
  const txs = syntheticTxs(ctx, height, opts.salt);
  const due = opts.skipChange ? null : dueChange(ctx, opts.parent);
  const set = setAfter(ctx, opts.parent);
  let next = set;
  if (due !== null) {
    const applied = applyChange(next, due.change);
    if (typeof applied !== 'string') {
      txs.push(changeTx(ctx.chainId, height, due.change));
      next = applied;
    }
  }
  const txHashes = txs.map((tx) => txHashOfBytes(encodeTx(tx)));
  const stateRoot = opts.invalid
    ? sha256(utf8.encode(`invalid/${opts.salt}`))
    : expectedStateRoot(opts.parent.stateRoot, height);
  return sealBlock({
    header: {
      chainId: ctx.chainId,
      height,
      parentHash: opts.parent.hash,
      timestamp: blockTimeOf(height, opts.lastCommit, ctx.genesisTime),
      proposer: opts.proposer,
      txRoot: computeTxRoot(txHashes),
      receiptRoot: ZERO_HASH,
      stateRoot,
      validatorSetHash: set.hash,
      nextValidatorSetHash: next.hash,
      lastCommitHash: lastCommitHashOf(opts.lastCommit),
    },
    txs,
    lastCommit: opts.lastCommit,
  });
}

/** The node's validation of a block on its committed parent. Null when valid. */
export function validateSimBlock(
  ctx: SimChainContext,
  block: SealedBlock,
  parent: ParentInfo,
): string | null {
  const h = block.header;
  if (h.chainId !== ctx.chainId) return 'wrong chain id';
  if (h.height !== parent.height + 1) return `height ${h.height} does not follow ${parent.height}`;
  if (!equalBytes(h.parentHash, parent.hash)) return 'parent hash does not match';
  const set = setAfter(ctx, parent);
  if (set.indexOf(h.proposer) < 0) return 'proposer is not a validator';
  if (!equalBytes(h.validatorSetHash, set.hash)) return 'wrong validator set hash';
  // The set change it executes, if any, is the next one governance decided, and due.
  const change = changeOf(block.txs);
  if (typeof change === 'string') return change;
  let next = set;
  if (change !== null) {
    const due = dueChange(ctx, parent);
    if (due === null || !sameChange(due.change, change)) return 'set change not due';
    const applied = applyChange(set, change);
    if (typeof applied === 'string') return `set change: ${applied}`;
    next = applied;
  }
  if (!equalBytes(h.nextValidatorSetHash, next.hash)) return 'wrong next validator set hash';
  if (!equalBytes(h.lastCommitHash, lastCommitHashOf(block.lastCommit))) {
    return 'lastCommitHash does not match the certificate';
  }
  if (parent.height === 0) {
    if (block.lastCommit !== null) return 'block 1 carries a certificate';
  } else {
    if (block.lastCommit === null) return 'missing certificate of the parent';
    const parentSet = parent.parentValidators ?? ctx.validators;
    try {
      verifyCertificate(
        block.lastCommit,
        {
          chainId: ctx.chainId,
          height: parent.height,
          blockHash: parent.hash,
          // A certificate is checked against the set of its own height.
          validators: { ...parentSet, quorum: quorumOf(ctx, parentSet) },
        },
        ctx.verify,
      );
    } catch (err) {
      return `parent certificate: ${(err as Error).message}`;
    }
  }
  const quorumTime = blockTimeOf(h.height, block.lastCommit, ctx.genesisTime);
  if (h.timestamp !== quorumTime) return `timestamp is not the quorum time ${quorumTime}`;
  if (h.timestamp <= parent.timestamp) return 'timestamp not after the parent';
  if (!equalBytes(h.txRoot, computeTxRoot(block.txHashes))) return 'tx root does not match';
  if (!equalBytes(h.stateRoot, expectedStateRoot(parent.stateRoot, h.height))) {
    return 'state root does not match execution';
  }
  return null;
}

/** The quorum of `set` certificates are checked against (overridden in broken variants). */
export function quorumOf(ctx: SimChainContext, set: ValidatorSet): number {
  return ctx.quorum ?? set.quorum;
}
