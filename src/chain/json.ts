/**
 * JSON views of chain objects for the HTTP API and CLI: hex bytes, decimal strings for
 * amounts. Views are for reading; anything a client verifies travels as canonical bytes
 * (hex) next to the view and is decoded strictly, so a node cannot lie through the view.
 */
import { toHex } from '../crypto/bytes.ts';
import { addressOf } from './address.ts';
import type { SealedBlock } from './block.ts';
import type { CommitCertificate } from './certificate.ts';
import type { Header } from './header.ts';
import type { MerkleProof } from './merkle.ts';
import type { Receipt } from './receipt.ts';
import type { Tx } from './tx.ts';

export interface TxOpJson {
  module: string;
  method: string;
  /** Hex of the module's canonical argument bytes. */
  args: string;
  expectRev: number | null;
}

export interface TxJson {
  version: 1 | 2;
  chainId: string;
  sender: string;
  senderAddress: string;
  nonce: number;
  expiryHeight: number;
  ops: TxOpJson[];
  /** Cosigners' public keys, and their addresses in the same order. */
  cosigners: string[];
  cosignerAddresses: string[];
  signature: string;
  /** One per cosigner, in cosigner order. */
  cosignatures: string[];
}

export interface HeaderJson {
  chainId: string;
  height: number;
  parentHash: string;
  timestamp: number;
  proposer: string;
  txRoot: string;
  receiptRoot: string;
  stateRoot: string;
  validatorSetHash: string;
  nextValidatorSetHash: string;
  lastCommitHash: string;
}

export interface CertificateJson {
  height: number;
  view: number;
  blockHash: string;
  signers: number[];
}

export interface ReceiptJson {
  txHash: string;
  status: 'ok' | 'failed';
  code: string;
  events: Array<{ type: string; attributes: Record<string, string> }>;
  /** The index of the op that failed the tx; null when it succeeded or no op failed it. */
  failedOp: number | null;
}

export interface MerkleProofJson {
  index: number;
  size: number;
  siblings: string[];
}

export function txToJson(tx: Tx): TxJson {
  return {
    version: tx.version,
    chainId: tx.chainId,
    sender: toHex(tx.sender),
    senderAddress: toHex(addressOf(tx.sender)),
    nonce: tx.nonce,
    expiryHeight: tx.expiryHeight,
    ops: tx.ops.map((op) => ({
      module: op.module,
      method: op.method,
      args: toHex(op.args),
      expectRev: op.expectRev,
    })),
    cosigners: tx.cosigners.map(toHex),
    cosignerAddresses: tx.cosigners.map((key) => toHex(addressOf(key))),
    signature: toHex(tx.signature),
    cosignatures: tx.cosignatures.map(toHex),
  };
}

export function headerToJson(h: Header): HeaderJson {
  return {
    chainId: h.chainId,
    height: h.height,
    parentHash: toHex(h.parentHash),
    timestamp: h.timestamp,
    proposer: toHex(h.proposer),
    txRoot: toHex(h.txRoot),
    receiptRoot: toHex(h.receiptRoot),
    stateRoot: toHex(h.stateRoot),
    validatorSetHash: toHex(h.validatorSetHash),
    nextValidatorSetHash: toHex(h.nextValidatorSetHash),
    lastCommitHash: toHex(h.lastCommitHash),
  };
}

export function certificateToJson(c: CommitCertificate): CertificateJson {
  return {
    height: c.height,
    view: c.view,
    blockHash: toHex(c.blockHash),
    signers: c.signatures.map((s) => s.validatorIndex),
  };
}

export function receiptToJson(r: Receipt): ReceiptJson {
  return {
    txHash: toHex(r.txHash),
    status: r.status,
    code: r.code,
    events: r.events.map((e) => ({ type: e.type, attributes: Object.fromEntries(e.attributes) })),
    failedOp: r.failedOp,
  };
}

export function merkleProofToJson(p: MerkleProof): MerkleProofJson {
  return { index: p.index, size: p.size, siblings: p.siblings.map(toHex) };
}

export function blockToJson(b: SealedBlock): {
  hash: string;
  header: HeaderJson;
  txHashes: string[];
  lastCommit: CertificateJson | null;
} {
  return {
    hash: toHex(b.hash),
    header: headerToJson(b.header),
    txHashes: b.txHashes.map(toHex),
    lastCommit: b.lastCommit === null ? null : certificateToJson(b.lastCommit),
  };
}
