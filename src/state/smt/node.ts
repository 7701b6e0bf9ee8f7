/**
 * Stored tree nodes and their canonical encoding.
 *
 * Why 16-ary nodes with binary hashing inside (Jellyfish Merkle Tree's layout): a binary tree
 * over N random keys is ~log2(N) levels deep (20 at 10^6), so a lookup would cost ~20
 * dependent LevelDB reads. Grouping four bit-levels into one stored node cuts that to
 * ~log16(N) (5 at 10^6) reads of nodes of at most 661 bytes, while proofs and hashes stay
 * those of the binary tree (hashes.ts), so proofs are ~log2(N) hashes, not 15·log16(N). The
 * price is the inner hashes inside a node: up to 15 to compute a node's hash from its
 * children. A rewrite whose old node's inner hashes are known (InnerHashes, kept by the
 * committed-node cache) rehashes only the ranges holding a changed child: ≤ 4 per child.
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
import { decode, type Reader } from '../../codec/index.ts';
import { CivitasError } from '../../errors/index.ts';
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

/** Bytes of a varuint (unsigned LEB128, as the codec writes it). */
function varuintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

function writeVaruint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}

/*
 * The two encoders below write the codec's layout (u8, fixed bytes, varuint, big-endian u16)
 * by hand into one exactly sized buffer: they run for every node a block rewrites, and the
 * general Writer's growth checks and final copy were a visible share of the update. The
 * codec-built reference in test/unit/state/smt.test.ts pins them to the same bytes.
 */

/** Where encoders get their output buffer (a ByteSlab's `take` on the update path). */
export type ByteAllocator = (length: number) => Uint8Array;

const newBytes: ByteAllocator = (length) => new Uint8Array(length);

export function encodeLeafNode(
  keyHash: Uint8Array,
  value: Uint8Array,
  alloc: ByteAllocator = newBytes,
): Uint8Array {
  if (keyHash.length !== KEY_HASH_LENGTH) throw badNode('leaf key hash must be 32 bytes');
  const out = alloc(1 + KEY_HASH_LENGTH + varuintLength(value.length) + value.length);
  out[0] = NodeKind.leaf;
  out.set(keyHash, 1);
  const at = writeVaruint(out, 1 + KEY_HASH_LENGTH, value.length);
  out.set(value, at);
  return out;
}

export function encodeInternalNode(
  node: Omit<InternalNode, 'kind'>,
  alloc: ByteAllocator = newBytes,
): Uint8Array {
  const { childMask, leafMask, versions, hashes } = node;
  let size = 5;
  for (let i = 0; i < 16; i++) {
    if ((childMask & (1 << i)) !== 0) size += varuintLength(versions[i]!) + KEY_HASH_LENGTH;
  }
  const out = alloc(size);
  out[0] = NodeKind.internal;
  out[1] = childMask >>> 8;
  out[2] = childMask & 0xff;
  out[3] = leafMask >>> 8;
  out[4] = leafMask & 0xff;
  let at = 5;
  for (let i = 0; i < 16; i++) {
    if ((childMask & (1 << i)) === 0) continue;
    const hash = hashes[i]!;
    if (hash.length !== KEY_HASH_LENGTH) throw badNode('child hash must be 32 bytes');
    at = writeVaruint(out, at, versions[i]!);
    out.set(hash, at);
    at += KEY_HASH_LENGTH;
  }
  return out;
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
 * The binary subtree hashes inside one internal node, heap-ordered: [1] is the node's hash,
 * [2i] and [2i + 1] are the halves of [i], down to [8..15] (pairs of nibbles); [0] is unused.
 * An entry is undefined where no computation has looked (a range above it was empty or a lone
 * leaf, or its children changed). Every defined entry is the hash of its range in this node,
 * which is what lets a rewrite of the node reuse the ranges whose children did not change.
 */
export type InnerHashes = ReadonlyArray<Uint8Array | undefined>;

/** Child nibbles covered by each heap index of InnerHashes (index 0 unused). */
const RANGE_MASKS: readonly number[] = Array.from({ length: 16 }, (_, index) => {
  if (index === 0) return 0;
  const level = 31 - Math.clz32(index);
  const width = 16 >> level;
  return ((1 << width) - 1) << ((index - (1 << level)) * width);
});

/**
 * Hash of the binary subtree spanning child nibbles [lo, lo + width) of an internal node, at
 * heap index `index`: empty → placeholder; a single leaf → the leaf's hash (leaf compression);
 * otherwise the inner hash of both halves. Nibbles below lo + width/2 have a 0 in the next key
 * bit: left. With `out`, each range's hash is stored there, and a range already held in `out`
 * is taken from it instead of being recomputed.
 */
function rangeHash(
  childMask: number,
  leafMask: number,
  hashes: readonly (Uint8Array | undefined)[],
  index: number,
  lo: number,
  width: number,
  out: Array<Uint8Array | undefined> | undefined,
  counter: HashCounter | undefined,
): Uint8Array {
  const present = childMask & (((1 << width) - 1) << lo);
  if (present === 0) return EMPTY_SUBTREE_HASH;
  if ((present & (present - 1)) === 0 && ((leafMask & present) !== 0 || width === 1)) {
    return hashes[31 - Math.clz32(present)]!;
  }
  const known = out?.[index];
  if (known !== undefined) return known;
  const half = width >> 1;
  const left = rangeHash(childMask, leafMask, hashes, 2 * index, lo, half, out, counter);
  const right = rangeHash(
    childMask,
    leafMask,
    hashes,
    2 * index + 1,
    lo + half,
    half,
    out,
    counter,
  );
  if (counter !== undefined) counter.hashes++;
  const hash = stateInnerHash(left, right);
  if (out !== undefined) out[index] = hash;
  return hash;
}

export function internalNodeHash(
  node: Pick<InternalNode, 'childMask' | 'leafMask' | 'hashes'>,
  counter?: HashCounter,
): Uint8Array {
  return rangeHash(node.childMask, node.leafMask, node.hashes, 1, 0, 16, undefined, counter);
}

/**
 * The node's hash and all its inner hashes. With `previous` (the inner hashes of the node this
 * one rewrites) and `dirty` (the nibbles whose child changed: added, removed, or a new hash),
 * only the ranges containing a dirty nibble are rehashed: one path of ≤ 4 hashes per changed
 * child instead of up to 15 for the node.
 */
export function internalNodeHashes(
  node: Pick<InternalNode, 'childMask' | 'leafMask' | 'hashes'>,
  counter?: HashCounter,
  previous?: InnerHashes,
  dirty = 0xffff,
): InnerHashes {
  const out: Array<Uint8Array | undefined> =
    previous === undefined ? new Array<Uint8Array | undefined>(16) : previous.slice();
  if (previous !== undefined) {
    for (let index = 1; index < 16; index++) {
      if ((RANGE_MASKS[index]! & dirty) !== 0) out[index] = undefined;
    }
  }
  out[1] = rangeHash(node.childMask, node.leafMask, node.hashes, 1, 0, 16, out, counter);
  return out;
}

/** Where a key's path leaves an internal node, after its in-node siblings are collected. */
export type InternalStep =
  | { readonly kind: 'empty' }
  | { readonly kind: 'leaf'; readonly nibble: number }
  | { readonly kind: 'child'; readonly nibble: number };

/**
 * Walks the four bit-levels of `node` along `nibble`, appending the sibling hash of each
 * level to `siblings` (root side first), and stops where the key's side becomes empty, holds
 * a single leaf, or reaches the child at `nibble` (an internal node to descend into). Sibling
 * ranges found in `inner` (the node's known inner hashes) are not recomputed.
 */
export function internalNodePath(
  node: InternalNode,
  nibble: number,
  siblings: Uint8Array[],
  counter?: HashCounter,
  inner?: InnerHashes,
): InternalStep {
  let lo = 0;
  let index = 1;
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
    const siblingIndex = 2 * index + (goRight ? 0 : 1);
    const sibling =
      (half > 1 ? inner?.[siblingIndex] : undefined) ??
      rangeHash(
        node.childMask,
        node.leafMask,
        node.hashes,
        siblingIndex,
        siblingLo,
        half,
        undefined,
        counter,
      );
    // Proofs leave this module: hand out copies, never hashes a node (or a cache) still holds.
    siblings.push(sibling.slice());
    index = 2 * index + (goRight ? 1 : 0);
    if (goRight) lo += half;
  }
}
