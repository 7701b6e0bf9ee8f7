/**
 * Block validation in layers, cheapest first (as in ethereumjs and Lodestar):
 *
 *   1. format      — strict decoding (decodeBlock), done before anything here runs
 *   2. stateless   — chain id, sizes, duplicate txs, expiry, tx root; then signatures
 *   3. parent      — height, parent hash, validator set, last commit certificate, time
 *   4. execution   — receipt root and state root match re-execution (validateExecution)
 *
 * Every failure is a CivitasError with a BLOCK_* or TX_* code; each check quotes its rule.
 * Signature checks are injected so the node can route them through the verified-tx cache
 * and the worker pool, and tests can use either backend.
 */
import { equalBytes, toHex } from '../crypto/bytes.ts';
import { CivitasError, codeOf, type ErrorCode } from '../errors/index.ts';
import type { SealedBlock } from './block.ts';
import { computeTxRoot, lastCommitHashOf } from './block.ts';
import { blockTimeOf } from './block-time.ts';
import { type SignatureCheck, verifyCertificate } from './certificate.ts';
import type { ChainParams } from './genesis.ts';
import type { Header } from './header.ts';
import { merkleRoot } from './merkle.ts';
import { encodeReceipt, type Receipt } from './receipt.ts';
import type { Tx } from './tx.ts';
import type { ValidatorSet } from './validator-set.ts';

/** Verifies the signatures of txs (by index) and resolves to one verdict per tx. */
export type TxSignatureVerifier = (
  txs: readonly Tx[],
  txHashes: readonly Uint8Array[],
) => Promise<boolean[]>;

function fail(code: ErrorCode, message: string, context: Record<string, unknown> = {}): never {
  throw new CivitasError(code, message, context);
}

/**
 * Stateless checks on a single tx (mempool admission and block validation share these).
 *
 * The tx's shape rules are not re-checked here: both callers hold txs decoded by decodeTx, and
 * the decoder (like the encoder) refuses a tx breaking one (tx.ts):
 *   - a v1 tx is exactly one op with no expected revision, and has no cosigners;
 *   - a v2 tx carries 1..Limits.txOps ops;
 *   - a v2 tx names at most Limits.txCosigners cosigners;
 *   - each cosigner is named once, and none is the sender;
 *   - one cosignature per cosigner, in cosigner order.
 * That every one of those signatures verifies is validateBlockStateless's last check (and the
 * mempool's), through the TxVerifier.
 */
export function validateTxStateless(
  tx: Tx,
  chainId: string,
  height?: number,
  maxTxLifetime?: number,
): void {
  // Rule: a tx is for exactly one chain.
  if (tx.chainId !== chainId) {
    fail('TX_WRONG_CHAIN', `tx is for chain "${tx.chainId}", this is "${chainId}"`);
  }
  // Rule: a tx is valid only in blocks at or below its expiry height.
  if (height !== undefined && tx.expiryHeight < height) {
    fail('TX_EXPIRED', `tx expired at height ${tx.expiryHeight}`, {
      expiryHeight: tx.expiryHeight,
      height,
    });
  }
  // Rule (params.maxTxLifetime, when the genesis sets it): a tx in block h expires at or below
  // h + maxTxLifetime, so a committed tx can come back only within that many heights, and
  // the tx index of the last maxTxLifetime heights is all a node needs (docs/STATE-SYNC.md).
  if (
    height !== undefined &&
    maxTxLifetime !== undefined &&
    tx.expiryHeight - height > maxTxLifetime
  ) {
    fail(
      'TX_LIFETIME_TOO_LONG',
      `tx expires at height ${tx.expiryHeight}, more than ${maxTxLifetime} heights after ${height}`,
      { expiryHeight: tx.expiryHeight, height, maxTxLifetime },
    );
  }
}

export async function validateBlockStateless(
  block: SealedBlock,
  ctx: { chainId: string; params: ChainParams; verifySignatures: TxSignatureVerifier },
): Promise<void> {
  const { header, txs, txHashes, encodedTxs } = block;
  // Rule: the header names this chain.
  if (header.chainId !== ctx.chainId) {
    fail('BLOCK_WRONG_CHAIN', `block is for chain "${header.chainId}"`);
  }
  // Rule: at most params.maxBlockTxs txs and params.maxBlockBytes bytes of txs.
  if (txs.length > ctx.params.maxBlockTxs) {
    fail('BLOCK_TOO_MANY_TXS', `${txs.length} txs exceeds ${ctx.params.maxBlockTxs}`);
  }
  let txBytes = 0;
  for (const t of encodedTxs) txBytes += t.length;
  if (txBytes > ctx.params.maxBlockBytes) {
    fail('BLOCK_TOO_LARGE', `${txBytes} bytes of txs exceeds ${ctx.params.maxBlockBytes}`);
  }
  // Rule: no tx appears twice in a block.
  const seen = new Set<string>();
  for (const h of txHashes) {
    const hex = toHex(h);
    if (seen.has(hex)) fail('BLOCK_DUPLICATE_TX', `tx ${hex} appears twice`, { txHash: hex });
    seen.add(hex);
  }
  // Rule: every tx is for this chain, unexpired at this height, and within its lifetime.
  for (const tx of txs) {
    validateTxStateless(tx, ctx.chainId, header.height, ctx.params.maxTxLifetime);
  }
  // Rule: txRoot is the Merkle root of the tx hashes, in order.
  if (!equalBytes(computeTxRoot(txHashes), header.txRoot)) {
    fail('BLOCK_BAD_TX_ROOT', 'txRoot does not match the txs');
  }
  // Rule: every tx is signed by its sender and each of its cosigners (last: the expensive check).
  const verdicts = await ctx.verifySignatures(txs, txHashes);
  const bad = verdicts.indexOf(false);
  if (bad !== -1) {
    fail('BLOCK_BAD_TX_SIGNATURE', `tx ${bad} has an invalid signature`, {
      index: bad,
      txHash: toHex(txHashes[bad]!),
    });
  }
}

/**
 * Rule: a tx is committed at most once. `committed[i]` says whether txHashes[i] is already in
 * the chain's tx index. Nonces alone do not give this: a failed tx changes no state (its
 * sender's nonce included), so the same signed bytes would otherwise be valid again in a later
 * block, and could succeed there once the sender can pay.
 */
export function validateTxsNotCommitted(
  txHashes: readonly Uint8Array[],
  committed: readonly boolean[],
): void {
  const i = committed.indexOf(true);
  if (i !== -1) {
    const txHash = toHex(txHashes[i]!);
    fail('BLOCK_TX_ALREADY_COMMITTED', `tx ${txHash} is already committed`, {
      index: i,
      txHash,
    });
  }
}

export interface ParentContext {
  readonly chainId: string;
  /** Height of the parent (0 = genesis). */
  readonly parentHeight: number;
  readonly parentHash: Uint8Array;
  /** Parent header timestamp, or genesis time at height 1. */
  readonly parentTimestamp: number;
  readonly genesisTime: number;
  /** The set that must sign this block (and whose hash the header names). */
  readonly validators: ValidatorSet;
  /** The set that signed the parent's certificate. */
  readonly parentValidators: ValidatorSet;
  readonly checkSignature: SignatureCheck;
}

export function validateBlockAgainstParent(block: SealedBlock, ctx: ParentContext): void {
  const { header, lastCommit } = block;
  // Rule: height = parent height + 1.
  if (header.height !== ctx.parentHeight + 1) {
    fail('BLOCK_BAD_HEIGHT', `height ${header.height} does not follow ${ctx.parentHeight}`);
  }
  // Rule: parentHash is the hash of the parent (genesis hash at height 1).
  if (!equalBytes(header.parentHash, ctx.parentHash)) {
    fail('BLOCK_BAD_PARENT', 'parentHash does not match the parent block');
  }
  // Rule: the header names the validator set in force.
  if (!equalBytes(header.validatorSetHash, ctx.validators.hash)) {
    fail('BLOCK_BAD_VALIDATOR_SET', 'validatorSetHash does not match the validator set');
  }
  // Rule: the proposer is a validator.
  if (ctx.validators.indexOf(header.proposer) === -1) {
    fail('BLOCK_BAD_PROPOSER', 'proposer is not a validator');
  }
  // Rule: lastCommit is absent at height 1 and otherwise a valid certificate of the parent.
  if (header.height === 1) {
    if (lastCommit !== null) fail('BLOCK_BAD_LAST_COMMIT', 'block 1 cannot carry a last commit');
  } else {
    if (lastCommit === null) fail('BLOCK_BAD_LAST_COMMIT', 'missing certificate of the parent');
    try {
      verifyCertificate(
        lastCommit,
        {
          chainId: ctx.chainId,
          height: ctx.parentHeight,
          blockHash: ctx.parentHash,
          validators: ctx.parentValidators,
        },
        ctx.checkSignature,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      fail('BLOCK_BAD_LAST_COMMIT', `last commit: ${message}`, {
        cause: codeOf(err),
      });
    }
  }
  // Rule: lastCommitHash commits to the carried certificate.
  if (!equalBytes(header.lastCommitHash, lastCommitHashOf(lastCommit))) {
    fail('BLOCK_BAD_LAST_COMMIT_HASH', 'lastCommitHash does not match the carried certificate');
  }
  validateBlockTime(block, ctx);
}

/**
 * Rule (block-time.ts): the time is the median vote time of the carried certificate (genesis
 * time + 1 ms at height 1) and after the parent's. No local clock takes part: a block is
 * judged by what the quorum signed.
 */
function validateBlockTime(block: SealedBlock, ctx: ParentContext): void {
  const { header, lastCommit } = block;
  if (header.version === 1 || lastCommit?.version === 1) {
    fail('BLOCK_BAD_TIME', 'a v1 header or certificate carries no quorum time');
  }
  const expected = blockTimeOf(header.height, lastCommit, ctx.genesisTime);
  if (header.timestamp !== expected) {
    fail('BLOCK_BAD_TIME', `timestamp ${header.timestamp} is not the quorum time ${expected}`, {
      timestamp: header.timestamp,
      expected,
    });
  }
  if (header.timestamp <= ctx.parentTimestamp) {
    fail('BLOCK_BAD_TIME', 'timestamp is not after the parent timestamp');
  }
}

export function receiptRoot(receipts: readonly Receipt[]): Uint8Array {
  return merkleRoot(receipts.map(encodeReceipt));
}

/**
 * Rule: the header's receipt and state roots, and the validator set it names for the next
 * height, match what re-execution produced.
 */
export function validateExecution(
  header: Header,
  result: { receiptRoot: Uint8Array; stateRoot: Uint8Array; nextValidatorSetHash: Uint8Array },
): void {
  if (!equalBytes(header.receiptRoot, result.receiptRoot)) {
    fail('BLOCK_BAD_RECEIPT_ROOT', 'receiptRoot does not match re-execution');
  }
  if (!equalBytes(header.stateRoot, result.stateRoot)) {
    fail('BLOCK_BAD_STATE_ROOT', 'stateRoot does not match re-execution');
  }
  if (!equalBytes(header.nextValidatorSetHash, result.nextValidatorSetHash)) {
    fail('BLOCK_BAD_NEXT_VALIDATOR_SET', 'nextValidatorSetHash does not match re-execution');
  }
}
