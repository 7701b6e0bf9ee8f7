/**
 * Stored tree nodes and their canonical encoding.
 *
 * Why 16-ary nodes with binary hashing inside (Jellyfish Merkle Tree's layout): a binary tree
 * over N random keys is ~log2(N) levels deep (20 at 10^6), so a lookup would cost ~20
 * dependent LevelDB reads. Grouping four bit-levels into one stored node cuts that to
 * ~log16(N) (5 at 10^6) reads of nodes of at most 661 bytes, while proofs and hashes stay
 * those of the binary tree (hashes.ts), so proofs are ~log2(N) hashes, not 15·log16(N). The
 * price is recomputing up to 15 inner hashes of a touched node instead of 4; hashing a
 * 64-byte pair is microseconds, a LevelDB read of a cold node is far more.
 *
 * Encodings (first byte = node kind; a new layout gets a new kind byte):
 *   empty     0x00                                    root of the empty tree only
 *   internal  0x01 || childMask u16 || leafMask u16 || per child, in nibble order:
 *             version varuint || hash[32]
 *   leaf      0x02 || keyHash[32] || value (varint length || bytes)
 * Bit i of childMask means child nibble i exists; bit i of leafMask that it is a leaf. A
 * child's storage key is (its version, parent path || nibble), so the parent holds all that is
 * needed to read it.
 */
import { decode, encode, type Reader } from '../../codec/index.ts';
import { CivitasError } from '../../errors.ts';
import {
  EMPTY_SUBTREE_HASH,
  isEmptySubtreeHash,
  KEY_HASH_LENGTH,
  stateInnerHash,
} from './hashes.ts';

/** Largest value a leaf may hold. State values are account-sized records, not documents. */
export const MAX_STATE_VALUE_BYTES = 65_536;

export const NodeKind = { empty: 0, internal: 1, leaf: 2 } as const;

export interface EmptyNode {
  readonly kind: typeof NodeKind.empty;
}

export interface InternalNode {
  readonly kind: typeof NodeKind.internal;
  /** Bit i set: child nibble i exists. Never 0. */
  readonly childMask: number;
  /** Bit i set: child nibble i is a leaf. A subset of childMask. */
  readonly leafMask: number;
  /** Indexed by nibble; meaningful where childMask has the bit. */
  readonly versions: readonly number[];
  readonly hashes: readonly (Uint8Array | undefined)[];
}

export interface LeafNode {
  readonly kind: typeof NodeKind.leaf;
  readonly keyHash: Uint8Array;
  readonly value: Uint8Array;
}

export type TreeNode = EmptyNode | InternalNode | LeafNode;

/** Counts hash computations, for benchmarks and complexity tests. */
export interface HashCounter {
  hashes: number;
}

const EMPTY_NODE_BYTES = Uint8Array.of(NodeKind.empty);

export function encodeEmptyNode(): Uint8Array {
  return EMPTY_NODE_BYTES.slice();
}

export function encodeLeafNode(keyHash: Uint8Array, value: Uint8Array): Uint8Array {
  return encode(
    (w) => w.u8(NodeKind.leaf).fixed(keyHash, KEY_HASH_LENGTH).bytes(value),
    1 + KEY_HASH_LENGTH + 4 + value.length,
  );
}

export function encodeInternalNode(node: Omit<InternalNode, 'kind'>): Uint8Array {
  return encode(
    (w) => {
      w.u8(NodeKind.internal).u16(node.childMask).u16(node.leafMask);
      for (let i = 0; i < 16; i++) {
        if ((node.childMask & (1 << i)) === 0) continue;
        w.varuint(node.versions[i]!).fixed(node.hashes[i]!, KEY_HASH_LENGTH);
      }
    },
    5 + 16 * 41,
  );
}

function badNode(message: string, context: Record<string, unknown> = {}): CivitasError {
  return new CivitasError('STATE_BAD_NODE', message, context);
}

function readInternal(r: Reader): InternalNode {
  const childMask = r.u16();
  const leafMask = r.u16();
  // Rule: an internal node has at least one child.
  if (childMask === 0) throw badNode('internal node without children');
  // Rule: only existing children can be leaves.
  if ((leafMask & ~childMask) !== 0) throw badNode('leaf mask names a missing child');
  // Rule: a lone leaf is stored in its parent's place (leaf compression), never below a node.
  if ((childMask & (childMask - 1)) === 0 && leafMask !== 0) {
    throw badNode('internal node with a single leaf child');
  }
  const versions = new Array<number>(16).fill(0);
  const hashes = new Array<Uint8Array | undefined>(16);
  for (let i = 0; i < 16; i++) {
    if ((childMask & (1 << i)) === 0) continue;
    versions[i] = r.varuint();
    const hash = r.fixed(KEY_HASH_LENGTH);
    // Rule: an existing child is never the empty subtree (that is what a clear bit means).
    if (isEmptySubtreeHash(hash)) throw badNode('child hash is the empty-subtree hash');
    hashes[i] = hash;
  }
  return { kind: NodeKind.internal, childMask, leafMask, versions, hashes };
}

/** Strict decoder: CODEC_* for framing errors, STATE_BAD_NODE for broken tree rules. */
export function decodeNode(bytes: Uint8Array): TreeNode {
  return decode(bytes, (r): TreeNode => {
    const kind = r.u8();
    switch (kind) {
      case NodeKind.empty:
        return { kind: NodeKind.empty };
      case NodeKind.internal:
        return readInternal(r);
      case NodeKind.leaf: {
        const keyHash = r.fixed(KEY_HASH_LENGTH);
        const value = r.bytes(MAX_STATE_VALUE_BYTES);
        return { kind: NodeKind.leaf, keyHash, value };
      }
      default:
        throw badNode(`unknown node kind ${kind}`, { kind });
    }
  });
}

/**
 * Hash of the binary subtree spanning child nibbles [lo, lo + width) of an internal node:
 * empty → placeholder; a single leaf → the leaf's hash (leaf compression); otherwise the inner
 * hash of both halves. Nibbles below lo + width/2 have a 0 in the next key bit: left.
 */
function rangeHash(
  childMask: number,
  leafMask: number,
  hashes: readonly (Uint8Array | undefined)[],
  lo: number,
  width: number,
  counter: HashCounter | undefined,
): Uint8Array {
  const present = childMask & (((1 << width) - 1) << lo);
  if (present === 0) return EMPTY_SUBTREE_HASH;
  if ((present & (present - 1)) === 0 && ((leafMask & present) !== 0 || width === 1)) {
    return hashes[31 - Math.clz32(present)]!;
  }
  const half = width >> 1;
  const left = rangeHash(childMask, leafMask, hashes, lo, half, counter);
  const right = rangeHash(childMask, leafMask, hashes, lo + half, half, counter);
  if (counter !== undefined) counter.hashes++;
  return stateInnerHash(left, right);
}

export function internalNodeHash(
  node: Pick<InternalNode, 'childMask' | 'leafMask' | 'hashes'>,
  counter?: HashCounter,
): Uint8Array {
  return rangeHash(node.childMask, node.leafMask, node.hashes, 0, 16, counter);
}

/** Where a key's path leaves an internal node, after its in-node siblings are collected. */
export type InternalStep =
  | { readonly kind: 'empty' }
  | { readonly kind: 'leaf'; readonly nibble: number }
  | { readonly kind: 'child'; readonly nibble: number };

/**
 * Walks the four bit-levels of `node` along `nibble`, appending the sibling hash of each
 * level to `siblings` (root side first), and stops where the key's side becomes empty, holds
 * a single leaf, or reaches the child at `nibble` (an internal node to descend into).
 */
export function internalNodePath(
  node: InternalNode,
  nibble: number,
  siblings: Uint8Array[],
  counter?: HashCounter,
): InternalStep {
  let lo = 0;
  for (let width = 16; ; width >>= 1) {
    const present = node.childMask & (((1 << width) - 1) << lo);
    if (present === 0) return { kind: 'empty' };
    if ((present & (present - 1)) === 0) {
      const only = 31 - Math.clz32(present);
      if ((node.leafMask & present) !== 0) return { kind: 'leaf', nibble: only };
      if (width === 1) return { kind: 'child', nibble: only };
    }
    const half = width >> 1;
    const goRight = nibble >= lo + half;
    const siblingLo = goRight ? lo : lo + half;
    const sibling = rangeHash(node.childMask, node.leafMask, node.hashes, siblingLo, half, counter);
    // Proofs leave this module: never hand out the shared constant.
    siblings.push(sibling === EMPTY_SUBTREE_HASH ? sibling.slice() : sibling);
    if (goRight) lo += half;
  }
}
