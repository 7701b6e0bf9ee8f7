/**
 * One version of the tree built from its leaves alone, handed in by increasing key hash: the
 * nodes `update(null, version, leaves)` makes, byte for byte (a leaf at its shortest unique
 * prefix, an internal node wherever two leaves or more share a prefix), given out as each is
 * finished. What is held meanwhile is one path of open internal nodes (at most 64, with their
 * children's hashes) and the last leaf, whose depth the next leaf decides; never the tree. The
 * genesis state is built with it (state/genesis-state.ts): a genesis may fund more accounts
 * than a node can hold tree nodes for at once.
 */
import { compareBytes } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import { EMPTY_SUBTREE_HASH, KEY_HASH_LENGTH, keyNibble, stateLeafHashOf } from './hashes.ts';
import {
  encodeEmptyNode,
  encodeInternalNode,
  encodeLeafNode,
  internalNodeHash,
  MAX_STATE_VALUE_BYTES,
} from './node.ts';
import { encodeNodeKey } from './node-key.ts';
import type { NodeWrite } from './node-reader.ts';

/** An internal node whose children are not all known yet. */
interface OpenNode {
  readonly depth: number;
  /** A key hash under the node: the first `depth` nibbles are its path. */
  readonly source: Uint8Array;
  childMask: number;
  leafMask: number;
  readonly hashes: Array<Uint8Array | undefined>;
}

interface Leaf {
  readonly keyHash: Uint8Array;
  readonly value: Uint8Array;
}

/** Leading nibbles two different key hashes share (< 64). */
function sharedNibbles(a: Uint8Array, b: Uint8Array): number {
  let i = 0;
  while (a[i] === b[i]) i++;
  return 2 * i + ((a[i]! ^ b[i]!) < 0x10 ? 1 : 0);
}

export class SortedTreeBuilder {
  private readonly version: number;
  /** The open internal nodes on the path of the last leaf, by depth: open[d].depth === d. */
  private readonly open: OpenNode[] = [];
  /** The last leaf added, placed once the next one (or the end) shows how deep it sits. */
  private pending: Leaf | undefined;
  private done = false;

  constructor(version: number) {
    this.version = version;
  }

  /**
   * Adds the next leaf (its key hash above the last one's; STATE_LEAVES_UNSORTED otherwise)
   * and appends the nodes it finished to `out`.
   */
  add(keyHash: Uint8Array, value: Uint8Array, out: NodeWrite[]): void {
    if (this.done) throw new CivitasError('STATE_LEAVES_UNSORTED', 'the tree is finished');
    if (!(keyHash instanceof Uint8Array) || keyHash.length !== KEY_HASH_LENGTH) {
      throw new CivitasError('STATE_BAD_KEY', `state key hash must be ${KEY_HASH_LENGTH} bytes`);
    }
    if (!(value instanceof Uint8Array)) {
      throw new CivitasError('STATE_BAD_VALUE', 'state value must be a Uint8Array');
    }
    if (value.length > MAX_STATE_VALUE_BYTES) {
      throw new CivitasError(
        'STATE_VALUE_TOO_LARGE',
        `state value of ${value.length} bytes exceeds ${MAX_STATE_VALUE_BYTES}`,
        { length: value.length, max: MAX_STATE_VALUE_BYTES },
      );
    }
    const last = this.pending;
    this.pending = { keyHash, value };
    if (last === undefined) return;
    if (compareBytes(last.keyHash, keyHash) >= 0) {
      throw new CivitasError(
        'STATE_LEAVES_UNSORTED',
        'leaves must come in strictly increasing key-hash order',
      );
    }
    // The nodes on the prefix both leaves share are open now; the last leaf sits one below
    // the deeper of that prefix and the one it shared with the leaf before it.
    const shared = sharedNibbles(last.keyHash, keyHash);
    while (this.open.length <= shared) {
      this.open.push({
        depth: this.open.length,
        source: keyHash,
        childMask: 0,
        leafMask: 0,
        hashes: new Array<Uint8Array | undefined>(16),
      });
    }
    this.placeLeaf(last, out);
    this.closeBelow(shared, out);
  }

  /** Appends the remaining nodes (the root last) to `out` and returns the root hash. */
  finish(out: NodeWrite[]): Uint8Array {
    if (this.done) throw new CivitasError('STATE_LEAVES_UNSORTED', 'the tree is finished');
    this.done = true;
    const last = this.pending;
    if (last === undefined) {
      out.push([
        encodeNodeKey(this.version, new Uint8Array(KEY_HASH_LENGTH), 0),
        encodeEmptyNode(),
      ]);
      return EMPTY_SUBTREE_HASH.slice();
    }
    const leafHash = this.placeLeaf(last, out);
    return this.closeBelow(-1, out) ?? leafHash;
  }

  /** Writes `leaf` below the deepest open node (or as the root when none is open). */
  private placeLeaf(leaf: Leaf, out: NodeWrite[]): Uint8Array {
    const depth = this.open.length;
    out.push([
      encodeNodeKey(this.version, leaf.keyHash, depth),
      encodeLeafNode(leaf.keyHash, leaf.value),
    ]);
    const hash = stateLeafHashOf(leaf.keyHash, leaf.value);
    const parent = this.open[depth - 1];
    if (parent !== undefined) {
      const nibble = keyNibble(leaf.keyHash, depth - 1);
      parent.childMask |= 1 << nibble;
      parent.leafMask |= 1 << nibble;
      parent.hashes[nibble] = hash;
    }
    return hash;
  }

  /**
   * Finishes the open nodes deeper than `depth`, each into its parent; returns the root's hash
   * when the root was among them.
   */
  private closeBelow(depth: number, out: NodeWrite[]): Uint8Array | undefined {
    let hash: Uint8Array | undefined;
    while (this.open.length - 1 > depth) {
      const node = this.open.pop()!;
      const versions = new Array<number>(16).fill(0);
      for (let n = 0; n < 16; n++) {
        if ((node.childMask & (1 << n)) !== 0) versions[n] = this.version;
      }
      const internal = {
        childMask: node.childMask,
        leafMask: node.leafMask,
        versions,
        hashes: node.hashes,
      };
      out.push([
        encodeNodeKey(this.version, node.source, node.depth),
        encodeInternalNode(internal),
      ]);
      hash = internalNodeHash(internal);
      const parent = this.open[node.depth - 1];
      if (parent !== undefined) {
        const nibble = keyNibble(node.source, node.depth - 1);
        parent.childMask |= 1 << nibble;
        parent.hashes[nibble] = hash;
      }
    }
    return hash;
  }
}
