/**
 * Provable object histories. A tracked object (an organisation, a member, a proposal, a freeze
 * order, the params, the use-case objects) carries `rev` and `hist`, a hash chain over every
 * call that changed it (src/app/history.ts):
 *
 *   hist' = H(hist ‖ txHash ‖ u32 opIndex ‖ H_record(module ‖ method ‖ args))
 *
 * A node's history index (GET /history) says which tx made each revision; it is unproven.
 * verifyHistory proves it: the object's current value against a certified header, every tx
 * the index names with its inclusion proof, receipt and certificate, the record of each
 * change taken from the proven tx's op (or, for a governance action, from the proposal the
 * vote executed, proven at that height), and the chain replayed from rev 0 must end at the
 * proven rev and hist. A missing, repeated, reordered, altered or foreign entry fails.
 */

import type { HistoryEntryJson } from '../api/types.ts';
import type { VoteArgs } from '../app/gov/index.ts';
import { type Proposal, proposalCodec } from '../app/gov/state.ts';
import { type History, historyRecordHash, NO_HISTORY, nextHistory } from '../app/history.ts';
import type { Call } from '../app/module.ts';
import { decodeTx, type SignatureCheck, type Tx } from '../chain/index.ts';
import { equalBytes, fromHex, toHex } from '../crypto/bytes.ts';
import { verifyNoble } from '../crypto/ed25519.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError, type ErrorCode } from '../errors/index.ts';
import { clientApp } from './calls.ts';
import type { CivitasClient } from './client.ts';
import { type TrustedChain, verifyStateProof, verifyTxProof } from './verify.ts';

/** What verifyHistory asks of a node. */
export type HistoryClient = Pick<CivitasClient, 'state' | 'history' | 'tx'>;

/** One proven change of an object: the call that made revision `rev`. */
export interface VerifiedHistoryEntry {
  rev: number;
  /** Height of the certified block holding the tx. */
  height: number;
  txHash: string;
  opIndex: number;
  /** For a governance action: its index in the proposal; else null. */
  action: number | null;
  /** For a governance action: the proposal the vote executed; else null. */
  proposal: number | null;
  /** The call that changed the object (the hash chain's record). */
  module: string;
  method: string;
  /** The call's args in the method's JSON form (hex when this client cannot decode them). */
  args: unknown;
  /** hist after this change, hex. */
  hist: string;
}

export interface VerifiedHistory {
  module: string;
  id: string;
  /** The object's proven current revision (0: never changed, or absent). */
  rev: number;
  /** The object's proven current history hash, hex. */
  hist: string;
  /** Whether the object exists (an absent object is proven absent, with no history). */
  present: boolean;
  /** The height the current value is proven at. */
  height: number;
  entries: VerifiedHistoryEntry[];
}

export interface VerifyHistoryOptions {
  /** Signature check for certificates; default the portable backend. */
  check?: SignatureCheck;
  /** Called with each entry once it is proven, in rev order (a CLI prints the steps). */
  onEntry?: (entry: VerifiedHistoryEntry) => void;
}

/** Index entries asked for per page (the route's maximum). */
const PAGE = 1_000;

function fail(code: ErrorCode, message: string): never {
  throw new CivitasError(code, message);
}

/** The object's rev and hist from its proven JSON view (every tracked object shows them). */
function historyOf(module: string, id: string, json: Record<string, unknown>): History {
  const { rev, hist } = json;
  if (
    typeof rev !== 'number' ||
    !Number.isSafeInteger(rev) ||
    rev < 0 ||
    typeof hist !== 'string' ||
    !/^[0-9a-f]{64}$/.test(hist)
  ) {
    fail('VERIFY_NOT_TRACKED', `${module} ${id} carries no revision history (rev, hist)`);
  }
  return { rev, hist: fromHex(hist, HASH_LENGTH) };
}

/**
 * The index entries for revs 1..rev, all pages. Stops at `rev` (a later commit may have
 * added more); the entries are checked by the caller, not here.
 */
async function indexEntries(
  client: HistoryClient,
  module: string,
  id: string,
  rev: number,
): Promise<HistoryEntryJson[]> {
  const entries: HistoryEntryJson[] = [];
  let from = 1;
  while (entries.length < rev) {
    const page = await client.history(module, id, { from, limit: PAGE });
    entries.push(...page.entries);
    if (page.next === null || page.entries.length === 0) break;
    // A page must move forward, or a node could keep the client paging forever.
    if (!Number.isSafeInteger(page.next) || page.next <= from) {
      fail('CLIENT_BAD_RESPONSE', `history page from ${from} names next ${page.next}`);
    }
    from = page.next;
  }
  return entries;
}

/** An entry as the node sent it must at least have the shape of one. */
function checkShape(entry: HistoryEntryJson, position: number): void {
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  const ok =
    entry !== null &&
    typeof entry === 'object' &&
    [entry.rev, entry.height, entry.index, entry.opIndex].every(count) &&
    (entry.action === null || count(entry.action)) &&
    typeof entry.txHash === 'string' &&
    /^[0-9a-fA-F]{64}$/.test(entry.txHash);
  if (!ok) {
    fail(
      'CLIENT_BAD_RESPONSE',
      `history entry ${position} is not {rev, height, index, txHash, opIndex, action}`,
    );
  }
}

/** A method's args as JSON through the client's own codec; hex if it cannot decode them. */
function argsJson(call: Call): unknown {
  const impl = clientApp().method(call.module, call.method);
  try {
    if (impl !== undefined) return impl.args.toJson(impl.args.decode(call.args));
  } catch {
    // Shown as hex: the hash chain covers the bytes whatever this client makes of them.
  }
  return toHex(call.args);
}

/** A proven tx, its hash and its place (height, index in the block). */
interface ProvenTx {
  readonly tx: Tx;
  readonly height: number;
  readonly index: number;
}

/**
 * Fetches and proves one history entry's tx: inclusion, receipt and certificate, then that
 * the tx succeeded and sits where the index says.
 */
async function provenTx(
  client: HistoryClient,
  entry: HistoryEntryJson,
  trusted: TrustedChain,
  check: SignatureCheck,
): Promise<ProvenTx> {
  const hash = fromHex(entry.txHash, HASH_LENGTH);
  const r = await client.tx(toHex(hash));
  if (r.status !== 'committed') {
    fail('VERIFY_HISTORY_ENTRY', `rev ${entry.rev}: tx ${entry.txHash} is not committed`);
  }
  const verified = verifyTxProof(hash, r, trusted, check);
  // Rule: only a tx that succeeded changes an object.
  if (verified.status !== 'ok') {
    fail('VERIFY_HISTORY_ENTRY', `rev ${entry.rev}: tx ${entry.txHash} failed (${verified.code})`);
  }
  if (verified.height !== entry.height || r.proof.index !== entry.index) {
    fail(
      'VERIFY_HISTORY_ENTRY',
      `rev ${entry.rev}: tx ${entry.txHash} is at ${verified.height}/${r.proof.index}, not ${entry.height}/${entry.index}`,
    );
  }
  let tx: Tx;
  try {
    tx = decodeTx(fromHex(r.txBytes));
  } catch (err) {
    return fail(
      'VERIFY_HISTORY_ENTRY',
      `tx ${entry.txHash} does not decode: ${(err as Error).message}`,
    );
  }
  return { tx, height: verified.height, index: r.proof.index };
}

/**
 * The record of a governance action: the vote op names the proposal, proven at the vote's
 * height, which must have passed there; the action is taken from it.
 */
async function governanceRecord(
  client: HistoryClient,
  entry: HistoryEntryJson,
  op: Call,
  action: number,
  trusted: TrustedChain,
  check: SignatureCheck,
): Promise<{ call: Call; proposal: number }> {
  const vote = clientApp().method('gov', 'vote');
  if (op.module !== 'gov' || op.method !== 'vote' || vote === undefined) {
    fail(
      'VERIFY_HISTORY_ENTRY',
      `rev ${entry.rev}: a governance action, but op ${entry.opIndex} is ${op.module}.${op.method}, not gov.vote`,
    );
  }
  let id: number;
  try {
    id = (vote.args.decode(op.args) as VoteArgs).id;
  } catch (err) {
    return fail('VERIFY_HISTORY_ENTRY', `rev ${entry.rev}: vote args: ${(err as Error).message}`);
  }
  const response = await client.state('gov', String(id), { proof: true, height: entry.height });
  const proven = verifyStateProof('gov', String(id), response, trusted, check);
  if (proven.height !== entry.height || proven.value === undefined) {
    fail(
      'VERIFY_HISTORY_ENTRY',
      `rev ${entry.rev}: proposal ${id} is not proven at height ${entry.height}`,
    );
  }
  const proposal: Proposal = proposalCodec.decode(proven.value);
  // Rule: only the vote that passed a proposal executes its actions, at that height.
  if (proposal.status !== 'passed' || proposal.closedAt !== entry.height) {
    fail(
      'VERIFY_HISTORY_ENTRY',
      `rev ${entry.rev}: proposal ${id} did not pass at height ${entry.height} (${proposal.status})`,
    );
  }
  const call = proposal.actions[action];
  if (call === undefined) {
    fail('VERIFY_HISTORY_ENTRY', `rev ${entry.rev}: proposal ${id} has no action ${action}`);
  }
  return { call, proposal: id };
}

/**
 * Proves the history of object `id` of `module` against a trusted validator set (see the
 * header). Returns the proven rev, hist and every change, oldest first; throws VERIFY_* (or
 * CLIENT_*) when anything does not check out.
 */
export async function verifyHistory(
  client: HistoryClient,
  module: string,
  id: string,
  trusted: TrustedChain,
  opts: VerifyHistoryOptions = {},
): Promise<VerifiedHistory> {
  const check = opts.check ?? verifyNoble;
  const current = verifyStateProof(
    module,
    id,
    await client.state(module, id, { proof: true }),
    trusted,
    check,
  );
  const target = current.json === null ? NO_HISTORY : historyOf(module, id, current.json);
  const index = target.rev === 0 ? [] : await indexEntries(client, module, id, target.rev);
  const txs = new Map<string, Promise<ProvenTx>>();
  const entries: VerifiedHistoryEntry[] = [];
  let h = NO_HISTORY;
  for (let i = 0; i < target.rev; i++) {
    const entry = index[i];
    // Rule: the entries are revs 1..rev, each once, in order.
    if (entry === undefined) {
      fail('VERIFY_HISTORY_GAP', `the index ends at rev ${i}, the object is at rev ${target.rev}`);
    }
    checkShape(entry, i);
    if (entry.rev !== i + 1) {
      fail('VERIFY_HISTORY_GAP', `the index gives rev ${entry.rev} where rev ${i + 1} belongs`);
    }
    if (entry.height > current.height) {
      fail(
        'VERIFY_HISTORY_ENTRY',
        `rev ${entry.rev} is at height ${entry.height}, after the proven value (${current.height})`,
      );
    }
    const key = entry.txHash.toLowerCase();
    let pending = txs.get(key);
    if (pending === undefined) {
      pending = provenTx(client, entry, trusted, check);
      txs.set(key, pending);
    }
    const { tx, height, index: txIndex } = await pending;
    if (height !== entry.height || txIndex !== entry.index) {
      fail(
        'VERIFY_HISTORY_ENTRY',
        `rev ${entry.rev}: tx ${entry.txHash} is not where the index says`,
      );
    }
    const op = tx.ops[entry.opIndex];
    if (op === undefined) {
      fail(
        'VERIFY_HISTORY_ENTRY',
        `rev ${entry.rev}: tx ${entry.txHash} has no op ${entry.opIndex}`,
      );
    }
    const { call, proposal } =
      entry.action === null
        ? { call: op, proposal: null }
        : await governanceRecord(client, entry, op, entry.action, trusted, check);
    h = nextHistory(
      h,
      fromHex(entry.txHash, HASH_LENGTH),
      entry.opIndex,
      historyRecordHash(call.module, call.method, call.args),
    );
    const verified: VerifiedHistoryEntry = {
      rev: h.rev,
      height: entry.height,
      txHash: toHex(fromHex(entry.txHash, HASH_LENGTH)),
      opIndex: entry.opIndex,
      action: entry.action,
      proposal,
      module: call.module,
      method: call.method,
      args: argsJson(call),
      hist: toHex(h.hist),
    };
    entries.push(verified);
    opts.onEntry?.(verified);
  }
  // Rule: the replayed chain ends exactly at the proven current value.
  if (h.rev !== target.rev || !equalBytes(h.hist, target.hist)) {
    fail(
      'VERIFY_HISTORY_MISMATCH',
      `replaying ${entries.length} changes gives hist ${toHex(h.hist)}, the object's proven hist is ${toHex(target.hist)}`,
    );
  }
  return {
    module,
    id,
    rev: target.rev,
    hist: toHex(target.hist),
    present: current.present,
    height: current.height,
    entries,
  };
}
