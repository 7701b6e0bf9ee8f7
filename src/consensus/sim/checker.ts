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
 *   signed;
 * - validator sets (issue #14): the set of each height is the one the committed chain names
 *   (the canonical chain, first committed at each height); every honest replica's
 *   `validatorsAt` answers it for the height it committed and the next one, and its engine
 *   enters each height with its index in that set (−1: an observer); every commit
 *   certificate verifies against the set of its own height; an honest replica signs a
 *   message only at a height whose set holds its key, at its index (`outside-set`).
 * Each violation names the seed that replays it.
 */

import type { SealedBlock } from '../../chain/block.ts';
import { type CommitCertificate, verifyCertificate } from '../../chain/certificate.ts';
import type { ValidatorSet } from '../../chain/validator-set.ts';
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import type { EngineMemory } from '../engine.ts';
import { type ConsensusMessage, describeMessage, digestOf } from '../messages.ts';
import {
  childInfo,
  genesisParent,
  type ParentInfo,
  quorumOf,
  type SimChainContext,
  setAfter,
  validateSimBlock,
} from './sim-chain.ts';

export type ViolationKind =
  | 'agreement'
  | 'validity'
  | 'honest-equivocation'
  | 'liveness'
  | 'memory'
  | 'block-time'
  | 'validator-set'
  | 'outside-set';

export interface Violation {
  readonly kind: ViolationKind;
  readonly seed: number;
  readonly atMs: number;
  readonly replica: number | null;
  readonly height: number | null;
  readonly detail: string;
}

/** What the checker tracks of a signed message, whatever the protocol. */
export interface SignedMessage {
  /** Kinds two messages must share to conflict (PBFT's type, 'hs-prepare', …). */
  readonly kind: string;
  readonly height: number;
  readonly view: number;
  readonly validatorIndex: number;
  /** What it endorses: two digests at one (key, kind, height, view) are equivocation. */
  readonly digest: Uint8Array;
  readonly description: string;
}

/** At most this many violations of one kind are recorded per run (the first ones matter). */
const MAX_PER_KIND = 5;

export class Checker {
  private readonly seed: number;
  private readonly ctx: SimChainContext;
  private readonly committed = new Map<number, { hash: string; replica: number; atMs: number }>();
  private readonly signed = new Map<string, { digest: string; message: SignedMessage }>();
  private readonly found: Violation[] = [];
  /** Block hash → virtual time it was first built (any replica). */
  private readonly builtAt = new Map<string, number>();
  private readonly perKind = new Map<ViolationKind, number>();
  /** The chain as first committed, by height (0: genesis): its sets are the canonical ones. */
  private readonly canonical: ParentInfo[];
  /** Certificates already verified, with the hash of the set they verified against. */
  private readonly certified = new WeakMap<CommitCertificate, string>();

  constructor(seed: number, ctx: SimChainContext) {
    this.seed = seed;
    this.ctx = ctx;
    this.canonical = [genesisParent(ctx)];
  }

  /** The set that signs `height` on the committed chain, once height − 1 is committed. */
  setAt(height: number): ValidatorSet | undefined {
    const parent = this.canonical[height - 1];
    return parent === undefined ? undefined : setAfter(this.ctx, parent);
  }

  /** Set changes executed on the committed chain: (height executed, next set's size). */
  changesCommitted(): Array<{ height: number; validators: number }> {
    const out: Array<{ height: number; validators: number }> = [];
    for (let h = 1; h < this.canonical.length; h++) {
      const info = this.canonical[h]!;
      if (info.lastChangeHeight === h) {
        out.push({ height: h, validators: setAfter(this.ctx, info).validators.length });
      }
    }
    return out;
  }

  /**
   * Block commit latency of each height of the committed chain, in height order: from the
   * first build of the block first committed there to that first honest commit (ms).
   */
  commitLatencies(): number[] {
    const out: number[] = [];
    for (let h = 1; h < this.canonical.length; h++) {
      const first = this.committed.get(h);
      const built = first === undefined ? undefined : this.builtAt.get(first.hash);
      if (first !== undefined && built !== undefined) out.push(first.atMs - built);
    }
    return out;
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
    sets: { readonly current: ValidatorSet; readonly next: ValidatorSet },
  ): void {
    const height = block.header.height;
    const hash = toHex(block.hash);
    const first = this.committed.get(height);
    // Judge the block on the canonical parent when the replica's is the same block: the
    // sets then come from the committed chain, not from the replica's own bookkeeping.
    const canonicalParent = this.canonical[height - 1];
    if (canonicalParent !== undefined && equalBytes(canonicalParent.hash, parent.hash)) {
      parent = canonicalParent;
    }
    if (first === undefined) {
      this.committed.set(height, { hash, replica, atMs });
      if (this.canonical.length === height) this.canonical.push(childInfo(this.ctx, parent, block));
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
    this.checkCertificate(atMs, replica, certificate, setAfter(this.ctx, parent));
    this.checkTime(atMs, replica, block, parent);
    this.checkSets(atMs, replica, height, sets);
  }

  /** A commit certificate is valid against the set of its own height (and only needs that). */
  private checkCertificate(
    atMs: number,
    replica: number,
    certificate: CommitCertificate,
    set: ValidatorSet,
  ): void {
    const setHash = toHex(set.hash);
    if (this.certified.get(certificate) === setHash) return;
    try {
      verifyCertificate(
        certificate,
        {
          chainId: this.ctx.chainId,
          height: certificate.height,
          blockHash: certificate.blockHash,
          validators: { ...set, quorum: quorumOf(this.ctx, set) },
        },
        this.ctx.verify,
      );
      this.certified.set(certificate, setHash);
    } catch (err) {
      this.report(
        'validity',
        atMs,
        replica,
        certificate.height,
        `certificate does not verify against the set of its height: ${(err as Error).message}`,
      );
    }
  }

  /** The replica's own answer for the set of the height it committed and of the next. */
  private checkSets(
    atMs: number,
    replica: number,
    height: number,
    sets: { readonly current: ValidatorSet; readonly next: ValidatorSet },
  ): void {
    for (const [h, set] of [
      [height, sets.current],
      [height + 1, sets.next],
    ] as const) {
      const expected = this.setAt(h);
      if (expected !== undefined && !equalBytes(expected.hash, set.hash)) {
        this.report(
          'validator-set',
          atMs,
          replica,
          h,
          `replica ${replica} has a set of ${set.validators.length} (${toHex(set.hash).slice(0, 8)}) for height ${h}, the chain names ${expected.validators.length} (${toHex(expected.hash).slice(0, 8)})`,
        );
      }
    }
  }

  /** A replica's engine entered `height` as `index` in its set (−1: observer). */
  onEnterHeight(
    atMs: number,
    replica: number,
    height: number,
    key: Uint8Array,
    index: number,
  ): void {
    const set = this.setAt(height);
    if (set === undefined) return;
    const expected = set.indexOf(key);
    if (expected !== index) {
      this.report(
        'validator-set',
        atMs,
        replica,
        height,
        `replica ${replica} entered height ${height} as index ${index}, the chain's set makes it ${expected}`,
      );
    }
  }

  /** A failure the engine raised (e.g. CONSENSUS_SET_MISMATCH): the replica stops, as a node would. */
  onEngineError(atMs: number, replica: number, height: number | null, err: unknown): void {
    const code = (err as { code?: string }).code ?? 'ERROR';
    this.report(
      'validator-set',
      atMs,
      replica,
      height,
      `engine stopped: ${code}: ${(err as Error).message}`,
    );
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
  onHonestSend(atMs: number, replica: number, publicKey: Uint8Array, m: ConsensusMessage): void {
    this.onHonestSigned(atMs, replica, publicKey, {
      kind: m.type,
      height: m.height,
      view: m.view,
      validatorIndex: m.validatorIndex,
      digest: digestOf(m),
      description: describeMessage(m),
    });
  }

  /** The same, for a message of any protocol (sim/protocols.ts). */
  onHonestSigned(atMs: number, replica: number, publicKey: Uint8Array, m: SignedMessage): void {
    // Only a member of the height's set signs, and only as its own index there.
    const set = this.setAt(m.height);
    if (set === undefined) {
      this.report(
        'outside-set',
        atMs,
        replica,
        m.height,
        `signed ${m.description} at a height whose set is not yet committed`,
      );
    } else if (set.indexOf(publicKey) !== m.validatorIndex) {
      const index = set.indexOf(publicKey);
      this.report(
        'outside-set',
        atMs,
        replica,
        m.height,
        `signed ${m.description} ${index < 0 ? 'outside the set' : `as index ${m.validatorIndex}, its index is ${index}`} of height ${m.height}`,
      );
    }
    const key = `${toHex(publicKey)}:${m.kind}:${m.height}:${m.view}`;
    const digest = toHex(m.digest);
    const previous = this.signed.get(key);
    if (previous === undefined) {
      this.signed.set(key, { digest, message: m });
    } else if (previous.digest !== digest) {
      this.report(
        'honest-equivocation',
        atMs,
        replica,
        m.height,
        `signed ${m.description} after ${previous.message.description}`,
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
