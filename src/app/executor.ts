/**
 * Executes a block's txs against the last committed state: deterministic, and free of I/O
 * once the state a tx touches is loaded. Every key a tx names (the sender's account, what each
 * module's checkTx reads, and each op's keys, all derived from the tx and the block keys —
 * small shared objects such as the params, read first) is read for the whole block in one
 * batch before the first tx runs. A tx that reads a key nobody named (a
 * governance vote executing its proposal's actions) is rolled back, the key is read, and the
 * tx runs again from the same state — so the result never depends on what was prefetched.
 *
 * A tx is all or nothing: its nonce check, each module's checkTx, then its ops in order,
 * inside one savepoint. The first failure undoes every write and event of the tx and gives a
 * failed receipt with the code and, when an op failed, its index. A failed tx changes
 * nothing, not even its sender's nonce. Execution never throws for a tx's sake.
 */
import { Limits } from '../chain/limits.ts';
import type { Receipt, ReceiptEvent } from '../chain/receipt.ts';
import type { Tx } from '../chain/tx.ts';
import { utf8 } from '../crypto/bytes.ts';
import {
  isCivitasError,
  isReceiptFailureCode,
  RECEIPT_OK,
  type ReceiptFailureCode,
} from '../errors/index.ts';
import type { ChainView, ObjectChange } from '../state/ledger.ts';
import type { App } from './app.ts';
import { accountCodec, EMPTY_ACCOUNT, type SenderKeys, senderKeys } from './bank/account.ts';
import { type History, historyRecordHash, nextHistory } from './history.ts';
import type { Call, CallContext, CallOrigin, CallOutcome, KeyContext, Method } from './module.ts';
import { keyId, MissingStateKeys, StateView } from './state-view.ts';

/** One link of an object's history chain (defined by the state layer, which indexes it). */
export type { ObjectChange };

/** Reads committed values by raw state key (undefined: absent), in one batch. */
export type StateReader = (keys: readonly Uint8Array[]) => Promise<(Uint8Array | undefined)[]>;

export interface ExecutionResult {
  readonly receipts: Receipt[];
  /** The block's writes: raw state key → encoded value. */
  readonly changes: Array<{ key: Uint8Array; value: Uint8Array }>;
  /** Each change of a tracked object by a tx that succeeded, in execution order. */
  readonly history: ObjectChange[];
}

const NO_KEYS: readonly Uint8Array[] = Object.freeze([]);

/** A tx that keeps reading keys nobody named this many times fails instead of running on. */
const MAX_KEY_ROUNDS = 16;

interface PreparedOp {
  readonly module: string;
  readonly method: string;
  readonly args: Uint8Array;
  readonly expectRev: number | null;
  readonly impl: Method<unknown>;
  readonly decoded: unknown;
  /** What impl.keys returned, in its order (the call may reuse the same key objects). */
  readonly keys: readonly Uint8Array[];
}

interface PreparedTx {
  readonly sender: SenderKeys;
  readonly keyContext: KeyContext;
  /** Set when an op cannot run at all (unknown method, args that do not decode). */
  readonly invalid?: { code: ReceiptFailureCode; op: number };
  readonly ops: readonly PreparedOp[];
  readonly cosignerAddresses: readonly Uint8Array[];
}

/**
 * The receipt code of args that do not decode: the module's own code when the decoder threw
 * one, else the module's <MODULE>_BAD_ARGS (a codec error says only what broke, not whose
 * args), else APP_BAD_ARGS.
 */
function badArgsCode(err: unknown, module: string): ReceiptFailureCode {
  if (isCivitasError(err) && isReceiptFailureCode(err.code)) return err.code;
  const own = `${module.toUpperCase()}_BAD_ARGS`;
  return isReceiptFailureCode(own) ? own : 'APP_BAD_ARGS';
}

/** Adds the keys not named yet to the block's read set. */
function want(keys: Map<string, Uint8Array>, list: readonly Uint8Array[]): void {
  for (const key of list) {
    const id = keyId(key);
    if (!keys.has(id)) keys.set(id, key);
  }
}

function prepare(
  app: App,
  tx: Tx,
  blockState: StateView,
  keys: Map<string, Uint8Array>,
): PreparedTx {
  const sender = senderKeys(tx.sender);
  const cosignerAddresses =
    tx.cosigners.length === 0 ? NO_KEYS : tx.cosigners.map((c) => senderKeys(c).address);
  const keyContext: KeyContext = {
    sender: sender.address,
    cosigners: cosignerAddresses,
    blockState,
    senderAccountKey: sender.accountKey,
  };
  const accountId = keyId(sender.accountKey);
  if (!keys.has(accountId)) keys.set(accountId, sender.accountKey);
  for (const m of app.txChecks) {
    if (m.txKeys !== undefined) want(keys, m.txKeys(keyContext));
  }
  const ops: PreparedOp[] = [];
  for (let j = 0; j < tx.ops.length; j++) {
    const op = tx.ops[j]!;
    const impl = app.method(op.module, op.method);
    if (impl === undefined) {
      return {
        sender,
        keyContext,
        ops,
        cosignerAddresses,
        invalid: { code: 'APP_UNKNOWN_METHOD', op: j },
      };
    }
    let decoded: unknown;
    try {
      decoded = impl.args.decode(op.args);
    } catch (err) {
      return {
        sender,
        keyContext,
        ops,
        cosignerAddresses,
        invalid: { code: badArgsCode(err, op.module), op: j },
      };
    }
    const opKeys = impl.keys(decoded, keyContext);
    want(keys, opKeys);
    ops.push({
      module: op.module,
      method: op.method,
      args: op.args,
      expectRev: op.expectRev,
      impl,
      decoded,
      keys: opKeys,
    });
  }
  return { sender, keyContext, ops, cosignerAddresses };
}

/** One attempt at running a tx; the events it emitted go to its receipt if it succeeds. */
class TxRun {
  readonly events: ReceiptEvent[] = [];
  /** Objects changed (key, new rev, op, action); txIndex is set when the tx succeeds. */
  readonly changed: Array<Omit<ObjectChange, 'txIndex'>> = [];
  readonly app: App;
  readonly state: StateView;
  readonly tx: Tx;
  readonly txHash: Uint8Array;
  readonly prepared: PreparedTx;
  readonly height: number;
  readonly chain: ChainView;

  constructor(
    app: App,
    state: StateView,
    tx: Tx,
    txHash: Uint8Array,
    prepared: PreparedTx,
    height: number,
    chain: ChainView,
  ) {
    this.chain = chain;
    this.app = app;
    this.state = state;
    this.tx = tx;
    this.txHash = txHash;
    this.prepared = prepared;
    this.height = height;
  }

  /** Runs the tx in a savepoint; the caller releases or rolls back. */
  run(): { code: ReceiptFailureCode; failedOp: number | null } | undefined {
    const { state, prepared, tx } = this;
    if (prepared.invalid !== undefined) {
      return { code: prepared.invalid.code, failedOp: prepared.invalid.op };
    }
    const accountKey = prepared.sender.accountKey;
    const account = state.get(accountKey, accountCodec) ?? EMPTY_ACCOUNT;
    // Rule: a tx carries its sender's next nonce; only a tx that succeeds uses it up.
    if (tx.nonce !== account.nonce) return { code: 'BANK_BAD_NONCE', failedOp: null };
    const { txChecks } = this.app;
    if (txChecks.length > 0) {
      const base = this.context(0, null, 'tx', undefined, NO_KEYS);
      for (const m of txChecks) {
        const code = m.checkTx?.(base);
        if (code !== undefined) return { code, failedOp: null };
      }
    }
    for (let j = 0; j < prepared.ops.length; j++) {
      const op = prepared.ops[j]!;
      const ctx = this.context(j, op.expectRev, 'tx', op, op.keys);
      const code = op.impl.execute(op.decoded, ctx);
      if (code !== undefined) return { code, failedOp: j };
    }
    const after = state.get(accountKey, accountCodec) ?? EMPTY_ACCOUNT;
    state.set(accountKey, { balance: after.balance, nonce: after.nonce + 1 }, accountCodec);
    return undefined;
  }

  private context(
    opIndex: number,
    expectRev: number | null,
    origin: CallOrigin,
    call: Call | undefined,
    keys: readonly Uint8Array[],
    action: number | null = null,
  ): CallContext {
    return new OpContext(this, opIndex, expectRev, origin, call, keys, action);
  }

  /** Whether an address signed the tx (the sender or a cosigner). */
  signedBy(address: Uint8Array): boolean {
    const { prepared } = this;
    return (
      equal(address, prepared.keyContext.sender) ||
      prepared.cosignerAddresses.some((c) => equal(c, address))
    );
  }

  runAsGovernance(
    opIndex: number,
    calls: readonly Call[],
  ): { index: number; code: ReceiptFailureCode } | undefined {
    const eventsBefore = this.events.length;
    const changedBefore = this.changed.length;
    this.state.savepoint();
    let failure: { index: number; code: ReceiptFailureCode } | undefined;
    try {
      for (let k = 0; k < calls.length && failure === undefined; k++) {
        const call = calls[k]!;
        const code = this.callAsGovernance(opIndex, k, call);
        if (code !== undefined) failure = { index: k, code };
      }
    } catch (err) {
      this.state.rollback();
      this.events.length = eventsBefore;
      this.changed.length = changedBefore;
      throw err;
    }
    if (failure === undefined) {
      this.state.release();
    } else {
      this.state.rollback();
      this.events.length = eventsBefore;
      this.changed.length = changedBefore;
    }
    return failure;
  }

  private callAsGovernance(opIndex: number, action: number, call: Call): CallOutcome {
    const impl = this.app.method(call.module, call.method);
    if (impl === undefined) return 'APP_UNKNOWN_METHOD';
    let decoded: unknown;
    try {
      decoded = impl.args.decode(call.args);
    } catch (err) {
      return badArgsCode(err, call.module);
    }
    const keys = impl.keys(decoded, this.prepared.keyContext);
    return impl.execute(decoded, this.context(opIndex, null, 'governance', call, keys, action));
  }
}

/** The context of one call: fields plus methods on the prototype (no closures per op). */
class OpContext implements CallContext {
  readonly sender: Uint8Array;
  readonly senderHex: string;
  readonly cosigners: readonly Uint8Array[];
  readonly origin: CallOrigin;
  readonly height: number;
  readonly txHash: Uint8Array;
  readonly opIndex: number;
  readonly expectRev: number | null;
  readonly state: StateView;
  readonly keys: readonly Uint8Array[];
  readonly chain: ChainView;
  readonly txCalls: ReadonlyArray<{ readonly module: string; readonly method: string }>;
  private readonly run: TxRun;
  private readonly call: Call | undefined;
  private readonly action: number | null;
  private recordHash: Uint8Array | undefined;

  constructor(
    run: TxRun,
    opIndex: number,
    expectRev: number | null,
    origin: CallOrigin,
    call: Call | undefined,
    keys: readonly Uint8Array[],
    action: number | null,
  ) {
    this.run = run;
    this.action = action;
    this.sender = run.prepared.keyContext.sender;
    this.senderHex = run.prepared.sender.addressHex;
    this.cosigners = run.prepared.keyContext.cosigners;
    this.origin = origin;
    this.height = run.height;
    this.txHash = run.txHash;
    this.opIndex = opIndex;
    this.expectRev = expectRev;
    this.state = run.state;
    this.keys = keys;
    this.call = call;
    this.chain = run.chain;
    this.txCalls = run.prepared.ops;
  }

  emit(type: string, attributes: ReadonlyArray<readonly [string, string]>): void {
    this.run.events.push({ type, attributes });
  }

  signed(address: Uint8Array): boolean {
    return this.run.signedBy(address);
  }

  runAsGovernance(calls: readonly Call[]): { index: number; code: ReceiptFailureCode } | undefined {
    return this.run.runAsGovernance(this.opIndex, calls);
  }

  advance(key: Uint8Array, history: History): History {
    if (this.call === undefined) throw new Error('advance() outside a call');
    this.recordHash ??= historyRecordHash(this.call.module, this.call.method, this.call.args);
    const next = nextHistory(history, this.txHash, this.opIndex, this.recordHash);
    this.run.changed.push({ key, rev: next.rev, opIndex: this.opIndex, action: this.action });
    return next;
  }

  checkRev(history: History): CallOutcome {
    return this.expectRev !== null && this.expectRev !== history.rev ? 'STALE_REV' : undefined;
  }
}

function stringFits(s: string): boolean {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: most strings pass without encoding.
  return (
    s.length * 3 <= Limits.eventStringBytes || utf8.encode(s).length <= Limits.eventStringBytes
  );
}

/** Whether the events fit the receipt decoder's limits (src/chain/receipt.ts). */
function eventsFit(events: readonly ReceiptEvent[]): boolean {
  if (events.length > Limits.eventsPerReceipt) return false;
  for (const e of events) {
    if (!stringFits(e.type) || e.attributes.length > Limits.eventAttributes) return false;
    for (const [k, v] of e.attributes) if (!stringFits(k) || !stringFits(v)) return false;
  }
  return true;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export async function executeBlock(
  app: App,
  txs: readonly Tx[],
  txHashes: readonly Uint8Array[],
  height: number,
  read: StateReader,
  chain: ChainView,
): Promise<ExecutionResult> {
  const state = new StateView();
  // Two reads per block: the block keys (params, counters) the txs' keys depend on, then
  // every key the txs name.
  state.load(app.blockKeys, await read(app.blockKeys));
  const keys = new Map<string, Uint8Array>();
  const prepared = txs.map((tx) => prepare(app, tx, state, keys));
  const ids: string[] = [];
  const named: Uint8Array[] = [];
  for (const [id, key] of keys) {
    if (state.hasId(id)) continue;
    ids.push(id);
    named.push(key);
  }
  state.load(named, await read(named), ids);

  const receipts: Receipt[] = [];
  const history: ObjectChange[] = [];
  for (let i = 0; i < txs.length; i++) {
    const txHash = txHashes[i]!;
    let outcome: { code: ReceiptFailureCode; failedOp: number | null } | undefined;
    let run: TxRun;
    for (let round = 0; ; round++) {
      run = new TxRun(app, state, txs[i]!, txHash, prepared[i]!, height, chain);
      state.savepoint();
      try {
        outcome = run.run();
        break;
      } catch (err) {
        state.rollback();
        if (!(err instanceof MissingStateKeys)) throw err;
        if (round >= MAX_KEY_ROUNDS) {
          outcome = { code: 'APP_TOO_MANY_READS', failedOp: null };
          state.savepoint();
          break;
        }
        state.load(err.keys, await read(err.keys));
      }
    }
    // Rule: a receipt's events stay within the limits every node decodes receipts with.
    if (outcome === undefined && !eventsFit(run.events)) {
      outcome = { code: 'APP_EVENTS_TOO_LARGE', failedOp: null };
    }
    if (outcome === undefined) {
      state.release();
      receipts.push({ txHash, status: 'ok', code: RECEIPT_OK, events: run.events, failedOp: null });
      for (const c of run.changed) history.push({ ...c, txIndex: i });
    } else {
      state.rollback();
      receipts.push({
        txHash,
        status: 'failed',
        code: outcome.code,
        events: [],
        failedOp: outcome.failedOp,
      });
    }
  }
  return { receipts, changes: state.changes(), history };
}
