/**
 * Cuts the wait for a crashed primary short. With the primary rotating over every validator
 * ((height + view) mod n), a crashed validator is primary every n-th height, and each time the
 * others would wait the whole view timeout before changing view. This watch remembers when a
 * consensus message authored by each validator was last heard (relayed copies count) and,
 * when the primary of the current round is not this node, has proposed nothing for the round
 * and has been silent for `silenceMs`, expires the round's view timer at once.
 *
 * Liveness only: it moves a timer earlier, and PBFT's safety never depends on when a timer
 * fires (docs/CONSENSUS.md, "Why it is safe"). Every honest replica sees the same silence of
 * a crashed primary, so they change view together, as the timer would have made them do.
 * A forged message naming a validator can only make it look alive, which falls back to the
 * ordinary view timeout.
 */

export interface WatchedRound {
  readonly started: boolean;
  readonly height: number;
  readonly view: number;
  /** Validator index of the primary of (height, view). */
  readonly primary: number;
  /** This node's index at this height (−1: observer). */
  readonly validatorIndex: number;
  /** The round's primary may be waiting for txs before proposing an empty block. */
  readonly idle?: boolean;
}

export interface WatchedDriver {
  status(): WatchedRound;
  /** Fires the pending view timer of exactly (height, view); false if none is pending. */
  expireViewTimer(height: number, view: number): boolean;
}

/** What the watch needs of a decoded consensus message. */
export interface HeardMessage {
  readonly type: string;
  readonly height: number;
  readonly view: number;
  readonly validatorIndex: number;
}

export interface PrimaryWatchOptions {
  /** A validator silent this long is taken for crashed when it is the primary. */
  readonly silenceMs: number;
  /**
   * Stable identity of the validator at `index` in the set of `height` (the set may change
   * between heights, indices with it); undefined for an index outside the set.
   */
  readonly validatorKey: (height: number, index: number) => string | undefined;
  readonly now?: () => number;
  readonly onExpire?: (round: { height: number; view: number; primary: number }) => void;
}

/** Proposals remembered per watch; older heights are dropped first. */
const MAX_PROPOSALS = 64;

/**
 * The default silence: above the longest gap a live, busy primary leaves between its last
 * message and its proposal (after a view change it proposes within timeoutMs / 2), so the
 * threshold sits at 3/4 of the view timeout (and at least 1 s). An idle primary may wait far
 * longer (emptyBlockIntervalMs): idle rounds are left alone (WatchedRound.idle).
 */
export function defaultSilenceMs(timeoutMs: number): number {
  return Math.max(1_000, Math.round((timeoutMs * 3) / 4));
}

export class PrimaryWatch {
  private readonly driver: WatchedDriver;
  private readonly opts: PrimaryWatchOptions;
  private readonly now: () => number;
  /** Before a validator was ever heard, the watch's start counts as hearing it. */
  private startedAt: number;
  private readonly lastHeard = new Map<string, number>();
  /** "height:view" of rounds whose primary's proposal (PRE-PREPARE / NEW-VIEW) was heard. */
  private readonly proposals = new Set<string>();
  private expired = '';
  private expiries = 0;
  /** The last round seen idle, and when it was first seen busy after that. */
  private idleRound = '';
  private busySince = 0;

  constructor(driver: WatchedDriver, opts: PrimaryWatchOptions) {
    this.driver = driver;
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** Consensus starts now: validators not yet heard count as heard now. */
  begin(): void {
    this.startedAt = this.now();
  }

  /** A consensus message was accepted from the network (decoded; any kind, any sender). */
  heard(m: HeardMessage): void {
    const key = this.opts.validatorKey(m.height, m.validatorIndex);
    if (key === undefined) return;
    this.lastHeard.set(key, this.now());
    if (m.type === 'pre-prepare' || m.type === 'new-view') {
      if (this.proposals.size >= MAX_PROPOSALS) this.dropOldProposals();
      if (this.proposals.size < MAX_PROPOSALS) this.proposals.add(`${m.height}:${m.view}`);
    }
  }

  /** How long the validator at `index` of `height` has been silent (ms). */
  silenceOf(height: number, index: number): number {
    const key = this.opts.validatorKey(height, index);
    if (key === undefined) return 0;
    return this.now() - (this.lastHeard.get(key) ?? this.startedAt);
  }

  /** View timers this watch expired. */
  expiredRounds(): number {
    return this.expiries;
  }

  /**
   * Checks the current round: expires its view timer if the primary (not this node) has been
   * silent for silenceMs and no proposal of it for this round was heard. At most once per
   * (height, view). Returns whether it expired the timer.
   */
  check(): boolean {
    const s = this.driver.status();
    if (!s.started || s.primary === s.validatorIndex) return false;
    const round = `${s.height}:${s.view}`;
    if (round === this.expired || this.proposals.has(round)) return false;
    // An idle primary is silent on purpose; once txs are pending it has silenceMs to propose.
    if (s.idle === true) {
      if (this.idleRound !== round) this.busySince = 0;
      this.idleRound = round;
      return false;
    }
    let silence = this.silenceOf(s.height, s.primary);
    if (this.idleRound === round) {
      if (this.busySince === 0) this.busySince = this.now();
      silence = Math.min(silence, this.now() - this.busySince);
    }
    if (silence < this.opts.silenceMs) return false;
    // The timer may not be armed yet (a view change waits for a quorum of VIEW-CHANGEs before
    // arming it); then a later check tries again.
    if (!this.driver.expireViewTimer(s.height, s.view)) return false;
    this.expired = round;
    this.expiries++;
    this.opts.onExpire?.({ height: s.height, view: s.view, primary: s.primary });
    return true;
  }

  private dropOldProposals(): void {
    const height = this.driver.status().height;
    for (const round of this.proposals) {
      if (Number(round.slice(0, round.indexOf(':'))) < height) this.proposals.delete(round);
    }
  }
}
