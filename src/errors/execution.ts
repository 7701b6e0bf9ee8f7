/**
 * Outcomes of executing a tx (src/app: the executor and the modules). A failed tx is not an
 * exception but a receipt carrying one of these codes. The *_BAD_ARGS codes are also thrown
 * when args are decoded or parsed from JSON outside execution (CLI, API): 400.
 */
import { ASSET_ERRORS } from './execution-asset.ts';
import { DOC_ERRORS } from './execution-doc.ts';
import { RECV_ERRORS } from './execution-recv.ts';
import { VALIDATORS_ERRORS } from './execution-validators.ts';
import { BAD_REQUEST, CONFLICT, type CodeSpec, FORBIDDEN, SERVER_ERROR } from './spec.ts';

/** The receipt code of a tx that succeeded; not an error, so not in the catalogue. */
export const RECEIPT_OK = 'OK';

export const EXECUTION_ERRORS = {
  ...ASSET_ERRORS,
  ...DOC_ERRORS,
  ...RECV_ERRORS,
  ...VALIDATORS_ERRORS,
  APP_BAD_ARGS: { ...BAD_REQUEST, description: "an op's args do not decode" },
  APP_EVENTS_TOO_LARGE: {
    ...BAD_REQUEST,
    description: 'the events exceed what a receipt carries (32, 16 attributes, 256-byte strings)',
  },
  APP_NO_REVISION: {
    ...BAD_REQUEST,
    description: 'the op expects a revision of an object that has none (an account)',
  },
  APP_TOO_MANY_READS: {
    ...BAD_REQUEST,
    description: 'a tx kept reading state keys it did not name (16 rounds)',
  },
  APP_UNKNOWN_METHOD: { ...BAD_REQUEST, description: 'no module handles the module and method' },
  APP_UNKNOWN_MODULE: {
    status: 404,
    gossip: 'ignore',
    description: 'no module of that name (GET /state/:module/:id, client state proofs)',
  },
  BANK_BAD_ARGS: { ...BAD_REQUEST, description: 'transfer arguments do not decode or move 0' },
  BANK_BAD_ID: { ...BAD_REQUEST, description: 'an account id is an address (40 hex)' },
  BANK_BAD_NONCE: { ...SERVER_ERROR, description: "the nonce is not the sender's next one" },
  BANK_BALANCE_OVERFLOW: {
    ...SERVER_ERROR,
    description: "the transfer would overflow the recipient's balance",
  },
  BANK_INSUFFICIENT_FUNDS: {
    ...SERVER_ERROR,
    description: "the sender's balance is below the amount",
  },
  FREEZE_ACTIVE: {
    status: 403,
    gossip: 'ignore',
    description: 'a freeze order stops this account or object from disposing of value',
  },
  FREEZE_ALREADY_ACTIVE: { ...CONFLICT, description: 'the object is already frozen' },
  FREEZE_ALREADY_APPROVED: {
    ...CONFLICT,
    description: 'this regulator already imposed (or lifted) this order',
  },
  FREEZE_BAD_ARGS: { ...BAD_REQUEST, description: 'freeze args are malformed' },
  FREEZE_BAD_ID: { ...BAD_REQUEST, description: 'not a freeze object id (<kind>/<id>)' },
  FREEZE_NO_LEGAL_BASIS: {
    ...BAD_REQUEST,
    description: 'a freeze order needs the 32-byte hash of its legal basis',
  },
  FREEZE_NOT_ACTIVE: { ...CONFLICT, description: 'no active freeze order on the object' },
  FREEZE_NOT_REGULATOR: { ...FORBIDDEN, description: 'only a regulator imposes or lifts freezes' },
  GOV_ALREADY_VOTED: {
    ...CONFLICT,
    description: 'this organisation already voted on the proposal',
  },
  GOV_BAD_ACTION: { ...BAD_REQUEST, description: 'a proposal action names no method or bad args' },
  GOV_BAD_ARGS: { ...BAD_REQUEST, description: 'governance args are malformed' },
  GOV_BAD_EXPIRY: {
    ...BAD_REQUEST,
    description: 'a proposal must expire after its block and within 1,000,000 blocks',
  },
  GOV_BAD_ID: { ...BAD_REQUEST, description: 'a proposal id is a positive integer' },
  GOV_ONE_VALIDATOR_CHANGE: {
    ...BAD_REQUEST,
    description: 'a proposal changes the validator set (add, remove, replace) at most once',
  },
  GOV_VALIDATOR_PROPOSAL_OPEN: {
    ...CONFLICT,
    description: 'another open proposal changes the validator set',
  },
  GOV_NOT_COMMITTEE: {
    ...FORBIDDEN,
    description: 'only an admin of a committee organisation proposes or votes',
  },
  GOV_NOT_PROPOSER: { ...FORBIDDEN, description: 'only the proposer cancels a proposal' },
  GOV_ONLY: { ...FORBIDDEN, description: 'this method runs only as a passed proposal action' },
  GOV_PROPOSAL_CLOSED: { ...CONFLICT, description: 'the proposal is no longer open' },
  GOV_PROPOSAL_EXPIRED: { ...CONFLICT, description: 'the proposal expired' },
  GOV_TOO_MANY_OPEN: { ...CONFLICT, description: '64 proposals are open already' },
  GOV_UNKNOWN_PROPOSAL: { status: 404, gossip: 'ignore', description: 'no such proposal' },
  ORG_ALREADY_MEMBER: {
    ...CONFLICT,
    description: 'the account is already a member (of this or another organisation)',
  },
  ORG_BAD_ARGS: { ...BAD_REQUEST, description: 'org args are malformed' },
  ORG_BAD_ID: { ...BAD_REQUEST, description: 'not an organisation id or member/<address>' },
  ORG_CONSENT_REQUIRED: {
    ...FORBIDDEN,
    description: 'the account being added must cosign the tx (its consent)',
  },
  ORG_EXISTS: { ...CONFLICT, description: 'an organisation with this id exists' },
  ORG_NOT_ADMIN: { ...FORBIDDEN, description: 'only an admin of an active organisation does this' },
  ORG_NOT_A_MEMBER: {
    ...FORBIDDEN,
    // Mempool admission refuses it too (a permissioned chain): gossip drops are counted.
    txReject: 'not_member',
    description: 'the sender is not an active member of an active organisation',
  },
  ORG_NOT_MEMBER: { ...CONFLICT, description: 'the account is not an active member' },
  ORG_OTHER_ORGANISATION: {
    ...FORBIDDEN,
    description: 'an admin acts only within its own organisation',
  },
  ORG_ROLE_GOVERNED: {
    ...FORBIDDEN,
    description: 'regulator and issuer roles change only by governance',
  },
  ORG_SUSPENDED: { ...CONFLICT, description: 'the organisation is suspended' },
  ORG_UNKNOWN: { status: 404, gossip: 'ignore', description: 'no such organisation' },
  PARAMS_BAD_ARGS: { ...BAD_REQUEST, description: 'params args are malformed or out of range' },
  PARAMS_BAD_ID: { ...BAD_REQUEST, description: 'the params object is "current"' },
  STALE_REV: { ...CONFLICT, description: 'the object is not at the revision the op expects' },
} as const satisfies Record<string, CodeSpec>;

export type ReceiptFailureCode = keyof typeof EXECUTION_ERRORS;

export function isReceiptFailureCode(code: string): code is ReceiptFailureCode {
  return Object.hasOwn(EXECUTION_ERRORS, code);
}

/** What a receipt's code can be when this build executed the tx. */
export type ReceiptCode = typeof RECEIPT_OK | ReceiptFailureCode;
