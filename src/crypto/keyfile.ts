/**
 * Key files: JSON `{ "type": "ed25519", "publicKey": hex, "secretKey": hex }`, written with
 * mode 0600 through a temp file and rename so a crash never leaves half a key. Loading checks
 * that the public key matches the secret key, which catches hand-edited or mixed-up files.
 *
 * node:fs/promises is imported inside the two functions that touch files, not at the top: the
 * client SDK (src/client/index.ts) exports them, and its entry must load where there is no
 * file system (a browser). parseKeyFile and keyFileJson need none at all.
 */

import { CivitasError } from '../errors/index.ts';
import { parseJsonText } from '../errors/json-text.ts';
import { equalBytes, fromHex, toHex } from './bytes.ts';
import {
  type KeyPair,
  keyPairFromSecret,
  PUBLIC_KEY_LENGTH,
  SECRET_KEY_LENGTH,
} from './ed25519.ts';

export interface KeyFileJson {
  type: 'ed25519';
  publicKey: string;
  secretKey: string;
}

export function keyFileJson(keys: KeyPair): KeyFileJson {
  return { type: 'ed25519', publicKey: toHex(keys.publicKey), secretKey: toHex(keys.secretKey) };
}

/** Writes a key file with mode 0600. Refuses to overwrite unless `overwrite` is set. */
export async function saveKeyFile(path: string, keys: KeyPair, overwrite = false): Promise<void> {
  const { chmod, link, open, rename, rm } = await import('node:fs/promises');
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(keyFileJson(keys), null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, 0o600);
    if (overwrite) {
      await rename(tmp, path);
    } else {
      // link() fails if `path` exists: the check and the write are one atomic step.
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

export function parseKeyFile(text: string, path = '<input>'): KeyPair {
  const j = parseJsonText(text, path, 'KEYS_BAD_FILE') as Partial<KeyFileJson>;
  if (j === null || typeof j !== 'object' || j.type !== 'ed25519') {
    throw new CivitasError('KEYS_BAD_FILE', `${path}: expected {"type":"ed25519",...}`, { path });
  }
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
  return keys;
}

/**
 * Reads a key file. One that other users may read (group or other permission bits) is still
 * used, with a process warning (CIVITAS_KEY_FILE_MODE) saying how to fix it: a secret key
 * anyone on the machine can copy is the first step to the double-sign accident.
 */
export async function loadKeyFile(path: string): Promise<KeyPair> {
  const { readFile, stat } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CivitasError('KEYS_NOT_FOUND', `cannot read key file ${path} (${code})`, { path });
  }
  const keys = parseKeyFile(text, path);
  const mode = (await stat(path)).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    process.emitWarning(
      `key file ${path} is readable by other users (mode 0${mode.toString(8)}): chmod 600 ${path}`,
      { code: 'CIVITAS_KEY_FILE_MODE' },
    );
  }
  return keys;
}
