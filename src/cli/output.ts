/** CLI output: human text by default, JSON with --json; errors are one line on stderr. */
import { isCivitasError } from '../errors/index.ts';

export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
  );
}

export function printLines(lines: string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** One clear line and a non-zero exit for user mistakes; a stack only with CIVITAS_DEBUG. */
export function reportError(err: unknown): void {
  if (isCivitasError(err)) {
    process.stderr.write(`civitas: ${err.message} [${err.code}]\n`);
  } else {
    const e = err as Error;
    process.stderr.write(`civitas: unexpected error: ${e?.message ?? String(err)}\n`);
    if (process.env.CIVITAS_DEBUG) process.stderr.write(`${e?.stack}\n`);
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
