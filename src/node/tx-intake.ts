/**
 * Where txs enter the node: client submissions (POST /txs, with backpressure) and txs
 * gossiped by peers (one at a time from a batch, with a gossip verdict). Both go through the
 * mempool after block work (block-work-gate.ts); an admitted tx wakes consensus, and a
 * client's tx is relayed to the peers.
 */
import { codeOf, gossipVerdictOf, isCivitasError } from '../errors/index.ts';
import type { BlockWorkGate } from './block-work-gate.ts';
import type { Mempool } from './mempool.ts';
import type { NodeMetrics } from './metrics.ts';

export interface TxIntakeOptions {
  /** Client submissions are refused while this many blocks' worth of ready txs wait (0 = never). */
  backlogBlocks: number;
  maxBlockTxs: number;
}

export interface TxIntakeModules {
  mempool: Pick<Mempool, 'add' | 'readyCount'>;
  gate: BlockWorkGate;
  metrics: Pick<NodeMetrics, 'time' | 'txAdmitted' | 'submitRefusedBusy' | 'txNotAccepted'>;
  /** Gossiped txs received but not yet handed to admission. */
  gossipQueued: () => number;
  /** A tx was admitted: consensus may want to propose. */
  onAdmitted: () => void;
  /** Relays a client's tx to the peers. */
  relay: (encoded: Uint8Array) => void;
}

export type GossipVerdict = 'accept' | 'ignore' | 'reject';

export class TxIntake {
  private readonly opts: TxIntakeOptions;
  private readonly m: TxIntakeModules;

  constructor(opts: TxIntakeOptions, modules: TxIntakeModules) {
    this.opts = opts;
    this.m = modules;
  }

  /**
   * Whether client submissions are refused for now: the txs waiting for a block (the
   * mempool's ready txs plus the gossip ingest queue) come to `mempool.backlogBlocks` blocks'
   * worth. Admitting more would only lengthen the queue while ingest (decode, signature,
   * relay) takes the CPU that building, validating and voting on blocks needs; the client is
   * told to come back instead. Queued txs (behind a nonce gap) do not count: no block can take
   * them, so however many a refused or lost submission left behind, they never make the node
   * refuse anyone else (mempool.ts bounds them on its own).
   */
  backlogged(): boolean {
    const blocks = this.opts.backlogBlocks;
    if (blocks === 0) return false;
    const waiting = this.m.mempool.readyCount + this.m.gossipQueued() + this.m.gate.waiting;
    return waiting >= blocks * this.opts.maxBlockTxs;
  }

  /** Admits a client's tx (encoded bytes) to the mempool and relays it; returns its hash. */
  async submit(encoded: Uint8Array): Promise<Uint8Array> {
    const { metrics } = this.m;
    const backlogged = this.backlogged();
    if (!backlogged) await this.m.gate.admissionTurn();
    const entry = await metrics
      .time('mempool_admit', () => this.m.mempool.add(encoded, { backlogged }))
      .catch((err: unknown) => {
        if (isCivitasError(err) && err.code === 'MEMPOOL_BUSY') metrics.submitRefusedBusy();
        throw err;
      });
    metrics.txAdmitted(entry.hash);
    this.m.onAdmitted();
    this.m.relay(encoded);
    return entry.hash;
  }

  /** One tx of a gossiped batch: admitted → accept, known or stale → ignore, invalid → reject. */
  async admitGossiped(data: Uint8Array): Promise<GossipVerdict> {
    await this.m.gate.admissionTurn();
    try {
      const entry = await this.m.metrics.time('mempool_admit', () => this.m.mempool.add(data));
      this.m.metrics.txAdmitted(entry.hash);
      this.m.onAdmitted();
      return 'accept';
    } catch (err) {
      const code = codeOf(err);
      this.m.metrics.txNotAccepted(code);
      return gossipVerdictOf(code);
    }
  }
}
