/**
 * HotStuff's five messages, its quorum and timeout certificates, their one canonical encoding
 * and what each signs (docs/HOTSTUFF.md).
 *
 * Signing hashes, all under the consensus-message domain with kind bytes PBFT never uses
 * (PBFT: 1–5), so no HotStuff signature can be replayed as a PBFT message or as a COMMIT:
 * - PROPOSAL signs (16, chainId, height, view, blockHash), never the body or its justify and
 *   TC (both are certificates that check themselves);
 * - PREPARE and PRE-COMMIT votes sign (21 / 22, chainId, height, view, blockHash);
 * - COMMIT votes sign PBFT's `voteSigningHash('commit', …, voteTime)` (chain/vote.ts), so q of
 *   them are a CommitCertificate as chain code checks it;
 * - TIMEOUT signs (20, chainId, height, view, highQC view and block hash or none); a timeout
 *   certificate lists exactly those fields per signer, so it verifies without the QCs.
 * QC and DECIDE are certificates and carry no signature of their own.
 *
 * Encoding (v1): u8 version | u8 type | body
 *   16 PROPOSAL: varuint height | varuint view | u16 validator | bool [qc justify] | bool [tc] |
 *       64 sig | bytes block
 *   17 VOTE: u8 phase (1 prepare, 2 pre-commit, 3 commit) | varuint height | varuint view |
 *       32 blockHash | u16 validator | 64 sig | [varuint timestamp, commit only]
 *   18 QC: qc
 *   19 DECIDE: certificate (chain/certificate.ts)
 *   20 TIMEOUT: varuint height | varuint view | u16 validator | bool [qc highQC] |
 *       bool [certificate lastCommit] | bool [tc] | 64 sig | bool [bytes highBlock]
 *   qc: u8 phase (1 prepare, 2 pre-commit) | varuint height | varuint view | 32 blockHash |
 *       list of (u16 validator | 64 sig), validators strictly increasing
 *   tc: varuint height | varuint view | list of (u16 validator | bool [varuint qcView |
 *       32 qcHash] | 64 sig), validators strictly increasing
 */

import type { SealedBlock } from '../../chain/block.ts';
import {
  type CommitCertificate,
  readCertificate,
  writeCertificate,
} from '../../chain/certificate.ts';
import { Limits } from '../../chain/limits.ts';
import { voteSigningHash } from '../../chain/vote.ts';
import { expectVersion, type Reader } from '../../codec/reader.ts';
import { encode, type Writer } from '../../codec/writer.ts';
import { toHex } from '../../crypto/bytes.ts';
import { SIGNATURE_LENGTH } from '../../crypto/ed25519.ts';
import { DomainTag, HASH_LENGTH, taggedHash } from '../../crypto/hash.ts';
import { CivitasError } from '../../errors/index.ts';
import {
  decodeBoundedMessage,
  expectIncreasingSigners,
  readBlockBytes,
  readSignatures,
  type ValidatorSignature,
  writeSignatures,
} from '../messages.ts';

export const HOTSTUFF_MESSAGE_VERSION = 1;

export const HotStuffTypeCode = {
  proposal: 16,
  vote: 17,
  qc: 18,
  decide: 19,
  timeout: 20,
} as const;
export type HotStuffMessageType = keyof typeof HotStuffTypeCode;

/** Kind bytes of the signing hashes (consensus-message domain; PBFT uses 1–5). */
const SigningKind = { proposal: 16, timeout: 20, prepare: 21, 'pre-commit': 22 } as const;

export type VotePhase = 'prepare' | 'pre-commit' | 'commit';
export type QcPhase = 'prepare' | 'pre-commit';
const PhaseCode: Record<VotePhase, number> = { prepare: 1, 'pre-commit': 2, commit: 3 };
const PHASES: readonly VotePhase[] = ['prepare', 'pre-commit', 'commit'];

/** q PREPARE or PRE-COMMIT votes for one (height, view, block). */
export interface QuorumCertificate {
  readonly phase: QcPhase;
  readonly height: number;
  readonly view: number;
  readonly blockHash: Uint8Array;
  readonly signatures: readonly ValidatorSignature[];
}

/** What one validator's TIMEOUT signed: its view, and its highQC's view and block (if any). */
export interface TimeoutSignature {
  readonly validatorIndex: number;
  readonly highQC: { readonly view: number; readonly blockHash: Uint8Array } | null;
  readonly signature: Uint8Array;
}

/** q TIMEOUTs of (height, view): whoever holds it may enter view + 1. */
export interface TimeoutCertificate {
  readonly height: number;
  readonly view: number;
  readonly signatures: readonly TimeoutSignature[];
}

export interface Proposal {
  readonly type: 'proposal';
  readonly height: number;
  readonly view: number;
  readonly validatorIndex: number;
  /** The highest PREPARE QC the leader holds at this height (its block is this block). */
  readonly justify: QuorumCertificate | null;
  /** The timeout certificate of view − 1 (null in view 0). */
  readonly tc: TimeoutCertificate | null;
  readonly signature: Uint8Array;
  readonly block: SealedBlock;
}

export interface HotStuffVote {
  readonly type: 'vote';
  readonly phase: VotePhase;
  readonly height: number;
  readonly view: number;
  readonly blockHash: Uint8Array;
  readonly validatorIndex: number;
  readonly signature: Uint8Array;
  /** A COMMIT's signed vote time (ms since epoch); 0 for the other phases. */
  readonly timestamp: number;
}

export interface QcMessage {
  readonly type: 'qc';
  readonly qc: QuorumCertificate;
}

export interface Decide {
  readonly type: 'decide';
  readonly certificate: CommitCertificate;
}

export interface Timeout {
  readonly type: 'timeout';
  readonly height: number;
  /** The view this replica gives up on. */
  readonly view: number;
  readonly validatorIndex: number;
  readonly highQC: QuorumCertificate | null;
  /** Certificate of height − 1: lets a lagging replica learn it is behind. */
  readonly lastCommit: CommitCertificate | null;
  /** The TC that brought it into `view` (null in view 0 or when it came by a QC). */
  readonly tc: TimeoutCertificate | null;
  readonly signature: Uint8Array;
  /** highQC's block: unsigned attachment, bound by highQC.blockHash. */
  readonly highBlock: SealedBlock | null;
}

export type HotStuffMessage = Proposal | HotStuffVote | QcMessage | Decide | Timeout;

// ---------------------------------------------------------------------------------------------
// Signing hashes

function kindHash(
  kind: number,
  chainId: string,
  height: number,
  view: number,
  blockHash: Uint8Array,
): Uint8Array {
  return taggedHash(
    DomainTag.consensusMessage,
    encode((w) =>
      w.u8(kind).string(chainId).varuint(height).varuint(view).fixed(blockHash, HASH_LENGTH),
    ),
  );
}

export function proposalSigningHash(
  chainId: string,
  height: number,
  view: number,
  blockHash: Uint8Array,
): Uint8Array {
  return kindHash(SigningKind.proposal, chainId, height, view, blockHash);
}

export function hotStuffVoteSigningHash(
  phase: VotePhase,
  chainId: string,
  height: number,
  view: number,
  blockHash: Uint8Array,
  timestamp: number,
): Uint8Array {
  if (phase === 'commit')
    return voteSigningHash('commit', chainId, height, view, blockHash, timestamp);
  return kindHash(SigningKind[phase], chainId, height, view, blockHash);
}

export function timeoutSigningHash(
  chainId: string,
  height: number,
  view: number,
  highQC: { readonly view: number; readonly blockHash: Uint8Array } | null,
): Uint8Array {
  return taggedHash(
    DomainTag.consensusMessage,
    encode((w) => {
      w.u8(SigningKind.timeout).string(chainId).varuint(height).varuint(view);
      w.bool(highQC !== null);
      if (highQC !== null) w.varuint(highQC.view).fixed(highQC.blockHash, HASH_LENGTH);
    }),
  );
}

/** The 32 bytes the sender of a signed message signed (null for QC and DECIDE). */
export function hotStuffSigningHash(chainId: string, m: HotStuffMessage): Uint8Array | null {
  switch (m.type) {
    case 'proposal':
      return proposalSigningHash(chainId, m.height, m.view, m.block.hash);
    case 'vote':
      return hotStuffVoteSigningHash(m.phase, chainId, m.height, m.view, m.blockHash, m.timestamp);
    case 'timeout':
      return timeoutSigningHash(chainId, m.height, m.view, m.highQC);
    case 'qc':
    case 'decide':
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Writers

export function writeQc(w: Writer, qc: QuorumCertificate): void {
  w.u8(PhaseCode[qc.phase]).varuint(qc.height).varuint(qc.view).fixed(qc.blockHash, HASH_LENGTH);
  writeSignatures(w, qc.signatures);
}

export function writeTc(w: Writer, tc: TimeoutCertificate): void {
  w.varuint(tc.height).varuint(tc.view);
  w.list(tc.signatures, (ww, s) => {
    ww.u16(s.validatorIndex).bool(s.highQC !== null);
    if (s.highQC !== null) ww.varuint(s.highQC.view).fixed(s.highQC.blockHash, HASH_LENGTH);
    ww.fixed(s.signature, SIGNATURE_LENGTH);
  });
}

function optional<T>(w: Writer, value: T | null, write: (w: Writer, v: T) => void): void {
  w.bool(value !== null);
  if (value !== null) write(w, value);
}

export function writeHotStuffMessage(w: Writer, m: HotStuffMessage): void {
  w.u8(HOTSTUFF_MESSAGE_VERSION).u8(HotStuffTypeCode[m.type]);
  switch (m.type) {
    case 'proposal':
      w.varuint(m.height).varuint(m.view).u16(m.validatorIndex);
      optional(w, m.justify, writeQc);
      optional(w, m.tc, writeTc);
      w.fixed(m.signature, SIGNATURE_LENGTH).bytes(m.block.encoded);
      return;
    case 'vote':
      w.u8(PhaseCode[m.phase]).varuint(m.height).varuint(m.view).fixed(m.blockHash, HASH_LENGTH);
      w.u16(m.validatorIndex).fixed(m.signature, SIGNATURE_LENGTH);
      if (m.phase === 'commit') w.varuint(m.timestamp);
      return;
    case 'qc':
      writeQc(w, m.qc);
      return;
    case 'decide':
      writeCertificate(w, m.certificate);
      return;
    case 'timeout':
      w.varuint(m.height).varuint(m.view).u16(m.validatorIndex);
      optional(w, m.highQC, writeQc);
      optional(w, m.lastCommit, writeCertificate);
      optional(w, m.tc, writeTc);
      w.fixed(m.signature, SIGNATURE_LENGTH);
      optional(w, m.highBlock, (ww, b) => ww.bytes(b.encoded));
      return;
  }
}

const encodings = new WeakMap<HotStuffMessage, Uint8Array>();

/** The canonical bytes of `m`, computed once per message object (re-sends reuse them). */
export function encodeHotStuffMessage(m: HotStuffMessage): Uint8Array {
  const cached = encodings.get(m);
  if (cached !== undefined) return cached;
  let size = 512;
  if (m.type === 'proposal') size += m.block.encoded.length;
  if (m.type === 'timeout' && m.highBlock !== null) size += m.highBlock.encoded.length;
  const bytes = encode((w) => writeHotStuffMessage(w, m), size);
  encodings.set(m, bytes);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Strict readers

function readPhase(r: Reader, allowCommit: boolean): VotePhase {
  const code = r.u8();
  const phase = PHASES[code - 1];
  if (phase === undefined || (!allowCommit && phase === 'commit')) {
    throw new CivitasError('CODEC_BAD_VALUE', `unknown hotstuff phase ${code}`, { phase: code });
  }
  return phase;
}

export function readQc(r: Reader): QuorumCertificate {
  const phase = readPhase(r, false) as QcPhase;
  const height = r.varuint();
  const view = r.varuint();
  const blockHash = r.fixed(HASH_LENGTH);
  const signatures = readSignatures(r, 'quorum certificate');
  return { phase, height, view, blockHash, signatures };
}

export function readTc(r: Reader): TimeoutCertificate {
  const height = r.varuint();
  const view = r.varuint();
  const signatures = r.list(Limits.validators, (rr) => {
    const validatorIndex = rr.u16();
    const highQC = rr.bool() ? { view: rr.varuint(), blockHash: rr.fixed(HASH_LENGTH) } : null;
    return { validatorIndex, highQC, signature: rr.fixed(SIGNATURE_LENGTH) };
  });
  expectIncreasingSigners(signatures, 'timeout certificate');
  return { height, view, signatures };
}

export function readHotStuffMessage(r: Reader): HotStuffMessage {
  expectVersion(r, HOTSTUFF_MESSAGE_VERSION, 'hotstuff message');
  const code = r.u8();
  switch (code) {
    case HotStuffTypeCode.proposal: {
      const height = r.varuint();
      const view = r.varuint();
      const validatorIndex = r.u16();
      const justify = r.bool() ? readQc(r) : null;
      const tc = r.bool() ? readTc(r) : null;
      const signature = r.fixed(SIGNATURE_LENGTH);
      const block = readBlockBytes(r);
      return { type: 'proposal', height, view, validatorIndex, justify, tc, signature, block };
    }
    case HotStuffTypeCode.vote: {
      const phase = readPhase(r, true);
      const height = r.varuint();
      const view = r.varuint();
      const blockHash = r.fixed(HASH_LENGTH);
      const validatorIndex = r.u16();
      const signature = r.fixed(SIGNATURE_LENGTH);
      const timestamp = phase === 'commit' ? r.varuint() : 0;
      return { type: 'vote', phase, height, view, blockHash, validatorIndex, signature, timestamp };
    }
    case HotStuffTypeCode.qc:
      return { type: 'qc', qc: readQc(r) };
    case HotStuffTypeCode.decide:
      return { type: 'decide', certificate: readCertificate(r) };
    case HotStuffTypeCode.timeout: {
      const height = r.varuint();
      const view = r.varuint();
      const validatorIndex = r.u16();
      const highQC = r.bool() ? readQc(r) : null;
      const lastCommit = r.bool() ? readCertificate(r) : null;
      const tc = r.bool() ? readTc(r) : null;
      const signature = r.fixed(SIGNATURE_LENGTH);
      const highBlock = r.bool() ? readBlockBytes(r) : null;
      return {
        type: 'timeout',
        height,
        view,
        validatorIndex,
        highQC,
        lastCommit,
        tc,
        signature,
        highBlock,
      };
    }
    default:
      throw new CivitasError('CODEC_BAD_VALUE', `unknown hotstuff message type ${code}`, {
        type: code,
      });
  }
}

/** Strict decode of a HotStuff message from the network or the WAL. */
export function decodeHotStuffMessage(bytes: Uint8Array): HotStuffMessage {
  return decodeBoundedMessage(bytes, 'hotstuff message', readHotStuffMessage);
}

/** Height and view a message is about. */
export function positionOf(m: HotStuffMessage): { height: number; view: number } {
  switch (m.type) {
    case 'qc':
      return { height: m.qc.height, view: m.qc.view };
    case 'decide':
      return { height: m.certificate.height, view: m.certificate.view };
    default:
      return { height: m.height, view: m.view };
  }
}

/** What a signed message endorses: two different digests at one (kind, h, v) are equivocation. */
export function hotStuffDigestOf(m: HotStuffMessage): Uint8Array {
  switch (m.type) {
    case 'proposal':
      return m.block.hash;
    case 'vote':
      return m.blockHash;
    case 'qc':
      return m.qc.blockHash;
    case 'decide':
      return m.certificate.blockHash;
    case 'timeout':
      return timeoutSigningHash('', m.height, m.view, m.highQC);
  }
}

/** The kind under which the simulator's checker tracks what a replica signed. */
export function signedKindOf(m: HotStuffMessage): string {
  return m.type === 'vote' ? `hs-${m.phase}` : `hs-${m.type}`;
}

/** One line for logs and traces. */
export function describeHotStuffMessage(m: HotStuffMessage): string {
  const { height, view } = positionOf(m);
  const d = toHex(hotStuffDigestOf(m).subarray(0, 4));
  switch (m.type) {
    case 'proposal':
      return `hs-proposal h=${height} v=${view} from=${m.validatorIndex} block=${d} justify=${m.justify ? `v${m.justify.view}` : '-'}`;
    case 'vote':
      return `hs-${m.phase} h=${height} v=${view} from=${m.validatorIndex} block=${d}`;
    case 'qc':
      return `hs-qc ${m.qc.phase} h=${height} v=${view} block=${d} sigs=${m.qc.signatures.length}`;
    case 'decide':
      return `hs-decide h=${height} v=${view} block=${d} sigs=${m.certificate.signatures.length}`;
    case 'timeout':
      return `hs-timeout h=${height} v=${view} from=${m.validatorIndex} highQC=${m.highQC ? `v${m.highQC.view}` : '-'}`;
  }
}
