/**
 * State proofs: a key's path through the binary sparse Merkle tree (hashes.ts), as in Diem's
 * SparseMerkleProof. `siblings[i]` is the sibling subtree hash at bit depth i+1 (root side
 * first, EMPTY_SUBTREE_HASH for an empty sibling); the path ends at depth `siblings.length`
 * in one of:
 *   - the key's own leaf                      inclusion:     key → value
 *   - another key's leaf, sharing the prefix  non-inclusion: that leaf owns the whole subtree
 *   - an empty subtree (leaf undefined)       non-inclusion
 * Verification is pure and needs no database: light clients run it against a root hash from
 * a header carrying 2f+1 commit signatures.
 */
import { decode, encode, type Reader } from '../../codec/index.ts';
import { equalBytes, fromHex, toHex } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import {
  EMPTY_SUBTREE_HASH,
  isEmptySubtreeHash,
  KEY_HASH_LENGTH,
  keyBit,
  stateInnerHash,
  stateLeafHash,
  stateValueHash,
} from './hashes.ts';

/** A key hash has 256 bits, so no path is longer. */
export const MAX_STATE_PROOF_SIBLINGS = 256;
const PROOF_FORMAT_VERSION = 1;

export interface StateProofLeaf {
  readonly keyHash: Uint8Array;
  readonly valueHash: Uint8Array;
}

export interface StateProof {
  /** The leaf where the key's path ends, or undefined when it ends in an empty subtree. */
  readonly leaf: StateProofLeaf | undefined;
  /** Sibling hashes, root side first. */
  readonly siblings: readonly Uint8Array[];
}

function isHash(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === KEY_HASH_LENGTH;
}

/** Number of equal leading bits of two key hashes. */
function commonPrefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < KEY_HASH_LENGTH; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return KEY_HASH_LENGTH * 8;
}

/**
 * Checks that `keyHash` maps to `value` (or, with `value` undefined, to nothing) in the tree
 * with root `rootHash`. Never throws: anything malformed is simply not a proof.
 */
export function verifyStateProof(
  rootHash: Uint8Array,
  keyHash: Uint8Array,
  value: Uint8Array | undefined,
  proof: StateProof,
): boolean {
  if (!isHash(rootHash) || !isHash(keyHash)) return false;
  if (value !== undefined && !(value instanceof Uint8Array)) return false;
  const siblings = proof?.siblings;
  if (!Array.isArray(siblings) || siblings.length > MAX_STATE_PROOF_SIBLINGS) return false;
  const leaf = proof.leaf;
  let hash: Uint8Array;
  if (leaf === undefined) {
    // An empty slot proves absence only.
    if (value !== undefined) return false;
    hash = EMPTY_SUBTREE_HASH;
  } else {
    if (!isHash(leaf.keyHash) || !isHash(leaf.valueHash)) return false;
    if (value !== undefined) {
      // Inclusion: the path ends at this key's leaf, committing to this value.
      if (!equalBytes(leaf.keyHash, keyHash)) return false;
      if (!equalBytes(leaf.valueHash, stateValueHash(value))) return false;
    } else {
      // Non-inclusion: another key's leaf sits on our path, so it alone fills that subtree.
      if (equalBytes(leaf.keyHash, keyHash)) return false;
      if (commonPrefixBits(leaf.keyHash, keyHash) < siblings.length) return false;
    }
    hash = stateLeafHash(leaf.keyHash, leaf.valueHash);
  }
  for (let i = siblings.length - 1; i >= 0; i--) {
    const sibling = siblings[i];
    if (!isHash(sibling)) return false;
    hash = keyBit(keyHash, i) === 0 ? stateInnerHash(hash, sibling) : stateInnerHash(sibling, hash);
  }
  return equalBytes(hash, rootHash);
}

/**
 * Binary form:
 *   u8 format (1) || u8 hasLeaf (0/1) || [keyHash[32] || valueHash[32]] ||
 *   varint siblingCount (≤ 256) || bitmap[ceil(count/8)] || non-empty siblings[32 each]
 * Bitmap bit i (most significant bit of byte 0 first) is set when sibling i is non-empty;
 * empty siblings (most of them near a sparse bottom) cost one bit. Unused bitmap bits are
 * zero and a listed sibling is never the empty hash, so each proof has one encoding.
 */
export function encodeStateProof(proof: StateProof): Uint8Array {
  const count = proof.siblings.length;
  if (count > MAX_STATE_PROOF_SIBLINGS) {
    throw new CivitasError(
      'STATE_BAD_PROOF',
      `proof has more than ${MAX_STATE_PROOF_SIBLINGS} siblings`,
    );
  }
  const bitmap = new Uint8Array((count + 7) >> 3);
  for (let i = 0; i < count; i++) {
    if (!isEmptySubtreeHash(proof.siblings[i]!)) bitmap[i >> 3]! |= 0x80 >> (i & 7);
  }
  return encode((w) => {
    w.u8(PROOF_FORMAT_VERSION).bool(proof.leaf !== undefined);
    if (proof.leaf !== undefined) {
      w.fixed(proof.leaf.keyHash, KEY_HASH_LENGTH).fixed(proof.leaf.valueHash, KEY_HASH_LENGTH);
    }
    w.varuint(count).raw(bitmap);
    for (const sibling of proof.siblings) {
      if (!isEmptySubtreeHash(sibling)) w.fixed(sibling, KEY_HASH_LENGTH);
    }
  });
}

function readProof(r: Reader): StateProof {
  const format = r.u8();
  if (format !== PROOF_FORMAT_VERSION) {
    throw new CivitasError('CODEC_BAD_VERSION', `state proof: unknown format ${format}`, {
      expected: PROOF_FORMAT_VERSION,
      actual: format,
    });
  }
  const leaf = r.bool()
    ? { keyHash: r.fixed(KEY_HASH_LENGTH), valueHash: r.fixed(KEY_HASH_LENGTH) }
    : undefined;
  const count = r.varuint(MAX_STATE_PROOF_SIBLINGS);
  const bitmap = r.fixed((count + 7) >> 3);
  // Rule: bitmap bits past the last sibling are zero.
  if ((count & 7) !== 0 && (bitmap[bitmap.length - 1]! & (0xff >> (count & 7))) !== 0) {
    throw new CivitasError('STATE_BAD_PROOF', 'state proof bitmap has bits past the last sibling');
  }
  const siblings: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if ((bitmap[i >> 3]! & (0x80 >> (i & 7))) === 0) {
      siblings.push(EMPTY_SUBTREE_HASH.slice());
      continue;
    }
    const sibling = r.fixed(KEY_HASH_LENGTH);
    // Rule: an empty sibling is written as a clear bitmap bit, never as 32 zero bytes.
    if (isEmptySubtreeHash(sibling)) {
      throw new CivitasError('STATE_BAD_PROOF', 'state proof lists an empty sibling', { index: i });
    }
    siblings.push(sibling);
  }
  return { leaf, siblings };
}

/** Strict: CODEC_* for framing, STATE_BAD_PROOF for a non-canonical proof. */
export function decodeStateProof(bytes: Uint8Array): StateProof {
  return decode(bytes, readProof);
}

export interface StateProofJson {
  leaf: { keyHash: string; valueHash: string } | null;
  /** Hex hashes, root side first; null for an empty sibling. */
  siblings: Array<string | null>;
}

export function stateProofToJson(proof: StateProof): StateProofJson {
  return {
    leaf:
      proof.leaf === undefined
        ? null
        : { keyHash: toHex(proof.leaf.keyHash), valueHash: toHex(proof.leaf.valueHash) },
    siblings: proof.siblings.map((s) => (isEmptySubtreeHash(s) ? null : toHex(s))),
  };
}

function badJson(message: string): CivitasError {
  return new CivitasError('STATE_BAD_PROOF', `state proof JSON: ${message}`);
}

function hashFromJson(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string') throw badJson(`${what} must be a hex string`);
  try {
    return fromHex(value, KEY_HASH_LENGTH);
  } catch {
    throw badJson(`${what} must be 32 bytes of hex`);
  }
}

function exactKeys(obj: object, keys: readonly string[], what: string): void {
  const actual = Object.keys(obj);
  if (actual.length !== keys.length || !keys.every((k) => Object.hasOwn(obj, k))) {
    throw badJson(`${what} must have exactly the fields ${keys.join(', ')}`);
  }
}

/** Strict inverse of stateProofToJson (input from the network: every field is checked). */
export function stateProofFromJson(json: unknown): StateProof {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw badJson('expected an object');
  }
  exactKeys(json, ['leaf', 'siblings'], 'proof');
  const { leaf, siblings } = json as Record<string, unknown>;
  let proofLeaf: StateProofLeaf | undefined;
  if (leaf !== null) {
    if (typeof leaf !== 'object' || leaf === undefined || Array.isArray(leaf)) {
      throw badJson('leaf must be an object or null');
    }
    exactKeys(leaf, ['keyHash', 'valueHash'], 'leaf');
    const l = leaf as Record<string, unknown>;
    proofLeaf = {
      keyHash: hashFromJson(l.keyHash, 'leaf.keyHash'),
      valueHash: hashFromJson(l.valueHash, 'leaf.valueHash'),
    };
  }
  if (!Array.isArray(siblings) || siblings.length > MAX_STATE_PROOF_SIBLINGS) {
    throw badJson(`siblings must be an array of at most ${MAX_STATE_PROOF_SIBLINGS}`);
  }
  const out = siblings.map((s, i) => {
    if (s === null) return EMPTY_SUBTREE_HASH.slice();
    const hash = hashFromJson(s, `siblings[${i}]`);
    // Rule: an empty sibling is null, never a zero hash (one JSON form per proof).
    if (isEmptySubtreeHash(hash)) throw badJson(`siblings[${i}] is the empty hash; use null`);
    return hash;
  });
  return { leaf: proofLeaf, siblings: out };
}
