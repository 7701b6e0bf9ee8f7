/**
 * The authenticated state tree: a versioned, 16-ary Jellyfish-style sparse Merkle tree whose
 * hashes are those of a binary sparse Merkle tree with leaf compression. See tree.ts.
 */
export {
  EMPTY_SUBTREE_HASH,
  KEY_HASH_LENGTH,
  stateInnerHash,
  stateKeyHash,
  stateLeafHash,
  stateValueHash,
} from './hashes.ts';
export { LevelNodeReader, NODE_SUBLEVEL_OPTIONS, type NodeSublevel } from './level-node-reader.ts';
export { decodeNode, MAX_STATE_VALUE_BYTES, type TreeNode } from './node.ts';
export {
  CommittedNodeCache,
  DEFAULT_NODE_CACHE_BYTES,
  type NodeCacheStats,
} from './node-cache.ts';
export {
  type DecodedNodeKey,
  decodeNodeKey,
  encodeNodeKey,
  nodeKeyVersionPrefix,
} from './node-key.ts';
export {
  MemoryNodeReader,
  type NodeWrite,
  OverlayNodeReader,
  type TreeNodeReader,
} from './node-reader.ts';
export {
  decodeStateProof,
  encodeStateProof,
  MAX_STATE_PROOF_SIBLINGS,
  type StateProof,
  type StateProofJson,
  type StateProofLeaf,
  stateProofFromJson,
  stateProofToJson,
  verifyStateProof,
} from './proof.ts';
export { SortedTreeBuilder } from './sorted-build.ts';
export {
  StateTree,
  type StateTreeOptions,
  type StateTreeStats,
  type StateUpdateResult,
} from './tree.ts';
