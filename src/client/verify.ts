/**
 * Client-side verification: check what a node answered against a validator set the client
 * trusts (from its own genesis file), with nothing but pure functions. A node can only make
 * these checks pass by serving data that 2f+1 validators actually committed.
 *
 * Everything is checked over the canonical bytes in the response (decoded strictly); the
 * readable JSON views next to them are never trusted.
 */

import type { AccountProof, CommittedTxResponse } from '../api/types.ts';
import { decodeAccount } from '../app/bank/account.ts';
import {
  decodeCertificate,
  decodeHeader,
  decodeReceipt,
  headerHash,
  type MerkleProofJson,
  type SignatureCheck,
  txHashOfBytes,
  type ValidatorSet,
  verifyCertificate,
  verifyMerkleProof,
} from '../chain/index.ts';
import { equalBytes, fromHex, toHex } from '../crypto/bytes.ts';
import { verifyNoble } from '../crypto/ed25519.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError, type ErrorCode } from '../errors/index.ts';
import { decodeStateProof, verifyStateProof } from '../state/smt/index.ts';

function fail(code: ErrorCode, message: string): never {
  throw new CivitasError(code, message);
}

function proofFromJson(j: MerkleProofJson): {
  index: number;
  size: number;
  siblings: Uint8Array[];
} {
  return { index: j.index, size: j.size, siblings: j.siblings.map((s) => fromHex(s, HASH_LENGTH)) };
}

export interface VerifiedTx {
  height: number;
  blockHash: string;
  status: 'ok' | 'failed';
  code: string;
  signers: number;
}

/** What verifyTxProof reads of GET /txs/:hash for a committed tx (src/api/types.ts). */
export type TxProofResponse = Pick<
  CommittedTxResponse,
  | 'hash'
  | 'height'
  | 'txBytes'
  | 'receiptBytes'
  | 'proof'
  | 'receiptProof'
  | 'headerBytes'
  | 'certificateBytes'
>;

/**
 * Checks, in order: the tx bytes hash to the requested hash; the Merkle proof puts that hash
 * under the header's txRoot; the receipt is under receiptRoot and names the tx; the header
 * is at the claimed height of this chain; and the certificate carries a quorum of valid
 * COMMIT signatures from `validators` on that header's hash. Throws VERIFY_* on failure.
 *
 * The default signature check is the portable backend (@noble/curves), so the same code runs
 * in a browser; both backends follow one rule (src/crypto/ed25519.ts).
 */
export function verifyTxProof(
  expectedHash: Uint8Array,
  r: TxProofResponse,
  trusted: { chainId: string; validators: ValidatorSet },
  check: SignatureCheck = verifyNoble,
): VerifiedTx {
  const txBytes = fromHex(r.txBytes);
  if (!equalBytes(txHashOfBytes(txBytes), expectedHash))
    fail('VERIFY_TX_HASH', 'tx bytes do not hash to the requested hash');
  const header = decodeHeader(fromHex(r.headerBytes));
  if (header.chainId !== trusted.chainId)
    fail('VERIFY_WRONG_CHAIN', `header is for chain ${header.chainId}`);
  if (header.height !== r.height)
    fail('VERIFY_HEIGHT', 'header height differs from the claimed height');
  if (!verifyMerkleProof(header.txRoot, expectedHash, proofFromJson(r.proof))) {
    fail('VERIFY_TX_PROOF', 'Merkle proof does not place the tx under the header txRoot');
  }
  const receiptBytes = fromHex(r.receiptBytes);
  const receipt = decodeReceipt(receiptBytes);
  if (!equalBytes(receipt.txHash, expectedHash))
    fail('VERIFY_RECEIPT', 'receipt is for another tx');
  if (
    r.receiptProof.index !== r.proof.index ||
    !verifyMerkleProof(header.receiptRoot, receiptBytes, proofFromJson(r.receiptProof))
  ) {
    fail(
      'VERIFY_RECEIPT_PROOF',
      'Merkle proof does not place the receipt under the header receiptRoot',
    );
  }
  const blockHash = headerHash(header);
  const certificate = decodeCertificate(fromHex(r.certificateBytes));
  try {
    verifyCertificate(
      certificate,
      {
        chainId: trusted.chainId,
        height: header.height,
        blockHash,
        validators: trusted.validators,
      },
      check,
    );
  } catch (err) {
    fail('VERIFY_CERTIFICATE', `commit certificate: ${(err as Error).message}`);
  }
  return {
    height: header.height,
    blockHash: toHex(blockHash),
    status: receipt.status,
    code: receipt.code,
    signers: certificate.signatures.length,
  };
}

/** What verifyAccountProof reads of GET /accounts/:address?proof=true's `proof` (src/api/types.ts). */
export type AccountProofResponse = Pick<
  AccountProof,
  'height' | 'keyHash' | 'value' | 'proofBytes' | 'headerBytes' | 'certificateBytes'
>;

/**
 * Checks an account answer: the state proof against the header's stateRoot, the header
 * against a quorum certificate. Returns the proven balance and nonce (zero if absent).
 */
export function verifyAccountProof(
  keyHash: Uint8Array,
  p: AccountProofResponse,
  trusted: {
    chainId: string;
    validators: ValidatorSet;
    /** The height-0 state root computed from the trusted genesis file (genesisStateRoot). */
    genesisStateRoot?: Uint8Array;
  },
  check: SignatureCheck = verifyNoble,
): { height: number; balance: bigint; nonce: number; present: boolean } {
  if (!equalBytes(fromHex(p.keyHash, HASH_LENGTH), keyHash))
    fail('VERIFY_KEY', 'proof is for another key');
  const value = p.value === null ? undefined : fromHex(p.value);
  if (p.headerBytes === null || p.certificateBytes === null) {
    // Height 0 has no header or certificate: the genesis file itself is the trust anchor.
    if (p.height !== 0 || trusted.genesisStateRoot === undefined) {
      fail(
        'VERIFY_NO_HEADER',
        'no committed block yet: pass the genesis file to check the genesis state',
      );
    }
    const proof = decodeStateProof(fromHex(p.proofBytes));
    if (!verifyStateProof(trusted.genesisStateRoot, keyHash, value, proof)) {
      fail('VERIFY_STATE_PROOF', 'state proof does not match the genesis state root');
    }
    return provenAccount(0, value);
  }
  const header = decodeHeader(fromHex(p.headerBytes));
  if (header.chainId !== trusted.chainId || header.height !== p.height)
    fail('VERIFY_HEIGHT', 'header does not match');
  if (
    !verifyStateProof(header.stateRoot, keyHash, value, decodeStateProof(fromHex(p.proofBytes)))
  ) {
    fail('VERIFY_STATE_PROOF', 'state proof does not match the header stateRoot');
  }
  const certificate = decodeCertificate(fromHex(p.certificateBytes));
  try {
    verifyCertificate(
      certificate,
      {
        chainId: trusted.chainId,
        height: header.height,
        blockHash: headerHash(header),
        validators: trusted.validators,
      },
      check,
    );
  } catch (err) {
    fail('VERIFY_CERTIFICATE', `commit certificate: ${(err as Error).message}`);
  }
  return provenAccount(header.height, value);
}

function provenAccount(
  height: number,
  value: Uint8Array | undefined,
): { height: number; balance: bigint; nonce: number; present: boolean } {
  const account = value === undefined ? { balance: 0n, nonce: 0 } : decodeAccount(value);
  return { height, balance: account.balance, nonce: account.nonce, present: value !== undefined };
}
