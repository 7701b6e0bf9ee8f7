/**
 * Which crypto backends this thread uses, for metrics, logs and the benchmark JSON.
 *
 *   cryptoBackends() → {
 *     ed25519: 'sodium' | 'node:crypto',      // verifyNative (and VerifyPool's default)
 *     sha256: 'sodium+node:crypto' | 'node:crypto' | 'noble',  // sha256 / taggedHash
 *     choice: 'auto' | 'node',                // CIVITAS_CRYPTO_BACKEND or setNativeCrypto
 *     sodium: { attempted, loaded, version, error },
 *   }
 *
 * Asking resolves verifyNative's backend, which loads libsodium on its first call: this is a
 * node-side call (the client SDK has no use for it), and the answer then holds for the rest
 * of the thread's life unless the choice is changed.
 */
import { type NativeVerifier, nativeVerifier } from './ed25519.ts';
import { hashBackend } from './hash.ts';
import {
  type NativeCryptoChoice,
  nativeCryptoChoice,
  type SodiumStatus,
  sodiumStatus,
} from './sodium.ts';

export interface CryptoBackends {
  readonly ed25519: NativeVerifier;
  readonly sha256: ReturnType<typeof hashBackend>;
  readonly choice: NativeCryptoChoice;
  readonly sodium: SodiumStatus;
}

export function cryptoBackends(): CryptoBackends {
  const ed25519 = nativeVerifier();
  return {
    ed25519,
    sha256: hashBackend(),
    choice: nativeCryptoChoice(),
    sodium: sodiumStatus(),
  };
}
