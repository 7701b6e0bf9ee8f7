/** The sparse Merkle tree's stored nodes as tests walk them (pruning and stale-node tests). */
import assert from 'node:assert/strict';
import { toHex } from '../../src/crypto/bytes.ts';
import {
  decodeNode,
  decodeNodeKey,
  encodeNodeKey,
  type TreeNodeReader,
} from '../../src/state/smt/index.ts';

/**
 * Every node key reachable from the roots of `versions` through `reader`, as hex; a node that
 * is not stored fails the test.
 */
export async function reachableNodes(
  reader: TreeNodeReader,
  versions: Iterable<number>,
): Promise<Set<string>> {
  const out = new Set<string>();
  const visit = async (key: Uint8Array, version: number): Promise<void> => {
    if (out.has(toHex(key))) return;
    const bytes = await reader.getNode(key);
    assert.ok(bytes, `node ${toHex(key)} of version ${version} stored`);
    out.add(toHex(key));
    const node = decodeNode(bytes);
    if (node.kind !== 1) return;
    const { depth } = decodeNodeKey(key);
    const source = new Uint8Array(32);
    source.set(key.subarray(9));
    for (let n = 0; n < 16; n++) {
      if ((node.childMask & (1 << n)) !== 0) {
        await visit(encodeNodeKey(node.versions[n]!, source, depth + 1, n), version);
      }
    }
  };
  for (const v of versions) await visit(encodeNodeKey(v, new Uint8Array(0), 0), v);
  return out;
}
