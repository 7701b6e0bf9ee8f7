/**
 * Bytes and hex at the edges (src/crypto/bytes.ts), keys, crypto backends and the
 * signature-verification pool.
 */
import { BAD_REQUEST, type CodeSpec, SERVER_ERROR } from './spec.ts';

export const CRYPTO_ERRORS = {
  BYTES_BAD_HEX: { ...BAD_REQUEST, description: 'not an even-length hex string' },
  BYTES_BAD_LENGTH: { ...BAD_REQUEST, description: 'hex decodes to the wrong number of bytes' },
  CRYPTO_BAD_SECRET_KEY: { ...SERVER_ERROR, description: 'an ed25519 secret key of wrong length' },
  CRYPTO_BAD_BACKEND: {
    ...SERVER_ERROR,
    description: 'CIVITAS_CRYPTO_BACKEND or a backend option names no crypto backend',
  },
  CRYPTO_BACKEND_UNAVAILABLE: {
    ...SERVER_ERROR,
    description: 'a crypto backend asked for by name cannot load here (libsodium, node:crypto)',
  },
  CRYPTO_VERIFY_POOL_BAD_OPTION: {
    ...SERVER_ERROR,
    description: 'a verify pool option is out of range',
  },
  CRYPTO_VERIFY_POOL_CLOSED: {
    ...SERVER_ERROR,
    description: 'work was sent to a closed verify pool',
  },
  CRYPTO_VERIFY_POOL_FAILED: { ...SERVER_ERROR, description: 'a verification worker failed' },
} as const satisfies Record<string, CodeSpec>;
