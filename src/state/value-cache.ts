/**
 * The latest committed values of recently used state keys, in memory, so a block does not go
 * to LevelDB for the accounts, memberships and module records the last blocks touched (a
 * permissioned chain reads each sender's membership record beside its account).
 *
 * Why it is safe: every entry is the value of the committed tip. Entries enter two ways:
 * - a commit writes its own values in after its batch is durable (`noteCommitted`);
 * - a read from LevelDB fills the misses it fetched, but only if no commit was writing or
 *   finished between the read's start and end (`readEpoch`/`fill`): a read overlapped by a
 *   commit may have seen the value before or after it, and a stale entry would make this
 *   node execute blocks differently from the others.
 * Absence is cached too (undefined), as it is a committed fact like any value.
 *
 * Bounded by entry count, by two generations of at most half the bound each: entries go into
 * the young map; when it is full it becomes the old map and the previous old map is dropped
 * whole; a hit in the old map copies the entry into the young one. So a key used within the
 * last half-bound of insertions stays, like least-recently-used eviction, without moving a Map
 * entry on every hit (a delete and a set per hit left the tables full of deleted slots and
 * rehashed them again and again).
 */

import { latin1Key as idOf } from '../crypto/bytes.ts';

/** 32-byte key hash, value, map entry: ~64k entries stay within a few tens of MiB. */
export const DEFAULT_VALUE_CACHE_ENTRIES = 65_536;

export interface ValueCacheStats {
  hits: number;
  misses: number;
  entries: number;
}

export class CommittedValueCache {
  /** Newer entries; a key here shadows the same key in `old`. */
  private young = new Map<string, Uint8Array | undefined>();
  private old = new Map<string, Uint8Array | undefined>();
  /** Most entries of one generation: half the bound (rounded up). */
  private readonly generation: number;
  /** Bumped when a commit starts writing and again when it has finished. */
  private epoch = 0;
  private writing = false;
  private hits = 0;
  private misses = 0;

  constructor(maxEntries = DEFAULT_VALUE_CACHE_ENTRIES) {
    this.generation = Math.max(1, Math.ceil(maxEntries / 2));
  }

  /**
   * Looks the keys up; `missing` lists the indexes not in the cache (a cached absence is a hit
   * with value undefined).
   */
  lookup(keyHashes: readonly Uint8Array[]): {
    values: (Uint8Array | undefined)[];
    missing: number[];
  } {
    const values: (Uint8Array | undefined)[] = new Array(keyHashes.length);
    const missing: number[] = [];
    for (let i = 0; i < keyHashes.length; i++) {
      const id = idOf(keyHashes[i]!);
      let value = this.young.get(id);
      if (value !== undefined || this.young.has(id)) {
        values[i] = value;
        this.hits++;
        continue;
      }
      value = this.old.get(id);
      if (value !== undefined || this.old.has(id)) {
        this.put(id, value);
        values[i] = value;
        this.hits++;
      } else {
        missing.push(i);
        this.misses++;
      }
    }
    return { values, missing };
  }

  /** The token a LevelDB read takes before it starts; `fill` uses it to refuse stale results. */
  readEpoch(): number {
    return this.writing ? -1 : this.epoch;
  }

  /** Caches the values a LevelDB read returned, if no commit overlapped the read. */
  fill(
    epoch: number,
    keyHashes: readonly Uint8Array[],
    values: readonly (Uint8Array | undefined)[],
  ): void {
    if (epoch < 0 || this.writing || epoch !== this.epoch) return;
    for (let i = 0; i < keyHashes.length; i++) this.put(idOf(keyHashes[i]!), values[i]);
  }

  /** A commit's batch is about to be written: no read that overlaps it may fill the cache. */
  beginCommit(): void {
    this.writing = true;
    this.epoch++;
  }

  /**
   * The commit's batch is durable (`values` given) or failed (`values` omitted: what it
   * wrote is unknown, so everything cached is dropped).
   */
  endCommit(values?: readonly (readonly [Uint8Array, Uint8Array | null])[]): void {
    if (values === undefined) {
      this.young = new Map();
      this.old = new Map();
    } else {
      for (const [keyHash, value] of values) this.put(idOf(keyHash), value ?? undefined);
    }
    this.epoch++;
    this.writing = false;
  }

  stats(): ValueCacheStats {
    // A key copied from the old generation into the young one counts twice (an upper bound).
    return { hits: this.hits, misses: this.misses, entries: this.young.size + this.old.size };
  }

  private put(id: string, value: Uint8Array | undefined): void {
    if (this.young.size >= this.generation && !this.young.has(id)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(id, value);
  }
}
