/**
 * A node joining by state sync (src/node/state-sync.ts) from real ledgers served by real
 * BlockSync handlers over an in-memory link: 4 validators, maxTxLifetime 100, a snapshot at
 * 120 of 150 heights. A forger on the same genesis offers a higher snapshot whose blocks are
 * certified by keys that are not the validators': refused (STATE_SYNC_UNVERIFIED), and its
 * chunks of the honest snapshot are refused too. The joiner lands at 120 with the certified
 * root, proves state there, refuses a tx of the lifetime window again, and follows the chain
 * to 150 with the source's roots. A source that prunes blocks (retainBlocks 64) keeps the
 * lifetime window of its snapshot and serves a joiner alone. A chain without maxTxLifetime
 * cannot state-sync.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { accountStateKey } from '../../../src/app/bank/account.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { type Tx, TxVerifier } from '../../../src/chain/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { generateKeyPair, verifyNative } from '../../../src/crypto/ed25519.ts';
import { codeOf } from '../../../src/errors/index.ts';
import { stateSync, stateSyncSource } from '../../../src/node/state-sync.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { verifyStateProof } from '../../../src/state/smt/index.ts';
import { decodeManifest } from '../../../src/state/snapshot.ts';
import { ChainStore } from '../../../src/state/store.ts';
import {
  accountAddress,
  commitNext,
  makeTestChain,
  type TestChain,
  transferTx,
} from '../../helpers/chain.ts';
import { ledgerSyncServers } from '../../helpers/sync-servers.ts';
import { tempDir } from '../../helpers/temp.ts';

const ACCOUNTS = 40;

/** Commits up to `height` on `ledger`, one transfer a block, certified by `chain`'s keys. */
async function grow(ledger: Ledger, chain: TestChain, height: number, txsOf: Tx[][]) {
  while (ledger.height < height) {
    const h = ledger.height + 1;
    const from = h % ACCOUNTS;
    const nonce = Math.floor((h - 1) / ACCOUNTS);
    const tx = transferTx(chain, from, accountAddress(chain, (from + 1) % ACCOUNTS), 1n, nonce, {
      expiryHeight: h + 50,
    });
    txsOf[h] = [tx];
    await commitNext(ledger, chain, [tx]);
    await ledger.snapshotsSettled();
  }
}

describe('state sync from peers', () => {
  test('joins at the certified snapshot, refuses a forger, follows the chain', async (t) => {
    const dir = await tempDir(t, 'civitas-state-sync-');
    const chain = makeTestChain({
      validators: 4,
      accounts: ACCOUNTS,
      params: { maxTxLifetime: 100 },
    });
    const snapshots = { interval: 120, kept: 1, maxChunkBytes: 512 };
    const source = await Ledger.open(join(dir, 'source'), chain.genesis, civitasStateMachine(), {
      snapshots,
    });
    t.after(() => source.close());
    const txsOf: Tx[][] = [];
    await grow(source, chain, 150, txsOf);
    // Same genesis, but its "certificates" are signed by four strangers' keys.
    const forgerChain = {
      ...chain,
      validatorKeys: chain.validatorKeys.map(() => generateKeyPair()),
    };
    const forger = await Ledger.open(join(dir, 'forger'), chain.genesis, civitasStateMachine(), {
      snapshots: { ...snapshots, interval: 130 },
    });
    t.after(() => forger.close());
    await grow(forger, forgerChain, 131, []);

    const p2p = ledgerSyncServers({ source, forger });
    const store = await ChainStore.open(join(dir, 'joiner'));
    const result = await stateSync(
      { p2p, store, check: verifyNative },
      chain.genesis,
      ['forger', 'source'],
      { timeoutMs: 2_000 },
    );
    await store.close();
    assert.equal(result.height, 120);
    assert.equal(result.peer, 'source');
    assert.deepEqual(
      result.refused.map((r) => [r.peer, codeOf(r.error)]),
      [['forger', 'STATE_SYNC_UNVERIFIED']],
    );
    assert.ok(result.bytes > 0);

    // It takes snapshots of its own (every 10 heights, the last 3 kept).
    const synced = await Ledger.open(join(dir, 'joiner'), chain.genesis, civitasStateMachine(), {
      snapshots: { interval: 10, kept: 3, maxChunkBytes: 512 },
    });
    t.after(() => synced.close());
    const block120 = (await source.store.getBlock(120))!;
    assert.equal(toHex(synced.tip.stateRoot), toHex(block120.header.stateRoot));
    const key = accountStateKey(accountAddress(chain, 3));
    const proven = await synced.prove(key);
    assert.ok(
      verifyStateProof(block120.header.stateRoot, proven.keyHash, proven.value, proven.proof),
    );

    // The lifetime window's index came along: a tx of block 30 (expiry 80) is refused again
    // in a block at 121 on the synced node, as on a full node. (Below the window it would
    // have expired.)
    const replayed = txsOf[30]!;
    assert.equal(
      codeOf(
        await synced
          .buildBlock({
            txs: replayed,
            proposer: chain.validatorKeys[0]!.publicKey,
            lastCommit: synced.tip.certificate,
          })
          .catch((e) => e),
      ),
      'BLOCK_TX_ALREADY_COMMITTED',
    );

    // Block sync from 121: every block validates and commits to the source's root.
    const verifier = new TxVerifier();
    const follow = async (to: number) => {
      for (let h = synced.height + 1; h <= to; h++) {
        const block = (await source.store.getBlock(h))!;
        const executed = await synced.validateBlock(block, {
          verifySignatures: (x, hashes) => verifier.verify(x, hashes),
          checkSignature: verifyNative,
        });
        await synced.commit(block, (await source.store.getCertificate(h))!, executed);
        await synced.snapshotsSettled();
        assert.equal(toHex(synced.tip.stateRoot), toHex(block.header.stateRoot), `root at ${h}`);
      }
    };
    await follow(150);

    // What it offers the next joiner: only snapshots whose blocks it holds. It holds blocks
    // from 120 − 63 = 57, and a joiner from the snapshot of h fetches the window's blocks
    // from h − 99: its snapshots of 130..150 are not offered; from 160 on they are.
    const offered = stateSyncSource(synced);
    assert.equal(await offered.manifest(0), undefined, 'snapshots of 130, 140, 150: none');
    await grow(source, chain, 170, txsOf);
    await follow(170);
    const heightOf = async (atOrBelow: number) => {
      const bytes = await offered.manifest(atOrBelow);
      return bytes === undefined ? undefined : decodeManifest(bytes).height;
    };
    assert.equal(await heightOf(0), 170);
    assert.equal(await heightOf(165), 160);
    assert.equal(await heightOf(155), undefined, 'the kept snapshot of 150 is not offered');
    // The source replayed from the genesis: it offers what it holds.
    assert.equal(decodeManifest((await stateSyncSource(source).manifest(0))!).height, 120);
  });

  test('a pruned source keeps the lifetime window of its snapshot and serves a joiner', async (t) => {
    const dir = await tempDir(t, 'civitas-state-sync-');
    const chain = makeTestChain({
      validators: 4,
      accounts: ACCOUNTS,
      params: { maxTxLifetime: 100 },
    });
    // retainBlocks 64 alone would delete blocks 1..86 at 150, 21..56 among them: the tx
    // hashes (kind 8) of the snapshot at 120's window, 21..120.
    const source = await Ledger.open(join(dir, 'source'), chain.genesis, civitasStateMachine(), {
      snapshots: { interval: 120, kept: 1, maxChunkBytes: 512 },
      pruning: { keepVersions: 64, retainBlocks: 64 },
    });
    t.after(() => source.close());
    await grow(source, chain, 150, []);
    await source.pruningSettled();
    assert.equal(source.pruningStats().blocksFrom, 21);
    await assert.rejects(source.store.getBlock(20), (e) => codeOf(e) === 'LEDGER_BLOCK_PRUNED');

    const store = await ChainStore.open(join(dir, 'joiner'));
    const result = await stateSync(
      { p2p: ledgerSyncServers({ source }), store, check: verifyNative },
      chain.genesis,
      ['source'],
      { timeoutMs: 2_000 },
    );
    await store.close();
    assert.equal(result.height, 120);
    assert.deepEqual(result.refused, []);
    const synced = await Ledger.open(join(dir, 'joiner'), chain.genesis, civitasStateMachine());
    t.after(() => synced.close());
    assert.equal(synced.store.retainedFrom().txsFrom, 21);
  });

  test('only the forger: STATE_SYNC_UNVERIFIED; no lifetime: STATE_SYNC_UNSUPPORTED', async (t) => {
    const dir = await tempDir(t, 'civitas-state-sync-');
    const chain = makeTestChain({
      validators: 4,
      accounts: ACCOUNTS,
      params: { maxTxLifetime: 100 },
    });
    const forgerChain = {
      ...chain,
      validatorKeys: chain.validatorKeys.map(() => generateKeyPair()),
    };
    const forger = await Ledger.open(join(dir, 'forger'), chain.genesis, civitasStateMachine(), {
      snapshots: { interval: 10, kept: 1 },
    });
    t.after(() => forger.close());
    await grow(forger, forgerChain, 10, []);
    const store = await ChainStore.open(join(dir, 'joiner'));
    t.after(() => store.close());
    const deps = { p2p: ledgerSyncServers({ forger }), store, check: verifyNative };
    const failure = await stateSync(deps, chain.genesis, ['forger'], { timeoutMs: 2_000 }).catch(
      (e) => e,
    );
    assert.equal(codeOf(failure), 'STATE_SYNC_UNVERIFIED');
    const unbounded = makeTestChain();
    const refused = await stateSync(deps, unbounded.genesis, ['forger'], {
      timeoutMs: 2_000,
    }).catch((e) => e);
    assert.equal(codeOf(refused), 'STATE_SYNC_UNSUPPORTED');
  });
});
