/**
 * libsodium (`sodium-native`) as an optional native backend, and the choice between it and
 * node:crypto.
 *
 * The addon is never imported: it is required lazily, on the first call of a node-side path
 * (verifyNative, VerifyPool, cryptoBackends), through a `createRequire` reached via
 * `process.getBuiltinModule`. So this module loads anywhere (a browser bundle sees no import of
 * the addon, and there `process` is absent), and the client SDK, which verifies with
 * verifyNoble and never calls those paths, never loads the addon (test/unit/crypto checks).
 * When the addon cannot load (no prebuilt binary for the platform, an old Node), the native
 * paths use node:crypto instead, and `sodiumStatus()` says why.
 *
 * The choice: `CIVITAS_CRYPTO_BACKEND=node` (or `setNativeCrypto('node')`) keeps libsodium out
 * of verifyNative and the hashes, for comparisons; `auto` (the default) uses it when it loads.
 * Either way the verdict is the same: every backend runs behind the same encoding rules
 * (src/crypto/ed25519.ts) and is cross-checked on the same vectors.
 */
import { CivitasError } from '../errors/index.ts';

/** The part of sodium-native this project uses. */
interface SodiumNative {
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean;
  crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void;
}

export interface Sodium {
  /** libsodium's crypto_sign_verify_detached; callers apply the encoding rules first. */
  readonly verifyDetached: (sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
  /** SHA-256 of `input` into the 32 bytes of `out`. */
  readonly sha256Into: (out: Uint8Array, input: Uint8Array) => void;
  /** The sodium-native package version, e.g. "5.1.0". */
  readonly version: string;
}

export interface SodiumStatus {
  /** The addon was asked for (a native path ran). */
  readonly attempted: boolean;
  readonly loaded: boolean;
  readonly version: string | null;
  /** Why it did not load, when it did not. */
  readonly error: string | null;
}

/** `auto`: libsodium when it loads, node:crypto otherwise. `node`: node:crypto only. */
export type NativeCryptoChoice = 'auto' | 'node';

// A template literal: quoted, the name would read as an error code to the catalogue's scan.
export const CRYPTO_BACKEND_ENV = `CIVITAS_CRYPTO_BACKEND`;

const CHOICES: readonly NativeCryptoChoice[] = ['auto', 'node'];

function parseChoice(value: string | undefined, source: string): NativeCryptoChoice {
  if (value === undefined || value === '') return 'auto';
  if ((CHOICES as readonly string[]).includes(value)) return value as NativeCryptoChoice;
  throw new CivitasError('CRYPTO_BAD_BACKEND', `${source} must be one of ${CHOICES.join(', ')}`, {
    value,
  });
}

// Read once, when the module loads: a mistyped value stops the process at start-up rather
// than at its first signature.
let choice: NativeCryptoChoice = parseChoice(
  globalThis.process?.env?.[CRYPTO_BACKEND_ENV],
  CRYPTO_BACKEND_ENV,
);
const choiceListeners: Array<() => void> = [];

export function nativeCryptoChoice(): NativeCryptoChoice {
  return choice;
}

/**
 * Overrides CIVITAS_CRYPTO_BACKEND for this thread (worker threads read the environment, or
 * take the choice from their pool). Returns the previous choice.
 */
export function setNativeCrypto(next: NativeCryptoChoice): NativeCryptoChoice {
  const previous = choice;
  choice = parseChoice(next, 'the native crypto choice');
  for (const listener of choiceListeners) listener();
  return previous;
}

/** Called by ed25519.ts and hash.ts to drop what they resolved under the previous choice. */
export function onNativeCryptoChange(listener: () => void): void {
  choiceListeners.push(listener);
}

let attempted = false;
let sodium: Sodium | undefined;
let loadError: string | null = null;

type Require = (id: string) => unknown;
type ModuleBuiltin = { createRequire(url: string): Require };

function requireAddon(): Sodium {
  const moduleBuiltin = globalThis.process?.getBuiltinModule?.('node:module') as
    | ModuleBuiltin
    | undefined;
  if (moduleBuiltin === undefined) throw new Error('not running on Node (no node:module)');
  const require = moduleBuiltin.createRequire(import.meta.url);
  const addon = require('sodium-native') as SodiumNative;
  const { version } = require('sodium-native/package.json') as { version: string };
  if (
    typeof addon.crypto_sign_verify_detached !== 'function' ||
    typeof addon.crypto_hash_sha256 !== 'function'
  ) {
    throw new Error(`sodium-native ${version} lacks crypto_sign_verify_detached or sha256`);
  }
  return {
    verifyDetached: (sig, message, publicKey) =>
      addon.crypto_sign_verify_detached(sig, message, publicKey),
    sha256Into: (out, input) => addon.crypto_hash_sha256(out, input),
    version,
  };
}

/**
 * The addon, loading it on the first call (whatever the choice: explicit backends such as
 * verifySodium use it even under `node`); undefined when it cannot load.
 */
export function loadSodium(): Sodium | undefined {
  if (!attempted) {
    attempted = true;
    try {
      sodium = requireAddon();
    } catch (err) {
      loadError = err instanceof Error ? err.message : String(err);
    }
  }
  return sodium;
}

/** The addon if it is loaded already; never loads it. */
export function loadedSodium(): Sodium | undefined {
  return sodium;
}

/**
 * The addon if it is loaded already and the choice is `auto`; never loads it. The hashes use
 * this: they run in the client SDK too, which must not load the addon.
 */
export function activeSodium(): Sodium | undefined {
  return choice === 'auto' ? sodium : undefined;
}

/** The addon or a CRYPTO_BACKEND_UNAVAILABLE error: for callers that asked for it by name. */
export function requireSodium(): Sodium {
  const loaded = loadSodium();
  if (loaded === undefined) {
    throw new CivitasError('CRYPTO_BACKEND_UNAVAILABLE', 'libsodium (sodium-native) did not load', {
      backend: 'sodium',
      cause: loadError,
    });
  }
  return loaded;
}

export function sodiumStatus(): SodiumStatus {
  return {
    attempted,
    loaded: sodium !== undefined,
    version: sodium?.version ?? null,
    error: loadError,
  };
}
