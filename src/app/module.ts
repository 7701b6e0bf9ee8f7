/**
 * What an application module is: a state namespace, methods (canonical binary args with a
 * JSON form, the state keys each call touches, who may call it, execution against the
 * block's state), objects that can be queried and proven, a genesis section and events.
 * Modules are listed in one place (registry.ts) and call each other only through the small
 * keeper functions a module exports, never by reading another module's keys themselves.
 */
import type { Genesis } from '../chain/genesis.ts';
import type { ReceiptEvent } from '../chain/receipt.ts';
import type { ReceiptFailureCode } from '../errors/index.ts';
import type { ChainView } from '../state/ledger.ts';
import type { History } from './history.ts';
import type { StateAccess, StateRead, StateView } from './state-view.ts';

/** A method's arguments: canonical bytes on chain, JSON at the edges (CLI, HTTP, SDK). */
export interface ArgsCodec<A> {
  encode(args: A): Uint8Array;
  /** Strict: throws a CODEC_* or module *_BAD_ARGS error on anything but canonical bytes. */
  decode(bytes: Uint8Array): A;
  /** Parses the JSON form (addresses and hashes hex, amounts decimal strings); throws *_BAD_ARGS. */
  fromJson(json: unknown): A;
  toJson(args: A): Record<string, unknown>;
}

/**
 * Where a call comes from. `tx`: an op of a signed tx. `governance`: an action of a proposal
 * that reached its threshold (methods reserved to governance accept only this origin).
 */
export type CallOrigin = 'tx' | 'governance';

/**
 * What a method derives its state keys from: the tx, and the block keys (each module's
 * `blockKeys`, read before any tx key), e.g. whether the chain is permissioned or whether any
 * freeze order is active. Reading any other key here is a bug: it throws MissingStateKeys.
 */
export interface KeyContext {
  /** The sender's address (20 bytes). */
  readonly sender: Uint8Array;
  /** The cosigners' addresses, in tx order. */
  readonly cosigners: readonly Uint8Array[];
  /** The state with the block keys loaded (read only). */
  readonly blockState: StateRead;
  /**
   * The sender's account key (bank), the very object the executor loads to check the nonce:
   * a call that names it finds the entry without building the key again.
   */
  readonly senderAccountKey: Uint8Array;
}

export interface CallContext extends Omit<KeyContext, 'blockState' | 'senderAccountKey'> {
  /** The sender's address as hex (for events; computed once per sender). */
  readonly senderHex: string;
  readonly origin: CallOrigin;
  /** Height of the block being executed. */
  readonly height: number;
  /** The validator set signing this block, recent block hashes, recent certificates' signers. */
  readonly chain: ChainView;
  readonly txHash: Uint8Array;
  /** The tx's calls (module and method of each op), for checkTx rules about the whole tx. */
  readonly txCalls: ReadonlyArray<{ readonly module: string; readonly method: string }>;
  /** Index of the op in its tx (a governance action runs with the vote's op index). */
  readonly opIndex: number;
  /** The revision the op expects of the object it acts on (STALE_REV when it differs). */
  readonly expectRev: number | null;
  readonly state: StateView;
  /** The keys this call's `keys()` named, in that order (reusing them saves lookups). */
  readonly keys: readonly Uint8Array[];
  /** Adds an event to the tx's receipt (dropped with the op's writes if the tx fails). */
  emit(type: string, attributes: ReadonlyArray<readonly [string, string]>): void;
  /** Whether an address signed the tx (the sender or a cosigner). */
  signed(address: Uint8Array): boolean;
  /**
   * Runs calls with origin `governance` (a passed proposal's actions), all or nothing: the
   * first failure undoes the writes and events of every call, and is returned with its index.
   */
  runAsGovernance(calls: readonly Call[]): { index: number; code: ReceiptFailureCode } | undefined;
  /**
   * An object's history after this call changes it: rev + 1, hist chained with this call.
   * `key` is the object's state key: the node indexes which txs changed which object by it
   * (GET /history), so a module calls this once per changed object, with its key.
   */
  advance(key: Uint8Array, history: History): History;
  /** STALE_REV when the op names the revision it expects and the object is at another. */
  checkRev(history: History): CallOutcome;
}

/** A module method and its canonical args (a governance action). */
export interface Call {
  readonly module: string;
  readonly method: string;
  readonly args: Uint8Array;
}

/** undefined: the call succeeded; a code: it failed and the whole tx rolls back. */
export type CallOutcome = ReceiptFailureCode | undefined;

export interface Method<A> {
  readonly args: ArgsCodec<A>;
  /** State keys the call touches, derived from its args and signers (prefetched in one read). */
  keys(args: A, ctx: KeyContext): readonly Uint8Array[];
  /** Executes the call against the block's state. Deterministic, and never throws. */
  execute(args: A, ctx: CallContext): CallOutcome;
}

/** An object a module serves at GET /state/:module/:id and proves with a state proof. */
export interface ObjectQuery {
  /** The state key of the object `id` names; throws a *_BAD_ID error for a malformed id. */
  key(id: string): Uint8Array;
  /** The stored value of object `id` as JSON (bytes hex, amounts decimal strings). */
  toJson(value: Uint8Array, id: string): Record<string, unknown>;
}

export interface GenesisContext {
  readonly genesis: Genesis;
  /** The genesis section of this module (`genesis.app[module]`), unchecked JSON. */
  readonly section: unknown;
  /** The genesis state under construction: modules write their initial objects into it. */
  readonly state: StateAccess;
}

export interface AppModule {
  readonly name: string;
  // biome-ignore lint/suspicious/noExplicitAny: each method has its own args type
  readonly methods: Readonly<Record<string, Method<any>>>;
  readonly objects: ObjectQuery;
  /** Keys read once per block, before the txs' keys are derived (small, shared objects). */
  readonly blockKeys?: readonly Uint8Array[];
  /** Keys every tx reads for this module's checkTx (e.g. the sender's membership). */
  txKeys?(ctx: KeyContext): readonly Uint8Array[];
  /** Checks a tx before its ops run (e.g. that its sender may transact); a code fails it. */
  checkTx?(ctx: CallContext): CallOutcome;
  /** Writes the module's initial state from its genesis section; throws GENESIS_INVALID. */
  genesis?(ctx: GenesisContext): void;
}

export type { ReceiptEvent };
