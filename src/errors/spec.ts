/**
 * What a catalogue entry says about its code: the HTTP status the API answers with, what a
 * gossiped tx failing with it earns (`reject` also penalises the peer that forwarded it,
 * `ignore` only drops it), and, for codes mempool admission raises, the bounded label the
 * metrics count a refused gossiped tx under.
 */

/** Why a gossiped tx was not admitted; a fixed set so the metric label cannot grow. */
export const TX_REJECT_LABELS = [
  'duplicate',
  'committed',
  'nonce',
  'mempool_full',
  'signature',
  'wrong_chain',
  'expired',
  'malformed',
  'not_member',
  'other',
] as const;
export type TxRejectLabel = (typeof TX_REJECT_LABELS)[number];

export type GossipVerdict = 'ignore' | 'reject';

export interface CodeSpec {
  readonly status: number;
  readonly gossip: GossipVerdict;
  /** Set on codes mempool admission can raise; 'other' where absent. */
  readonly txReject?: TxRejectLabel;
  readonly description: string;
}

// The three shapes most codes share; an entry spreads one and adds its description.

/** The caller sent something wrong; a peer that gossiped it did nothing wrong by relaying. */
export const BAD_REQUEST = { status: 400, gossip: 'ignore' } as const;

/** Bytes that do not decode: the caller's fault, and a peer that gossips them misbehaves. */
export const MALFORMED = { status: 400, gossip: 'reject', txReject: 'malformed' } as const;

/** A fault of this node, or an error that never reaches the API (CLI, bench, startup). */
export const SERVER_ERROR = { status: 500, gossip: 'ignore' } as const;

/** Refused for who the sender is (a role, membership, a freeze, a grant). */
export const FORBIDDEN = { status: 403, gossip: 'ignore' } as const;

/** The object is not in the state the call needs (already done, not active, another revision). */
export const CONFLICT = { status: 409, gossip: 'ignore' } as const;

/** No such object. */
export const NOT_FOUND = { status: 404, gossip: 'ignore' } as const;
