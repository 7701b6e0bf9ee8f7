/**
 * State snapshots (docs/STATE-SYNC.md): the state tree of one version cut into pieces
 * (whole subtrees, named by nibble path) and packed into chunks of at most
 * SNAPSHOT_CHUNK_BYTES, with a manifest listing each piece's hash and leaf count.
 *
 * Everything a joining node receives is checked before it is used: the manifest by
 * recomputing the 16-ary nodes above the pieces up to the trusted state root, each chunk on
 * its own by rebuilding its pieces from their leaves. The import writes the nodes the same
 * builder makes, at the snapshot's version, so the imported tree is one the ledger can update
 * and prove from (a leaf at its shortest unique prefix, an internal node only above two
 * leaves or more), and its root is read back and compared at the end.
 *
 * Snapshots are deterministic: every node holding version S cuts the same pieces and chunks
 * (they depend only on the leaves and SNAPSHOT_CHUNK_BYTES), so chunks may come from
 * different peers.
 */
import { decode, expectVersion, type Reader } from '../codec/reader.ts';
import { encode, type Writer } from '../codec/writer.ts';
import { compareBytes, equalBytes, toHex } from '../crypto/bytes.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import { EMPTY_SUBTREE_HASH, keyNibble, stateLeafHash, stateValueHash } from './smt/hashes.ts';
import {
  decodeNode,
  encodeEmptyNode,
  encodeInternalNode,
  encodeLeafNode,
  type InternalNode,
  internalNodeHash,
  MAX_STATE_VALUE_BYTES,
  NodeKind,
  type TreeNode,
} from './smt/node.ts';
import { encodeNodeKey } from './smt/node-key.ts';
import { type NodeWrite, readNodes, type TreeNodeReader } from './smt/node-reader.ts';

type Bytes = Uint8Array;

export const SNAPSHOT_FORMAT = 1;
/** A piece whose leaves encode to more than this is cut into its children; chunks pack pieces up to it. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** A chunk's bytes may exceed SNAPSHOT_CHUNK_BYTES by its header only. */
const CHUNK_HEADER_BYTES = 16;
/** Pieces in one manifest (~1,000,000 pieces would be a state of ~10^12 bytes). */
export const MAX_SNAPSHOT_PIECES = 1_000_000;
/** 64 nibbles of a 32-byte key hash. */
const MAX_DEPTH = 64;

export interface SnapshotLeaf {
  readonly keyHash: Bytes;
  readonly value: Bytes;
}

/** A whole subtree of the state at the snapshot's version. */
export interface SnapshotPiece {
  /** Nibble depth of the subtree's root (0: the whole tree). */
  readonly depth: number;
  /** The first `depth` nibbles, two per byte (an odd last nibble in the high half, low half 0). */
  readonly path: Bytes;
  readonly leafCount: number;
  /** The subtree's hash (a piece of one leaf: that leaf's hash). */
  readonly hash: Bytes;
}

export interface SnapshotChunkInfo {
  /** How many consecutive pieces the chunk holds (≥ 1). */
  readonly pieceCount: number;
  readonly byteLength: number;
}

export interface SnapshotManifest {
  readonly chainId: string;
  readonly height: number;
  readonly stateRoot: Bytes;
  readonly pieces: readonly SnapshotPiece[];
  readonly chunks: readonly SnapshotChunkInfo[];
}

function badManifest(message: string, context: Record<string, unknown> = {}): never {
  throw new CivitasError('SNAPSHOT_BAD_MANIFEST', `snapshot manifest: ${message}`, context);
}

function badChunk(index: number, message: string): never {
  throw new CivitasError('SNAPSHOT_BAD_CHUNK', `snapshot chunk ${index}: ${message}`, { index });
}

// ---------------------------------------------------------------------------------------
// Encodings

const leafBytes = (leaf: SnapshotLeaf): number =>
  HASH_LENGTH + varuintLength(leaf.value.length) + leaf.value.length;

function varuintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

export function encodeChunk(leaves: readonly SnapshotLeaf[]): Bytes {
  let size = 1 + varuintLength(leaves.length);
  for (const leaf of leaves) size += leafBytes(leaf);
  return encode((w) => {
    w.u8(SNAPSHOT_FORMAT).varuint(leaves.length);
    for (const leaf of leaves) w.fixed(leaf.keyHash, HASH_LENGTH).bytes(leaf.value);
  }, size);
}

/** Strict: leaves in strictly increasing key-hash order, values within the state's limit. */
export function decodeChunk(bytes: Bytes): SnapshotLeaf[] {
  return decode(bytes, (r) => {
    expectVersion(r, SNAPSHOT_FORMAT, 'snapshot chunk');
    const count = r.varuint(Math.floor(bytes.length / (HASH_LENGTH + 1)));
    const leaves: SnapshotLeaf[] = [];
    for (let i = 0; i < count; i++) {
      const keyHash = r.fixed(HASH_LENGTH);
      const value = r.bytes(MAX_STATE_VALUE_BYTES);
      if (i > 0 && compareBytes(leaves[i - 1]!.keyHash, keyHash) >= 0) {
        throw new CivitasError('SNAPSHOT_BAD_CHUNK', 'chunk leaves are not in key order');
      }
      leaves.push({ keyHash, value });
    }
    return leaves;
  });
}

const pathBytes = (depth: number): number => (depth + 1) >> 1;

function writePiece(w: Writer, p: SnapshotPiece): void {
  w.u8(p.depth).raw(p.path.subarray(0, pathBytes(p.depth)));
  w.varuint(p.leafCount).fixed(p.hash, HASH_LENGTH);
}

function readPiece(r: Reader): SnapshotPiece {
  const depth = r.u8();
  if (depth > MAX_DEPTH) badManifest(`piece depth ${depth} exceeds ${MAX_DEPTH}`);
  const path = r.fixed(pathBytes(depth));
  // Rule: one encoding per path: the unused low half of an odd last byte is zero.
  if ((depth & 1) === 1 && (path[path.length - 1]! & 0x0f) !== 0) {
    badManifest('a piece path has bits past its depth');
  }
  const leafCount = r.varuint();
  if (leafCount === 0) badManifest('a piece without leaves');
  return { depth, path, leafCount, hash: r.fixed(HASH_LENGTH) };
}

export function encodeManifest(m: SnapshotManifest): Bytes {
  return encode((w) => {
    w.u8(SNAPSHOT_FORMAT).string(m.chainId).varuint(m.height).fixed(m.stateRoot, HASH_LENGTH);
    w.varuint(m.pieces.length);
    for (const p of m.pieces) writePiece(w, p);
    w.varuint(m.chunks.length);
    for (const c of m.chunks) w.varuint(c.pieceCount).varuint(c.byteLength);
  });
}

export function decodeManifest(bytes: Bytes): SnapshotManifest {
  try {
    return decode(bytes, (r) => {
      expectVersion(r, SNAPSHOT_FORMAT, 'snapshot manifest');
      const chainId = r.string(64);
      const height = r.varuint();
      const stateRoot = r.fixed(HASH_LENGTH);
      const pieceCount = r.varuint(MAX_SNAPSHOT_PIECES);
      const pieces: SnapshotPiece[] = [];
      for (let i = 0; i < pieceCount; i++) pieces.push(readPiece(r));
      const chunkCount = r.varuint(pieceCount);
      const chunks: SnapshotChunkInfo[] = [];
      for (let i = 0; i < chunkCount; i++) {
        chunks.push({
          pieceCount: r.varuint(pieceCount),
          byteLength: r.varuint(SNAPSHOT_CHUNK_BYTES + CHUNK_HEADER_BYTES),
        });
      }
      return { chainId, height, stateRoot, pieces, chunks };
    });
  } catch (err) {
    if (err instanceof CivitasError && err.code === 'SNAPSHOT_BAD_MANIFEST') throw err;
    return badManifest(`does not decode: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------
// The tree builder: the nodes of a set of leaves, as the state tree stores them

interface Built {
  readonly hash: Bytes;
  /** A lone leaf (its parent marks it in leafMask). */
  readonly isLeaf: boolean;
}

/**
 * The subtree of `leaves[lo..hi)` (sorted, ≥ 1, all sharing their first `depth` nibbles) with
 * its root at `depth`: a leaf node for one leaf, else an internal node over its nibble groups.
 * With `writes`, each node is added under (version, path, depth).
 */
function buildLeaves(
  leaves: readonly SnapshotLeaf[],
  lo: number,
  hi: number,
  depth: number,
  version: number,
  writes: NodeWrite[] | undefined,
): Built {
  const first = leaves[lo]!;
  if (hi - lo === 1) {
    writes?.push([
      encodeNodeKey(version, first.keyHash, depth),
      encodeLeafNode(first.keyHash, first.value),
    ]);
    return { hash: stateLeafHash(first.keyHash, stateValueHash(first.value)), isLeaf: true };
  }
  const children: Array<{ lo: number; hi: number }> = [];
  let start = lo;
  for (let i = lo + 1; i <= hi; i++) {
    if (
      i === hi ||
      keyNibble(leaves[i]!.keyHash, depth) !== keyNibble(leaves[start]!.keyHash, depth)
    ) {
      children.push({ lo: start, hi: i });
      start = i;
    }
  }
  return internalOver(
    children.map((c) => ({
      nibble: keyNibble(leaves[c.lo]!.keyHash, depth),
      built: buildLeaves(leaves, c.lo, c.hi, depth + 1, version, writes),
    })),
    first.keyHash,
    depth,
    version,
    writes,
  );
}

function internalOver(
  children: ReadonlyArray<{ nibble: number; built: Built }>,
  pathSource: Bytes,
  depth: number,
  version: number,
  writes: NodeWrite[] | undefined,
): Built {
  let childMask = 0;
  let leafMask = 0;
  const versions = new Array<number>(16).fill(0);
  const hashes = new Array<Bytes | undefined>(16);
  for (const { nibble, built } of children) {
    childMask |= 1 << nibble;
    if (built.isLeaf) leafMask |= 1 << nibble;
    versions[nibble] = version;
    hashes[nibble] = built.hash;
  }
  const node = { childMask, leafMask, versions, hashes };
  writes?.push([encodeNodeKey(version, pathSource, depth), encodeInternalNode(node)]);
  return { hash: internalNodeHash(node), isLeaf: false };
}

/** A piece's path as a 32-byte key-hash-shaped buffer (for node keys and nibble reads). */
function pathSourceOf(piece: SnapshotPiece): Bytes {
  const out = new Uint8Array(HASH_LENGTH);
  out.set(piece.path.subarray(0, pathBytes(piece.depth)));
  return out;
}

/**
 * The nodes above the pieces `pieces[lo..hi)` (in key order), rooted at `depth`. Refuses what
 * no canonical tree has: pieces not prefix free or out of order, and a node above fewer than
 * two leaves (a lone leaf is stored in its parent's place, never below an internal node).
 */
function buildUpper(
  pieces: readonly SnapshotPiece[],
  sources: readonly Bytes[],
  lo: number,
  hi: number,
  depth: number,
  version: number,
  writes: NodeWrite[] | undefined,
): Built {
  const first = pieces[lo]!;
  if (first.depth === depth) {
    if (hi - lo !== 1) badManifest('pieces are not prefix free', { depth });
    return { hash: first.hash, isLeaf: first.leafCount === 1 };
  }
  let leaves = 0;
  for (let i = lo; i < hi; i++) leaves += pieces[i]!.leafCount;
  if (leaves < 2) badManifest('a piece of one leaf below its own subtree', { depth });
  const children: Array<{ nibble: number; built: Built }> = [];
  let start = lo;
  for (let i = lo + 1; i <= hi; i++) {
    const nibble = keyNibble(sources[start]!, depth);
    if (i < hi) {
      if (pieces[i]!.depth <= depth) badManifest('pieces are not prefix free', { depth });
      const next = keyNibble(sources[i]!, depth);
      if (next < nibble) badManifest('pieces are not in key order', { depth });
      if (next === nibble) continue;
    }
    children.push({
      nibble,
      built: buildUpper(pieces, sources, start, i, depth + 1, version, writes),
    });
    start = i;
  }
  return internalOver(children, sources[lo]!, depth, version, writes);
}

/** The root the pieces make (EMPTY_SUBTREE_HASH for none), with the nodes above them. */
function upperRoot(pieces: readonly SnapshotPiece[], version: number, writes?: NodeWrite[]): Bytes {
  if (pieces.length === 0) {
    writes?.push([encodeNodeKey(version, new Uint8Array(HASH_LENGTH), 0), encodeEmptyNode()]);
    return EMPTY_SUBTREE_HASH.slice();
  }
  const sources = pieces.map(pathSourceOf);
  return buildUpper(pieces, sources, 0, pieces.length, 0, version, writes).hash;
}

// ---------------------------------------------------------------------------------------
// Creation: walk one version of the tree

async function readNode(reader: TreeNodeReader, key: Bytes): Promise<TreeNode> {
  const bytes = await reader.getNode(key);
  if (bytes === undefined) {
    throw new CivitasError('STATE_MISSING_NODE', `tree node ${toHex(key)} is not in the store`);
  }
  return decodeNode(bytes);
}

/** A node of the walk: where it is stored and its position. */
interface At {
  readonly version: number;
  readonly depth: number;
  /** A key hash with this node's path as its first `depth` nibbles. */
  readonly source: Bytes;
}

function childAt(at: At, nibble: number, version: number): At {
  const source = at.source.slice();
  const i = at.depth >> 1;
  source[i] =
    (at.depth & 1) === 0 ? (nibble << 4) | (source[i]! & 0x0f) : (source[i]! & 0xf0) | nibble;
  return { version, depth: at.depth + 1, source };
}

const keyOf = (at: At): Bytes => encodeNodeKey(at.version, at.source, at.depth);

/** The leaves under `node`, in key order, or undefined once they exceed `budget` bytes. */
async function leavesUnder(
  reader: TreeNodeReader,
  at: At,
  node: TreeNode,
  budget: { left: number },
  out: SnapshotLeaf[],
): Promise<boolean> {
  if (node.kind === NodeKind.empty) return true;
  if (node.kind === NodeKind.leaf) {
    const leaf = { keyHash: node.keyHash, value: node.value };
    budget.left -= leafBytes(leaf);
    out.push(leaf);
    return budget.left >= 0;
  }
  for (const [child, childNode] of await childrenOf(reader, at, node)) {
    if (!(await leavesUnder(reader, child, childNode, budget, out))) return false;
  }
  return true;
}

/** The children of an internal node, read in one batch (one LevelDB round trip), in order. */
async function childrenOf(
  reader: TreeNodeReader,
  at: At,
  node: InternalNode,
): Promise<Array<[At, TreeNode]>> {
  const children: At[] = [];
  for (let n = 0; n < 16; n++) {
    if ((node.childMask & (1 << n)) !== 0) children.push(childAt(at, n, node.versions[n]!));
  }
  const keys = children.map(keyOf);
  const bytes = await readNodes(reader, keys);
  return children.map((child, i) => {
    const b = bytes[i];
    if (b === undefined) {
      throw new CivitasError(
        'STATE_MISSING_NODE',
        `tree node ${toHex(keys[i]!)} is not in the store`,
      );
    }
    return [child, decodeNode(b)];
  });
}

function pieceOf(at: At, leaves: readonly SnapshotLeaf[]): SnapshotPiece {
  return {
    depth: at.depth,
    path: at.source.slice(0, pathBytes(at.depth)),
    leafCount: leaves.length,
    hash: buildLeaves(leaves, 0, leaves.length, at.depth, 0, undefined).hash,
  };
}

/**
 * The pieces of version `version` with their leaves, in key order: a subtree that fits
 * `maxBytes` is one piece, a larger one is cut into its children.
 */
async function* piecesOf(
  reader: TreeNodeReader,
  at: At,
  node: TreeNode,
  maxBytes: number,
): AsyncGenerator<{ piece: SnapshotPiece; leaves: SnapshotLeaf[] }> {
  const leaves: SnapshotLeaf[] = [];
  if (await leavesUnder(reader, at, node, { left: maxBytes }, leaves)) {
    if (leaves.length > 0) yield { piece: pieceOf(at, leaves), leaves };
    return;
  }
  if (node.kind !== NodeKind.internal) {
    // A lone leaf larger than the budget (only with a budget below the value limit) is a piece.
    if (leaves.length > 0) yield { piece: pieceOf(at, leaves), leaves };
    return;
  }
  for (const [child, childNode] of await childrenOf(reader, at, node)) {
    yield* piecesOf(reader, child, childNode, maxBytes);
  }
}

/**
 * Cuts version `version` of the tree read through `reader` into chunks, handing each to
 * `onChunk` (index, bytes) as it is made, and returns the manifest. Reads only that version's
 * nodes, which later commits never change.
 */
export async function createSnapshot(
  reader: TreeNodeReader,
  target: { chainId: string; height: number; stateRoot: Bytes },
  onChunk: (index: number, bytes: Bytes) => Promise<void>,
  opts: { maxChunkBytes?: number } = {},
): Promise<SnapshotManifest> {
  const maxBytes = opts.maxChunkBytes ?? SNAPSHOT_CHUNK_BYTES;
  const root: At = { version: target.height, depth: 0, source: new Uint8Array(HASH_LENGTH) };
  const pieces: SnapshotPiece[] = [];
  const chunks: SnapshotChunkInfo[] = [];
  let pending: SnapshotLeaf[] = [];
  let pendingBytes = 0;
  let pendingPieces = 0;
  const flush = async (): Promise<void> => {
    if (pendingPieces === 0) return;
    const bytes = encodeChunk(pending);
    await onChunk(chunks.length, bytes);
    chunks.push({ pieceCount: pendingPieces, byteLength: bytes.length });
    pending = [];
    pendingBytes = 0;
    pendingPieces = 0;
  };
  for await (const { piece, leaves } of piecesOf(
    reader,
    root,
    await readNode(reader, keyOf(root)),
    maxBytes,
  )) {
    let bytes = 0;
    for (const leaf of leaves) bytes += leafBytes(leaf);
    if (pendingPieces > 0 && pendingBytes + bytes > maxBytes) await flush();
    pieces.push(piece);
    pending.push(...leaves);
    pendingBytes += bytes;
    pendingPieces++;
  }
  await flush();
  const manifest = { ...target, pieces, chunks };
  if (!equalBytes(upperRoot(pieces, target.height), target.stateRoot)) {
    throw new CivitasError(
      'SNAPSHOT_BAD_MANIFEST',
      `the snapshot of version ${target.height} does not make its state root: the tree is damaged`,
    );
  }
  return manifest;
}

// ---------------------------------------------------------------------------------------
// Verification

/** A manifest checked against a trusted root: where each chunk's pieces start. */
export interface VerifiedManifest {
  readonly manifest: SnapshotManifest;
  /** chunk i holds pieces [firstPiece[i], firstPiece[i + 1]). */
  readonly firstPiece: readonly number[];
}

/**
 * Checks a manifest against what the joining node trusts (its chain id, and height and state
 * root from a certified header) before any chunk is fetched: the pieces must be in key order,
 * prefix free, and make that root. SNAPSHOT_BAD_MANIFEST otherwise.
 */
export function verifyManifest(
  manifest: SnapshotManifest,
  trusted: { chainId: string; height: number; stateRoot: Bytes },
): VerifiedManifest {
  if (manifest.chainId !== trusted.chainId) badManifest(`for chain "${manifest.chainId}"`);
  if (manifest.height !== trusted.height) {
    badManifest(`of height ${manifest.height}, not ${trusted.height}`);
  }
  if (!equalBytes(manifest.stateRoot, trusted.stateRoot)) badManifest('names another state root');
  const firstPiece: number[] = [];
  let at = 0;
  for (const c of manifest.chunks) {
    if (c.pieceCount < 1) badManifest('a chunk without pieces');
    if (c.byteLength > SNAPSHOT_CHUNK_BYTES + CHUNK_HEADER_BYTES) badManifest('a chunk too large');
    firstPiece.push(at);
    at += c.pieceCount;
  }
  if (at !== manifest.pieces.length) badManifest('the chunks do not hold exactly the pieces');
  firstPiece.push(at);
  if (!equalBytes(upperRoot(manifest.pieces, manifest.height), trusted.stateRoot)) {
    badManifest('the pieces do not make the state root');
  }
  return { manifest, firstPiece };
}

/**
 * Checks chunk `index` on its own against a verified manifest and returns its leaves with the
 * tree nodes of its pieces (at the snapshot's version): its length, its leaves' order, each
 * leaf under its piece's path, each piece's leaf count and hash. SNAPSHOT_BAD_CHUNK otherwise.
 */
export function verifyChunk(
  verified: VerifiedManifest,
  index: number,
  bytes: Bytes,
): { leaves: SnapshotLeaf[]; nodes: NodeWrite[] } {
  const { manifest, firstPiece } = verified;
  const info = manifest.chunks[index];
  if (info === undefined) badChunk(index, 'no such chunk');
  if (bytes.length !== info.byteLength)
    badChunk(index, `${bytes.length} bytes, not ${info.byteLength}`);
  let leaves: SnapshotLeaf[];
  try {
    leaves = decodeChunk(bytes);
  } catch (err) {
    return badChunk(index, `does not decode: ${(err as Error).message}`);
  }
  const nodes: NodeWrite[] = [];
  let at = 0;
  for (let p = firstPiece[index]!; p < firstPiece[index + 1]!; p++) {
    const piece = manifest.pieces[p]!;
    const end = at + piece.leafCount;
    if (end > leaves.length) badChunk(index, 'fewer leaves than its pieces hold');
    const source = pathSourceOf(piece);
    for (let i = at; i < end; i++) {
      for (let d = 0; d < piece.depth; d++) {
        if (keyNibble(leaves[i]!.keyHash, d) !== keyNibble(source, d)) {
          badChunk(index, `a leaf outside piece ${p}`);
        }
      }
    }
    const built = buildLeaves(leaves, at, end, piece.depth, manifest.height, nodes);
    if (!equalBytes(built.hash, piece.hash)) badChunk(index, `piece ${p} does not make its hash`);
    at = end;
  }
  if (at !== leaves.length) badChunk(index, 'more leaves than its pieces hold');
  return { leaves, nodes };
}

/** The tree nodes above the pieces (at the snapshot's version), written last by an import. */
export function upperNodes(verified: VerifiedManifest): NodeWrite[] {
  const writes: NodeWrite[] = [];
  upperRoot(verified.manifest.pieces, verified.manifest.height, writes);
  // Pieces are the subtrees' own roots, written with their chunks; the walk writes none of them.
  return writes;
}
