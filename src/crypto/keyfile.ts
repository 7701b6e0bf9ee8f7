/**
 * Key files: JSON holding an ed25519 key pair, the secret either encrypted under a passphrase
 * (scrypt + AES-256-GCM) or in plaintext (keyfile-format.ts has the three shapes). Written
 * with mode 0600 through a temp file and rename, so a crash never leaves half a key. Loading
 * checks that the secret key is the public key's, which catches hand-edited or mixed-up files.
 *
 * The client SDK (src/client/index.ts) exports these, and its entry must load and bundle where
 * there is no file system (a browser): node:fs/promises is reached through
 * process.getBuiltinModule inside the functions that touch files, and the cipher
 * (keyfile-crypto.ts) is imported only when a sealed key is opened or made. parseKeyFile and
 * keyFileJson need neither.
 *
 * Nothing here warns: the SDK never prints. The CLI and the node read key files through
 * keyfile-checked.ts, which says when a file is unencrypted or readable by others.
 */

import { CivitasError } from '../errors/index.ts';
import type { KeyPair } from './ed25519.ts';
import type { KeyFileSealer } from './keyfile-crypto.ts';
import {
  decodeKeyFile,
  type EncryptedKeyFileJson,
  type KeyFileContent,
  type KeyFileJson,
  keyFileJson,
} from './keyfile-format.ts';

export type { KeyFileSealer } from './keyfile-crypto.ts';
export {
  DEFAULT_SCRYPT,
  decodeKeyFile,
  type EncryptedKeyFileJson,
  type KeyFileContent,
  type KeyFileJson,
  keyFileJson,
} from './keyfile-format.ts';

/**
 * A passphrase, or a function asked for one (with the file's path) only when a file turns
 * out to be encrypted: a plaintext file never makes anyone type a passphrase.
 */
export type PassphraseInput = string | ((path: string) => string | Promise<string>);

/** How a key file's secret is written. */
export interface KeyFileProtection {
  /** Encrypt the secret with this passphrase (Node only). */
  passphrase?: string;
  /** Or with this sealer's key (`keyFileSealer`: one scrypt run for many files). */
  sealer?: KeyFileSealer;
  /**
   * Plaintext, saying so (`"encryption": "none"`): on purpose, so the CLI and the node read it
   * without a warning. Without a passphrase, a sealer or this, the file is plaintext in the
   * older shape, which they warn about.
   */
  declaredPlaintext?: boolean;
}

export interface SaveKeyFileOptions extends KeyFileProtection {
  /** Replace an existing file (default: refuse with KEYS_FILE_EXISTS). */
  overwrite?: boolean;
}

/** A loaded key file: the key pair and how the file kept it. */
export interface LoadedKeyFile {
  readonly keys: KeyPair;
  readonly encrypted: boolean;
  /** Plaintext that says so (`"encryption": "none"`). */
  readonly declaredPlaintext: boolean;
  /** The file's permission bits (e.g. 0o600). */
  readonly mode: number;
}

/** A sealer for `passphrase` with a fresh salt (Node only): see keyfile-crypto.ts. */
export async function keyFileSealer(passphrase: string): Promise<KeyFileSealer> {
  const crypto = await import('./keyfile-crypto.ts');
  return crypto.keyFileSealer(passphrase);
}

/** The JSON a key pair is written as, given how it is protected. */
export async function keyFileText(
  keys: KeyPair,
  protection: KeyFileProtection = {},
): Promise<string> {
  let json: KeyFileJson | EncryptedKeyFileJson;
  if (protection.sealer !== undefined) {
    json = protection.sealer.seal(keys);
  } else if (protection.passphrase !== undefined) {
    json = (await keyFileSealer(protection.passphrase)).seal(keys);
  } else {
    json = keyFileJson(keys, { declaredPlaintext: protection.declaredPlaintext === true });
  }
  return `${JSON.stringify(json, null, 2)}\n`;
}

/**
 * Node's file system, reached through `process.getBuiltinModule` rather than an import, so a
 * bundler building the SDK for a browser finds nothing to resolve (as ed25519.ts does with
 * node:crypto). Only the functions that read or write key files call it.
 */
function nodeFs(): typeof import('node:fs/promises') {
  const fs = globalThis.process?.getBuiltinModule?.('node:fs/promises') as
    | typeof import('node:fs/promises')
    | undefined;
  if (fs === undefined) {
    throw new CivitasError(
      'KEYS_NO_FILE_SYSTEM',
      "key files are read and written with Node's file system; in a browser use parseKeyFile",
    );
  }
  return fs;
}

/**
 * Writes `text` as a key file with mode 0600, atomically: a temp file, synced, then renamed
 * (overwrite) or hard-linked into place (else: link fails if `path` exists, so the check and
 * the write are one step). The temp file is gone afterwards either way.
 */
export async function writeKeyFileText(
  path: string,
  text: string,
  overwrite = false,
): Promise<void> {
  const { chmod, link, open, rename, rm } = nodeFs();
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, 0o600);
    if (overwrite) {
      await rename(tmp, path);
    } else {
      try {
        await link(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new CivitasError('KEYS_FILE_EXISTS', `key file already exists: ${path}`, { path });
        }
        throw err;
      }
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Writes a key file with mode 0600: encrypted when given a passphrase or a sealer, else
 * plaintext. Refuses to overwrite unless `overwrite` is set (a boolean is `{overwrite}`).
 */
export async function saveKeyFile(
  path: string,
  keys: KeyPair,
  options: SaveKeyFileOptions | boolean = {},
): Promise<void> {
  const opts = typeof options === 'boolean' ? { overwrite: options } : options;
  await writeKeyFileText(path, await keyFileText(keys, opts), opts.overwrite === true);
}

/**
 * A plaintext key file's key pair, from its text. An encrypted one needs its passphrase and
 * Node's cipher: loadKeyFile(path, {passphrase}) (KEYS_PASSPHRASE_NEEDED here).
 */
export function parseKeyFile(text: string, path = '<input>'): KeyPair {
  const content = decodeKeyFile(text, path);
  if (content.encrypted) {
    throw new CivitasError(
      'KEYS_PASSPHRASE_NEEDED',
      `${path} is encrypted: open it with loadKeyFile(path, { passphrase })`,
      { path },
    );
  }
  return content.keys;
}

/** Reads a key file's text and what it holds, without opening a sealed secret. */
export async function readKeyFileContent(
  path: string,
): Promise<{ text: string; content: KeyFileContent; mode: number }> {
  const { readFile, stat } = nodeFs();
  let text: string;
  let mode: number;
  try {
    text = await readFile(path, 'utf8');
    mode = (await stat(path)).mode & 0o777;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CivitasError('KEYS_NOT_FOUND', `cannot read key file ${path} (${code})`, { path });
  }
  return { text, content: decodeKeyFile(text, path), mode };
}

/**
 * The key pair of an encrypted key file, given its passphrase (asked for only now when it is
 * a function): KEYS_PASSPHRASE_NEEDED without one, KEYS_BAD_PASSPHRASE when it does not open.
 */
export async function openKeyFileContent(
  content: KeyFileContent,
  path: string,
  passphrase: PassphraseInput | undefined,
): Promise<KeyPair> {
  if (!content.encrypted) return content.keys;
  if (passphrase === undefined) {
    throw new CivitasError('KEYS_PASSPHRASE_NEEDED', `${path} is encrypted: give its passphrase`, {
      path,
    });
  }
  const phrase = typeof passphrase === 'function' ? await passphrase(path) : passphrase;
  const { openSealedKey } = await import('./keyfile-crypto.ts');
  return openSealedKey(content.publicKey, content.encryption, phrase, path);
}

/** Reads a key file, opening an encrypted one with `passphrase`; says how the file kept it. */
export async function readKeyFile(
  path: string,
  opts: { passphrase?: PassphraseInput } = {},
): Promise<LoadedKeyFile> {
  const { content, mode } = await readKeyFileContent(path);
  const keys = await openKeyFileContent(content, path, opts.passphrase);
  return {
    keys,
    encrypted: content.encrypted,
    declaredPlaintext: !content.encrypted && content.declaredPlaintext,
    mode,
  };
}

/**
 * Reads a key file (Node only): plaintext as it is, an encrypted one with `passphrase`
 * (KEYS_PASSPHRASE_NEEDED without one, KEYS_BAD_PASSPHRASE when it does not open it).
 */
export async function loadKeyFile(
  path: string,
  opts: { passphrase?: PassphraseInput } = {},
): Promise<KeyPair> {
  return (await readKeyFile(path, opts)).keys;
}

/** The public key of a key file, read without its passphrase (it is stored in clear). */
export async function loadKeyFilePublicKey(path: string): Promise<Uint8Array> {
  return (await readKeyFileContent(path)).content.publicKey;
}
