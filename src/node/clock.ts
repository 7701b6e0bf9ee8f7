/**
 * The node's clock: the wall clock plus an offset that only fault injection sets (a skewed
 * clock for experiments and tests, src/node/fault-injection.ts). Consensus reads it to time
 * this validator's COMMIT votes; clock health compares it with the validators' vote times.
 */

export class NodeClock {
  private offset: number;

  constructor(offsetMs = 0) {
    this.offset = offsetMs;
  }

  /** Ms since epoch, as this node believes. */
  now(): number {
    return Date.now() + this.offset;
  }

  get offsetMs(): number {
    return this.offset;
  }

  /** Fault injection only. */
  setOffset(ms: number): void {
    this.offset = ms;
  }
}
