/**
 * One memory budget for a node (config `memory.budgetMiB`, default 256): what its resident
 * memory should stay near under steady load, and everything sized from it.
 *
 * Measured on 4 validators at 150 tx/s (docs/BENCHMARKS.md, "Memory"): a node's live heap is
 * about 65 MB, but with V8's defaults, sized from the machine's memory (a 128 MB young
 * generation, an old generation allowed to grow to gigabytes), garbage sat uncollected and
 * the process held 400-500 MiB. What brings it to the budget:
 * - **The V8 heap**, capped at start by Node flags (they cannot be changed once running):
 *   `--max-old-space-size=<budget>` (V8 also grows a small heap by a smaller factor before
 *   collecting it) and `--max-semi-space-size=<budget/128>`. Every launcher this project ships
 *   passes them (`heapFlags`: localnet, the npm scripts, deploy/); a node started without them
 *   logs a warning naming them (`heapLimitWarning`).
 * - **The caches** get an eighth of the budget, split below; each reports its entries and
 *   estimated bytes (`civitas_cache_entries`, `civitas_cache_bytes`).
 * - **LevelDB's** write buffer, block cache and open tables (memory-mapped files).
 * - **malloc**: at most two glibc arenas (`NODE_ENV`, set by the same launchers).
 * Signature worker threads have their own small fixed heaps (crypto/verify-pool.ts).
 */

const MiB = 1024 * 1024;

export const DEFAULT_MEMORY_BUDGET_MIB = 256;
export const MIN_MEMORY_BUDGET_MIB = 128;

/**
 * Estimated bytes of one entry of a set of hex tx hashes: a 64-character one-byte string (80
 * bytes with its header, rounded) plus the hash table's slot and share of spare capacity.
 */
export const HEX_HASH_ENTRY_BYTES = 128;
/** One sender of the commit cache: its address key, a small object and the slot. */
export const SENDER_ENTRY_BYTES = 192;
/** One committed state value (key hex, value bytes of a typical account, slot). */
export const VALUE_ENTRY_BYTES = 256;

/** What a cache holds: entries, and their bytes (measured, or entries × an estimate). */
export interface CacheSize {
  readonly entries: number;
  readonly bytes: number;
}

export interface MemoryPlan {
  readonly budgetBytes: number;
  /** Node flags that size the V8 heap to the budget (at process start only). */
  readonly heapFlags: readonly string[];
  /** Verified-signature cache of tx hashes (entries). */
  readonly verifiedTxs: number;
  /** Recently committed tx hashes that admission refuses from memory (entries). */
  readonly recentTxs: number;
  /** Admitted txs whose admission time the metrics keep, for the commit latency (entries). */
  readonly trackedTxs: number;
  /** Senders whose committed nonce admission reads from memory (entries). */
  readonly senders: number;
  /** The committed state-tree node cache (bytes). */
  readonly stateNodeBytes: number;
  /** The committed state-value cache (entries). */
  readonly stateValues: number;
  readonly leveldbWriteBufferBytes: number;
  readonly leveldbCacheBytes: number;
  /**
   * LevelDB's open tables. Each is a memory-mapped file whose touched pages (its index, its
   * bloom filter, the blocks reads hit) count in the process's resident memory: ~280 KiB of
   * each 2 MiB table at 150 tx/s, 12 MiB for 44 tables after 21 minutes, and a chain's tables
   * only grow in number (LevelDB's default keeps up to 1,000 open: ~280 MiB).
   */
  readonly leveldbMaxOpenFiles: number;
}

/**
 * The environment a node should start with (glibc's malloc):
 * - `MALLOC_ARENA_MAX=2`: malloc gives each thread that allocates its own arena (libuv's
 *   pool, the verify workers, V8's and LevelDB's threads), and their fragments added ~35 MiB
 *   of resident memory at 150 tx/s; two arenas hold the same work.
 * - `MALLOC_TRIM_THRESHOLD_=131072`: a fixed threshold turns off glibc's dynamic one, which
 *   rises after every large block freed (LevelDB's memtables, network buffers), so that ever
 *   more memory stays in the arenas after a free instead of going back to the system.
 */
export const NODE_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

/** The Node flags that cap the V8 heap to a budget of `budgetMiB`. */
export function heapFlags(budgetMiB: number): string[] {
  return [
    `--max-old-space-size=${budgetMiB}`,
    `--max-semi-space-size=${Math.max(1, Math.floor(budgetMiB / 128))}`,
  ];
}

export function memoryPlan(budgetMiB: number): MemoryPlan {
  const caches = (budgetMiB * MiB) / 8;
  return {
    budgetBytes: budgetMiB * MiB,
    heapFlags: heapFlags(budgetMiB),
    verifiedTxs: Math.floor((caches * 0.15) / HEX_HASH_ENTRY_BYTES),
    recentTxs: Math.floor((caches * 0.15) / HEX_HASH_ENTRY_BYTES),
    trackedTxs: Math.floor((caches * 0.1) / HEX_HASH_ENTRY_BYTES),
    senders: Math.floor((caches * 0.1) / SENDER_ENTRY_BYTES),
    stateNodeBytes: Math.floor(caches * 0.4),
    stateValues: Math.floor((caches * 0.1) / VALUE_ENTRY_BYTES),
    leveldbWriteBufferBytes: Math.max(4 * MiB, Math.floor(budgetMiB / 64) * MiB),
    leveldbCacheBytes: Math.max(8 * MiB, Math.floor(budgetMiB / 32) * MiB),
    leveldbMaxOpenFiles: Math.max(64, Math.floor(budgetMiB / 4)),
  };
}

/**
 * A warning when this process's V8 heap may grow well past the budget (it was started without
 * heapFlags), naming the flags; undefined when it is sized to fit.
 */
export function heapLimitWarning(budgetMiB: number, heapLimitBytes: number): string | undefined {
  // The limit V8 reports is old + young generation (+ a little): allow the young part.
  if (heapLimitBytes <= 1.5 * budgetMiB * MiB) return undefined;
  const env = Object.entries(NODE_ENV)
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  return (
    `the V8 heap may grow to ${Math.round(heapLimitBytes / MiB)} MiB, over memory.budgetMiB ` +
    `(${budgetMiB}): start the node with ${env}node ${heapFlags(budgetMiB).join(' ')} ` +
    '(docs/OPERATIONS.md, "Memory")'
  );
}
