/**
 * Outcomes of executing a tx (src/state/executor.ts and the bank app). A failed tx is not an
 * exception but a receipt carrying one of these codes; BANK_BAD_ARGS is also thrown when
 * transfer arguments are decoded outside execution.
 */
import { type CodeSpec, SERVER_ERROR } from './spec.ts';

/** The receipt code of a tx that succeeded; not an error, so not in the catalogue. */
export const RECEIPT_OK = 'OK';

export const EXECUTION_ERRORS = {
  APP_UNKNOWN_METHOD: { ...SERVER_ERROR, description: 'no app handles the module and method' },
  BANK_BAD_ARGS: { ...SERVER_ERROR, description: 'transfer arguments do not decode or move 0' },
  BANK_BAD_NONCE: { ...SERVER_ERROR, description: "the nonce is not the sender's next one" },
  BANK_BALANCE_OVERFLOW: {
    ...SERVER_ERROR,
    description: "the transfer would overflow the recipient's balance",
  },
  BANK_INSUFFICIENT_FUNDS: {
    ...SERVER_ERROR,
    description: "the sender's balance is below the amount",
  },
} as const satisfies Record<string, CodeSpec>;

export type ReceiptFailureCode = keyof typeof EXECUTION_ERRORS;

/** What a receipt's code can be when this build executed the tx. */
export type ReceiptCode = typeof RECEIPT_OK | ReceiptFailureCode;
