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
 * Bounded by an estimate of the memory held; the oldest insertions go first. Insertion order
 * is close to recency here: an update reads a node only on the path of a changed key, and
 * then writes the node's replacement, which enters the cache as the newest entry.
 */
import type { InnerHashes, TreeNode } from './node.ts';

export interface CachedNode {
  readonly bytes: Uint8Array;
  /** The decoded node, filled on first use when the cache was given bytes only. */
  node: TreeNode | undefined;
  /** For internal nodes: the binary hashes inside the node, when known. */
  inner: InnerHashes | undefined;
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
/** A decoded internal node with its inner hashes: two 16-arrays and up to 31 hash views. */
const DECODED_INTERNAL_COST = 2_600;
const DECODED_LEAF_COST = 200;

export const DEFAULT_NODE_CACHE_BYTES = 64 * 1024 * 1024;

/** Map key for node keys: latin1 is one char per byte and far cheaper than hex. */
export function nodeKeyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function costOf(bytes: Uint8Array, decoded: boolean): number {
  if (!decoded) return ENTRY_OVERHEAD + bytes.length;
  // Kind byte 1 = internal (node.ts); leaves hold views into their bytes.
  return (
    ENTRY_OVERHEAD + bytes.length + (bytes[0] === 1 ? DECODED_INTERNAL_COST : DECODED_LEAF_COST)
  );
}

export class CommittedNodeCache {
  private readonly maxBytes: number;
  private readonly entries = new Map<string, CachedNode>();
  /**
   * Keys in insertion order, oldest from `head`. Kept apart from the Map because a Map that
   * is iterated from its start after many deletions walks its deleted slots each time.
   */
  private order: string[] = [];
  private head = 0;
  private heldBytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(opts: { maxBytes?: number } = {}) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_NODE_CACHE_BYTES;
  }

  get(key: Uint8Array): CachedNode | undefined {
    const entry = this.entries.get(nodeKeyString(key));
    if (entry === undefined) this.misses++;
    else this.hits++;
    return entry;
  }

  /** Like get, without counting a hit or a miss (a second look at an entry just read). */
  peek(key: Uint8Array): CachedNode | undefined {
    return this.entries.get(nodeKeyString(key));
  }

  /** Adds a committed node (a key already held keeps its entry: keys are write-once). */
  add(key: Uint8Array, bytes: Uint8Array, node?: TreeNode, inner?: InnerHashes): void {
    const k = nodeKeyString(key);
    if (this.entries.has(k)) return;
    this.entries.set(k, { bytes, node, inner });
    this.order.push(k);
    this.heldBytes += costOf(bytes, node !== undefined);
    this.evict();
  }

  /** Records that an entry was decoded after it was added (its cost grows). */
  noteDecoded(entry: CachedNode, node: TreeNode): void {
    if (entry.node !== undefined) return;
    entry.node = node;
    this.heldBytes += costOf(entry.bytes, true) - costOf(entry.bytes, false);
  }

  clear(): void {
    this.entries.clear();
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

  private evict(): void {
    while (this.heldBytes > this.maxBytes && this.head < this.order.length) {
      const k = this.order[this.head++]!;
      const entry = this.entries.get(k)!;
      this.entries.delete(k);
      this.heldBytes -= costOf(entry.bytes, entry.node !== undefined);
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
