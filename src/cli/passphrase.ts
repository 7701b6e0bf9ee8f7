/**
 * Where a key file's passphrase comes from, in this order:
 *
 *   1. --passphrase-file FILE   its first line (the newline stripped): for systemd, Docker
 *                               secrets and scripts;
 *   2. CIVITAS_PASSPHRASE       the environment variable (empty counts as unset);
 *   3. a terminal               asked for with the input hidden (twice for a new file).
 *
 * Reading a key asks only when the file is encrypted, so plaintext keys never prompt. With
 * none of the three (a script, a service), an encrypted key is KEYS_PASSPHRASE_NEEDED naming
 * them; a new key is written unencrypted with one warning line (keyProtection's caller prints
 * it), which is what a script that made keys before encryption existed still expects.
 */
import { readFile, stat } from 'node:fs/promises';
import { Option } from 'commander';
import type { KeyPair } from '../crypto/ed25519.ts';
import type { KeyFileProtection } from '../crypto/keyfile.ts';
import { loadCheckedKeyFile } from '../crypto/keyfile-checked.ts';
import { CivitasError } from '../errors/index.ts';

export const PASSPHRASE_ENV = 'CIVITAS_PASSPHRASE';

export interface PassphraseOpts {
  passphraseFile?: string;
}

export interface NewKeyOpts extends PassphraseOpts {
  plaintext?: boolean;
}

/** `--passphrase-file <file>`, for every command that reads or writes a key. */
export function passphraseFileOption(): Option {
  return new Option(
    '--passphrase-file <file>',
    `key passphrase: the first line of this file (else env ${PASSPHRASE_ENV}, else asked on a terminal)`,
  );
}

/** `--plaintext`, for commands that write keys: no passphrase, on purpose. */
export function plaintextOption(): Option {
  return new Option(
    '--plaintext',
    'write key files unencrypted on purpose (marked "encryption": "none"; no passphrase asked)',
  ).conflicts('passphraseFile');
}

/** Whether a passphrase can be asked for: stdin is a terminal. */
export function interactive(): boolean {
  return process.stdin.isTTY === true;
}

async function readPassphraseFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CivitasError(
      'CLI_FILE_NOT_FOUND',
      `cannot read --passphrase-file ${file} (${code})`,
      {
        path: file,
      },
    );
  }
  const mode = (await stat(file)).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    process.emitWarning(
      `passphrase file ${file} is readable by other users (mode 0${mode.toString(8)}): chmod 600 ${file}`,
      { code: 'CIVITAS_KEY_FILE_MODE' },
    );
  }
  const line = text.split('\n', 1)[0]!.replace(/\r$/, '');
  if (line.length === 0) {
    throw new CivitasError(
      'KEYS_PASSPHRASE_EMPTY',
      `--passphrase-file ${file}: the first line is empty`,
    );
  }
  return line;
}

/** The passphrase the option or the environment gives, or undefined. */
async function givenPassphrase(opts: PassphraseOpts): Promise<string | undefined> {
  if (opts.passphraseFile !== undefined) return readPassphraseFile(opts.passphraseFile);
  const env = process.env[PASSPHRASE_ENV];
  return env === undefined || env === '' ? undefined : env;
}

/**
 * One line typed on the terminal without echo (stdin in raw mode; the prompt on stderr, so
 * stdout stays the command's output). Backspace deletes, Ctrl-U clears, Ctrl-C interrupts.
 */
export function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  // Raw (no echo) before the prompt shows: input typed the moment it appears stays hidden.
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  process.stderr.write(question);
  return new Promise((resolve) => {
    let answer: string[] = [];
    const finish = (): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(answer.join(''));
          return;
        }
        if (ch === '\u0003') {
          finish();
          process.kill(process.pid, 'SIGINT');
          return;
        }
        if (ch === '\u007f' || ch === '\b') answer.pop();
        else if (ch === '\u0015') answer = [];
        else if (ch >= ' ') answer.push(ch);
      }
    };
    input.on('data', onData);
  });
}

function nonEmpty(passphrase: string, what: string): string {
  if (passphrase.length === 0) {
    throw new CivitasError('KEYS_PASSPHRASE_EMPTY', `an empty passphrase for ${what}`);
  }
  return passphrase;
}

/**
 * For reading keys: a function the loader calls with a file's path only when that file is
 * encrypted. The option's file is read once; a terminal is asked once per file.
 */
export function keyPassphrase(opts: PassphraseOpts): (path: string) => Promise<string> {
  let given: Promise<string | undefined> | undefined;
  return async (path: string) => {
    given ??= givenPassphrase(opts);
    const passphrase = await given;
    if (passphrase !== undefined) return passphrase;
    if (!interactive()) {
      throw new CivitasError(
        'KEYS_PASSPHRASE_NEEDED',
        `${path} is encrypted and no passphrase was given: use --passphrase-file FILE, set ${PASSPHRASE_ENV}, or run from a terminal to be asked`,
        { path },
      );
    }
    return nonEmpty(await promptHidden(`passphrase for ${path}: `), path);
  };
}

/** Loads a key file as the CLI does: asking for a passphrase if encrypted, warning if careless. */
export function loadKey(path: string, opts: PassphraseOpts = {}): Promise<KeyPair> {
  return loadCheckedKeyFile(path, { passphrase: keyPassphrase(opts) });
}

/** Loads several key files one after another (a terminal asks for one passphrase at a time). */
export async function loadKeys(
  paths: readonly string[],
  opts: PassphraseOpts = {},
): Promise<KeyPair[]> {
  const passphrase = keyPassphrase(opts);
  const keys: KeyPair[] = [];
  for (const path of paths) keys.push(await loadCheckedKeyFile(path, { passphrase }));
  return keys;
}

/**
 * The passphrase for new key files `what`: the option, the environment, or typed twice on a
 * terminal (KEYS_PASSPHRASE_MISMATCH when the two differ); undefined when none can be had.
 */
export async function newPassphrase(
  opts: PassphraseOpts,
  what: string,
): Promise<string | undefined> {
  const given = await givenPassphrase(opts);
  if (given !== undefined) return given;
  if (!interactive()) return undefined;
  const first = nonEmpty(await promptHidden(`passphrase for ${what}: `), what);
  const second = await promptHidden('the same passphrase again: ');
  if (first !== second) {
    throw new CivitasError('KEYS_PASSPHRASE_MISMATCH', `the two passphrases for ${what} differ`);
  }
  return first;
}

/**
 * How new key files are written: --plaintext → plaintext on purpose; a passphrase (option,
 * environment, terminal) → encrypted; neither → plaintext, and `unprotected` is true so the
 * caller prints warnUnencrypted's line.
 */
export async function keyProtection(
  opts: NewKeyOpts,
  what: string,
): Promise<{ protection: KeyFileProtection; unprotected: boolean }> {
  if (opts.plaintext) return { protection: { declaredPlaintext: true }, unprotected: false };
  const passphrase = await newPassphrase(opts, what);
  if (passphrase !== undefined) return { protection: { passphrase }, unprotected: false };
  return { protection: {}, unprotected: true };
}

/** The one line a command writing keys without any passphrase prints on stderr. */
export function warnUnencrypted(what: string, encryptHint: string): void {
  process.stderr.write(
    `civitas: warning: ${what} written unencrypted (no --passphrase-file, ${PASSPHRASE_ENV} or terminal): ${encryptHint}, or pass --plaintext if that is deliberate [CIVITAS_KEY_FILE_PLAINTEXT]\n`,
  );
}
