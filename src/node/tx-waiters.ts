/**
 * Clients waiting for their tx to commit (POST /txs?wait=commit): one entry per tx hash,
 * resolved with the height when a block carrying it commits, rejected after a timeout.
 */
import { toHex } from '../crypto/bytes.ts';
import { CivitasError } from '../errors/index.ts';

export class TxWaiters {
  private readonly waiters = new Map<string, Set<(height: number) => void>>();
  private readonly committedHeight: (hash: Uint8Array) => Promise<number | undefined>;

  /** `committedHeight` looks a tx up in the store (undefined while it is not committed). */
  constructor(deps: { committedHeight: (hash: Uint8Array) => Promise<number | undefined> }) {
    this.committedHeight = deps.committedHeight;
  }

  /** Resolves with the height at which tx `hash` commits; rejects after `timeoutMs`. */
  async wait(hash: Uint8Array, timeoutMs: number): Promise<number> {
    const key = toHex(hash);
    let set = this.waiters.get(key);
    if (set === undefined) {
      set = new Set();
      this.waiters.set(key, set);
    }
    const waiters = set;
    let timer: NodeJS.Timeout | undefined;
    let done: ((height: number) => void) | undefined;
    const forget = (): void => {
      waiters.delete(done!);
      if (waiters.size === 0) this.waiters.delete(key);
    };
    // Register first, then look in the store: a commit landing between the two is seen by
    // one or the other, never missed.
    const committed = new Promise<number>((resolve, reject) => {
      done = (height: number): void => {
        clearTimeout(timer);
        resolve(height);
      };
      timer = setTimeout(() => {
        forget();
        reject(new CivitasError('TX_WAIT_TIMEOUT', `tx not committed within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(done);
    });
    const height = await this.committedHeight(hash);
    if (height !== undefined) {
      done!(height);
      forget();
    }
    return committed;
  }

  /** A block committed at `height` with these txs: wake their waiters. */
  committed(txHashes: readonly Uint8Array[], height: number): void {
    if (this.waiters.size === 0) return;
    for (const h of txHashes) {
      const key = toHex(h);
      const waiters = this.waiters.get(key);
      if (waiters === undefined) continue;
      this.waiters.delete(key);
      for (const w of waiters) w(height);
    }
  }
}
