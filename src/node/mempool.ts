/**
 * The mempool: txs admitted but not yet committed. One tx per (sender, nonce) — no
 * replacement, so a sender cannot churn the pool; txs leave on commit, on expiry, or when
 * their nonce has been used.
 *
 * Ready and queued. A sender's txs whose nonces run without a gap from its committed nonce
 * are *ready*: only they can go into the next block. The others wait behind a gap (a tx that
 * was refused, lost with its connection, or not yet arrived by gossip) and are *queued*. A
 * queued tx becomes ready when the gap fills — the missing tx arrives, or a commit moves the
 * committed nonce — and ready txs above a gap that opens (a tx that failed in a block leaves
 * its nonce unused; a tx that expired) become queued. Only ready txs count toward the
 * backlog that refuses client submissions (tx-intake.ts) and toward what a proposer waits
 * for, so txs that cannot be proposed never hold the node busy. Queued txs are bounded and
 * go first: each may stay queued `queuedLifetimeMs`; a sender may hold `maxQueuedPerSender`
 * and the pool `maxQueuedTxs` of them; a full pool evicts the oldest queued tx for any new
 * one (MEMPOOL_FULL only when every held tx is ready); a sender at its caps gives up its own
 * highest queued nonce for a lower one (the nearer a tx is to the committed nonce, the sooner
 * it can be proposed), else its tx is refused.
 *
 * Admission checks (cheap first; signature last, and cached by tx hash so block validation
 * does not verify the same tx again): size → decode → chain id → expiry → duplicate →
 * committed recently → the sender may transact (the application's rule: a stranger on a
 * permissioned chain is refused here, never in a block) → nonce window → per-sender and total
 * caps → signature → caps again, evicting queued txs to make room. None of them reads the
 * database for a recently active sender (commit-cache.ts says why the recent committed set is
 * enough, admission-policy.ts how membership verdicts follow the commits); `reap` asks the tx
 * index about a whole proposal in one read.
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
  /** Most txs held at once, ready and queued. */
  maxTxs: number;
  /** Most txs held per sender. */
  maxTxsPerSender: number;
  /** How far ahead of its committed nonce a sender may queue txs. */
  maxNonceGap: number;
  /** Most queued txs (behind a nonce gap) held at once; a new queued tx evicts the oldest. */
  maxQueuedTxs: number;
  /** Most queued txs held per sender. */
  maxQueuedPerSender: number;
  /** How long a tx may stay queued before it is dropped (ms). */
  queuedLifetimeMs: number;
  /**
   * Backpressure: client submissions are refused (MEMPOOL_BUSY, HTTP 503) while the ready txs
   * waiting here and the txs in the gossip ingest queue come to this many blocks' worth (× the
   * genesis maxBlockTxs); 0 turns it off. Txs relayed by peers are never refused for it.
   */
  backlogBlocks: number;
}

export const DEFAULT_MEMPOOL: MempoolOptions = {
  maxTxs: 50_000,
  maxTxsPerSender: 1_000,
  maxNonceGap: 1_000,
  maxQueuedTxs: 10_000,
  maxQueuedPerSender: 256,
  queuedLifetimeMs: 180_000,
  backlogBlocks: 3,
};

export interface MempoolEntry {
  readonly tx: Tx;
  readonly hash: Uint8Array;
  readonly encoded: Uint8Array;
  readonly sender: string;
  readonly arrival: number;
  /** When it was admitted (ms, the pool's clock). */
  readonly admittedAt: number;
}

export interface MempoolChain {
  readonly chainId: string;
  /** The genesis's params.maxTxLifetime (undefined: unbounded). */
  readonly maxTxLifetime?: number | undefined;
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
   * Why the application refuses this tx's sender (public key; hex as the mempool keys it) —
   * ORG_NOT_A_MEMBER for a stranger on a permissioned chain, unless the tx is one the rule
   * lets through (a registered observer's readiness proof) — or undefined when it may
   * transact. A value when known in memory (admission-policy.ts).
   */
  senderRefusal(
    sender: Uint8Array,
    senderHex: string,
    tx: Tx,
  ): ReceiptFailureCode | undefined | Promise<ReceiptFailureCode | undefined>;
  /** The clock queued lifetimes are measured on (ms); Date.now when absent. */
  now?(): number;
}

interface SenderQueue {
  /** Public key, hex. */
  readonly sender: string;
  /** The sender's committed nonce as last known (refreshed on every commit that touches it). */
  base: number;
  /** Nonces base .. readyEnd - 1 are all held: the sender's ready txs. Higher ones are queued. */
  readyEnd: number;
  /** How many of this sender's txs are queued. */
  queued: number;
  /** Highest nonce ever held (not lowered on removal: an upper bound is all `add` needs). */
  top: number;
  readonly byNonce: Map<number, MempoolEntry>;
  readonly firstArrival: number;
}

export class Mempool {
  private readonly opts: MempoolOptions;
  private readonly chain: MempoolChain;
  private readonly now: () => number;
  private readonly byHash = new Map<string, MempoolEntry>();
  private readonly senders = new Map<string, SenderQueue>();
  /** Queued txs → when each became queued; insertion order is that order, oldest first. */
  private readonly queuedSince = new Map<MempoolEntry, number>();
  private arrivals = 0;
  /** Bumped on every commit: an admission that straddles one reads the nonce again. */
  private commits = 0;
  /** Queued txs evicted to make room for others, and dropped at the end of their lifetime. */
  evictedQueued = 0;
  expiredQueued = 0;

  constructor(opts: Partial<MempoolOptions>, chain: MempoolChain) {
    this.opts = { ...DEFAULT_MEMPOOL, ...opts };
    this.chain = chain;
    this.now = chain.now === undefined ? Date.now : () => chain.now!();
  }

  /** Txs held, ready and queued. */
  get size(): number {
    return this.byHash.size;
  }

  /** Txs that can go into the next block: per sender, contiguous from its committed nonce. */
  get readyCount(): number {
    return this.byHash.size - this.queuedSince.size;
  }

  /** Txs waiting behind a nonce gap. */
  get queuedCount(): number {
    return this.queuedSince.size;
  }

  has(hash: Uint8Array): boolean {
    return this.byHash.has(toHex(hash));
  }

  /** A pooled tx, bytes and decoded (compact proposals name txs by hash). */
  entryOf(hash: Uint8Array): MempoolEntry | undefined {
    return this.byHash.get(toHex(hash));
  }

  /** Whether the pool admitted the tx less than `ms` ago (or does not hold it). */
  admittedWithin(hash: Uint8Array, ms: number): boolean {
    const e = this.byHash.get(toHex(hash));
    return e === undefined || this.now() - e.admittedAt < ms;
  }

  /** Whether a held tx is queued (behind a nonce gap); false for a tx not held. */
  isQueued(hash: Uint8Array): boolean {
    const e = this.byHash.get(toHex(hash));
    return e !== undefined && this.queuedSince.has(e);
  }

  /**
   * Admits encoded tx bytes; throws a MEMPOOL_* / TX_* / CODEC_* error on rejection.
   * `backlogged`: the node is refusing new client work, so the tx is refused with MEMPOOL_BUSY
   * before its nonce lookup and signature check, unless it fills a gap below a nonce this
   * sender has queued: refusing the tx that makes queued txs ready would only keep them
   * waiting.
   */
  async add(encoded: Uint8Array, opts: { backlogged?: boolean } = {}): Promise<MempoolEntry> {
    this.expireQueued();
    const tx = decodeTx(encoded);
    const hash = txHashOfBytes(encoded);
    const hashHex = toHex(hash);
    // At the next height: a later block only widens the window, so what is admitted stays valid.
    validateTxStateless(tx, this.chain.chainId, this.chain.nextHeight(), this.chain.maxTxLifetime);
    if (this.byHash.has(hashHex))
      throw new CivitasError('MEMPOOL_DUPLICATE', 'tx is already in the mempool');
    if (this.chain.recentlyCommitted(hashHex))
      throw new CivitasError('TX_ALREADY_COMMITTED', 'tx is already committed');
    const sender = toHex(tx.sender);
    if (opts.backlogged === true && !this.fillsGap(sender, tx.nonce)) {
      throw new CivitasError('MEMPOOL_BUSY', 'the node has a backlog of txs; retry later', {
        pending: this.readyCount,
      });
    }
    // Rule: a sender the application refuses outright (not a member on a permissioned chain)
    // is refused before its nonce and signature are looked at; it would only fail in a block.
    let refusal = this.chain.senderRefusal(tx.sender, sender, tx);
    if (refusal instanceof Promise) refusal = await refusal;
    if (refusal !== undefined) {
      const address = toHex(addressOf(tx.sender));
      throw new CivitasError(refusal, `${describeCode(refusal).description} (sender ${address})`, {
        sender: address,
      });
    }
    // A sender with txs here has its committed nonce tracked here (refreshed on every commit
    // that touches it); others come from the chain's nonce cache.
    let commitsSeen = this.commits;
    let base = this.senders.get(sender)?.base ?? (await this.chain.accountNonce(tx.sender));
    this.checkNonceWindow(tx.nonce, base);
    this.makeRoom(sender, tx.nonce, base, false);
    const [valid] = await this.chain.verify([tx], [hash]);
    if (!valid) throw new CivitasError('TX_BAD_SIGNATURE', 'invalid signature');
    // A commit during the awaits may have used nonces of a sender this pool does not track.
    while (this.commits !== commitsSeen && !this.senders.has(sender)) {
      commitsSeen = this.commits;
      base = await this.chain.accountNonce(tx.sender);
    }
    // From here on, synchronous: re-check what the awaits may have changed, then insert.
    if (this.byHash.has(hashHex))
      throw new CivitasError('MEMPOOL_DUPLICATE', 'tx is already in the mempool');
    base = this.senders.get(sender)?.base ?? base;
    this.checkNonceWindow(tx.nonce, base);
    this.makeRoom(sender, tx.nonce, base, true);
    return this.insert(
      { tx, hash, encoded, sender, arrival: this.arrivals++, admittedAt: this.now() },
      base,
    );
  }

  /**
   * Txs for the next block: per sender, its ready txs (consecutive nonces from the committed
   * nonce). A tx the tx index knows as committed (a replay of an old failed tx, see
   * commit-cache.ts) is dropped from the pool, and the block is reaped again without it.
   */
  async reap(maxTxs: number, maxBytes: number): Promise<MempoolEntry[]> {
    for (;;) {
      const out = this.collect(maxTxs, maxBytes);
      const committed = await this.chain.committed(out.map((e) => e.hash));
      if (!committed.includes(true)) return out;
      const affected = new Set<SenderQueue>();
      out.forEach((e, i) => {
        if (committed[i]) this.drop(e, affected);
      });
      this.settleAll(affected);
    }
  }

  /**
   * After a commit: drop the block's txs, advance sender nonces, drop txs that can no longer
   * be included (nonce used, or expired at the next height) and queued txs past their
   * lifetime, and sort each touched sender's txs into ready and queued again.
   */
  async onCommit(
    committedTxs: readonly Tx[],
    committedHashes: readonly Uint8Array[],
  ): Promise<void> {
    this.commits++;
    const touched = new Map<string, Uint8Array>();
    for (const tx of committedTxs) {
      const hex = toHex(tx.sender);
      if (this.senders.has(hex)) touched.set(hex, tx.sender);
    }
    // The committed nonces first (usually from memory), so that the pool changes below are
    // one synchronous step no admission interleaves with.
    const nonces = await Promise.all([...touched.values()].map((s) => this.chain.accountNonce(s)));
    const affected = new Set<SenderQueue>();
    for (const h of committedHashes) {
      const e = this.byHash.get(toHex(h));
      if (e !== undefined) this.drop(e, affected);
    }
    [...touched.keys()].forEach((hex, i) => {
      const q = this.senders.get(hex);
      if (q === undefined) return;
      q.base = Math.max(q.base, nonces[i]!);
      for (const e of q.byNonce.values()) if (e.tx.nonce < q.base) this.drop(e, affected);
      affected.add(q);
    });
    const next = this.chain.nextHeight();
    for (const e of this.byHash.values()) if (e.tx.expiryHeight < next) this.drop(e, affected);
    this.settleAll(affected);
    this.expireQueued();
  }

  /** Rule: a tx under backpressure is admitted only below a nonce its sender has queued. */
  private fillsGap(sender: string, nonce: number): boolean {
    const q = this.senders.get(sender);
    return q !== undefined && q.queued > 0 && nonce < q.top;
  }

  private checkNonceWindow(nonce: number, base: number): void {
    if (nonce < base) {
      throw new CivitasError(
        'TX_NONCE_TOO_LOW',
        `nonce ${nonce} already used (account nonce is ${base})`,
        {
          nonce,
          accountNonce: base,
        },
      );
    }
    if (nonce >= base + this.opts.maxNonceGap) {
      throw new CivitasError(
        'TX_NONCE_TOO_HIGH',
        `nonce ${nonce} is too far ahead of account nonce ${base}`,
      );
    }
  }

  /**
   * Makes room for a tx of `sender` at `nonce`, or throws why there is none. With `evict`
   * false it only checks (before the signature: a tx with a bad signature evicts nothing);
   * with `evict` true it evicts the queued txs that make way.
   */
  private makeRoom(sender: string, nonce: number, base: number, evict: boolean): void {
    const q = this.senders.get(sender);
    if (q?.byNonce.has(nonce)) {
      throw new CivitasError(
        'MEMPOOL_NONCE_TAKEN',
        `a tx with nonce ${nonce} from this sender is pending`,
      );
    }
    const queued = nonce !== (q?.readyEnd ?? base);
    let total = this.byHash.size;
    let queuedTotal = this.queuedSince.size;
    // Rule: a sender at its caps gives up its highest queued tx for a lower nonce, never for
    // a higher one: the nearer a tx is to the committed nonce, the sooner it can be proposed.
    const senderFull = (q?.byNonce.size ?? 0) >= this.opts.maxTxsPerSender;
    const senderQueueFull = queued && (q?.queued ?? 0) >= this.opts.maxQueuedPerSender;
    if (senderFull || senderQueueFull) {
      const highest = q === undefined ? undefined : this.highestQueued(q);
      if (highest === undefined || highest.tx.nonce < nonce) {
        throw new CivitasError(
          'MEMPOOL_SENDER_FULL',
          senderFull
            ? 'too many pending txs from this sender'
            : `too many txs from this sender wait behind a nonce gap (account nonce ${base})`,
          { queued: !senderFull },
        );
      }
      if (evict) this.evict(highest);
      total--;
      queuedTotal--;
    }
    // Rule: a new queued tx beyond the pool's queued cap pushes out the oldest queued tx.
    if (queued && queuedTotal >= this.opts.maxQueuedTxs) {
      if (evict) this.evictOldestQueued();
      total--;
      queuedTotal--;
    }
    // Rule: a full pool evicts its oldest queued tx for any new one; it is full for good only
    // when every tx it holds is ready.
    if (total >= this.opts.maxTxs) {
      if (queuedTotal <= 0) throw new CivitasError('MEMPOOL_FULL', 'mempool is full');
      if (evict) this.evictOldestQueued();
    }
  }

  private insert(entry: MempoolEntry, base: number): MempoolEntry {
    const nonce = entry.tx.nonce;
    let q = this.senders.get(entry.sender);
    if (q === undefined) {
      q = {
        sender: entry.sender,
        base,
        readyEnd: base,
        queued: 0,
        top: nonce,
        byNonce: new Map(),
        firstArrival: entry.arrival,
      };
      this.senders.set(entry.sender, q);
    }
    q.top = Math.max(q.top, nonce);
    q.byNonce.set(nonce, entry);
    this.byHash.set(toHex(entry.hash), entry);
    if (nonce === q.readyEnd) {
      // Ready, and it may fill the gap in front of queued txs.
      this.settle(q);
    } else {
      this.markQueued(q, entry);
    }
    return entry;
  }

  private collect(maxTxs: number, maxBytes: number): MempoolEntry[] {
    const out: MempoolEntry[] = [];
    let bytes = 0;
    const queues = [...this.senders.values()]
      .filter((q) => q.readyEnd > q.base)
      .sort((a, b) => a.firstArrival - b.firstArrival);
    for (const q of queues) {
      for (let nonce = q.base; nonce < q.readyEnd; nonce++) {
        const e = q.byNonce.get(nonce);
        if (e === undefined) break;
        if (out.length >= maxTxs || bytes + e.encoded.length > maxBytes) return out;
        out.push(e);
        bytes += e.encoded.length;
      }
    }
    return out;
  }

  /** Drops queued txs that have waited longer than their lifetime, oldest first. */
  private expireQueued(): void {
    const cutoff = this.now() - this.opts.queuedLifetimeMs;
    const affected = new Set<SenderQueue>();
    for (const [e, since] of this.queuedSince) {
      if (since > cutoff) break;
      this.drop(e, affected);
      this.expiredQueued++;
    }
    this.settleAll(affected);
  }

  private evictOldestQueued(): void {
    const oldest = this.queuedSince.keys().next().value;
    if (oldest !== undefined) this.evict(oldest);
  }

  private evict(e: MempoolEntry): void {
    const affected = new Set<SenderQueue>();
    this.drop(e, affected);
    this.settleAll(affected);
    this.evictedQueued++;
  }

  /** The queued tx of `q` with the highest nonce (a scan of at most maxNonceGap nonces). */
  private highestQueued(q: SenderQueue): MempoolEntry | undefined {
    if (q.queued === 0) return undefined;
    for (let n = q.top; n > q.readyEnd; n--) {
      const e = q.byNonce.get(n);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  /** Removes a tx from every index; its sender's ready/queued split is fixed by `settle`. */
  private drop(e: MempoolEntry, affected: Set<SenderQueue>): void {
    if (!this.byHash.delete(toHex(e.hash))) return;
    const q = this.senders.get(e.sender);
    if (q === undefined) return;
    q.byNonce.delete(e.tx.nonce);
    if (this.queuedSince.delete(e)) q.queued--;
    affected.add(q);
  }

  private settleAll(affected: Iterable<SenderQueue>): void {
    for (const q of affected) this.settle(q);
  }

  /**
   * Sorts a sender's txs into ready (the run of held nonces from its committed nonce) and
   * queued (the rest), after a tx arrived or left or the committed nonce moved; every held
   * nonce is at least `base` here. Only the nonces between the old and the new end of the run
   * change side. A sender left with no txs is forgotten.
   */
  private settle(q: SenderQueue): void {
    if (q.byNonce.size === 0) {
      if (this.senders.get(q.sender) === q) this.senders.delete(q.sender);
      return;
    }
    const oldEnd = q.readyEnd;
    let end = q.base;
    while (q.byNonce.has(end)) end++;
    q.readyEnd = end;
    for (let n = Math.max(oldEnd, q.base); n < end; n++) this.markReady(q, q.byNonce.get(n)!);
    for (let n = end + 1; n < oldEnd; n++) {
      const e = q.byNonce.get(n);
      if (e !== undefined) this.markQueued(q, e);
    }
  }

  private markReady(q: SenderQueue, e: MempoolEntry): void {
    if (this.queuedSince.delete(e)) q.queued--;
  }

  private markQueued(q: SenderQueue, e: MempoolEntry): void {
    if (this.queuedSince.has(e)) return;
    this.queuedSince.set(e, this.now());
    q.queued++;
  }
}
