/**
 * Key files as the CLI and the node read them: keyfile.ts's loader plus process warnings
 * (once per file and kind in a process) about keys kept carelessly. They are warnings, not
 * refusals: the key is still used, and the warning names the fix.
 *
 * - CIVITAS_KEY_FILE_MODE: the file is readable by other users. A secret key anyone on the
 *   machine can copy is the first step to the double-sign accident.
 * - CIVITAS_KEY_FILE_PLAINTEXT: the secret is not encrypted and the file does not say that
 *   is on purpose (older files; files written without a passphrase). Files marked
 *   `"encryption": "none"` (--plaintext, the devnet's throwaway local keys) are read quietly.
 *
 * `node --disable-warning=CIVITAS_KEY_FILE_PLAINTEXT` (or in NODE_OPTIONS) silences one kind.
 */
import { resolve } from 'node:path';
import type { KeyPair } from './ed25519.ts';
import { type LoadedKeyFile, type PassphraseInput, readKeyFile } from './keyfile.ts';

const warned = new Set<string>();

function warnOnce(code: string, path: string, message: string): void {
  const key = `${code} ${resolve(path)}`;
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(message, { code });
}

/** CIVITAS_KEY_FILE_MODE, if the file's permission bits let other users read it. */
export function warnAboutKeyFileMode(path: string, mode: number): void {
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    warnOnce(
      'CIVITAS_KEY_FILE_MODE',
      path,
      `key file ${path} is readable by other users (mode 0${mode.toString(8)}): chmod 600 ${path}`,
    );
  }
}

/** Both warnings a loaded key file may earn. */
export function warnAboutKeyFile(
  path: string,
  file: Pick<LoadedKeyFile, 'encrypted' | 'declaredPlaintext' | 'mode'>,
): void {
  warnAboutKeyFileMode(path, file.mode);
  if (!file.encrypted && !file.declaredPlaintext) {
    warnOnce(
      'CIVITAS_KEY_FILE_PLAINTEXT',
      path,
      `key file ${path} holds its secret key unencrypted: civitas keys encrypt --key ${path}`,
    );
  }
}

/** Loads a key file (opening an encrypted one with `passphrase`) and warns as above. */
export async function loadCheckedKeyFile(
  path: string,
  opts: { passphrase?: PassphraseInput } = {},
): Promise<KeyPair> {
  const file = await readKeyFile(path, opts);
  warnAboutKeyFile(path, file);
  return file.keys;
}
