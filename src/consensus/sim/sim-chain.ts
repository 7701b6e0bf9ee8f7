/**
 * Blocks in the simulator: real chain Blocks (sealBlock) with synthetic txs and a state root
 * derived from the parent's (stateRoot(h) = H(stateRoot(h−1) ‖ h)), and the validation the
 * node would do: parent link, height, proposer, validator set, last commit certificate,
 * quorum time (chain/block-time.ts), tx root, state root. A Byzantine proposer's "invalid block" has a wrong state root — the
 * kind of fault only execution finds, so the engine must ask the node.
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

export interface SimChainContext {
  readonly chainId: string;
  readonly genesisHash: Uint8Array;
  readonly genesisTime: number;
  readonly validators: ValidatorSet;
  /** The quorum certificates are checked against (differs only in broken variants). */
  readonly quorum: number;
  readonly verify: SignatureCheck;
}

/** What a block builds on: the committed parent (height 0 is genesis). */
export interface ParentInfo {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly timestamp: number;
}

const STATE_TAG = utf8.encode('civitas/sim-state');
const GENESIS_STATE = sha256(utf8.encode('civitas/sim-genesis-state'));

export function genesisParent(ctx: SimChainContext): ParentInfo {
  return { height: 0, hash: ctx.genesisHash, stateRoot: GENESIS_STATE, timestamp: ctx.genesisTime };
}

export function parentOf(block: SealedBlock): ParentInfo {
  return {
    height: block.header.height,
    hash: block.hash,
    stateRoot: block.header.stateRoot,
    timestamp: block.header.timestamp,
  };
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
}

export function buildSimBlock(ctx: SimChainContext, opts: BuildOptions): SealedBlock {
  const height = opts.parent.height + 1;
  const txs = syntheticTxs(ctx, height, opts.salt);
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
      validatorSetHash: ctx.validators.hash,
      nextValidatorSetHash: ctx.validators.hash,
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
  if (ctx.validators.indexOf(h.proposer) < 0) return 'proposer is not a validator';
  if (!equalBytes(h.validatorSetHash, ctx.validators.hash)) return 'wrong validator set hash';
  if (!equalBytes(h.nextValidatorSetHash, ctx.validators.hash)) {
    return 'wrong next validator set hash';
  }
  if (!equalBytes(h.lastCommitHash, lastCommitHashOf(block.lastCommit))) {
    return 'lastCommitHash does not match the certificate';
  }
  if (parent.height === 0) {
    if (block.lastCommit !== null) return 'block 1 carries a certificate';
  } else {
    if (block.lastCommit === null) return 'missing certificate of the parent';
    try {
      verifyCertificate(
        block.lastCommit,
        {
          chainId: ctx.chainId,
          height: parent.height,
          blockHash: parent.hash,
          validators: { ...ctx.validators, quorum: ctx.quorum },
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
