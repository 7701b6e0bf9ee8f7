/**
 * A block's view of the application state: the committed values its txs may touch (loaded
 * before execution, in one batched read), with the block's own writes on top, decoded once
 * and encoded once at the end of the block.
 *
 * All or nothing: a tx runs inside a savepoint; a failed op rolls back every write since the
 * savepoint (an undo journal, so a successful tx costs no copy). Savepoints nest (a
 * governance proposal executes its actions inside the vote's tx).
 *
 * Reads of keys that were not loaded throw `MissingStateKeys`: the executor loads them and
 * runs the tx again from its savepoint. Execution thus stays synchronous and deterministic,
 * and the common case (every key derivable from the tx) costs one read per block.
 */
import { latin1Key } from '../crypto/bytes.ts';

/** How a module's values are stored: canonical bytes in the tree, typed values in execution. */
export interface ValueCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** Thrown by a read of a key that was not loaded; caught by the executor, never escapes it. */
export class MissingStateKeys {
  readonly keys: readonly Uint8Array[];
  constructor(keys: readonly Uint8Array[]) {
    this.keys = keys;
  }
}

interface Entry {
  readonly key: Uint8Array;
  /** Committed bytes as loaded (undefined: absent). */
  readonly stored: Uint8Array | undefined;
  /** The current value, decoded; undefined: absent. */
  value: unknown;
  decoded: boolean;
  codec: ValueCodec<unknown> | undefined;
  dirty: boolean;
}

/** Reading and writing values: what keepers need, in a block (StateView) or at genesis. */
export type StateAccess = Pick<StateView, 'get' | 'set'>;

/** Reading values only (keepers that answer questions, key derivation from block keys). */
export type StateRead = Pick<StateView, 'get'>;

/** A map key for raw key bytes (latin1Key). */
export const keyId = latin1Key;

export class StateView {
  private readonly entries = new Map<string, Entry>();
  /**
   * The entry of each key object seen, so a key passed again costs no string. A Map, not a
   * WeakMap: the view lives for one block, and weak entries cost the collector more.
   */
  private readonly byObject = new Map<Uint8Array, Entry>();
  /**
   * One undo journal per open savepoint, flat: each write adds four slots (the entry, then
   * its value, decoded and dirty before the write), no record object per write.
   */
  private readonly journals: unknown[][] = [];

  /** Whether `key` was loaded (present or absent). */
  has(key: Uint8Array): boolean {
    return this.entries.has(keyId(key));
  }

  /** Whether the key with this id (keyId) was loaded. */
  hasId(id: string): boolean {
    return this.entries.has(id);
  }

  /**
   * Adds committed values read from the store (`undefined` = absent). Never overwrites.
   * `ids`, when given, are the keys' keyId (the caller computed them already).
   */
  load(
    keys: readonly Uint8Array[],
    values: readonly (Uint8Array | undefined)[],
    ids?: readonly string[],
  ): void {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const id = ids?.[i] ?? keyId(key);
      if (this.entries.has(id)) continue;
      const stored = values[i];
      const entry: Entry = {
        key,
        stored,
        value: undefined,
        decoded: stored === undefined,
        codec: undefined,
        dirty: false,
      };
      this.entries.set(id, entry);
      this.byObject.set(key, entry);
    }
  }

  get<T>(key: Uint8Array, codec: ValueCodec<T>): T | undefined {
    const entry = this.entry(key);
    if (!entry.decoded) {
      entry.value = codec.decode(entry.stored!);
      entry.decoded = true;
    }
    entry.codec ??= codec as ValueCodec<unknown>;
    return entry.value as T | undefined;
  }

  set<T>(key: Uint8Array, value: T, codec: ValueCodec<T>): void {
    this.write(this.entry(key), value, codec as ValueCodec<unknown>);
  }

  /** Opens a savepoint; every write after it is undone by `rollback`. */
  savepoint(): void {
    this.journals.push([]);
  }

  /** Keeps the writes since the last savepoint (they join the enclosing one, if any). */
  release(): void {
    const journal = this.journals.pop()!;
    const outer = this.journals.at(-1);
    if (outer !== undefined) for (const r of journal) outer.push(r);
  }

  /** Undoes every write since the last savepoint. */
  rollback(): void {
    const journal = this.journals.pop()!;
    for (let i = journal.length - 4; i >= 0; i -= 4) {
      const entry = journal[i] as Entry;
      entry.value = journal[i + 1];
      entry.decoded = journal[i + 2] as boolean;
      entry.dirty = journal[i + 3] as boolean;
    }
  }

  /**
   * The block's writes, encoded. Values are never deleted (the state tree keeps every key it
   * was given; objects that end carry a status instead), so every write is a value.
   */
  changes(): Array<{ key: Uint8Array; value: Uint8Array }> {
    const out: Array<{ key: Uint8Array; value: Uint8Array }> = [];
    for (const entry of this.entries.values()) {
      if (entry.dirty) out.push({ key: entry.key, value: entry.codec!.encode(entry.value) });
    }
    return out;
  }

  private entry(key: Uint8Array): Entry {
    let entry = this.byObject.get(key);
    if (entry !== undefined) return entry;
    entry = this.entries.get(keyId(key));
    if (entry === undefined) throw new MissingStateKeys([key]);
    this.byObject.set(key, entry);
    return entry;
  }

  private write(entry: Entry, value: unknown, codec: ValueCodec<unknown>): void {
    this.journals.at(-1)?.push(entry, entry.value, entry.decoded, entry.dirty);
    entry.value = value;
    entry.decoded = true;
    entry.codec = codec;
    entry.dirty = true;
  }
}
