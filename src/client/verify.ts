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
  type CommitCertificate,
  decodeCertificate,
  decodeHeader,
  decodeReceipt,
  type Header,
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
import {
  decodeStateProof,
  stateKeyHash,
  verifyStateProof as verifySmtProof,
} from '../state/smt/index.ts';
import { appModule } from './calls.ts';
import { type TrustedValidatorChanges, trustedSetAt } from './validator-changes.ts';

function fail(code: ErrorCode, message: string): never {
  throw new CivitasError(code, message);
}

/** Decodes what a node sent; bytes that do not decode fail the check with `code`. */
function decoded<T>(code: ErrorCode, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    return fail(code, `${what} does not decode: ${(err as Error).message}`);
  }
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
  trusted: Pick<TrustedChain, 'chainId' | 'validators' | 'changes'>,
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
  verifyCertified(header, blockHash, certificate, trusted, check);
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

/** What a client trusts: its own genesis file's chain id, validator set and state root. */
export interface TrustedChain {
  chainId: string;
  /** The genesis validator set (the set of height 1). */
  validators: ValidatorSet;
  /** The validator-set changes verified since genesis (verifyValidatorChanges); none: none. */
  changes?: TrustedValidatorChanges;
  /** The height-0 state root computed from the trusted genesis file (genesisStateRoot). */
  genesisStateRoot?: Uint8Array;
}

/**
 * Rules: the header names the validator set the client trusts at its height (a node hiding a
 * change is caught here), and the certificate carries a quorum of that set's COMMIT
 * signatures on the header's hash.
 */
function verifyCertified(
  header: Header,
  blockHash: Uint8Array,
  certificate: CommitCertificate,
  trusted: Pick<TrustedChain, 'chainId' | 'validators' | 'changes'>,
  check: SignatureCheck,
): void {
  const validators = trustedSetAt(trusted.validators, trusted.changes, header.height);
  if (!equalBytes(header.validatorSetHash, validators.hash)) {
    fail(
      'VERIFY_VALIDATOR_SET',
      `block ${header.height} names a validator set this client does not trust at that height (fetch and verify the validator changes: GET /validators/changes)`,
    );
  }
  try {
    verifyCertificate(
      certificate,
      { chainId: trusted.chainId, height: header.height, blockHash, validators },
      check,
    );
  } catch (err) {
    fail('VERIFY_CERTIFICATE', `commit certificate: ${(err as Error).message}`);
  }
}

/**
 * Checks a state proof for the key whose hash is `keyHash` and returns the proven value
 * (undefined: proven absent). In order: the proof is for that key; at height 0 (no header
 * yet) the proof matches the genesis state root the client computed itself; otherwise the
 * header is this chain's at the claimed height, the proof matches its stateRoot, and the
 * certificate carries a quorum of `validators` on that header's hash. Throws VERIFY_*.
 */
export function verifyProvenValue(
  keyHash: Uint8Array,
  p: AccountProofResponse,
  trusted: TrustedChain,
  check: SignatureCheck = verifyNoble,
): { height: number; value: Uint8Array | undefined } {
  if (
    !equalBytes(
      decoded('VERIFY_KEY', 'keyHash', () => fromHex(p.keyHash, HASH_LENGTH)),
      keyHash,
    )
  )
    fail('VERIFY_KEY', 'proof is for another key');
  // Bytes that do not decode are a failed check like any other lie.
  const value =
    p.value === null ? undefined : decoded('VERIFY_STATE_PROOF', 'value', () => fromHex(p.value!));
  const proof = decoded('VERIFY_STATE_PROOF', 'state proof', () =>
    decodeStateProof(fromHex(p.proofBytes)),
  );
  if (p.headerBytes === null || p.certificateBytes === null) {
    // Height 0 has no header or certificate: the genesis file itself is the trust anchor.
    if (p.height !== 0 || trusted.genesisStateRoot === undefined) {
      fail(
        'VERIFY_NO_HEADER',
        'no committed block yet: pass the genesis file to check the genesis state',
      );
    }
    if (!verifySmtProof(trusted.genesisStateRoot, keyHash, value, proof)) {
      fail('VERIFY_STATE_PROOF', 'state proof does not match the genesis state root');
    }
    return { height: 0, value };
  }
  const headerBytes = p.headerBytes;
  const header = decoded('VERIFY_HEADER', 'header', () => decodeHeader(fromHex(headerBytes)));
  if (header.chainId !== trusted.chainId)
    fail('VERIFY_WRONG_CHAIN', `header is for chain ${header.chainId}`);
  if (header.height !== p.height)
    fail('VERIFY_HEIGHT', 'header height differs from the claimed height');
  if (!verifySmtProof(header.stateRoot, keyHash, value, proof)) {
    fail('VERIFY_STATE_PROOF', 'state proof does not match the header stateRoot');
  }
  const certificateBytes = p.certificateBytes;
  const certificate = decoded('VERIFY_CERTIFICATE', 'certificate', () =>
    decodeCertificate(fromHex(certificateBytes)),
  );
  verifyCertified(header, headerHash(header), certificate, trusted, check);
  return { height: header.height, value };
}

/**
 * Checks an account answer: the state proof against the header's stateRoot, the header
 * against a quorum certificate. Returns the proven balance and nonce (zero if absent).
 */
export function verifyAccountProof(
  keyHash: Uint8Array,
  p: AccountProofResponse,
  trusted: TrustedChain,
  check: SignatureCheck = verifyNoble,
): { height: number; balance: bigint; nonce: number; present: boolean } {
  const { height, value } = verifyProvenValue(keyHash, p, trusted, check);
  const account = value === undefined ? { balance: 0n, nonce: 0 } : decodeAccount(value);
  return { height, balance: account.balance, nonce: account.nonce, present: value !== undefined };
}

/** What verifyStateProof reads of GET /state/:module/:id?proof=true (src/api/types.ts). */
export interface StateProofResponse {
  proof?: AccountProofResponse;
}

export interface VerifiedState {
  height: number;
  present: boolean;
  /** The proven stored bytes; undefined when the object is proven absent. */
  value: Uint8Array | undefined;
  /** The module's JSON view of the proven bytes, rendered here (the node's view is not used). */
  json: Record<string, unknown> | null;
}

/**
 * Checks a state object answer. The raw key comes from the module and id here, through the
 * client's own copy of the module (never from the node's `key`), so a proof of another
 * object fails with VERIFY_KEY; the rest is verifyProvenValue.
 */
export function verifyStateProof(
  module: string,
  id: string,
  response: StateProofResponse,
  trusted: TrustedChain,
  check: SignatureCheck = verifyNoble,
): VerifiedState {
  const objects = appModule(module).objects;
  const key = objects.key(id);
  if (response.proof === undefined) {
    fail('CLIENT_BAD_RESPONSE', 'the node answered without a proof (ask with proof: true)');
  }
  const { height, value } = verifyProvenValue(stateKeyHash(key), response.proof, trusted, check);
  return {
    height,
    present: value !== undefined,
    value,
    json: value === undefined ? null : objects.toJson(value, id),
  };
}
