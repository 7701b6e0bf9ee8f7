/**
 * One batch update of the tree: version `prev` + a sorted, de-duplicated change set →
 * the nodes of version `next` and its root hash. Three phases:
 *
 *  1. Load: breadth-first from the old root, one batched read per tree level, only the
 *     nodes on the paths of changed keys (and the leaves sitting in their slots). Nodes held
 *     by the committed-node cache (node-cache.ts) come from memory, already decoded and with
 *     their inner hashes; only the misses go to the reader.
 *  2. Compute (synchronous): rebuild the touched paths bottom-up. New and changed nodes are
 *     written under (next, path); untouched subtrees are referenced by their old version.
 *     A leaf always sits at the shortest prefix that isolates it: inserting next to a leaf
 *     pushes both down, deleting a sibling pulls the survivor up (JMT leaf compression).
 *  3. Copy: a leaf pulled up without being loaded is re-read in one batch and re-written
 *     under its new, shorter path (a leaf's bytes do not depend on where it is stored).
 *
 * Asked to (`trackStale`), it also lists the nodes of `prev` that `next` no longer references
 * (the stale-node index pruning works from, pruner.ts): every node it replaced, moved or
 * removed is one it loaded (or a leaf it copied), so that list costs no extra read.
 *
 * Cost for k changed keys in a tree of N: O(k · log16 N) node reads, O(k · log N) hashes
 * (≤ 4 per changed child of a rewritten 16-ary node whose inner hashes are known, else ≤ 15
 * for the node), O(k · log16 N) node writes. Nothing is O(N).
 */
import { compareBytes, equalBytes, toHex } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import { ByteSlab } from './byte-slab.ts';
import { EMPTY_SUBTREE_HASH, keyNibble, stateLeafHashOf } from './hashes.ts';
import {
  decodeNode,
  encodeEmptyNode,
  encodeInternalNode,
  encodeLeafNode,
  type HashCounter,
  type InnerHashes,
  type InternalNode,
  internalNodeHash,
  internalNodeHashes,
  type LeafNode,
  NodeKind,
  type TreeNode,
} from './node.ts';
import type { CachedNode, CommittedNodeCache } from './node-cache.ts';
import { encodeNodeKey, nodeKeyString } from './node-key.ts';
import { type NodeWrite, readNodes, type TreeNodeReader } from './node-reader.ts';
import { checkNode, checkStoredNode, type ExpectedKind } from './stored-node.ts';

export interface KeyChange {
  readonly key: Uint8Array;
  /** null deletes the key. */
  readonly value: Uint8Array | null;
}

interface LoadedNode {
  /** Where the node is stored: its version and its key (version, depth, path). */
  readonly version: number;
  readonly key: Uint8Array | undefined;
  readonly bytes: Uint8Array;
  readonly node: TreeNode;
  /** For internal nodes: the inner hashes, when the cache knew them. */
  readonly inner: InnerHashes | undefined;
  /** For internal nodes: the loaded children, by nibble (only those on changed paths). */
  readonly children: Array<LoadedNode | undefined>;
}

/** A leaf not yet given a place: its parent decides the depth it will be stored at. */
interface LeafResult {
  readonly leaf: true;
  /** The key hash; null for a leaf known only by reference (see `fromKey`). */
  readonly key: Uint8Array | null;
  readonly hash: Uint8Array;
  /** The encoded leaf node, or null when it must be copied from `fromKey`. */
  readonly bytes: Uint8Array | null;
  /** The decoded leaf, when known (kept for the cache, which then need not decode it). */
  readonly node: LeafNode | null;
  /** Where the leaf is stored now: version and depth; -1 for a new or changed leaf. */
  readonly fromVersion: number;
  readonly fromDepth: number;
  readonly fromKey: Uint8Array | null;
}

/** An internal node already written (or unchanged) at its path. */
interface InternalResult {
  readonly leaf: false;
  readonly hash: Uint8Array;
  readonly version: number;
}

/** null: the subtree is now empty. */
type SubtreeResult = LeafResult | InternalResult | null;

const ROOT_PATH = new Uint8Array(0);
const PENDING_COPY = new Uint8Array(0);

interface Frontier {
  readonly version: number;
  /** A key hash under the node: with depth, the node's path. */
  readonly pathSource: Uint8Array;
  readonly depth: number;
  readonly lo: number;
  readonly hi: number;
  readonly expected: ExpectedKind;
  readonly parent: LoadedNode | null;
  readonly nibble: number;
}

export interface UpdateCounters extends HashCounter {
  /** Node lookups, from memory or from the reader. */
  nodeReads: number;
  /** The lookups the committed-node cache answered. */
  nodeCacheHits: number;
}

/** What an update knows about a node it wrote: handed to the cache if the block commits. */
export interface WrittenNode {
  readonly node: TreeNode;
  readonly inner: InnerHashes | undefined;
}

/** A node as found: its bytes, and its decoded form and inner hashes when memory had them. */
interface FoundNode {
  readonly bytes: Uint8Array;
  readonly node: TreeNode | undefined;
  readonly inner: InnerHashes | undefined;
  /** Set on a committed-node cache entry once checked (node-cache.ts). */
  checkedAs?: ExpectedKind;
}

export class TreeUpdate {
  private readonly reader: TreeNodeReader;
  private readonly version: number;
  private readonly changes: readonly KeyChange[];
  private readonly counters: UpdateCounters;
  private readonly cache: CommittedNodeCache | undefined;
  private readonly writes: NodeWrite[] = [];
  /** By index into `writes`: the decoded node and inner hashes, for the cache on commit. */
  readonly written: Array<WrittenNode | undefined> = [];
  /**
   * The cache entries this update read: nodes on changed paths, which the new version
   * replaces (rare exceptions, such as a leaf set to its own value, just get read again).
   */
  readonly superseded: CachedNode[] = [];
  /** The bytes of this update's new nodes share a few buffers (byte-slab.ts). */
  private readonly slab = new ByteSlab();
  private readonly allocBytes = (length: number): Uint8Array => this.slab.take(length);
  private readonly copies: Array<{ index: number; fromKey: Uint8Array; hash: Uint8Array }> = [];
  /** Whether to list the nodes of the previous version this one no longer references. */
  private readonly trackStale: boolean;

  /** `changes` must be sorted by key and free of duplicates. */
  constructor(
    reader: TreeNodeReader,
    version: number,
    changes: readonly KeyChange[],
    counters: UpdateCounters,
    cache?: CommittedNodeCache,
    opts: { trackStale?: boolean } = {},
  ) {
    this.reader = reader;
    this.version = version;
    this.changes = changes;
    this.counters = counters;
    this.cache = cache;
    this.trackStale = opts.trackStale ?? false;
  }

  async run(
    prevVersion: number | null,
  ): Promise<{ rootHash: Uint8Array; nodes: NodeWrite[]; stale: Uint8Array[] }> {
    const root = prevVersion === null ? null : await this.load(prevVersion);
    const result = this.computeRoot(root, prevVersion);
    const rootKey = encodeNodeKey(this.version, ROOT_PATH, 0);
    let rootHash: Uint8Array;
    if (result === null) {
      this.write(rootKey, encodeEmptyNode(), undefined);
      rootHash = EMPTY_SUBTREE_HASH.slice();
    } else if (result.leaf) {
      // The root is always written anew: every version must have its own root node.
      this.emitLeaf(rootKey, result);
      rootHash = result.hash;
    } else {
      // Unchanged internal root: the same bytes (children by reference) under the new version.
      if (result.version !== this.version) {
        this.write(rootKey, root!.bytes, { node: root!.node, inner: root!.inner });
      }
      rootHash = result.hash;
    }
    await this.fillCopies();
    const stale = this.trackStale && root !== null ? this.staleNodes(root) : [];
    return { rootHash, nodes: this.writes, stale };
  }

  // ---- phase 1: load -------------------------------------------------------------------

  /**
   * The nodes of a frontier (the node at `depth` on the path of `pathSource` at `version`),
   * from the committed-node cache where it has them, else one batched read.
   */
  private async findAt(items: readonly Frontier[]): Promise<Array<FoundNode | undefined>> {
    const cache = this.cache;
    const out = new Array<FoundNode | undefined>(items.length);
    const missing: number[] = [];
    const missingKeys: Uint8Array[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const entry = cache?.getAt(item.version, item.pathSource, item.depth);
      if (entry === undefined) {
        missing.push(i);
        missingKeys.push(encodeNodeKey(item.version, item.pathSource, item.depth));
        continue;
      }
      out[i] = this.hit(entry);
    }
    this.counters.nodeReads += items.length;
    this.counters.nodeCacheHits += items.length - missing.length;
    if (missing.length > 0) {
      const found = await readNodes(this.reader, missingKeys);
      for (let j = 0; j < missing.length; j++) {
        const bytes = found[j];
        if (bytes !== undefined) out[missing[j]!] = { bytes, node: undefined, inner: undefined };
      }
    }
    return out;
  }

  /** Nodes by key, from the committed-node cache where it has them, else one batched read. */
  private async find(keys: readonly Uint8Array[]): Promise<Array<FoundNode | undefined>> {
    this.counters.nodeReads += keys.length;
    const cache = this.cache;
    const out = new Array<FoundNode | undefined>(keys.length);
    const missing: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const entry = cache?.get(keys[i]!);
      if (entry === undefined) {
        missing.push(i);
        continue;
      }
      out[i] = this.hit(entry);
    }
    this.counters.nodeCacheHits += keys.length - missing.length;
    if (missing.length > 0) {
      const found = await readNodes(
        this.reader,
        missing.length === keys.length ? keys : missing.map((i) => keys[i]!),
      );
      for (let j = 0; j < missing.length; j++) {
        const bytes = found[j];
        if (bytes !== undefined) out[missing[j]!] = { bytes, node: undefined, inner: undefined };
      }
    }
    return out;
  }

  /** A cache entry this update reads: decoded if it was not yet, and superseded on commit. */
  private hit(entry: CachedNode): CachedNode {
    // Added by its bytes only (e.g. a moved leaf): decoded once, then kept decoded.
    if (entry.node === undefined) this.cache!.noteDecoded(entry, decodeNode(entry.bytes));
    this.superseded.push(entry);
    return entry;
  }

  /** Decodes (unless memory already had it) and checks a found node. */
  private checked(
    found: FoundNode | undefined,
    version: number,
    depth: number,
    pathSource: Uint8Array,
    expected: ExpectedKind,
  ): TreeNode {
    if (found?.node === undefined) {
      return checkStoredNode(found?.bytes, version, depth, pathSource, expected);
    }
    // A cache entry is found by its own version and path: only the expected kind can differ.
    if (found.checkedAs === expected) return found.node;
    const node = checkNode(found.node, version, depth, pathSource, expected);
    found.checkedAs = expected;
    return node;
  }

  private async load(prevVersion: number): Promise<LoadedNode> {
    let root: LoadedNode | undefined;
    let frontier: Frontier[] = [
      {
        version: prevVersion,
        pathSource: ROOT_PATH,
        depth: 0,
        lo: 0,
        hi: this.changes.length,
        expected: 'root',
        parent: null,
        nibble: 0,
      },
    ];
    while (frontier.length > 0) {
      const found = await this.findAt(frontier);
      const next: Frontier[] = [];
      for (let f = 0; f < frontier.length; f++) {
        const item = frontier[f]!;
        const pathSource = item.lo < item.hi ? this.changes[item.lo]!.key : ROOT_PATH;
        const hit = found[f];
        const node = this.checked(hit, item.version, item.depth, pathSource, item.expected);
        const loaded: LoadedNode = {
          version: item.version,
          key: this.trackStale ? encodeNodeKey(item.version, pathSource, item.depth) : undefined,
          bytes: hit!.bytes,
          node,
          inner: hit!.inner,
          children: [],
        };
        if (item.parent === null) root = loaded;
        else item.parent.children[item.nibble] = loaded;
        if (node.kind === NodeKind.internal) this.expand(loaded, node, item, next);
      }
      frontier = next;
    }
    return root!;
  }

  /** Queues the existing children of `node` that changed keys lead into. */
  private expand(loaded: LoadedNode, node: InternalNode, item: Frontier, next: Frontier[]): void {
    const depth = item.depth;
    let i = item.lo;
    while (i < item.hi) {
      const nibble = keyNibble(this.changes[i]!.key, depth);
      let j = i + 1;
      while (j < item.hi && keyNibble(this.changes[j]!.key, depth) === nibble) j++;
      const bit = 1 << nibble;
      if ((node.childMask & bit) !== 0) {
        const version = node.versions[nibble]!;
        next.push({
          version,
          pathSource: this.changes[i]!.key,
          depth: depth + 1,
          lo: i,
          hi: j,
          expected: (node.leafMask & bit) !== 0 ? 'leaf' : 'internal',
          parent: loaded,
          nibble,
        });
      }
      i = j;
    }
  }

  // ---- phase 2: compute ----------------------------------------------------------------

  private computeRoot(root: LoadedNode | null, prevVersion: number | null): SubtreeResult {
    const n = this.changes.length;
    if (root === null || root.node.kind === NodeKind.empty) {
      const entries = this.insertsOf(0, n);
      return this.build(entries, 0, entries.length, 0);
    }
    if (root.node.kind === NodeKind.leaf) {
      const leaf = root.node;
      this.counters.hashes += 2;
      const hash = stateLeafHashOf(leaf.keyHash, leaf.value);
      const entries = this.mergeLeaf(leaf, root.bytes, prevVersion!, 0, hash, 0, n);
      return this.build(entries, 0, entries.length, 0);
    }
    if (n === 0) {
      return {
        leaf: false,
        hash: root.inner?.[1] ?? internalNodeHash(root.node, this.counters),
        version: prevVersion!,
      };
    }
    return this.updateInternal(root, prevVersion!, null, 0, 0, n);
  }

  private newLeaf(key: Uint8Array, value: Uint8Array): LeafResult {
    this.counters.hashes += 2;
    const bytes = encodeLeafNode(key, value, this.allocBytes);
    return {
      leaf: true,
      key,
      hash: stateLeafHashOf(key, value),
      bytes,
      // Views into the encoded bytes: the cache then holds no second copy of key and value.
      node: {
        kind: NodeKind.leaf,
        keyHash: bytes.subarray(1, 1 + key.length),
        value: bytes.subarray(bytes.length - value.length),
      },
      fromVersion: -1,
      fromDepth: -1,
      fromKey: null,
    };
  }

  /** The leaves the changes [lo, hi) put into an empty subtree (deleting nothing is a no-op). */
  private insertsOf(lo: number, hi: number): LeafResult[] {
    const out: LeafResult[] = [];
    for (let i = lo; i < hi; i++) {
      const c = this.changes[i]!;
      if (c.value !== null) out.push(this.newLeaf(c.key, c.value));
    }
    return out;
  }

  /** The leaves of a subtree that held one existing leaf, after the changes [lo, hi). */
  private mergeLeaf(
    leaf: LeafNode,
    bytes: Uint8Array,
    version: number,
    depth: number,
    hash: Uint8Array,
    lo: number,
    hi: number,
  ): LeafResult[] {
    const existing: LeafResult = {
      leaf: true,
      key: leaf.keyHash,
      hash,
      bytes,
      node: leaf,
      fromVersion: version,
      fromDepth: depth,
      fromKey: null,
    };
    const out: LeafResult[] = [];
    let placed = false;
    for (let i = lo; i < hi; i++) {
      const c = this.changes[i]!;
      const cmp = compareBytes(c.key, leaf.keyHash);
      if (cmp > 0 && !placed) {
        out.push(existing);
        placed = true;
      }
      if (cmp === 0) {
        placed = true;
        if (c.value === null) continue;
        out.push(equalBytes(c.value, leaf.value) ? existing : this.newLeaf(c.key, c.value));
      } else if (c.value !== null) {
        out.push(this.newLeaf(c.key, c.value));
      }
    }
    if (!placed) out.push(existing);
    return out;
  }

  /** The subtree at `depth` holding exactly the leaves entries[lo, hi) (sorted, distinct). */
  private build(
    entries: readonly LeafResult[],
    lo: number,
    hi: number,
    depth: number,
  ): SubtreeResult {
    if (hi === lo) return null;
    if (hi - lo === 1) return entries[lo]!;
    let childMask = 0;
    let leafMask = 0;
    const versions = new Array<number>(16).fill(0);
    const hashes = new Array<Uint8Array | undefined>(16);
    let i = lo;
    while (i < hi) {
      const source = entries[i]!.key!;
      const nibble = keyNibble(source, depth);
      let j = i + 1;
      while (j < hi && keyNibble(entries[j]!.key!, depth) === nibble) j++;
      const child = this.build(entries, i, j, depth + 1)!;
      const bit = 1 << nibble;
      childMask |= bit;
      hashes[nibble] = child.hash;
      if (child.leaf) {
        leafMask |= bit;
        versions[nibble] = this.placeLeaf(child, source, depth + 1, -1);
      } else {
        versions[nibble] = child.version;
      }
      i = j;
    }
    return this.emitInternal(entries[lo]!.key!, depth, childMask, leafMask, versions, hashes);
  }

  /** Applies changes [lo, hi) below the existing internal node `loaded` at `depth`. */
  private updateInternal(
    loaded: LoadedNode,
    version: number,
    oldHash: Uint8Array | null,
    depth: number,
    lo: number,
    hi: number,
  ): SubtreeResult {
    const node = loaded.node as InternalNode;
    const source = this.changes[lo]!.key;
    let childMask = node.childMask;
    let leafMask = node.leafMask;
    const versions = node.versions.slice();
    const hashes = node.hashes.slice();
    const newLeaves: Array<[nibble: number, leaf: LeafResult]> = [];
    let changed = false;
    let dirty = 0;
    let i = lo;
    while (i < hi) {
      const nibble = keyNibble(this.changes[i]!.key, depth);
      let j = i + 1;
      while (j < hi && keyNibble(this.changes[j]!.key, depth) === nibble) j++;
      const bit = 1 << nibble;
      const childVersion = node.versions[nibble]!;
      let result: SubtreeResult;
      if ((node.childMask & bit) === 0) {
        const entries = this.insertsOf(i, j);
        result = this.build(entries, 0, entries.length, depth + 1);
        if (result === null) {
          i = j;
          continue;
        }
      } else {
        const child = loaded.children[nibble]!;
        if ((node.leafMask & bit) !== 0) {
          const entries = this.mergeLeaf(
            child.node as LeafNode,
            child.bytes,
            childVersion,
            depth + 1,
            node.hashes[nibble]!,
            i,
            j,
          );
          result = this.build(entries, 0, entries.length, depth + 1);
          if (
            result?.leaf &&
            result.fromVersion === childVersion &&
            result.fromDepth === depth + 1
          ) {
            i = j;
            continue;
          }
        } else {
          result = this.updateInternal(child, childVersion, node.hashes[nibble]!, depth + 1, i, j);
          if (result !== null && !result.leaf && result.version === childVersion) {
            i = j;
            continue;
          }
        }
      }
      changed = true;
      dirty |= bit;
      if (result === null) {
        childMask &= ~bit;
        leafMask &= ~bit;
        hashes[nibble] = undefined;
        versions[nibble] = 0;
      } else {
        childMask |= bit;
        hashes[nibble] = result.hash;
        if (result.leaf) {
          leafMask |= bit;
          newLeaves.push([nibble, result]);
        } else {
          leafMask &= ~bit;
          versions[nibble] = result.version;
        }
      }
      i = j;
    }
    if (!changed) {
      const hash = oldHash ?? loaded.inner?.[1] ?? internalNodeHash(node, this.counters);
      return { leaf: false, hash, version };
    }
    if (childMask === 0) return null;
    if ((childMask & (childMask - 1)) === 0 && leafMask !== 0) {
      // One leaf left: it moves up to the shortest prefix that isolates it.
      if (newLeaves.length === 1) return newLeaves[0]![1];
      const nibble = 31 - Math.clz32(childMask);
      return {
        leaf: true,
        key: null,
        hash: hashes[nibble]!,
        bytes: loaded.children[nibble]?.bytes ?? null,
        node: (loaded.children[nibble]?.node as LeafNode | undefined) ?? null,
        fromVersion: versions[nibble]!,
        fromDepth: depth + 1,
        fromKey: encodeNodeKey(versions[nibble]!, source, depth + 1, nibble),
      };
    }
    for (const [nibble, leaf] of newLeaves) {
      versions[nibble] = this.placeLeaf(leaf, source, depth + 1, nibble);
    }
    return this.emitInternal(
      source,
      depth,
      childMask,
      leafMask,
      versions,
      hashes,
      loaded.inner,
      dirty,
    );
  }

  /** Stores a leaf at `depth` unless it is already stored there; returns its version. */
  private placeLeaf(leaf: LeafResult, source: Uint8Array, depth: number, nibble: number): number {
    if (leaf.fromVersion >= 0 && leaf.fromDepth === depth) return leaf.fromVersion;
    this.emitLeaf(encodeNodeKey(this.version, source, depth, nibble), leaf);
    return this.version;
  }

  private write(key: Uint8Array, bytes: Uint8Array, written: WrittenNode | undefined): void {
    this.writes.push([key, bytes]);
    this.written.push(written);
  }

  private emitLeaf(key: Uint8Array, leaf: LeafResult): void {
    if (leaf.bytes === null) {
      this.copies.push({ index: this.writes.length, fromKey: leaf.fromKey!, hash: leaf.hash });
    }
    this.write(
      key,
      leaf.bytes ?? PENDING_COPY,
      leaf.node === null ? undefined : { node: leaf.node, inner: undefined },
    );
  }

  private emitInternal(
    source: Uint8Array,
    depth: number,
    childMask: number,
    leafMask: number,
    versions: number[],
    hashes: Array<Uint8Array | undefined>,
    previousInner?: InnerHashes,
    dirty?: number,
  ): InternalResult {
    const node: InternalNode = { kind: NodeKind.internal, childMask, leafMask, versions, hashes };
    const bytes = encodeInternalNode(node, this.allocBytes);
    const inner = internalNodeHashes(node, this.counters, previousInner, dirty);
    this.write(encodeNodeKey(this.version, source, depth), bytes, { node, inner });
    return { leaf: false, hash: inner[1]!, version: this.version };
  }

  // ---- the stale-node index -------------------------------------------------------------

  /**
   * The keys of the previous version's nodes that this version no longer references: the
   * old root (every version has its own), each loaded node whose path now holds another node
   * or none, and each leaf copied up. A loaded node stays only where the new version's node
   * at its parent's path still points at it (same version), or where its parent stays: a
   * stored node never changes, so an old node that stays keeps all its children. Nothing
   * outside the changed paths can go stale (the new version reuses it by reference).
   */
  private staleNodes(root: LoadedNode): Uint8Array[] {
    // The new internal nodes by path (a node key without its 8-byte version).
    const byPath = new Map<string, InternalNode>();
    for (let i = 0; i < this.writes.length; i++) {
      const node = this.written[i]?.node;
      if (node?.kind === NodeKind.internal) {
        byPath.set(nodeKeyString(this.writes[i]![0].subarray(8)), node);
      }
    }
    const stale: Uint8Array[] = [root.key!];
    const walk = (parent: LoadedNode, parentStays: boolean): void => {
      const now = parentStays ? undefined : byPath.get(nodeKeyString(parent.key!.subarray(8)));
      for (let nibble = 0; nibble < 16; nibble++) {
        const child = parent.children[nibble];
        if (child === undefined) continue;
        const stays =
          parentStays ||
          (now !== undefined &&
            (now.childMask & (1 << nibble)) !== 0 &&
            now.versions[nibble] === child.version);
        if (!stays) stale.push(child.key!);
        if (child.node.kind === NodeKind.internal) walk(child, stays);
      }
    };
    if (root.node.kind === NodeKind.internal) walk(root, false);
    for (const copy of this.copies) stale.push(copy.fromKey);
    return stale;
  }

  // ---- phase 3: copy leaves that moved without being loaded -----------------------------

  private async fillCopies(): Promise<void> {
    if (this.copies.length === 0) return;
    const found = await this.find(this.copies.map((c) => c.fromKey));
    for (let c = 0; c < this.copies.length; c++) {
      const bytes = found[c]?.bytes;
      if (bytes === undefined) {
        throw new CivitasError('STATE_MISSING_NODE', 'missing leaf node to move', {
          version: this.version,
        });
      }
      const { index, fromKey, hash } = this.copies[c]!;
      // Rule: what is moved is the very leaf its parent committed to.
      const node = decodeNode(bytes);
      this.counters.hashes += 2;
      if (
        node.kind !== NodeKind.leaf ||
        !equalBytes(stateLeafHashOf(node.keyHash, node.value), hash)
      ) {
        throw new CivitasError('STATE_BAD_NODE', 'moved leaf does not match its parent hash', {
          nodeKey: toHex(fromKey),
        });
      }
      this.writes[index] = [this.writes[index]![0], bytes];
    }
  }
}
