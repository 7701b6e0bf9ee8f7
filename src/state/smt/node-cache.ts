/**
 * Committed tree nodes kept in memory, so the next blocks read the nodes the last blocks
 * wrote without a LevelDB round trip per tree level, and without decoding them again.
 *
 * Why it is safe: node keys are write-once (version, path), so a committed key's bytes never
 * change, and only committed nodes get in (StateTree.noteCommitted, called after the block's
 * batch is durably written). A block that was executed and then rejected never reaches it,
 * and neither do nodes read through an overlay of uncommitted writes. What is kept next to
 * the bytes (the decoded node, its inner hashes) is a pure function of those bytes.
 *
 * Keyed by path, not by (version, path): the next blocks walk only the newest version of each
 * path, so an entry holds the node last committed at its path, with its version; a lookup of
 * another version of that path misses (older versions are still read and proven, from
 * LevelDB). A committed node replaces the entry at its path in place, and a node its block
 * superseded without replacing (a subtree that collapsed) is dropped when that block commits
 * (`drop`). Paths of up to six nibbles, where almost every lookup is, make a small-integer
 * map key out of the node key's bytes with no string built; deeper paths use a string.
 *
 * Bounded by an estimate of the memory held, in which a node's bytes that are a view into a
 * larger buffer (byte-slab.ts) count as that whole buffer, once for all the entries sharing
 * it, since that is what the cache keeps alive; the oldest insertions go first. Insertion order
 * is close to recency here: an update reads a node only on the path of a changed key, and
 * then writes the node's replacement, which enters the cache as the newest entry.
 */
import type { InnerHashes, TreeNode } from './node.ts';

export interface CachedNode {
  /** The node's path as the cache's map key (pathKeyOf). */
  readonly path: number | string;
  /** The node's version: the high and low 32 bits of the node key's first 8 bytes. */
  readonly versionHigh: number;
  readonly versionLow: number;
  readonly bytes: Uint8Array;
  /** The decoded node, filled on first use when the cache was given bytes only. */
  node: TreeNode | undefined;
  /** For internal nodes: the binary hashes inside the node, when known. */
  inner: InnerHashes | undefined;
  /**
   * The kind its parent announced when an update last checked it (stored-node.ts): the other
   * inputs of that check (version, depth, path) are the entry's own, so a later read expecting
   * the same kind need not check it again.
   */
  checkedAs?: 'root' | 'leaf' | 'internal';
  /** No longer held (dropped or evicted); its slot in the insertion order is skipped. */
  gone: boolean;
}

export interface NodeCacheStats {
  hits: number;
  misses: number;
  entries: number;
  /** The estimate the bound applies to, in bytes. */
  bytes: number;
}

/** A rough per-entry cost beyond the node's bytes: the map entry, the key string, objects. */
const ENTRY_OVERHEAD = 160;
/**
 * A decoded internal node with its inner hashes: three 16-arrays and the node object, then per
 * child its hash and about one inner hash (a 32-byte array each, ~220 bytes with its buffer).
 * Charged by the child count: a flat 2,600 bytes overcharged the many two- and three-child
 * nodes of the lower levels (the tree of 10,000 accounts then no longer fit and its live leaves
 * were evicted and read back block after block) and undercharged the full upper nodes.
 */
const DECODED_INTERNAL_BASE = 600;
const DECODED_INTERNAL_PER_CHILD = 440;
const DECODED_LEAF_COST = 200;

/** Bits set in a 16-bit child mask. */
function childCount(mask: number): number {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
}

/**
 * 16 MiB by the estimate above, which undercounts: the validation benchmark's peak RSS grew by
 * ~130 MiB with a 64 MiB limit. The upper levels, which every block reads, fit many times over
 * (1 + 16 + 256 internal nodes is well under 1 MiB); lower nodes are mostly rewritten by the
 * block that reads them.
 */
export const DEFAULT_NODE_CACHE_BYTES = 16 * 1024 * 1024;

/** Whether the bytes are a view into a larger, shared buffer (accounted per buffer). */
function isShared(bytes: Uint8Array): boolean {
  return bytes.byteLength !== bytes.buffer.byteLength;
}

/** An entry's own cost; the buffer behind shared bytes is counted apart (see `retain`). */
function costOf(bytes: Uint8Array, decoded: boolean): number {
  const own = ENTRY_OVERHEAD + (isShared(bytes) ? 0 : bytes.length);
  if (!decoded) return own;
  // Kind byte 1 = internal, its child mask in bytes 1-2 (node.ts); leaves hold views into
  // their bytes.
  if (bytes[0] !== 1) return own + DECODED_LEAF_COST;
  const children = childCount((bytes[1]! << 8) | bytes[2]!);
  return own + DECODED_INTERNAL_BASE + DECODED_INTERNAL_PER_CHILD * children;
}

/** Paths this deep or shallower get a small-integer key: depth in bits 24..27, nibbles below. */
const MAX_INT_PATH_DEPTH = 6;
const VERSION_BYTES = 8;

/**
 * The map key of a node key's path (`version (8) || depth (1) || packed nibbles`, node-key.ts):
 * an integer below 2^28 for depths up to 6, else the depth and path bytes as a string.
 */
function pathKeyOf(key: Uint8Array): number | string {
  const depth = key[VERSION_BYTES]!;
  if (depth > MAX_INT_PATH_DEPTH) {
    return String.fromCharCode.apply(null, key.subarray(VERSION_BYTES) as unknown as number[]);
  }
  let path = 0;
  const end = VERSION_BYTES + 1 + ((depth + 1) >> 1);
  for (let i = VERSION_BYTES + 1; i < end; i++) path = (path << 8) | key[i]!;
  // Whole bytes read; an odd depth's padding nibble is zero, so the key stays injective.
  return (depth << 24) | (path << (8 * (3 - (end - VERSION_BYTES - 1))));
}

/**
 * pathKeyOf for the node at `depth` on the path of `pathSource` (a key hash under it), from the
 * key hash itself: the update's walk asks this for every node it loads, and only the misses
 * need a node key built for LevelDB.
 */
function pathKeyAt(pathSource: Uint8Array, depth: number): number | string {
  const pathBytes = (depth + 1) >> 1;
  if (depth > MAX_INT_PATH_DEPTH) {
    const chars = new Array<number>(pathBytes + 1);
    chars[0] = depth;
    for (let i = 0; i < pathBytes; i++) chars[i + 1] = pathSource[i]!;
    if ((depth & 1) === 1) chars[pathBytes] = chars[pathBytes]! & 0xf0;
    return String.fromCharCode.apply(null, chars);
  }
  let path = 0;
  for (let i = 0; i < pathBytes; i++) path = (path << 8) | pathSource[i]!;
  if ((depth & 1) === 1) path &= ~0x0f;
  return (depth << 24) | (path << (8 * (3 - pathBytes)));
}

const TWO_32 = 0x1_0000_0000;

function versionHighOf(key: Uint8Array): number {
  return ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
}

function versionLowOf(key: Uint8Array): number {
  return ((key[4]! << 24) | (key[5]! << 16) | (key[6]! << 8) | key[7]!) >>> 0;
}

export class CommittedNodeCache {
  private readonly maxBytes: number;
  private readonly entries = new Map<number | string, CachedNode>();
  /**
   * Entries in insertion order, oldest from `head`. Kept apart from the Map because a Map
   * that is iterated from its start after many deletions walks its deleted slots each time.
   */
  private order: CachedNode[] = [];
  private head = 0;
  private heldBytes = 0;
  /** Shared buffers behind entries' bytes, with how many entries hold each. */
  private readonly buffers = new Map<ArrayBufferLike, number>();
  private hits = 0;
  private misses = 0;

  constructor(opts: { maxBytes?: number } = {}) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_NODE_CACHE_BYTES;
  }

  get(key: Uint8Array): CachedNode | undefined {
    const entry = this.find(key);
    if (entry === undefined) this.misses++;
    else this.hits++;
    return entry;
  }

  /**
   * get() of the node key `encodeNodeKey(version, pathSource, depth)`, without the key: the
   * version and path are compared directly.
   */
  getAt(version: number, pathSource: Uint8Array, depth: number): CachedNode | undefined {
    const entry = this.entries.get(pathKeyAt(pathSource, depth));
    if (
      entry === undefined ||
      entry.versionLow !== version % TWO_32 ||
      entry.versionHigh !== Math.floor(version / TWO_32)
    ) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry;
  }

  /** Like get, without counting a hit or a miss (a second look at an entry just read). */
  peek(key: Uint8Array): CachedNode | undefined {
    return this.find(key);
  }

  /**
   * Adds a committed node. It replaces the entry at its path unless that one is as new (keys
   * are write-once: a key already held keeps its entry) or newer.
   */
  add(key: Uint8Array, bytes: Uint8Array, node?: TreeNode, inner?: InnerHashes): void {
    const path = pathKeyOf(key);
    const versionHigh = versionHighOf(key);
    const versionLow = versionLowOf(key);
    const held = this.entries.get(path);
    if (held !== undefined) {
      if (
        held.versionHigh > versionHigh ||
        (held.versionHigh === versionHigh && held.versionLow >= versionLow)
      ) {
        return;
      }
      this.remove(held);
      this.compactIfSparse();
    }
    const entry: CachedNode = { path, versionHigh, versionLow, bytes, node, inner, gone: false };
    this.entries.set(path, entry);
    this.order.push(entry);
    this.heldBytes += costOf(bytes, node !== undefined);
    if (isShared(bytes)) this.retain(bytes.buffer);
    this.evict();
  }

  /** Records that an entry was decoded after it was added (its cost grows). */
  noteDecoded(entry: CachedNode, node: TreeNode): void {
    if (entry.node !== undefined) return;
    entry.node = node;
    if (!entry.gone) this.heldBytes += costOf(entry.bytes, true) - costOf(entry.bytes, false);
  }

  /** Drops an entry (a node its committed replacement made dead to the tree's updates). */
  drop(entry: CachedNode): void {
    if (entry.gone) return;
    this.remove(entry);
    this.compactIfSparse();
  }

  clear(): void {
    for (const entry of this.entries.values()) entry.gone = true;
    this.entries.clear();
    this.buffers.clear();
    this.order = [];
    this.head = 0;
    this.heldBytes = 0;
  }

  get stats(): NodeCacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      entries: this.entries.size,
      bytes: this.heldBytes,
    };
  }

  private find(key: Uint8Array): CachedNode | undefined {
    const entry = this.entries.get(pathKeyOf(key));
    if (
      entry === undefined ||
      entry.versionLow !== versionLowOf(key) ||
      entry.versionHigh !== versionHighOf(key)
    ) {
      return undefined;
    }
    return entry;
  }

  private remove(entry: CachedNode): void {
    entry.gone = true;
    // Only this entry's own slot: a newer node at the same path has replaced it in the map.
    if (this.entries.get(entry.path) === entry) this.entries.delete(entry.path);
    this.heldBytes -= costOf(entry.bytes, entry.node !== undefined);
    if (isShared(entry.bytes)) this.release(entry.bytes.buffer);
  }

  private retain(buffer: ArrayBufferLike): void {
    const holders = this.buffers.get(buffer) ?? 0;
    if (holders === 0) this.heldBytes += buffer.byteLength;
    this.buffers.set(buffer, holders + 1);
  }

  private release(buffer: ArrayBufferLike): void {
    const holders = this.buffers.get(buffer)!;
    if (holders > 1) {
      this.buffers.set(buffer, holders - 1);
      return;
    }
    this.buffers.delete(buffer);
    this.heldBytes -= buffer.byteLength;
  }

  /** Dropped and replaced entries stay in `order` until evicted or compacted away. */
  private compactIfSparse(): void {
    if (this.order.length - this.head > 2 * this.entries.size + 1024) this.compactOrder();
  }

  private compactOrder(): void {
    const live: CachedNode[] = [];
    for (let i = this.head; i < this.order.length; i++) {
      const entry = this.order[i]!;
      if (!entry.gone) live.push(entry);
    }
    this.order = live;
    this.head = 0;
  }

  private evict(): void {
    while (this.heldBytes > this.maxBytes && this.head < this.order.length) {
      const entry = this.order[this.head++]!;
      if (entry.gone) continue; // dropped earlier
      this.remove(entry);
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
