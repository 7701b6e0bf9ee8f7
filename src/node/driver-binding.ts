/**
 * What PbftConsensus and HotStuffConsensus share in binding a consensus driver to the node:
 * a durable write that fails stops the node, the WAL bound through that rule, a primary
 * (leader) watch that knows each height's validator keys, and the round timers.
 */
import type { ValidatorSet } from '../chain/index.ts';
import { toHex } from '../crypto/bytes.ts';
import type { Logger } from './logger.ts';
import { defaultSilenceMs, PrimaryWatch, type WatchedDriver } from './primary-watch.ts';

/** How often the primary watch looks at the current round (also on every timer set). */
export const WATCH_INTERVAL_MS = 200;

/** Passes a promise on; if it rejects, reports the error as fatal first (a failed write). */
export function fatalOn(onFatal: (err: unknown) => void): <T>(p: Promise<T>) => Promise<T> {
  return (p) =>
    p.catch((err: unknown) => {
      onFatal(err);
      throw err;
    });
}

interface Wal<W> {
  append(entries: readonly W[]): Promise<void>;
  load(): Promise<W[]>;
  truncateBelow(height: number): Promise<void>;
}

/** The driver's WAL: appends that fail are fatal (a vote must never leave unrecorded). */
export function walBinding<W>(wal: Wal<W>, fatal: <T>(p: Promise<T>) => Promise<T>): Wal<W> {
  return {
    append: (entries) => fatal(wal.append(entries)),
    load: () => wal.load(),
    truncateBelow: (height) => wal.truncateBelow(height),
  };
}

/**
 * The watch that cuts a silent primary's view short: silent for `silenceMs` (default from
 * the view timeout), its round's timer expires at once. `role` names it in the log.
 */
export function primaryWatchFor(
  driver: WatchedDriver,
  opts: {
    silenceMs?: number;
    timeoutMs: number;
    validatorsAt: (height: number) => ValidatorSet;
  },
  log: Logger,
  role: 'primary' | 'leader',
): PrimaryWatch {
  return new PrimaryWatch(driver, {
    silenceMs: opts.silenceMs ?? defaultSilenceMs(opts.timeoutMs),
    validatorKey: (height, index) => {
      try {
        const key = opts.validatorsAt(height).validators[index];
        return key === undefined ? undefined : toHex(key);
      } catch {
        return undefined;
      }
    },
    onExpire: (round) => log.debug(`${role} silent: view timer expired early`, round),
  });
}

/**
 * Real timers for the driver. Timers are armed as a view or a height starts: `onArm` runs
 * then (the glue logs a new view), and `onRoundStart` a turn later (the watch looks at the
 * round's primary without waiting for its interval).
 */
export function roundTimers(
  onArm: () => void,
  onRoundStart: () => void,
): { set(ms: number, fn: () => void): () => void } {
  return {
    set: (ms, fn) => {
      onArm();
      const t = setTimeout(fn, ms);
      setImmediate(onRoundStart);
      return () => clearTimeout(t);
    },
  };
}
