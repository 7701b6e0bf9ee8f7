/**
 * The key file format, as text: what a file says, checked, without touching a file system or
 * running a cipher (so it loads anywhere, the browser SDK included).
 *
 * Three shapes of one JSON object, told apart by `encryption`:
 *
 *   { "type": "ed25519", "publicKey": hex, "secretKey": hex }                 plaintext (older
 *       files, or written without a passphrase: the CLI and the node warn when they read it)
 *   { …, "secretKey": hex, "encryption": "none" }                              plaintext on
 *       purpose (--plaintext, the devnet's throwaway keys): read without a warning
 *   { "type": "ed25519", "publicKey": hex, "encryption": {                     encrypted, v1
 *       "version": 1, "kdf": "scrypt", "n", "r", "p", "salt": hex(16),
 *       "cipher": "aes-256-gcm", "nonce": hex(12), "ciphertext": hex(32 + 16 tag) } }
 *
 * The public key stays in clear, so `keys show` and genesis tools need no passphrase; the
 * cipher authenticates it with the KDF parameters (associatedData), so neither can be swapped.
 * scrypt parameters are bounded here, before any KDF runs: a hostile file must not make a
 * reader allocate gigabytes or spin for minutes.
 */
import { CivitasError } from '../errors/index.ts';
import { parseJsonText } from '../errors/json-text.ts';
import { equalBytes, fromHex, toHex, utf8 } from './bytes.ts';
import {
  type KeyPair,
  keyPairFromSecret,
  PUBLIC_KEY_LENGTH,
  SECRET_KEY_LENGTH,
} from './ed25519.ts';

export const KEY_ENCRYPTION_VERSION = 1;
export const SALT_LENGTH = 16;
export const NONCE_LENGTH = 12;
export const TAG_LENGTH = 16;

/** What `keys generate`, `init` and `keys encrypt` write: 2^15 × 8 × 128 B = 32 MiB, ~0.1 s. */
export const DEFAULT_SCRYPT: ScryptParams = { n: 2 ** 15, r: 8, p: 1 };

/**
 * What a reader accepts. n a power of two from 2^14 (below it a file is too cheap to guess)
 * to 2^20; memory 128·n·r at most 256 MiB; work n·r·p at most 16 times the default's.
 */
export const SCRYPT_BOUNDS = {
  minLogN: 14,
  maxLogN: 20,
  maxR: 32,
  maxP: 16,
  maxMemoryBytes: 256 * 2 ** 20,
  maxWork: 16 * DEFAULT_SCRYPT.n * DEFAULT_SCRYPT.r * DEFAULT_SCRYPT.p,
} as const;

export interface ScryptParams {
  readonly n: number;
  readonly r: number;
  readonly p: number;
}

/** A plaintext key file. `encryption: "none"` says it is plaintext on purpose. */
export interface KeyFileJson {
  type: 'ed25519';
  publicKey: string;
  secretKey: string;
  encryption?: 'none';
}

export interface EncryptedKeyFileJson {
  type: 'ed25519';
  publicKey: string;
  encryption: {
    version: 1;
    kdf: 'scrypt';
    n: number;
    r: number;
    p: number;
    salt: string;
    cipher: 'aes-256-gcm';
    nonce: string;
    ciphertext: string;
  };
}

/** The encryption of a key file, as bytes. */
export interface KeyEncryption extends ScryptParams {
  readonly version: 1;
  readonly kdf: 'scrypt';
  readonly salt: Uint8Array;
  readonly cipher: 'aes-256-gcm';
  readonly nonce: Uint8Array;
  /** The 32-byte secret key encrypted, then the 16-byte tag. */
  readonly ciphertext: Uint8Array;
}

/** What a key file holds once its text is checked (the secret still sealed if encrypted). */
export type KeyFileContent =
  | {
      readonly encrypted: false;
      readonly publicKey: Uint8Array;
      readonly keys: KeyPair;
      /** `"encryption": "none"`: plaintext on purpose. */
      readonly declaredPlaintext: boolean;
    }
  | {
      readonly encrypted: true;
      readonly publicKey: Uint8Array;
      readonly encryption: KeyEncryption;
    };

const ENCRYPTION_FIELDS = [
  'version',
  'kdf',
  'n',
  'r',
  'p',
  'salt',
  'cipher',
  'nonce',
  'ciphertext',
] as const;

export function keyFileJson(
  keys: KeyPair,
  opts: { declaredPlaintext?: boolean } = {},
): KeyFileJson {
  return {
    type: 'ed25519',
    publicKey: toHex(keys.publicKey),
    secretKey: toHex(keys.secretKey),
    ...(opts.declaredPlaintext ? { encryption: 'none' as const } : {}),
  };
}

export function encryptedKeyFileJson(
  publicKey: Uint8Array,
  e: KeyEncryption,
): EncryptedKeyFileJson {
  return {
    type: 'ed25519',
    publicKey: toHex(publicKey),
    encryption: {
      version: e.version,
      kdf: e.kdf,
      n: e.n,
      r: e.r,
      p: e.p,
      salt: toHex(e.salt),
      cipher: e.cipher,
      nonce: toHex(e.nonce),
      ciphertext: toHex(e.ciphertext),
    },
  };
}

/**
 * The bytes the cipher authenticates besides the secret: the public key and every parameter
 * of the encryption, so a file whose public key or KDF parameters were changed does not open.
 */
export function associatedData(
  publicKey: Uint8Array,
  e: Omit<KeyEncryption, 'ciphertext'>,
): Uint8Array {
  return utf8.encode(
    JSON.stringify([
      'civitas-key-file',
      e.version,
      'ed25519',
      toHex(publicKey),
      e.kdf,
      e.n,
      e.r,
      e.p,
      toHex(e.salt),
      e.cipher,
    ]),
  );
}

/** Rule: scrypt parameters within SCRYPT_BOUNDS (throws KEYS_BAD_FILE naming the bound). */
export function checkScryptParams(params: ScryptParams, path: string): void {
  const { n, r, p } = params;
  const bad = (rule: string): never => {
    throw new CivitasError('KEYS_BAD_FILE', `${path}: scrypt ${rule}`, { path, n, r, p });
  };
  const b = SCRYPT_BOUNDS;
  if (!Number.isSafeInteger(n) || n < 2 ** b.minLogN || n > 2 ** b.maxLogN || (n & (n - 1)) !== 0)
    bad(`n must be a power of two from 2^${b.minLogN} to 2^${b.maxLogN}, got ${n}`);
  if (!Number.isSafeInteger(r) || r < 1 || r > b.maxR) bad(`r must be 1..${b.maxR}, got ${r}`);
  if (!Number.isSafeInteger(p) || p < 1 || p > b.maxP) bad(`p must be 1..${b.maxP}, got ${p}`);
  if (128 * n * r > b.maxMemoryBytes)
    bad(`memory 128·n·r must be at most 256 MiB (n ${n}, r ${r})`);
  if (n * r * p > b.maxWork)
    bad(`work n·r·p must be at most ${b.maxWork} (n ${n}, r ${r}, p ${p})`);
}

/** Checks a key file's text and says what it holds. Throws KEYS_BAD_FILE or KEYS_MISMATCH. */
export function decodeKeyFile(text: string, path = '<input>'): KeyFileContent {
  const j = parseJsonText(text, path, 'KEYS_BAD_FILE') as Record<string, unknown> | null;
  if (j === null || typeof j !== 'object' || Array.isArray(j) || j.type !== 'ed25519') {
    throw new CivitasError('KEYS_BAD_FILE', `${path}: expected {"type":"ed25519",...}`, { path });
  }
  const hexField = (value: unknown, length: number, name: string): Uint8Array => {
    try {
      return fromHex(String(value), length);
    } catch {
      throw new CivitasError('KEYS_BAD_FILE', `${path}: ${name} must be ${length}-byte hex`, {
        path,
      });
    }
  };
  const { encryption } = j;
  if (encryption === undefined || encryption === 'none') {
    let secretKey: Uint8Array;
    let publicKey: Uint8Array;
    try {
      secretKey = fromHex(String(j.secretKey), SECRET_KEY_LENGTH);
      publicKey = fromHex(String(j.publicKey), PUBLIC_KEY_LENGTH);
    } catch {
      throw new CivitasError('KEYS_BAD_FILE', `${path}: publicKey/secretKey must be 32-byte hex`, {
        path,
      });
    }
    const keys = keyPairFromSecret(secretKey);
    if (!equalBytes(keys.publicKey, publicKey)) {
      throw new CivitasError('KEYS_MISMATCH', `${path}: publicKey does not match secretKey`, {
        path,
      });
    }
    return { encrypted: false, publicKey, keys, declaredPlaintext: encryption === 'none' };
  }
  if (encryption === null || typeof encryption !== 'object' || Array.isArray(encryption)) {
    throw new CivitasError('KEYS_BAD_FILE', `${path}: encryption must be "none" or an object`, {
      path,
    });
  }
  if ('secretKey' in j) {
    throw new CivitasError('KEYS_BAD_FILE', `${path}: an encrypted key file holds no secretKey`, {
      path,
    });
  }
  const e = encryption as Record<string, unknown>;
  if (e.version !== KEY_ENCRYPTION_VERSION) {
    throw new CivitasError(
      'KEYS_BAD_FILE',
      `${path}: encryption version ${JSON.stringify(e.version)} is not one this build reads (${KEY_ENCRYPTION_VERSION})`,
      { path },
    );
  }
  const unknown = Object.keys(e).filter(
    (k) => !(ENCRYPTION_FIELDS as readonly string[]).includes(k),
  );
  if (unknown.length > 0) {
    throw new CivitasError('KEYS_BAD_FILE', `${path}: unknown encryption field ${unknown[0]}`, {
      path,
    });
  }
  if (e.kdf !== 'scrypt' || e.cipher !== 'aes-256-gcm') {
    throw new CivitasError(
      'KEYS_BAD_FILE',
      `${path}: expected kdf "scrypt" and cipher "aes-256-gcm", got ${JSON.stringify(e.kdf)} and ${JSON.stringify(e.cipher)}`,
      { path },
    );
  }
  const params = { n: e.n as number, r: e.r as number, p: e.p as number };
  checkScryptParams(params, path);
  return {
    encrypted: true,
    publicKey: hexField(j.publicKey, PUBLIC_KEY_LENGTH, 'publicKey'),
    encryption: {
      version: KEY_ENCRYPTION_VERSION,
      kdf: 'scrypt',
      ...params,
      salt: hexField(e.salt, SALT_LENGTH, 'encryption.salt'),
      cipher: 'aes-256-gcm',
      nonce: hexField(e.nonce, NONCE_LENGTH, 'encryption.nonce'),
      ciphertext: hexField(e.ciphertext, SECRET_KEY_LENGTH + TAG_LENGTH, 'encryption.ciphertext'),
    },
  };
}
