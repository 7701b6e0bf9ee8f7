/**
 * One error type for the whole node: a stable, domain-prefixed code (`CODEC_TRAILING_BYTES`,
 * `BLOCK_BAD_TX_ROOT`, ...) plus plain context. Codes are what tests, the HTTP API and the
 * CLI match on; messages are for people. Errors cross worker threads and the JSON API as
 * `{code, message, context}`, so context holds only JSON-safe values.
 */
export class CivitasError extends Error {
  readonly code: string;
  readonly context: Record<string, unknown>;

  constructor(code: string, message: string, context: Record<string, unknown> = {}) {
    super(message);
    this.name = 'CivitasError';
    this.code = code;
    this.context = context;
  }

  toJSON(): { code: string; message: string; context: Record<string, unknown> } {
    return { code: this.code, message: this.message, context: this.context };
  }
}

export function isCivitasError(err: unknown, codePrefix?: string): err is CivitasError {
  return (
    err instanceof CivitasError && (codePrefix === undefined || err.code.startsWith(codePrefix))
  );
}
