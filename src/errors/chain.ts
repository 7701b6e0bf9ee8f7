/**
 * The chain's objects and their rules (src/chain): addresses, txs, blocks, commit
 * certificates, validation, genesis, validator sets, Merkle proofs. The TX_* codes are also
 * what mempool admission and the tx API answer, so they carry their own statuses and labels.
 */
import { BAD_REQUEST, type CodeSpec, MALFORMED, SERVER_ERROR } from './spec.ts';

export const CHAIN_ERRORS = {
  ADDRESS_INVALID: { ...BAD_REQUEST, description: 'not a 20-byte hex address' },

  BLOCK_BAD_HEIGHT: { ...SERVER_ERROR, description: "height does not follow the parent's" },
  BLOCK_BAD_LAST_COMMIT: {
    ...SERVER_ERROR,
    description: 'lastCommit is missing, present at height 1, or not a certificate of the parent',
  },
  BLOCK_BAD_LAST_COMMIT_HASH: {
    ...SERVER_ERROR,
    description: 'lastCommitHash does not match the carried certificate',
  },
  BLOCK_BAD_PARENT: { ...SERVER_ERROR, description: "parentHash is not the parent block's hash" },
  BLOCK_BAD_PROPOSER: { ...SERVER_ERROR, description: 'the proposer is not a validator' },
  BLOCK_BAD_RECEIPT_ROOT: { ...SERVER_ERROR, description: 'receiptRoot differs from re-execution' },
  BLOCK_BAD_STATE_ROOT: { ...SERVER_ERROR, description: 'stateRoot differs from re-execution' },
  BLOCK_BAD_TIME: {
    ...SERVER_ERROR,
    description: "timestamp is not the last commit's median vote time, or not after the parent's",
  },
  BLOCK_BAD_TX_ROOT: { ...SERVER_ERROR, description: 'txRoot does not match the txs' },
  BLOCK_BAD_TX_SIGNATURE: { ...SERVER_ERROR, description: 'a tx in the block has a bad signature' },
  BLOCK_BAD_NEXT_VALIDATOR_SET: {
    ...SERVER_ERROR,
    description: 'nextValidatorSetHash is not the set in force after the block',
  },
  BLOCK_BAD_VALIDATOR_SET: {
    ...SERVER_ERROR,
    description: 'validatorSetHash is not the hash of the validator set in force',
  },
  BLOCK_DUPLICATE_TX: { ...SERVER_ERROR, description: 'a tx appears twice in the block' },
  BLOCK_TOO_LARGE: { ...SERVER_ERROR, description: 'the txs exceed params.maxBlockBytes' },
  BLOCK_TOO_MANY_TXS: { ...SERVER_ERROR, description: 'more txs than params.maxBlockTxs' },
  BLOCK_TX_ALREADY_COMMITTED: {
    ...SERVER_ERROR,
    description: 'a tx in the block is already committed',
  },
  BLOCK_WRONG_CHAIN: { ...SERVER_ERROR, description: 'the header names another chain' },

  CERT_BAD_SIGNATURE: { ...SERVER_ERROR, description: 'a certificate signature does not verify' },
  CERT_BAD_SIGNER: { ...SERVER_ERROR, description: 'a signer index is out of range or repeated' },
  CERT_NO_QUORUM: { ...SERVER_ERROR, description: 'fewer signatures than a quorum' },
  CERT_WRONG_BLOCK: { ...SERVER_ERROR, description: 'the certificate signs another block hash' },
  CERT_WRONG_HEIGHT: { ...SERVER_ERROR, description: 'the certificate is for another height' },

  GENESIS_INVALID: { ...SERVER_ERROR, description: 'the genesis document breaks a rule' },
  GENESIS_NOT_FOUND: { ...SERVER_ERROR, description: 'the genesis file cannot be read' },

  MERKLE_BAD_INDEX: {
    ...SERVER_ERROR,
    description: 'a proof was asked for a leaf not in the tree',
  },

  TX_ALREADY_COMMITTED: {
    status: 409,
    gossip: 'ignore',
    txReject: 'committed',
    description: 'the tx is already in a committed block',
  },
  // The MALFORMED TX_* codes are the tx shape rules (src/chain/tx.ts), raised by the decoder and
  // the encoder alike: a peer that gossips such a tx misbehaves as with bytes that do not decode.
  TX_BAD_COSIGNATURE_COUNT: {
    ...MALFORMED,
    description: 'a tx does not carry exactly one cosignature per cosigner',
  },
  TX_BAD_OP_COUNT: { ...MALFORMED, description: 'a tx carries no op, or more than Limits.txOps' },
  TX_BAD_SIGNATURE: {
    status: 400,
    gossip: 'reject',
    txReject: 'signature',
    description: "the sender's signature or a cosignature of the tx does not verify",
  },
  TX_COSIGNER_IS_SENDER: { ...MALFORMED, description: 'a cosigner of the tx is its sender' },
  TX_DUPLICATE_COSIGNER: { ...MALFORMED, description: 'a cosigner is listed twice in the tx' },
  TX_EXPIRED: {
    status: 400,
    gossip: 'ignore',
    txReject: 'expired',
    description: 'the tx expired below this height',
  },
  TX_LIFETIME_TOO_LONG: {
    status: 400,
    gossip: 'ignore',
    txReject: 'expired',
    description: 'the tx expires more than params.maxTxLifetime heights above the block',
  },
  TX_NONCE_TOO_HIGH: {
    status: 400,
    gossip: 'ignore',
    txReject: 'nonce',
    description: "the nonce is too far ahead of the account's",
  },
  TX_NONCE_TOO_LOW: {
    status: 400,
    gossip: 'ignore',
    txReject: 'nonce',
    description: 'the nonce is already used',
  },
  TX_NOT_V1: {
    ...MALFORMED,
    description: 'a version-1 tx with several ops, an expected revision or cosigners',
  },
  TX_TOO_MANY_COSIGNERS: {
    ...MALFORMED,
    description: 'a tx names more cosigners than Limits.txCosigners',
  },
  TX_WAIT_TIMEOUT: {
    status: 504,
    gossip: 'ignore',
    description: 'the tx was not committed within the requested wait',
  },
  TX_WRONG_CHAIN: {
    status: 400,
    gossip: 'reject',
    txReject: 'wrong_chain',
    description: 'the tx is for another chain',
  },

  VALIDATORS_BAD_KEY: { ...SERVER_ERROR, description: 'a validator key is not 32 bytes' },
  VALIDATORS_BAD_SIZE: { ...SERVER_ERROR, description: 'a validator set of unsupported size' },
  VALIDATORS_DUPLICATE: { ...SERVER_ERROR, description: 'a validator is listed twice' },
} as const satisfies Record<string, CodeSpec>;
