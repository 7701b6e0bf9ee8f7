/**
 * Structured logs: one JSON object per line (for machines) or a compact pretty line (for
 * people), per module, with a level filter. Small enough that a logging library would add
 * more surface than it saves; everything below `cli` logs through this.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(module: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  module?: string;
  write?: (line: string) => void;
}

function render(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value instanceof Error) return (value as { code?: string }).code ?? value.message;
  return value;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const threshold = LEVELS[opts.level ?? 'info'];
  const format = opts.format ?? 'json';
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const make = (module: string): Logger => {
    const log = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void => {
      if (LEVELS[level] < threshold) return;
      const time = new Date().toISOString();
      if (format === 'json') {
        write(JSON.stringify({ time, level, module, msg, ...fields }, (_k, v) => render(v)));
      } else {
        const extras = Object.entries(fields)
          .map(
            ([k, v]) =>
              `${k}=${typeof render(v) === 'object' ? JSON.stringify(render(v)) : render(v)}`,
          )
          .join(' ');
        write(
          `${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} [${module}] ${msg}${extras ? ` ${extras}` : ''}`,
        );
      }
    };
    return {
      debug: (m, f) => log('debug', m, f),
      info: (m, f) => log('info', m, f),
      warn: (m, f) => log('warn', m, f),
      error: (m, f) => log('error', m, f),
      child: (sub) => make(`${module}/${sub}`),
    };
  };
  return make(opts.module ?? 'civitas');
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
