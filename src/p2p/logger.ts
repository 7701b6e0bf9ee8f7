/**
 * The p2p layer logs through this small interface; the node passes its structured logger.
 * libp2p's own debug loggers are silenced by default (see `silentLibp2pLogger`) because they
 * report routine events (peer resets, aborted dials) as errors.
 */
import type { ComponentLogger, Logger as Libp2pLogger } from '@libp2p/interface';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => {};

export const noopLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

function silentLogger(): Libp2pLogger {
  const log = Object.assign(noop.bind(null), {
    error: noop,
    trace: noop,
    enabled: false,
    newScope: (): Libp2pLogger => log,
  });
  return log;
}

export const silentLibp2pLogger: ComponentLogger = {
  forComponent: () => silentLogger(),
};
