/**
 * How many txs a primary puts in its next proposal, so that a height stays well inside the
 * view timeout. With a backlog every proposal would be as large as the chain allows; on a
 * starved machine a full block then takes longer than the view timeout on some replica (a
 * 1,000-tx height took 1.3–2 s of wall time at load 7 on 2 shared cores, for ~200 ms of
 * validation CPU), the view changes, the next primary re-proposes as large a block and the
 * chain commits a block every few seconds instead of saturating.
 *
 * The rule is additive increase, multiplicative decrease on what every node sees of each
 * committed height: its proposal→commit time (block timestamp to local commit) and the view
 * it was committed in. A height that needed a view change halves the cap; a height slower
 * than the target shrinks it if the cap was what made the block that large (a slow small
 * block says the machine is slow: a smaller one would pay the same fixed cost per height for
 * fewer txs); a fast, full one grows it. Only liveness depends on this: any block up to the
 * chain's maxBlockTxs stays valid, so nodes need not agree on the cap.
 */

export interface BlockSizerOptions {
  /** The chain's limit (genesis maxBlockTxs). */
  maxTxs: number;
  /** Never cap below this. */
  minTxs: number;
  /** Proposal→commit time a height should stay under (a fraction of the view timeout). */
  targetMs: number;
}

/** Fraction kept after a slow full height (a view change halves the cap). */
const DECREASE = 0.7;
/** A block at least this full counts as "full" (the cap, not the load, limited it). */
const FULL = 0.9;

export class BlockSizer {
  private readonly opts: BlockSizerOptions;
  private cap: number;

  constructor(opts: BlockSizerOptions) {
    this.opts = { ...opts, minTxs: Math.min(opts.minTxs, opts.maxTxs) };
    this.cap = this.opts.maxTxs;
  }

  /** Most txs for the next proposal. */
  get maxTxs(): number {
    return this.cap;
  }

  /** A committed height: its tx count, proposal→commit time and the view it committed in. */
  observe(txs: number, proposalToCommitMs: number, view: number): void {
    const { minTxs, maxTxs, targetMs } = this.opts;
    if (view > 0) {
      this.cap = Math.max(minTxs, Math.floor(this.cap / 2));
    } else if (proposalToCommitMs > targetMs) {
      if (txs >= this.cap * FULL) this.cap = Math.max(minTxs, Math.floor(this.cap * DECREASE));
    } else if (txs >= this.cap * FULL) {
      this.cap = Math.min(maxTxs, this.cap + Math.max(minTxs, Math.floor(maxTxs / 10)));
    }
  }
}
