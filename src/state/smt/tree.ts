/**
 * The authenticated state: a versioned sparse Merkle tree in the style of Diem/Aptos's
 * Jellyfish Merkle Tree. Version = block height. Every version has its own root node (even a
 * block that changes nothing), so any retained version can be read and proven at any time.
 *
 * The tree only reads; `update` returns the new nodes for the caller's atomic block batch.
 * Node keys are write-once, so speculative execution of block h+1 over uncommitted block h is
 * `new StateTree(new OverlayNodeReader(committed, nodesOfH))`.
 *
 * With a CommittedNodeCache, the caller reports each block's nodes once they are durably
 * written (`noteCommitted`), and later reads of them (the next blocks' updates walk mostly
 * the nodes the last blocks wrote) come from memory, decoded, with their inner hashes, so a
 * rewritten node rehashes only the paths of its changed children.
 */
import { compareBytes, equalBytes } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import {
  EMPTY_SUBTREE_HASH,
  KEY_HASH_LENGTH,
  keyNibble,
  stateLeafHash,
  stateValueHash,
} from './hashes.ts';
import {
  type InnerHashes,
  internalNodeHash,
  internalNodePath,
  MAX_STATE_VALUE_BYTES,
  NodeKind,
  type TreeNode,
} from './node.ts';
import type { CachedNode, CommittedNodeCache } from './node-cache.ts';
import { checkVersion, encodeNodeKey } from './node-key.ts';
import type { NodeWrite, TreeNodeReader } from './node-reader.ts';
import type { StateProof } from './proof.ts';
import { checkNode, checkStoredNode, type ExpectedKind } from './stored-node.ts';
import { type KeyChange, TreeUpdate, type UpdateCounters, type WrittenNode } from './update.ts';

export interface StateUpdateResult {
  readonly rootHash: Uint8Array;
  /** New nodes of this version, for the caller's atomic batch. */
  readonly nodes: NodeWrite[];
  /**
   * Keys of the previous version's nodes this version no longer references: stale from this
   * version on, so deletable once no retained version is older (pruner.ts). Listed only by
   * a tree made with `staleIndex`; empty otherwise.
   */
  readonly staleNodes: Uint8Array[];
}

/** Running totals, for benchmarks and metrics. */
export interface StateTreeStats {
  hashes: number;
  /** Node lookups, whether memory or the reader answered them. */
  nodeReads: number;
  /** The lookups the committed-node cache answered. */
  nodeCacheHits: number;
  nodesWritten: number;
}

export interface StateTreeOptions {
  /** Committed nodes kept in memory; without it every read goes to the reader. */
  readonly cache?: CommittedNodeCache;
  /** List each update's stale nodes (StateUpdateResult.staleNodes), for pruning. */
  readonly staleIndex?: boolean;
}

const ROOT_PATH = new Uint8Array(0);

function checkKeyHash(keyHash: Uint8Array): void {
  if (!(keyHash instanceof Uint8Array) || keyHash.length !== KEY_HASH_LENGTH) {
    throw new CivitasError('STATE_BAD_KEY', `state key hash must be ${KEY_HASH_LENGTH} bytes`, {
      length: keyHash?.length,
    });
  }
}

/** Sorts by key; a later change to the same key replaces an earlier one. */
function normalizeChanges(
  changes: Iterable<readonly [keyHash: Uint8Array, value: Uint8Array | null]>,
): KeyChange[] {
  const list: Array<KeyChange & { readonly head: number }> = [];
  for (const [key, value] of changes) {
    checkKeyHash(key);
    if (value !== null) {
      if (!(value instanceof Uint8Array)) {
        throw new CivitasError('STATE_BAD_VALUE', 'state value must be a Uint8Array or null');
      }
      if (value.length > MAX_STATE_VALUE_BYTES) {
        throw new CivitasError(
          'STATE_VALUE_TOO_LARGE',
          `state value of ${value.length} bytes exceeds ${MAX_STATE_VALUE_BYTES}`,
          { length: value.length, max: MAX_STATE_VALUE_BYTES },
        );
      }
    }
    // The first four key bytes as a number decide almost every comparison of the sort.
    const head = ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
    list.push({ key, value, head });
  }
  // Stable sort keeps input order among equal keys; the last of each run wins.
  list.sort((a, b) => a.head - b.head || compareBytes(a.key, b.key));
  const out: KeyChange[] = [];
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (i + 1 < list.length && equalBytes(c.key, list[i + 1]!.key)) continue;
    out.push({ key: c.key, value: c.value });
  }
  return out;
}

export class StateTree {
  private readonly reader: TreeNodeReader;
  private readonly cache: CommittedNodeCache | undefined;
  private readonly staleIndex: boolean;
  /**
   * By an update's `nodes` array, until the caller commits it (noteCommitted) or drops it
   * (then the entry goes with it): the decoded form of each node, by index, and the cache
   * entries that block's commit makes dead.
   */
  private readonly pending = new WeakMap<
    object,
    { written: ReadonlyArray<WrittenNode | undefined>; superseded: readonly CachedNode[] }
  >();
  readonly stats: StateTreeStats = { hashes: 0, nodeReads: 0, nodeCacheHits: 0, nodesWritten: 0 };

  constructor(reader: TreeNodeReader, opts: StateTreeOptions = {}) {
    this.reader = reader;
    this.cache = opts.cache;
    this.staleIndex = opts.staleIndex ?? false;
  }

  /**
   * Tells the tree that `nodes` (the `nodes` array of an update's result, as returned) are
   * durably written: later reads may be answered from memory. Call it only after the batch
   * holding them is committed; a node reported here is served for as long as the cache
   * keeps it. Another array with the same nodes works too, minus what the tree kept aside
   * for them (they are then decoded on first read).
   */
  noteCommitted(nodes: Iterable<readonly [key: Uint8Array, value: Uint8Array]>): void {
    const cache = this.cache;
    if (cache === undefined) return;
    const pending = this.pending.get(nodes);
    let i = 0;
    for (const [key, bytes] of nodes) {
      const known = pending?.written[i++];
      cache.add(key, bytes, known?.node, known?.inner);
    }
    if (pending !== undefined) for (const entry of pending.superseded) cache.drop(entry);
  }

  /**
   * Applies `changes` (null deletes) to version `prevVersion` (null: the empty tree) and
   * returns the nodes of `newVersion`, which must be greater. Nothing is written.
   */
  async update(
    prevVersion: number | null,
    newVersion: number,
    changes: Iterable<readonly [keyHash: Uint8Array, value: Uint8Array | null]>,
  ): Promise<StateUpdateResult> {
    checkVersion(newVersion, 'newVersion');
    if (prevVersion !== null) {
      checkVersion(prevVersion, 'prevVersion');
      // Rule: node keys are write-once, so a version never reuses an older version's keys.
      if (newVersion <= prevVersion) {
        throw new CivitasError('STATE_BAD_VERSION', 'newVersion must be greater than prevVersion', {
          prevVersion,
          newVersion,
        });
      }
    }
    const counters: UpdateCounters = { hashes: 0, nodeReads: 0, nodeCacheHits: 0 };
    const update = new TreeUpdate(
      this.reader,
      newVersion,
      normalizeChanges(changes),
      counters,
      this.cache,
      { trackStale: this.staleIndex },
    );
    try {
      const { rootHash, nodes, stale } = await update.run(prevVersion);
      this.stats.nodesWritten += nodes.length;
      if (this.cache !== undefined) {
        this.pending.set(nodes, {
          written: update.written,
          superseded: update.superseded,
        });
      }
      return { rootHash, nodes, staleNodes: stale };
    } finally {
      this.stats.hashes += counters.hashes;
      this.stats.nodeReads += counters.nodeReads;
      this.stats.nodeCacheHits += counters.nodeCacheHits;
    }
  }

  async rootHash(version: number): Promise<Uint8Array> {
    checkVersion(version);
    const key = encodeNodeKey(version, ROOT_PATH, 0);
    const node = await this.readNode(key, version, 0, ROOT_PATH, 'root');
    if (node.kind === NodeKind.empty) return EMPTY_SUBTREE_HASH.slice();
    if (node.kind === NodeKind.leaf) {
      this.stats.hashes += 2;
      return stateLeafHash(node.keyHash, stateValueHash(node.value));
    }
    return this.innerOf(key)?.[1]?.slice() ?? internalNodeHash(node, this.stats);
  }

  /** Whether a root node for `version` is stored (false once pruned or never written). */
  async hasVersion(version: number): Promise<boolean> {
    checkVersion(version);
    this.stats.nodeReads++;
    const key = encodeNodeKey(version, ROOT_PATH, 0);
    if (this.cache?.get(key) !== undefined) return true;
    return (await this.reader.getNode(key)) !== undefined;
  }

  async get(version: number, keyHash: Uint8Array): Promise<Uint8Array | undefined> {
    checkKeyHash(keyHash);
    checkVersion(version);
    let nodeVersion = version;
    let depth = 0;
    let expected: ExpectedKind = 'root';
    for (;;) {
      const key = encodeNodeKey(nodeVersion, keyHash, depth);
      const node = await this.readNode(key, nodeVersion, depth, keyHash, expected);
      if (node.kind === NodeKind.empty) return undefined;
      if (node.kind === NodeKind.leaf) {
        // A copy: the node may be the cache's, and values leave the tree.
        return equalBytes(node.keyHash, keyHash) ? node.value.slice() : undefined;
      }
      const bit = 1 << keyNibble(keyHash, depth);
      if ((node.childMask & bit) === 0) return undefined;
      expected = (node.leafMask & bit) !== 0 ? 'leaf' : 'internal';
      nodeVersion = node.versions[keyNibble(keyHash, depth)]!;
      depth++;
    }
  }

  async prove(version: number, keyHash: Uint8Array): Promise<StateProof> {
    return (await this.getWithProof(version, keyHash)).proof;
  }

  /** The value (undefined when absent) and the proof of it, in one walk. */
  async getWithProof(
    version: number,
    keyHash: Uint8Array,
  ): Promise<{ value: Uint8Array | undefined; proof: StateProof }> {
    checkKeyHash(keyHash);
    checkVersion(version);
    const siblings: Uint8Array[] = [];
    let nodeVersion = version;
    let depth = 0;
    let expected: ExpectedKind = 'root';
    let lastNibble = -1;
    for (;;) {
      const key = encodeNodeKey(nodeVersion, keyHash, depth, lastNibble);
      // A leaf reached through a neighbouring nibble lies on its own path, not keyHash's.
      const node = await this.readNode(
        key,
        nodeVersion,
        depth,
        lastNibble >= 0 ? null : keyHash,
        expected,
      );
      if (node.kind === NodeKind.empty)
        return { value: undefined, proof: { leaf: undefined, siblings } };
      if (node.kind === NodeKind.leaf) {
        this.stats.hashes++;
        // Copies: the node may be the cache's, and proofs and values leave the tree.
        const leaf = { keyHash: node.keyHash.slice(), valueHash: stateValueHash(node.value) };
        const value = equalBytes(node.keyHash, keyHash) ? node.value.slice() : undefined;
        return { value, proof: { leaf, siblings } };
      }
      const nibble = keyNibble(keyHash, depth);
      const step = internalNodePath(node, nibble, siblings, this.stats, this.innerOf(key));
      if (step.kind === 'empty') return { value: undefined, proof: { leaf: undefined, siblings } };
      expected = step.kind === 'leaf' ? 'leaf' : 'internal';
      lastNibble =
        step.kind === 'leaf' && step.nibble !== keyNibble(keyHash, depth) ? step.nibble : -1;
      nodeVersion = node.versions[step.nibble]!;
      depth++;
    }
  }

  /** The inner hashes of a cached internal node (just read by readNode), if known. */
  private innerOf(key: Uint8Array): InnerHashes | undefined {
    return this.cache?.peek(key)?.inner;
  }

  private async readNode(
    key: Uint8Array,
    version: number,
    depth: number,
    pathSource: Uint8Array | null,
    expected: ExpectedKind,
  ): Promise<TreeNode> {
    this.stats.nodeReads++;
    // Without a key at hand, the path comes from the node key itself (after version, depth).
    const path = pathSource ?? key.subarray(9);
    const cached = this.cache?.get(key);
    if (cached !== undefined) {
      this.stats.nodeCacheHits++;
      let node = cached.node;
      if (node === undefined) {
        node = checkStoredNode(cached.bytes, version, depth, path, expected);
        this.cache!.noteDecoded(cached, node);
        return node;
      }
      return checkNode(node, version, depth, path, expected);
    }
    const bytes = await this.reader.getNode(key);
    return checkStoredNode(bytes, version, depth, path, expected);
  }
}
