/**
 * Receipt codes of document anchoring and sharing (src/app/doc): part of the execution catalogue (execution.ts).
 */
import { BAD_REQUEST, type CodeSpec } from './spec.ts';

export const DOC_ERRORS = {
  DOC_BAD_ARGS: { ...BAD_REQUEST, description: 'doc args are malformed' },
  DOC_BAD_ID: { ...BAD_REQUEST, description: 'not a doc object id' },
} as const satisfies Record<string, CodeSpec>;
