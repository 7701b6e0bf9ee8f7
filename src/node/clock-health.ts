/**
 * How far this node's clock is from the validators' (issue: "time from the quorum"). Block
 * time never depends on a local clock, but a clock far off still makes the node's own vote
 * times useless to the median, its logs misleading and its latency metrics wrong, so the
 * operator should know.
 *
 * Estimate: every commit certificate this node decides carries, per signer, the signed time
 * of its COMMIT vote. At the moment of the commit, (vote time − local clock) is that signer's
 * clock minus ours, less a network delay (votes are cast a few ms before the commit). The
 * offset is minus the median, over the other validators, of their latest such sample: one
 * Byzantine or skewed peer cannot move it. Only certificates decided live count; a block
 * fetched by sync may be minutes old.
 */

import type { CommitCertificate } from '../chain/certificate.ts';
import type { ValidatorSet } from '../chain/validator-set.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';

export interface ClockHealthReport {
  /** This clock minus the validators' median, ms; null until a certificate was seen. */
  readonly offsetMs: number | null;
  /** |offset| within the allowed drift (true when unknown: nothing says otherwise). */
  readonly ok: boolean;
  readonly maxDriftMs: number;
  /** Validators with a sample. */
  readonly peers: number;
}

export class ClockHealth {
  private readonly maxDriftMs: number;
  private readonly self: Uint8Array;
  /** validator key (hex) → latest (vote time − local clock). */
  private readonly samples = new Map<string, number>();
  private estimate: number | null = null;

  /** `self`: this node's key, whose own votes say nothing about its clock. */
  constructor(opts: { maxDriftMs: number; self: Uint8Array }) {
    this.maxDriftMs = opts.maxDriftMs;
    this.self = opts.self;
  }

  /**
   * A certificate decided by consensus, signed by `set` (the set of its height), at local
   * time `now`. Returns the new estimate.
   */
  observe(certificate: CommitCertificate, set: ValidatorSet, now: number): number | null {
    for (const s of certificate.signatures) {
      const key = set.validators[s.validatorIndex];
      if (key === undefined || equalBytes(key, this.self)) continue;
      this.samples.set(toHex(key), s.timestamp - now);
    }
    // A validator that left the set keeps no sample.
    const members = new Set(set.validators.map(toHex));
    for (const key of this.samples.keys()) if (!members.has(key)) this.samples.delete(key);
    if (this.samples.size === 0) return this.estimate;
    const sorted = [...this.samples.values()].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    this.estimate = Math.round(-median);
    return this.estimate;
  }

  report(): ClockHealthReport {
    const offsetMs = this.estimate;
    return {
      offsetMs,
      ok: offsetMs === null || Math.abs(offsetMs) <= this.maxDriftMs,
      maxDriftMs: this.maxDriftMs,
      peers: this.samples.size,
    };
  }
}
