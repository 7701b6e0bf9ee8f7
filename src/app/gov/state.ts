/**
 * Governance proposals: actions the committee decides together.
 *
 *   gov/next        the next proposal id (from 1)
 *   gov/open        the open proposals: (id, expiresAtHeight), at most MAX_OPEN
 *   gov/p/<id>      Proposal (id as 8 bytes big-endian)
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import { decode, expectVersion } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { concatBytes, utf8 } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import { type History, readHistory, writeHistory } from '../history.ts';
import type { Call } from '../module.ts';
import { MAX_ORGS } from '../org/state.ts';
import type { StateRead, ValueCodec } from '../state-view.ts';

/** Actions per proposal. */
export const MAX_ACTIONS = 8;
/** Open proposals at once (a proposal beyond it is refused until one closes or expires). */
export const MAX_OPEN = 64;
/** Most bytes of args one action carries. */
export const MAX_ACTION_ARGS = 4096;

export const PROPOSAL_STATUSES = ['open', 'passed', 'failed', 'rejected', 'cancelled'] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

export interface Vote {
  readonly org: string;
  readonly voter: Uint8Array;
  readonly approve: boolean;
}

export interface Proposal {
  readonly id: number;
  readonly proposer: Uint8Array;
  readonly actions: readonly Call[];
  readonly createdAt: number;
  readonly expiresAtHeight: number;
  /** The committee when the proposal was made: one vote per organisation. */
  readonly committee: readonly string[];
  /** ⌊2m/3⌋ + 1 of that committee. */
  readonly threshold: number;
  readonly votes: readonly Vote[];
  readonly status: ProposalStatus;
  /** Why a passed vote's actions failed (status failed): the action's index and code. */
  readonly failure: { readonly index: number; readonly code: string } | null;
  /** Height at which the proposal closed (0 while open). */
  readonly closedAt: number;
  readonly history: History;
}

export interface OpenProposal {
  readonly id: number;
  readonly expiresAtHeight: number;
}

export const NEXT_KEY = utf8.encode('gov/next');
export const OPEN_KEY = utf8.encode('gov/open');
const PROPOSAL_PREFIX = utf8.encode('gov/p/');

export function proposalKey(id: number): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt(id));
  return concatBytes(PROPOSAL_PREFIX, n);
}

/** The threshold of a committee of m organisations: ⌊2m/3⌋ + 1. */
export function thresholdOf(m: number): number {
  return Math.floor((2 * m) / 3) + 1;
}

export const nextIdCodec: ValueCodec<number> = {
  encode: (n) => encode((w) => w.varuint(n)),
  decode: (bytes) => decode(bytes, (r) => r.varuint()),
};

export const openCodec: ValueCodec<readonly OpenProposal[]> = {
  encode: (list) =>
    encode((w) => w.list(list, (ww, p) => ww.varuint(p.id).varuint(p.expiresAtHeight))),
  decode: (bytes) =>
    decode(bytes, (r) =>
      r.list(MAX_OPEN, (rr) => ({ id: rr.varuint(), expiresAtHeight: rr.varuint() })),
    ),
};

export const proposalCodec: ValueCodec<Proposal> = {
  encode: (p) =>
    encode((w) => {
      w.u8(1).varuint(p.id).fixed(p.proposer, ADDRESS_LENGTH);
      w.list(p.actions, (ww, a) => ww.string(a.module).string(a.method).bytes(a.args));
      w.varuint(p.createdAt).varuint(p.expiresAtHeight);
      w.list(p.committee, (ww, id) => ww.string(id));
      w.varuint(p.threshold);
      w.list(p.votes, (ww, v) => ww.string(v.org).fixed(v.voter, ADDRESS_LENGTH).bool(v.approve));
      w.u8(PROPOSAL_STATUSES.indexOf(p.status));
      w.bool(p.failure !== null);
      if (p.failure !== null) w.varuint(p.failure.index).string(p.failure.code);
      w.varuint(p.closedAt);
      writeHistory(w, p.history);
    }),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'proposal');
      const id = r.varuint();
      const proposer = r.fixed(ADDRESS_LENGTH);
      const actions = r.list(MAX_ACTIONS, (rr) => ({
        module: rr.string(32),
        method: rr.string(32),
        args: rr.bytes(MAX_ACTION_ARGS),
      }));
      const createdAt = r.varuint();
      const expiresAtHeight = r.varuint();
      const committee = r.list(MAX_ORGS, (rr) => rr.string(32));
      const threshold = r.varuint();
      const votes = r.list(MAX_ORGS, (rr) => ({
        org: rr.string(32),
        voter: rr.fixed(ADDRESS_LENGTH),
        approve: rr.bool(),
      }));
      const statusIndex = r.u8();
      const status = PROPOSAL_STATUSES[statusIndex];
      if (status === undefined) {
        throw new CivitasError('CODEC_BAD_VALUE', `unknown proposal status ${statusIndex}`);
      }
      const failure = r.bool() ? { index: r.varuint(), code: r.string(64) } : null;
      return {
        id,
        proposer,
        actions,
        createdAt,
        expiresAtHeight,
        committee,
        threshold,
        votes,
        status,
        failure,
        closedAt: r.varuint(),
        history: readHistory(r),
      };
    }),
};

export function proposal(state: StateRead, id: number): Proposal | undefined {
  return state.get(proposalKey(id), proposalCodec);
}

/**
 * What a proposal's status reads as on a chain whose tip is `height`: an open one has expired
 * once no further vote can land, i.e. once the next block would be past its expiry.
 */
export function effectiveStatus(p: Proposal, height: number): ProposalStatus | 'expired' {
  return p.status === 'open' && height + 1 > p.expiresAtHeight ? 'expired' : p.status;
}
