/**
 * Receipt codes of receivables (src/app/recv): part of the execution catalogue (execution.ts).
 */
import { BAD_REQUEST, type CodeSpec } from './spec.ts';

export const RECV_ERRORS = {
  RECV_BAD_ARGS: { ...BAD_REQUEST, description: 'recv args are malformed' },
  RECV_BAD_ID: { ...BAD_REQUEST, description: 'not a recv object id' },
} as const satisfies Record<string, CodeSpec>;
