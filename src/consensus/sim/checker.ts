/**
 * The properties every simulated run is checked against (docs/CONSENSUS.md, "Simulator"):
 * - agreement: no two honest replicas commit different blocks at one height;
 * - validity: every block an honest replica commits passes the node's validation on its
 *   parent, certificate included;
 * - honest non-equivocation: no honest replica signs two different messages for the same
 *   (kind, height, view) — across crashes too, which is what the WAL is for;
 * - liveness: after GST, every honest replica commits past the highest height any honest
 *   replica had at GST, within the stated bound;
 * - bounded memory: engine buffers stay under their caps after every step.
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
  | 'memory';

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
