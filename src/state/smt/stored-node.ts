/**
 * Reading a node back with the checks that catch a corrupt or mismatched store early: the
 * node exists, has the kind its parent announced, a leaf lies on the path it is stored under,
 * and no child claims to be newer than its parent.
 */
import { CivitasError } from '../../errors/index.ts';
import { decodeNode, NodeKind, type TreeNode } from './node.ts';

/** What the parent says the node is; the root may be any kind. */
export type ExpectedKind = 'root' | 'leaf' | 'internal';

/** True when the first `nibbles` nibbles of a and b are equal. */
export function samePathPrefix(a: Uint8Array, b: Uint8Array, nibbles: number): boolean {
  const full = nibbles >> 1;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  if ((nibbles & 1) === 1 && a[full]! >> 4 !== b[full]! >> 4) return false;
  return true;
}

export function checkStoredNode(
  bytes: Uint8Array | undefined,
  version: number,
  depth: number,
  pathSource: Uint8Array,
  expected: ExpectedKind,
): TreeNode {
  if (bytes === undefined) {
    throw new CivitasError(
      'STATE_MISSING_NODE',
      depth === 0 ? `no state root at version ${version}` : `missing tree node at depth ${depth}`,
      { version, depth },
    );
  }
  return checkNode(decodeNode(bytes), version, depth, pathSource, expected);
}

/** The checks of checkStoredNode on a node already decoded (e.g. held in memory). */
export function checkNode(
  node: TreeNode,
  version: number,
  depth: number,
  pathSource: Uint8Array,
  expected: ExpectedKind,
): TreeNode {
  if (
    expected === 'leaf'
      ? node.kind !== NodeKind.leaf
      : expected === 'internal' && node.kind !== NodeKind.internal
  ) {
    throw new CivitasError('STATE_BAD_NODE', `expected a ${expected} node`, {
      version,
      depth,
      kind: node.kind,
    });
  }
  // Rule: the empty node only ever stands for a whole empty tree.
  if (node.kind === NodeKind.empty && depth !== 0) {
    throw new CivitasError('STATE_BAD_NODE', 'empty node below the root', { version, depth });
  }
  // Rule: a leaf is stored under a prefix of its own key hash.
  if (node.kind === NodeKind.leaf && !samePathPrefix(node.keyHash, pathSource, depth)) {
    throw new CivitasError('STATE_BAD_NODE', 'leaf stored off its key path', { version, depth });
  }
  // Rule: children are written no later than their parent.
  if (node.kind === NodeKind.internal) {
    for (let i = 0; i < 16; i++) {
      if ((node.childMask & (1 << i)) !== 0 && node.versions[i]! > version) {
        throw new CivitasError('STATE_BAD_NODE', 'child version newer than its parent', {
          version,
          depth,
          childVersion: node.versions[i],
        });
      }
    }
  }
  return node;
}
