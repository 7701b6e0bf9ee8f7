/**
 * Byzantine HotStuff replicas: an honest HotStuff engine whose outgoing messages pass through
 * a filter that lies (byzantine.ts is PBFT's). Behaviours:
 * - equivocate: as leader, a different valid block to a random group of replicas;
 * - double-vote: a second vote for another block in the same view and phase, its COMMITs
 *   signing wild vote times; and a PREPARE for every proposal it hears of, lock or not;
 * - silent: sends nothing;
 * - invalid-block: proposes blocks whose state root is wrong (applied at build time);
 * - replay: re-sends old messages it received, and its own signed TIMEOUTs and votes for far
 *   future heights and views (windows must hold);
 * - forge: flipped bits, truncations, garbage, and votes that claim another validator.
 */

import {
  encodeHotStuffMessage,
  type HotStuffMessage,
  type HotStuffVote,
  hotStuffVoteSigningHash,
  type Proposal,
  proposalSigningHash,
  type Timeout,
  timeoutSigningHash,
} from '../hotstuff/messages.ts';
import {
  type ByzantineContext,
  forgerySource,
  lyingTime,
  mangled,
  type Outgoing,
  rememberRecent,
  replayRecent,
} from './byzantine.ts';
import type { ByzantineBehaviour } from './faults.ts';

export class HotStuffByzantineFilter {
  readonly behaviours: ReadonlySet<ByzantineBehaviour>;
  private readonly ctx: ByzantineContext;
  private readonly recent: Uint8Array[] = [];
  /** Leaders of views it voted in, by `${height}:${view}` (where a double vote goes). */
  private readonly altHashes = new Map<string, Uint8Array>();

  constructor(ctx: ByzantineContext, behaviours: ReadonlySet<ByzantineBehaviour>) {
    this.ctx = ctx;
    this.behaviours = behaviours;
  }

  has(b: ByzantineBehaviour): boolean {
    return this.behaviours.has(b);
  }

  describe(): string {
    return [...this.behaviours].join('+');
  }

  onReceive(
    bytes: Uint8Array,
    m: HotStuffMessage | null,
    others: readonly number[],
    leaderOf: (height: number, view: number) => number[],
  ): Outgoing[] {
    if (this.has('replay') || this.has('forge')) rememberRecent(this.recent, this.ctx.rng, bytes);
    if (m === null || m.type !== 'proposal' || !this.has('double-vote') || this.has('silent')) {
      return [];
    }
    // Endorse every proposal it hears of, whatever its lock says (colluding with equivocators).
    const index = this.ctx.indexAt(m.height);
    if (index < 0) return [];
    const vote = this.vote(index, 'prepare', m.height, m.view, m.block.hash, 0);
    const bytesOut = encodeHotStuffMessage(vote);
    const targets = leaderOf(m.height, m.view).filter((to) => others.includes(to));
    return targets.map((to) => ({ to, bytes: bytesOut }));
  }

  onBroadcast(m: HotStuffMessage, bytes: Uint8Array, others: readonly number[]): Outgoing[] {
    if (this.has('silent')) return [];
    const rng = this.ctx.rng;
    const out: Outgoing[] = [];
    if (m.type === 'proposal' && this.has('equivocate') && others.length > 1) {
      const groupB = new Set(rng.shuffle(others).slice(0, rng.int(1, others.length)));
      const alt = this.reproposal(m);
      for (const to of others) out.push({ to, bytes: groupB.has(to) ? alt : bytes });
    } else {
      for (const to of others) out.push({ to, bytes });
    }
    if (this.has('replay')) out.push(...this.replays(m, others));
    if (this.has('forge') && rng.chance(0.4)) out.push(...this.forgeries(m, bytes, others));
    return out;
  }

  onSend(
    m: HotStuffMessage,
    bytes: Uint8Array,
    targets: readonly number[],
    others: readonly number[],
  ): Outgoing[] {
    if (this.has('silent')) return [];
    const rng = this.ctx.rng;
    const out: Outgoing[] = targets.map((to) => ({ to, bytes }));
    if (m.type === 'vote' && this.has('double-vote') && rng.chance(0.6)) {
      const key = `${m.height}:${m.view}`;
      const other = this.altHashes.get(key) ?? rng.bytes(32);
      const timestamp = m.phase === 'commit' ? lyingTime(rng, m.timestamp) : 0;
      const second = this.vote(m.validatorIndex, m.phase, m.height, m.view, other, timestamp);
      for (const to of targets) out.push({ to, bytes: encodeHotStuffMessage(second) });
    }
    if (this.has('replay')) out.push(...this.replays(m, others));
    if (this.has('forge') && rng.chance(0.4)) out.push(...this.forgeries(m, bytes, others));
    return out;
  }

  private reproposal(m: Proposal): Uint8Array {
    const block = this.ctx.buildAlternative(m.block);
    this.altHashes.set(`${m.height}:${m.view}`, block.hash);
    const signature = this.ctx.sign(
      proposalSigningHash(this.ctx.chainId, m.height, m.view, block.hash),
    );
    // The other block cannot carry the justify of the first (it names that block).
    return encodeHotStuffMessage({ ...m, justify: null, signature, block });
  }

  private vote(
    validatorIndex: number,
    phase: HotStuffVote['phase'],
    height: number,
    view: number,
    blockHash: Uint8Array,
    timestamp: number,
  ): HotStuffVote {
    const signature = this.ctx.sign(
      hotStuffVoteSigningHash(phase, this.ctx.chainId, height, view, blockHash, timestamp),
    );
    return { type: 'vote', phase, height, view, blockHash, validatorIndex, signature, timestamp };
  }

  private timeout(index: number, height: number, view: number): Timeout {
    const signature = this.ctx.sign(timeoutSigningHash(this.ctx.chainId, height, view, null));
    return {
      type: 'timeout',
      height,
      view,
      validatorIndex: index,
      highQC: null,
      lastCommit: null,
      tc: null,
      signature,
      highBlock: null,
    };
  }

  private replays(m: HotStuffMessage, others: readonly number[]): Outgoing[] {
    const rng = this.ctx.rng;
    const out = replayRecent(rng, this.recent, others);
    const height = m.type === 'qc' ? m.qc.height : m.type === 'decide' ? 0 : m.height;
    const index = this.ctx.indexAt(height);
    if (index >= 0 && rng.chance(0.15)) {
      const to = rng.pick(others);
      // Validly signed, far out of every window: must be dropped, never buffered.
      for (const [h, v] of [
        [height + 1_000_000, 0],
        [height, 1_000_000],
        [height, 2 ** 40],
      ] as const) {
        out.push({ to, bytes: encodeHotStuffMessage(this.timeout(index, h, v)) });
        out.push({
          to,
          bytes: encodeHotStuffMessage(this.vote(index, 'prepare', h, v, rng.bytes(32), 0)),
        });
      }
    }
    return out;
  }

  private forgeries(m: HotStuffMessage, bytes: Uint8Array, others: readonly number[]): Outgoing[] {
    const rng = this.ctx.rng;
    const to = rng.pick(others);
    const source = forgerySource(rng, this.recent, bytes);
    const bad = mangled(rng, rng.int(0, 4), source);
    if (bad !== null) return [{ to, bytes: bad }];
    if (m.type !== 'vote') return [];
    // A vote claiming to come from another validator (its signature cannot match).
    const count = this.ctx.countAt(m.height);
    if (count < 2) return [];
    const victim = (m.validatorIndex + 1 + rng.int(0, count - 1)) % count;
    return [{ to, bytes: encodeHotStuffMessage({ ...m, validatorIndex: victim }) }];
  }
}
