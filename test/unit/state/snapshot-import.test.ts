/**
 * A state snapshot imported into a fresh LevelDB (snapshot-import.ts), from a real ledger:
 * the synced database opens as a ledger at the snapshot's height with the same state root,
 * proves state there, and validates and commits the next block to the same root as the
 * source. An import interrupted between chunks leaves a database the ledger refuses
 * (SNAPSHOT_IMPORT_INCOMPLETE) and that a new import completes; a bad chunk is refused and
 * the import goes on with a good one; a database with blocks is refused. The import records
 * the snapshot's height (`synced-from`) and where the tx index starts (`txs-from`): what
 * GET /status reports, read back after a restart and after the next commit.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { accountStateKey } from '../../../src/app/bank/account.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { type CommitCertificate, type SealedBlock, TxVerifier } from '../../../src/chain/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { verifyNative } from '../../../src/crypto/ed25519.ts';
import { codeOf } from '../../../src/errors/index.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { LevelNodeReader, verifyStateProof } from '../../../src/state/smt/index.ts';
import { createSnapshot, verifyManifest } from '../../../src/state/snapshot.ts';
import { type ImportedChain, SnapshotImport } from '../../../src/state/snapshot-import.ts';
import { ChainStore } from '../../../src/state/store.ts';
import {
  accountAddress,
  commitNext,
  makeTestChain,
  type TestChain,
  transferTx,
} from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

const ACCOUNTS = 120;

async function rejects(run: () => Promise<unknown>, code: string): Promise<void> {
  let got: string | undefined;
  try {
    await run();
  } catch (err) {
    got = codeOf(err);
  }
  assert.equal(got, code);
}

/** A source ledger with a few blocks of transfers, and what a joiner fetches from it. */
async function sourceChain(dir: string, chain: TestChain) {
  const source = await Ledger.open(join(dir, 'source'), chain.genesis, civitasStateMachine());
  for (let h = 0; h < 5; h++) {
    const txs = Array.from({ length: 10 }, (_, i) =>
      transferTx(chain, h * 10 + i, accountAddress(chain, (h * 10 + i + 1) % ACCOUNTS), 5n, 0, {
        expiryHeight: 100,
      }),
    );
    await commitNext(source, chain, txs);
  }
  const height = source.height;
  const chunks: Uint8Array[] = [];
  const manifest = await createSnapshot(
    new LevelNodeReader(source.store.tree),
    { chainId: chain.genesis.chainId, height, stateRoot: source.tip.stateRoot },
    async (i, bytes) => {
      chunks[i] = bytes;
    },
    { maxChunkBytes: 1024 },
  );
  const blocks: Array<{ block: SealedBlock; certificate: CommitCertificate }> = [];
  for (let h = 1; h <= height; h++) {
    blocks.push({
      block: (await source.store.getBlock(h))!,
      certificate: (await source.store.getCertificate(h))!,
    });
  }
  const fetched: ImportedChain = {
    genesisHash: source.genesisHash,
    blocks,
    txIndex: [],
    validatorChanges: [],
  };
  return { source, manifest, chunks, fetched };
}

describe('state snapshot import on LevelDB', () => {
  test('round trip: the synced ledger proves state and follows the chain', async (t) => {
    const dir = await tempDir(t, 'civitas-snapshot-');
    const chain = makeTestChain({ accounts: ACCOUNTS, params: { maxTxLifetime: 1000 } });
    const { source, manifest, chunks, fetched } = await sourceChain(dir, chain);
    t.after(() => source.close());
    assert.ok(chunks.length > 3, `several chunks (${chunks.length})`);
    const trusted = {
      chainId: chain.genesis.chainId,
      height: source.height,
      stateRoot: source.tip.stateRoot,
    };
    const verified = verifyManifest(manifest, trusted);

    // A fresh node opened once (genesis written), then importing: the genesis state goes.
    const joinDir = join(dir, 'joiner');
    await (await Ledger.open(joinDir, chain.genesis, civitasStateMachine())).close();
    const store = await ChainStore.open(joinDir);
    const importing = await SnapshotImport.begin(store, verified);
    // Interrupted after two chunks, one of them first refused as damaged.
    const bad = chunks[1]!.slice();
    bad[bad.length - 1]! ^= 0x40;
    await rejects(() => importing.addChunk(1, bad), 'SNAPSHOT_BAD_CHUNK');
    await importing.addChunk(1, chunks[1]!);
    await importing.addChunk(0, chunks[0]!);
    await rejects(() => importing.complete(fetched), 'SNAPSHOT_BAD_CHUNK');
    await store.close();
    await rejects(
      () => Ledger.open(joinDir, chain.genesis, civitasStateMachine()),
      'SNAPSHOT_IMPORT_INCOMPLETE',
    );

    // A new import starts over and completes, chunks in reverse order.
    const again = await ChainStore.open(joinDir);
    const resumed = await SnapshotImport.begin(again, verified);
    for (let i = chunks.length - 1; i >= 0; i--) await resumed.addChunk(i, chunks[i]!);
    await resumed.complete(fetched);
    await again.close();

    const synced = await Ledger.open(joinDir, chain.genesis, civitasStateMachine());
    t.after(() => synced.close());
    assert.equal(synced.height, source.height);
    assert.equal(toHex(synced.tip.stateRoot), toHex(source.tip.stateRoot));
    for (const i of [0, 7, ACCOUNTS - 1]) {
      const key = accountStateKey(accountAddress(chain, i));
      const mine = await synced.prove(key);
      const theirs = await source.prove(key);
      assert.ok(mine.value !== undefined);
      assert.equal(toHex(mine.value), toHex(theirs.value!));
      assert.ok(verifyStateProof(source.tip.stateRoot, mine.keyHash, mine.value, mine.proof));
    }
    // Below the snapshot: pruned, with the codes a pruned node answers.
    await rejects(
      async () => synced.prove(new Uint8Array([1]), source.height - 1),
      'STATE_VERSION_PRUNED',
    );
    await rejects(async () => synced.store.getReceipts(1, 10), 'LEDGER_BLOCK_PRUNED');

    // The next block: built by the source, validated and committed by the synced ledger.
    const txs = [transferTx(chain, 60, accountAddress(chain, 61), 1n, 0, { expiryHeight: 100 })];
    const { block, certificate } = await commitNext(source, chain, txs);
    const verifier = new TxVerifier();
    const executed = await synced.validateBlock(block, {
      verifySignatures: (x, h) => verifier.verify(x, h),
      checkSignature: verifyNative,
    });
    await synced.commit(block, certificate, executed);
    assert.equal(toHex(synced.tip.stateRoot), toHex(source.tip.stateRoot));
    // Where it joined stays recorded as it follows the chain (every block from height 1 was
    // handed over: the tx index is whole).
    assert.equal(synced.store.syncedFrom(), source.height - 1);
    assert.deepEqual(synced.store.retainedFrom(), {
      stateFrom: source.height - 1,
      blocksFrom: source.height,
      txsFrom: 0,
      historyFrom: source.height,
    });
    // A tx the window's index holds is refused again, as on the source.
    const replay = (await source.store.getBlock(3))!.txs;
    await rejects(
      () =>
        synced.buildBlock({
          txs: replay,
          proposer: chain.validatorKeys[0]!.publicKey,
          lastCommit: certificate,
        }),
      'BLOCK_TX_ALREADY_COMMITTED',
    );
  });

  test('the import records where the node joined and its indexes start; a reopen reads it', async (t) => {
    const dir = await tempDir(t, 'civitas-snapshot-');
    const chain = makeTestChain({ accounts: ACCOUNTS, params: { maxTxLifetime: 1000 } });
    const { source, manifest, chunks, fetched } = await sourceChain(dir, chain);
    t.after(() => source.close());
    const S = source.height;
    // A node that replayed holds everything and joined by nothing.
    assert.equal(source.store.syncedFrom(), undefined);
    assert.deepEqual(source.store.retainedFrom(), {
      stateFrom: 0,
      blocksFrom: 0,
      txsFrom: 0,
      historyFrom: 0,
    });

    const joinDir = join(dir, 'joiner');
    const store = await ChainStore.open(joinDir);
    const importing = await SnapshotImport.begin(
      store,
      verifyManifest(manifest, {
        chainId: chain.genesis.chainId,
        height: S,
        stateRoot: source.tip.stateRoot,
      }),
    );
    for (let i = 0; i < chunks.length; i++) await importing.addChunk(i, chunks[i]!);
    assert.equal(store.syncedFrom(), undefined, 'nothing recorded before the last batch');
    // As a joiner fetches them: blocks 3..S whole, and the tx hashes of height 2 alone.
    await importing.complete({
      ...fetched,
      blocks: fetched.blocks.slice(2),
      txIndex: [{ height: 2, txHashes: fetched.blocks[1]!.block.txHashes }],
    });
    const expected = { stateFrom: S, blocksFrom: S + 1, txsFrom: 2, historyFrom: S + 1 };
    assert.equal(store.syncedFrom(), S);
    assert.deepEqual(store.retainedFrom(), expected);
    await store.close();

    // What GET /status reads after a restart.
    const reopened = await ChainStore.open(joinDir);
    t.after(() => reopened.close());
    assert.equal(await reopened.height(), S);
    assert.equal(reopened.syncedFrom(), S);
    assert.deepEqual(reopened.retainedFrom(), expected);
    // The tx index holds heights 2..S, not height 1.
    assert.deepEqual(await reopened.getTxLocation(fetched.blocks[1]!.block.txHashes[3]!), {
      height: 2,
      index: 3,
    });
    assert.equal(await reopened.getTxLocation(fetched.blocks[0]!.block.txHashes[0]!), undefined);
  });

  test('a database with blocks is not imported into', async (t) => {
    const dir = await tempDir(t, 'civitas-snapshot-');
    const chain = makeTestChain({ accounts: ACCOUNTS });
    const { source, manifest } = await sourceChain(dir, chain);
    const verified = verifyManifest(manifest, {
      chainId: chain.genesis.chainId,
      height: source.height,
      stateRoot: source.tip.stateRoot,
    });
    await source.close();
    const store = await ChainStore.open(join(dir, 'source'));
    t.after(() => store.close());
    await rejects(() => SnapshotImport.begin(store, verified), 'SNAPSHOT_NOT_EMPTY');
  });
});
