/**
 * The genesis state written in bounded batches (state/genesis-state.ts, smt/sorted-build.ts).
 * The streamed builder makes exactly the nodes and the root of one tree update over the same
 * leaves (random sets, keys sharing long prefixes or all but their last bit, none, one, 5,000)
 * and refuses leaves out of order. On LevelDB: a genesis written in many small batches holds
 * the very nodes and values of the one-batch write it replaces, its root is the one a client
 * computes from the genesis file, and the ledger proves every account from it; a build cut
 * short is not taken for a chain, and the next open clears it (even when the genesis file was
 * corrected meanwhile) and builds again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { accountStateKey, decodeAccount } from '../../../src/app/bank/account.ts';
import {
  civitasApp,
  civitasStateMachine,
  genesisStateRoot,
  genesisValues,
} from '../../../src/app/index.ts';
import { type Genesis, genesisHash } from '../../../src/chain/index.ts';
import { compareBytes, equalBytes, toHex } from '../../../src/crypto/bytes.ts';
import { codeOf } from '../../../src/errors/index.ts';
import { writeGenesisState } from '../../../src/state/genesis-state.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import {
  MemoryNodeReader,
  type NodeWrite,
  SortedTreeBuilder,
  StateTree,
  stateKeyHash,
  verifyStateProof,
} from '../../../src/state/smt/index.ts';
import { ChainStore } from '../../../src/state/store.ts';
import { makeTestChain } from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

type Leaf = readonly [Uint8Array, Uint8Array];

/** The builder's nodes and root over `leaves` (any order, distinct keys). */
function streamed(
  leaves: readonly Leaf[],
  version: number,
): { root: Uint8Array; nodes: NodeWrite[] } {
  const sorted = [...leaves].sort((a, b) => compareBytes(a[0], b[0]));
  const builder = new SortedTreeBuilder(version);
  const nodes: NodeWrite[] = [];
  for (const [key, value] of sorted) builder.add(key, value, nodes);
  const root = builder.finish(nodes);
  return { root, nodes };
}

/** Nodes as a map of hex key → hex bytes, each key once. */
function nodeMap(nodes: Iterable<readonly [Uint8Array, Uint8Array]>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of nodes) {
    assert.ok(!out.has(toHex(k)), `node ${toHex(k)} written once`);
    out.set(toHex(k), toHex(v));
  }
  return out;
}

async function assertSameAsUpdate(leaves: readonly Leaf[], version: number): Promise<void> {
  const reference = await new StateTree(new MemoryNodeReader()).update(null, version, leaves);
  const built = streamed(leaves, version);
  assert.equal(toHex(built.root), toHex(reference.rootHash));
  assert.deepEqual(nodeMap(built.nodes), nodeMap(reference.nodes));
}

const randomKey = fc.uint8Array({ minLength: 32, maxLength: 32 });
/** Keys from a tiny byte alphabet share long prefixes and can differ only in the last bit. */
const clusteredKey = fc
  .tuple(
    fc.array(fc.constantFrom(0x00, 0x01, 0x0f, 0x10, 0xf0, 0xff), { maxLength: 32 }),
    randomKey,
  )
  .map(([prefix, tail]) => {
    const key = tail.slice();
    key.set(prefix);
    return key;
  });

describe('SortedTreeBuilder', () => {
  test('makes the nodes and root of one tree update over the same leaves', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.tuple(fc.oneof(randomKey, clusteredKey), fc.uint8Array({ maxLength: 40 })),
          { selector: ([k]) => toHex(k), maxLength: 80 },
        ),
        fc.constantFrom(0, 1, 7, 2 ** 40),
        async (leaves, version) => assertSameAsUpdate(leaves, version),
      ),
      { numRuns: 150 },
    );
  });

  test('none, one, two that differ in the last bit only, and 5,000 leaves', async () => {
    await assertSameAsUpdate([], 0);
    const key = stateKeyHash(Uint8Array.of(1));
    await assertSameAsUpdate([[key, Uint8Array.of(9)]], 0);
    const twin = key.slice();
    twin[31]! ^= 1;
    await assertSameAsUpdate(
      [
        [key, Uint8Array.of(1)],
        [twin, new Uint8Array(0)],
      ],
      3,
    );
    const many = Array.from(
      { length: 5_000 },
      (_, i): Leaf => [stateKeyHash(Uint8Array.of(i >> 8, i & 0xff)), Uint8Array.of(i & 0xff)],
    );
    await assertSameAsUpdate(many, 0);
  });

  test('refuses a leaf not above the last one, and leaves after the end', () => {
    const [a, b] = [stateKeyHash(Uint8Array.of(1)), stateKeyHash(Uint8Array.of(2))].sort(
      compareBytes,
    );
    const value = Uint8Array.of(1);
    const out: NodeWrite[] = [];
    const down = new SortedTreeBuilder(0);
    down.add(b!, value, out);
    assert.throws(
      () => down.add(a!, value, out),
      (e) => codeOf(e) === 'STATE_LEAVES_UNSORTED',
    );
    const twice = new SortedTreeBuilder(0);
    twice.add(a!, value, out);
    assert.throws(
      () => twice.add(a!, value, out),
      (e) => codeOf(e) === 'STATE_LEAVES_UNSORTED',
    );
    const done = new SortedTreeBuilder(0);
    done.finish(out);
    assert.throws(
      () => done.add(a!, value, out),
      (e) => codeOf(e) === 'STATE_LEAVES_UNSORTED',
    );
    assert.throws(
      () => new SortedTreeBuilder(0).add(new Uint8Array(31), value, out),
      (e) => codeOf(e) === 'STATE_BAD_KEY',
    );
  });
});

/** A genesis funding `accounts` random addresses besides the chain's own (one funded twice). */
function largeGenesis(accounts: number): Genesis {
  const { genesis } = makeTestChain({ accounts: 2 });
  const extra = Array.from({ length: accounts }, () => ({
    address: new Uint8Array(randomBytes(20)),
    balance: 1_000n,
  }));
  return { ...genesis, accounts: [...genesis.accounts, ...extra, { ...extra[0]!, balance: 5n }] };
}

/** What the one-batch write made: tree.update over every genesis value. */
async function oneBatchState(genesis: Genesis) {
  const values = genesisValues(civitasApp(), genesis).map(
    ([key, value]): Leaf => [stateKeyHash(key), value],
  );
  const { rootHash, nodes } = await new StateTree(new MemoryNodeReader()).update(null, 0, values);
  return { root: rootHash, nodes: nodeMap(nodes), values: nodeMap(values) };
}

async function storedState(dir: string) {
  const store = await ChainStore.open(dir);
  try {
    const nodes = new Map<string, string>();
    for await (const [k, v] of store.tree.iterator()) nodes.set(toHex(k), toHex(v));
    const values = new Map<string, string>();
    for await (const [k, v] of store.values.iterator()) values.set(toHex(k), toHex(v));
    return {
      nodes,
      values,
      height: await store.height(),
      genesis: await store.genesisHash(),
      marker: await store.genesisBuildMarker(),
    };
  } finally {
    await store.close();
  }
}

describe('genesis state on LevelDB', () => {
  test('written in small batches: the one-batch nodes and values, the client root, proofs', async (t) => {
    const dir = join(await tempDir(t), 'db');
    const genesis = largeGenesis(3_000);
    const expected = await oneBatchState(genesis);
    assert.ok(equalBytes(expected.root, await genesisStateRoot(civitasApp(), genesis)));

    const store = await ChainStore.open(dir);
    let batches = 0;
    const write = store.writeImportedState.bind(store);
    store.writeImportedState = (nodes, values) => {
      batches++;
      return write(nodes, values);
    };
    const values = genesisValues(civitasApp(), genesis);
    const root = await writeGenesisState(store, genesisHash(genesis), values, { batchBytes: 4096 });
    await store.close();
    assert.equal(values.length, 0, 'the list is emptied as it is written');
    assert.ok(batches > 20, `${batches} batches`);
    assert.equal(toHex(root), toHex(expected.root));

    const stored = await storedState(dir);
    assert.deepEqual(stored.nodes, expected.nodes);
    assert.deepEqual(stored.values, expected.values);
    assert.equal(stored.height, 0);
    assert.equal(stored.marker, undefined);

    const ledger = await Ledger.open(dir, genesis, civitasStateMachine());
    try {
      assert.equal(toHex(ledger.tip.stateRoot), toHex(expected.root));
      const twice = genesis.accounts.at(-1)!.address;
      for (const address of [
        genesis.accounts[0]!.address,
        genesis.accounts[1_500]!.address,
        twice,
      ]) {
        const p = await ledger.prove(accountStateKey(address), 0);
        assert.ok(verifyStateProof(expected.root, p.keyHash, p.value, p.proof));
        assert.ok(p.value !== undefined);
      }
      // Funded twice: the sum, as the bank's genesis says.
      const p = await ledger.prove(accountStateKey(twice), 0);
      assert.equal(decodeAccount(p.value!).balance, 1_005n);
    } finally {
      await ledger.close();
    }
  });

  test('a build cut short is no chain, and the next open clears it and builds again', async (t) => {
    const dir = join(await tempDir(t), 'db');
    const first = largeGenesis(2_000);
    // The operator corrects the file after the failed start: other accounts, another hash.
    const corrected = largeGenesis(1_000);

    const store = await ChainStore.open(dir);
    let batches = 0;
    const write = store.writeImportedState.bind(store);
    store.writeImportedState = async (nodes, values) => {
      if (++batches === 8) throw new Error('the process stops here');
      return write(nodes, values);
    };
    await assert.rejects(
      writeGenesisState(store, genesisHash(first), genesisValues(civitasApp(), first), {
        batchBytes: 4096,
      }),
      /the process stops here/,
    );
    await store.close();

    const cut = await storedState(dir);
    assert.ok(cut.values.size > 0, 'part of the first genesis was written');
    assert.equal(cut.height, undefined, 'no height');
    assert.equal(cut.genesis, undefined, 'no genesis');
    assert.equal(cut.marker && toHex(cut.marker), toHex(genesisHash(first)));

    const ledger = await Ledger.open(dir, corrected, civitasStateMachine());
    await ledger.close();
    const expected = await oneBatchState(corrected);
    const rebuilt = await storedState(dir);
    assert.deepEqual(rebuilt.values, expected.values, 'nothing of the first genesis is left');
    assert.deepEqual(rebuilt.nodes, expected.nodes);
    assert.equal(rebuilt.genesis && toHex(rebuilt.genesis), toHex(genesisHash(corrected)));
    assert.equal(rebuilt.height, 0);
    assert.equal(rebuilt.marker, undefined);
  });

  test('a state import over a build cut short takes the marker away', async (t) => {
    const dir = join(await tempDir(t), 'db');
    const store = await ChainStore.open(dir);
    try {
      await store.beginGenesis(new Uint8Array(32).fill(1));
      await store.completeImport({
        genesisHash: new Uint8Array(32).fill(2),
        height: 5,
        blocks: [],
        txIndex: [],
        validatorChanges: [],
      });
      assert.equal(await store.genesisBuildMarker(), undefined);
    } finally {
      await store.close();
    }
  });
});
