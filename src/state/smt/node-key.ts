/**
 * Storage keys of tree nodes: `version (8 bytes, big-endian) || depth (1 byte) || path`, where
 * the path is the first `depth` nibbles of the key hash packed two per byte (an odd final
 * nibble fills the high half of the last byte; the low half is zero). A node is written once
 * under the version that created it and never overwritten. Version-first order keeps every
 * node of one block contiguous in LevelDB (cheap batch writes, and pruning a version is a
 * range scan), as in Jellyfish Merkle Tree's NodeKey.
 */
import { CivitasError } from '../../errors/index.ts';

/** 64 nibbles of a 32-byte key hash. */
export const MAX_NIBBLE_DEPTH = 64;
const VERSION_BYTES = 8;
const TWO_32 = 0x1_0000_0000;

export function checkVersion(version: number, what = 'version'): void {
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new CivitasError('STATE_BAD_VERSION', `${what} must be a safe non-negative integer`, {
      version: String(version),
    });
  }
}

/**
 * Key of the node at `depth` on the path of `pathSource` (any key hash under that node). With
 * `lastNibble` ≥ 0 the nibble at depth-1 is replaced: the key of a child whose own nibble no
 * key at hand carries.
 */
export function encodeNodeKey(
  version: number,
  pathSource: Uint8Array,
  depth: number,
  lastNibble = -1,
): Uint8Array {
  const pathBytes = (depth + 1) >> 1;
  const out = new Uint8Array(VERSION_BYTES + 1 + pathBytes);
  const hi = Math.floor(version / TWO_32);
  const lo = version % TWO_32;
  out[0] = hi >>> 24;
  out[1] = (hi >>> 16) & 0xff;
  out[2] = (hi >>> 8) & 0xff;
  out[3] = hi & 0xff;
  out[4] = lo >>> 24;
  out[5] = (lo >>> 16) & 0xff;
  out[6] = (lo >>> 8) & 0xff;
  out[7] = lo & 0xff;
  out[8] = depth;
  for (let i = 0; i < pathBytes; i++) out[9 + i] = pathSource[i]!;
  if ((depth & 1) === 1) out[8 + pathBytes] &= 0xf0;
  if (lastNibble >= 0) {
    const at = 8 + pathBytes;
    out[at] =
      (depth & 1) === 1 ? (lastNibble << 4) | (out[at]! & 0x0f) : (out[at]! & 0xf0) | lastNibble;
  }
  return out;
}

export interface DecodedNodeKey {
  readonly version: number;
  readonly depth: number;
  /** Packed nibbles, `ceil(depth / 2)` bytes. */
  readonly path: Uint8Array;
}

/** Strict inverse of encodeNodeKey (for pruning, debugging and corruption checks). */
export function decodeNodeKey(key: Uint8Array): DecodedNodeKey {
  if (key.length < VERSION_BYTES + 1) {
    throw new CivitasError('STATE_BAD_NODE_KEY', 'node key shorter than version and depth');
  }
  const depth = key[8]!;
  // Rule: depth ≤ 64 and the key is exactly version + depth byte + ceil(depth/2) path bytes.
  if (depth > MAX_NIBBLE_DEPTH || key.length !== VERSION_BYTES + 1 + ((depth + 1) >> 1)) {
    throw new CivitasError('STATE_BAD_NODE_KEY', 'node key length does not match its depth', {
      depth,
      length: key.length,
    });
  }
  // Rule: the unused low nibble after an odd-length path is zero (one encoding per path).
  if ((depth & 1) === 1 && (key[key.length - 1]! & 0x0f) !== 0) {
    throw new CivitasError('STATE_BAD_NODE_KEY', 'node key has a non-zero padding nibble');
  }
  const hi = ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
  const lo = ((key[4]! << 24) | (key[5]! << 16) | (key[6]! << 8) | key[7]!) >>> 0;
  const version = hi * TWO_32 + lo;
  if (!Number.isSafeInteger(version)) {
    throw new CivitasError('STATE_BAD_NODE_KEY', 'node key version exceeds 2^53-1');
  }
  return { version, depth, path: key.slice(VERSION_BYTES + 1) };
}

/** The 8-byte big-endian prefix shared by every node written at `version` (range scans). */
export function nodeKeyVersionPrefix(version: number): Uint8Array {
  return encodeNodeKey(version, new Uint8Array(0), 0).subarray(0, VERSION_BYTES);
}

/**
 * A node key as a Map key: one char per byte (at most 41), injective. Built by
 * String.fromCharCode rather than through a Buffer's latin1 view, about twice as fast for
 * keys this short, and this runs for every node a block reads or commits.
 */
export function nodeKeyString(key: Uint8Array): string {
  return String.fromCharCode.apply(null, key as unknown as number[]);
}
