/**
 * SHA-256 with domain separation. Every hashed object type has its own tag, and
 * `taggedHash(tag, data) = SHA-256(SHA-256(tag) || data)`. The prefix is always 32 bytes, so
 * the preimage of one type's hash never reads as another type's: objects of two types never
 * share a preimage. An untagged SHA-256 of bytes that start with a tag's hash would collide
 * with a tagged one, which is why nothing on the chain is hashed untagged (`sha256` serves
 * only the consensus simulator).
 *
 * Three backends compute the same function, all on `SHA-256(tag) || data` written into one
 * reused buffer (inputs over 16 KiB get a fresh one):
 *   - node:crypto's one-shot `hash()`. A block's validation makes ~20 tagged hashes per tx,
 *     and the one-shot call costs 0.9–1.1 µs of CPU against @noble/hashes' 1.2–2.2 µs for
 *     tagged hashes of 32–200 bytes (a hasher clone and a DataView per call), with less
 *     garbage.
 *   - libsodium's crypto_hash_sha256, for inputs of at most 119 bytes (two compression
 *     blocks): its call costs less than node:crypto's (0.79 vs 0.94 µs of CPU for the 96-byte
 *     state-tree inner hash, the commonest), but its portable compression function is slower
 *     per block than OpenSSL's SHA-NI code, so longer inputs stay with node:crypto (even from
 *     120 to 183 bytes, 1.20 vs 1.13 µs at 232, 3.37 vs 2.00 µs at 1,032; measured with
 *     `npx node src/crypto/bench-backends.ts`). Used only once a node-side path has loaded
 *     the addon (src/crypto/sodium.ts) and CIVITAS_CRYPTO_BACKEND is not `node`: this module
 *     never loads it, since the client SDK hashes with it too.
 *   - @noble/hashes elsewhere (browsers, light clients), whose hasher absorbs the tag prefix
 *     once per tag and is cloned per call.
 * node:crypto is reached through `process.getBuiltinModule` rather than a static import so
 * this module still loads outside Node; test/unit/crypto checks that the backends agree.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { CivitasError } from '../errors/index.ts';
import { activeSodium, requireSodium, type Sodium } from './sodium.ts';

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

/** Inputs of at most this many bytes go to libsodium when it is active (see above). */
export const SODIUM_SHA256_MAX_INPUT = 119;

export type HashBackend = 'sodium' | 'node:crypto' | 'noble';

/** `SHA-256(tag) || parts`, in the scratch buffer when it fits. */
function assemble(tag: string, parts: Uint8Array[]): Uint8Array {
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
  return prefixOfScratch(input, total);
}

function digestNode(hash: OneShotHash, input: Uint8Array): Uint8Array {
  return asPlainBytes(hash('sha256', input, 'buffer'));
}

function digestSodium(sodium: Sodium, input: Uint8Array): Uint8Array {
  const out = new Uint8Array(HASH_LENGTH);
  sodium.sha256Into(out, input);
  return out;
}

/** node:crypto, with libsodium for short inputs when it is active. */
function digestNative(hash: OneShotHash, input: Uint8Array): Uint8Array {
  const sodium = input.length <= SODIUM_SHA256_MAX_INPUT ? activeSodium() : undefined;
  return sodium === undefined ? digestNode(hash, input) : digestSodium(sodium, input);
}

export function sha256(data: Uint8Array): Uint8Array {
  return nodeHash === undefined ? nobleSha256(data) : digestNative(nodeHash, data);
}

/** Domain-separated hash of the concatenation of `parts`. */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  if (nodeHash === undefined) return taggedHashNoble(tag, ...parts);
  return digestNative(nodeHash, assemble(tag, parts));
}

/**
 * taggedHash into the 32 bytes of `out` instead of a new array: for a hash that only feeds
 * the next one (a state leaf's value hash), so the hot path allocates no array for it.
 * `out` must be HASH_LENGTH bytes long.
 */
export function taggedHashInto(out: Uint8Array, tag: string, ...parts: Uint8Array[]): void {
  if (nodeHash === undefined) {
    out.set(taggedHashNoble(tag, ...parts));
    return;
  }
  const input = assemble(tag, parts);
  const sodium = input.length <= SODIUM_SHA256_MAX_INPUT ? activeSodium() : undefined;
  if (sodium === undefined) out.set(nodeHash('sha256', input, 'buffer'));
  else sodium.sha256Into(out, input);
}

/** The portable backend of taggedHash (the one browsers use); exported for cross-checks. */
export function taggedHashNoble(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const h = nobleTaggedHasher(tag);
  for (const p of parts) h.update(p);
  return h.digest();
}

function requireNodeHash(): OneShotHash {
  if (nodeHash === undefined) {
    throw new CivitasError('CRYPTO_BACKEND_UNAVAILABLE', 'node:crypto is not available here', {
      backend: 'node:crypto',
      cause: 'not running on Node',
    });
  }
  return nodeHash;
}

/** sha256 on one named backend, whatever the input length: for cross-checks and benchmarks. */
export function sha256With(backend: HashBackend, data: Uint8Array): Uint8Array {
  if (backend === 'noble') return nobleSha256(data);
  if (backend === 'sodium') return digestSodium(requireSodium(), data);
  return digestNode(requireNodeHash(), data);
}

/** taggedHash on one named backend, whatever the input length: for cross-checks. */
export function taggedHashWith(
  backend: HashBackend,
  tag: string,
  ...parts: Uint8Array[]
): Uint8Array {
  if (backend === 'noble') return taggedHashNoble(tag, ...parts);
  if (backend === 'sodium') {
    const sodium = requireSodium();
    return digestSodium(sodium, assemble(tag, parts));
  }
  return digestNode(requireNodeHash(), assemble(tag, parts));
}

/**
 * What sha256 and taggedHash use on this thread now: `sodium+node:crypto` (libsodium up to
 * SODIUM_SHA256_MAX_INPUT bytes, node:crypto above), `node:crypto`, or `noble` off Node.
 */
export function hashBackend(): 'sodium+node:crypto' | 'node:crypto' | 'noble' {
  if (nodeHash === undefined) return 'noble';
  return activeSodium() === undefined ? 'node:crypto' : 'sodium+node:crypto';
}
