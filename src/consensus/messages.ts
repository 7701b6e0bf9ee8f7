/**
 * The five PBFT messages, their one canonical encoding and what each signs.
 *
 * Every message is signed by the validator that sends it, so messages can be forwarded and
 * collected into proofs:
 * - PREPARE and COMMIT sign `voteSigningHash(kind, chainId, height, view, blockHash, time)`
 *   (src/chain/vote.ts; a COMMIT also signs its voter's clock reading), so 2f+1 COMMITs are
 *   a CommitCertificate as chain code checks it.
 * - A PRE-PREPARE signs only (height, view, blockHash), never the block body (Castro &
 *   Liskov §4.2): prepared certificates then carry 64 bytes for it, not the block. A NEW-VIEW
 *   carries the same pre-prepare signature for the block it proposes.
 * - VIEW-CHANGE and NEW-VIEW sign the hash of their encoding minus the signature and minus
 *   the attached block (the block is bound through its hash, which is signed).
 *
 * Encoding (v1): u8 version | u8 type | body
 *   1 PRE-PREPARE: varuint height | varuint view | u16 validator | 64 sig | bytes block
 *   2 PREPARE: varuint height | varuint view | 32 blockHash | u16 validator | 64 sig
 *   3 COMMIT: as PREPARE, then varuint timestamp (the signed vote time, chain/vote.ts)
 *   4 VIEW-CHANGE: varuint height | varuint view | u16 validator | bool [lastCommit cert] |
 *       bool [prepared certificate] | 64 sig | bool [bytes preparedBlock]
 *   5 NEW-VIEW: varuint height | varuint view | u16 validator |
 *       list of VIEW-CHANGE (without block, validators strictly increasing) | 32 blockHash |
 *       64 prePrepareSig | 64 sig | bytes block
 *   prepared certificate: varuint view | 32 blockHash | 64 prePrepareSig |
 *       list of (u16 validator | 64 sig), validators strictly increasing
 */

import { decodeBlock, type SealedBlock } from '../chain/block.ts';
import { type CommitCertificate, readCertificate, writeCertificate } from '../chain/certificate.ts';
import { Limits } from '../chain/limits.ts';
import { voteSigningHash } from '../chain/vote.ts';
import { decode, expectVersion, type Reader } from '../codec/reader.ts';
import { encode, type Writer } from '../codec/writer.ts';
import { toHex } from '../crypto/bytes.ts';
import { SIGNATURE_LENGTH } from '../crypto/ed25519.ts';
import { DomainTag, HASH_LENGTH, taggedHash } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';

/**
 * The full form; the node's compact form of block-carrying messages is 2 (src/node). COMMIT
 * has carried its signed vote time since certificate v2 (chain/certificate.ts): a node of an
 * earlier build rejects such COMMITs as malformed (trailing bytes), never misreads them.
 */
export const MESSAGE_VERSION = 1;

/** Wire type bytes; also the kind byte inside the consensus-message signing hashes. */
export const MessageTypeCode = {
  'pre-prepare': 1,
  prepare: 2,
  commit: 3,
  'view-change': 4,
  'new-view': 5,
} as const;
export type MessageType = keyof typeof MessageTypeCode;

/**
 * The largest message a decoder accepts: one block at the block size limit plus a NEW-VIEW's
 * worth of view changes (each ≤ two lists of `Limits.validators` signatures).
 */
export const MAX_MESSAGE_BYTES = Limits.blockBytes + 8 * 1024 * 1024;

/** A validator's signature, named by its index in the height's validator set. */
export interface ValidatorSignature {
  readonly validatorIndex: number;
  readonly signature: Uint8Array;
}

export interface PrePrepare {
  readonly type: 'pre-prepare';
  readonly height: number;
  readonly view: number;
  readonly validatorIndex: number;
  readonly block: SealedBlock;
  readonly signature: Uint8Array;
}

export interface Vote {
  readonly type: 'prepare' | 'commit';
  readonly height: number;
  readonly view: number;
  readonly blockHash: Uint8Array;
  readonly validatorIndex: number;
  readonly signature: Uint8Array;
  /** A COMMIT's signed vote time (ms since epoch); 0 for a PREPARE, which carries none. */
  readonly timestamp: number;
}

/** Proof that a block was prepared in `view`: the primary's pre-prepare + quorum−1 PREPAREs. */
export interface PreparedCertificate {
  readonly view: number;
  readonly blockHash: Uint8Array;
  readonly prePrepareSignature: Uint8Array;
  readonly prepares: readonly ValidatorSignature[];
}

export interface ViewChange {
  readonly type: 'view-change';
  readonly height: number;
  /** The view being moved to. */
  readonly view: number;
  readonly validatorIndex: number;
  /** Certificate of height − 1 (null at height 1): lets a lagging replica learn it is behind. */
  readonly lastCommit: CommitCertificate | null;
  /** The highest-view prepared certificate this replica holds at this height. */
  readonly prepared: PreparedCertificate | null;
  readonly signature: Uint8Array;
  /** The prepared block's body: unsigned attachment, bound by prepared.blockHash. */
  readonly preparedBlock: SealedBlock | null;
}

export interface NewView {
  readonly type: 'new-view';
  readonly height: number;
  readonly view: number;
  readonly validatorIndex: number;
  /** The quorum of VIEW-CHANGEs that justify the choice, carried without their blocks. */
  readonly viewChanges: readonly ViewChange[];
  readonly blockHash: Uint8Array;
  /** Pre-prepare signature of (height, view, blockHash) by the new primary. */
  readonly prePrepareSignature: Uint8Array;
  readonly signature: Uint8Array;
  readonly block: SealedBlock;
}

export type ConsensusMessage = PrePrepare | Vote | ViewChange | NewView;

// ---------------------------------------------------------------------------------------------
// Signing hashes

export function prePrepareSigningHash(
  chainId: string,
  height: number,
  view: number,
  blockHash: Uint8Array,
): Uint8Array {
  return taggedHash(
    DomainTag.consensusMessage,
    encode((w) =>
      w
        .u8(MessageTypeCode['pre-prepare'])
        .string(chainId)
        .varuint(height)
        .varuint(view)
        .fixed(blockHash, HASH_LENGTH),
    ),
  );
}

export function viewChangeSigningHash(chainId: string, vc: ViewChange): Uint8Array {
  return taggedHash(
    DomainTag.consensusMessage,
    encode((w) => {
      w.u8(MessageTypeCode['view-change']).string(chainId);
      writeViewChangeBody(w, vc);
    }),
  );
}

export function newViewSigningHash(chainId: string, nv: NewView): Uint8Array {
  return taggedHash(
    DomainTag.consensusMessage,
    encode((w) => {
      w.u8(MessageTypeCode['new-view']).string(chainId);
      writeNewViewBody(w, nv);
    }),
  );
}

// Messages are immutable once decoded or built, so the hash each one signs is computed once
// per (message object, chain) — a relayed message is checked by many replicas in one process
// (the simulator) and a signing hash costs an encode plus a hash.
const signingHashes = new WeakMap<ConsensusMessage, { chainId: string; hash: Uint8Array }>();

/** The 32 bytes the sender of `m` signed. */
export function signingHashOf(chainId: string, m: ConsensusMessage): Uint8Array {
  const cached = signingHashes.get(m);
  if (cached !== undefined && cached.chainId === chainId) return cached.hash;
  const hash = computeSigningHash(chainId, m);
  signingHashes.set(m, { chainId, hash });
  return hash;
}

function computeSigningHash(chainId: string, m: ConsensusMessage): Uint8Array {
  switch (m.type) {
    case 'pre-prepare':
      return prePrepareSigningHash(chainId, m.height, m.view, m.block.hash);
    case 'prepare':
      return voteSigningHash('prepare', chainId, m.height, m.view, m.blockHash);
    case 'commit':
      return voteSigningHash('commit', chainId, m.height, m.view, m.blockHash, m.timestamp);
    case 'view-change':
      return viewChangeSigningHash(chainId, m);
    case 'new-view':
      return newViewSigningHash(chainId, m);
  }
}

// ---------------------------------------------------------------------------------------------
// Writers

/** A list of (u16 validator | 64 sig); HotStuff's certificates use it too. */
export function writeSignatures(w: Writer, sigs: readonly ValidatorSignature[]): void {
  w.list(sigs, (ww, s) => ww.u16(s.validatorIndex).fixed(s.signature, SIGNATURE_LENGTH));
}

export function writePreparedCertificate(w: Writer, p: PreparedCertificate): void {
  w.varuint(p.view).fixed(p.blockHash, HASH_LENGTH).fixed(p.prePrepareSignature, SIGNATURE_LENGTH);
  writeSignatures(w, p.prepares);
}

function writeViewChangeBody(w: Writer, vc: ViewChange): void {
  w.varuint(vc.height).varuint(vc.view).u16(vc.validatorIndex);
  w.bool(vc.lastCommit !== null);
  if (vc.lastCommit !== null) writeCertificate(w, vc.lastCommit);
  w.bool(vc.prepared !== null);
  if (vc.prepared !== null) writePreparedCertificate(w, vc.prepared);
}

function writeViewChangeSigned(w: Writer, vc: ViewChange): void {
  writeViewChangeBody(w, vc);
  w.fixed(vc.signature, SIGNATURE_LENGTH);
}

function writeNewViewBody(w: Writer, nv: NewView): void {
  w.varuint(nv.height).varuint(nv.view).u16(nv.validatorIndex);
  w.list(nv.viewChanges, writeViewChangeSigned);
  w.fixed(nv.blockHash, HASH_LENGTH).fixed(nv.prePrepareSignature, SIGNATURE_LENGTH);
}

export function writeMessage(w: Writer, m: ConsensusMessage): void {
  w.u8(MESSAGE_VERSION).u8(MessageTypeCode[m.type]);
  switch (m.type) {
    case 'pre-prepare':
      w.varuint(m.height).varuint(m.view).u16(m.validatorIndex);
      w.fixed(m.signature, SIGNATURE_LENGTH).bytes(m.block.encoded);
      return;
    case 'prepare':
    case 'commit':
      w.varuint(m.height).varuint(m.view).fixed(m.blockHash, HASH_LENGTH);
      w.u16(m.validatorIndex).fixed(m.signature, SIGNATURE_LENGTH);
      if (m.type === 'commit') w.varuint(m.timestamp);
      return;
    case 'view-change':
      writeViewChangeSigned(w, m);
      w.bool(m.preparedBlock !== null);
      if (m.preparedBlock !== null) w.bytes(m.preparedBlock.encoded);
      return;
    case 'new-view':
      writeNewViewBody(w, m);
      w.fixed(m.signature, SIGNATURE_LENGTH).bytes(m.block.encoded);
      return;
  }
}

// Own messages are re-sent on retransmission; their bytes are computed once.
const encodings = new WeakMap<ConsensusMessage, Uint8Array>();

export function encodeMessage(m: ConsensusMessage): Uint8Array {
  const cached = encodings.get(m);
  if (cached !== undefined) return cached;
  const bytes = encodeUncached(m);
  encodings.set(m, bytes);
  return bytes;
}

function encodeUncached(m: ConsensusMessage): Uint8Array {
  let size = 256;
  if (m.type === 'pre-prepare' || m.type === 'new-view') size += m.block.encoded.length;
  if (m.type === 'view-change' && m.preparedBlock) size += m.preparedBlock.encoded.length;
  return encode((w) => writeMessage(w, m), size);
}

// ---------------------------------------------------------------------------------------------
// Strict readers

/** One encoding per set of signers: strictly increasing validator indexes, no repeats. */
export function expectIncreasingSigners(
  sigs: ReadonlyArray<{ readonly validatorIndex: number }>,
  what: string,
): void {
  for (let i = 1; i < sigs.length; i++) {
    if (sigs[i]!.validatorIndex <= sigs[i - 1]!.validatorIndex) {
      throw new CivitasError('CODEC_BAD_ORDER', `${what}: signers must be strictly increasing`);
    }
  }
}

/** A list written by `writeSignatures`, signers strictly increasing. */
export function readSignatures(r: Reader, what: string): ValidatorSignature[] {
  const sigs = r.list(Limits.validators, (rr) => ({
    validatorIndex: rr.u16(),
    signature: rr.fixed(SIGNATURE_LENGTH),
  }));
  expectIncreasingSigners(sigs, what);
  return sigs;
}

export function readPreparedCertificate(r: Reader): PreparedCertificate {
  const view = r.varuint();
  const blockHash = r.fixed(HASH_LENGTH);
  const prePrepareSignature = r.fixed(SIGNATURE_LENGTH);
  const prepares = readSignatures(r, 'prepared certificate');
  return { view, blockHash, prePrepareSignature, prepares };
}

/** A `bytes block` field: a sealed block of at most the block limit. */
export function readBlockBytes(r: Reader): SealedBlock {
  return decodeBlock(r.bytes(Limits.blockBytes));
}

function readViewChangeSigned(r: Reader): Omit<ViewChange, 'preparedBlock'> {
  const height = r.varuint();
  const view = r.varuint();
  const validatorIndex = r.u16();
  const lastCommit = r.bool() ? readCertificate(r) : null;
  const prepared = r.bool() ? readPreparedCertificate(r) : null;
  const signature = r.fixed(SIGNATURE_LENGTH);
  return { type: 'view-change', height, view, validatorIndex, lastCommit, prepared, signature };
}

/**
 * `readBlock` reads a `bytes block` field; the node's compact wire form (src/node) passes one
 * that returns the block it already rebuilt and checked, skipping a second decode.
 */
export function readMessage(
  r: Reader,
  readBlock: (r: Reader) => SealedBlock = readBlockBytes,
): ConsensusMessage {
  expectVersion(r, MESSAGE_VERSION, 'consensus message');
  const code = r.u8();
  switch (code) {
    case MessageTypeCode['pre-prepare']: {
      const height = r.varuint();
      const view = r.varuint();
      const validatorIndex = r.u16();
      const signature = r.fixed(SIGNATURE_LENGTH);
      const block = readBlock(r);
      return { type: 'pre-prepare', height, view, validatorIndex, signature, block };
    }
    case MessageTypeCode.prepare:
    case MessageTypeCode.commit: {
      const height = r.varuint();
      const view = r.varuint();
      const blockHash = r.fixed(HASH_LENGTH);
      const validatorIndex = r.u16();
      const signature = r.fixed(SIGNATURE_LENGTH);
      const type = code === MessageTypeCode.prepare ? 'prepare' : 'commit';
      const timestamp = type === 'commit' ? r.varuint() : 0;
      return { type, height, view, blockHash, validatorIndex, signature, timestamp };
    }
    case MessageTypeCode['view-change']: {
      const signed = readViewChangeSigned(r);
      const preparedBlock = r.bool() ? readBlock(r) : null;
      return { ...signed, preparedBlock };
    }
    case MessageTypeCode['new-view']: {
      const height = r.varuint();
      const view = r.varuint();
      const validatorIndex = r.u16();
      const viewChanges = r.list(Limits.validators, (rr) => ({
        ...readViewChangeSigned(rr),
        preparedBlock: null,
      }));
      for (let i = 1; i < viewChanges.length; i++) {
        if (viewChanges[i]!.validatorIndex <= viewChanges[i - 1]!.validatorIndex) {
          throw new CivitasError(
            'CODEC_BAD_ORDER',
            'new-view: view changes must be ordered by strictly increasing validator',
          );
        }
      }
      const blockHash = r.fixed(HASH_LENGTH);
      const prePrepareSignature = r.fixed(SIGNATURE_LENGTH);
      const signature = r.fixed(SIGNATURE_LENGTH);
      const block = readBlock(r);
      return {
        type: 'new-view',
        height,
        view,
        validatorIndex,
        viewChanges,
        blockHash,
        prePrepareSignature,
        signature,
        block,
      };
    }
    default:
      throw new CivitasError('CODEC_BAD_VALUE', `unknown consensus message type ${code}`, {
        type: code,
      });
  }
}

/**
 * Strict decode of one whole message of at most MAX_MESSAGE_BYTES (`what` names it in
 * errors); HotStuff's messages are read the same way.
 */
export function decodeBoundedMessage<T>(
  bytes: Uint8Array,
  what: string,
  read: (r: Reader) => T,
): T {
  if (!(bytes instanceof Uint8Array)) {
    throw new CivitasError('CODEC_BAD_INPUT', 'expected Uint8Array input');
  }
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new CivitasError(
      'CODEC_TOO_LARGE',
      `${what} of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`,
    );
  }
  return decode(bytes, read);
}

/** Strict decode of a message from the network or the WAL. */
export function decodeMessage(bytes: Uint8Array): ConsensusMessage {
  return decodeBoundedMessage(bytes, 'consensus message', readMessage);
}

/** The digest a message endorses (what two conflicting messages differ in). */
export function digestOf(m: ConsensusMessage): Uint8Array {
  switch (m.type) {
    case 'pre-prepare':
      return m.block.hash;
    case 'prepare':
    case 'commit':
    case 'new-view':
      return m.blockHash;
    case 'view-change':
      return taggedHash(
        DomainTag.consensusMessage,
        encode((w) => writeViewChangeSigned(w, m)),
      );
  }
}

/** One line for logs and traces. */
export function describeMessage(m: ConsensusMessage): string {
  const d = toHex(digestOf(m).subarray(0, 4));
  const base = `${m.type} h=${m.height} v=${m.view} from=${m.validatorIndex}`;
  if (m.type === 'view-change') {
    return `${base} prepared=${m.prepared ? `v${m.prepared.view}:${toHex(m.prepared.blockHash.subarray(0, 4))}` : '-'}`;
  }
  if (m.type === 'new-view') return `${base} block=${d} vcs=${m.viewChanges.length}`;
  return `${base} block=${d}`;
}
