/** CLI output: human text by default, JSON with --json; errors are one line on stderr. */
import { CivitasError, isCivitasError } from '../errors/index.ts';

export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
  );
}

export function printLines(lines: string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Node's codes for a file or folder it could not use. */
const FILE_ERRORS = new Set(['ENOENT', 'EACCES', 'EPERM', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ENOSPC']);

/** Every error as a coded one: a file problem is CLI_FILE_ERROR, anything else INTERNAL. */
function coded(err: unknown): CivitasError {
  if (isCivitasError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  const message = e?.message ?? String(err);
  if (e?.code !== undefined && FILE_ERRORS.has(e.code)) {
    return new CivitasError('CLI_FILE_ERROR', message, { path: e.path });
  }
  return new CivitasError('INTERNAL', message);
}

/**
 * One clear line with its code and a non-zero exit; under --json the same as
 * {"error": {"code", "message"}} on stdout, for scripts. A stack only with CIVITAS_DEBUG.
 */
export function reportError(err: unknown): void {
  const e = coded(err);
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
  } else {
    process.stderr.write(`civitas: ${e.message} [${e.code}]\n`);
  }
  if (!isCivitasError(err) && process.env.CIVITAS_DEBUG) {
    process.stderr.write(`${(err as Error)?.stack}\n`);
  }
  process.exitCode = 1;
}

/** Wraps a commander action so every error ends as one line and exit code 1. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      reportError(err);
    }
  };
}
