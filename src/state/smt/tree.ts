/**
 * The authenticated state: a versioned sparse Merkle tree in the style of Diem/Aptos's
 * Jellyfish Merkle Tree. Version = block height. Every version has its own root node (even a
 * block that changes nothing), so any retained version can be read and proven at any time.
 *
 * The tree only reads; `update` returns the new nodes for the caller's atomic block batch.
 * Node keys are write-once, so speculative execution of block h+1 over uncommitted block h is
 * `new StateTree(new OverlayNodeReader(committed, nodesOfH))`.
 */
import { compareBytes, equalBytes } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors.ts';
import {
  EMPTY_SUBTREE_HASH,
  KEY_HASH_LENGTH,
  keyNibble,
  stateLeafHash,
  stateValueHash,
} from './hashes.ts';
import {
  internalNodeHash,
  internalNodePath,
  MAX_STATE_VALUE_BYTES,
  NodeKind,
  type TreeNode,
} from './node.ts';
import { checkVersion, encodeNodeKey } from './node-key.ts';
import type { NodeWrite, TreeNodeReader } from './node-reader.ts';
import type { StateProof } from './proof.ts';
import { checkStoredNode, type ExpectedKind } from './stored-node.ts';
import { type KeyChange, TreeUpdate, type UpdateCounters } from './update.ts';

export interface StateUpdateResult {
  readonly rootHash: Uint8Array;
  /** New nodes of this version, for the caller's atomic batch. */
  readonly nodes: NodeWrite[];
}

/** Running totals, for benchmarks and metrics. */
export interface StateTreeStats {
  hashes: number;
  nodeReads: number;
  nodesWritten: number;
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
  const list: KeyChange[] = [];
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
    list.push({ key, value });
  }
  // Stable sort keeps input order among equal keys; the last of each run wins.
  list.sort((a, b) => compareBytes(a.key, b.key));
  const out: KeyChange[] = [];
  for (let i = 0; i < list.length; i++) {
    if (i + 1 < list.length && equalBytes(list[i]!.key, list[i + 1]!.key)) continue;
    out.push(list[i]!);
  }
  return out;
}

export class StateTree {
  private readonly reader: TreeNodeReader;
  readonly stats: StateTreeStats = { hashes: 0, nodeReads: 0, nodesWritten: 0 };

  constructor(reader: TreeNodeReader) {
    this.reader = reader;
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
    const counters: UpdateCounters = { hashes: 0, nodeReads: 0 };
    const update = new TreeUpdate(this.reader, newVersion, normalizeChanges(changes), counters);
    try {
      const result = await update.run(prevVersion);
      this.stats.nodesWritten += result.nodes.length;
      return result;
    } finally {
      this.stats.hashes += counters.hashes;
      this.stats.nodeReads += counters.nodeReads;
    }
  }

  async rootHash(version: number): Promise<Uint8Array> {
    checkVersion(version);
    const node = await this.readNode(
      encodeNodeKey(version, ROOT_PATH, 0),
      version,
      0,
      ROOT_PATH,
      'root',
    );
    if (node.kind === NodeKind.empty) return EMPTY_SUBTREE_HASH.slice();
    if (node.kind === NodeKind.leaf) {
      this.stats.hashes += 2;
      return stateLeafHash(node.keyHash, stateValueHash(node.value));
    }
    return internalNodeHash(node, this.stats);
  }

  /** Whether a root node for `version` is stored (false once pruned or never written). */
  async hasVersion(version: number): Promise<boolean> {
    checkVersion(version);
    this.stats.nodeReads++;
    return (await this.reader.getNode(encodeNodeKey(version, ROOT_PATH, 0))) !== undefined;
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
        return equalBytes(node.keyHash, keyHash) ? node.value : undefined;
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
        const leaf = { keyHash: node.keyHash, valueHash: stateValueHash(node.value) };
        const value = equalBytes(node.keyHash, keyHash) ? node.value : undefined;
        return { value, proof: { leaf, siblings } };
      }
      const step = internalNodePath(node, keyNibble(keyHash, depth), siblings, this.stats);
      if (step.kind === 'empty') return { value: undefined, proof: { leaf: undefined, siblings } };
      expected = step.kind === 'leaf' ? 'leaf' : 'internal';
      lastNibble =
        step.kind === 'leaf' && step.nibble !== keyNibble(keyHash, depth) ? step.nibble : -1;
      nodeVersion = node.versions[step.nibble]!;
      depth++;
    }
  }

  private async readNode(
    key: Uint8Array,
    version: number,
    depth: number,
    pathSource: Uint8Array | null,
    expected: ExpectedKind,
  ): Promise<TreeNode> {
    this.stats.nodeReads++;
    const bytes = await this.reader.getNode(key);
    // Without a key at hand, the path comes from the node key itself (after version, depth).
    return checkStoredNode(bytes, version, depth, pathSource ?? key.subarray(9), expected);
  }
}
