/**
 * Learns when blocks commit: follows one node's server-sent block stream (GET /events) and
 * fetches each new block (GET /blocks/:h) for its tx hashes, so every load tx gets a commit
 * time. The commit time of a block is when its event reached the harness. If the observed
 * node goes down (a crash fault), the tracker moves to another live node and fetches the
 * blocks it missed; those get the time they were discovered (an upper bound).
 */
import { CivitasClient } from '../../src/client/client.ts';
import type { CommitEvent } from './stats.ts';

export interface TrackerTarget {
  readonly urls: readonly string[];
  isUp(i: number): boolean;
}

interface BlockJson {
  header: { height: number };
  txHashes: string[];
}

export class CommitTracker {
  readonly commits: CommitEvent[] = [];
  private readonly target: TrackerTarget;
  private readonly onTx: (hash: string, atMs: number) => boolean;
  private readonly origin: () => number;
  private observer: number;
  private height: number;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private catchingUp: Promise<void> = Promise.resolve();
  private switches = 0;

  /**
   * @param onTx called per tx hash of each new block; returns whether it is a load tx.
   * @param origin the performance.now() value commit times are measured from.
   */
  constructor(opts: {
    target: TrackerTarget;
    observer: number;
    fromHeight: number;
    origin: () => number;
    onTx: (hash: string, atMs: number) => boolean;
  }) {
    this.target = opts.target;
    this.observer = opts.observer;
    this.height = opts.fromHeight;
    this.origin = opts.origin;
    this.onTx = opts.onTx;
  }

  get observedNode(): number {
    return this.observer;
  }

  get observerSwitches(): number {
    return this.switches;
  }

  get tipHeight(): number {
    return this.height;
  }

  start(): void {
    this.running = this.follow();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running?.catch(() => {});
    await this.catchingUp.catch(() => {});
  }

  /** Waits until the tracker has processed every block up to `height`. */
  async until(height: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.height < height && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.height >= height;
  }

  private async follow(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const url = this.target.urls[this.observer]!;
      try {
        const events = await new CivitasClient(url).openBlockEvents(signal);
        // Blocks committed before the stream opened.
        this.catchUp(url, await this.remoteHeight(url));
        for await (const { height } of events) this.catchUp(url, height);
      } catch {
        if (signal.aborted) return;
      }
      // The stream ended: the node is probably down. Move to the next live node.
      await new Promise((r) => setTimeout(r, 100));
      const n = this.target.urls.length;
      for (let k = 1; k <= n; k++) {
        const i = (this.observer + k) % n;
        if (this.target.isUp(i)) {
          if (i !== this.observer) this.switches++;
          this.observer = i;
          break;
        }
      }
    }
  }

  private async remoteHeight(url: string): Promise<number> {
    const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(5_000) });
    return ((await res.json()) as { height: number }).height;
  }

  /** Fetches blocks (height+1 .. target] in order; the time is taken now, before fetching. */
  private catchUp(url: string, target: number): void {
    const seenAt = performance.now() - this.origin();
    this.catchingUp = this.catchingUp
      .then(async () => {
        while (this.height < target && !this.abort.signal.aborted) {
          const h = this.height + 1;
          const res = await fetch(`${url}/blocks/${h}`, { signal: AbortSignal.timeout(10_000) });
          if (!res.ok) return;
          const block = (await res.json()) as BlockJson;
          let loadTxs = 0;
          for (const hash of block.txHashes) if (this.onTx(hash, seenAt)) loadTxs++;
          this.commits.push({ height: h, atMs: seenAt, txs: block.txHashes.length, loadTxs });
          this.height = h;
        }
      })
      .catch(() => {});
  }
}
