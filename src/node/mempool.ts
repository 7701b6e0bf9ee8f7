/**
 * The mempool: txs admitted but not yet committed. Bounded in total and per sender; one tx
 * per (sender, nonce) — no replacement, so a sender cannot churn the pool; txs leave on
 * commit, on expiry, or when their nonce has been used. Proposers reap txs per sender in
 * nonce order starting at the sender's committed nonce, so a block never carries a tx that
 * must fail for a nonce gap.
 *
 * Admission checks (cheap first; signature last, and cached by tx hash so block validation
 * does not verify the same tx again): size → decode → chain id → expiry → duplicate →
 * committed recently → the sender may transact (the application's rule: a stranger on a
 * permissioned chain is refused here, never in a block) → nonce window → per-sender and total
 * caps → signature. None of them reads the database for a recently active sender
 * (commit-cache.ts says why the recent committed set is enough, admission-policy.ts how
 * membership verdicts follow the commits); `reap` asks the tx index about a whole proposal in
 * one read.
 */

import {
  addressOf,
  decodeTx,
  type Tx,
  txHashOfBytes,
  validateTxStateless,
} from '../chain/index.ts';
import { toHex } from '../crypto/bytes.ts';
import { CivitasError, describeCode, type ReceiptFailureCode } from '../errors/index.ts';

export interface MempoolOptions {
  /** Most txs held at once. */
  maxTxs: number;
  /** Most txs held per sender. */
  maxTxsPerSender: number;
  /** How far ahead of its committed nonce a sender may queue txs. */
  maxNonceGap: number;
  /**
   * Backpressure: client submissions are refused (MEMPOOL_BUSY, HTTP 503) while the txs
   * waiting here and in the gossip ingest queue come to this many blocks' worth (× the
   * genesis maxBlockTxs); 0 turns it off. Txs relayed by peers are never refused for it.
   */
  backlogBlocks: number;
}

export const DEFAULT_MEMPOOL: MempoolOptions = {
  maxTxs: 50_000,
  maxTxsPerSender: 1_000,
  maxNonceGap: 1_000,
  backlogBlocks: 3,
};

export interface MempoolEntry {
  readonly tx: Tx;
  readonly hash: Uint8Array;
  readonly encoded: Uint8Array;
  readonly sender: string;
  readonly arrival: number;
}

export interface MempoolChain {
  readonly chainId: string;
  /** The height the next block will have. */
  nextHeight(): number;
  /** Committed nonce of an account (by sender public key); a number when known in memory. */
  accountNonce(sender: Uint8Array): number | Promise<number>;
  /** Whether a tx (hash in hex) was committed recently: memory only, no I/O. */
  recentlyCommitted(txHashHex: string): boolean;
  /** Whether txs are already committed (the tx index: one read for the whole list). */
  committed(txHashes: readonly Uint8Array[]): Promise<boolean[]>;
  /** Signature verdicts (through the verified-tx cache). */
  verify(txs: readonly Tx[], txHashes: readonly Uint8Array[]): Promise<boolean[]>;
  /**
   * Why the application refuses every tx of this sender (public key; hex as the mempool keys
   * it) — ORG_NOT_A_MEMBER for a stranger on a permissioned chain — or undefined when it may
   * transact. A value when known in memory (admission-policy.ts).
   */
  senderRefusal(
    sender: Uint8Array,
    senderHex: string,
  ): ReceiptFailureCode | undefined | Promise<ReceiptFailureCode | undefined>;
}

interface SenderQueue {
  base: number;
  /** Highest nonce ever queued (not lowered on removal: an upper bound is all `add` needs). */
  top: number;
  readonly byNonce: Map<number, MempoolEntry>;
  readonly firstArrival: number;
}

export class Mempool {
  private readonly opts: MempoolOptions;
  private readonly chain: MempoolChain;
  private readonly byHash = new Map<string, MempoolEntry>();
  private readonly senders = new Map<string, SenderQueue>();
  private arrivals = 0;

  constructor(opts: Partial<MempoolOptions>, chain: MempoolChain) {
    this.opts = { ...DEFAULT_MEMPOOL, ...opts };
    this.chain = chain;
  }

  get size(): number {
    return this.byHash.size;
  }

  has(hash: Uint8Array): boolean {
    return this.byHash.has(toHex(hash));
  }

  /**
   * Admits encoded tx bytes; throws a MEMPOOL_* / TX_* / CODEC_* error on rejection.
   * `backlogged`: the node is refusing new client work, so the tx is refused with MEMPOOL_BUSY
   * before its nonce lookup and signature check, unless it fills a gap below a nonce this
   * sender already has queued: txs above a gap cannot be reaped, so refusing the one that
   * unblocks them could leave the pool full of txs that never leave.
   */
  async add(encoded: Uint8Array, opts: { backlogged?: boolean } = {}): Promise<MempoolEntry> {
    const tx = decodeTx(encoded);
    const hash = txHashOfBytes(encoded);
    const hashHex = toHex(hash);
    validateTxStateless(tx, this.chain.chainId, this.chain.nextHeight());
    if (this.byHash.has(hashHex))
      throw new CivitasError('MEMPOOL_DUPLICATE', 'tx is already in the mempool');
    if (this.chain.recentlyCommitted(hashHex))
      throw new CivitasError('TX_ALREADY_COMMITTED', 'tx is already committed');
    const sender = toHex(tx.sender);
    if (opts.backlogged === true && !(tx.nonce < (this.senders.get(sender)?.top ?? -1))) {
      throw new CivitasError('MEMPOOL_BUSY', 'the node has a backlog of txs; retry later', {
        pending: this.byHash.size,
      });
    }
    // Rule: a sender the application refuses outright (not a member on a permissioned chain)
    // is refused before its nonce and signature are looked at; it would only fail in a block.
    let refusal = this.chain.senderRefusal(tx.sender, sender);
    if (refusal instanceof Promise) refusal = await refusal;
    if (refusal !== undefined) {
      const address = toHex(addressOf(tx.sender));
      throw new CivitasError(refusal, `${describeCode(refusal).description} (sender ${address})`, {
        sender: address,
      });
    }
    // A sender with queued txs has its committed nonce tracked here (refreshed on every
    // commit that touches it); others come from the chain's nonce cache.
    const base = this.senders.get(sender)?.base ?? (await this.chain.accountNonce(tx.sender));
    if (tx.nonce < base) {
      throw new CivitasError(
        'TX_NONCE_TOO_LOW',
        `nonce ${tx.nonce} already used (account nonce is ${base})`,
        {
          nonce: tx.nonce,
          accountNonce: base,
        },
      );
    }
    if (tx.nonce >= base + this.opts.maxNonceGap) {
      throw new CivitasError(
        'TX_NONCE_TOO_HIGH',
        `nonce ${tx.nonce} is too far ahead of account nonce ${base}`,
      );
    }
    const queue = this.senders.get(sender);
    if (queue?.byNonce.has(tx.nonce)) {
      throw new CivitasError(
        'MEMPOOL_NONCE_TAKEN',
        `a tx with nonce ${tx.nonce} from this sender is pending`,
      );
    }
    if ((queue?.byNonce.size ?? 0) >= this.opts.maxTxsPerSender) {
      throw new CivitasError('MEMPOOL_SENDER_FULL', 'too many pending txs from this sender');
    }
    if (this.byHash.size >= this.opts.maxTxs)
      throw new CivitasError('MEMPOOL_FULL', 'mempool is full');
    const [valid] = await this.chain.verify([tx], [hash]);
    if (!valid) throw new CivitasError('TX_BAD_SIGNATURE', 'invalid signature');
    // Re-check after the awaits: another add may have raced us.
    if (this.byHash.has(hashHex))
      throw new CivitasError('MEMPOOL_DUPLICATE', 'tx is already in the mempool');
    const entry: MempoolEntry = { tx, hash, encoded, sender, arrival: this.arrivals++ };
    let q = this.senders.get(sender);
    if (q === undefined) {
      q = { base, top: tx.nonce, byNonce: new Map(), firstArrival: entry.arrival };
      this.senders.set(sender, q);
    }
    if (q.byNonce.has(tx.nonce))
      throw new CivitasError('MEMPOOL_NONCE_TAKEN', 'nonce already pending');
    q.base = Math.max(q.base, base);
    q.top = Math.max(q.top, tx.nonce);
    q.byNonce.set(tx.nonce, entry);
    this.byHash.set(hashHex, entry);
    return entry;
  }

  /**
   * Txs for the next block: per sender, consecutive nonces from the committed nonce. A tx
   * the tx index knows as committed (a replay of an old failed tx, see commit-cache.ts) is
   * dropped from the pool, and the block is reaped again without it.
   */
  async reap(maxTxs: number, maxBytes: number): Promise<MempoolEntry[]> {
    for (;;) {
      const out = this.collect(maxTxs, maxBytes);
      const committed = await this.chain.committed(out.map((e) => e.hash));
      if (!committed.includes(true)) return out;
      out.forEach((e, i) => {
        if (committed[i]) this.remove(toHex(e.hash));
      });
    }
  }

  private collect(maxTxs: number, maxBytes: number): MempoolEntry[] {
    const out: MempoolEntry[] = [];
    let bytes = 0;
    const queues = [...this.senders.values()].sort((a, b) => a.firstArrival - b.firstArrival);
    for (const q of queues) {
      for (let nonce = q.base; ; nonce++) {
        const e = q.byNonce.get(nonce);
        if (e === undefined) break;
        if (out.length >= maxTxs || bytes + e.encoded.length > maxBytes) return out;
        out.push(e);
        bytes += e.encoded.length;
      }
    }
    return out;
  }

  /**
   * After a commit: drop the block's txs, advance sender nonces, and drop txs that can no
   * longer be included (nonce used, or expired at the next height).
   */
  async onCommit(
    committedTxs: readonly Tx[],
    committedHashes: readonly Uint8Array[],
  ): Promise<void> {
    const touched = new Set<string>();
    for (const h of committedHashes) this.remove(toHex(h));
    for (const tx of committedTxs) touched.add(toHex(tx.sender));
    for (const sender of touched) {
      const q = this.senders.get(sender);
      if (q === undefined) continue;
      const first = q.byNonce.values().next().value;
      if (first === undefined) continue;
      q.base = await this.chain.accountNonce(first.tx.sender);
      for (const [nonce, e] of q.byNonce) if (nonce < q.base) this.remove(toHex(e.hash));
    }
    const next = this.chain.nextHeight();
    for (const [hex, e] of this.byHash) if (e.tx.expiryHeight < next) this.remove(hex);
  }

  private remove(hashHex: string): void {
    const e = this.byHash.get(hashHex);
    if (e === undefined) return;
    this.byHash.delete(hashHex);
    const q = this.senders.get(e.sender);
    if (q === undefined) return;
    q.byNonce.delete(e.tx.nonce);
    if (q.byNonce.size === 0) this.senders.delete(e.sender);
  }
}
