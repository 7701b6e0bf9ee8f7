/**
 * Txs travel on the gossip topic in batches: a node collects the txs clients submitted to it
 * for a few milliseconds and publishes them as one message. Gossipsub's cost is per message
 * (message id hash, seen cache, protobuf, Noise encryption, a Yamux frame and a socket write
 * per peer, on every hop) and each node receives every message from several peers, so at a
 * few hundred tx/s one message per tx made libp2p's send and receive paths the largest part
 * of a validator's busy time. A batch waits at most `maxDelayMs` (latency) and is flushed as
 * soon as it holds `maxTxs` txs or would pass `maxBytes`.
 *
 * Encoding (v1): u8 version | varuint count | count × (varuint length | tx bytes). Only txs the
 * node admitted go into a batch, so a batch holding a tx that fails decoding or its signature
 * was made or relayed by a faulty member: the receiver rejects the whole message.
 *
 * Received batches are admitted a slice at a time, yielding to the event loop between slices:
 * admitting a 256-tx batch in one go (decode, hash, signature check per tx) is one long task,
 * and a consensus message that arrives meanwhile waits behind it. The ingest queue is bounded;
 * a batch that would overflow it is ignored (not relayed; its txs still reach this node in
 * proposals, whose validation checks them).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Limits } from '../chain/limits.ts';
import { decode, encode, expectVersion } from '../codec/index.ts';
import { CivitasError } from '../errors/index.ts';
import type { GossipVerdict } from '../p2p/index.ts';
import type { Logger } from './logger.ts';

const TX_BATCH_VERSION = 1;
/** Per tx: a length prefix of at most 3 bytes (Limits.txBytes < 2^21). */
const PER_TX_OVERHEAD = 3;
const BATCH_HEADER_BYTES = 1 + 3;

export interface TxGossipOptions {
  /** Longest a submitted tx waits for its batch to be published. */
  maxDelayMs: number;
  /** Most txs per batch. */
  maxTxs: number;
  /** Most bytes per encoded batch; must stay within the p2p tx message limit. */
  maxBytes: number;
  /** Received txs admitted between two yields to the event loop. */
  sliceTxs: number;
  /** Most received txs waiting for admission; a batch that would pass it is ignored. */
  maxQueuedTxs: number;
}

export const DEFAULT_TX_GOSSIP: TxGossipOptions = {
  maxDelayMs: 20,
  maxTxs: 256,
  maxBytes: 60 * 1024,
  sliceTxs: 32,
  maxQueuedTxs: 16_384,
};

/** The most txs a received batch may hold (a 64 KiB message of minimal txs stays below it). */
export const MAX_TXS_PER_BATCH = 1_024;

export function encodeTxBatch(encodedTxs: readonly Uint8Array[]): Uint8Array {
  let size = BATCH_HEADER_BYTES;
  for (const tx of encodedTxs) size += tx.length + PER_TX_OVERHEAD;
  return encode((w) => {
    w.u8(TX_BATCH_VERSION).varuint(encodedTxs.length);
    for (const tx of encodedTxs) w.bytes(tx);
  }, size);
}

export function decodeTxBatch(bytes: Uint8Array): Uint8Array[] {
  return decode(bytes, (r) => {
    expectVersion(r, TX_BATCH_VERSION, 'tx batch');
    const txs = r.list(MAX_TXS_PER_BATCH, (item) => item.bytes(Limits.txBytes));
    // Rule: a batch carries at least one tx (an empty one is only overhead).
    if (txs.length === 0) throw new CivitasError('CODEC_BAD_VALUE', 'empty tx batch');
    return txs;
  });
}

export interface TxGossipModules {
  publish(batch: Uint8Array): Promise<unknown>;
  /** Admits one gossiped tx: accept (new), ignore (known, stale) or reject (invalid). */
  admit(encodedTx: Uint8Array): Promise<GossipVerdict>;
  logger: Logger;
}

/** A received batch on its way through admission. */
interface InboundBatch {
  readonly txs: readonly Uint8Array[];
  next: number;
  accepted: boolean;
  rejected: boolean;
  readonly done: (verdict: GossipVerdict) => void;
}

export class TxGossip {
  private readonly opts: TxGossipOptions;
  private readonly m: TxGossipModules;
  private pending: Uint8Array[] = [];
  private pendingBytes = BATCH_HEADER_BYTES;
  private timer: NodeJS.Timeout | undefined;
  private readonly inbound: InboundBatch[] = [];
  private inboundTxs = 0;
  private admitting = false;
  private stopped = false;
  batchesPublished = 0;
  /** Received batches ignored because the ingest queue was full. */
  batchesDropped = 0;

  constructor(opts: Partial<TxGossipOptions>, m: TxGossipModules) {
    this.opts = { ...DEFAULT_TX_GOSSIP, ...opts };
    this.m = m;
  }

  /** Queues a tx this node admitted from a client for the next batch. */
  enqueue(encodedTx: Uint8Array): void {
    const size = encodedTx.length + PER_TX_OVERHEAD;
    if (this.pending.length > 0 && this.pendingBytes + size > this.opts.maxBytes) this.flush();
    this.pending.push(encodedTx);
    this.pendingBytes += size;
    if (this.pending.length >= this.opts.maxTxs) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.maxDelayMs);
  }

  /** Publishes the pending batch now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = encodeTxBatch(this.pending);
    this.pending = [];
    this.pendingBytes = BATCH_HEADER_BYTES;
    this.batchesPublished++;
    this.m
      .publish(batch)
      .catch((err) => this.m.logger.debug('tx gossip failed', { err: (err as Error).message }));
  }

  /** Received txs not yet through admission (counts toward the node's backlog). */
  get queuedTxs(): number {
    return this.inboundTxs;
  }

  /**
   * Gossip validator for a received batch: reject if it does not decode or any tx in it is
   * invalid; accept (and relay) if at least one tx was new here; ignore otherwise (and when
   * the ingest queue is full).
   */
  receive(data: Uint8Array): Promise<GossipVerdict> {
    let txs: Uint8Array[];
    try {
      txs = decodeTxBatch(data);
    } catch {
      return Promise.resolve('reject');
    }
    if (this.stopped || this.inboundTxs + txs.length > this.opts.maxQueuedTxs) {
      this.batchesDropped++;
      return Promise.resolve('ignore');
    }
    return new Promise((done) => {
      this.inbound.push({ txs, next: 0, accepted: false, rejected: false, done });
      this.inboundTxs += txs.length;
      if (!this.admitting) {
        this.admitting = true;
        void this.admitQueued();
      }
    });
  }

  /** Admits queued txs, `sliceTxs` at a time, yielding to the event loop before each slice. */
  private async admitQueued(): Promise<void> {
    try {
      while (this.inbound.length > 0) {
        await yieldToEventLoop();
        const slice: Array<{ batch: InboundBatch; tx: Uint8Array }> = [];
        for (const batch of this.inbound) {
          if (batch.rejected) continue;
          while (batch.next < batch.txs.length && slice.length < this.opts.sliceTxs) {
            slice.push({ batch, tx: batch.txs[batch.next++]! });
          }
          if (slice.length >= this.opts.sliceTxs) break;
        }
        const verdicts = await Promise.all(
          slice.map(({ tx }) => (this.stopped ? ('ignore' as const) : this.m.admit(tx))),
        );
        slice.forEach(({ batch }, i) => {
          if (verdicts[i] === 'accept') batch.accepted = true;
          else if (verdicts[i] === 'reject') batch.rejected = true;
        });
        this.inboundTxs -= slice.length;
        // A batch is settled once all its txs went through (or one of them was invalid).
        while (this.inbound.length > 0) {
          const head = this.inbound[0]!;
          if (head.next < head.txs.length && !head.rejected) break;
          this.inbound.shift();
          this.inboundTxs -= head.txs.length - head.next;
          head.done(head.rejected ? 'reject' : head.accepted ? 'accept' : 'ignore');
        }
      }
    } finally {
      this.admitting = false;
    }
  }

  /** Drops what is pending (stop: the txs stay in this node's mempool). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.pendingBytes = BATCH_HEADER_BYTES;
  }
}
