/**
 * SHA-256 with domain separation. Every hashed object type has its own tag, and
 * `taggedHash(tag, data) = SHA-256(SHA-256(tag) || data)`: the 32-byte tag prefix fills half a
 * compression block, so no two tags (and no untagged hash) can produce the same preimage
 * framing. The prefix state is absorbed once per tag and cloned per call.
 *
 * @noble/hashes is used rather than node:crypto so the same code runs in light clients and
 * browsers; hashing is a small share of block validation next to signature checks.
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
} as const;
export type DomainTagName = keyof typeof DomainTag;

type Hasher = ReturnType<typeof nobleSha256.create>;
const prefixed = new Map<string, Hasher>();

function prefixedHasher(tag: string): Hasher {
  let h = prefixed.get(tag);
  if (h === undefined) {
    h = nobleSha256.create().update(nobleSha256(new TextEncoder().encode(tag)));
    prefixed.set(tag, h);
  }
  return h.clone();
}

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** Domain-separated hash of the concatenation of `parts`. */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const h = prefixedHasher(tag);
  for (const p of parts) h.update(p);
  return h.digest();
}
