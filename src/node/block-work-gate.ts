/**
 * Block work goes first. While a block is being built, validated or committed, tx admission
 * (decode, hash, signature check per tx, for every tx of every client and peer) waits.
 * Otherwise each await inside the block work queues behind whatever ingest the event loop
 * holds, and on a loaded machine a height's wall time grows past the view timeout although
 * its own CPU time is a fraction of it. Admission runs in the gaps (while votes travel).
 */

/** Waiting tx admissions resumed per event-loop turn once block work is done. */
const ADMISSION_SLICE = 32;

export class BlockWorkGate {
  /** Block work running now; admission waits while it is > 0. */
  private blockWork = 0;
  private readonly admissionWaiters: Array<() => void> = [];
  private resuming = false;

  /** Runs `work` as block work: admissions that ask for a turn meanwhile wait for it. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.blockWork++;
    try {
      return await work();
    } finally {
      if (--this.blockWork === 0) this.resumeAdmissions();
    }
  }

  /** Resolves at once (undefined), or in arrival order once the block work running now is done. */
  admissionTurn(): Promise<void> | undefined {
    if (this.blockWork === 0 && this.admissionWaiters.length === 0) return undefined;
    return new Promise((resume) => this.admissionWaiters.push(resume));
  }

  /** Admissions waiting for a turn (they count toward the backlog). */
  get waiting(): number {
    return this.admissionWaiters.length;
  }

  /**
   * Lets waiting admissions go a slice per event-loop turn: resuming hundreds at once would
   * run them all as one long task, the very thing that made consensus messages wait.
   */
  private resumeAdmissions(): void {
    if (this.resuming) return;
    this.resuming = true;
    const step = (): void => {
      if (this.blockWork > 0 || this.admissionWaiters.length === 0) {
        this.resuming = false;
        return;
      }
      for (const resume of this.admissionWaiters.splice(0, ADMISSION_SLICE)) resume();
      setImmediate(step);
    };
    setImmediate(step);
  }
}
