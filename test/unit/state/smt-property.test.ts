/**
 * Property tests of the state tree against a brute-force reference: the root of a binary
 * sparse Merkle tree with leaf compression, computed recursively over the sorted full key set
 * with nothing but taggedHash. Random key sets (many with long shared prefixes, so paths get
 * deep and leaves move up and down), random update/delete sequences across versions, old
 * versions re-read and re-proven after later ones, and a full structural walk of each version
 * (every node canonical, every leaf where leaf compression puts it). With a committed-node
 * cache, the same sequences (with rejected blocks in between) give the same nodes and roots
 * as without, and no node of a rejected block is ever cached.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compareBytes, equalBytes, toHex } from '../../../src/crypto/bytes.ts';
import { DomainTag, taggedHash } from '../../../src/crypto/hash.ts';
import {
  CommittedNodeCache,
  decodeNode,
  decodeNodeKey,
  encodeNodeKey,
  MemoryNodeReader,
  type NodeWrite,
  OverlayNodeReader,
  StateTree,
  type TreeNodeReader,
  verifyStateProof,
} from '../../../src/state/smt/index.ts';

// ---- reference -------------------------------------------------------------------------

const EMPTY = new Uint8Array(32);

function bit(key: Uint8Array, i: number): number {
  return (key[i >> 3]! >> (7 - (i & 7))) & 1;
}

/** Root over `entries` sorted by key: empty → zeros, one leaf → its hash, else split on a bit. */
function referenceRoot(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Uint8Array {
  const rec = (lo: number, hi: number, depth: number): Uint8Array => {
    if (hi === lo) return EMPTY;
    if (hi - lo === 1) {
      const [key, value] = entries[lo]!;
      return taggedHash(DomainTag.stateLeaf, key, taggedHash(DomainTag.stateValue, value));
    }
    let mid = lo;
    while (mid < hi && bit(entries[mid]![0], depth) === 0) mid++;
    return taggedHash(DomainTag.stateInner, rec(lo, mid, depth + 1), rec(mid, hi, depth + 1));
  };
  return rec(0, entries.length, 0);
}

type Model = Map<string, readonly [Uint8Array, Uint8Array]>;

function modelRoot(model: Model): Uint8Array {
  return referenceRoot([...model.values()].sort((a, b) => compareBytes(a[0], b[0])));
}

// ---- arbitraries -----------------------------------------------------------------------

const randomKey = fc.uint8Array({ minLength: 32, maxLength: 32 });
/** Keys from a tiny byte alphabet share long prefixes and can differ only in the last bit. */
const clusteredKey = fc
  .tuple(
    fc.array(fc.constantFrom(0x00, 0x01, 0x08, 0x0f, 0x80, 0xf0, 0xff), { maxLength: 32 }),
    randomKey,
  )
  .map(([prefix, tail]) => {
    const key = tail.slice();
    key.set(prefix);
    return key;
  });
const keyArb = fc.oneof(randomKey, clusteredKey);
const valueArb = fc.uint8Array({ maxLength: 24 });

// ---- checks ----------------------------------------------------------------------------

/**
 * Walks every node of `version` and checks the storage invariants the hash alone cannot see:
 * every leaf sits at the shortest prefix that isolates it, no internal node is redundant, and
 * the leaf set equals the model. Returns the number of nodes.
 */
async function checkStructure(
  reader: TreeNodeReader,
  version: number,
  model: Model,
): Promise<number> {
  const rootBytes = await reader.getNode(encodeNodeKey(version, new Uint8Array(0), 0));
  assert.ok(rootBytes, `root of version ${version} stored`);
  const seen: Uint8Array[] = [];
  let nodes = 0;
  const visit = async (key: Uint8Array, bytes: Uint8Array): Promise<number> => {
    nodes++;
    const { depth } = decodeNodeKey(key);
    const node = decodeNode(bytes);
    if (node.kind === 0) return 0;
    if (node.kind === 2) {
      seen.push(node.keyHash);
      return 1;
    }
    let leaves = 0;
    const path = key.subarray(9);
    for (let n = 0; n < 16; n++) {
      if ((node.childMask & (1 << n)) === 0) continue;
      const source = new Uint8Array(32);
      source.set(path);
      const childKey = encodeNodeKey(node.versions[n]!, source, depth + 1, n);
      const child = await reader.getNode(childKey);
      assert.ok(child, 'child stored');
      assert.equal(decodeNode(child).kind === 2, (node.leafMask & (1 << n)) !== 0);
      leaves += await visit(childKey, child);
    }
    // Leaf compression: an internal node always has at least two leaves below it.
    assert.ok(leaves >= 2, 'internal node holds at least two leaves');
    return leaves;
  };
  await visit(encodeNodeKey(version, new Uint8Array(0), 0), rootBytes);
  assert.equal(seen.length, model.size);
  for (const k of seen) assert.ok(model.has(toHex(k)));
  return nodes;
}

async function checkAgainstModel(
  tree: StateTree,
  version: number,
  model: Model,
  probes: readonly Uint8Array[],
): Promise<void> {
  const root = await tree.rootHash(version);
  assert.deepEqual(root, modelRoot(model));
  for (const key of probes) {
    const expected = model.get(toHex(key))?.[1];
    const { value, proof } = await tree.getWithProof(version, key);
    assert.deepEqual(value, expected);
    assert.deepEqual(await tree.get(version, key), expected);
    assert.ok(verifyStateProof(root, key, expected, proof), 'proof verifies');
    // The same proof must not also prove the opposite claim.
    const other = expected === undefined ? new Uint8Array([1]) : undefined;
    assert.ok(!verifyStateProof(root, key, other, proof), 'proof does not prove the opposite');
  }
}

function assertWriteOnce(
  store: MemoryNodeReader,
  nodes: readonly NodeWrite[],
  version: number,
): void {
  const keys = new Set<string>();
  for (const [key] of nodes) {
    assert.equal(decodeNodeKey(key).version, version, 'every new node is keyed by the new version');
    assert.ok(!store.has(key), 'no node key is ever rewritten');
    assert.ok(!keys.has(toHex(key)), 'no node key twice in one update');
    keys.add(toHex(key));
  }
}

// ---- properties ------------------------------------------------------------------------

describe('state tree vs reference', () => {
  test('one batch from empty: root, values and proofs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(keyArb, valueArb), { selector: ([k]) => toHex(k), maxLength: 60 }),
        fc.array(keyArb, { maxLength: 8 }),
        async (entries, absent) => {
          const store = new MemoryNodeReader();
          const tree = new StateTree(store);
          const { rootHash, nodes } = await tree.update(null, 0, entries);
          assertWriteOnce(store, nodes, 0);
          store.apply(nodes);
          const model: Model = new Map(entries.map(([k, v]) => [toHex(k), [k, v] as const]));
          assert.deepEqual(rootHash, modelRoot(model));
          // Nothing is written that the version does not reach.
          assert.equal(await checkStructure(store, 0, model), nodes.length);
          await checkAgainstModel(tree, 0, model, [...entries.map(([k]) => k), ...absent]);
        },
      ),
      { numRuns: 120 },
    );
  });

  test('update and delete sequences across versions; old versions stay readable', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(keyArb, { selector: toHex, minLength: 1, maxLength: 24 }),
        fc.array(
          fc.record({
            gap: fc.nat(3),
            changes: fc.array(fc.tuple(fc.nat(), fc.option(valueArb, { nil: null })), {
              maxLength: 14,
            }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.nat(1000),
        async (pool, batches, firstVersion) => {
          const store = new MemoryNodeReader();
          const tree = new StateTree(store);
          const history: Array<{ version: number; model: Model; root: Uint8Array }> = [];
          let model: Model = new Map();
          let prev: number | null = null;
          let version = firstVersion;
          for (const batch of batches) {
            const changes = batch.changes.map(
              ([i, v]) => [pool[i % pool.length]!, v] as [Uint8Array, Uint8Array | null],
            );
            const { rootHash, nodes } = await tree.update(prev, version, changes);
            assertWriteOnce(store, nodes, version);
            store.apply(nodes);
            model = new Map(model);
            for (const [k, v] of changes) {
              if (v === null) model.delete(toHex(k));
              else model.set(toHex(k), [k, v]);
            }
            assert.deepEqual(rootHash, modelRoot(model));
            await checkStructure(store, version, model);
            history.push({ version, model, root: rootHash });
            prev = version;
            version += 1 + batch.gap;
          }
          for (const h of history) {
            assert.deepEqual(await tree.rootHash(h.version), h.root);
            await checkAgainstModel(tree, h.version, h.model, pool);
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  test('a committed-node cache changes nothing and never holds a rejected block', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(keyArb, { selector: toHex, minLength: 1, maxLength: 24 }),
        fc.array(
          fc.record({
            changes: fc.array(fc.tuple(fc.nat(), fc.option(valueArb, { nil: null })), {
              maxLength: 14,
            }),
            rejected: fc.option(
              fc.array(fc.tuple(fc.nat(), fc.option(valueArb, { nil: null })), {
                minLength: 1,
                maxLength: 14,
              }),
              { nil: undefined },
            ),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        // A budget of a few nodes forces evictions mid-sequence; the large one keeps all.
        fc.constantFrom(1, 3_000, 64 * 1024 * 1024),
        async (pool, batches, maxBytes) => {
          const toChanges = (b: ReadonlyArray<readonly [number, Uint8Array | null]>) =>
            b.map(([i, v]) => [pool[i % pool.length]!, v] as [Uint8Array, Uint8Array | null]);
          const plainStore = new MemoryNodeReader();
          const plain = new StateTree(plainStore);
          const store = new MemoryNodeReader();
          const cache = new CommittedNodeCache({ maxBytes });
          const tree = new StateTree(store, { cache });
          const history: Array<{ version: number; model: Model }> = [];
          let model: Model = new Map();
          let prev: number | null = null;
          for (let version = 0; version < batches.length; version++) {
            const batch = batches[version]!;
            const committedKeys = new Set<string>();
            let rejectedNodes: NodeWrite[] = [];
            if (batch.rejected !== undefined) {
              // Executed (validated) and then dropped: never committed, never noted.
              rejectedNodes = (await tree.update(prev, version, toChanges(batch.rejected))).nodes;
            }
            const changes = toChanges(batch.changes);
            const expected = await plain.update(prev, version, changes);
            const result = await tree.update(prev, version, changes);
            assert.deepEqual(result.rootHash, expected.rootHash);
            assert.deepEqual(result.nodes, expected.nodes);
            plainStore.apply(expected.nodes);
            store.apply(result.nodes);
            tree.noteCommitted(result.nodes);
            for (const [key] of result.nodes) committedKeys.add(toHex(key));
            for (const [key] of rejectedNodes) {
              if (committedKeys.has(toHex(key))) continue;
              assert.equal(cache.peek(key), undefined, 'a rejected block node is not cached');
              assert.equal(await store.getNode(key), undefined);
            }
            assert.ok(cache.stats.bytes <= maxBytes, 'the cache stays within its budget');
            model = new Map(model);
            for (const [k, v] of changes) {
              if (v === null) model.delete(toHex(k));
              else model.set(toHex(k), [k, v]);
            }
            assert.deepEqual(result.rootHash, modelRoot(model));
            history.push({ version, model });
            prev = version;
          }
          // Reads and proofs of every version, partly from memory, still match the model.
          for (const h of history) await checkAgainstModel(tree, h.version, h.model, pool);
        },
      ),
      { numRuns: 120 },
    );
  });

  test('speculative blocks over uncommitted blocks equal committing one by one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(keyArb, { selector: toHex, minLength: 1, maxLength: 20 }),
        fc.array(
          fc.array(fc.tuple(fc.nat(), fc.option(valueArb, { nil: null })), { maxLength: 10 }),
          {
            minLength: 3,
            maxLength: 3,
          },
        ),
        async (pool, [b0, b1, b2]) => {
          const toChanges = (b: typeof b0) =>
            b!.map(([i, v]) => [pool[i % pool.length]!, v] as [Uint8Array, Uint8Array | null]);
          const committed = new MemoryNodeReader();
          const first = await new StateTree(committed).update(null, 1, toChanges(b0));
          committed.apply(first.nodes);
          // Block 2 and block 3 executed before block 2 commits.
          const overlay2 = new OverlayNodeReader(committed);
          const r2 = await new StateTree(overlay2).update(1, 2, toChanges(b1));
          overlay2.add(r2.nodes);
          const overlay3 = new OverlayNodeReader(overlay2);
          const r3 = await new StateTree(overlay3).update(2, 3, toChanges(b2));
          // The committed store has not been touched.
          assert.equal(await new StateTree(committed).hasVersion(2), false);
          // Sequential execution gives the same nodes and roots.
          const sequential = new MemoryNodeReader(first.nodes);
          const tree = new StateTree(sequential);
          const s2 = await tree.update(1, 2, toChanges(b1));
          sequential.apply(s2.nodes);
          const s3 = await tree.update(2, 3, toChanges(b2));
          assert.deepEqual(r2, s2);
          assert.deepEqual(r3, s3);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a leaf at the end of a 256-bit path (keys differing only in the last bit)', async () => {
    const a = new Uint8Array(32).fill(0xab);
    const b = a.slice();
    b[31] ^= 1;
    const c = a.slice();
    c[31] ^= 2;
    const store = new MemoryNodeReader();
    const tree = new StateTree(store);
    const v0 = await tree.update(null, 0, [
      [a, Uint8Array.of(1)],
      [b, Uint8Array.of(2)],
    ]);
    store.apply(v0.nodes);
    const model: Model = new Map([
      [toHex(a), [a, Uint8Array.of(1)]],
      [toHex(b), [b, Uint8Array.of(2)]],
    ]);
    assert.deepEqual(v0.rootHash, modelRoot(model));
    const proof = await tree.prove(0, a);
    assert.equal(proof.siblings.length, 256);
    await checkAgainstModel(tree, 0, model, [a, b, c]);
    // Deleting one pulls the other up 64 nibble levels to the root.
    const v1 = await tree.update(0, 1, [[b, null]]);
    store.apply(v1.nodes);
    model.delete(toHex(b));
    assert.deepEqual(v1.rootHash, modelRoot(model));
    assert.equal(v1.nodes.length, 1, 'only the new root leaf is written');
    await checkAgainstModel(tree, 1, model, [a, b, c]);
    assert.ok(equalBytes((await tree.prove(1, a)).leaf!.keyHash, a));
  });
});
