/**
 * Node metrics in Prometheus text form (GET /metrics), built on prom-client with one registry
 * per node so several nodes in one process (tests) never share counters. Names follow the
 * Prometheus conventions: `civitas_` prefix, `_total` for counters, `_seconds` for durations;
 * every label comes from a fixed, small set, never from the network (a peer id or an error
 * message as a label value would let a peer grow the series without limit).
 *
 * Values that the node already keeps (height, view, mempool size, gossip counters) are read
 * when scraped instead of being pushed on every change: nothing on the hot path pays for
 * them.
 */

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RejectReason } from '../consensus/events.ts';
import { toHex } from '../crypto/bytes.ts';
import { txRejectLabelOf } from '../errors/index.ts';
import type { PruningStats } from '../state/pruner.ts';
import { buildInfo } from './build-info.ts';
import { type CacheSize, HEX_HASH_ENTRY_BYTES } from './memory-budget.ts';
import { VERIFY_PATHS, type VerificationStats } from './verification.ts';

/** Timed steps of the validation and commit path. */
export const VALIDATION_STAGES = [
  'mempool_admit',
  'proposal_build',
  'proposal_validate',
  'sync_validate',
  'block_commit',
] as const;
export type ValidationStage = (typeof VALIDATION_STAGES)[number];

export const GOSSIP_RESULTS = [
  'published',
  'accepted',
  'ignored',
  'rejected',
  'fault_dropped',
  'handler_error',
] as const;
export type GossipResult = (typeof GOSSIP_RESULTS)[number];

/** Gossip counters per topic as the p2p layer keeps them (cumulative). */
export interface GossipCountersSnapshot {
  published: number;
  accepted: number;
  ignored: number;
  rejected: number;
  faultDropped: number;
  handlerErrors: number;
}

/** What the metrics read from the node when scraped. */
export interface MetricsSource {
  height(): number;
  view(): number;
  viewChanges(): number;
  mempoolSize(): number;
  /** Txs held behind a nonce gap (not proposable until it is filled). */
  mempoolQueued(): number;
  peers(): number;
  gossip(): Record<string, GossipCountersSnapshot> | undefined;
  /** Signature verification counters (verification.ts); absent where nothing verifies. */
  verification?(): VerificationStats | undefined;
  /** Compact proposal counters (proposal-resolver.ts); absent without PBFT. */
  compactProposals?(): Readonly<Record<string, number>> | undefined;
  /** Bytes of consensus messages published: as sent, and as their v1 form (absent: no PBFT). */
  consensusBytes?(): { readonly wire: number; readonly v1: number } | undefined;
  /** This clock minus the validators' median vote time, ms (clock-health.ts); null: unknown. */
  clockOffsetMs?(): number | null;
  /** What pruning keeps and has deleted (src/state/pruner.ts). */
  pruning?(): PruningStats;
  /** The memory budget, the V8 heap limit and what each cache holds (memory-budget.ts). */
  memory?(): MemoryReport;
  /** The state sync this process joined by (state-sync-start.ts), if it did. */
  stateSync?(): { readonly bytes: number; readonly ms: number } | undefined;
  /** Snapshots taken since the start and the newest kept (snapshot-store.ts). */
  snapshots?(): { readonly taken: number; readonly newestHeight: number };
}

export interface MemoryReport {
  readonly budgetBytes: number;
  readonly heapLimitBytes: number;
  readonly caches: Readonly<Record<string, CacheSize>>;
}

export interface NodeMetricsOptions {
  /** Include prom-client's process metrics (CPU, memory, event loop lag). Default true. */
  processMetrics?: boolean;
  /** Admission times remembered for tx admit→commit latency; older ones are forgotten. */
  maxTrackedTxs?: number;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const STAGE_BUCKETS = [
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
const GOSSIP_FIELD: Record<GossipResult, keyof GossipCountersSnapshot> = {
  published: 'published',
  accepted: 'accepted',
  ignored: 'ignored',
  rejected: 'rejected',
  fault_dropped: 'faultDropped',
  handler_error: 'handlerErrors',
};

/**
 * Raises a counter to a cumulative value read from elsewhere. prom-client counters only go
 * up by increments, so the last value seen is remembered per label set.
 */
class CumulativeMirror {
  private readonly last = new Map<string, number>();

  advance(key: string, value: number, inc: (delta: number) => void): void {
    const before = this.last.get(key) ?? 0;
    if (value > before) inc(value - before);
    this.last.set(key, Math.max(before, value));
  }
}

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly admitted = new Map<string, number>();
  private readonly maxTrackedTxs: number;
  private readonly stageSeconds: Histogram<'stage'>;
  private readonly blockLatency: Histogram;
  private readonly txLatency: Histogram;
  private readonly blocksCommitted: Counter;
  private readonly txsCommitted: Counter;
  private readonly txGossipRejects: Counter<'reason'>;
  private readonly evidenceTotal: Counter;
  private readonly submitsRefusedBusy: Counter;
  private readonly consensusRejects: Counter<'reason'>;
  private readonly faultChanges: Counter<'kind'>;
  private readonly syncBlocks: Counter;

  constructor(source: MetricsSource, opts: NodeMetricsOptions = {}) {
    const registers = [this.registry];
    this.maxTrackedTxs = opts.maxTrackedTxs ?? 100_000;
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    const build = buildInfo();
    new Gauge({
      name: 'civitas_build_info',
      help: 'The running build (value 1): package version, git commit (or unknown), Node.js version',
      labelNames: ['version', 'commit', 'node'] as const,
      registers,
    }).set({ version: build.version, commit: build.commit, node: process.version }, 1);
    new Gauge({
      name: 'civitas_chain_height',
      help: 'Height of the last committed block',
      registers,
      collect() {
        this.set(source.height());
      },
    });
    new Gauge({
      name: 'civitas_consensus_view',
      help: 'Current PBFT view at the height being decided (0 in the normal case)',
      registers,
      collect() {
        this.set(source.view());
      },
    });
    const viewChangesMirror = new CumulativeMirror();
    new Counter({
      name: 'civitas_consensus_view_changes_total',
      help: 'View changes this replica started or joined since it started',
      registers,
      collect() {
        viewChangesMirror.advance('', source.viewChanges(), (d) => this.inc(d));
      },
    });
    new Gauge({
      name: 'civitas_mempool_txs',
      help: 'Transactions waiting in the mempool',
      registers,
      collect() {
        this.set(source.mempoolSize());
      },
    });
    new Gauge({
      name: 'civitas_mempool_queued_txs',
      help: 'Mempool transactions queued behind a nonce gap (counted in civitas_mempool_txs too)',
      registers,
      collect() {
        this.set(source.mempoolQueued());
      },
    });
    const compactMirror = new CumulativeMirror();
    new Counter({
      name: 'civitas_compact_proposals_total',
      help:
        'Block-carrying consensus messages in compact form: sent, received, local (rebuilt ' +
        'with no fetch), txs_fetched, blocks_fetched, dropped (out of window, over the bound ' +
        'or unresolvable)',
      labelNames: ['event'] as const,
      registers,
      collect() {
        const counters = source.compactProposals?.();
        if (counters === undefined) return;
        for (const [key, value] of Object.entries(counters)) {
          const event = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
          compactMirror.advance(event, value, (d) => this.inc({ event }, d));
        }
      },
    });
    const bytesMirror = new CumulativeMirror();
    new Counter({
      name: 'civitas_consensus_published_bytes_total',
      help:
        'Bytes of consensus messages this node published: form="wire" as sent (compact ' +
        'proposals), form="v1" as their full v1 encoding would have been',
      labelNames: ['form'] as const,
      registers,
      collect() {
        const bytes = source.consensusBytes?.();
        if (bytes === undefined) return;
        for (const form of ['wire', 'v1'] as const) {
          bytesMirror.advance(form, bytes[form], (d) => this.inc({ form }, d));
        }
      },
    });
    const prunedMirror = new CumulativeMirror();
    new Gauge({
      name: 'civitas_state_retained_from_height',
      help: 'The lowest height whose state this node keeps for proofs (state.keepVersions; 0: all)',
      registers,
      collect() {
        const stats = source.pruning?.();
        if (stats !== undefined) this.set(stats.stateFrom);
      },
    });
    new Counter({
      name: 'civitas_state_pruned_nodes_total',
      help: 'State-tree nodes of versions below the kept window deleted since the node started',
      registers,
      collect() {
        const stats = source.pruning?.();
        if (stats !== undefined)
          prunedMirror.advance('nodes', stats.prunedNodes, (d) => this.inc(d));
      },
    });
    new Gauge({
      name: 'civitas_blocks_retained_from_height',
      help: 'The lowest height whose block this node keeps (state.retainBlocks; 0: all)',
      registers,
      collect() {
        const stats = source.pruning?.();
        if (stats !== undefined) this.set(stats.blocksFrom);
      },
    });
    new Counter({
      name: 'civitas_blocks_pruned_total',
      help: 'Heights whose block, certificate and receipts were deleted since the node started',
      registers,
      collect() {
        const stats = source.pruning?.();
        if (stats !== undefined) {
          prunedMirror.advance('blocks', stats.prunedBlocks, (d) => this.inc(d));
        }
      },
    });
    const syncMirror = new CumulativeMirror();
    new Counter({
      name: 'civitas_state_sync_bytes_total',
      help: 'Bytes this node fetched to join by state sync at its start (0: it did not)',
      registers,
      collect() {
        const sync = source.stateSync?.();
        syncMirror.advance('bytes', sync?.bytes ?? 0, (d) => this.inc(d));
      },
    });
    new Gauge({
      name: 'civitas_state_sync_seconds',
      help: 'How long the state sync this node joined by at its start took (0: it did not)',
      registers,
      collect() {
        this.set((source.stateSync?.()?.ms ?? 0) / 1000);
      },
    });
    const snapshotMirror = new CumulativeMirror();
    new Counter({
      name: 'civitas_snapshots_taken_total',
      help: 'State snapshots this node wrote since it started (state.snapshotInterval)',
      registers,
      collect() {
        const stats = source.snapshots?.();
        if (stats !== undefined) snapshotMirror.advance('', stats.taken, (d) => this.inc(d));
      },
    });
    new Gauge({
      name: 'civitas_snapshot_height',
      help: 'The height of the newest state snapshot this node keeps and serves (0: none)',
      registers,
      collect() {
        this.set(source.snapshots?.().newestHeight ?? 0);
      },
    });
    new Gauge({
      name: 'civitas_memory_budget_bytes',
      help: 'memory.budgetMiB in bytes: what the resident memory should stay near',
      registers,
      collect() {
        const report = source.memory?.();
        if (report !== undefined) this.set(report.budgetBytes);
      },
    });
    new Gauge({
      name: 'civitas_heap_limit_bytes',
      help: 'The most the V8 heap may grow to (set by node flags at start; see memory.budgetMiB)',
      registers,
      collect() {
        const report = source.memory?.();
        if (report !== undefined) this.set(report.heapLimitBytes);
      },
    });
    new Gauge({
      name: 'civitas_cache_entries',
      help: "Entries held by each of the node's caches (sized from memory.budgetMiB)",
      labelNames: ['cache'] as const,
      registers,
      collect() {
        const caches = source.memory?.().caches ?? {};
        for (const [cache, size] of Object.entries(caches)) this.set({ cache }, size.entries);
      },
    });
    new Gauge({
      name: 'civitas_cache_bytes',
      help: 'Bytes held by each cache: measured for state_nodes, entries x a per-entry estimate for the others',
      labelNames: ['cache'] as const,
      registers,
      collect() {
        const caches = source.memory?.().caches ?? {};
        for (const [cache, size] of Object.entries(caches)) this.set({ cache }, size.bytes);
      },
    });
    new Gauge({
      name: 'civitas_clock_offset_ms',
      help: "This node's clock minus the median of the validators' COMMIT vote times (absent until a certificate is decided)",
      registers,
      collect() {
        const offset = source.clockOffsetMs?.() ?? null;
        if (offset === null) this.reset();
        else this.set(offset);
      },
    });
    new Gauge({
      name: 'civitas_p2p_peers',
      help: 'Connected peers',
      registers,
      collect() {
        this.set(source.peers());
      },
    });
    const gossipMirror = new CumulativeMirror();
    new Counter({
      name: 'civitas_gossip_messages_total',
      help: 'Gossip messages by topic and result (published by this node, or validation verdict)',
      labelNames: ['topic', 'result'] as const,
      registers,
      collect() {
        const counters = source.gossip();
        if (counters === undefined) return;
        for (const [topic, c] of Object.entries(counters)) {
          for (const result of GOSSIP_RESULTS) {
            gossipMirror.advance(`${topic}/${result}`, c[GOSSIP_FIELD[result]], (d) =>
              this.inc({ topic, result }, d),
            );
          }
        }
      },
    });
    this.txGossipRejects = new Counter({
      name: 'civitas_gossip_tx_not_accepted_total',
      help: 'Gossiped txs this node ignored or rejected, by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    this.stageSeconds = new Histogram({
      name: 'civitas_validation_stage_seconds',
      help: 'Time spent per validation/commit stage',
      labelNames: ['stage'] as const,
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.blockLatency = new Histogram({
      name: 'civitas_block_commit_latency_seconds',
      help: 'Block proposal (header timestamp) to commit on this node',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.txLatency = new Histogram({
      name: 'civitas_tx_commit_latency_seconds',
      help: 'Tx admission to this node mempool to commit on this node',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.blocksCommitted = new Counter({
      name: 'civitas_blocks_committed_total',
      help: 'Blocks committed by this node',
      registers,
    });
    this.txsCommitted = new Counter({
      name: 'civitas_txs_committed_total',
      help: 'Transactions committed by this node',
      registers,
    });
    this.submitsRefusedBusy = new Counter({
      name: 'civitas_tx_submits_refused_backlog_total',
      help: 'Client tx submissions refused with 503 because the node had a backlog',
      registers,
    });
    this.evidenceTotal = new Counter({
      name: 'civitas_consensus_evidence_total',
      help: 'Equivocation evidence recorded by this node',
      registers,
    });
    this.consensusRejects = new Counter({
      name: 'civitas_consensus_messages_rejected_total',
      help: 'Consensus messages the engine rejected, by reason (benign duplicates and stale messages are not counted)',
      labelNames: ['reason'] as const,
      registers,
    });
    this.faultChanges = new Counter({
      name: 'civitas_fault_injection_changes_total',
      help: 'Fault-injection settings applied through the admin API, by kind',
      labelNames: ['kind'] as const,
      registers,
    });
    this.syncBlocks = new Counter({
      name: 'civitas_sync_blocks_total',
      help: 'Blocks block sync committed (through the block pipeline)',
      registers,
    });
    this.verificationMetrics(source, registers);
    for (const stage of VALIDATION_STAGES) this.stageSeconds.zero({ stage });
  }

  /**
   * Which path verified how many tx signatures (admission, proposal, sync), how many txs each
   * found in the verified-tx cache, where the signatures ran (the pool's workers or the
   * calling thread), and the backend. All read from the verifier's counters when scraped.
   */
  private verificationMetrics(source: MetricsSource, registers: Registry[]): void {
    const read = () => source.verification?.();
    type PathStats = VerificationStats['paths'][(typeof VERIFY_PATHS)[number]];
    /** A counter per verification path, mirroring one of the verifier's cumulative tallies. */
    const perPath = (name: string, help: string, tally: (p: PathStats) => number): void => {
      const mirror = new CumulativeMirror();
      new Counter({
        name,
        help,
        labelNames: ['path'] as const,
        registers,
        collect() {
          const stats = read();
          for (const path of VERIFY_PATHS) {
            this.inc({ path }, 0);
            if (stats !== undefined) {
              mirror.advance(path, tally(stats.paths[path]), (d) => this.inc({ path }, d));
            }
          }
        },
      });
    };
    perPath(
      'civitas_tx_signatures_verified_total',
      'Tx signatures verified (sender and cosigners, verified-tx cache misses), by path',
      (p) => p.signatures,
    );
    perPath(
      'civitas_tx_signature_cache_hits_total',
      'Txs whose signatures the verified-tx cache answered (no signature checked), by path',
      (p) => p.cacheHits,
    );
    const threads = new CumulativeMirror();
    new Counter({
      name: 'civitas_tx_signatures_by_thread_total',
      help: 'Tx signatures verified on the verify pool workers or on the calling (event-loop) thread',
      labelNames: ['thread'] as const,
      registers,
      collect() {
        const stats = read();
        this.inc({ thread: 'workers' }, 0);
        this.inc({ thread: 'calling' }, 0);
        if (stats === undefined) return;
        threads.advance('workers', stats.onWorkers, (d) => this.inc({ thread: 'workers' }, d));
        threads.advance('calling', stats.onCallingThread, (d) =>
          this.inc({ thread: 'calling' }, d),
        );
      },
    });
    const waits = new CumulativeMirror();
    new Counter({
      name: 'civitas_verify_pool_backpressure_waits_total',
      help: 'Times a signature chunk waited for a slot in the verify pool (its queue is bounded)',
      registers,
      collect() {
        const pool = read()?.pool;
        if (pool !== undefined) waits.advance('', pool.backpressureWaits, (d) => this.inc(d));
      },
    });
    new Gauge({
      name: 'civitas_verify_workers',
      help: 'Signature verification worker threads the pool may start (verify.workers)',
      registers,
      collect() {
        this.set(read()?.workers ?? 0);
      },
    });
    new Gauge({
      name: 'civitas_verify_workers_running',
      help: 'Signature verification worker threads running (started when a batch needs them, stopped after 30 s idle)',
      registers,
      collect() {
        this.set(read()?.pool?.liveWorkers ?? 0);
      },
    });
    new Gauge({
      name: 'civitas_crypto_backend_info',
      help: 'The crypto backends in use: ed25519 verification (every path) and SHA-256 (value 1)',
      labelNames: ['ed25519', 'sha256'] as const,
      registers,
      collect() {
        const stats = read();
        if (stats === undefined) return;
        // One series: the backends can change (a libsodium load), the old pair must go.
        this.reset();
        this.set({ ed25519: stats.backend, sha256: stats.hashBackend }, 1);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Records a duration measured elsewhere under `stage`. */
  observeStage(stage: ValidationStage, seconds: number): void {
    this.stageSeconds.observe({ stage }, seconds);
  }

  /** Block sync committed a block. */
  syncBlockCommitted(): void {
    this.syncBlocks.inc();
  }

  /** Runs `fn` and records its duration under `stage` (also when it throws). */
  async time<T>(stage: ValidationStage, fn: () => Promise<T>): Promise<T> {
    const end = this.stageSeconds.startTimer({ stage });
    try {
      return await fn();
    } finally {
      end();
    }
  }

  /** Admitted txs whose admission time is kept (for civitas_tx_commit_latency_seconds), estimated bytes. */
  trackedTxs(): CacheSize {
    return { entries: this.admitted.size, bytes: this.admitted.size * HEX_HASH_ENTRY_BYTES };
  }

  /** A tx entered this node's mempool (submitted or gossiped). */
  txAdmitted(hash: Uint8Array, now = Date.now()): void {
    if (this.admitted.size >= this.maxTrackedTxs) {
      this.admitted.delete(this.admitted.keys().next().value!);
    }
    this.admitted.set(toHex(hash), now);
  }

  /** A client submission was refused because the node had a backlog (HTTP 503). */
  submitRefusedBusy(): void {
    this.submitsRefusedBusy.inc();
  }

  /** A gossiped tx was not admitted: counted under its code's bounded label (src/errors). */
  txNotAccepted(code: string | undefined): void {
    this.txGossipRejects.inc({ reason: txRejectLabelOf(code) });
  }

  blockCommitted(
    block: { header: { timestamp: number }; txHashes: readonly Uint8Array[] },
    now = Date.now(),
  ): void {
    this.blocksCommitted.inc();
    this.txsCommitted.inc(block.txHashes.length);
    this.blockLatency.observe(Math.max(0, now - block.header.timestamp) / 1000);
    if (this.admitted.size === 0) return;
    for (const hash of block.txHashes) {
      const key = toHex(hash);
      const at = this.admitted.get(key);
      if (at === undefined) continue;
      this.admitted.delete(key);
      this.txLatency.observe(Math.max(0, now - at) / 1000);
    }
  }

  /** The consensus engine rejected another validator's message (benign ones are not reported). */
  consensusRejected(reason: RejectReason): void {
    this.consensusRejects.inc({ reason });
  }

  /** Equivocation evidence was recorded. */
  evidenceRecorded(): void {
    this.evidenceTotal.inc();
  }

  faultApplied(kind: 'links' | 'byzantine' | 'clock'): void {
    this.faultChanges.inc({ kind });
  }
}
