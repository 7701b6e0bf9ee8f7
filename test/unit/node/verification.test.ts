/**
 * The node's signature verification (src/node/verification.ts) with a real worker pool: the
 * TxVerifier's per-caller tally, admission requests of one event-loop turn verified as one
 * batch on the workers, a lone request on the calling thread, the shared verified-tx cache
 * seen from the proposal path, the sync path through the factory's BlockPipeline, and close.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateChain } from '../../../bench/chain-generator.ts';
import { civitasApp, civitasStateMachine } from '../../../src/app/index.ts';
import { emptyVerifyTally, makeTx, type Tx, TxVerifier, txHash } from '../../../src/chain/index.ts';
import {
  generateKeyPair,
  type KeyPair,
  nativeVerifier,
  verifyNodeCrypto,
  verifySodium,
} from '../../../src/crypto/ed25519.ts';
import { sodiumStatus } from '../../../src/crypto/sodium.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { defaultNodeVerifyWorkers, Verification } from '../../../src/node/verification.ts';
import { Ledger } from '../../../src/state/ledger.ts';

const CHAIN_ID = 'verification-test';
const transfer = civitasApp().method('bank', 'transfer')!;

function tx(from: KeyPair, nonce: number, cosigners: KeyPair[] = []): Tx {
  const args = transfer.args.encode(
    transfer.args.fromJson({ to: '00'.repeat(20), amount: String(nonce + 1) }),
  );
  return makeTx(
    {
      chainId: CHAIN_ID,
      sender: from.publicKey,
      nonce,
      expiryHeight: 1_000,
      ops: [{ module: 'bank', method: 'transfer', args }],
      cosigners: cosigners.map((c) => c.publicKey),
    },
    from.secretKey,
    cosigners.map((c) => c.secretKey),
  );
}

/** `tx` with one bit of its sender's signature flipped. */
function forged(t: Tx): Tx {
  const signature = t.signature.slice();
  signature[7]! ^= 0x10;
  return { ...t, signature };
}

const keys = Array.from({ length: 4 }, () => generateKeyPair());
/** 60 valid txs from 4 senders. */
const txs = Array.from({ length: 60 }, (_, i) => tx(keys[i % 4]!, Math.floor(i / 4)));
const hashes = txs.map(txHash);

function rejectsWith(code: string) {
  return (err: unknown) => {
    assert.ok(isCivitasError(err), `expected a CivitasError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

test('TxVerifier tally: txs asked, cache hits, signatures checked (cosigners too), invalid txs', async () => {
  const verifier = new TxVerifier();
  const cosigned = tx(keys[0]!, 100, [keys[1]!, keys[2]!]);
  const bad = forged(tx(keys[3]!, 100));
  const batch = [txs[0]!, cosigned, bad];
  const batchHashes = batch.map(txHash);
  const first = emptyVerifyTally();
  assert.deepEqual(await verifier.verify(batch, batchHashes, undefined, first), [
    true,
    true,
    false,
  ]);
  // 1 + 3 (sender and two cosigners) + 1 signatures; the forged tx is invalid.
  assert.deepEqual(first, { txs: 3, cacheHits: 0, signatures: 5, invalid: 1 });
  const second = emptyVerifyTally();
  assert.deepEqual(await verifier.verify(batch, batchHashes, undefined, second), [
    true,
    true,
    false,
  ]);
  // Successes are cached, failures are not: the forged tx is checked again.
  assert.deepEqual(second, { txs: 3, cacheHits: 2, signatures: 1, invalid: 1 });
  assert.equal(verifier.signatures, 6);
  assert.equal(verifier.hits, 2);
  assert.equal(verifier.misses, 4);
});

describe('Verification (2 workers)', () => {
  let verification: Verification;

  before(() => {
    // Workers start for a batch of 16 here (the node waits for 256: see verify-pool.ts).
    verification = Verification.create({ workers: 2, startWorkersAt: 16 });
  });

  after(() => verification.close());

  test('admission requests of one turn are verified as one batch, on the workers', async () => {
    const before = verification.stats();
    const requests = txs.slice(0, 40).map((t, i) => verification.admit([t], [hashes[i]!]));
    const verdicts = await Promise.all(requests);
    assert.deepEqual(verdicts.flat(), Array(40).fill(true));
    const after = verification.stats();
    assert.equal(after.admissionBatches - before.admissionBatches, 1);
    assert.equal(after.admissionRequests - before.admissionRequests, 40);
    assert.equal(after.paths.admission.signatures - before.paths.admission.signatures, 40);
    assert.equal(after.onWorkers - before.onWorkers, 40);
    assert.equal(after.onCallingThread, before.onCallingThread);
    assert.equal(after.backend, nativeVerifier());
    assert.equal(after.workers, 2);
  });

  test('a lone admission request is verified on the calling thread', async () => {
    const before = verification.stats();
    assert.deepEqual(await verification.admit([txs[40]!], [hashes[40]!]), [true]);
    const after = verification.stats();
    assert.equal(after.onCallingThread - before.onCallingThread, 1);
    assert.equal(after.onWorkers, before.onWorkers);
    assert.equal(after.admissionBatches - before.admissionBatches, 1);
  });

  test('a forged tx in a coalesced batch is refused alone, and not cached', async () => {
    const bad = forged(tx(keys[0]!, 500));
    const badHash = txHash(bad);
    const batch = [...txs.slice(41, 59), bad];
    const batchHashes = [...hashes.slice(41, 59), badHash];
    const verdicts = await Promise.all(
      batch.map((t, i) => verification.admit([t], [batchHashes[i]!])),
    );
    assert.deepEqual(verdicts.flat(), [...Array(18).fill(true), false]);
    const before = verification.stats().paths.admission;
    assert.deepEqual(await verification.admit([bad], [badHash]), [false]);
    const after = verification.stats().paths.admission;
    assert.equal(after.signatures - before.signatures, 1, 'checked again: failures are not cached');
    assert.equal(after.invalid - before.invalid, 1);
  });

  test('the proposal path finds admitted txs in the shared cache', async () => {
    const before = verification.stats().paths.proposal;
    const options = verification.validationOptions();
    const verdicts = await options.verifySignatures(txs.slice(0, 59), hashes.slice(0, 59));
    assert.deepEqual(verdicts, Array(59).fill(true));
    const after = verification.stats().paths.proposal;
    assert.equal(after.txs - before.txs, 59);
    assert.equal(after.cacheHits - before.cacheHits, 59);
    assert.equal(after.signatures, before.signatures, 'nothing verified again');
    // A tx never admitted is verified by the proposal path itself.
    await options.verifySignatures([txs[59]!], [hashes[59]!]);
    assert.equal(verification.stats().paths.proposal.signatures - after.signatures, 1);
  });
});

test('admission flushes at maxAdmissionBatch without waiting for the turn to end', async () => {
  const verification = Verification.create({ workers: 1, maxAdmissionBatch: 8 });
  try {
    const verdicts = await Promise.all(
      txs.slice(0, 20).map((t, i) => verification.admit([t], [hashes[i]!])),
    );
    assert.deepEqual(verdicts.flat(), Array(20).fill(true));
    const stats = verification.stats();
    // 8 + 8 at once, the last 4 at the end of the turn.
    assert.equal(stats.admissionBatches, 3);
    assert.equal(stats.admissionRequests, 20);
    assert.equal(stats.paths.admission.signatures, 20);
  } finally {
    await verification.close();
  }
});

test('with 0 workers every signature is verified on the calling thread', async () => {
  const verification = Verification.create({ workers: 0 });
  try {
    const verdicts = await Promise.all(
      txs.slice(0, 30).map((t, i) => verification.admit([t], [hashes[i]!])),
    );
    assert.deepEqual(verdicts.flat(), Array(30).fill(true));
    const stats = verification.stats();
    assert.equal(stats.workers, 0);
    assert.equal(stats.onWorkers, 0);
    assert.equal(stats.onCallingThread, 30);
  } finally {
    await verification.close();
  }
});

test('close verifies what admission queued, then refuses new work', async () => {
  const verification = Verification.create({ workers: 2 });
  const queued = txs.slice(0, 20).map((t, i) => verification.admit([t], [hashes[i]!]));
  const closed = verification.close();
  assert.deepEqual((await Promise.all(queued)).flat(), Array(20).fill(true));
  await closed;
  await assert.rejects(
    verification.admit([txs[20]!], [hashes[20]!]),
    rejectsWith('CRYPTO_VERIFY_POOL_CLOSED'),
  );
  await assert.rejects(
    verification.verifier('proposal').verify([txs[21]!], [hashes[21]!]),
    rejectsWith('CRYPTO_VERIFY_POOL_CLOSED'),
  );
  // Idempotent.
  await verification.close();
});

test('one backend for every path: the native default, or the one named', async () => {
  const byDefault = Verification.create({ workers: 1 });
  const named = Verification.create({ workers: 1, backend: 'node:crypto' });
  try {
    // Without a choice: verifyNative's backend, libsodium when its addon loads here.
    assert.equal(byDefault.stats().backend, nativeVerifier());
    if (sodiumStatus().loaded) {
      assert.equal(byDefault.stats().backend, 'sodium');
      assert.equal(byDefault.checkSignature, verifySodium);
    }
    assert.equal(named.stats().backend, 'node:crypto');
    assert.equal(named.checkSignature, verifyNodeCrypto, 'certificates on the same backend');
    assert.equal(named.crypto().ed25519, 'node:crypto');
    const verdicts = await Promise.all(
      txs.slice(0, 20).map((t, i) => named.admit([t], [hashes[i]!])),
    );
    assert.deepEqual(verdicts.flat(), Array(20).fill(true));
    assert.equal(named.stats().pool?.backend, 'node:crypto');
  } finally {
    await byDefault.close();
    await named.close();
  }
});

test('a bad worker count is refused when the factory builds the pool', () => {
  assert.throws(
    () => Verification.create({ workers: -1 }),
    rejectsWith('CRYPTO_VERIFY_POOL_BAD_OPTION'),
  );
});

test("the factory's pipeline validates and commits on the sync path, its look-ahead on the workers", async () => {
  const chain = await generateChain({ txs: 240, blockSize: 40, txsPerSender: 6 });
  const dir = await mkdtemp(join(tmpdir(), 'civitas-verification-'));
  const verification = Verification.create({ workers: 2, startWorkersAt: 40 });
  const ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine());
  try {
    const committed: number[] = [];
    const pipeline = verification.pipeline(ledger, {
      onCommitted: (info) => committed.push(info.height),
    });
    const result = await pipeline.run(
      chain.blocks.map((b) => ({ block: b.block, certificate: b.certificate })),
    );
    assert.equal(result.blocks, chain.blocks.length);
    assert.equal(ledger.height, chain.blocks.length);
    assert.deepEqual(
      committed,
      chain.blocks.map((_, i) => i + 1),
    );
    const stats = verification.stats();
    assert.deepEqual(stats.paths.sync, {
      txs: chain.txCount,
      cacheHits: 0,
      signatures: chain.txCount,
      invalid: 0,
    });
    assert.equal(stats.onWorkers, chain.txCount, 'every 40-signature block went to the workers');
    assert.equal(stats.paths.admission.txs, 0);
    assert.equal(stats.paths.proposal.txs, 0);
  } finally {
    await ledger.close();
    await verification.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a node verifies with one worker per core but one, at least one', () => {
  assert.deepEqual([1, 2, 4, 16].map(defaultNodeVerifyWorkers), [1, 1, 3, 15]);
});
