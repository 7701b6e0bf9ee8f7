/**
 * State tree: proofs (tampering, both encodings), node and key codecs (strictness), typed
 * errors, the O(k log N) cost bound, and a round trip through a real LevelDB directory.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Level } from 'level';
import { encode } from '../../../src/codec/index.ts';
import { equalBytes } from '../../../src/crypto/bytes.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { stateLeafHash, stateLeafHashOf, stateValueHash } from '../../../src/state/smt/hashes.ts';
import {
  CommittedNodeCache,
  decodeNode,
  decodeNodeKey,
  decodeStateProof,
  EMPTY_SUBTREE_HASH,
  encodeNodeKey,
  encodeStateProof,
  LevelNodeReader,
  MAX_STATE_VALUE_BYTES,
  MemoryNodeReader,
  NODE_SUBLEVEL_OPTIONS,
  type StateProof,
  StateTree,
  stateKeyHash,
  stateProofFromJson,
  stateProofToJson,
  verifyStateProof,
} from '../../../src/state/smt/index.ts';
import {
  encodeInternalNode,
  encodeLeafNode,
  type InnerHashes,
  internalNodeHash,
  internalNodeHashes,
} from '../../../src/state/smt/node.ts';

function key(i: number): Uint8Array {
  return stateKeyHash(new TextEncoder().encode(`account-${i}`));
}

function value(i: number, round = 0): Uint8Array {
  return new TextEncoder().encode(`balance=${i * 7 + round}`);
}

function rejects(code: string): (err: unknown) => boolean {
  return (err) => isCivitasError(err) && err.code === code;
}

function throwsCode(fn: () => unknown, prefix: string): void {
  assert.throws(fn, (err: unknown) => isCivitasError(err, prefix));
}

/** A tree of `n` keys at version 1, built in two blocks. */
async function buildTree(n: number): Promise<{ tree: StateTree; store: MemoryNodeReader }> {
  const store = new MemoryNodeReader();
  const tree = new StateTree(store);
  const half = Math.floor(n / 2);
  const a = await tree.update(
    null,
    0,
    Array.from({ length: half }, (_, i) => [key(i), value(i)]),
  );
  store.apply(a.nodes);
  const b = await tree.update(
    0,
    1,
    Array.from({ length: n - half }, (_, i) => [key(half + i), value(half + i)]),
  );
  store.apply(b.nodes);
  return { tree, store };
}

describe('state proofs', () => {
  let tree: StateTree;
  let root: Uint8Array;
  before(async () => {
    ({ tree } = await buildTree(300));
    root = await tree.rootHash(1);
  });

  test('inclusion and both kinds of non-inclusion verify', async () => {
    let sawEmpty = false;
    let sawOtherLeaf = false;
    for (let i = 0; i < 300; i += 7) {
      const proof = await tree.prove(1, key(i));
      assert.ok(verifyStateProof(root, key(i), value(i), proof));
    }
    for (let i = 1000; i < 1200; i++) {
      const proof = await tree.prove(1, key(i));
      assert.ok(verifyStateProof(root, key(i), undefined, proof));
      if (proof.leaf === undefined) sawEmpty = true;
      else sawOtherLeaf = true;
    }
    assert.ok(sawEmpty && sawOtherLeaf, 'both non-inclusion shapes exercised');
  });

  test('tampered proofs, wrong claims and wrong roots fail', async () => {
    const k = key(42);
    const v = value(42);
    const proof = await tree.prove(1, k);
    assert.ok(verifyStateProof(root, k, v, proof));
    const flipped = (bytes: Uint8Array, bit: number) => {
      const out = bytes.slice();
      out[bit >> 3]! ^= 1 << (bit & 7);
      return out;
    };
    for (let s = 0; s < proof.siblings.length; s++) {
      const siblings = proof.siblings.slice();
      siblings[s] = flipped(siblings[s]!, s * 13);
      assert.ok(!verifyStateProof(root, k, v, { ...proof, siblings }), `flipped sibling ${s}`);
    }
    assert.ok(!verifyStateProof(root, k, value(43), proof), 'wrong value');
    assert.ok(!verifyStateProof(root, k, undefined, proof), 'claims absence of a present key');
    assert.ok(!verifyStateProof(root, key(43), v, proof), 'wrong key');
    assert.ok(!verifyStateProof(root, key(43), undefined, proof), 'wrong key, absence');
    assert.ok(!verifyStateProof(flipped(root, 3), k, v, proof), 'wrong root');
    assert.ok(!verifyStateProof(EMPTY_SUBTREE_HASH, k, v, proof), 'empty root');
    assert.ok(!verifyStateProof(root, k, v, { ...proof, siblings: proof.siblings.slice(1) }));
    assert.ok(!verifyStateProof(root, k, v, { ...proof, siblings: proof.siblings.slice(0, -1) }));
    assert.ok(
      !verifyStateProof(root, k, v, {
        ...proof,
        siblings: [...proof.siblings, EMPTY_SUBTREE_HASH],
      }),
      'extended path',
    );
    assert.ok(!verifyStateProof(root, k, v, { leaf: undefined, siblings: proof.siblings }));
    const leaf = proof.leaf!;
    assert.ok(
      !verifyStateProof(root, k, v, {
        ...proof,
        leaf: { ...leaf, valueHash: flipped(leaf.valueHash, 0) },
      }),
    );
    // Malformed input is "no", never an exception.
    assert.ok(!verifyStateProof(root.subarray(1), k, v, proof));
    assert.ok(!verifyStateProof(root, k, v, { ...proof, siblings: [new Uint8Array(31)] }));
    assert.ok(!verifyStateProof(root, k, v, null as unknown as StateProof));
  });

  test('a non-inclusion proof cannot be reused for a key off the leaf path', async () => {
    // Find an absent key whose path ends at another key's leaf.
    let i = 1000;
    let proof: StateProof;
    for (; ; i++) {
      proof = await tree.prove(1, key(i));
      if (proof.leaf !== undefined) break;
    }
    assert.ok(verifyStateProof(root, key(i), undefined, proof));
    // The leaf's own key is present: its absence cannot be shown with this proof.
    assert.ok(!verifyStateProof(root, proof.leaf!.keyHash, undefined, proof));
    // A key that diverges above the leaf's depth.
    const off = key(i).slice();
    off[0]! ^= 0x80;
    assert.ok(!verifyStateProof(root, off, undefined, proof));
  });

  test('random bit flips anywhere in an encoded proof never verify', async () => {
    const k = key(7);
    const encoded = encodeStateProof(await tree.prove(1, k));
    fc.assert(
      fc.property(fc.nat(encoded.length * 8 - 1), (bitIndex) => {
        const bytes = encoded.slice();
        bytes[bitIndex >> 3]! ^= 1 << (bitIndex & 7);
        let proof: StateProof;
        try {
          proof = decodeStateProof(bytes);
        } catch (err) {
          assert.ok(isCivitasError(err), 'typed decode error');
          return;
        }
        assert.ok(!verifyStateProof(root, k, value(7), proof));
      }),
      { numRuns: 300 },
    );
  });

  test('binary and JSON forms round-trip exactly', async () => {
    for (const i of [0, 5, 299, 1001, 1002, 1003]) {
      const proof = await tree.prove(1, key(i));
      const bytes = encodeStateProof(proof);
      assert.deepEqual(decodeStateProof(bytes), proof);
      assert.deepEqual(encodeStateProof(decodeStateProof(bytes)), bytes);
      const json = JSON.parse(JSON.stringify(stateProofToJson(proof)));
      assert.deepEqual(stateProofFromJson(json), proof);
    }
  });

  test('decoders are strict', async () => {
    const proof = await tree.prove(1, key(3));
    const bytes = encodeStateProof(proof);
    throwsCode(() => decodeStateProof(Uint8Array.of(...bytes, 0)), 'CODEC_TRAILING_BYTES');
    throwsCode(() => decodeStateProof(bytes.subarray(0, bytes.length - 1)), 'CODEC_TRUNCATED');
    throwsCode(() => decodeStateProof(Uint8Array.of(2, ...bytes.subarray(1))), 'CODEC_BAD_VERSION');
    throwsCode(() => decodeStateProof(Uint8Array.of(1, 2)), 'CODEC_BAD_VALUE');
    // Count 3 with a padding bit set after the third sibling.
    throwsCode(() => decodeStateProof(Uint8Array.of(1, 0, 3, 0b0001_0000)), 'STATE_BAD_PROOF');
    // An empty sibling written out as 32 zero bytes instead of a clear bit.
    throwsCode(
      () => decodeStateProof(Uint8Array.of(1, 0, 1, 0x80, ...new Uint8Array(32))),
      'STATE_BAD_PROOF',
    );
    // More siblings than a 256-bit key has bits.
    throwsCode(() => decodeStateProof(Uint8Array.of(1, 0, 0x81, 0x02)), 'CODEC_VALUE_TOO_LARGE');
    const json = stateProofToJson(proof);
    throwsCode(() => stateProofFromJson({ ...json, extra: 1 }), 'STATE_BAD_PROOF');
    throwsCode(
      () => stateProofFromJson({ ...json, siblings: ['00'.repeat(32)] }),
      'STATE_BAD_PROOF',
    );
    throwsCode(() => stateProofFromJson({ ...json, siblings: ['zz'] }), 'STATE_BAD_PROOF');
    throwsCode(
      () => stateProofFromJson({ leaf: { keyHash: 'ab' }, siblings: [] }),
      'STATE_BAD_PROOF',
    );
    throwsCode(() => stateProofFromJson([]), 'STATE_BAD_PROOF');
  });
});

describe('state tree nodes and keys', () => {
  test('node keys round-trip and reject malformed keys', () => {
    fc.assert(
      fc.property(
        fc.maxSafeNat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat(64),
        (version, source, depth) => {
          const k = encodeNodeKey(version, source, depth);
          const d = decodeNodeKey(k);
          assert.equal(d.version, version);
          assert.equal(d.depth, depth);
          assert.deepEqual(encodeNodeKey(version, d.path, depth), k);
        },
      ),
    );
    const k = encodeNodeKey(5, new Uint8Array(32).fill(0xff), 3);
    assert.deepEqual(k.subarray(8), Uint8Array.of(3, 0xff, 0xf0));
    throwsCode(
      () => decodeNodeKey(Uint8Array.of(...k.subarray(0, 10), 0xff)),
      'STATE_BAD_NODE_KEY',
    );
    throwsCode(() => decodeNodeKey(k.subarray(0, 10)), 'STATE_BAD_NODE_KEY');
    throwsCode(() => decodeNodeKey(Uint8Array.of(...new Uint8Array(8), 65)), 'STATE_BAD_NODE_KEY');
    throwsCode(
      () => decodeNodeKey(Uint8Array.of(0xff, ...new Uint8Array(7), 0)),
      'STATE_BAD_NODE_KEY',
    );
  });

  test('corrupt nodes are typed errors', () => {
    const hash = new Uint8Array(32).fill(9);
    const internal = (childMask: number, leafMask: number, ...children: Uint8Array[]) =>
      Uint8Array.of(
        1,
        childMask >> 8,
        childMask & 0xff,
        leafMask >> 8,
        leafMask & 0xff,
        ...children.flatMap((c) => [...c]),
      );
    const child = Uint8Array.of(0, ...hash);
    assert.equal(decodeNode(internal(0b11, 0b01, child, child)).kind, 1);
    throwsCode(() => decodeNode(Uint8Array.of(7)), 'STATE_BAD_NODE');
    throwsCode(() => decodeNode(Uint8Array.of(0, 0)), 'CODEC_TRAILING_BYTES');
    throwsCode(() => decodeNode(internal(0, 0)), 'STATE_BAD_NODE');
    throwsCode(() => decodeNode(internal(0b01, 0b10, child)), 'STATE_BAD_NODE');
    throwsCode(() => decodeNode(internal(0b100, 0b100, child)), 'STATE_BAD_NODE');
    throwsCode(
      () => decodeNode(internal(0b11, 0, child, Uint8Array.of(0, ...new Uint8Array(32)))),
      'STATE_BAD_NODE',
    );
    throwsCode(
      () => decodeNode(internal(0b11, 0, child, Uint8Array.of(0x80, 0, ...hash))),
      'CODEC_NON_MINIMAL_INT',
    );
    throwsCode(() => decodeNode(internal(0b11, 0, child)), 'CODEC_TRUNCATED');
    throwsCode(() => decodeNode(Uint8Array.of(2, ...hash, 0x84, 0x80, 0x04)), 'CODEC_TOO_LARGE');
  });

  test('a corrupt store is detected on read', async () => {
    const a = new Uint8Array(32).fill(0x01);
    const b = new Uint8Array(32).fill(0x11);
    const c = new Uint8Array(32).fill(0x21);
    const store = new MemoryNodeReader();
    const tree = new StateTree(store);
    store.apply(
      (
        await tree.update(null, 1, [
          [a, value(1)],
          [b, value(2)],
        ])
      ).nodes,
    );
    const leafKeyA = encodeNodeKey(1, a, 1);
    assert.ok(store.has(leafKeyA), 'leaf a sits one nibble below the root');
    const rootKey = encodeNodeKey(1, new Uint8Array(0), 0);
    const withLeaf = async (bytes: Uint8Array) =>
      new StateTree(
        new MemoryNodeReader([
          [leafKeyA, bytes],
          [rootKey, (await store.getNode(rootKey))!],
          [encodeNodeKey(1, b, 1), (await store.getNode(encodeNodeKey(1, b, 1)))!],
        ]),
      );
    await assert.rejects(
      (await withLeaf(Uint8Array.of(2, ...c, 0))).get(1, a),
      rejects('STATE_BAD_NODE'),
    );
    await assert.rejects((await withLeaf(Uint8Array.of(0))).get(1, a), rejects('STATE_BAD_NODE'));
    await assert.rejects(
      (await withLeaf(Uint8Array.of(2, ...a))).get(1, a),
      rejects('CODEC_TRUNCATED'),
    );
    await assert.rejects(
      (await withLeaf(Uint8Array.of(2, ...c, 0))).update(1, 2, [[a, null]]),
      rejects('STATE_BAD_NODE'),
    );
    // Deleting b pulls a (not loaded) up to the root: the moved bytes are checked too.
    await assert.rejects(
      (await withLeaf(Uint8Array.of(2, ...a, 1, 9))).update(1, 2, [[b, null]]),
      rejects('STATE_BAD_NODE'),
    );
    const empty = new MemoryNodeReader([[rootKey, (await store.getNode(rootKey))!]]);
    await assert.rejects(new StateTree(empty).get(1, a), rejects('STATE_MISSING_NODE'));
    await assert.rejects(tree.get(7, a), rejects('STATE_MISSING_NODE'));
  });
});

/** An internal node's fields: any non-empty child set, leaves among them, random hashes. */
const internalArb = fc
  .record({
    childMask: fc.integer({ min: 1, max: 0xffff }),
    leafBits: fc.integer({ min: 0, max: 0xffff }),
    versions: fc.array(fc.maxSafeNat(), { minLength: 16, maxLength: 16 }),
    hashes: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
      minLength: 16,
      maxLength: 16,
    }),
  })
  .map(({ childMask, leafBits, versions, hashes }) => ({
    childMask,
    leafMask: leafBits & childMask,
    versions: versions.map((v, i) => ((childMask & (1 << i)) === 0 ? 0 : v)),
    hashes: hashes.map((h, i) => ((childMask & (1 << i)) === 0 ? undefined : h)),
  }));

describe('state tree node encoding and inner hashes', () => {
  test('the hand-written encoders write exactly the codec layout', () => {
    fc.assert(
      fc.property(internalArb, (node) => {
        const reference = encode((w) => {
          w.u8(1).u16(node.childMask).u16(node.leafMask);
          for (let i = 0; i < 16; i++) {
            if ((node.childMask & (1 << i)) !== 0)
              w.varuint(node.versions[i]!).fixed(node.hashes[i]!, 32);
          }
        });
        assert.deepEqual(encodeInternalNode(node), reference);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 400 }),
        (keyHash, value) => {
          const reference = encode((w) => w.u8(2).fixed(keyHash, 32).bytes(value));
          const bytes = encodeLeafNode(keyHash, value);
          assert.deepEqual(bytes, reference);
          assert.deepEqual(decodeNode(bytes), { kind: 2, keyHash, value });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('rehashing only the changed children gives the full recomputation', () => {
    fc.assert(
      fc.property(
        internalArb,
        internalArb,
        fc.integer({ min: 0, max: 0xffff }),
        (before, replacement, changedBits) => {
          // `after` takes the replacement's child (or its absence) at every changed nibble.
          const pick = (i: number) => (changedBits & (1 << i)) !== 0;
          let childMask = 0;
          let leafMask = 0;
          const hashes: Array<Uint8Array | undefined> = [];
          for (let i = 0; i < 16; i++) {
            const from = pick(i) ? replacement : before;
            childMask |= from.childMask & (1 << i);
            leafMask |= from.leafMask & (1 << i);
            hashes.push(from.hashes[i]);
          }
          fc.pre(childMask !== 0);
          const after = { childMask, leafMask, hashes };
          const previous = internalNodeHashes(before);
          const full = { hashes: 0 };
          const partial = { hashes: 0 };
          const expected = internalNodeHashes(after, full);
          const reused = internalNodeHashes(after, partial, previous, changedBits);
          assert.deepEqual(reused[1], internalNodeHash(after));
          // Every range hash it holds is the true one, so the next rewrite can reuse it.
          for (let i = 1; i < 16; i++) {
            if (reused[i] !== undefined && expected[i] !== undefined) {
              assert.deepEqual(reused[i], expected[i], `range ${i}`);
            }
          }
          assert.ok(partial.hashes <= full.hashes);
          // One changed child costs at most its path of four inner hashes.
          if (changedBits !== 0 && (changedBits & (changedBits - 1)) === 0) {
            assert.ok(partial.hashes <= 4, `${partial.hashes} hashes`);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  test('a chain of partial rehashes stays equal to full recomputation', () => {
    fc.assert(
      fc.property(
        internalArb,
        fc.array(fc.tuple(internalArb, fc.integer({ min: 0, max: 0xffff })), { maxLength: 8 }),
        (first, steps) => {
          let node = first;
          let inner: InnerHashes = internalNodeHashes(node);
          for (const [replacement, changedBits] of steps) {
            const next = { ...node, hashes: node.hashes.slice() };
            for (let i = 0; i < 16; i++) {
              if ((changedBits & (1 << i)) === 0) continue;
              const bit = 1 << i;
              next.childMask = (next.childMask & ~bit) | (replacement.childMask & bit);
              next.leafMask = (next.leafMask & ~bit) | (replacement.leafMask & bit);
              next.hashes[i] = replacement.hashes[i];
            }
            if (next.childMask === 0) continue;
            inner = internalNodeHashes(next, undefined, inner, changedBits);
            node = next;
            assert.deepEqual(inner[1], internalNodeHash(node));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('the committed-node cache stays within its budget, dropping the oldest first', () => {
    const cache = new CommittedNodeCache({ maxBytes: 20_000 });
    // One path per node (depth 4 gives an integer map key, depth 8 a string one).
    const pathOf = (i: number) => Uint8Array.of(i >> 8, i & 0xff, 0x5a, 7);
    const depthOf = (i: number) => (i % 2 === 0 ? 4 : 8);
    const keyOf = (i: number, version = 1) => encodeNodeKey(version, pathOf(i), depthOf(i));
    for (let i = 0; i < 500; i++) {
      cache.add(keyOf(i), encodeLeafNode(key(i), value(i)));
      assert.ok(cache.stats.bytes <= 20_000);
    }
    assert.ok(cache.stats.entries > 10 && cache.stats.entries < 500);
    assert.equal(cache.peek(keyOf(0)), undefined, 'the oldest went first');
    assert.ok(cache.peek(keyOf(499)), 'the newest is kept');
    // Keys are write-once: a second add of a held key keeps the first bytes.
    const held = cache.peek(keyOf(499))!.bytes;
    cache.add(keyOf(499), new Uint8Array([9]));
    assert.equal(cache.peek(keyOf(499))!.bytes, held);
    // Dropping what a commit superseded frees its budget; nothing dropped is served again.
    const { entries, bytes } = cache.stats;
    cache.drop(cache.peek(keyOf(499))!);
    assert.equal(cache.peek(keyOf(499)), undefined);
    assert.equal(cache.stats.entries, entries - 1);
    assert.ok(cache.stats.bytes < bytes);
    const many = new CommittedNodeCache();
    for (let i = 0; i < 5_000; i++) {
      many.add(keyOf(i), encodeLeafNode(key(i), value(i)));
      if (i >= 10) many.drop(many.peek(keyOf(i - 10))!);
    }
    assert.equal(many.stats.entries, 10);
    for (let i = 4_990; i < 5_000; i++) assert.ok(many.peek(keyOf(i)));
  });

  test('stateLeafHashOf is the leaf hash over the value hash', () => {
    for (const length of [0, 1, 20, 23, 24, 87, 88, 200, 1_000]) {
      const v = Uint8Array.from({ length }, (_, i) => (i * 7 + length) & 0xff);
      assert.deepEqual(
        stateLeafHashOf(key(length), v),
        stateLeafHash(key(length), stateValueHash(v)),
      );
    }
  });

  test('the committed-node cache holds the newest version of each path', () => {
    const cache = new CommittedNodeCache();
    for (const depth of [0, 1, 2, 5, 6, 7, 12]) {
      const path = Uint8Array.of(0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, 0x78);
      const at = (version: number) => encodeNodeKey(version, path, depth);
      cache.add(at(3), encodeLeafNode(key(3), value(3)));
      assert.ok(cache.peek(at(3)));
      assert.equal(cache.peek(at(2)), undefined, 'another version of the path misses');
      cache.add(at(5), encodeLeafNode(key(5), value(5)));
      assert.equal(cache.peek(at(3)), undefined, 'replaced by the newer version');
      assert.deepEqual(cache.peek(at(5))!.bytes, encodeLeafNode(key(5), value(5)));
      cache.add(at(4), encodeLeafNode(key(4), value(4)));
      assert.ok(cache.peek(at(5)), 'an older version never replaces a newer one');
      assert.equal(cache.peek(at(4)), undefined);
      // Versions beyond 32 bits are told apart too.
      cache.add(at(2 ** 40 + 5), encodeLeafNode(key(6), value(6)));
      assert.equal(cache.peek(at(5)), undefined);
      assert.ok(cache.peek(at(2 ** 40 + 5)));
    }
    assert.equal(cache.stats.entries, 7, 'one entry per path');
    // Neighbouring paths of one depth, and one path at neighbouring depths, never collide.
    const paths = new CommittedNodeCache();
    const keys: Uint8Array[] = [];
    for (let depth = 0; depth <= 8; depth++) {
      for (const first of [0x00, 0x01, 0x10, 0xf0, 0xff]) {
        const k = encodeNodeKey(1, Uint8Array.of(first, first, first, first, first), depth);
        if (keys.some((other) => equalBytes(other, k))) continue;
        keys.push(k);
        paths.add(k, encodeLeafNode(key(keys.length), value(keys.length)));
      }
    }
    assert.equal(paths.stats.entries, keys.length);
    for (let i = 0; i < keys.length; i++) {
      assert.deepEqual(paths.peek(keys[i]!)!.bytes, encodeLeafNode(key(i + 1), value(i + 1)));
    }
    // getAt (no node key built) finds exactly what the node key finds, at every depth.
    for (let depth = 0; depth <= 9; depth++) {
      const source = Uint8Array.of(0x9c, 0x3d, 0x71, 0xe5, 0x2b, 0xff);
      const other = Uint8Array.of(0x9c, 0x3d, 0x71, 0xe5, 0x2b, 0xff);
      other[depth >> 1] ^= depth % 2 === 0 ? 0x10 : 0x01; // differs at nibble depth: same path
      const version = depth % 2 === 0 ? 7 : 2 ** 33 + 7;
      paths.add(encodeNodeKey(version, source, depth), encodeLeafNode(key(100 + depth), value(1)));
      const entry = paths.peek(encodeNodeKey(version, source, depth));
      assert.ok(entry);
      assert.equal(paths.getAt(version, source, depth), entry);
      assert.equal(paths.getAt(version, other, depth), entry);
      assert.equal(paths.getAt(version + 1, source, depth), undefined);
    }
  });

  test('nodes that are views into a shared buffer count that whole buffer, once', () => {
    const cache = new CommittedNodeCache();
    const keyOf = (i: number) => encodeNodeKey(1, Uint8Array.of(i), 2);
    const shared = new ArrayBuffer(8192);
    const one = new Uint8Array(shared, 0, 100);
    one[0] = 2;
    cache.add(keyOf(1), one);
    const withOne = cache.stats.bytes;
    assert.ok(withOne >= 8192, 'a 100-byte view keeps (and is charged for) 8 KiB');
    cache.add(keyOf(2), new Uint8Array(shared, 100, 100));
    assert.ok(cache.stats.bytes - withOne < 1000, 'the second view adds no second buffer');
    cache.drop(cache.peek(keyOf(1))!);
    assert.ok(cache.stats.bytes >= 8192, 'still held by the other entry');
    cache.drop(cache.peek(keyOf(2))!);
    assert.equal(cache.stats.bytes, 0);
    // Small budget: pinned buffers make it evict instead of holding 8 KiB per tiny node.
    const small = new CommittedNodeCache({ maxBytes: 50_000 });
    for (let i = 0; i < 100; i++) small.add(keyOf(i), new Uint8Array(new ArrayBuffer(8192), 0, 90));
    assert.ok(small.stats.bytes <= 50_000);
    assert.ok(small.stats.entries <= 6);
  });
});

describe('state tree updates', () => {
  test('typed errors for bad versions, keys and values', async () => {
    const tree = new StateTree(new MemoryNodeReader());
    await assert.rejects(tree.update(3, 3, []), rejects('STATE_BAD_VERSION'));
    await assert.rejects(tree.update(3, 2, []), rejects('STATE_BAD_VERSION'));
    await assert.rejects(tree.update(null, -1, []), rejects('STATE_BAD_VERSION'));
    await assert.rejects(tree.update(null, 1.5, []), rejects('STATE_BAD_VERSION'));
    await assert.rejects(
      tree.update(null, 0, [[new Uint8Array(31), null]]),
      rejects('STATE_BAD_KEY'),
    );
    await assert.rejects(
      tree.update(null, 0, [[key(1), new Uint8Array(MAX_STATE_VALUE_BYTES + 1)]]),
      rejects('STATE_VALUE_TOO_LARGE'),
    );
    await assert.rejects(tree.update(4, 5, [[key(1), value(1)]]), rejects('STATE_MISSING_NODE'));
    await assert.rejects(tree.rootHash(0), rejects('STATE_MISSING_NODE'));
  });

  test('empty tree, a version that changes nothing, and last-write-wins within a batch', async () => {
    const store = new MemoryNodeReader();
    const tree = new StateTree(store);
    const empty = await tree.update(null, 0, []);
    assert.deepEqual(empty.rootHash, EMPTY_SUBTREE_HASH);
    store.apply(empty.nodes);
    assert.deepEqual(await tree.rootHash(0), EMPTY_SUBTREE_HASH);
    assert.ok(verifyStateProof(EMPTY_SUBTREE_HASH, key(1), undefined, await tree.prove(0, key(1))));
    const v1 = await tree.update(0, 1, [
      [key(1), value(1)],
      [key(2), value(2)],
      [key(1), null],
      [key(2), value(9)],
    ]);
    store.apply(v1.nodes);
    assert.equal(await tree.get(1, key(1)), undefined);
    assert.deepEqual(await tree.get(1, key(2)), value(9));
    // No changes, a no-op delete, and rewriting the same value: a new root, same hash.
    for (const [version, changes] of [
      [2, []],
      [3, [[key(77), null]]],
      [4, [[key(2), value(9)]]],
    ] as const) {
      const r = await tree.update(version - 1, version, changes);
      assert.deepEqual(r.rootHash, v1.rootHash);
      assert.equal(r.nodes.length, 1, 'only the root is written');
      store.apply(r.nodes);
      assert.deepEqual(await tree.get(version, key(2)), value(9));
    }
  });

  test('k updates in a tree of N cost O(k log N) reads, hashes and writes', async () => {
    const n = 4000;
    const { tree, store } = await buildTree(n);
    const before = { ...tree.stats };
    const r = await tree.update(1, 2, [[key(123), value(123, 1)]]);
    store.apply(r.nodes);
    const reads = tree.stats.nodeReads - before.nodeReads;
    const hashes = tree.stats.hashes - before.hashes;
    // log16(4000) ≈ 3: a path of ~4 nodes, ≤ 15 inner hashes each, plus the leaf's 2.
    assert.ok(reads <= 6, `reads ${reads}`);
    assert.ok(r.nodes.length <= 6, `writes ${r.nodes.length}`);
    assert.ok(hashes <= 6 * 15 + 2, `hashes ${hashes}`);
    const k = 50;
    const before2 = { ...tree.stats };
    const r2 = await tree.update(
      2,
      3,
      Array.from({ length: k }, (_, i) => [key(i * 37), value(i, 2)]),
    );
    assert.ok(r2.nodes.length <= k * 6);
    assert.ok(tree.stats.nodeReads - before2.nodeReads <= k * 6);
    assert.ok(tree.stats.hashes - before2.hashes <= k * (6 * 15 + 2));
  });
});

describe('state tree on LevelDB', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'civitas-smt-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('nodes written in one batch per version survive a reopen', async () => {
    const keys = Array.from({ length: 400 }, () => new Uint8Array(randomBytes(32)));
    const reference = new MemoryNodeReader();
    const refTree = new StateTree(reference);
    let db = new Level<Uint8Array, Uint8Array>(dir, NODE_SUBLEVEL_OPTIONS);
    let nodes = db.sublevel<Uint8Array, Uint8Array>('state-nodes', NODE_SUBLEVEL_OPTIONS);
    let tree = new StateTree(new LevelNodeReader(nodes));
    const roots: Uint8Array[] = [];
    for (let v = 0; v < 4; v++) {
      const changes: Array<[Uint8Array, Uint8Array | null]> = keys
        .slice(v * 100, v * 100 + 100)
        .map((k) => [k, k.subarray(0, 10)]);
      if (v === 3) changes.push([keys[0]!, null], [keys[150]!, Uint8Array.of(1)]);
      const r = await tree.update(v === 0 ? null : v - 1, v, changes);
      const expected = await refTree.update(v === 0 ? null : v - 1, v, changes);
      reference.apply(expected.nodes);
      assert.deepEqual(r, expected);
      await db.batch(
        r.nodes.map(([key, value]) => ({ type: 'put' as const, sublevel: nodes, key, value })),
        { sync: true },
      );
      roots.push(r.rootHash);
    }
    await db.close();
    db = new Level<Uint8Array, Uint8Array>(dir, NODE_SUBLEVEL_OPTIONS);
    nodes = db.sublevel<Uint8Array, Uint8Array>('state-nodes', NODE_SUBLEVEL_OPTIONS);
    tree = new StateTree(new LevelNodeReader(nodes));
    for (let v = 0; v < 4; v++) {
      assert.deepEqual(await tree.rootHash(v), roots[v]);
    }
    assert.equal(await tree.get(3, keys[0]!), undefined);
    assert.deepEqual(await tree.get(2, keys[0]!), keys[0]!.subarray(0, 10));
    assert.deepEqual(await tree.get(3, keys[150]!), Uint8Array.of(1));
    for (const k of keys.slice(0, 40)) {
      const { value, proof } = await tree.getWithProof(3, k);
      assert.ok(verifyStateProof(roots[3]!, k, value, proof));
      assert.ok(equalBytes(encodeStateProof(proof), encodeStateProof(await refTree.prove(3, k))));
    }
    await db.close();
  });
});
