/**
 * The chain store's block commit on a real LevelDB: it writes through the root database with
 * each bucket's prefix in front of the key, and must leave exactly the records (keys and
 * values, byte for byte) that puts through the buckets' sublevels leave, so databases written
 * before and after read the same and every bucket reads its own records back.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { encodeCertificate } from '../../../src/chain/index.ts';
import { concatBytes, toHex, utf8 } from '../../../src/crypto/bytes.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { heightKey, historyKey, txLocationKey } from '../../../src/state/keys.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { type BlockCommit, ChainStore } from '../../../src/state/store.ts';
import { accountAddress, certify, makeTestChain, transferTx } from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

/** Every record of the root database, keys and values as hex, in key order. */
async function records(store: ChainStore): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const [k, v] of store.db.iterator()) out.push([toHex(k), toHex(v)]);
  return out;
}

/** The commit as puts and deletes through each bucket's sublevel (the reference layout). */
async function commitThroughSublevels(store: ChainStore, commit: BlockCommit): Promise<void> {
  const { block } = commit;
  const height = block.header.height;
  const hk = heightKey(height);
  const batch = store.db.batch();
  batch.put(hk, block.encoded, { sublevel: store.blocks });
  batch.put(block.hash, hk, { sublevel: store.hashes });
  batch.put(hk, encodeCertificate(commit.certificate), { sublevel: store.certs });
  for (let i = 0; i < block.txHashes.length; i++) {
    const loc = txLocationKey(height, i);
    batch.put(block.txHashes[i]!, loc, { sublevel: store.txs });
    batch.put(loc, commit.encodedReceipts[i]!, { sublevel: store.receipts });
  }
  for (const [k, v] of commit.treeNodes) batch.put(k, v, { sublevel: store.tree });
  for (const k of commit.staleNodes ?? []) {
    batch.put(concatBytes(hk, k), new Uint8Array(0), { sublevel: store.stale });
  }
  for (const [k, v] of commit.values) {
    if (v === null) batch.del(k, { sublevel: store.values });
    else batch.put(k, v, { sublevel: store.values });
  }
  for (const link of commit.history) {
    // The value's encoding is the store's own; the reference only needs the same key.
    batch.put(historyKey(link.keyHash, link.rev), new Uint8Array(0), {
      sublevel: store.historyIndex,
    });
  }
  batch.put(utf8.encode('height'), hk, { sublevel: store.meta });
  await batch.write({ sync: true });
}

describe('chain store', () => {
  test('commitBlock leaves the records puts through the sublevels leave', async (t) => {
    const base = await tempDir(t);
    const chain = makeTestChain({ validators: 4, accounts: 3, balance: 1_000n });
    const ledger = await Ledger.open(join(base, 'ledger'), chain.genesis, civitasStateMachine());
    t.after(() => ledger.close());
    const { block, executed } = await ledger.buildBlock({
      txs: [
        transferTx(chain, 0, accountAddress(chain, 1), 10n, 0),
        transferTx(chain, 1, accountAddress(chain, 2), 5n, 0),
      ],
      proposer: chain.validatorKeys[0]!.publicKey,
      lastCommit: null,
    });
    const certificate = certify(chain, block);
    // A deleted value and a history entry, which transfers alone do not produce.
    const gone = new Uint8Array(32).fill(7);
    const commit: BlockCommit = {
      block,
      certificate,
      encodedReceipts: executed.encodedReceipts,
      treeNodes: executed.treeNodes,
      // A stale-index entry, which a ledger that does not prune does not write.
      staleNodes: [executed.treeNodes[0]![0]],
      values: [...executed.values, [gone, null]],
      history: [{ keyHash: gone, rev: 3, txIndex: 1, opIndex: 0, action: null }],
    };
    assert.ok(executed.treeNodes.length > 0 && executed.values.length === 3);

    const direct = await ChainStore.open(join(base, 'direct'));
    t.after(() => direct.close());
    const reference = await ChainStore.open(join(base, 'reference'));
    t.after(() => reference.close());
    for (const store of [direct, reference]) await store.values.put(gone, utf8.encode('old'));
    await direct.commitBlock(commit);
    await commitThroughSublevels(reference, commit);

    const got = await records(direct);
    const want = await records(reference);
    // Same keys; same values except the history entry's, which the reference leaves empty.
    assert.deepEqual(
      got.map(([k]) => k),
      want.map(([k]) => k),
    );
    const historyPrefix = toHex(utf8.encode(direct.historyIndex.prefix));
    assert.equal(got.filter(([k]) => k.startsWith(historyPrefix)).length, 1);
    assert.deepEqual(
      got.filter(([k]) => !k.startsWith(historyPrefix)),
      want.filter(([k]) => !k.startsWith(historyPrefix)),
    );

    // Each bucket reads its own records back.
    assert.equal(await direct.height(), 1);
    assert.equal(toHex((await direct.getBlockBytes(1))!), toHex(block.encoded));
    assert.equal(await direct.getHeightOfHash(block.hash), 1);
    assert.equal(
      toHex((await direct.getCertificateBytes(1))!),
      toHex(encodeCertificate(certificate)),
    );
    assert.deepEqual(await direct.getTxLocation(block.txHashes[1]!), { height: 1, index: 1 });
    assert.deepEqual(
      (await direct.getReceiptBytes(1, 2)).map(toHex),
      executed.encodedReceipts.map(toHex),
    );
    const [keyHash, value] = executed.values[0]!;
    assert.equal(toHex((await direct.getValue(keyHash))!), toHex(value!));
    assert.equal(await direct.getValue(gone), undefined);
    const [nodeKey, nodeBytes] = executed.treeNodes[0]!;
    assert.equal(toHex((await direct.tree.get(nodeKey))!), toHex(nodeBytes));
    assert.deepEqual((await direct.stale.keys().all()).map(toHex), [
      toHex(concatBytes(heightKey(1), nodeKey)),
    ]);
    assert.deepEqual(await direct.history(gone), [
      { rev: 3, height: 1, txIndex: 1, opIndex: 0, action: null, txHash: block.txHashes[1] },
    ]);
    // The tx-index check (root hasMany with the bucket prefix) sees exactly the committed txs,
    // not a key of the same bytes in another bucket.
    const stranger = new Uint8Array(32).fill(9);
    await direct.values.put(stranger, utf8.encode('not a tx'));
    assert.deepEqual(await direct.hasTxs([block.txHashes[1]!, stranger, block.txHashes[0]!]), [
      true,
      false,
      true,
    ]);
    assert.deepEqual(await direct.hasTxs([]), []);
    assert.deepEqual(await reference.hasTxs([stranger, block.txHashes[0]!]), [false, true]);
  });
});

test('a database held by another open store is STORE_IN_USE, one line, not a LevelDB error', async (t) => {
  const dir = join(await tempDir(t), 'db');
  const first = await ChainStore.open(dir);
  t.after(() => first.close());
  await assert.rejects(ChainStore.open(dir), (err: unknown) => {
    assert.ok(isCivitasError(err, 'STORE_IN_USE'), String(err));
    assert.match((err as Error).message, /in use by another process/);
    return true;
  });
});
