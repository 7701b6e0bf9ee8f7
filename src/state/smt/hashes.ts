/**
 * The hashes of the state tree. The tree is, by its hashes, a binary sparse Merkle tree over
 * the 256 bits of the key hash (most significant bit first), with leaf compression: a subtree
 * holding exactly one leaf is represented by that leaf's hash, and an empty subtree by
 * EMPTY_SUBTREE_HASH. How nodes are grouped for storage (16-ary, see node.ts) does not change
 * any hash, which is what lets light clients verify proofs without knowing the storage layout.
 *
 *   valueHash(v)     = taggedHash(stateValue, v)
 *   leafHash(k, vh)  = taggedHash(stateLeaf, k || vh)          k: 32-byte key hash
 *   innerHash(l, r)  = taggedHash(stateInner, l || r)
 *   empty subtree    = 32 zero bytes
 *
 * The empty placeholder is 32 zero bytes (as Diem's SPARSE_MERKLE_PLACEHOLDER_HASH is a fixed
 * constant): finding a leaf or inner preimage hashing to zero would be a SHA-256 preimage
 * attack, so no real subtree can pass as empty. A fixed all-zero value also makes "this sibling
 * is empty" a one-bit fact in compact proof encodings.
 */
import { DomainTag, HASH_LENGTH, taggedHash, taggedHashInto } from '../../crypto/hash.ts';

export const KEY_HASH_LENGTH = HASH_LENGTH;

/**
 * The hash of an empty subtree, and the root hash of the empty tree. Shared: compare with it,
 * never mutate it (results handed to callers are copies).
 */
export const EMPTY_SUBTREE_HASH: Uint8Array = new Uint8Array(HASH_LENGTH);

/** Maps an application key (e.g. an encoded account address) to its 32-byte tree key. */
export function stateKeyHash(appKey: Uint8Array): Uint8Array {
  return taggedHash(DomainTag.stateKey, appKey);
}

export function stateValueHash(value: Uint8Array): Uint8Array {
  return taggedHash(DomainTag.stateValue, value);
}

export function stateLeafHash(keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  return taggedHash(DomainTag.stateLeaf, keyHash, valueHash);
}

// The value hash of stateLeafHashOf, consumed at once: one buffer for every call.
const valueHashScratch = new Uint8Array(HASH_LENGTH);

/** stateLeafHash(keyHash, stateValueHash(value)), with no array made for the value hash. */
export function stateLeafHashOf(keyHash: Uint8Array, value: Uint8Array): Uint8Array {
  taggedHashInto(valueHashScratch, DomainTag.stateValue, value);
  return taggedHash(DomainTag.stateLeaf, keyHash, valueHashScratch);
}

export function stateInnerHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return taggedHash(DomainTag.stateInner, left, right);
}

export function isEmptySubtreeHash(hash: Uint8Array): boolean {
  if (hash.length !== HASH_LENGTH) return false;
  for (let i = 0; i < HASH_LENGTH; i++) if (hash[i] !== 0) return false;
  return true;
}

/** Bit `i` (0 = most significant bit of byte 0) of a key hash: 0 = left, 1 = right. */
export function keyBit(keyHash: Uint8Array, i: number): number {
  return (keyHash[i >> 3]! >> (7 - (i & 7))) & 1;
}

/** Nibble `d` of a key hash (0 = high nibble of byte 0): the child index at 16-ary depth d. */
export function keyNibble(keyHash: Uint8Array, d: number): number {
  const b = keyHash[d >> 1]!;
  return (d & 1) === 0 ? b >> 4 : b & 0x0f;
}
