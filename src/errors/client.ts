/** The client SDK (src/client): reaching a node, and verifying what it answers. */
import { type CodeSpec, SERVER_ERROR } from './spec.ts';

export const CLIENT_ERRORS = {
  CLIENT_BAD_RESPONSE: { ...SERVER_ERROR, description: 'the node answered without JSON or proof' },
  CLIENT_BAD_URL: { ...SERVER_ERROR, description: 'the node URL is not an http(s) URL' },
  CLIENT_EVENTS_GAP: {
    ...SERVER_ERROR,
    description: 'a resumed event stream skipped blocks the node would not replay',
  },
  CLIENT_HTTP_ERROR: { ...SERVER_ERROR, description: 'the node answered an HTTP error, no code' },
  CLIENT_TIMEOUT: { ...SERVER_ERROR, description: 'the node did not answer in time' },
  CLIENT_UNREACHABLE: { ...SERVER_ERROR, description: 'the node cannot be reached' },
  CLIENT_WRONG_KEY: { ...SERVER_ERROR, description: 'a signing key is not the one the tx names' },

  VERIFY_CERTIFICATE: { ...SERVER_ERROR, description: 'the commit certificate does not verify' },
  VERIFY_VALIDATOR_CHANGE: {
    ...SERVER_ERROR,
    description: 'a validator-set change is not certified by the set before it',
  },
  VERIFY_VALIDATOR_SET: {
    ...SERVER_ERROR,
    description: 'the header names a validator set other than the one trusted at its height',
  },
  VERIFY_DISCLOSURE: {
    ...SERVER_ERROR,
    description: 'a disclosed field or its root does not verify against the anchored document',
  },
  VERIFY_DOC_NOT_ACTIVE: {
    ...SERVER_ERROR,
    description: 'the anchored document is absent, revoked or superseded',
  },
  VERIFY_HEADER: { ...SERVER_ERROR, description: 'the header bytes do not decode' },
  VERIFY_HEIGHT: { ...SERVER_ERROR, description: 'the header is not for the claimed height' },
  VERIFY_HISTORY_ENTRY: {
    ...SERVER_ERROR,
    description: 'a history entry does not match its proven tx (place, receipt, op or action)',
  },
  VERIFY_HISTORY_GAP: {
    ...SERVER_ERROR,
    description: 'the history index skips, repeats or reorders a revision',
  },
  VERIFY_HISTORY_MISMATCH: {
    ...SERVER_ERROR,
    description: "the replayed history differs from the object's proven rev and hist",
  },
  VERIFY_KEY: { ...SERVER_ERROR, description: 'the state proof is for another key' },
  VERIFY_NOT_COMMITTED: { ...SERVER_ERROR, description: 'the tx is not committed yet' },
  VERIFY_NOT_TRACKED: { ...SERVER_ERROR, description: 'the object carries no revision history' },
  VERIFY_NO_HEADER: { ...SERVER_ERROR, description: 'no committed block to verify against' },
  VERIFY_RECEIPT: { ...SERVER_ERROR, description: 'the receipt is for another tx' },
  VERIFY_RECEIPT_PROOF: { ...SERVER_ERROR, description: 'the receipt is not under receiptRoot' },
  VERIFY_STATE_PROOF: { ...SERVER_ERROR, description: 'the state proof does not match the root' },
  VERIFY_TX_HASH: { ...SERVER_ERROR, description: 'the tx bytes do not hash to the asked hash' },
  VERIFY_TX_PROOF: { ...SERVER_ERROR, description: 'the tx is not under the header txRoot' },
  VERIFY_WRONG_CHAIN: { ...SERVER_ERROR, description: 'the header is for another chain' },
} as const satisfies Record<string, CodeSpec>;
