/**
 * The stale-node index of the state tree, against brute force: for random update sequences
 * (inserts, changes, deletes, no-op writes, empty versions; keys with long shared prefixes so
 * leaves move up and down), what an update lists as stale is exactly the set of nodes
 * reachable from the previous version's root and not from the new one — nothing live is ever
 * listed (pruning would break a retained version) and nothing dead is missed (it would stay
 * on disk forever). Then, deleting every node stale at or below a version L, every version
 * from L on still walks whole, with the same root and values, and proves every key; the nodes
 * left are exactly those the retained versions reach. With the committed-node cache the
 * lists are the same.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../../src/crypto/bytes.ts';
import {
  CommittedNodeCache,
  StateTree,
  type TreeNodeReader,
  verifyStateProof,
} from '../../../src/state/smt/index.ts';
import { reachableNodes } from '../../helpers/tree-nodes.ts';

/** A reader over a Map that can also delete (what the pruner does to LevelDB). */
class PrunableReader implements TreeNodeReader {
  readonly nodes = new Map<string, { key: Uint8Array; value: Uint8Array }>();

  put(writes: Iterable<readonly [Uint8Array, Uint8Array]>): void {
    for (const [key, value] of writes) this.nodes.set(toHex(key), { key, value });
  }

  delete(key: Uint8Array): void {
    this.nodes.delete(toHex(key));
  }

  async getNode(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.nodes.get(toHex(key))?.value;
  }
}

/** Every node key reachable from `version`'s root, as hex. */
function reachable(reader: TreeNodeReader, version: number): Promise<Set<string>> {
  return reachableNodes(reader, [version]);
}

const randomKey = fc.uint8Array({ minLength: 32, maxLength: 32 });
/** Keys from a tiny byte alphabet share long prefixes: deep paths, leaves that move. */
const clusteredKey = fc
  .tuple(fc.array(fc.constantFrom(0x00, 0x01, 0x0f, 0xf0, 0xff), { maxLength: 32 }), randomKey)
  .map(([prefix, tail]) => {
    const key = tail.slice();
    key.set(prefix);
    return key;
  });
const valueArb = fc.uint8Array({ minLength: 1, maxLength: 8 });

/** One version's changes: picks from a shared key pool (so later versions touch earlier keys). */
const versionArb = (pool: number) =>
  fc.array(
    fc.record({
      key: fc.nat(pool - 1),
      // null deletes (often a key that is absent: a no-op); `same` rewrites the current value.
      value: fc.oneof(valueArb, fc.constant(null), fc.constant('same' as const)),
    }),
    { maxLength: 6 },
  );

const scenarioArb = fc
  .record({
    pool: fc.array(fc.oneof(randomKey, clusteredKey), { minLength: 1, maxLength: 24 }),
    versions: fc.array(versionArb(24), { minLength: 1, maxLength: 14 }),
  })
  .map(({ pool, versions }) => ({
    pool,
    versions: versions.map((changes) => changes.map((c) => ({ ...c, key: c.key % pool.length }))),
  }));

interface Built {
  readonly reader: PrunableReader;
  readonly roots: Uint8Array[];
  /** By version: the stale keys its update listed. */
  readonly stale: Uint8Array[][];
  /** By version: the model's key → value (hex). */
  readonly models: Array<Map<string, Uint8Array>>;
}

async function build(
  scenario: { pool: Uint8Array[]; versions: Array<Array<{ key: number; value: unknown }>> },
  cache?: CommittedNodeCache,
): Promise<Built> {
  const reader = new PrunableReader();
  const tree = new StateTree(reader, { staleIndex: true, ...(cache ? { cache } : {}) });
  const genesis = await tree.update(null, 0, [[scenario.pool[0]!, new Uint8Array([1])]]);
  assert.deepEqual(genesis.staleNodes, [], 'the first version replaces nothing');
  reader.put(genesis.nodes);
  tree.noteCommitted(genesis.nodes);
  const roots = [genesis.rootHash];
  const stale: Uint8Array[][] = [[]];
  let model = new Map<string, Uint8Array>([[toHex(scenario.pool[0]!), new Uint8Array([1])]]);
  const models = [model];
  for (let v = 1; v <= scenario.versions.length; v++) {
    model = new Map(model);
    const changes: Array<[Uint8Array, Uint8Array | null]> = [];
    for (const c of scenario.versions[v - 1]!) {
      const key = scenario.pool[c.key]!;
      const value =
        c.value === 'same'
          ? (model.get(toHex(key)) ?? new Uint8Array([7]))
          : (c.value as Uint8Array | null);
      changes.push([key, value]);
      if (value === null) model.delete(toHex(key));
      else model.set(toHex(key), value);
    }
    const result = await tree.update(v - 1, v, changes);
    reader.put(result.nodes);
    tree.noteCommitted(result.nodes);
    roots.push(result.rootHash);
    stale.push(result.staleNodes);
    models.push(model);
  }
  return { reader, roots, stale, models };
}

describe('state tree: stale-node index', () => {
  test('an update lists exactly the nodes the previous version reaches and it does not', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const { reader, stale } = await build(scenario);
        let before = await reachable(reader, 0);
        for (let v = 1; v < stale.length; v++) {
          const after = await reachable(reader, v);
          const listed = new Set(stale[v]!.map(toHex));
          assert.equal(listed.size, stale[v]!.length, `version ${v}: no key listed twice`);
          const expected = [...before].filter((k) => !after.has(k)).sort();
          assert.deepEqual([...listed].sort(), expected, `version ${v}: stale set`);
          before = after;
        }
      }),
      { numRuns: 150 },
    );
  });

  test('the committed-node cache changes nothing in the lists', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const plain = await build(scenario);
        const cached = await build(scenario, new CommittedNodeCache());
        assert.deepEqual(
          cached.stale.map((s) => s.map(toHex)),
          plain.stale.map((s) => s.map(toHex)),
        );
      }),
      { numRuns: 60 },
    );
  });

  test('pruning below L keeps every version from L whole, and only what they reach', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenarioArb.chain((s) =>
          fc.record({ scenario: fc.constant(s), lowest: fc.nat(s.versions.length) }),
        ),
        async ({ scenario, lowest }) => {
          const { reader, roots, stale, models } = await build(scenario);
          const tip = roots.length - 1;
          const storedBefore = reader.nodes.size;
          // What the pruner does: every node stale since a version ≤ L goes.
          for (let v = 1; v <= lowest; v++) for (const key of stale[v]!) reader.delete(key);
          const live = new Set<string>();
          const tree = new StateTree(reader);
          for (let v = lowest; v <= tip; v++) {
            for (const k of await reachable(reader, v)) live.add(k);
            assert.equal(toHex(await tree.rootHash(v)), toHex(roots[v]!), `root ${v} intact`);
            for (const key of scenario.pool) {
              const { value, proof } = await tree.getWithProof(v, key);
              const expected = models[v]!.get(toHex(key));
              assert.equal(
                value === undefined ? undefined : toHex(value),
                expected && toHex(expected),
              );
              assert.ok(verifyStateProof(roots[v]!, key, value, proof), `proof at ${v}`);
            }
          }
          assert.deepEqual(new Set(reader.nodes.keys()), live, 'nothing but the retained versions');
          if (lowest > 0) assert.ok(reader.nodes.size < storedBefore, 'old roots at least went');
          for (let v = 0; v < lowest; v++) {
            assert.equal(await tree.hasVersion(v), false, `root ${v} pruned`);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
