/**
 * A node's libp2p identity IS its validator ed25519 key, so a peer id names a validator and
 * the membership list (validator public keys) doubles as the connection allow-list.
 */

import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id';
import { PUBLIC_KEY_LENGTH, SECRET_KEY_LENGTH } from '../crypto/index.ts';
import { CivitasError } from '../errors/index.ts';

/** Builds the libp2p private key from the 32-byte ed25519 seed of the validator key. */
export async function libp2pKeyFromSeed(seed: Uint8Array): Promise<PrivateKey> {
  if (!(seed instanceof Uint8Array) || seed.length !== SECRET_KEY_LENGTH) {
    throw new CivitasError(
      'P2P_BAD_SECRET_KEY',
      `the validator secret key must be a ${SECRET_KEY_LENGTH}-byte ed25519 seed`,
    );
  }
  // generateKeyPairFromSeed derives the public half itself; privateKeyFromRaw(seed||pub)
  // would trust a caller-supplied public half without checking it.
  return generateKeyPairFromSeed('Ed25519', seed);
}

/** The libp2p peer id (base58 `12D3KooW...`) of a validator public key. */
export function peerIdFromValidatorKey(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) {
    throw new CivitasError(
      'P2P_BAD_PUBLIC_KEY',
      `a validator public key is ${PUBLIC_KEY_LENGTH} bytes`,
      { length: publicKey?.length },
    );
  }
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString();
}

/**
 * The validator public key inside an ed25519 peer id, or undefined for anything else (RSA or
 * secp256k1 ids, hash-only ids, malformed strings): such a peer can never be a member.
 */
export function validatorKeyFromPeerId(peerId: string): Uint8Array | undefined {
  try {
    const id = peerIdFromString(peerId);
    if (id.type !== 'Ed25519') return undefined;
    return new Uint8Array(id.publicKey.raw);
  } catch {
    return undefined;
  }
}
