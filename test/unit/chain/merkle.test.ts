/**
 * The RFC 6962-shaped Merkle tree: roots against a naive reference written from the RFC's
 * recursive definition, every audit path of every leaf for sizes up to 70, tampered proofs,
 * and leaf/inner domain separation (the second-preimage attack on untagged trees).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  EMPTY_MERKLE_ROOT,
  type MerkleProof,
  merkleLeafHash,
  merkleProof,
  merkleRoot,
  verifyMerkleProof,
} from '../../../src/chain/index.ts';
import { concatBytes } from '../../../src/crypto/bytes.ts';
import { DomainTag, taggedHash } from '../../../src/crypto/hash.ts';
import { isCivitasError } from '../../../src/errors/index.ts';

const MAX_SIZE = 70;

/** RFC 6962 §2.1 MTH, with this project's tags: k = largest power of two < n. */
function referenceRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return taggedHash(DomainTag.merkleEmpty);
  if (leaves.length === 1) return taggedHash(DomainTag.merkleLeaf, leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return taggedHash(
    DomainTag.merkleInner,
    referenceRoot(leaves.slice(0, k)),
    referenceRoot(leaves.slice(k)),
  );
}

/**
 * RFC 6962 §2.1.1 PATH(m, D[n]) as the side each sibling sits on, leaf upwards. Two
 * (index, size) pairs with the same shape hash a given path identically.
 */
function pathShape(index: number, size: number): string {
  if (size <= 1) return '';
  let k = 1;
  while (k * 2 < size) k *= 2;
  return index < k ? `${pathShape(index, k)}R` : `${pathShape(index - k, size - k)}L`;
}

function leavesOf(n: number, salt = 0): Uint8Array[] {
  // Varying lengths, including empty leaves, so leaf framing is exercised.
  return Array.from({ length: n }, (_, i) =>
    Uint8Array.from({ length: (i * 7 + salt) % 41 }, (_, j) => (i * 31 + j + salt) & 0xff),
  );
}

const trees = Array.from({ length: MAX_SIZE + 1 }, (_, n) => leavesOf(n));
const roots = trees.map(merkleRoot);

describe('merkle root', () => {
  test('matches the RFC 6962 reference for sizes 0..70', () => {
    for (let n = 0; n <= MAX_SIZE; n++) {
      assert.deepEqual(roots[n], referenceRoot(trees[n]!), `size ${n}`);
    }
  });

  test('empty tree, single leaf, and order sensitivity', () => {
    assert.deepEqual(merkleRoot([]), EMPTY_MERKLE_ROOT);
    assert.notDeepEqual(EMPTY_MERKLE_ROOT, merkleLeafHash(new Uint8Array(0)));
    assert.deepEqual(merkleRoot([Uint8Array.of(1)]), merkleLeafHash(Uint8Array.of(1)));
    const [a, b] = [Uint8Array.of(1), Uint8Array.of(2)];
    assert.notDeepEqual(merkleRoot([a, b]), merkleRoot([b, a]));
    // Appending a leaf changes the root (no odd-leaf duplication as in Bitcoin's tree).
    assert.notDeepEqual(merkleRoot([a, b, b]), merkleRoot([a, b]));
    assert.notDeepEqual(merkleRoot([a, b, a, b]), merkleRoot([a, b]));
  });

  test('distinct sizes of the same prefix give distinct roots', () => {
    const seen = new Set(roots.map((r) => Buffer.from(r).toString('hex')));
    assert.equal(seen.size, roots.length);
  });
});

describe('merkle proofs', () => {
  test('every proof of every index verifies, for sizes 1..70', () => {
    let checked = 0;
    for (let n = 1; n <= MAX_SIZE; n++) {
      const leaves = trees[n]!;
      for (let i = 0; i < n; i++) {
        const proof = merkleProof(leaves, i);
        assert.equal(proof.index, i);
        assert.equal(proof.size, n);
        assert.equal(proof.siblings.length, pathShape(i, n).length);
        assert.ok(verifyMerkleProof(roots[n]!, leaves[i]!, proof), `size ${n} index ${i}`);
        checked++;
      }
    }
    assert.equal(checked, (MAX_SIZE * (MAX_SIZE + 1)) / 2);
  });

  test('tampered proofs fail: sibling byte, leaf, root, extra and missing siblings', () => {
    for (let n = 1; n <= MAX_SIZE; n += n < 12 ? 1 : 7) {
      const leaves = trees[n]!;
      const root = roots[n]!;
      for (let i = 0; i < n; i++) {
        const proof = merkleProof(leaves, i);
        const leaf = leaves[i]!;
        proof.siblings.forEach((_, s) => {
          const siblings = proof.siblings.map((x) => Uint8Array.from(x));
          siblings[s]![(i + s) % 32]! ^= 0x01;
          assert.ok(!verifyMerkleProof(root, leaf, { ...proof, siblings }), `flip ${n}/${i}/${s}`);
        });
        assert.ok(!verifyMerkleProof(root, concatBytes(leaf, Uint8Array.of(0)), proof));
        const otherRoot = Uint8Array.from(root);
        otherRoot[0]! ^= 0x80;
        assert.ok(!verifyMerkleProof(otherRoot, leaf, proof));
        const extra = { ...proof, siblings: [...proof.siblings, root] };
        assert.ok(!verifyMerkleProof(root, leaf, extra), `extra sibling ${n}/${i}`);
        if (proof.siblings.length > 0) {
          const missing = { ...proof, siblings: proof.siblings.slice(0, -1) };
          assert.ok(!verifyMerkleProof(root, leaf, missing), `missing sibling ${n}/${i}`);
          const short = {
            ...proof,
            siblings: [proof.siblings[0]!.slice(0, 31), ...proof.siblings.slice(1)],
          };
          assert.ok(!verifyMerkleProof(root, leaf, short), `short sibling ${n}/${i}`);
        }
      }
    }
  });

  test('a wrong index or size fails unless it names the same audit path shape', () => {
    // The proof does not authenticate (index, size) on its own: a pair with the same path
    // shape hashes identically (e.g. leaf 2 of 3 is also "leaf 1 of 2"). Everything else fails.
    let refused = 0;
    for (let n = 1; n <= 16; n++) {
      const leaves = trees[n]!;
      for (let i = 0; i < n; i++) {
        const proof = merkleProof(leaves, i);
        for (let n2 = 1; n2 <= 18; n2++) {
          for (let i2 = 0; i2 < n2; i2++) {
            if (i2 === i && n2 === n) continue;
            const ok = verifyMerkleProof(roots[n]!, leaves[i]!, { ...proof, index: i2, size: n2 });
            assert.equal(ok, pathShape(i2, n2) === pathShape(i, n), `${i}/${n} as ${i2}/${n2}`);
            if (!ok) refused++;
          }
        }
      }
    }
    assert.ok(refused > 5_000);
  });

  test('nonsense index and size are refused, never thrown', () => {
    const leaves = trees[5]!;
    const proof = merkleProof(leaves, 2);
    const bad: MerkleProof[] = [
      { ...proof, index: -1 },
      { ...proof, index: 5 },
      { ...proof, size: 0 },
      { ...proof, index: 1.5 },
      { ...proof, size: Number.NaN },
      { ...proof, size: Number.POSITIVE_INFINITY },
      { ...proof, siblings: Array.from({ length: 65 }, () => new Uint8Array(32)) },
    ];
    for (const p of bad) assert.equal(verifyMerkleProof(roots[5]!, leaves[2]!, p), false);
    assert.throws(
      () => merkleProof(leaves, 5),
      (e: unknown) => isCivitasError(e, 'MERKLE_BAD_INDEX'),
    );
    assert.throws(
      () => merkleProof([], 0),
      (e: unknown) => isCivitasError(e, 'MERKLE_BAD_INDEX'),
    );
  });
});

describe('domain separation', () => {
  test('a 64-byte leaf equal to two child hashes does not give the inner hash', () => {
    const [a, b] = [Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5, 6)];
    const twoLeafRoot = merkleRoot([a, b]);
    const forged = concatBytes(merkleLeafHash(a), merkleLeafHash(b));
    assert.equal(forged.length, 64);
    assert.notDeepEqual(merkleRoot([forged]), twoLeafRoot);
    assert.ok(!verifyMerkleProof(twoLeafRoot, forged, { index: 0, size: 1, siblings: [] }));
    // An inner node presented as a leaf of a bigger tree does not verify either.
    const four = [a, b, Uint8Array.of(7), Uint8Array.of(8)];
    const fourRoot = merkleRoot(four);
    const proofOfInner = { index: 0, size: 2, siblings: [referenceRoot(four.slice(2))] };
    assert.ok(!verifyMerkleProof(fourRoot, forged, proofOfInner));
    // Without the tags the forgery would work: the check above is meaningful.
    const untaggedInner = taggedHash(DomainTag.merkleInner, merkleLeafHash(a), merkleLeafHash(b));
    assert.deepEqual(untaggedInner, twoLeafRoot);
  });

  test('leaf, inner and empty tags differ from plain SHA-256 framing', () => {
    const data = new Uint8Array(64);
    const leaf = merkleLeafHash(data);
    const inner = taggedHash(DomainTag.merkleInner, data.subarray(0, 32), data.subarray(32));
    assert.notDeepEqual(leaf, inner);
    assert.notDeepEqual(leaf, taggedHash(DomainTag.tx, data));
  });
});
