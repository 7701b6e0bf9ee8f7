/**
 * Whether a sender may transact at all (src/app/admission.ts: on a permissioned chain, only
 * active members of active organisations), answered before its tx enters the mempool, from
 * committed state.
 *
 * A verdict is kept per sender together with the state keys it was derived from (the params,
 * the sender's member record, its organisation). A committed block that writes one of those
 * keys drops every verdict that read it, whatever the block did: an admin adding a member,
 * governance suspending an organisation or opening the chain. So admission reads no LevelDB
 * for a sender seen recently, as commit-cache.ts does for nonces, and the rule itself stays
 * in the application: this file knows no key but those the rule asked for.
 */
import { admissionCheck } from '../app/admission.ts';
import { keyId, MissingStateKeys, type StateRead, type ValueCodec } from '../app/state-view.ts';
import { addressOf } from '../chain/address.ts';
import { toHex } from '../crypto/bytes.ts';
import type { ReceiptFailureCode } from '../errors/index.ts';
import type { ExecutedBlock } from '../state/ledger.ts';
import { stateKeyHash } from '../state/smt/index.ts';

/** undefined: the sender may transact; a code: every tx it sends is refused with it. */
export type AdmissionVerdict = ReceiptFailureCode | undefined;

export interface AdmissionPolicyOptions {
  /** Senders whose verdict is kept (the first cached is dropped first). */
  maxSenders: number;
}

export const DEFAULT_ADMISSION_POLICY: AdmissionPolicyOptions = { maxSenders: 100_000 };

export interface AdmissionPolicyModules {
  /** A committed state value by raw key (undefined: absent), as `Ledger.getValue` reads it. */
  readValue(key: Uint8Array): Promise<Uint8Array | undefined>;
}

interface CachedVerdict {
  readonly verdict: AdmissionVerdict;
  /** The state key hashes (keyId) the verdict was derived from. */
  readonly keys: readonly string[];
}

/** A rule that keeps asking for keys it did not ask for before is a bug, not a slow read. */
const MAX_READ_ROUNDS = 8;

export class AdmissionPolicy {
  private readonly opts: AdmissionPolicyOptions;
  private readonly readValue: AdmissionPolicyModules['readValue'];
  /** By sender public key (hex), in insertion order so the oldest is dropped first. */
  private readonly verdicts = new Map<string, CachedVerdict>();
  /** State key hash (keyId) → the senders whose cached verdict read it. */
  private readonly readers = new Map<string, Set<string>>();
  /** One evaluation per sender at a time: a gossiped batch often holds several of its txs. */
  private readonly inFlight = new Map<string, Promise<AdmissionVerdict>>();
  /** Bumped on every commit: an evaluation that straddles a commit is answered, not cached. */
  private commits = 0;
  hits = 0;
  misses = 0;

  constructor(opts: Partial<AdmissionPolicyOptions>, modules: AdmissionPolicyModules) {
    this.opts = { ...DEFAULT_ADMISSION_POLICY, ...opts };
    this.readValue = modules.readValue;
  }

  /** Senders with a cached verdict. */
  get size(): number {
    return this.verdicts.size;
  }

  /** The verdict for `sender` (public key): from memory, else read from committed state. */
  check(
    sender: Uint8Array,
    senderHex = toHex(sender),
  ): AdmissionVerdict | Promise<AdmissionVerdict> {
    const cached = this.verdicts.get(senderHex);
    if (cached !== undefined) {
      this.hits++;
      return cached.verdict;
    }
    this.misses++;
    let pending = this.inFlight.get(senderHex);
    if (pending === undefined) {
      pending = this.evaluate(sender, senderHex).finally(() => this.inFlight.delete(senderHex));
      this.inFlight.set(senderHex, pending);
    }
    return pending;
  }

  /**
   * Called once per committed block, after the ledger commit and before admission runs for
   * the next height: drops the verdicts that read a key the block wrote (its state changes
   * are hashed keys, the very ones the verdicts remember).
   */
  onCommit(executed: Pick<ExecutedBlock, 'values'>): void {
    this.commits++;
    if (this.readers.size === 0) return;
    for (const [keyHash] of executed.values) {
      const senders = this.readers.get(keyId(keyHash));
      if (senders === undefined) continue;
      for (const sender of [...senders]) this.forget(sender);
    }
  }

  /**
   * Runs the application's rule on committed state. The rule reads synchronously; a key not
   * yet loaded stops it (MissingStateKeys, as in the executor), is read, and the rule runs
   * again, so this file never needs to know which keys the rule reads.
   */
  private async evaluate(sender: Uint8Array, senderHex: string): Promise<AdmissionVerdict> {
    const commitsBefore = this.commits;
    const address = addressOf(sender);
    const loaded = new Map<string, { key: Uint8Array; value: Uint8Array | undefined }>();
    const state: StateRead = {
      get: <T>(key: Uint8Array, codec: ValueCodec<T>): T | undefined => {
        const entry = loaded.get(keyId(key));
        if (entry === undefined) throw new MissingStateKeys([key]);
        return entry.value === undefined ? undefined : codec.decode(entry.value);
      },
    };
    for (let round = 1; ; round++) {
      try {
        const verdict = admissionCheck(state, address);
        if (this.commits === commitsBefore) {
          this.remember(senderHex, {
            verdict,
            keys: [...loaded.values()].map((e) => keyId(stateKeyHash(e.key))),
          });
        }
        return verdict;
      } catch (err) {
        if (!(err instanceof MissingStateKeys) || round >= MAX_READ_ROUNDS) throw err;
        const values = await Promise.all(err.keys.map((key) => this.readValue(key)));
        err.keys.forEach((key, i) => {
          loaded.set(keyId(key), { key, value: values[i] });
        });
      }
    }
  }

  private remember(senderHex: string, entry: CachedVerdict): void {
    this.forget(senderHex);
    if (this.verdicts.size >= this.opts.maxSenders) {
      this.forget(this.verdicts.keys().next().value!);
    }
    this.verdicts.set(senderHex, entry);
    for (const key of entry.keys) {
      let senders = this.readers.get(key);
      if (senders === undefined) {
        senders = new Set();
        this.readers.set(key, senders);
      }
      senders.add(senderHex);
    }
  }

  private forget(senderHex: string): void {
    const entry = this.verdicts.get(senderHex);
    if (entry === undefined) return;
    this.verdicts.delete(senderHex);
    for (const key of entry.keys) {
      const senders = this.readers.get(key);
      senders?.delete(senderHex);
      if (senders?.size === 0) this.readers.delete(key);
    }
  }
}
