/**
 * The block validation layers on real blocks: a proposer ledger builds blocks with
 * `buildBlock` on a temp LevelDB, a second ledger (a replica that never saw them) validates
 * them. Each rule is broken on its own and must fail with its own code; the commit
 * certificate rules (CERT_*) are checked directly and through BLOCK_BAD_LAST_COMMIT; the
 * verified-tx cache keeps only successes and counts hits.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { transferOp } from '../../../src/app/bank/transfer.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import {
  type CommitCertificate,
  certificateHash,
  certificateTime,
  genesisHash,
  genesisValidatorSet,
  type Header,
  lastCommitHashOf,
  makeTx,
  makeValidatorSet,
  type SealedBlock,
  type SignatureItem,
  sealBlock,
  type Tx,
  TxVerifier,
  txHash,
  txSigningHash,
  validateBlockAgainstParent,
  validateTxStateless,
  verifyCertificate,
  voteSigningHash,
  ZERO_HASH,
} from '../../../src/chain/index.ts';
import {
  generateKeyPair,
  type KeyPair,
  sign,
  verifyNative,
  verifyNoble,
} from '../../../src/crypto/ed25519.ts';
import { CivitasError, type ErrorCode, isCivitasError } from '../../../src/errors/index.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import {
  accountAddress,
  certify,
  makeTestChain,
  signedTx,
  type TestChain,
  transferTx,
} from '../../helpers/chain.ts';

function assertCode(err: unknown, code: ErrorCode, cause?: ErrorCode): true {
  assert.ok(err instanceof CivitasError, `expected CivitasError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (cause !== undefined) assert.equal(err.context.cause, cause, err.message);
  return true;
}

function throwsCode(fn: () => unknown, code: ErrorCode, cause?: ErrorCode): void {
  assert.throws(fn, (err: unknown) => assertCode(err, code, cause));
}

async function rejectsCode(p: Promise<unknown>, code: ErrorCode, cause?: ErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => assertCode(err, code, cause));
}

/** The same block with header fields (and optionally txs or last commit) replaced. */
function reseal(
  block: SealedBlock,
  patch: Partial<Header>,
  parts: { txs?: readonly Tx[]; lastCommit?: CommitCertificate | null } = {},
): SealedBlock {
  return sealBlock({
    header: { ...block.header, ...patch },
    txs: parts.txs ?? block.txs,
    lastCommit: parts.lastCommit === undefined ? block.lastCommit : parts.lastCommit,
  });
}

describe('block validation layers', () => {
  // 4 validators (quorum 3), tight block limits so the size rules are reachable.
  const chain: TestChain = makeTestChain({
    validators: 4,
    accounts: 3,
    params: { maxBlockTxs: 3, maxBlockBytes: 400 },
  });
  const verifier = new TxVerifier();
  const opts = () => ({
    verifySignatures: (txs: readonly Tx[], hashes: readonly Uint8Array[]) =>
      verifier.verify(txs, hashes),
    checkSignature: verifyNative,
  });
  let dir: string;
  let proposer: Ledger;
  let replica: Ledger;
  let fresh: Ledger;
  const nonces = [0, 0, 0];
  const nextTransfer = (from: number, to: number, amount = 1n): Tx =>
    transferTx(chain, from, accountAddress(chain, to), amount, nonces[from]++);

  /** Builds block tip+1 on the proposer (not committed). */
  /** A certificate of the replica's tip whose signers voted at `times`. */
  function certifyTimed(tip: { height: number; hash: Uint8Array }, times: number[]) {
    return certify(chain, { header: { height: tip.height }, hash: tip.hash }, { voteTimes: times });
  }

  async function propose(txs: readonly Tx[], lastCommit = proposer.tip.certificate) {
    const { block } = await proposer.buildBlock({
      txs,
      proposer: chain.validatorKeys[0]!.publicKey,
      lastCommit,
    });
    return block;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'civitas-validation-'));
    proposer = await Ledger.open(join(dir, 'proposer'), chain.genesis, civitasStateMachine());
    replica = await Ledger.open(join(dir, 'replica'), chain.genesis, civitasStateMachine());
    fresh = await Ledger.open(join(dir, 'fresh'), chain.genesis, civitasStateMachine());
    // Two committed blocks, each validated in full by the replica before both commit.
    for (const txs of [[nextTransfer(0, 1)], [nextTransfer(1, 2), nextTransfer(0, 2)]]) {
      const block = await propose(txs);
      const executed = await replica.validateBlock(block, opts());
      const certificate = certify(chain, block, { signers: [0, 1, 3] });
      await proposer.commit(block, certificate, proposer.executedFor(block)!);
      await replica.commit(block, certificate, executed);
    }
  });

  after(async () => {
    await proposer?.close();
    await replica?.close();
    await fresh?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('setup: both ledgers agree at height 2', () => {
    assert.equal(replica.height, 2);
    assert.deepEqual(replica.tip.hash, proposer.tip.hash);
    assert.deepEqual(replica.tip.stateRoot, proposer.tip.stateRoot);
  });

  test('a proposed block passes every layer on a replica that did not build it', async () => {
    const block = await propose([nextTransfer(2, 0)]);
    nonces[2]--; // not committed
    const executed = await replica.validateBlock(block, opts());
    assert.equal(executed.height, 3);
    assert.deepEqual(executed.stateRoot, block.header.stateRoot);
    assert.deepEqual(executed.receiptRoot, block.header.receiptRoot);
    assert.equal(replica.height, 2, 'validation does not commit');
  });

  // --- stateless layer -------------------------------------------------------------------

  test('BLOCK_WRONG_CHAIN: the header names another chain', async () => {
    const block = reseal(await propose([]), { chainId: 'other-chain' });
    await rejectsCode(replica.validateBlock(block, opts()), 'BLOCK_WRONG_CHAIN');
  });

  test('BLOCK_TOO_MANY_TXS: more than params.maxBlockTxs', async () => {
    const txs = [0, 1, 2, 3].map((i) =>
      transferTx(chain, 0, accountAddress(chain, 1), 1n, 100 + i),
    );
    await rejectsCode(replica.validateBlock(await propose(txs), opts()), 'BLOCK_TOO_MANY_TXS');
  });

  test('BLOCK_TOO_LARGE: more than params.maxBlockBytes of txs', async () => {
    const txs = [0, 1, 2].map((i) => transferTx(chain, 0, accountAddress(chain, 1), 1n, 100 + i));
    await rejectsCode(replica.validateBlock(await propose(txs), opts()), 'BLOCK_TOO_LARGE');
  });

  test('BLOCK_DUPLICATE_TX: one tx twice', async () => {
    const tx = transferTx(chain, 0, accountAddress(chain, 1), 1n, nonces[0]!);
    await rejectsCode(replica.validateBlock(await propose([tx, tx]), opts()), 'BLOCK_DUPLICATE_TX');
  });

  test('TX_EXPIRED: a tx whose expiry height is below the block height', async () => {
    const expired = transferTx(chain, 0, accountAddress(chain, 1), 1n, nonces[0]!, {
      expiryHeight: 2,
    });
    await rejectsCode(replica.validateBlock(await propose([expired]), opts()), 'TX_EXPIRED');
    // Expiry at exactly this height is still valid.
    const lastChance = transferTx(chain, 0, accountAddress(chain, 1), 1n, nonces[0]!, {
      expiryHeight: 3,
    });
    await replica.validateBlock(await propose([lastChance]), opts());
  });

  test('TX_WRONG_CHAIN: a tx for another chain inside the block', async () => {
    const foreign = transferTx(chain, 0, accountAddress(chain, 1), 1n, nonces[0]!, {
      chainId: 'other-chain',
    });
    await rejectsCode(replica.validateBlock(await propose([foreign]), opts()), 'TX_WRONG_CHAIN');
  });

  test('BLOCK_BAD_TX_ROOT: txRoot does not match the txs', async () => {
    const block = await propose([nextTransfer(0, 1)]);
    nonces[0]--;
    await rejectsCode(
      replica.validateBlock(reseal(block, { txRoot: randomBytes(32) }), opts()),
      'BLOCK_BAD_TX_ROOT',
    );
    // Same root, txs reordered: the root commits to order.
    const two = await propose([
      transferTx(chain, 0, accountAddress(chain, 1), 1n, nonces[0]!),
      transferTx(chain, 1, accountAddress(chain, 2), 1n, nonces[1]!),
    ]);
    await rejectsCode(
      replica.validateBlock(reseal(two, {}, { txs: [two.txs[1]!, two.txs[0]!] }), opts()),
      'BLOCK_BAD_TX_ROOT',
    );
  });

  test('BLOCK_BAD_TX_SIGNATURE: a cosigned (v2) tx with one bad cosignature', async () => {
    const [from, c1, c2] = chain.accountKeys as [KeyPair, KeyPair, KeyPair];
    const cosigned = makeTx(
      {
        chainId: chain.genesis.chainId,
        sender: from.publicKey,
        nonce: nonces[0]!,
        expiryHeight: 1_000_000,
        ops: [transferOp(accountAddress(chain, 1), 1n)],
        cosigners: [c1.publicKey, c2.publicKey],
      },
      from.secretKey,
      [c1.secretKey, c2.secretKey],
    );
    // All signatures good: the block validates.
    await replica.validateBlock(await propose([cosigned]), opts());
    const forged = {
      ...cosigned,
      cosignatures: [cosigned.cosignatures[0]!, sign(txSigningHash(cosigned), from.secretKey)],
    };
    await assert.rejects(replica.validateBlock(await propose([forged]), opts()), (err) => {
      assert.ok(assertCode(err, 'BLOCK_BAD_TX_SIGNATURE') && isCivitasError(err));
      assert.equal(err.context.index, 0);
      return true;
    });
  });

  test('BLOCK_BAD_TX_SIGNATURE: a tx with a broken signature', async () => {
    const tx = transferTx(chain, 0, accountAddress(chain, 1), 1n, nonces[0]!);
    const forged = {
      ...tx,
      signature: Uint8Array.from(tx.signature, (b, i) => (i === 5 ? b ^ 4 : b)),
    };
    const good = transferTx(chain, 1, accountAddress(chain, 2), 1n, nonces[1]!);
    await assert.rejects(replica.validateBlock(await propose([good, forged]), opts()), (err) => {
      assert.ok(assertCode(err, 'BLOCK_BAD_TX_SIGNATURE') && isCivitasError(err));
      assert.equal(err.context.index, 1);
      return true;
    });
    // A signature by another key over the same tx fails too.
    const otherKey = signedTx(
      { ...chain, accountKeys: [generateKeyPair()] },
      0,
      tx.ops[0]!,
      tx.nonce,
    );
    const wrongSender = { ...otherKey, sender: tx.sender };
    await rejectsCode(
      replica.validateBlock(await propose([wrongSender]), opts()),
      'BLOCK_BAD_TX_SIGNATURE',
    );
  });

  // --- against the parent ----------------------------------------------------------------

  test('BLOCK_BAD_HEIGHT: height is not parent + 1', async () => {
    const block = await propose([]);
    for (const height of [2, 4, 0]) {
      await rejectsCode(
        replica.validateBlock(reseal(block, { height }), opts()),
        'BLOCK_BAD_HEIGHT',
      );
    }
  });

  test('BLOCK_BAD_PARENT: parentHash is not the parent', async () => {
    const block = await propose([]);
    await rejectsCode(
      replica.validateBlock(reseal(block, { parentHash: randomBytes(32) }), opts()),
      'BLOCK_BAD_PARENT',
    );
    await rejectsCode(
      replica.validateBlock(reseal(block, { parentHash: genesisHash(chain.genesis) }), opts()),
      'BLOCK_BAD_PARENT',
    );
  });

  test('BLOCK_BAD_TIME: the time is not the median vote time of the last commit', async () => {
    const block = await propose([]);
    assert.equal(block.header.timestamp, certificateTime(block.lastCommit!));
    for (const timestamp of [
      block.header.timestamp + 1,
      block.header.timestamp - 1,
      replica.tip.timestamp,
    ]) {
      await rejectsCode(
        replica.validateBlock(reseal(block, { timestamp }), opts()),
        'BLOCK_BAD_TIME',
      );
    }
    // A v1 header (a proposer-chosen time) is decoded but never valid in a block.
    await rejectsCode(
      replica.validateBlock(reseal(block, { version: 1 }), opts()),
      'BLOCK_BAD_TIME',
    );
  });

  test('block time is the lower median of the vote times, whatever one clock signed', async () => {
    const parent = replica.tip;
    const votes = [parent.timestamp + 500, parent.timestamp + 90_000_000, 1];
    const lastCommit = certifyTimed(parent, votes);
    assert.equal(certificateTime(lastCommit), parent.timestamp + 500);
    const block = await propose([], lastCommit);
    assert.equal(block.header.timestamp, parent.timestamp + 500);
    await replica.validateBlock(block, opts());
    // A quorum that times the block at or before its parent makes it invalid.
    const stale = await propose([], certifyTimed(parent, [1, 2, parent.timestamp + 5]));
    await rejectsCode(replica.validateBlock(stale, opts()), 'BLOCK_BAD_TIME');
  });

  test('BLOCK_BAD_VALIDATOR_SET: the header names another validator set', async () => {
    const block = await propose([]);
    const otherSet = makeValidatorSet([...chain.validatorKeys.map((k) => k.publicKey)].reverse());
    await rejectsCode(
      replica.validateBlock(reseal(block, { validatorSetHash: otherSet.hash }), opts()),
      'BLOCK_BAD_VALIDATOR_SET',
    );
  });

  test('BLOCK_BAD_NEXT_VALIDATOR_SET: the header names a next set execution did not produce', async () => {
    const block = await propose([]);
    const otherSet = makeValidatorSet([...chain.validatorKeys.map((k) => k.publicKey)].reverse());
    await rejectsCode(
      replica.validateBlock(reseal(block, { nextValidatorSetHash: otherSet.hash }), opts()),
      'BLOCK_BAD_NEXT_VALIDATOR_SET',
    );
  });

  test('BLOCK_BAD_PROPOSER: the proposer is not a validator', async () => {
    const block = await propose([]);
    await rejectsCode(
      replica.validateBlock(reseal(block, { proposer: generateKeyPair().publicKey }), opts()),
      'BLOCK_BAD_PROPOSER',
    );
    // Any validator may propose (which one is consensus's rule, not the block's).
    await replica.validateBlock(
      reseal(block, { proposer: chain.validatorKeys[3]!.publicKey }),
      opts(),
    );
  });

  test('BLOCK_BAD_LAST_COMMIT: missing certificate of the parent', async () => {
    const block = await propose([]);
    await rejectsCode(
      replica.validateBlock(
        reseal(block, { lastCommitHash: ZERO_HASH }, { lastCommit: null }),
        opts(),
      ),
      'BLOCK_BAD_LAST_COMMIT',
    );
  });

  test('BLOCK_BAD_LAST_COMMIT: a certificate with a bad signature', async () => {
    const block = await propose([]);
    const parent = { header: { height: 2 }, hash: replica.tip.hash };
    const cert = certify(chain, parent, { signers: [0, 1, 2] });
    const bad: CommitCertificate = {
      ...cert,
      signatures: cert.signatures.map((s, i) =>
        i === 1
          ? { ...s, signature: Uint8Array.from(s.signature, (b, j) => (j === 0 ? b ^ 1 : b)) }
          : s,
      ),
    };
    await rejectsCode(
      replica.validateBlock(
        reseal(block, { lastCommitHash: certificateHash(bad) }, { lastCommit: bad }),
        opts(),
      ),
      'BLOCK_BAD_LAST_COMMIT',
      'CERT_BAD_SIGNATURE',
    );
  });

  test('BLOCK_BAD_LAST_COMMIT: a certificate without a quorum', async () => {
    const block = await propose([]);
    const parent = { header: { height: 2 }, hash: replica.tip.hash };
    const twoOfFour = certify(chain, parent, { signers: [1, 2] });
    await rejectsCode(
      replica.validateBlock(
        reseal(block, { lastCommitHash: certificateHash(twoOfFour) }, { lastCommit: twoOfFour }),
        opts(),
      ),
      'BLOCK_BAD_LAST_COMMIT',
      'CERT_NO_QUORUM',
    );
  });

  test('BLOCK_BAD_LAST_COMMIT: a certificate for another height or block', async () => {
    const block = await propose([]);
    const wrongBlock = certify(chain, { header: { height: 2 }, hash: randomBytes(32) });
    await rejectsCode(
      replica.validateBlock(
        reseal(block, { lastCommitHash: certificateHash(wrongBlock) }, { lastCommit: wrongBlock }),
        opts(),
      ),
      'BLOCK_BAD_LAST_COMMIT',
      'CERT_WRONG_BLOCK',
    );
    const wrongHeight = certify(chain, { header: { height: 1 }, hash: replica.tip.hash });
    await rejectsCode(
      replica.validateBlock(
        reseal(
          block,
          { lastCommitHash: certificateHash(wrongHeight) },
          { lastCommit: wrongHeight },
        ),
        opts(),
      ),
      'BLOCK_BAD_LAST_COMMIT',
      'CERT_WRONG_HEIGHT',
    );
  });

  test('a different but valid quorum certificate of the parent is accepted', async () => {
    const block = await propose([]);
    const other = certify(
      chain,
      { header: { height: 2, timestamp: replica.tip.timestamp }, hash: replica.tip.hash },
      { signers: [0, 1, 2, 3] },
    );
    const resealed = reseal(
      block,
      { lastCommitHash: certificateHash(other), timestamp: certificateTime(other) },
      { lastCommit: other },
    );
    // Not the certificate the parent was committed with: the block is a new one (a new hash,
    // so the ledger's cache of executed blocks cannot answer for it).
    assert.notDeepEqual(certificateHash(other), block.header.lastCommitHash);
    assert.notDeepEqual(resealed.hash, block.hash);
    const executed = await replica.validateBlock(resealed, opts());
    assert.equal(executed.height, 3);
    assert.equal(executed.receipts.length, 0);
    assert.deepEqual(executed.stateRoot, resealed.header.stateRoot);
    assert.deepEqual(executed.receiptRoot, resealed.header.receiptRoot);
    assert.deepEqual(executed.stateRoot, replica.tip.stateRoot, 'an empty block changes no state');
  });

  test('BLOCK_BAD_LAST_COMMIT: block 1 cannot carry a last commit', async () => {
    const { block } = await fresh.buildBlock({
      txs: [],
      proposer: chain.validatorKeys[0]!.publicKey,
      lastCommit: certify(chain, {
        header: { height: 0, timestamp: chain.genesis.genesisTime },
        hash: genesisHash(chain.genesis),
      }),
    });
    throwsCode(
      () => validateBlockAgainstParent(block, fresh.parentContext(verifyNative)),
      'BLOCK_BAD_LAST_COMMIT',
    );
    const { block: plain } = await fresh.buildBlock({
      txs: [],
      proposer: chain.validatorKeys[0]!.publicKey,
      lastCommit: null,
    });
    validateBlockAgainstParent(plain, fresh.parentContext(verifyNative));
  });

  test('BLOCK_BAD_LAST_COMMIT_HASH: the header does not commit to the carried certificate', async () => {
    const block = await propose([]);
    await rejectsCode(
      replica.validateBlock(reseal(block, { lastCommitHash: randomBytes(32) }), opts()),
      'BLOCK_BAD_LAST_COMMIT_HASH',
    );
    assert.deepEqual(block.header.lastCommitHash, lastCommitHashOf(block.lastCommit));
  });

  // --- execution ------------------------------------------------------------------------

  test('BLOCK_BAD_RECEIPT_ROOT and BLOCK_BAD_STATE_ROOT: roots differ from re-execution', async () => {
    const block = await propose([nextTransfer(0, 1, 5n)]);
    nonces[0]--;
    await rejectsCode(
      replica.validateBlock(reseal(block, { receiptRoot: randomBytes(32) }), opts()),
      'BLOCK_BAD_RECEIPT_ROOT',
    );
    await rejectsCode(
      replica.validateBlock(reseal(block, { stateRoot: randomBytes(32) }), opts()),
      'BLOCK_BAD_STATE_ROOT',
    );
    // The roots of an empty block are not interchangeable with those of this one.
    const empty = await propose([]);
    await rejectsCode(
      replica.validateBlock(reseal(block, { stateRoot: empty.header.stateRoot }), opts()),
      'BLOCK_BAD_STATE_ROOT',
    );
  });

  test('failed validations leave the replica unchanged; the next good block commits', async () => {
    assert.equal(replica.height, 2);
    const block = await propose([nextTransfer(0, 1)]);
    const executed = await replica.validateBlock(block, opts());
    const certificate = certify(chain, block);
    await replica.commit(block, certificate, executed);
    await proposer.commit(block, certificate, proposer.executedFor(block)!);
    assert.equal(replica.height, 3);
    assert.deepEqual(replica.tip.stateRoot, block.header.stateRoot);
  });
});

describe('commit certificates', () => {
  const chain = makeTestChain({ validators: 4, accounts: 0 });
  const validators = genesisValidatorSet(chain.genesis);
  const block = { header: { height: 7 }, hash: randomBytes(32) };
  const expect = {
    chainId: chain.genesis.chainId,
    height: 7,
    blockHash: block.hash,
    validators,
  };

  test('a quorum of valid COMMIT votes passes on both signature backends', () => {
    assert.equal(validators.quorum, 3);
    for (const signers of [
      [0, 1, 2],
      [1, 2, 3],
      [0, 1, 2, 3],
    ]) {
      const cert = certify(chain, block, { signers });
      verifyCertificate(cert, expect, verifyNative);
      verifyCertificate(cert, expect, verifyNoble);
    }
  });

  test('CERT_WRONG_HEIGHT and CERT_WRONG_BLOCK', () => {
    const cert = certify(chain, block);
    throwsCode(
      () => verifyCertificate(cert, { ...expect, height: 8 }, verifyNative),
      'CERT_WRONG_HEIGHT',
    );
    throwsCode(
      () => verifyCertificate(cert, { ...expect, blockHash: randomBytes(32) }, verifyNative),
      'CERT_WRONG_BLOCK',
    );
  });

  test('CERT_NO_QUORUM: fewer than ⌊2n/3⌋+1 signers', () => {
    throwsCode(
      () => verifyCertificate(certify(chain, block, { signers: [0, 3] }), expect, verifyNative),
      'CERT_NO_QUORUM',
    );
    throwsCode(
      () => verifyCertificate(certify(chain, block, { signers: [] }), expect, verifyNative),
      'CERT_NO_QUORUM',
    );
  });

  test('CERT_BAD_SIGNER: out-of-range, repeated or unsorted signer indexes', () => {
    const cert = certify(chain, block, { signers: [0, 1, 2] });
    const sigs = cert.signatures;
    const variants = [
      [sigs[0]!, sigs[1]!, { ...sigs[2]!, validatorIndex: 4 }],
      [sigs[0]!, sigs[0]!, sigs[1]!],
      [sigs[1]!, sigs[0]!, sigs[2]!],
    ];
    for (const signatures of variants) {
      throwsCode(
        () => verifyCertificate({ ...cert, signatures }, expect, verifyNative),
        'CERT_BAD_SIGNER',
      );
    }
  });

  test('CERT_BAD_SIGNATURE: wrong key, PREPARE vote, other chain, other view', () => {
    const cert = certify(chain, block, { signers: [0, 1, 2] });
    const replaceSecond = (signature: Uint8Array): CommitCertificate => ({
      ...cert,
      signatures: cert.signatures.map((s, i) => (i === 1 ? { ...s, signature } : s)),
    });
    const commitMsg = voteSigningHash('commit', expect.chainId, 7, 0, block.hash);
    const key1 = chain.validatorKeys[1]!.secretKey;
    const forgeries = {
      'wrong key': sign(commitMsg, chain.validatorKeys[3]!.secretKey),
      'prepare vote': sign(voteSigningHash('prepare', expect.chainId, 7, 0, block.hash), key1),
      'other chain': sign(voteSigningHash('commit', 'other', 7, 0, block.hash), key1),
      'other view': sign(voteSigningHash('commit', expect.chainId, 7, 1, block.hash), key1),
      zeros: new Uint8Array(64),
    };
    for (const [what, signature] of Object.entries(forgeries)) {
      for (const check of [verifyNative, verifyNoble]) {
        assert.throws(
          () => verifyCertificate(replaceSecond(signature), expect, check),
          (err: unknown) =>
            assertCode(err, 'CERT_BAD_SIGNATURE') &&
            isCivitasError(err) &&
            err.context.validatorIndex === 1,
          what,
        );
      }
    }
  });

  test('the quorum rule: ⌊2n/3⌋+1 for n = 1..10', () => {
    const expected = [1, 2, 3, 3, 4, 5, 5, 6, 7, 7];
    const faulty = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3];
    for (let n = 1; n <= 10; n++) {
      const set = makeValidatorSet(Array.from({ length: n }, () => generateKeyPair().publicKey));
      assert.equal(set.quorum, expected[n - 1], `n=${n}`);
      assert.equal(set.maxFaulty, faulty[n - 1], `n=${n}`);
    }
    const key = generateKeyPair().publicKey;
    throwsCode(() => makeValidatorSet([key, key]), 'VALIDATORS_DUPLICATE');
    throwsCode(() => makeValidatorSet([]), 'VALIDATORS_BAD_SIZE');
    throwsCode(() => makeValidatorSet([key.slice(1)]), 'VALIDATORS_BAD_KEY');
  });
});

describe('stateless tx rules and the verified-tx cache', () => {
  const chain = makeTestChain({ accounts: 2 });
  const to = accountAddress(chain, 1);

  test('validateTxStateless: chain id and expiry', () => {
    const tx = transferTx(chain, 0, to, 1n, 0, { expiryHeight: 10 });
    validateTxStateless(tx, chain.genesis.chainId, 10);
    validateTxStateless(tx, chain.genesis.chainId);
    throwsCode(() => validateTxStateless(tx, chain.genesis.chainId, 11), 'TX_EXPIRED');
    throwsCode(() => validateTxStateless(tx, 'other', 1), 'TX_WRONG_CHAIN');
  });

  test('TxVerifier caches only successes and counts hits and misses', async () => {
    const verifier = new TxVerifier();
    const good = transferTx(chain, 0, to, 1n, 0);
    const tampered = { ...good, nonce: 1 }; // signature no longer covers the fields
    const hashes = [txHash(good), txHash(tampered)];
    assert.deepEqual(await verifier.verify([good, tampered], hashes), [true, false]);
    assert.deepEqual([verifier.hits, verifier.misses], [0, 2]);
    assert.deepEqual(await verifier.verify([good, tampered], hashes), [true, false]);
    assert.deepEqual(
      [verifier.hits, verifier.misses],
      [1, 3],
      'the failure is re-checked, not cached',
    );
    assert.deepEqual(await verifier.verify([good], [hashes[0]!]), [true]);
    assert.deepEqual([verifier.hits, verifier.misses], [2, 3]);
  });

  test('TxVerifier sends misses to the batch verifier and evicts beyond its bound', async () => {
    const batches: number[] = [];
    const batch = {
      verifyBatch: async (items: readonly SignatureItem[]) => {
        batches.push(items.length);
        return items.map((it) => verifyNoble(it.signature, it.message, it.publicKey));
      },
    };
    const verifier = new TxVerifier({ maxEntries: 2, batch });
    const txs = [0, 1, 2].map((n) => transferTx(chain, 0, to, 1n, n));
    const hashes = txs.map(txHash);
    assert.deepEqual(await verifier.verify(txs, hashes), [true, true, true]);
    assert.deepEqual(batches, [3]);
    // Only 2 fit: the oldest (tx 0) was evicted, txs 1 and 2 are hits.
    assert.deepEqual(await verifier.verify(txs, hashes), [true, true, true]);
    assert.deepEqual(batches, [3, 1]);
    assert.equal(verifier.hits, 2);
    assert.deepEqual(await verifier.verify([], []), []);
    assert.deepEqual(batches, [3, 1], 'no batch round trip for nothing to verify');
  });
});
