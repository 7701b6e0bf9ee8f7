/**
 * Pruning on a real LevelDB (pruner.ts). A chain whose blocks carry transfers and, from a
 * test state machine, writes and deletes of a pool of keys, committed block by block to a
 * pruned ledger and to an archive ledger side by side. Then: every proof at a kept height
 * verifies and matches the archive's, heights below answer STATE_VERSION_PRUNED naming the
 * lowest kept one, the tree holds exactly the nodes the kept versions reach (fewer than the
 * archive's), and the settings survive a reopen. Pruning stopped between chunks (the database
 * closed) resumes where it was. Block pruning deletes blocks, certificates and receipts below
 * the window (LEDGER_BLOCK_PRUNED), keeps the tx index (a committed tx stays committed) and
 * the heights it is told to keep.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { accountStateKey } from '../../../src/app/bank/account.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import type { SealedBlock, Tx } from '../../../src/chain/index.ts';
import { toHex, utf8 } from '../../../src/crypto/bytes.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/node/config.ts';
import { heightKey, readHeightKey } from '../../../src/state/keys.ts';
import { Ledger, type LedgerOptions, type StateMachine } from '../../../src/state/ledger.ts';
import { Pruner } from '../../../src/state/pruner.ts';
import { LevelNodeReader, verifyStateProof } from '../../../src/state/smt/index.ts';
import { ChainStore } from '../../../src/state/store.ts';
import {
  accountAddress,
  commitNext,
  makeTestChain,
  plainValidation,
  type TestChain,
  transferTx,
} from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';
import { reachableNodes } from '../../helpers/tree-nodes.ts';

const POOL = Array.from({ length: 16 }, (_, i) => utf8.encode(`churn/${i}`));

/**
 * The application, plus at each height a few writes and deletes of POOL keys chosen from the
 * height (the application itself never deletes a key; the tree must prune deletes too).
 */
function churningMachine(): StateMachine {
  const app = civitasStateMachine();
  return {
    genesisValues: (genesis) => [...app.genesisValues(genesis), [POOL[0]!, Uint8Array.of(0)]],
    async execute(txs, txHashes, height, read, chain) {
      const result = await app.execute(txs, txHashes, height, read, chain);
      const changes = [...result.changes];
      for (let i = 0; i < 3; i++) {
        const key = POOL[(height * 7 + i * 5) % POOL.length]!;
        const value = (height + i) % 3 === 0 ? null : Uint8Array.of(height & 0xff, i);
        // A delete: the tree and the store take null; the interface just never asks for it.
        changes.push({ key, value: value as Uint8Array });
      }
      return { ...result, changes };
    },
  };
}

const PROVEN_KEYS = (chain: TestChain) => [
  ...POOL,
  accountStateKey(accountAddress(chain, 0)),
  accountStateKey(accountAddress(chain, 1)),
];

/**
 * Builds `blocks` blocks on `ledger` (a transfer from account 0 in every other one, nonces
 * from `nonce`), committing each to `follower` too; returns them with their state roots.
 */
async function grow(
  ledger: Ledger,
  chain: TestChain,
  blocks: number,
  opts: { follower?: Ledger; nonce?: number } = {},
): Promise<Array<{ block: SealedBlock; root: Uint8Array }>> {
  const out: Array<{ block: SealedBlock; root: Uint8Array }> = [];
  const follower = opts.follower;
  let nonce = opts.nonce ?? 0;
  for (let i = 0; i < blocks; i++) {
    const txs: Tx[] =
      i % 2 === 0 ? [transferTx(chain, 0, accountAddress(chain, 1), 1n, nonce++)] : [];
    const { block, certificate } = await commitNext(ledger, chain, txs);
    if (follower !== undefined) {
      const executed = await follower.validateBlock(block, plainValidation());
      await follower.commit(block, certificate, executed);
    }
    out.push({ block, root: ledger.tip.stateRoot });
  }
  return out;
}

/** Every tree node key reachable from the roots of `versions`, as hex. */
function reachable(store: ChainStore, versions: Iterable<number>): Promise<Set<string>> {
  return reachableNodes(new LevelNodeReader(store.tree), versions);
}

async function treeKeys(store: ChainStore): Promise<Set<string>> {
  return new Set((await store.tree.keys().all()).map(toHex));
}

function isPruned(code: string, retainedFrom: number) {
  return (err: unknown): boolean => {
    assert.ok(isCivitasError(err, code), String(err));
    assert.equal(err.context.retainedFrom, retainedFrom);
    return true;
  };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('pruning', () => {
  test('a pruned ledger keeps its last keepVersions versions whole, and only those', async (t) => {
    const dir = await tempDir(t);
    const chain = makeTestChain({ accounts: 2 });
    const keep = 6;
    const opts: LedgerOptions = { pruning: { keepVersions: keep, retainBlocks: null } };
    let pruned = await Ledger.open(join(dir, 'pruned'), chain.genesis, churningMachine(), opts);
    t.after(() => pruned.close());
    const archive = await Ledger.open(join(dir, 'archive'), chain.genesis, churningMachine());
    t.after(() => archive.close());
    const roots = [
      pruned.tip.stateRoot,
      ...(await grow(pruned, chain, 30, { follower: archive })).map((b) => b.root),
    ];
    await pruned.pruningSettled();
    const tip = 30;
    const from = tip - keep + 1;
    const stats = pruned.pruningStats();
    assert.equal(stats.stateFrom, from);
    assert.ok(stats.prunedNodes > 0);

    for (let h = 0; h <= tip; h++) {
      for (const key of PROVEN_KEYS(chain)) {
        const whole = await archive.prove(key, h);
        if (h < from) {
          await assert.rejects(pruned.prove(key, h), isPruned('STATE_VERSION_PRUNED', from));
          continue;
        }
        const p = await pruned.prove(key, h);
        assert.equal(toHex(p.stateRoot), toHex(roots[h]!), `root of ${h} intact`);
        assert.equal(p.value && toHex(p.value), whole.value && toHex(whole.value));
        assert.ok(verifyStateProof(roots[h]!, p.keyHash, p.value, p.proof), `proof at ${h}`);
      }
    }
    // Exactly the nodes the kept versions reach: nothing they need went, nothing dead stayed.
    const left = await treeKeys(pruned.store);
    assert.deepEqual(left, await reachable(pruned.store, range(from, tip)));
    assert.ok(left.size < (await treeKeys(archive.store)).size, 'fewer nodes than the archive');
    // The stale index holds only what versions above the window made stale.
    const staleFrom = (await pruned.store.stale.keys({ limit: 1 }).all())[0];
    assert.ok(staleFrom === undefined || readHeightKey(staleFrom) > from);
    // An archive ledger writes no stale index and prunes nothing.
    assert.equal((await archive.store.stale.keys({ limit: 1 }).all()).length, 0);
    assert.deepEqual(archive.pruningStats(), {
      stateFrom: 0,
      blocksFrom: 0,
      prunedNodes: 0,
      prunedBlocks: 0,
    });

    // Reopened: the window is where it was, and goes on with the next commits.
    await pruned.close();
    pruned = await Ledger.open(join(dir, 'pruned'), chain.genesis, churningMachine(), opts);
    assert.equal(pruned.pruningStats().stateFrom, from);
    await assert.rejects(pruned.prove(POOL[0]!, from - 1), isPruned('STATE_VERSION_PRUNED', from));
    await grow(pruned, chain, 2, { nonce: 15 });
    await pruned.pruningSettled();
    assert.equal(pruned.pruningStats().stateFrom, from + 2);
    const atTip = await pruned.prove(POOL[1]!);
    assert.ok(verifyStateProof(pruned.tip.stateRoot, atTip.keyHash, atTip.value, atTip.proof));
  });

  test('pruning stopped between chunks (the database closed) resumes where it was', async (t) => {
    const dir = await tempDir(t);
    const chain = makeTestChain({ accounts: 2 });
    const path = join(dir, 'db');
    // A window wider than the chain: the stale index is written, nothing is due yet.
    const wide = await Ledger.open(path, chain.genesis, churningMachine(), {
      pruning: { keepVersions: 1_000, retainBlocks: null },
    });
    const blocks = await grow(wide, chain, 24);
    await wide.close();
    const before = await (async () => {
      const store = await ChainStore.open(path);
      try {
        return (await store.stale.keys().all()).length;
      } finally {
        await store.close();
      }
    })();
    assert.ok(before > 20, `stale entries written: ${before}`);

    // Two chunks of five deletions, then the database closes.
    const keep = 4;
    const tip = blocks.length;
    const from = tip - keep + 1;
    let store = await ChainStore.open(path);
    let pruner = new Pruner(
      { keepVersions: keep, retainBlocks: null, chunkKeys: 5, minRetainBlocks: 64 },
      { store, keepHeights: () => new Set() },
    );
    assert.equal(await pruner.step(tip), true);
    assert.equal(await pruner.step(tip), true);
    assert.equal(pruner.stats().prunedNodes, 10);
    await store.close();

    // Reopened: the lowest kept version was recorded with the first chunk; the rest goes.
    store = await ChainStore.open(path);
    t.after(() => store.close());
    assert.equal(store.retainedFrom().stateFrom, from);
    pruner = new Pruner(
      { keepVersions: keep, retainBlocks: null, chunkKeys: 5, minRetainBlocks: 64 },
      { store, keepHeights: () => new Set() },
    );
    let chunks = 0;
    while (await pruner.step(tip)) chunks++;
    assert.ok(chunks >= 1, 'work was left');
    assert.deepEqual(await treeKeys(store), await reachable(store, range(from, tip)));
    const left = await store.stale.keys().all();
    assert.ok(left.every((k) => readHeightKey(k) > from));
    assert.equal(await pruner.step(tip), false, 'nothing left');
    await store.close();

    // The ledger on top proves the kept versions against the roots they had.
    const ledger = await Ledger.open(path, chain.genesis, churningMachine(), {
      pruning: { keepVersions: keep, retainBlocks: null },
    });
    t.after(() => ledger.close());
    for (let h = from; h <= tip; h++) {
      for (const key of PROVEN_KEYS(chain)) {
        const p = await ledger.prove(key, h);
        assert.ok(verifyStateProof(blocks[h - 1]!.root, p.keyHash, p.value, p.proof));
      }
    }
  });

  test('a pruned node deletes old blocks, certificates and receipts, and keeps the tx index', async (t) => {
    const dir = await tempDir(t);
    const chain = makeTestChain({ accounts: 2 });
    const retain = 64;
    const ledger = await Ledger.open(join(dir, 'db'), chain.genesis, churningMachine(), {
      pruning: { keepVersions: 16, retainBlocks: retain, chunkKeys: 50 },
    });
    t.after(() => ledger.close());
    const blocks = (await grow(ledger, chain, 80)).map((b) => b.block);
    await ledger.pruningSettled();
    const tip = 80;
    const from = tip - retain + 1;
    assert.equal(ledger.pruningStats().blocksFrom, from);
    assert.equal(ledger.pruningStats().prunedBlocks, from - 1);
    const store = ledger.store;
    for (const block of blocks) {
      const h = block.header.height;
      const tx = block.txHashes[0];
      if (h >= from) {
        assert.equal(toHex((await store.getBlockBytes(h))!), toHex(block.encoded));
        assert.ok(await store.getCertificate(h));
        if (tx !== undefined) assert.ok(await store.getReceipt({ height: h, index: 0 }));
        continue;
      }
      await assert.rejects(store.getBlock(h), isPruned('LEDGER_BLOCK_PRUNED', from));
      await assert.rejects(store.getCertificateBytes(h), isPruned('LEDGER_BLOCK_PRUNED', from));
      await assert.rejects(store.getReceiptBytes(h, 1), isPruned('LEDGER_BLOCK_PRUNED', from));
      if (tx !== undefined) {
        // The tx stays committed (block validity must not depend on what a node pruned) ...
        assert.deepEqual(await store.getTxLocation(tx), { height: h, index: 0 });
        assert.deepEqual(await store.hasTxs([tx]), [true]);
        // ... and its receipt answers the code.
        await assert.rejects(
          store.getReceipt({ height: h, index: 0 }),
          isPruned('LEDGER_BLOCK_PRUNED', from),
        );
      }
      assert.equal(await store.getHeightOfHash(block.hash), h);
    }
    // No receipt left below the window; above the tip, nothing is "pruned".
    const receiptHeights = (await store.receipts.keys().all()).map((k) => readHeightKey(k));
    assert.ok(receiptHeights.every((h) => h >= from));
    assert.equal(await store.getBlock(tip + 1), undefined);
  });

  test('heights to keep survive block pruning', async (t) => {
    const dir = await tempDir(t);
    const chain = makeTestChain({ accounts: 2 });
    const path = join(dir, 'db');
    const ledger = await Ledger.open(path, chain.genesis, churningMachine());
    const blocks = (await grow(ledger, chain, 12)).map((b) => b.block);
    await ledger.close();
    const store = await ChainStore.open(path);
    t.after(() => store.close());
    const keepHeights = new Set([3, 4, 9]);
    // Small chunks: the range goes in several batches, each recording its progress.
    let chunks = 0;
    while ((await store.pruneBlocksChunk(11, keepHeights, 5)) > 0) chunks++;
    assert.ok(chunks >= 2);
    assert.equal(store.retainedFrom().blocksFrom, 11);
    for (const block of blocks) {
      const h = block.header.height;
      if (h >= 11 || keepHeights.has(h)) {
        assert.equal(toHex((await store.getBlockBytes(h))!), toHex(block.encoded), `block ${h}`);
        assert.equal((await store.getReceiptBytes(h, block.txs.length)).length, block.txs.length);
      } else {
        await assert.rejects(store.getBlockBytes(h), isPruned('LEDGER_BLOCK_PRUNED', 11));
      }
    }
    assert.equal(readHeightKey((await store.meta.get(utf8.encode('blocks-from')))!), 11);
    assert.equal(toHex(heightKey(11)), toHex((await store.meta.get(utf8.encode('blocks-from')))!));
  });

  test('settings a node cannot run with are refused', async (t) => {
    const dir = await tempDir(t);
    const chain = makeTestChain();
    for (const pruning of [
      { keepVersions: 1, retainBlocks: null },
      { keepVersions: 100, retainBlocks: 10 },
      { keepVersions: 100, retainBlocks: 99 },
      { keepVersions: null, retainBlocks: 1_000 },
      { keepVersions: 1.5, retainBlocks: null },
    ]) {
      await assert.rejects(
        Ledger.open(join(dir, 'db'), chain.genesis, civitasStateMachine(), { pruning }),
        (err: unknown) => isCivitasError(err, 'PRUNER_BAD_OPTION'),
        JSON.stringify(pruning),
      );
    }
  });

  test("the node config's state section: defaults, archive, pruned, and what is refused", () => {
    const snapshots = { snapshotInterval: 1_000, snapshotsKept: 2, sync: false };
    assert.deepEqual(DEFAULT_CONFIG.state, {
      keepVersions: 10_000,
      retainBlocks: null,
      ...snapshots,
    });
    assert.deepEqual(parseConfig({}).state, DEFAULT_CONFIG.state);
    assert.deepEqual(parseConfig({ state: { keepVersions: null } }).state, {
      keepVersions: null,
      retainBlocks: null,
      ...snapshots,
    });
    assert.deepEqual(parseConfig({ state: { keepVersions: 100, retainBlocks: 100 } }).state, {
      keepVersions: 100,
      retainBlocks: 100,
      ...snapshots,
    });
    assert.deepEqual(parseConfig({ state: { snapshotInterval: 0, snapshotsKept: 5 } }).state, {
      keepVersions: 10_000,
      retainBlocks: null,
      snapshotInterval: 0,
      snapshotsKept: 5,
      sync: false,
    });
    for (const [state, message] of [
      [{ keepVersions: 1 }, /state\.keepVersions.*≥ 2/],
      [{ keepVersions: '10' }, /state\.keepVersions/],
      [{ retainBlocks: 63, keepVersions: 10 }, /state\.retainBlocks.*≥ 64/],
      [{ retainBlocks: 5_000 }, /at least "state\.keepVersions"/],
      [{ keepVersions: null, retainBlocks: 100 }, /must then not be null/],
      [{ archive: true }, /unknown field "state\.archive"/],
      [{ snapshotInterval: -1 }, /state\.snapshotInterval/],
      [{ snapshotsKept: 0 }, /state\.snapshotsKept/],
      [{ sync: 'yes' }, /state\.sync/],
    ] as const) {
      assert.throws(
        () => parseConfig({ state }),
        (err: unknown) => isCivitasError(err, 'CONFIG_INVALID') && message.test(err.message),
        JSON.stringify(state),
      );
    }
  });
});
