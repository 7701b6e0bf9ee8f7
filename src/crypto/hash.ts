/**
 * SHA-256 with domain separation. Every hashed object type has its own tag, and
 * `taggedHash(tag, data) = SHA-256(SHA-256(tag) || data)`. The prefix is always 32 bytes, so
 * the preimage of one type's hash never reads as another type's: objects of two types never
 * share a preimage. An untagged SHA-256 of bytes that start with a tag's hash would collide
 * with a tagged one, which is why nothing on the chain is hashed untagged (`sha256` serves
 * only the consensus simulator).
 *
 * Two backends compute the same function. In Node, node:crypto's one-shot `hash()` over
 * `SHA-256(tag) || data`, written into one reused buffer (inputs over 16 KiB get a fresh
 * one): a block's validation makes ~20 tagged hashes per tx, and the one-shot call costs
 * 1.6–2.3 µs against @noble/hashes' 1.7–4.1 µs for 32–190-byte inputs (a hasher clone and a
 * DataView per call), with less garbage. Elsewhere (browsers, light clients) @noble/hashes,
 * whose hasher absorbs the tag prefix once per tag and is cloned per call. node:crypto is
 * reached through `process.getBuiltinModule` rather than a static import so this module
 * still loads outside Node; test/unit/crypto checks that both backends agree.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export const HASH_LENGTH = 32;

/** The registry of domain tags. A tag, once shipped, is never reused for another type. */
export const DomainTag = {
  tx: 'civitas/tx/v1',
  txSigning: 'civitas/tx-signing/v1',
  header: 'civitas/header/v1',
  receipt: 'civitas/receipt/v1',
  merkleLeaf: 'civitas/merkle-leaf/v1',
  merkleInner: 'civitas/merkle-inner/v1',
  merkleEmpty: 'civitas/merkle-empty/v1',
  stateLeaf: 'civitas/state-leaf/v1',
  stateInner: 'civitas/state-inner/v1',
  stateKey: 'civitas/state-key/v1',
  stateValue: 'civitas/state-value/v1',
  commitCertificate: 'civitas/commit-certificate/v1',
  validatorSet: 'civitas/validator-set/v1',
  vote: 'civitas/consensus-vote/v1',
  consensusMessage: 'civitas/consensus-message/v1',
  genesis: 'civitas/genesis/v1',
  address: 'civitas/address/v1',
  objectHistory: 'civitas/object-history/v1',
  historyRecord: 'civitas/history-record/v1',
  docField: 'civitas/doc-field/v1',
} as const;
export type DomainTagName = keyof typeof DomainTag;

type Hasher = ReturnType<typeof nobleSha256.create>;
const nobleTagged = new Map<string, Hasher>();

function nobleTaggedHasher(tag: string): Hasher {
  let h = nobleTagged.get(tag);
  if (h === undefined) {
    h = nobleSha256.create().update(tagHash(tag));
    nobleTagged.set(tag, h);
  }
  return h.clone();
}

const tagHashes = new Map<string, Uint8Array>();

function tagHash(tag: string): Uint8Array {
  let h = tagHashes.get(tag);
  if (h === undefined) {
    h = nobleSha256(new TextEncoder().encode(tag));
    tagHashes.set(tag, h);
  }
  return h;
}

type OneShotHash = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Uint8Array;
const nodeHash = (
  globalThis.process?.getBuiltinModule?.('node:crypto') as { hash?: OneShotHash } | undefined
)?.hash;

// Inputs up to this size are assembled in one reused buffer; larger ones are concatenated.
const SCRATCH_BYTES = 16_384;
const scratch = new Uint8Array(SCRATCH_BYTES);

// Views of the scratch buffer by length, made once: most inputs are one of a few sizes
// (32 + 32, 32 + 64, a tx's length), and a new view per call was garbage on every hash.
const SCRATCH_VIEWS_MAX = 1_024;
const scratchViews: Uint8Array[] = [];

function prefixOfScratch(input: Uint8Array, length: number): Uint8Array {
  if (input !== scratch || length > SCRATCH_VIEWS_MAX) return input.subarray(0, length);
  let view = scratchViews[length];
  if (view === undefined) {
    view = scratch.subarray(0, length);
    scratchViews[length] = view;
  }
  return view;
}

function asPlainBytes(b: Uint8Array): Uint8Array {
  // A Buffer's slice() is a view, not a copy: hand callers a plain Uint8Array.
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function nodeTaggedHash(hash: OneShotHash, tag: string, parts: Uint8Array[]): Uint8Array {
  const prefix = tagHash(tag);
  let total = HASH_LENGTH;
  for (const p of parts) total += p.length;
  const input = total <= SCRATCH_BYTES ? scratch : new Uint8Array(total);
  input.set(prefix, 0);
  let at = HASH_LENGTH;
  for (const p of parts) {
    input.set(p, at);
    at += p.length;
  }
  return asPlainBytes(hash('sha256', prefixOfScratch(input, total), 'buffer'));
}

export function sha256(data: Uint8Array): Uint8Array {
  return nodeHash === undefined
    ? nobleSha256(data)
    : asPlainBytes(nodeHash('sha256', data, 'buffer'));
}

/** Domain-separated hash of the concatenation of `parts`. */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  if (nodeHash !== undefined) return nodeTaggedHash(nodeHash, tag, parts);
  return taggedHashNoble(tag, ...parts);
}

/** The portable backend of taggedHash (the one browsers use); exported for cross-checks. */
export function taggedHashNoble(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const h = nobleTaggedHasher(tag);
  for (const p of parts) h.update(p);
  return h.digest();
}
