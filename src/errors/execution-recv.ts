/**
 * Receipt codes of receivables (src/app/recv): part of the execution catalogue (execution.ts).
 */
import { BAD_REQUEST, CONFLICT, type CodeSpec, FORBIDDEN, NOT_FOUND } from './spec.ts';

export const RECV_ERRORS = {
  RECV_BAD_ARGS: { ...BAD_REQUEST, description: 'recv args are malformed' },
  RECV_BAD_DUE_HEIGHT: {
    ...BAD_REQUEST,
    description: 'a receivable must fall due above the height of the block that issues it',
  },
  RECV_BAD_ID: { ...BAD_REQUEST, description: 'not a recv object id' },
  RECV_CONSENT_REQUIRED: {
    ...FORBIDDEN,
    description: 'the supplier a receivable is issued to must cosign the tx (its consent)',
  },
  RECV_EXISTS: { ...CONFLICT, description: 'a receivable piece with this id exists' },
  RECV_NOT_DEBTOR: { ...FORBIDDEN, description: 'only the debtor (its signature) settles a piece' },
  RECV_NOT_FOUND: { ...NOT_FOUND, description: 'no receivable piece with this id' },
  RECV_NOT_HOLDER: {
    ...FORBIDDEN,
    description: 'only the holder (its signature) splits or transfers a piece',
  },
  RECV_NOT_ISSUER: {
    ...FORBIDDEN,
    description: 'only an active member with the issuer role issues receivables',
  },
  RECV_OVER_SPLIT: {
    ...CONFLICT,
    description: "a split must leave the piece a positive amount (below the piece's amount)",
  },
  RECV_SETTLED: {
    ...CONFLICT,
    description: 'the piece is settled: it no longer splits, moves or pays',
  },
} as const satisfies Record<string, CodeSpec>;
