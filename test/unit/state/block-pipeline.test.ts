import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { certifyFast, type GeneratedChain, generateChain } from '../../../bench/chain-generator.ts';
import { proveAccount } from '../../../src/app/bank/account.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import {
  type CommitCertificate,
  computeTxRoot,
  decodeBlock,
  decodeCertificate,
  encodeCertificate,
  encodeTx,
  lastCommitHashOf,
  type SealedBlock,
  sealBlock,
  TxVerifier,
  txHashOfBytes,
  txSigningHash,
  txSigningHashOfEncoded,
} from '../../../src/chain/index.ts';
import { equalBytes, toHex } from '../../../src/crypto/bytes.ts';
import { verifyNative } from '../../../src/crypto/ed25519.ts';
import { VerifyPool } from '../../../src/crypto/verify-pool.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import {
  BlockPipeline,
  type CommittedBlockInfo,
  type PipelineInput,
} from '../../../src/state/block-pipeline.ts';
import { Ledger } from '../../../src/state/ledger.ts';

const dirs: string[] = [];
async function freshLedger(chain: GeneratedChain): Promise<Ledger> {
  const dir = await mkdtemp(join(tmpdir(), 'civitas-pipeline-test-'));
  dirs.push(dir);
  return Ledger.open(dir, chain.genesis, civitasStateMachine());
}

interface EncodedInput extends PipelineInput {
  readonly block: Uint8Array;
  readonly certificate: Uint8Array;
}

function inputs(chain: GeneratedChain): EncodedInput[] {
  return chain.blocks.map((b) => ({ block: b.block, certificate: b.certificate }));
}

/** Block `index` re-sealed after `edit`, with a valid certificate (a faulty quorum). */
function tampered(
  chain: GeneratedChain,
  index: number,
  edit: (block: SealedBlock) => SealedBlock,
): EncodedInput {
  const block = edit(decodeBlock(chain.blocks[index]!.block));
  return {
    block: block.encoded,
    certificate: encodeCertificate(certifyFast(chain.genesis, chain.validatorKeys, block)),
  };
}

function withBadSignature(block: SealedBlock): SealedBlock {
  const txs = block.txs.map((tx, i) => {
    if (i !== 3) return tx;
    const signature = tx.signature.slice();
    signature[5]! ^= 0x01;
    return { ...tx, signature };
  });
  const txRoot = computeTxRoot(txs.map((tx) => txHashOfBytes(encodeTx(tx))));
  return sealBlock({ ...block, header: { ...block.header, txRoot }, txs });
}

/** The certificate with its last signature's bits flipped. */
function forged(certificate: CommitCertificate): CommitCertificate {
  const signatures = certificate.signatures.map((sig, i) => {
    if (i !== certificate.signatures.length - 1) return sig;
    const signature = sig.signature.slice();
    signature[10]! ^= 0x04;
    return { ...sig, signature };
  });
  return { ...certificate, signatures };
}

function withBadStateRoot(block: SealedBlock): SealedBlock {
  const stateRoot = block.header.stateRoot.slice();
  stateRoot[0]! ^= 0xff;
  return sealBlock({ ...block, header: { ...block.header, stateRoot } });
}

async function expectStoppedAt(
  chain: GeneratedChain,
  source: PipelineInput[],
  code: string,
  lastGood: number,
  txVerifier = new TxVerifier(),
): Promise<void> {
  const ledger = await freshLedger(chain);
  try {
    const committed: number[] = [];
    const pipeline = new BlockPipeline(
      { onCommitted: (info) => committed.push(info.height) },
      { ledger, txVerifier },
    );
    await assert.rejects(pipeline.run(source), (err: unknown) => {
      assert.ok(isCivitasError(err), `expected a CivitasError, got ${String(err)}`);
      assert.equal(err.code, code);
      return true;
    });
    assert.deepEqual(
      committed,
      Array.from({ length: lastGood }, (_, i) => i + 1),
    );
    assert.equal(ledger.height, lastGood);
    assert.equal(await ledger.store.height(), lastGood);
    const stored = await ledger.store.getBlock(lastGood);
    assert.ok(equalBytes(stored!.encoded, chain.blocks[lastGood - 1]!.block));
    assert.equal(await ledger.store.getBlock(lastGood + 1), undefined);
  } finally {
    await ledger.close();
  }
}

describe('BlockPipeline', () => {
  let chain: GeneratedChain;

  before(async () => {
    chain = await generateChain({ txs: 480, blockSize: 40, txsPerSender: 6 });
  });

  after(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('commits a chain to the same state as validating block by block', async () => {
    const oneByOne = await freshLedger(chain);
    const piped = await freshLedger(chain);
    const pool = VerifyPool.create({ workers: 2, mainThreadBelow: 4, chunkSize: 16 });
    try {
      const roots: string[] = [];
      for (const b of chain.blocks) {
        const block = decodeBlock(b.block);
        const executed = await oneByOne.validateBlock(block, {
          verifySignatures: async (txs) =>
            txs.map((tx) => verifyNative(tx.signature, txSigningHash(tx), tx.sender)),
          checkSignature: verifyNative,
        });
        await oneByOne.commit(block, decodeCertificate(b.certificate), executed);
        roots.push(toHex(oneByOne.tip.stateRoot));
      }

      const txVerifier = new TxVerifier({ batch: pool });
      const committed: CommittedBlockInfo[] = [];
      const pipeline = new BlockPipeline(
        { onCommitted: (info) => committed.push(info) },
        { ledger: piped, txVerifier },
      );
      const result = await pipeline.run(inputs(chain));

      assert.equal(result.blocks, chain.blocks.length);
      assert.equal(result.txs, chain.txCount);
      assert.equal(result.height, chain.blocks.length);
      assert.deepEqual(
        committed.map((c) => c.height),
        chain.blocks.map((_, i) => i + 1),
      );
      // The ledger's stage timer reports the state-tree update of every block with txs.
      for (const c of committed) {
        assert.ok(c.times.stateTreeMs > 0, `block ${c.height}: no state-tree time`);
        assert.ok(c.times.executionMs >= 0, `block ${c.height}: negative execution time`);
      }
      assert.equal(toHex(piped.tip.hash), toHex(oneByOne.tip.hash));
      assert.equal(toHex(piped.tip.stateRoot), roots.at(-1));
      // Every historical root matches too, not only the last.
      for (let h = 1; h <= chain.blocks.length; h++) {
        const proofA = await proveAccount(piped, new Uint8Array(20), h);
        assert.equal(toHex(proofA.stateRoot), roots[h - 1]);
      }
      // Each signature verified exactly once, on the pool.
      assert.equal(txVerifier.misses, chain.txCount);
      assert.equal(txVerifier.hits, 0);
      assert.ok(pool.stats().itemsOnWorkers > 0);
    } finally {
      await pool.close();
      await oneByOne.close();
      await piped.close();
    }
  });

  it('checks signatures of the next blocks while the current one executes, within the bound', async () => {
    for (const lookAhead of [0, 1, 2]) {
      const ledger = await freshLedger(chain);
      try {
        const txVerifier = new TxVerifier();
        let pulled = 0;
        const gaps: number[] = [];
        const verifiedAhead: number[] = [];
        const source = function* () {
          for (const input of inputs(chain)) {
            pulled++;
            yield input;
          }
        };
        const pipeline = new BlockPipeline(
          {
            lookAhead,
            onCommitted: (info) => {
              gaps.push(pulled - info.height);
              // Txs whose signatures were submitted, beyond those of committed blocks.
              verifiedAhead.push(txVerifier.misses - info.height * 40);
            },
          },
          { ledger, txVerifier },
        );
        await pipeline.run(source());
        assert.equal(ledger.height, chain.blocks.length);
        assert.ok(Math.max(...gaps) <= lookAhead, `lookAhead ${lookAhead}: gaps ${gaps}`);
        // Before the last blocks, the window is full: overlap really happens.
        assert.equal(gaps[0], lookAhead);
        assert.equal(verifiedAhead[0], lookAhead * 40);
      } finally {
        await ledger.close();
      }
    }
  });

  it('stops at a block with a bad tx signature and keeps the last good block', async () => {
    const source = inputs(chain);
    source[5] = tampered(chain, 5, withBadSignature);
    await expectStoppedAt(chain, source, 'BLOCK_BAD_TX_SIGNATURE', 5);
  });

  it('stops at a bad signature found by the worker pool as well', async () => {
    const pool = VerifyPool.create({ workers: 2, mainThreadBelow: 4, chunkSize: 16 });
    try {
      const source = inputs(chain);
      source[6] = tampered(chain, 6, withBadSignature);
      await expectStoppedAt(
        chain,
        source,
        'BLOCK_BAD_TX_SIGNATURE',
        6,
        new TxVerifier({ batch: pool }),
      );
    } finally {
      await pool.close();
    }
  });

  it('stops at a block whose state root does not match re-execution', async () => {
    const source = inputs(chain);
    source[4] = tampered(chain, 4, withBadStateRoot);
    await expectStoppedAt(chain, source, 'BLOCK_BAD_STATE_ROOT', 4);
  });

  it('stops at a certificate that does not sign the block', async () => {
    const source = inputs(chain);
    source[3] = { block: source[3]!.block, certificate: source[4]!.certificate };
    await expectStoppedAt(chain, source, 'CERT_WRONG_HEIGHT', 3);
  });

  it('stops at a certificate with a forged signature', async () => {
    const source = inputs(chain);
    const certificate = decodeCertificate(source[3]!.certificate);
    source[3] = { block: source[3]!.block, certificate: encodeCertificate(forged(certificate)) };
    await expectStoppedAt(chain, source, 'CERT_BAD_SIGNATURE', 3);
  });

  it('stops at a forged last commit even after the parent certificate was verified', async () => {
    const source = inputs(chain);
    source[4] = tampered(chain, 4, (block) => {
      const lastCommit = forged(block.lastCommit!);
      const header = { ...block.header, lastCommitHash: lastCommitHashOf(lastCommit) };
      return sealBlock({ ...block, header, lastCommit });
    });
    await expectStoppedAt(chain, source, 'BLOCK_BAD_LAST_COMMIT', 4);
  });

  it('stops at bytes that do not decode, after committing the blocks before them', async () => {
    const source = inputs(chain);
    source[7] = { block: source[7]!.block.subarray(0, 100), certificate: source[7]!.certificate };
    await expectStoppedAt(chain, source, 'CODEC_TRUNCATED', 7);
  });

  it('stops at a block that does not follow the tip', async () => {
    const source = inputs(chain);
    source.splice(2, 1);
    await expectStoppedAt(chain, source, 'BLOCK_BAD_HEIGHT', 2);
  });

  it('reports a failing source after committing what it yielded', async () => {
    const ledger = await freshLedger(chain);
    try {
      const all = inputs(chain);
      const source = (async function* () {
        yield all[0]!;
        yield all[1]!;
        throw new Error('peer went away');
      })();
      await assert.rejects(
        new BlockPipeline({}, { ledger, txVerifier: new TxVerifier() }).run(source),
        /peer went away/,
      );
      assert.equal(ledger.height, 2);
    } finally {
      await ledger.close();
    }
  });

  it('skips blocks another committer committed meanwhile, and stops at a different block there', async () => {
    const direct = async (ledger: Ledger, index: number): Promise<void> => {
      const block = decodeBlock(chain.blocks[index]!.block);
      const executed = await ledger.validateBlock(block, {
        verifySignatures: async (txs) => txs.map(() => true),
        checkSignature: verifyNative,
      });
      await ledger.commit(block, decodeCertificate(chain.blocks[index]!.certificate), executed);
    };
    // While the pipeline commits block 2, "consensus" commits blocks 3 and 4 on the same
    // ledger: they are already in the pipeline's look-ahead window when their turn comes.
    const ledger = await freshLedger(chain);
    try {
      const committed: number[] = [];
      const pipeline = new BlockPipeline(
        { lookAhead: 2, onCommitted: (info) => committed.push(info.height) },
        {
          ledger,
          txVerifier: new TxVerifier(),
          commit: async (block, certificate, executed) => {
            await ledger.commit(block, certificate, executed);
            if (block.header.height === 2) {
              await direct(ledger, 2);
              await direct(ledger, 3);
            }
          },
        },
      );
      const result = await pipeline.run(inputs(chain));
      assert.equal(result.skipped, 2);
      assert.equal(result.blocks, chain.blocks.length - 2);
      assert.equal(result.height, chain.blocks.length);
      assert.deepEqual(
        committed,
        chain.blocks.map((_, i) => i + 1).filter((h) => h !== 3 && h !== 4),
      );
      assert.equal(toHex(ledger.tip.hash), toHex(decodeBlock(chain.blocks.at(-1)!.block).hash));
    } finally {
      await ledger.close();
    }

    // A different block at a height the ledger already holds is not skipped: it fails.
    const forked = await freshLedger(chain);
    try {
      const source = inputs(chain);
      source[2] = tampered(chain, 2, (b) =>
        sealBlock({ ...b, header: { ...b.header, timestamp: b.header.timestamp + 1 } }),
      );
      const pipeline = new BlockPipeline(
        {},
        {
          ledger: forked,
          txVerifier: new TxVerifier(),
          commit: async (block, certificate, executed) => {
            await forked.commit(block, certificate, executed);
            if (block.header.height === 2) await direct(forked, 2);
          },
        },
      );
      await assert.rejects(pipeline.run(source), (err: unknown) => {
        assert.ok(isCivitasError(err), `expected a CivitasError, got ${String(err)}`);
        assert.equal(err.code, 'BLOCK_BAD_HEIGHT');
        return true;
      });
      assert.equal(forked.height, 3);
      assert.equal(
        toHex(forked.tip.hash),
        toHex(decodeBlock(chain.blocks[2]!.block).hash),
        'the block committed directly stays',
      );
    } finally {
      await forked.close();
    }
  });

  it('takes the signing hash of a tx from its encoding (as the look-ahead does)', () => {
    for (const b of chain.blocks.slice(0, 3)) {
      const block = decodeBlock(b.block);
      block.txs.forEach((tx, i) => {
        assert.equal(
          toHex(txSigningHashOfEncoded(block.encodedTxs[i]!, tx)),
          toHex(txSigningHash(tx)),
        );
      });
    }
  });

  it('rejects a look-ahead outside 0..64', () => {
    const fakeModules = { ledger: {} as Ledger, txVerifier: new TxVerifier() };
    assert.throws(() => new BlockPipeline({ lookAhead: -1 }, fakeModules), /lookAhead/);
    assert.throws(() => new BlockPipeline({ lookAhead: 1.5 }, fakeModules), /lookAhead/);
    assert.throws(() => new BlockPipeline({ lookAhead: 65 }, fakeModules), /lookAhead/);
  });
});
