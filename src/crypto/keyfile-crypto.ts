/**
 * Sealing and opening a key file's secret: scrypt turns the passphrase into a 256-bit key,
 * AES-256-GCM encrypts the 32-byte secret under a random nonce and authenticates the public
 * key and the KDF parameters with it (keyfile-format.ts, associatedData). Both are node:crypto.
 *
 * Node only: node:crypto is reached through `process.getBuiltinModule` when a function runs,
 * and keyfile.ts imports this module only when a file is encrypted or a passphrase is given,
 * so the SDK's entry still loads in a browser (where this fails with a coded error).
 */
import type * as NodeCrypto from 'node:crypto';
import { CivitasError } from '../errors/index.ts';
import { equalBytes, utf8 } from './bytes.ts';
import { type KeyPair, keyPairFromSecret } from './ed25519.ts';
import {
  associatedData,
  checkScryptParams,
  DEFAULT_SCRYPT,
  type EncryptedKeyFileJson,
  encryptedKeyFileJson,
  KEY_ENCRYPTION_VERSION,
  type KeyEncryption,
  NONCE_LENGTH,
  SALT_LENGTH,
  type ScryptParams,
  TAG_LENGTH,
} from './keyfile-format.ts';

const KEY_LENGTH = 32;

function nodeCrypto(): typeof NodeCrypto {
  const crypto = globalThis.process?.getBuiltinModule?.('node:crypto') as
    | typeof NodeCrypto
    | undefined;
  if (crypto === undefined) {
    throw new CivitasError(
      'CRYPTO_BACKEND_UNAVAILABLE',
      'encrypted key files need Node (node:crypto: scrypt and AES-256-GCM)',
    );
  }
  return crypto;
}

function passphraseBytes(passphrase: string): Uint8Array {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new CivitasError('KEYS_PASSPHRASE_EMPTY', 'the passphrase is empty');
  }
  // One phrase, one key, however the keyboard composed its accents.
  return utf8.encode(passphrase.normalize('NFC'));
}

function deriveKey(passphrase: string, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  const { scrypt } = nodeCrypto();
  const secret = passphraseBytes(passphrase);
  // Node refuses 128·n·r at or above maxmem; the bounds keep this at most 256 MiB.
  const maxmem = 128 * params.n * params.r + 2 ** 20;
  return new Promise((resolve, reject) =>
    scrypt(
      secret,
      salt,
      KEY_LENGTH,
      { N: params.n, r: params.r, p: params.p, maxmem },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

/** Encrypts key files under one passphrase: scrypt runs once, each file gets its own nonce. */
export interface KeyFileSealer {
  seal(keys: KeyPair): EncryptedKeyFileJson;
}

/**
 * A sealer with a fresh salt. `init` seals all its files with one (one scrypt run instead of
 * one per file: they share a passphrase anyway); random 96-bit nonces keep GCM safe.
 */
export async function keyFileSealer(
  passphrase: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<KeyFileSealer> {
  checkScryptParams(params, '<new key file>');
  const { randomBytes, createCipheriv } = nodeCrypto();
  const salt = new Uint8Array(randomBytes(SALT_LENGTH));
  const key = await deriveKey(passphrase, salt, params);
  return {
    seal(keys: KeyPair): EncryptedKeyFileJson {
      const nonce = new Uint8Array(randomBytes(NONCE_LENGTH));
      const header = {
        version: KEY_ENCRYPTION_VERSION,
        kdf: 'scrypt',
        ...params,
        salt,
        cipher: 'aes-256-gcm',
        nonce,
      } as const;
      const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
      cipher.setAAD(associatedData(keys.publicKey, header));
      const body = Buffer.concat([
        cipher.update(keys.secretKey),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      return encryptedKeyFileJson(keys.publicKey, { ...header, ciphertext: new Uint8Array(body) });
    },
  };
}

/**
 * The key pair sealed in an encrypted key file. A wrong passphrase and an altered file look
 * the same to the cipher: both are KEYS_BAD_PASSPHRASE. The secret must then be the public
 * key's (KEYS_MISMATCH otherwise: only a faulty writer could make such a file).
 */
export async function openSealedKey(
  publicKey: Uint8Array,
  e: KeyEncryption,
  passphrase: string,
  path: string,
): Promise<KeyPair> {
  checkScryptParams(e, path);
  const { createDecipheriv } = nodeCrypto();
  const key = await deriveKey(passphrase, e.salt, e);
  const sealed = e.ciphertext.subarray(0, e.ciphertext.length - TAG_LENGTH);
  const tag = e.ciphertext.subarray(e.ciphertext.length - TAG_LENGTH);
  let secretKey: Uint8Array;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, e.nonce, { authTagLength: TAG_LENGTH });
    decipher.setAAD(associatedData(publicKey, e));
    decipher.setAuthTag(tag);
    secretKey = new Uint8Array(Buffer.concat([decipher.update(sealed), decipher.final()]));
  } catch {
    throw new CivitasError(
      'KEYS_BAD_PASSPHRASE',
      `${path}: wrong passphrase (or the key file was altered)`,
      { path },
    );
  }
  const keys = keyPairFromSecret(secretKey);
  if (!equalBytes(keys.publicKey, publicKey)) {
    throw new CivitasError('KEYS_MISMATCH', `${path}: publicKey does not match the secret key`, {
      path,
    });
  }
  return keys;
}
