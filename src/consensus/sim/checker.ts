/**
 * The properties every simulated run is checked against (docs/CONSENSUS.md, "Simulator"):
 * - agreement: no two honest replicas commit different blocks at one height;
 * - validity: every block an honest replica commits passes the node's validation on its
 *   parent, certificate included;
 * - honest non-equivocation: no honest replica signs two different messages for the same
 *   (kind, height, view) — across crashes too, which is what the WAL is for;
 * - liveness: after GST, every honest replica commits past the highest height any honest
 *   replica had at GST, within the stated bound;
 * - bounded memory: engine buffers stay under their caps after every step;
 * - block time (chain/block-time.ts): every committed block's time is after its parent's and
 *   within the correct clocks — no later than the moment it commits, no earlier than the
 *   moment its parent was first built — whatever the skewed, drifting and Byzantine clocks
 *   signed.
 * Each violation names the seed that replays it.
 */

import type { SealedBlock } from '../../chain/block.ts';
import type { CommitCertificate } from '../../chain/certificate.ts';
import { toHex } from '../../crypto/bytes.ts';
import type { EngineMemory } from '../engine.ts';
import { type ConsensusMessage, describeMessage, digestOf } from '../messages.ts';
import { type ParentInfo, type SimChainContext, validateSimBlock } from './sim-chain.ts';

export type ViolationKind =
  | 'agreement'
  | 'validity'
  | 'honest-equivocation'
  | 'liveness'
  | 'memory'
  | 'block-time';

export interface Violation {
  readonly kind: ViolationKind;
  readonly seed: number;
  readonly atMs: number;
  readonly replica: number | null;
  readonly height: number | null;
  readonly detail: string;
}

/** At most this many violations of one kind are recorded per run (the first ones matter). */
const MAX_PER_KIND = 5;

export class Checker {
  private readonly seed: number;
  private readonly ctx: SimChainContext;
  private readonly committed = new Map<number, { hash: string; replica: number }>();
  private readonly signed = new Map<string, { digest: string; message: ConsensusMessage }>();
  private readonly found: Violation[] = [];
  /** Block hash → virtual time it was first built (any replica). */
  private readonly builtAt = new Map<string, number>();
  private readonly perKind = new Map<ViolationKind, number>();

  constructor(seed: number, ctx: SimChainContext) {
    this.seed = seed;
    this.ctx = ctx;
  }

  get violations(): readonly Violation[] {
    return this.found;
  }

  report(
    kind: ViolationKind,
    atMs: number,
    replica: number | null,
    height: number | null,
    detail: string,
  ): void {
    const n = this.perKind.get(kind) ?? 0;
    this.perKind.set(kind, n + 1);
    if (n >= MAX_PER_KIND) return;
    this.found.push({ kind, seed: this.seed, atMs, replica, height, detail });
  }

  onCommit(
    atMs: number,
    replica: number,
    block: SealedBlock,
    certificate: CommitCertificate,
    parent: ParentInfo,
  ): void {
    const height = block.header.height;
    const hash = toHex(block.hash);
    const first = this.committed.get(height);
    if (first === undefined) {
      this.committed.set(height, { hash, replica });
    } else if (first.hash !== hash) {
      this.report(
        'agreement',
        atMs,
        replica,
        height,
        `replica ${replica} committed ${hash.slice(0, 12)} but replica ${first.replica} committed ${first.hash.slice(0, 12)}`,
      );
    }
    const problem = validateSimBlock(this.ctx, block, parent);
    if (problem !== null) {
      this.report('validity', atMs, replica, height, `committed an invalid block: ${problem}`);
    }
    if (certificate.height !== height || toHex(certificate.blockHash) !== hash) {
      this.report('validity', atMs, replica, height, 'certificate is for another block');
    }
    this.checkTime(atMs, replica, block, parent);
  }

  noteBuilt(block: SealedBlock, atMs: number): void {
    const hash = toHex(block.hash);
    if (!this.builtAt.has(hash)) this.builtAt.set(hash, atMs);
  }

  /** Block time against the correct clocks, which read genesis time + virtual time. */
  private checkTime(atMs: number, replica: number, block: SealedBlock, parent: ParentInfo): void {
    const { height, timestamp } = block.header;
    const report = (detail: string): void =>
      this.report('block-time', atMs, replica, height, `time ${timestamp}: ${detail}`);
    if (timestamp <= parent.timestamp) report(`not after the parent's ${parent.timestamp}`);
    if (height < 2) return;
    const latest = this.ctx.genesisTime + atMs;
    if (timestamp > latest) report(`${timestamp - latest} ms ahead of the correct clocks`);
    const parentBuilt = this.builtAt.get(toHex(parent.hash));
    if (parentBuilt !== undefined && timestamp < this.ctx.genesisTime + parentBuilt) {
      const behind = this.ctx.genesisTime + parentBuilt - timestamp;
      report(`${behind} ms before its parent was built`);
    }
  }

  /** Every message an honest replica sends (first sends and retransmissions alike). */
  onHonestSend(atMs: number, replica: number, m: ConsensusMessage): void {
    const key = `${m.validatorIndex}:${m.type}:${m.height}:${m.view}`;
    const digest = toHex(digestOf(m));
    const previous = this.signed.get(key);
    if (previous === undefined) {
      this.signed.set(key, { digest, message: m });
    } else if (previous.digest !== digest) {
      this.report(
        'honest-equivocation',
        atMs,
        replica,
        m.height,
        `signed ${describeMessage(m)} after ${describeMessage(previous.message)}`,
      );
    }
  }

  checkMemory(atMs: number, replica: number, memory: EngineMemory, caps: EngineMemory): void {
    for (const key of Object.keys(caps) as (keyof EngineMemory)[]) {
      if (memory[key] > caps[key]) {
        this.report(
          'memory',
          atMs,
          replica,
          null,
          `${key} = ${memory[key]} exceeds cap ${caps[key]}`,
        );
      }
    }
  }
}
