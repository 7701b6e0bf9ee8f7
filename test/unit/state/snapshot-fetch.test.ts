/**
 * Fetching a state snapshot over the sync protocol (kinds 5 and 6, src/node/block-sync.ts;
 * src/node/snapshot-fetch.ts): real BlockSync servers over an in-memory link serve a real
 * ledger's stored snapshot; one peer corrupts every chunk it sends, one has none. The joiner
 * takes the offered manifest, checks it against the certified header's root, fetches the
 * chunks from all three, drops the bad peers, and the import opens as a ledger with the
 * source's root. With only bad peers the fetch fails with SNAPSHOT_BAD_CHUNK.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { codeOf } from '../../../src/errors/index.ts';
import type { SnapshotSource, SyncNetwork } from '../../../src/node/block-sync.ts';
import { fetchSnapshotChunks, snapshotOffers } from '../../../src/node/snapshot-fetch.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { verifyManifest } from '../../../src/state/snapshot.ts';
import { SnapshotImport } from '../../../src/state/snapshot-import.ts';
import { servedChunk, servedManifest } from '../../../src/state/snapshot-store.ts';
import { ChainStore } from '../../../src/state/store.ts';
import { accountAddress, commitNext, makeTestChain, transferTx } from '../../helpers/chain.ts';
import { NO_CHAIN, syncServers } from '../../helpers/sync-servers.ts';
import { tempDir } from '../../helpers/temp.ts';

/** Peers by name, each a real BlockSync serving `source`; requests reach them in a later turn. */
function network(sources: Record<string, SnapshotSource>): Pick<SyncNetwork, 'requestSync'> {
  return syncServers(
    Object.fromEntries(
      Object.entries(sources).map(([name, snapshots]) => [name, { chain: NO_CHAIN, snapshots }]),
    ),
    () => new Promise((resolve) => setTimeout(resolve, 1)),
  );
}

describe('state snapshots over the sync protocol', () => {
  test('fetched from several peers, bad ones dropped, imported whole', async (t) => {
    const dir = await tempDir(t, 'civitas-snapshot-fetch-');
    const chain = makeTestChain({ accounts: 60, params: { maxTxLifetime: 100 } });
    const source = await Ledger.open(join(dir, 'source'), chain.genesis, civitasStateMachine(), {
      snapshots: { interval: 3, kept: 1, maxChunkBytes: 512 },
    });
    t.after(() => source.close());
    for (let h = 1; h <= 4; h++) {
      await commitNext(source, chain, [
        transferTx(chain, h, accountAddress(chain, h + 1), 2n, 0, { expiryHeight: 50 }),
      ]);
      await source.snapshotsSettled();
    }
    const honest: SnapshotSource = {
      manifest: (at) => servedManifest(source.store, at),
      chunk: (h, i) => servedChunk(source.store, h, i),
    };
    const liar: SnapshotSource = {
      manifest: honest.manifest,
      chunk: async (h, i) => {
        const bytes = (await honest.chunk(h, i))!.slice();
        bytes[bytes.length - 1]! ^= 1;
        return bytes;
      },
    };
    const empty: SnapshotSource = {
      manifest: async () => undefined,
      chunk: async () => undefined,
    };
    const p2p = network({ honest, liar, empty });

    const offers = await snapshotOffers(p2p, ['empty', 'liar', 'honest'], { timeoutMs: 1_000 });
    assert.deepEqual(offers.map((o) => o.peer).sort(), ['honest', 'liar']);
    const { manifest } = offers[0]!;
    assert.equal(manifest.height, 3);
    // The root is taken from the certified header of 3, never from the peer.
    const block3 = (await source.store.getBlock(3))!;
    const verified = verifyManifest(manifest, {
      chainId: chain.genesis.chainId,
      height: 3,
      stateRoot: block3.header.stateRoot,
    });
    assert.ok(manifest.chunks.length > 4, `several chunks (${manifest.chunks.length})`);

    const store = await ChainStore.open(join(dir, 'joiner'));
    const importing = await SnapshotImport.begin(store, verified);
    const stats = await fetchSnapshotChunks(p2p, ['liar', 'empty', 'honest'], importing, {
      height: 3,
      timeoutMs: 1_000,
      parallel: 3,
    });
    assert.deepEqual(importing.missing(), []);
    assert.deepEqual(stats.dropped.map((d) => `${d.peer}:${d.code}`).sort(), [
      'empty:SNAPSHOT_NOT_FOUND',
      'liar:SNAPSHOT_BAD_CHUNK',
    ]);
    assert.ok(stats.bytes >= manifest.chunks.reduce((n, c) => n + c.byteLength, 0));
    const blocks = [];
    for (let h = 1; h <= 3; h++) {
      blocks.push({
        block: (await source.store.getBlock(h))!,
        certificate: (await source.store.getCertificate(h))!,
      });
    }
    await importing.complete({
      genesisHash: source.genesisHash,
      blocks,
      txIndex: [],
      validatorChanges: [],
    });
    await store.close();
    const synced = await Ledger.open(join(dir, 'joiner'), chain.genesis, civitasStateMachine());
    t.after(() => synced.close());
    assert.equal(synced.height, 3);
    assert.equal(toHex(synced.tip.stateRoot), toHex(block3.header.stateRoot));

    // Only bad peers: the chunk has nowhere to come from.
    const again = await ChainStore.open(join(dir, 'joiner-2'));
    t.after(() => again.close());
    const second = await SnapshotImport.begin(again, verified);
    const failure = await fetchSnapshotChunks(p2p, ['liar', 'empty'], second, {
      height: 3,
      timeoutMs: 1_000,
    }).catch((err: unknown) => err);
    assert.equal(codeOf(failure), 'SNAPSHOT_BAD_CHUNK');
  });
});
