/**
 * Engine configuration: identity, injected crypto, timeouts, and the windows and caps that
 * bound every buffer fed by the network.
 */

import type { SealedBlock } from '../chain/block.ts';
import type { SignatureCheck } from '../chain/certificate.ts';
import type { ValidatorSet } from '../chain/validator-set.ts';
import { CivitasError } from '../errors/index.ts';

export interface TimeoutConfig {
  /** View timeout at view 0; view v waits base × 2^v (capped at maxMs). */
  readonly baseMs: number;
  readonly maxMs: number;
  /** Re-send own messages after this long without progress (0 disables). */
  readonly retransmitMs: number;
}

export interface WindowConfig {
  /** Messages for heights h+1..h+heights are buffered; higher ones are dropped. */
  readonly heights: number;
  /** Messages for views v..v+views are accepted (commits also down to v−views). */
  readonly views: number;
  /** Buffered future-height messages per validator. */
  readonly futurePerValidator: number;
  /** Evidence records kept (oldest dropped first). */
  readonly evidence: number;
}

/**
 * Deliberately broken variants, used only by the simulator's tests to prove the checker
 * catches them. Never set in a node.
 */
export interface UnsafeTestHooks {
  /** Replace ⌊2n/3⌋+1 by this quorum (e.g. 2f). */
  readonly quorum?: number;
  /** New primaries ignore prepared certificates and replicas do not check the choice. */
  readonly ignorePreparedCertificates?: boolean;
}

export interface EngineConfig {
  readonly chainId: string;
  /** This replica's validator key; a key absent from a height's set makes it an observer. */
  readonly publicKey: Uint8Array;
  /**
   * The validator set that signs `height`. `decided`, when given, is the block of height − 1
   * this engine just decided: the node may not have committed it yet, and a set change it
   * executed takes effect at `height` (its header names the new set's hash, which the engine
   * checks). For a height above the next without it, the latest known set: a guess.
   */
  readonly validatorsAt: (height: number, decided?: SealedBlock) => ValidatorSet;
  readonly sign: (message: Uint8Array) => Uint8Array;
  readonly verify: SignatureCheck;
  /**
   * This replica's clock, ms since epoch. Read only to time its own COMMIT votes, whose median
   * becomes the next block's time (chain/block-time.ts); no message is judged by it.
   */
  readonly clock: () => number;
  readonly timeouts?: Partial<TimeoutConfig>;
  /**
   * Quiet when idle. Unset: the primary proposes at once and every view times out after
   * viewTimeout(view). Set: in view 0, while the node has not reported pending txs (event
   * `txs`), the primary may wait up to this long before proposing an empty block, so view 0's
   * timer allows `emptyBlockIntervalMs + viewTimeout(0)`; 0 means no empty blocks, and an idle
   * view 0 has no view timer at all. Once txs are pending or the proposal arrives, the
   * ordinary timeout runs from that moment. The primary's waiting is the node's (it builds
   * the proposal); the engine only times the others' patience to match.
   */
  readonly emptyBlockIntervalMs?: number;
  readonly windows?: Partial<WindowConfig>;
  readonly unsafe?: UnsafeTestHooks;
}

export const DEFAULT_TIMEOUTS: TimeoutConfig = {
  baseMs: 1_000,
  maxMs: 30_000,
  retransmitMs: 1_000,
};
export const DEFAULT_WINDOWS: WindowConfig = {
  heights: 4,
  views: 16,
  futurePerValidator: 64,
  evidence: 128,
};

export interface ResolvedConfig extends EngineConfig {
  readonly timeouts: TimeoutConfig;
  readonly windows: WindowConfig;
}

function positive(value: number, what: string, allowZero = false): void {
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new CivitasError('CONSENSUS_BAD_CONFIG', `${what} must be a positive integer`, {
      value,
    });
  }
}

export function resolveConfig(config: EngineConfig): ResolvedConfig {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
  const windows = { ...DEFAULT_WINDOWS, ...config.windows };
  positive(timeouts.baseMs, 'timeouts.baseMs');
  positive(timeouts.maxMs, 'timeouts.maxMs');
  positive(timeouts.retransmitMs, 'timeouts.retransmitMs', true);
  if (timeouts.maxMs < timeouts.baseMs) {
    throw new CivitasError('CONSENSUS_BAD_CONFIG', 'timeouts.maxMs must be ≥ timeouts.baseMs');
  }
  for (const [k, v] of Object.entries(windows)) positive(v, `windows.${k}`);
  if (config.emptyBlockIntervalMs !== undefined) {
    positive(config.emptyBlockIntervalMs, 'emptyBlockIntervalMs', true);
  }
  return { ...config, timeouts, windows };
}

/** Timeout of view v at any height: doubles per failed view, capped. */
export function viewTimeout(timeouts: TimeoutConfig, view: number): number {
  if (view >= 40) return timeouts.maxMs;
  return Math.min(timeouts.maxMs, timeouts.baseMs * 2 ** view);
}
