/**
 * The `gov` module: the committee decides changes together (state.ts).
 *
 *   gov.propose {actions: [{call, args}], expiresAtHeight}   an admin of a committee organisation
 *   gov.vote    {id, approve}                                an admin of a committee organisation
 *   gov.cancel  {id}                                         the proposer
 *
 * The committee (one vote per organisation) and the threshold ⌊2m/3⌋+1 are snapshotted when a
 * proposal is made. The vote that reaches the threshold executes every action atomically
 * with origin `governance`; if one fails the proposal ends `failed` with that action's index
 * and code (never "passed" with no effect), and the vote itself still counts. A proposal is
 * `rejected` only once it can no longer reach the threshold, and reads `expired` after its
 * expiry height. A passed proposal that changes the committee cancels the other open ones.
 * A proposal changes the validator set at most once, and only one such proposal is open at
 * a time (validators/index.ts has the rules a change itself passes).
 *
 * Events: gov.proposed, gov.voted, gov.passed, gov.failed, gov.rejected, gov.cancelled.
 * Objects: GET /state/gov/<id> (and GET /gov/proposals).
 */
import { Limits } from '../../chain/limits.ts';
import { decode } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import type { App } from '../app.ts';
import { NO_HISTORY } from '../history.ts';
import { jsonBool, jsonList, jsonObject, jsonString, jsonUint } from '../json-args.ts';
import type { AppModule, Call, CallContext, Method } from '../module.ts';
import {
  COMMITTEE_KEY,
  committee,
  isActiveOrganisation,
  memberKey,
  memberOf,
} from '../org/state.ts';
import { SET_CHANGES } from '../validators/index.ts';
import {
  effectiveStatus,
  MAX_ACTION_ARGS,
  MAX_ACTIONS,
  MAX_OPEN,
  NEXT_KEY,
  nextIdCodec,
  OPEN_KEY,
  openCodec,
  type Proposal,
  proposal,
  proposalCodec,
  proposalKey,
  thresholdOf,
} from './state.ts';

/** How far ahead a proposal may expire. */
const MAX_LIFETIME_BLOCKS = 1_000_000;

export interface ProposeArgs {
  readonly actions: readonly Call[];
  readonly expiresAtHeight: number;
}

export interface VoteArgs {
  readonly id: number;
  readonly approve: boolean;
}

function isValidatorSetChange(a: Call): boolean {
  return a.module === 'validators' && SET_CHANGES.has(a.method);
}

/** The committee organisation the sender speaks for: an active admin of an active one. */
function committeeOrg(ctx: CallContext, members: readonly string[]): string | undefined {
  const m = memberOf(ctx.state, ctx.sender);
  if (m === undefined || !m.active || !m.roles.includes('admin')) return undefined;
  if (!members.includes(m.org)) return undefined;
  return isActiveOrganisation(ctx.state, m.org) ? m.org : undefined;
}

function parseCall(text: unknown, field: string): { module: string; method: string } {
  const call = jsonString(text, field, 'GOV_BAD_ARGS', {
    maxLength: 64,
    pattern: /^[a-z][a-zA-Z0-9]*\.[a-z][a-zA-Z0-9]*$/,
    patternText: 'must be "module.method", e.g. "org.setRoles"',
  });
  const [module, method] = call.split('.') as [string, string];
  return { module, method };
}

function closeOpen(ctx: CallContext, id: number): void {
  const open = ctx.state.get(OPEN_KEY, openCodec) ?? [];
  ctx.state.set(
    OPEN_KEY,
    open.filter((p) => p.id !== id),
    openCodec,
  );
}

function save(ctx: CallContext, p: Proposal, changes: Partial<Proposal>): Proposal {
  const next = { ...p, ...changes, history: ctx.advance(proposalKey(p.id), p.history) };
  ctx.state.set(proposalKey(p.id), next, proposalCodec);
  return next;
}

export function createGovModule(app: () => App): AppModule {
  /** Rule: an action names a method of another module, with args that decode. */
  function checkAction(a: Call): Call {
    if (a.module === 'gov') {
      throw new CivitasError('GOV_BAD_ACTION', 'a proposal cannot act on governance itself');
    }
    const impl = app().method(a.module, a.method);
    if (impl === undefined) {
      throw new CivitasError('GOV_BAD_ACTION', `no method ${a.module}.${a.method}`);
    }
    impl.args.decode(a.args);
    return a;
  }

  const propose: Method<ProposeArgs> = {
    args: {
      encode: (a) =>
        encode((w) => {
          w.list(a.actions, (ww, c) => ww.string(c.module).string(c.method).bytes(c.args));
          w.varuint(a.expiresAtHeight);
        }),
      decode: (bytes) =>
        decode(bytes, (r) => {
          const actions = r.list(MAX_ACTIONS, (rr) =>
            checkAction({
              module: rr.string(Limits.moduleNameBytes),
              method: rr.string(Limits.methodNameBytes),
              args: rr.bytes(MAX_ACTION_ARGS),
            }),
          );
          if (actions.length === 0) throw new CivitasError('GOV_BAD_ARGS', 'no actions');
          return { actions, expiresAtHeight: r.varuint() };
        }),
      fromJson(json) {
        const o = jsonObject(json, 'GOV_BAD_ARGS', ['actions', 'expiresAtHeight']);
        const actions = jsonList(o.actions, 'actions', 'GOV_BAD_ARGS', MAX_ACTIONS, (v, f) => {
          const a = jsonObject(v, 'GOV_BAD_ARGS', ['call', 'args']);
          const { module, method } = parseCall(a.call, `${f}.call`);
          const impl = app().method(module, method);
          if (impl === undefined || module === 'gov') {
            throw new CivitasError('GOV_BAD_ACTION', `${f}: no method ${module}.${method}`);
          }
          return { module, method, args: impl.args.encode(impl.args.fromJson(a.args ?? {})) };
        });
        if (actions.length === 0) throw new CivitasError('GOV_BAD_ARGS', 'actions is empty');
        return {
          actions,
          expiresAtHeight: jsonUint(o.expiresAtHeight, 'expiresAtHeight', 'GOV_BAD_ARGS'),
        };
      },
      toJson: (a) => ({
        actions: a.actions.map((c) => actionToJson(app(), c)),
        expiresAtHeight: a.expiresAtHeight,
      }),
    },
    keys: (_, ctx) => [NEXT_KEY, OPEN_KEY, COMMITTEE_KEY, memberKey(ctx.sender)],
    execute(args, ctx) {
      const members = committee(ctx.state);
      // Rule: proposals come from an admin of a committee organisation.
      if (committeeOrg(ctx, members) === undefined) return 'GOV_NOT_COMMITTEE';
      // Rule: a proposal expires after the block it is made in, and within the lifetime cap.
      if (
        args.expiresAtHeight <= ctx.height ||
        args.expiresAtHeight > ctx.height + MAX_LIFETIME_BLOCKS
      ) {
        return 'GOV_BAD_EXPIRY';
      }
      const stillOpen = (ctx.state.get(OPEN_KEY, openCodec) ?? []).filter(
        (p) => p.expiresAtHeight >= ctx.height,
      );
      if (stillOpen.length >= MAX_OPEN) return 'GOV_TOO_MANY_OPEN';
      // Rule: a proposal changes the validator set at most once, and one such proposal is
      // open at a time (each change is judged on the set the previous one left).
      const setChanges = args.actions.filter(isValidatorSetChange).length;
      if (setChanges > 1) return 'GOV_ONE_VALIDATOR_CHANGE';
      if (setChanges === 1) {
        for (const o of stillOpen) {
          const other = proposal(ctx.state, o.id);
          if (other?.status === 'open' && other.actions.some(isValidatorSetChange)) {
            return 'GOV_VALIDATOR_PROPOSAL_OPEN';
          }
        }
      }
      const id = ctx.state.get(NEXT_KEY, nextIdCodec) ?? 1;
      const p: Proposal = {
        id,
        proposer: ctx.sender,
        actions: args.actions,
        createdAt: ctx.height,
        expiresAtHeight: args.expiresAtHeight,
        committee: members,
        threshold: thresholdOf(members.length),
        votes: [],
        status: 'open',
        failure: null,
        closedAt: 0,
        history: ctx.advance(proposalKey(id), NO_HISTORY),
      };
      ctx.state.set(proposalKey(id), p, proposalCodec);
      ctx.state.set(NEXT_KEY, id + 1, nextIdCodec);
      ctx.state.set(
        OPEN_KEY,
        [...stillOpen, { id, expiresAtHeight: args.expiresAtHeight }],
        openCodec,
      );
      ctx.emit('gov.proposed', [
        ['id', String(id)],
        ['proposer', toHex(ctx.sender)],
        ['threshold', String(p.threshold)],
        ['committee', members.join(',')],
        ['expiresAtHeight', String(args.expiresAtHeight)],
        ['actions', args.actions.map((a) => `${a.module}.${a.method}`).join(',')],
      ]);
      return undefined;
    },
  };

  const vote: Method<VoteArgs> = {
    args: {
      encode: (a) => encode((w) => w.varuint(a.id).bool(a.approve)),
      decode: (bytes) => decode(bytes, (r) => ({ id: r.varuint(), approve: r.bool() })),
      fromJson(json) {
        const o = jsonObject(json, 'GOV_BAD_ARGS', ['id', 'approve']);
        return {
          id: jsonUint(o.id, 'id', 'GOV_BAD_ARGS'),
          approve: o.approve === undefined ? true : jsonBool(o.approve, 'approve', 'GOV_BAD_ARGS'),
        };
      },
      toJson: (a) => ({ id: a.id, approve: a.approve }),
    },
    keys: (a, ctx) => [proposalKey(a.id), OPEN_KEY, COMMITTEE_KEY, memberKey(ctx.sender)],
    execute(args, ctx) {
      const p = proposal(ctx.state, args.id);
      if (p === undefined) return 'GOV_UNKNOWN_PROPOSAL';
      if (p.status !== 'open') return 'GOV_PROPOSAL_CLOSED';
      if (ctx.height > p.expiresAtHeight) return 'GOV_PROPOSAL_EXPIRED';
      const stale = ctx.checkRev(p.history);
      if (stale !== undefined) return stale;
      // Rule: one vote per organisation of the committee snapshotted at proposal time.
      const org = committeeOrg(ctx, p.committee);
      if (org === undefined) return 'GOV_NOT_COMMITTEE';
      if (p.votes.some((v) => v.org === org)) return 'GOV_ALREADY_VOTED';
      const votes = [...p.votes, { org, voter: ctx.sender, approve: args.approve }];
      const approvals = votes.filter((v) => v.approve).length;
      ctx.emit('gov.voted', [
        ['id', String(p.id)],
        ['org', org],
        ['approve', String(args.approve)],
      ]);
      if (approvals >= p.threshold) {
        const before = committee(ctx.state);
        const failure = ctx.runAsGovernance(p.actions);
        save(ctx, p, {
          votes,
          status: failure === undefined ? 'passed' : 'failed',
          failure: failure ?? null,
          closedAt: ctx.height,
        });
        closeOpen(ctx, p.id);
        ctx.emit(
          failure === undefined ? 'gov.passed' : 'gov.failed',
          failure === undefined
            ? [['id', String(p.id)]]
            : [
                ['id', String(p.id)],
                ['action', String(failure.index)],
                ['code', failure.code],
              ],
        );
        const after = committee(ctx.state);
        if (failure === undefined && before.join(',') !== after.join(',')) {
          cancelOthers(ctx, p.id);
        }
        return undefined;
      }
      const undecided = p.committee.length - votes.length;
      if (approvals + undecided < p.threshold) {
        save(ctx, p, { votes, status: 'rejected', closedAt: ctx.height });
        closeOpen(ctx, p.id);
        ctx.emit('gov.rejected', [['id', String(p.id)]]);
        return undefined;
      }
      save(ctx, p, { votes });
      return undefined;
    },
  };

  /** Rule: a change of committee (and so of threshold) cancels the other open proposals. */
  function cancelOthers(ctx: CallContext, passed: number): void {
    const open = ctx.state.get(OPEN_KEY, openCodec) ?? [];
    for (const { id } of open) {
      if (id === passed) continue;
      const other = proposal(ctx.state, id);
      if (other === undefined || other.status !== 'open') continue;
      save(ctx, other, { status: 'cancelled', closedAt: ctx.height });
      ctx.emit('gov.cancelled', [
        ['id', String(id)],
        ['reason', 'committee changed'],
      ]);
    }
    ctx.state.set(OPEN_KEY, [], openCodec);
  }

  const cancel: Method<{ id: number }> = {
    args: {
      encode: (a) => encode((w) => w.varuint(a.id)),
      decode: (bytes) => decode(bytes, (r) => ({ id: r.varuint() })),
      fromJson(json) {
        const o = jsonObject(json, 'GOV_BAD_ARGS', ['id']);
        return { id: jsonUint(o.id, 'id', 'GOV_BAD_ARGS') };
      },
      toJson: (a) => ({ id: a.id }),
    },
    keys: (a) => [proposalKey(a.id), OPEN_KEY],
    execute(args, ctx) {
      const p = proposal(ctx.state, args.id);
      if (p === undefined) return 'GOV_UNKNOWN_PROPOSAL';
      // Rule: only the proposer withdraws a proposal, while it is open.
      if (!equalBytes(p.proposer, ctx.sender)) return 'GOV_NOT_PROPOSER';
      if (p.status !== 'open') return 'GOV_PROPOSAL_CLOSED';
      save(ctx, p, { status: 'cancelled', closedAt: ctx.height });
      closeOpen(ctx, p.id);
      ctx.emit('gov.cancelled', [
        ['id', String(p.id)],
        ['reason', 'withdrawn by the proposer'],
      ]);
      return undefined;
    },
  };

  return {
    name: 'gov',
    methods: { propose, vote, cancel },
    objects: {
      key(id) {
        if (!/^[1-9][0-9]{0,15}$/.test(id)) {
          throw new CivitasError('GOV_BAD_ID', `a proposal id is a positive integer: ${id}`);
        }
        return proposalKey(Number(id));
      },
      toJson: (value) => proposalToJson(app(), proposalCodec.decode(value)),
    },
  };
}

function actionToJson(app: App, a: Call): Record<string, unknown> {
  const impl = app.method(a.module, a.method);
  let args: unknown;
  try {
    args = impl === undefined ? toHex(a.args) : impl.args.toJson(impl.args.decode(a.args));
  } catch {
    args = toHex(a.args);
  }
  return { call: `${a.module}.${a.method}`, args };
}

/** A proposal as JSON; with the tip `height`, an open proposal no vote can reach reads `expired`. */
export function proposalToJson(app: App, p: Proposal, height?: number): Record<string, unknown> {
  return {
    id: p.id,
    proposer: toHex(p.proposer),
    actions: p.actions.map((a) => actionToJson(app, a)),
    createdAt: p.createdAt,
    expiresAtHeight: p.expiresAtHeight,
    committee: [...p.committee],
    threshold: p.threshold,
    votes: p.votes.map((v) => ({ org: v.org, voter: toHex(v.voter), approve: v.approve })),
    status: height === undefined ? p.status : effectiveStatus(p, height),
    failure: p.failure,
    closedAt: p.closedAt,
    rev: p.history.rev,
    hist: toHex(p.history.hist),
  };
}
