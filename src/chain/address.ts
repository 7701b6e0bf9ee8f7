/**
 * Account addresses: the first 20 bytes of the domain-separated hash of the public key.
 * Shorter than a key, and a transfer can name a recipient who has not yet revealed a key.
 */
import { fromHex, toHex } from '../crypto/bytes.ts';
import { DomainTag, taggedHash } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';

export const ADDRESS_LENGTH = 20;

export function addressOf(publicKey: Uint8Array): Uint8Array {
  return taggedHash(DomainTag.address, publicKey).slice(0, ADDRESS_LENGTH);
}

export function parseAddress(text: string): Uint8Array {
  try {
    return fromHex(text, ADDRESS_LENGTH);
  } catch {
    throw new CivitasError(
      'ADDRESS_INVALID',
      `not an address (expected ${ADDRESS_LENGTH * 2} hex chars): ${text}`,
    );
  }
}

export function formatAddress(address: Uint8Array): string {
  return toHex(address);
}
