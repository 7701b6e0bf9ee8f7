/**
 * Binary Merkle tree over an ordered list of leaves, shaped as in RFC 6962 / RFC 9162 §2.1:
 * the left subtree holds the largest power of two smaller than n leaves. Leaves and inner
 * nodes are hashed under different domain tags, so a leaf can never pass as an inner node
 * (the second-preimage attack on naive trees). The empty tree has its own tag.
 *
 * Written by hand: this is consensus-critical hashing that light clients reimplement, and
 * the audit-path algorithm is short enough to state exactly.
 */
import { equalBytes } from '../crypto/bytes.ts';
import { DomainTag, HASH_LENGTH, taggedHash } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import { Limits } from './limits.ts';

export const EMPTY_MERKLE_ROOT = taggedHash(DomainTag.merkleEmpty);

export function merkleLeafHash(data: Uint8Array): Uint8Array {
  return taggedHash(DomainTag.merkleLeaf, data);
}

function innerHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return taggedHash(DomainTag.merkleInner, left, right);
}

/** Largest power of two strictly smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function rootOfHashes(hashes: readonly Uint8Array[], from: number, to: number): Uint8Array {
  const n = to - from;
  if (n === 1) return hashes[from]!;
  const k = splitPoint(n);
  return innerHash(rootOfHashes(hashes, from, from + k), rootOfHashes(hashes, from + k, to));
}

/** Root over raw leaf data. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return EMPTY_MERKLE_ROOT;
  return rootOfHashes(leaves.map(merkleLeafHash), 0, leaves.length);
}

export interface MerkleProof {
  /** Position of the leaf, 0-based. */
  readonly index: number;
  /** Number of leaves in the tree. */
  readonly size: number;
  /** Audit path, from the leaf's sibling up to the root's child. */
  readonly siblings: readonly Uint8Array[];
}

export function merkleProof(leaves: readonly Uint8Array[], index: number): MerkleProof {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new CivitasError('MERKLE_BAD_INDEX', `leaf ${index} not in tree of ${leaves.length}`);
  }
  const hashes = leaves.map(merkleLeafHash);
  const siblings: Uint8Array[] = [];
  const walk = (from: number, to: number, i: number): void => {
    const n = to - from;
    if (n === 1) return;
    const k = splitPoint(n);
    if (i < k) {
      walk(from, from + k, i);
      siblings.push(rootOfHashes(hashes, from + k, to));
    } else {
      walk(from + k, to, i - k);
      siblings.push(rootOfHashes(hashes, from, from + k));
    }
  };
  walk(0, leaves.length, index);
  return { index, size: leaves.length, siblings };
}

/**
 * Recomputes the root from a leaf and its audit path (RFC 9162 §2.1.3.2) and compares it.
 * Pure: a client runs it with nothing but the proof, the leaf data and a trusted root.
 */
export function verifyMerkleProof(root: Uint8Array, leaf: Uint8Array, proof: MerkleProof): boolean {
  const { index, size, siblings } = proof;
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) {
    return false;
  }
  if (siblings.length > Limits.merkleProofSiblings) return false;
  let fn = index;
  let sn = size - 1;
  let hash = merkleLeafHash(leaf);
  for (const sibling of siblings) {
    if (sibling.length !== HASH_LENGTH || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      hash = innerHash(sibling, hash);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      hash = innerHash(hash, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(hash, root);
}
