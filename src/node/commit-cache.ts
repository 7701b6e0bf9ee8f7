/**
 * What mempool admission needs to know about committed state, answered from memory: the
 * committed nonce of recently active senders, and the hashes of recently committed txs.
 * Both are refreshed from each committed block's own execution result, so admission needs
 * no LevelDB read for a sender seen recently. (A profile of a node at 200 tx/s put 17% of
 * its busy time in the two point reads admission made per tx; the tx-index read also blocks
 * the event loop while LevelDB takes an implicit snapshot.)
 *
 * Why a bounded set of recent tx hashes is enough at admission, and what covers the rest:
 * - A committed tx that SUCCEEDED raised its sender's nonce past its own, and nonces never
 *   go down, so the nonce check refuses it forever, however old it is.
 * - A committed tx that FAILED changed nothing, not even its sender's nonce (executor.ts),
 *   and expiry heights have no upper bound, so neither nonce nor expiry stops its replay.
 *   While its hash is in the recent set admission refuses it; an older one can be admitted,
 *   and the proposer drops it when it reaps a block: `Mempool.reap` asks the tx index about
 *   all of a proposal's txs in one read. So an honest proposer never includes a committed
 *   tx, at the cost of one read per block instead of one per tx.
 */

import { accountStateKey, decodeAccount } from '../app/bank/account.ts';
import { addressOf } from '../chain/address.ts';
import type { SealedBlock } from '../chain/index.ts';
import { toHex } from '../crypto/bytes.ts';
import type { ExecutedBlock } from '../state/ledger.ts';
import { stateKeyHash } from '../state/smt/index.ts';
import { type CacheSize, HEX_HASH_ENTRY_BYTES, SENDER_ENTRY_BYTES } from './memory-budget.ts';

export interface CommitCacheOptions {
  /** Senders whose committed nonce is kept (the first cached is dropped first). */
  maxSenders: number;
  /** Recently committed tx hashes kept (oldest dropped first). */
  maxRecentTxs: number;
}

export const DEFAULT_COMMIT_CACHE: CommitCacheOptions = {
  maxSenders: 100_000,
  maxRecentTxs: 200_000,
};

interface SenderEntry {
  nonce: number;
  /** Hash of the sender's account state key: how its value is found in a block's changes. */
  readonly keyHashHex: string;
}

export class CommitCache {
  private readonly opts: CommitCacheOptions;
  private readonly readNonce: (sender: Uint8Array) => Promise<number>;
  private readonly senders = new Map<string, SenderEntry>();
  private readonly recentTxs = new Set<string>();
  /** Bumped on every commit: a nonce read that straddles a commit may be stale, not cached. */
  private commits = 0;
  hits = 0;
  misses = 0;

  constructor(
    opts: Partial<CommitCacheOptions>,
    deps: { readNonce: (sender: Uint8Array) => Promise<number> },
  ) {
    this.opts = { ...DEFAULT_COMMIT_CACHE, ...opts };
    this.readNonce = deps.readNonce;
  }

  /** The committed nonce of `sender` (public key): from memory, else one database read. */
  nonceOf(sender: Uint8Array, senderHex = toHex(sender)): number | Promise<number> {
    const entry = this.senders.get(senderHex);
    if (entry !== undefined) {
      this.hits++;
      return entry.nonce;
    }
    this.misses++;
    return this.readAndRemember(sender, senderHex);
  }

  /** Entries held, with estimated bytes (memory-budget.ts's per-entry sizes). */
  stats(): { senders: CacheSize; recentTxs: CacheSize } {
    return {
      senders: { entries: this.senders.size, bytes: this.senders.size * SENDER_ENTRY_BYTES },
      recentTxs: {
        entries: this.recentTxs.size,
        bytes: this.recentTxs.size * HEX_HASH_ENTRY_BYTES,
      },
    };
  }

  isRecentlyCommitted(txHashHex: string): boolean {
    return this.recentTxs.has(txHashHex);
  }

  /**
   * Called once per committed block, after the ledger commit and before anything reads
   * nonces for the next height: records the block's tx hashes and the new nonce of every
   * sender of the block that is cached (from the block's own state changes, so it is the
   * committed value exactly, whatever the txs did).
   */
  onCommit(block: SealedBlock, executed: ExecutedBlock): void {
    this.commits++;
    for (const h of block.txHashes) this.rememberTx(toHex(h));
    const touched = new Map<string, SenderEntry>();
    for (const tx of block.txs) {
      const hex = toHex(tx.sender);
      const entry = this.senders.get(hex);
      if (entry !== undefined) touched.set(entry.keyHashHex, entry);
    }
    if (touched.size === 0) return;
    for (const [keyHash, value] of executed.values) {
      const entry = touched.get(toHex(keyHash));
      // A deleted account value would mean nonce 0; accounts are never deleted today.
      if (entry !== undefined) entry.nonce = value === null ? 0 : decodeAccount(value).nonce;
    }
  }

  private async readAndRemember(sender: Uint8Array, senderHex: string): Promise<number> {
    const before = this.commits;
    const nonce = await this.readNonce(sender);
    if (this.commits === before && !this.senders.has(senderHex)) {
      if (this.senders.size >= this.opts.maxSenders) {
        this.senders.delete(this.senders.keys().next().value!);
      }
      const keyHashHex = toHex(stateKeyHash(accountStateKey(addressOf(sender))));
      this.senders.set(senderHex, { nonce, keyHashHex });
    }
    return nonce;
  }

  private rememberTx(hex: string): void {
    if (this.recentTxs.size >= this.opts.maxRecentTxs) {
      this.recentTxs.delete(this.recentTxs.values().next().value!);
    }
    this.recentTxs.add(hex);
  }
}
