/**
 * What PbftConsensus and HotStuffConsensus share in binding a consensus driver to the node:
 * a durable write that fails stops the node, the WAL bound through that rule, a primary
 * (leader) watch that knows each height's validator keys, the round timers, the engine's
 * common settings and the gossip envelope consensus messages travel in.
 */
import { randomBytes } from 'node:crypto';
import type { ValidatorSet } from '../chain/index.ts';
import { toHex } from '../crypto/bytes.ts';
import { sign, verifyNative } from '../crypto/ed25519.ts';
import type { P2PNode } from '../p2p/index.ts';
import type { Logger } from './logger.ts';
import { defaultSilenceMs, PrimaryWatch, type WatchedDriver } from './primary-watch.ts';

/**
 * Gossip envelope of a consensus message: the message bytes, then 8 random bytes. gossipsub
 * drops any publish whose id it has seen (ids hash the content), and the engine's
 * retransmissions are byte-identical (signatures are deterministic), so without the nonce a
 * PRE-PREPARE or vote sent before peers were connected could never be sent again. The
 * engine deduplicates by the signed message itself, so fresh envelopes cost one decode.
 */
const ENVELOPE_NONCE_BYTES = 8;

export function sealEnvelope(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(message.length + ENVELOPE_NONCE_BYTES);
  out.set(message);
  out.set(randomBytes(ENVELOPE_NONCE_BYTES), message.length);
  return out;
}

export function openEnvelope(data: Uint8Array): Uint8Array | undefined {
  if (data.length <= ENVELOPE_NONCE_BYTES) return undefined;
  return data.subarray(0, data.length - ENVELOPE_NONCE_BYTES);
}

/** Publishes a message's bytes on the consensus topic, in a fresh envelope; failures are logged. */
export function consensusPublisher(
  p2p: Pick<P2PNode, 'publish'>,
  log: Logger,
): (bytes: Uint8Array) => Promise<void> {
  return (bytes) =>
    p2p.publish('consensus', sealEnvelope(bytes)).then(
      () => {},
      (err) => log.warn('consensus publish failed', { code: err.code, err: err.message }),
    );
}

/** The engine settings both protocols take from the node: identity, keys, set, clock, timeout. */
export function engineBase(
  opts: {
    chainId: string;
    publicKey: Uint8Array;
    secretKey: Uint8Array;
    timeoutMs: number;
    validatorsAt: (height: number) => ValidatorSet;
  },
  clock: () => number,
) {
  return {
    chainId: opts.chainId,
    publicKey: opts.publicKey,
    validatorsAt: opts.validatorsAt,
    sign: (message: Uint8Array) => sign(message, opts.secretKey),
    verify: verifyNative,
    clock,
    timeouts: { baseMs: opts.timeoutMs },
  };
}

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
