/**
 * Compact proposals at the node: a block-carrying consensus message goes on the wire with its
 * txs named by hash (src/node/compact-proposal.ts); a receiving node rebuilds the full message
 * from its mempool and the blocks it saw recently, fetches what it lacks, and hands the engine
 * the full message, byte-identical to the sender's v1 encoding.
 *
 * Fetching is bounded so a Byzantine sender cannot make a node fetch without limit or wait
 * forever: nothing is fetched for a message the validator it names did not sign (its signed
 * part is checked first); a message names at most `Limits.blockTxs` txs and the rebuilt block
 * must fit `Limits.blockBytes`; only messages for the next `heightWindow` heights are
 * resolved; at most `maxInFlight` resolutions run at once, `maxInFlightPerAuthor` per
 * validator (more are dropped, as a lost message would be: the sender retransmits); txs are
 * asked in requests of at most MAX_TXS_PER_REQUEST hashes, one at a time, each with a
 * deadline, from the message's author (which holds the block) and then the peer that
 * forwarded it; what is still missing is asked as the whole block, from those two and then
 * from up to `maxPeersAsked` others. A tx is kept only if it hashes to a named hash. If
 * nothing supplies the block the message is dropped: the replica does not vote, and the view
 * timer fires as for any proposal it cannot accept.
 */

import type { SealedBlock } from '../chain/block.ts';
import { decodeBlock } from '../chain/block.ts';
import { Limits } from '../chain/limits.ts';
import { decodeTx, txHashOfBytes } from '../chain/tx.ts';
import { decode } from '../codec/reader.ts';
import type { ConsensusMessage } from '../consensus/messages.ts';
import { toHex } from '../crypto/bytes.ts';
import { CivitasError, codeOf } from '../errors/index.ts';
import { encodeSyncRequest, MAX_TXS_PER_REQUEST, type ProposalSource } from './block-sync.ts';
import {
  blockOf,
  type CompactMessage,
  checkTxRoot,
  encodeCompact,
  expandCompact,
  type HeldTx,
  rebuildBlock,
  signedPartOf,
} from './compact-proposal.ts';
import type { Logger } from './logger.ts';

export interface ProposalResolverOptions {
  /** Deadline of one fetch request. */
  requestTimeoutMs: number;
  /** Resolutions running at once; further compact messages are dropped meanwhile. */
  maxInFlight: number;
  /** Resolutions running at once for messages of one validator. */
  maxInFlightPerAuthor: number;
  /** Heights resolved: tip + 1 … tip + heightWindow. */
  heightWindow: number;
  /** Peers other than the forwarder asked for the whole block. */
  maxPeersAsked: number;
  /** Recent blocks (sent or rebuilt) kept to serve peers and to resolve retransmissions. */
  recentBlocks: number;
}

export const DEFAULT_RESOLVER: ProposalResolverOptions = {
  requestTimeoutMs: 2_000,
  maxInFlight: 4,
  maxInFlightPerAuthor: 2,
  heightWindow: 2,
  maxPeersAsked: 2,
  recentBlocks: 16,
};

export interface ResolverDeps {
  /** A tx this node holds (its mempool): exact bytes and decoded. */
  lookupTx(hash: Uint8Array): HeldTx | undefined;
  /** One request/response exchange with a peer (the p2p sync protocol). */
  request(peerId: string, request: Uint8Array, opts: { timeoutMs: number }): Promise<Uint8Array[]>;
  /** Members to ask when the author and the forwarder cannot supply a block. */
  peers(): string[];
  /** The peer id of the validator at `index` of `height`'s set (undefined: unknown or self). */
  authorOf?(height: number, index: number): string | undefined;
  /**
   * Whether the signed part of a compact message (signedPartOf) carries a valid signature of
   * the validator it names: checked before anything is fetched for it.
   */
  authentic?(signed: ConsensusMessage): boolean;
  /**
   * Whether to carry a tx of a block this node sends inline rather than by hash: one its
   * peers may not hold yet (admitted here very recently). Default: none.
   */
  sendInline?(hash: Uint8Array): boolean;
  /** The committed height. */
  tip(): number;
  logger: Logger;
}

export interface ResolverCounters {
  /** Compact messages sent and received. */
  sent: number;
  /** Txs carried inline in the compact messages sent. */
  txsInlined: number;
  received: number;
  /** Received ones rebuilt without any fetch. */
  local: number;
  txsFetched: number;
  blocksFetched: number;
  /** Received ones dropped: out of window, over the in-flight bound, or unresolvable. */
  dropped: number;
}

export class ProposalResolver implements ProposalSource {
  private readonly opts: ProposalResolverOptions;
  private readonly deps: ResolverDeps;
  /** Insertion-ordered: the oldest block is evicted first. */
  private readonly recent = new Map<string, SealedBlock>();
  /** Txs of the recent blocks, counted by how many of them hold each. */
  private readonly recentTxs = new Map<string, { held: HeldTx; blocks: number }>();
  private readonly inFlight = new Map<string, Promise<SealedBlock | undefined>>();
  private readonly inFlightByAuthor = new Map<number, number>();
  private readonly compactCache = new WeakMap<ConsensusMessage, Uint8Array>();
  readonly counters: ResolverCounters = {
    sent: 0,
    txsInlined: 0,
    received: 0,
    local: 0,
    txsFetched: 0,
    blocksFetched: 0,
    dropped: 0,
  };

  constructor(opts: Partial<ProposalResolverOptions>, deps: ResolverDeps) {
    this.opts = { ...DEFAULT_RESOLVER, ...opts };
    this.deps = deps;
  }

  /**
   * The bytes to put on the wire for `m` (v1 encoding `full`): the compact form when `m`
   * carries a block (remembered, to serve the peers that fetch it) and it is smaller, else
   * `full`.
   */
  wireBytes(m: ConsensusMessage, full: Uint8Array): Uint8Array {
    const block = blockOf(m);
    if (block === null) return full;
    this.remember(block);
    let bytes = this.compactCache.get(m);
    if (bytes === undefined) {
      const inline = this.deps.sendInline;
      let inlined = 0;
      const compact = encodeCompact(m, full, (i) => {
        const yes = inline?.(block.txHashes[i]!) ?? false;
        if (yes) inlined++;
        return yes;
      });
      // Rule: the compact form is sent only when it is smaller (with most txs inline it is not).
      bytes = compact !== null && compact.length < full.length ? compact : full;
      if (bytes === compact) this.counters.txsInlined += inlined;
      this.compactCache.set(m, bytes);
    }
    if (bytes !== full) this.counters.sent++;
    return bytes;
  }

  /**
   * The full message of compact `c`, forwarded by `from`; undefined when it is out of the
   * window, over the bound, or nothing could supply its block.
   */
  async resolve(
    c: CompactMessage,
    from: string | undefined,
  ): Promise<ConsensusMessage | undefined> {
    this.counters.received++;
    const tip = this.deps.tip();
    if (c.height <= tip || c.height > tip + this.opts.heightWindow) {
      this.counters.dropped++;
      return undefined;
    }
    const key = toHex(c.blockHash);
    let block: SealedBlock | undefined = this.recent.get(key);
    if (block === undefined) {
      let pending = this.inFlight.get(key);
      if (pending === undefined) {
        const author = c.validatorIndex;
        const byAuthor = this.inFlightByAuthor.get(author) ?? 0;
        // Rule: only a message its named validator signed is worth a fetch, and each validator
        // has a bounded share of the fetches in flight.
        if (
          this.inFlight.size >= this.opts.maxInFlight ||
          byAuthor >= this.opts.maxInFlightPerAuthor ||
          !this.isAuthentic(c)
        ) {
          this.counters.dropped++;
          return undefined;
        }
        this.inFlightByAuthor.set(author, byAuthor + 1);
        pending = this.rebuild(c, from).finally(() => {
          this.inFlight.delete(key);
          const left = (this.inFlightByAuthor.get(author) ?? 1) - 1;
          if (left > 0) this.inFlightByAuthor.set(author, left);
          else this.inFlightByAuthor.delete(author);
        });
        this.inFlight.set(key, pending);
      }
      block = await pending;
    }
    if (block === undefined) {
      this.counters.dropped++;
      return undefined;
    }
    try {
      return expandCompact(c, block);
    } catch (err) {
      this.deps.logger.debug('compact message does not expand', { code: codeOf(err) });
      this.counters.dropped++;
      return undefined;
    }
  }

  private isAuthentic(c: CompactMessage): boolean {
    if (this.deps.authentic === undefined) return true;
    try {
      return this.deps.authentic(signedPartOf(c));
    } catch {
      return false;
    }
  }

  /** ProposalSource: the named txs this node holds, in request order. */
  txs(hashes: readonly Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const h of hashes) {
      const held = this.lookup(h);
      if (held !== undefined) out.push(held.encoded);
    }
    return out;
  }

  /** ProposalSource: a recent block's bytes by hash. */
  block(hash: Uint8Array): Uint8Array | undefined {
    return this.recent.get(toHex(hash))?.encoded;
  }

  private lookup(hash: Uint8Array): HeldTx | undefined {
    return this.deps.lookupTx(hash) ?? this.recentTxs.get(toHex(hash))?.held;
  }

  private remember(block: SealedBlock): void {
    const key = toHex(block.hash);
    if (this.recent.has(key)) return;
    this.recent.set(key, block);
    block.txHashes.forEach((h, i) => {
      const hex = toHex(h);
      const held = this.recentTxs.get(hex);
      if (held !== undefined) held.blocks++;
      else
        this.recentTxs.set(hex, {
          held: { encoded: block.encodedTxs[i]!, tx: block.txs[i]! },
          blocks: 1,
        });
    });
    while (this.recent.size > this.opts.recentBlocks) {
      const [oldKey, old] = this.recent.entries().next().value as [string, SealedBlock];
      this.recent.delete(oldKey);
      for (const h of old.txHashes) {
        const hex = toHex(h);
        const held = this.recentTxs.get(hex);
        if (held !== undefined && --held.blocks === 0) this.recentTxs.delete(hex);
      }
    }
  }

  private async rebuild(
    c: CompactMessage,
    from: string | undefined,
  ): Promise<SealedBlock | undefined> {
    const txs: Array<HeldTx | undefined> = c.txHashes.map((h, i) => {
      const inline = c.inline.get(i);
      return inline === undefined ? this.lookup(h) : held(inline);
    });
    const missing: number[] = [];
    txs.forEach((t, i) => {
      if (t === undefined) missing.push(i);
    });
    // The message's author holds its block (it proposed or prepared it); the forwarder may not
    // have rebuilt it yet. Ask the author first, then the forwarder.
    const author = this.deps.authorOf?.(c.height, c.validatorIndex);
    const sources = [...new Set([author, from])].filter((p): p is string => p !== undefined);
    if (missing.length === 0) this.counters.local++;
    for (const peer of sources) {
      const still = missing.filter((i) => txs[i] === undefined);
      if (still.length === 0) break;
      await this.fetchTxs(c, peer, txs, still);
    }
    let block: SealedBlock | undefined;
    if (txs.every((t) => t !== undefined)) {
      try {
        block = rebuildBlock(c, txs as HeldTx[]);
      } catch (err) {
        // The names do not make the header's block: a bad sender. A whole block cannot help.
        this.deps.logger.debug('compact proposal does not rebuild', { code: codeOf(err) });
        return undefined;
      }
    } else {
      block = await this.fetchBlock(c, sources);
    }
    if (block !== undefined) this.remember(block);
    return block;
  }

  /** Asks `from` for the missing txs, one bounded request at a time; fills `txs` in place. */
  private async fetchTxs(
    c: CompactMessage,
    from: string,
    txs: Array<HeldTx | undefined>,
    missing: readonly number[],
  ): Promise<void> {
    for (let start = 0; start < missing.length; start += MAX_TXS_PER_REQUEST) {
      const indexes = missing.slice(start, start + MAX_TXS_PER_REQUEST);
      const wanted = new Map<string, number[]>();
      for (const i of indexes) {
        const hex = toHex(c.txHashes[i]!);
        wanted.set(hex, [...(wanted.get(hex) ?? []), i]);
      }
      let frames: Uint8Array[];
      try {
        frames = await this.deps.request(
          from,
          encodeSyncRequest({ kind: 'txs', hashes: indexes.map((i) => c.txHashes[i]!) }),
          { timeoutMs: this.opts.requestTimeoutMs },
        );
      } catch (err) {
        this.deps.logger.debug('fetching compact proposal txs failed', { code: codeOf(err) });
        return;
      }
      const frame = frames[0];
      if (frame === undefined) return;
      let got: Uint8Array[];
      try {
        got = decode(frame, (r) => r.list(MAX_TXS_PER_REQUEST, (rr) => rr.bytes(Limits.txBytes)));
      } catch {
        return;
      }
      for (const tx of got) {
        // Rule: a tx counts only if it hashes to a hash the proposal names.
        const slots = wanted.get(toHex(txHashOfBytes(tx)));
        if (slots === undefined) continue;
        const h = held(tx);
        if (h === undefined) continue;
        for (const i of slots) txs[i] = h;
        this.counters.txsFetched++;
      }
      // A peer that lacks some of this chunk lacks the block: go to the whole-block fallback.
      if (got.length < wanted.size) return;
    }
  }

  /** Asks for the whole block: the author and the forwarder first, then a few other members. */
  private async fetchBlock(
    c: CompactMessage,
    sources: readonly string[],
  ): Promise<SealedBlock | undefined> {
    const others = this.deps
      .peers()
      .filter((p) => !sources.includes(p))
      .slice(0, this.opts.maxPeersAsked);
    const asked = [...sources, ...others];
    for (const peer of asked) {
      try {
        const [bytes] = await this.deps.request(
          peer,
          encodeSyncRequest({ kind: 'block', hash: c.blockHash }),
          { timeoutMs: this.opts.requestTimeoutMs },
        );
        if (bytes === undefined) continue;
        const block = decodeBlock(bytes);
        // Rule: a fetched block is the one named (header hash) with the txs its header commits to.
        if (toHex(block.hash) !== toHex(c.blockHash)) {
          throw new CivitasError(
            'PROPOSAL_BLOCK_MISMATCH',
            'the fetched block is not the one named',
          );
        }
        checkTxRoot(block, c.height);
        this.counters.blocksFetched++;
        return block;
      } catch (err) {
        this.deps.logger.debug('fetching a compact proposal block failed', {
          peer: peer.slice(-8),
          code: codeOf(err),
        });
      }
    }
    this.deps.logger.debug('compact proposal unavailable', {
      code: 'PROPOSAL_TXS_UNAVAILABLE',
      height: c.height,
      view: c.view,
    });
    return undefined;
  }
}

/** A tx's bytes with their strict decode; undefined when they do not decode. */
function held(encoded: Uint8Array): HeldTx | undefined {
  try {
    return { encoded, tx: decodeTx(encoded) };
  } catch {
    return undefined;
  }
}
