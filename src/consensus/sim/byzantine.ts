/**
 * Byzantine replicas: an honest engine whose outgoing messages pass through a filter that
 * lies, the way a modified node would. Behaviours (any subset per replica):
 * - equivocate: as primary, different valid blocks to two groups of replicas, and votes for
 *   both;
 * - double-vote: a second PREPARE/COMMIT for another block in the same view, and a PREPARE
 *   and COMMIT for every block it hears of (colluding with any equivocator), its COMMITs
 *   signing wild vote times (epoch 0, an hour early, a day late, centuries late) that the
 *   median of block time must shrug off;
 * - silent: sends nothing;
 * - invalid-block: proposes blocks whose state root is wrong (applied at build time);
 * - replay: re-sends old messages it received, and its own validly signed messages for far
 *   future heights and views (windows and caps must hold);
 * - forge: flipped bits, truncations, garbage, and votes that claim another validator.
 */

import type { SealedBlock } from '../../chain/block.ts';
import { voteSigningHash } from '../../chain/vote.ts';
import { toHex } from '../../crypto/bytes.ts';
import {
  type ConsensusMessage,
  encodeMessage,
  type NewView,
  newViewSigningHash,
  prePrepareSigningHash,
  type Vote,
} from '../messages.ts';
import type { ByzantineBehaviour } from './faults.ts';
import type { Prng } from './prng.ts';

export interface Outgoing {
  readonly to: number;
  readonly bytes: Uint8Array;
}

export interface ByzantineContext {
  readonly rng: Prng;
  readonly chainId: string;
  /** Its index in the set of `height` (−1: not a member), from its own chain. */
  indexAt(height: number): number;
  /** The size of the set of `height`. */
  countAt(height: number): number;
  sign(hash: Uint8Array): Uint8Array;
  /** A different valid block at the same height on the same parent. */
  buildAlternative(original: SealedBlock): SealedBlock;
}

interface Equivocation {
  readonly altHash: Uint8Array;
  readonly groupB: ReadonlySet<number>;
}

const RECENT_CAP = 64;

// What a liar does the same whatever the protocol (hotstuff-byzantine.ts shares these). Each
// draws from the PRNG in a fixed order: a seed's run must not change when they move.

/** Keeps at most RECENT_CAP received messages for replay, evicting one at random. */
export function rememberRecent(recent: Uint8Array[], rng: Prng, bytes: Uint8Array): void {
  if (recent.length >= RECENT_CAP) recent.splice(rng.int(0, RECENT_CAP), 1);
  recent.push(bytes);
}

/** A vote time a lying COMMIT signs: epoch 0, an hour early, a day late, centuries late. */
export function lyingTime(rng: Prng, heard: number): number {
  const hour = 3_600_000;
  return rng.pick([0, Math.max(0, heard - hour), heard + 24 * hour, 2 ** 45]);
}

/** Half the time an old received message re-sent to one replica. */
export function replayRecent(
  rng: Prng,
  recent: readonly Uint8Array[],
  others: readonly number[],
): Outgoing[] {
  return recent.length > 0 && rng.chance(0.5)
    ? [{ to: rng.pick(others), bytes: rng.pick(recent) }]
    : [];
}

/** The source of a byte-level forgery: a received message half the time, else its own. */
export function forgerySource(
  rng: Prng,
  recent: readonly Uint8Array[],
  own: Uint8Array,
): Uint8Array {
  return recent.length > 0 && rng.chance(0.5) ? rng.pick(recent) : own;
}

/** Forgeries 0–2: a flipped bit, a truncation, garbage. Null for any other `kind`. */
export function mangled(rng: Prng, kind: number, source: Uint8Array): Uint8Array | null {
  switch (kind) {
    case 0: {
      const flipped = source.slice();
      const i = rng.int(0, flipped.length);
      flipped[i] = flipped[i]! ^ (1 << rng.int(0, 8));
      return flipped;
    }
    case 1:
      return source.subarray(0, rng.int(0, source.length));
    case 2:
      return rng.bytes(rng.int(1, 200));
    default:
      return null;
  }
}

export class ByzantineFilter {
  readonly behaviours: ReadonlySet<ByzantineBehaviour>;
  private readonly ctx: ByzantineContext;
  private readonly recent: Uint8Array[] = [];
  private readonly equivocations = new Map<string, Equivocation>();
  private readonly endorsed = new Set<string>();

  constructor(ctx: ByzantineContext, behaviours: ReadonlySet<ByzantineBehaviour>) {
    this.ctx = ctx;
    this.behaviours = behaviours;
  }

  has(b: ByzantineBehaviour): boolean {
    return this.behaviours.has(b);
  }

  /**
   * Remembers received messages for later replay; a double voter also endorses every block
   * it hears of, so equivocating primaries find the votes they need (colluding adversaries).
   */
  onReceive(bytes: Uint8Array, m: ConsensusMessage | null, others: readonly number[]): Outgoing[] {
    if (this.has('replay') || this.has('forge')) rememberRecent(this.recent, this.ctx.rng, bytes);
    if (m === null || !this.has('double-vote') || this.has('silent')) return [];
    if (m.type === 'view-change') return [];
    // Outside the height's set its votes would count for nothing: not worth signing.
    const validatorIndex = this.ctx.indexAt(m.height);
    if (validatorIndex < 0) return [];
    const blockHash = m.type === 'pre-prepare' ? m.block.hash : m.blockHash;
    const key = `${m.height}:${m.view}:${toHex(blockHash)}`;
    if (this.endorsed.has(key)) return [];
    if (this.endorsed.size >= 4_096) this.endorsed.clear();
    this.endorsed.add(key);
    const out: Outgoing[] = [];
    for (const type of ['prepare', 'commit'] as const) {
      const vote = this.vote(
        {
          type,
          height: m.height,
          view: m.view,
          blockHash,
          validatorIndex,
          signature: new Uint8Array(64),
          timestamp: m.type === 'commit' ? m.timestamp : 0,
        },
        blockHash,
      );
      const encoded = encodeMessage(vote);
      for (const to of others) out.push({ to, bytes: encoded });
    }
    return out;
  }

  /** What actually goes out when the honest engine broadcasts `m` to `others`. */
  onBroadcast(m: ConsensusMessage, bytes: Uint8Array, others: readonly number[]): Outgoing[] {
    if (this.has('silent')) return [];
    const rng = this.ctx.rng;
    let out: Outgoing[] = others.map((to) => ({ to, bytes }));
    const key = `${m.height}:${m.view}`;
    if (
      this.has('equivocate') &&
      (m.type === 'pre-prepare' || m.type === 'new-view') &&
      others.length >= 2
    ) {
      const alt = this.ctx.buildAlternative(m.block);
      const altBytes = encodeMessage(this.reproposal(m, alt));
      const groupB = new Set(rng.shuffle(others).slice(0, rng.int(1, others.length)));
      this.equivocations.set(key, { altHash: alt.hash, groupB });
      out = others.map((to) => ({ to, bytes: groupB.has(to) ? altBytes : bytes }));
    }
    if (m.type === 'prepare' || m.type === 'commit') {
      const eq = this.equivocations.get(key);
      if (this.has('equivocate') && eq !== undefined) {
        const altVote = encodeMessage(this.vote(m, eq.altHash));
        for (const to of others) out.push({ to, bytes: altVote });
      }
      if (this.has('double-vote') && rng.chance(0.5)) {
        const altVote = encodeMessage(this.vote(m, eq?.altHash ?? rng.bytes(32)));
        for (const to of rng.shuffle(others).slice(0, rng.int(1, others.length + 1))) {
          out.push({ to, bytes: altVote });
        }
      }
    }
    if (this.has('replay')) out.push(...this.replays(m, others));
    if (this.has('forge') && rng.chance(0.4)) out.push(...this.forgeries(m, bytes, others));
    return out;
  }

  private reproposal(
    m: ConsensusMessage & { block: SealedBlock },
    alt: SealedBlock,
  ): ConsensusMessage {
    const sig = this.ctx.sign(prePrepareSigningHash(this.ctx.chainId, m.height, m.view, alt.hash));
    if (m.type === 'pre-prepare') return { ...m, block: alt, signature: sig };
    const nv = m as NewView;
    const unsigned: NewView = { ...nv, block: alt, blockHash: alt.hash, prePrepareSignature: sig };
    return {
      ...unsigned,
      signature: this.ctx.sign(newViewSigningHash(this.ctx.chainId, unsigned)),
    };
  }

  private vote(m: Vote, blockHash: Uint8Array, overrides: Partial<Vote> = {}): Vote {
    const v = { ...m, blockHash, ...overrides };
    const timestamp = v.type === 'commit' ? lyingTime(this.ctx.rng, m.timestamp) : 0;
    const time = v.type === 'commit' ? timestamp : null;
    return {
      ...v,
      timestamp,
      signature: this.ctx.sign(
        voteSigningHash(v.type, this.ctx.chainId, v.height, v.view, blockHash, time),
      ),
    };
  }

  private replays(m: ConsensusMessage, others: readonly number[]): Outgoing[] {
    const rng = this.ctx.rng;
    const out = replayRecent(rng, this.recent, others);
    if (rng.chance(0.15)) {
      // Validly signed messages far outside every window, and a burst just above the
      // current height that must hit the per-validator buffer cap, not memory.
      const base: Vote = {
        type: 'prepare',
        height: m.height,
        view: m.view,
        blockHash: rng.bytes(32),
        validatorIndex: m.validatorIndex,
        signature: new Uint8Array(64),
        timestamp: 0,
      };
      const to = rng.pick(others);
      out.push({
        to,
        bytes: encodeMessage(this.vote(base, rng.bytes(32), { height: m.height + 1_000_000 })),
      });
      out.push({
        to,
        bytes: encodeMessage(this.vote(base, rng.bytes(32), { view: m.view + 1_000_000 })),
      });
      out.push({
        to,
        bytes: encodeMessage(this.vote(base, rng.bytes(32), { type: 'commit', view: 2 ** 40 })),
      });
      for (let i = 0; i < 24; i++) {
        const height = m.height + 1 + (i % 3);
        out.push({ to, bytes: encodeMessage(this.vote(base, rng.bytes(32), { height, view: i })) });
      }
    }
    return out;
  }

  private forgeries(m: ConsensusMessage, bytes: Uint8Array, others: readonly number[]): Outgoing[] {
    const rng = this.ctx.rng;
    const to = rng.pick(others);
    const source = forgerySource(rng, this.recent, bytes);
    const kind = rng.int(0, 5);
    const bad = mangled(rng, kind, source);
    if (bad !== null) return [{ to, bytes: bad }];
    switch (kind) {
      case 3: {
        // A vote that claims another validator, signed with this one's key.
        if (m.type !== 'prepare' && m.type !== 'commit') return [];
        const count = this.ctx.countAt(m.height);
        const victim = (m.validatorIndex + 1 + rng.int(0, count - 1)) % count;
        return [
          { to, bytes: encodeMessage(this.vote(m, rng.bytes(32), { validatorIndex: victim })) },
        ];
      }
      default: {
        // An honest-looking vote with a garbage signature.
        if (m.type !== 'prepare' && m.type !== 'commit') return [];
        return [{ to, bytes: encodeMessage({ ...m, signature: rng.bytes(64) }) }];
      }
    }
  }

  describe(): string {
    return [...this.behaviours].join('+') || 'none';
  }

  /** For traces. */
  equivocationAt(height: number, view: number): string | null {
    const eq = this.equivocations.get(`${height}:${view}`);
    return eq === undefined ? null : toHex(eq.altHash).slice(0, 8);
  }
}
