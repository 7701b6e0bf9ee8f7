/**
 * State snapshots against the tree they come from (snapshot.ts): for random states (several
 * versions, deletes, keys with long shared prefixes) and random chunk sizes, a snapshot of
 * one version verifies against its root, its chunks rebuild a tree with the same root that
 * proves every key with the very proof the original gives, and every tamper is refused on
 * its own: a flipped byte in any chunk, a leaf dropped, added or changed, a manifest piece
 * changed, dropped or split where the tree has no node.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../../src/crypto/bytes.ts';
import { codeOf } from '../../../src/errors/index.ts';
import { MemoryNodeReader, StateTree, type TreeNodeReader } from '../../../src/state/smt/index.ts';
import {
  createSnapshot,
  decodeChunk,
  decodeManifest,
  encodeChunk,
  encodeManifest,
  type SnapshotManifest,
  upperNodes,
  type VerifiedManifest,
  verifyChunk,
  verifyManifest,
} from '../../../src/state/snapshot.ts';

/** A reader whose nodes can be added after each update (a Map, keys as hex). */
class MapReader implements TreeNodeReader {
  readonly nodes = new Map<string, Uint8Array>();
  put(writes: Iterable<readonly [Uint8Array, Uint8Array]>): void {
    for (const [k, v] of writes) this.nodes.set(toHex(k), v);
  }
  async getNode(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.nodes.get(toHex(key));
  }
}

type Change = readonly [Uint8Array, Uint8Array | null];

/** Builds versions 1..n from `batches` and returns the reader, the tree and the live state. */
async function buildState(batches: readonly Change[][]) {
  const reader = new MapReader();
  const tree = new StateTree(reader);
  const live = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  let root: Uint8Array = new Uint8Array(32);
  for (let v = 1; v <= batches.length; v++) {
    const { rootHash, nodes } = await tree.update(v === 1 ? null : v - 1, v, batches[v - 1]!);
    reader.put(nodes);
    root = rootHash;
    for (const [key, value] of batches[v - 1]!) {
      if (value === null) live.delete(toHex(key));
      else live.set(toHex(key), { key, value });
    }
  }
  return { reader, tree, live, version: batches.length, root };
}

async function snapshotOf(state: Awaited<ReturnType<typeof buildState>>, maxChunkBytes: number) {
  const chunks: Uint8Array[] = [];
  const manifest = await createSnapshot(
    state.reader,
    { chainId: 'snap-test', height: state.version, stateRoot: state.root },
    async (i, bytes) => {
      chunks[i] = bytes;
    },
    { maxChunkBytes },
  );
  return { manifest, chunks };
}

const trustedOf = (m: SnapshotManifest) => ({
  chainId: 'snap-test',
  height: m.height,
  stateRoot: m.stateRoot,
});

function refused(run: () => unknown, code: string, what: string): void {
  let got: string | undefined;
  try {
    run();
  } catch (err) {
    got = codeOf(err);
  }
  assert.equal(got, code, what);
}

/** Keys that share long prefixes (leaves deep in the tree) mixed with random ones. */
const keyArb = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
  fc
    .tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 29, maxLength: 29 }))
    .map(([b, rest]) => Uint8Array.from([0xab, 0xcd, b, ...rest])),
);
const valueArb = fc.uint8Array({ minLength: 0, maxLength: 120 });
const batchArb = fc.array(fc.tuple(keyArb, fc.option(valueArb, { freq: 5, nil: null })), {
  minLength: 0,
  maxLength: 60,
});

describe('state snapshots (format, verification, rebuild)', () => {
  test('round trip and tampers, over random states and chunk sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(batchArb, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 40, max: 3000 }),
        fc.nat(),
        async (batches, maxChunkBytes, seed) => {
          const state = await buildState(batches);
          const { manifest, chunks } = await snapshotOf(state, maxChunkBytes);
          // The manifest travels as bytes.
          const decoded = decodeManifest(encodeManifest(manifest));
          const verified = verifyManifest(decoded, trustedOf(manifest));
          assert.equal(
            manifest.pieces.reduce((n, p) => n + p.leafCount, 0),
            state.live.size,
            'every leaf in exactly one piece',
          );
          // Rebuild from the chunks alone.
          const rebuilt = new MemoryNodeReader();
          const values = new Map<string, Uint8Array>();
          chunks.forEach((bytes, i) => {
            const { leaves, nodes } = verifyChunk(verified, i, bytes);
            rebuilt.apply(nodes);
            for (const leaf of leaves) values.set(toHex(leaf.keyHash), leaf.value);
          });
          rebuilt.apply(upperNodes(verified));
          const tree = new StateTree(rebuilt);
          assert.equal(toHex(await tree.rootHash(state.version)), toHex(state.root));
          assert.equal(values.size, state.live.size);
          for (const { key, value } of state.live.values()) {
            assert.equal(toHex(values.get(toHex(key))!), toHex(value));
            const a = await tree.getWithProof(state.version, key);
            const b = await state.tree.getWithProof(state.version, key);
            assert.deepEqual(a, b, 'the same proof from the rebuilt tree');
          }
          // An update on top of the rebuilt tree makes the same root as on the original.
          const next = batches[0]!.slice(0, 5);
          const [x, y] = await Promise.all([
            tree.update(state.version, state.version + 1, next),
            state.tree.update(state.version, state.version + 1, next),
          ]);
          assert.equal(toHex(x.rootHash), toHex(y.rootHash));

          if (chunks.length === 0) return;
          // One flipped byte anywhere in any chunk.
          const i = seed % chunks.length;
          const flipped = chunks[i]!.slice();
          flipped[(seed >> 3) % flipped.length]! ^= 1 << (seed & 7);
          refused(() => verifyChunk(verified, i, flipped), 'SNAPSHOT_BAD_CHUNK', 'flipped byte');
          // Leaves dropped, added or changed, with the manifest's length made to fit.
          const leaves = decodeChunk(chunks[i]!);
          const withLength = (bytes: Uint8Array): VerifiedManifest => ({
            ...verified,
            manifest: {
              ...verified.manifest,
              chunks: verified.manifest.chunks.map((c, j) =>
                j === i ? { ...c, byteLength: bytes.length } : c,
              ),
            },
          });
          const tampered = (l: typeof leaves, what: string) => {
            const bytes = encodeChunk(l);
            refused(() => verifyChunk(withLength(bytes), i, bytes), 'SNAPSHOT_BAD_CHUNK', what);
          };
          const k = seed % leaves.length;
          tampered(
            leaves.filter((_, j) => j !== k),
            'a leaf missing',
          );
          const extraKey = leaves[k]!.keyHash.slice();
          extraKey[31] = extraKey[31]! ^ 1;
          tampered(
            [...leaves, { keyHash: extraKey, value: new Uint8Array([1]) }].sort((a, b) =>
              toHex(a.keyHash) < toHex(b.keyHash) ? -1 : 1,
            ),
            'an extra leaf',
          );
          tampered(
            leaves.map((l, j) => (j === k ? { ...l, value: Uint8Array.of(...l.value, 0) } : l)),
            'a value changed',
          );
          // The manifest: a piece hash or count changed, a piece dropped.
          const p = seed % manifest.pieces.length;
          const pieces = manifest.pieces.map((piece, j) =>
            j === p ? { ...piece, hash: piece.hash.map((b, n) => (n === 0 ? b ^ 1 : b)) } : piece,
          );
          refused(
            () => verifyManifest({ ...manifest, pieces }, trustedOf(manifest)),
            'SNAPSHOT_BAD_MANIFEST',
            'a piece hash changed',
          );
          if (manifest.pieces.length > 1) {
            refused(
              () =>
                verifyManifest(
                  {
                    ...manifest,
                    pieces: manifest.pieces.filter((_, j) => j !== p),
                    chunks: [{ pieceCount: manifest.pieces.length - 1, byteLength: 1 }],
                  },
                  trustedOf(manifest),
                ),
              'SNAPSHOT_BAD_MANIFEST',
              'a piece dropped',
            );
          }
          refused(
            () =>
              verifyManifest(manifest, {
                ...trustedOf(manifest),
                stateRoot: new Uint8Array(32).fill(7),
              }),
            'SNAPSHOT_BAD_MANIFEST',
            'another trusted root',
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a lone leaf cut below its own subtree is refused even though its hashes add up', async () => {
    // Two leaves under different first nibbles; one is claimed as a piece at depth 2 whose
    // parent (depth 1) would hold it alone: the hashes are those of the real tree (a lone
    // leaf's subtree has the leaf's hash at any depth), but no canonical tree has that node.
    const a = new Uint8Array(32).fill(0x11);
    const b = new Uint8Array(32).fill(0x22);
    const state = await buildState([
      [
        [a, Uint8Array.of(1)],
        [b, Uint8Array.of(2)],
      ],
    ]);
    const { manifest } = await snapshotOf(state, 40);
    assert.equal(manifest.pieces.length, 2);
    verifyManifest(manifest, trustedOf(manifest));
    const deeper = manifest.pieces.map((piece, j) =>
      j === 0 ? { ...piece, depth: 2, path: Uint8Array.of(0x11) } : piece,
    );
    refused(
      () => verifyManifest({ ...manifest, pieces: deeper }, trustedOf(manifest)),
      'SNAPSHOT_BAD_MANIFEST',
      'a piece below a node of one leaf',
    );
  });

  test('the empty state and a one-leaf state', async () => {
    for (const batch of [[], [[new Uint8Array(32).fill(5), Uint8Array.of(9)] as const]]) {
      const state = await buildState([batch]);
      const { manifest, chunks } = await snapshotOf(state, 1 << 20);
      const verified = verifyManifest(manifest, trustedOf(manifest));
      const rebuilt = new MemoryNodeReader();
      chunks.forEach((bytes, i) => {
        rebuilt.apply(verifyChunk(verified, i, bytes).nodes);
      });
      rebuilt.apply(upperNodes(verified));
      assert.equal(toHex(await new StateTree(rebuilt).rootHash(state.version)), toHex(state.root));
    }
  });
});
