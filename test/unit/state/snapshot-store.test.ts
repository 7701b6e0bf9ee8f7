/**
 * Snapshots a ledger takes as it commits (snapshot-store.ts), on LevelDB: one every
 * `interval` heights, the newest `kept` kept, each verifying against its block's state root
 * chunk by chunk; a snapshot a stop cut short is removed at the next start; the pruner keeps
 * the version a snapshot being written reads; the settings are checked.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { concatBytes } from '../../../src/crypto/bytes.ts';
import { codeOf } from '../../../src/errors/index.ts';
import { heightKey } from '../../../src/state/keys.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { Pruner } from '../../../src/state/pruner.ts';
import { verifyChunk, verifyManifest } from '../../../src/state/snapshot.ts';
import {
  readSnapshotChunk,
  readSnapshotManifest,
  snapshotOptionsProblem,
  storedSnapshots,
} from '../../../src/state/snapshot-store.ts';
import { ChainStore } from '../../../src/state/store.ts';
import { accountAddress, commitNext, makeTestChain, transferTx } from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

describe('snapshots taken by the ledger', () => {
  test('every interval, the newest kept, each verifying against its block', async (t) => {
    const dir = join(await tempDir(t, 'civitas-snapshots-'), 'db');
    const chain = makeTestChain({ accounts: 40 });
    const opts = {
      snapshots: { interval: 2, kept: 2, maxChunkBytes: 512 },
      pruning: { keepVersions: 2, retainBlocks: null },
    };
    let ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine(), opts);
    for (let h = 1; h <= 7; h++) {
      await commitNext(ledger, chain, [
        transferTx(chain, h, accountAddress(chain, h + 1), 3n, 0, { expiryHeight: 50 }),
      ]);
      // One snapshot at a time: a due height is skipped while one runs, so let each finish.
      await ledger.snapshotsSettled();
    }
    await ledger.pruningSettled();
    assert.deepEqual(await storedSnapshots(ledger.store), [4, 6]);
    for (const height of [4, 6]) {
      const { manifest } = await readSnapshotManifest(ledger.store, height);
      const block = (await ledger.store.getBlock(height))!;
      const verified = verifyManifest(manifest, {
        chainId: chain.genesis.chainId,
        height,
        stateRoot: block.header.stateRoot,
      });
      assert.ok(manifest.chunks.length > 1, 'several chunks');
      for (let i = 0; i < manifest.chunks.length; i++) {
        verifyChunk(verified, i, await readSnapshotChunk(ledger.store, height, i));
      }
    }
    assert.equal(
      codeOf(await readSnapshotManifest(ledger.store, 2).catch((e) => e)),
      'SNAPSHOT_NOT_FOUND',
    );
    assert.equal(
      codeOf(await readSnapshotChunk(ledger.store, 6, 999).catch((e) => e)),
      'SNAPSHOT_NOT_FOUND',
    );

    // A snapshot cut short (chunks, no manifest) is gone after a restart.
    await ledger.store.snapshots.put(
      concatBytes(heightKey(8), Uint8Array.of(1, 0, 0, 0, 0)),
      Uint8Array.of(1, 0),
    );
    await ledger.close();
    ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine(), opts);
    t.after(() => ledger.close());
    await ledger.snapshotsSettled();
    const heights = new Set<number>();
    for await (const key of ledger.store.snapshots.keys()) heights.add(Number(key[7]));
    assert.deepEqual([...heights].sort(), [4, 6]);
  });

  test('a pruned node keeps the blocks a joiner fetches below its snapshots', async (t) => {
    const dir = join(await tempDir(t, 'civitas-snapshots-'), 'db');
    const chain = makeTestChain({ accounts: 2 });
    const ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine(), {
      snapshots: { interval: 80, kept: 1 },
      pruning: { keepVersions: 64, retainBlocks: 64 },
    });
    t.after(() => ledger.close());
    for (let h = 1; h <= 150; h++) {
      await commitNext(ledger, chain, []);
      await ledger.snapshotsSettled();
    }
    await ledger.pruningSettled();
    assert.deepEqual(await storedSnapshots(ledger.store), [80]);
    for (const h of [17, 50, 80, 87, 150]) assert.ok(await ledger.store.getBlock(h), `block ${h}`);
    for (const h of [16, 81, 86]) {
      assert.equal(
        codeOf(await ledger.store.getBlock(h).catch((e) => e)),
        'LEDGER_BLOCK_PRUNED',
        `${h}`,
      );
    }
  });

  test('the pruner keeps the version a snapshot reads', async (t) => {
    const store = await ChainStore.open(join(await tempDir(t, 'civitas-snapshots-'), 'db'));
    t.after(() => store.close());
    let held: number | undefined = 3;
    const pruner = new Pruner(
      { keepVersions: 2, retainBlocks: null, minRetainBlocks: 64 },
      { store, keepHeights: () => new Set(), holdVersion: () => held },
    );
    await pruner.step(10);
    assert.equal(store.retainedFrom().stateFrom, 3);
    held = undefined;
    await pruner.step(10);
    assert.equal(store.retainedFrom().stateFrom, 9);
  });

  test('settings', () => {
    assert.equal(snapshotOptionsProblem({ interval: 0, kept: 1 }), undefined);
    assert.match(snapshotOptionsProblem({ interval: -1, kept: 1 }) ?? '', /snapshotInterval/);
    assert.match(snapshotOptionsProblem({ interval: 10, kept: 0 }) ?? '', /snapshotsKept/);
    assert.match(snapshotOptionsProblem({ interval: 1.5, kept: 2 }) ?? '', /snapshotInterval/);
  });
});
