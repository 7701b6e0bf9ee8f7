/**
 * The consensus write-ahead log in the node's LevelDB (`wal` bucket). Entries are keyed by
 * (height, sequence) with fixed-width big-endian numbers, so a load returns them in write
 * order and truncation below a height is one range delete. Appends are synced batches: the
 * driver sends a message only after the entry that records it is on disk.
 *
 * Each value is the entry behind its protocol's byte (consensus/wal.ts, encodeWalRecord): a load
 * refuses entries another protocol wrote, and reads an untagged entry (stored before the byte
 * existed) as PBFT's, so a node upgraded in place keeps its WAL.
 */
import {
  decodeWalRecord,
  encodeWalRecord,
  PBFT_WAL_CODEC,
  type WalCodec,
  type WalEntry,
} from '../consensus/wal.ts';
import type { ChainStore } from '../state/store.ts';

function walKey(height: number, seq: number): Uint8Array {
  const key = new Uint8Array(16);
  const view = new DataView(key.buffer);
  view.setBigUint64(0, BigInt(height));
  view.setBigUint64(8, BigInt(seq));
  return key;
}

export class LevelWal<W = WalEntry> {
  private readonly store: ChainStore;
  private readonly codec: WalCodec<W>;
  private seq = 0;

  /** `codec`: the protocol whose entries this WAL holds (PBFT's unless given). */
  constructor(store: ChainStore, codec: WalCodec<W> = PBFT_WAL_CODEC as unknown as WalCodec<W>) {
    this.store = store;
    this.codec = codec;
  }

  async load(): Promise<W[]> {
    const entries: W[] = [];
    for await (const [key, value] of this.store.wal.iterator()) {
      const seq = Number(new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(8));
      this.seq = Math.max(this.seq, seq + 1);
      entries.push(decodeWalRecord(this.codec, value));
    }
    return entries;
  }

  async append(entries: readonly W[]): Promise<void> {
    if (entries.length === 0) return;
    const batch = this.store.wal.batch();
    for (const e of entries) {
      batch.put(walKey(this.codec.height(e), this.seq++), encodeWalRecord(this.codec, e));
    }
    await batch.write({ sync: true });
  }

  /** Drops entries for heights below `height` (their blocks are committed and certified). */
  async truncateBelow(height: number): Promise<void> {
    await this.store.wal.clear({ lt: walKey(height, 0) });
  }
}
