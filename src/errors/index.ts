/**
 * One error type for the whole node: a stable, domain-prefixed code (`CODEC_TRAILING_BYTES`,
 * `BLOCK_BAD_TX_ROOT`, ...) plus plain context. Codes are what tests, the HTTP API and the
 * CLI match on; messages are for people. Errors cross worker threads and the JSON API as
 * `{code, message, context}`, so context holds only JSON-safe values.
 *
 * Every code is in the catalogue: one file per domain, a code in the file of the domain its
 * prefix names (TX_* with the chain, MEMPOOL_* with the node). An entry says how the node
 * answers the code (HTTP status, gossip verdict, metric label), so callers look the answer
 * up instead of matching the code's spelling.
 */
import { BENCH_ERRORS } from './bench.ts';
import { CHAIN_ERRORS } from './chain.ts';
import { CLI_ERRORS } from './cli.ts';
import { CLIENT_ERRORS } from './client.ts';
import { CODEC_ERRORS } from './codec.ts';
import { CONSENSUS_ERRORS } from './consensus.ts';
import { CRYPTO_ERRORS } from './crypto.ts';
import { EXECUTION_ERRORS } from './execution.ts';
import { LOCALNET_ERRORS } from './localnet.ts';
import { NODE_ERRORS } from './node.ts';
import { P2P_ERRORS } from './p2p.ts';
import { type CodeSpec, type GossipVerdict, SERVER_ERROR, type TxRejectLabel } from './spec.ts';
import { STATE_ERRORS } from './state.ts';

export {
  isReceiptFailureCode,
  RECEIPT_OK,
  type ReceiptCode,
  type ReceiptFailureCode,
} from './execution.ts';
export {
  type CodeSpec,
  type GossipVerdict,
  TX_REJECT_LABELS,
  type TxRejectLabel,
} from './spec.ts';

/** The catalogue, by domain. */
export const ERROR_CATALOGUES = {
  codec: CODEC_ERRORS,
  crypto: CRYPTO_ERRORS,
  chain: CHAIN_ERRORS,
  state: STATE_ERRORS,
  execution: EXECUTION_ERRORS,
  consensus: CONSENSUS_ERRORS,
  p2p: P2P_ERRORS,
  node: NODE_ERRORS,
  client: CLIENT_ERRORS,
  cli: CLI_ERRORS,
  localnet: LOCALNET_ERRORS,
  bench: BENCH_ERRORS,
} as const;

type Catalogues = typeof ERROR_CATALOGUES;
export type ErrorCode = { [D in keyof Catalogues]: keyof Catalogues[D] & string }[keyof Catalogues];

const SPECS: ReadonlyMap<string, CodeSpec> = new Map(
  Object.values(ERROR_CATALOGUES).flatMap((catalogue) => Object.entries(catalogue)),
);

/** What a code outside this build's catalogue gets: a newer peer's, or a foreign error's. */
const UNKNOWN_CODE: CodeSpec = {
  ...SERVER_ERROR,
  txReject: 'other',
  description: "not in this build's error catalogue",
};

export function isErrorCode(code: string): code is ErrorCode {
  return SPECS.has(code);
}

/** The catalogue entry of `code`, or the fallback for codes the catalogue lacks. */
export function describeCode(code: string | undefined): CodeSpec {
  return (code === undefined ? undefined : SPECS.get(code)) ?? UNKNOWN_CODE;
}

/** The HTTP status the API answers an error with this code with. */
export function httpStatusOf(code: string | undefined): number {
  return describeCode(code).status;
}

/** What a gossiped tx whose admission failed with this code earns. */
export function gossipVerdictOf(code: string | undefined): GossipVerdict {
  return describeCode(code).gossip;
}

/** The bounded metric label of a gossiped tx refused with this code. */
export function txRejectLabelOf(code: string | undefined): TxRejectLabel {
  return describeCode(code).txReject ?? 'other';
}

export interface CivitasErrorJson {
  readonly code: string;
  readonly message: string;
  readonly context: Record<string, unknown>;
}

export class CivitasError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, context: Record<string, unknown> = {}) {
    super(message);
    this.name = 'CivitasError';
    this.code = code;
    this.context = context;
  }

  toJSON(): CivitasErrorJson {
    return { code: this.code, message: this.message, context: this.context };
  }

  /**
   * Rebuilds an error that crossed a thread or the network as JSON. Its code may come from
   * another build and be outside this catalogue: it is kept as sent, and the lookups above
   * answer it with their fallbacks.
   */
  static fromJSON(json: {
    code: string;
    message: string;
    context?: Record<string, unknown>;
  }): CivitasError {
    return new CivitasError(json.code as ErrorCode, json.message, json.context ?? {});
  }
}

/** The code of a CivitasError, undefined for any other thrown value (for logs and metrics). */
export function codeOf(err: unknown): string | undefined {
  return err instanceof CivitasError ? err.code : undefined;
}

export function isCivitasError(err: unknown, codePrefix?: string): err is CivitasError {
  return (
    err instanceof CivitasError && (codePrefix === undefined || err.code.startsWith(codePrefix))
  );
}
