/**
 * The `validators` module: who signs blocks, decided together (state.ts).
 *
 *   validators.add            {publicKey, name}   governance only
 *   validators.remove         {publicKey}         governance only
 *   validators.replace        {old, new, name}    governance only (key rotation, same index)
 *   validators.addObserver    {publicKey, name}   governance only
 *   validators.removeObserver {publicKey}         governance only
 *   validators.ready          {publicKey, recentBlockHash}   signed by that key
 *
 * A change executed in block h takes effect at h + 1 (the header of h names the new set, so
 * h's certificate certifies it; the ledger logs it, src/state/validator-log.ts). Rules every
 * change passes, so that no vote can halt the chain, with S = the chain parameter
 * validatorChangeSpacing (64 blocks by default):
 *   - at most one change per block, and S blocks between two changes;
 *   - a validator joining (add, replace) is a registered observer that proved within the last
 *     S blocks that it holds its key and follows the chain (validators.ready names the hash of
 *     one of the last S blocks);
 *   - the new set keeps a quorum of live members: validators that signed a certificate in
 *     the last S blocks, or proved ready, number at least the new set's quorum.
 * Governance adds at most one validator change per proposal (gov/index.ts).
 *
 * Events: validators.added, validators.removed, validators.replaced, validators.observer_added,
 * validators.observer_removed, validators.ready.
 * Objects: GET /state/validators/set, /state/validators/observers, /state/validators/ready/<key>.
 */
import { addressOf } from '../../chain/address.ts';
import { Limits } from '../../chain/limits.ts';
import { makeValidatorSet } from '../../chain/validator-set.ts';
import { decode } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { equalBytes, fromHex, toHex } from '../../crypto/bytes.ts';
import { PUBLIC_KEY_LENGTH } from '../../crypto/ed25519.ts';
import { HASH_LENGTH } from '../../crypto/hash.ts';
import { CivitasError } from '../../errors/index.ts';
import { jsonHash, jsonObject, jsonPublicKey, jsonString } from '../json-args.ts';
import type { AppModule, CallContext, CallOutcome, KeyContext, Method } from '../module.ts';
import {
  entriesCodec,
  heightCodec,
  MAX_OBSERVERS,
  META_KEY,
  metaCodec,
  NAME_MAX,
  OBSERVERS_KEY,
  observerEntries,
  readyKey,
  SET_KEY,
  type ValidatorEntry,
  validatorEntries,
} from './state.ts';

/** S: blocks between two validator-set changes; also how recent liveness and readiness must be. */
function spacing(ctx: CallContext): number {
  return ctx.chain.params.validatorChangeSpacing;
}

/** The methods that change the set (governance puts at most one in a proposal). */
export const SET_CHANGES: ReadonlySet<string> = new Set(['add', 'remove', 'replace']);

const has = (entries: readonly ValidatorEntry[], key: Uint8Array): boolean =>
  entries.some((e) => equalBytes(e.publicKey, key));

function name(value: unknown, field: string): string {
  return jsonString(value, field, 'VALIDATORS_BAD_ARGS', { maxLength: NAME_MAX });
}

function keyAndName(): Method<ValidatorEntry>['args'] {
  return {
    encode: (a) => encode((w) => w.fixed(a.publicKey, PUBLIC_KEY_LENGTH).string(a.name)),
    decode: (bytes) =>
      decode(bytes, (r) => ({
        publicKey: r.fixed(PUBLIC_KEY_LENGTH),
        name: r.string(NAME_MAX * 4),
      })),
    fromJson(json) {
      const o = jsonObject(json, 'VALIDATORS_BAD_ARGS', ['publicKey', 'name']);
      return {
        publicKey: jsonPublicKey(o.publicKey, 'publicKey', 'VALIDATORS_BAD_ARGS'),
        name: name(o.name, 'name'),
      };
    },
    toJson: (a) => ({ publicKey: toHex(a.publicKey), name: a.name }),
  };
}

function keyOnly(): Method<{ publicKey: Uint8Array }>['args'] {
  return {
    encode: (a) => encode((w) => w.fixed(a.publicKey, PUBLIC_KEY_LENGTH)),
    decode: (bytes) => decode(bytes, (r) => ({ publicKey: r.fixed(PUBLIC_KEY_LENGTH) })),
    fromJson(json) {
      const o = jsonObject(json, 'VALIDATORS_BAD_ARGS', ['publicKey']);
      return { publicKey: jsonPublicKey(o.publicKey, 'publicKey', 'VALIDATORS_BAD_ARGS') };
    },
    toJson: (a) => ({ publicKey: toHex(a.publicKey) }),
  };
}

/** Whether `key` proved readiness within the last S blocks. */
function isReady(ctx: CallContext, key: Uint8Array): boolean {
  const at = ctx.state.get(readyKey(key), heightCodec);
  return at !== undefined && at >= ctx.height - spacing(ctx);
}

/**
 * The rules every set change passes (module comment): spacing, then the liveness guard on the
 * new set (`joining` must be ready, and counts as live).
 */
function checkChange(
  ctx: CallContext,
  next: readonly ValidatorEntry[],
  joining: Uint8Array | null,
): CallOutcome {
  // Rule: changes come S blocks apart (and so one per block at most).
  const meta = ctx.state.get(META_KEY, metaCodec);
  if (meta !== undefined && meta.lastChange > 0 && ctx.height - meta.lastChange < spacing(ctx)) {
    return 'VALIDATORS_TOO_SOON';
  }
  // Rule: a set has 1..Limits.validators members.
  if (next.length === 0 || next.length > Limits.validators) return 'VALIDATORS_SET_SIZE';
  // Rule: a joining validator proved, recently, that it holds its key and follows the chain.
  if (joining !== null && !isReady(ctx, joining)) return 'VALIDATORS_NOT_READY';
  // Rule: the new set keeps a quorum of members seen live recently (signers of recent
  // certificates, or ready), so the change cannot halt the chain.
  const signed = ctx.chain.signedSince(ctx.height - spacing(ctx));
  const live = next.filter(
    (e) =>
      signed.has(toHex(e.publicKey)) ||
      (joining !== null && equalBytes(e.publicKey, joining)) ||
      isReady(ctx, e.publicKey),
  ).length;
  const quorum = makeValidatorSet(next.map((e) => e.publicKey)).quorum;
  if (live < quorum) return 'VALIDATORS_WOULD_HALT';
  return undefined;
}

function commitChange(ctx: CallContext, next: readonly ValidatorEntry[]): void {
  ctx.state.set(SET_KEY, next, entriesCodec);
  ctx.state.set(META_KEY, { lastChange: ctx.height }, metaCodec);
}

/** The keys a change reads: the set, the meta, and the ready records of every member named. */
function changeKeys(ctx: KeyContext, extra: readonly Uint8Array[]): Uint8Array[] {
  const keys = [SET_KEY, META_KEY, ...extra.map(readyKey)];
  for (const e of validatorEntries(ctx.blockState)) keys.push(readyKey(e.publicKey));
  return keys;
}

const add: Method<ValidatorEntry> = {
  args: keyAndName(),
  keys: (a, ctx) => [OBSERVERS_KEY, ...changeKeys(ctx, [a.publicKey])],
  execute(a, ctx) {
    if (ctx.origin !== 'governance') return 'GOV_ONLY';
    const set = validatorEntries(ctx.state);
    if (has(set, a.publicKey)) return 'VALIDATORS_ALREADY';
    // Rule: a validator joins from the registered observers.
    if (!has(observerEntries(ctx.state), a.publicKey)) return 'VALIDATORS_NOT_OBSERVER';
    const next = [...set, { publicKey: a.publicKey, name: a.name }];
    const problem = checkChange(ctx, next, a.publicKey);
    if (problem !== undefined) return problem;
    commitChange(ctx, next);
    ctx.emit('validators.added', [
      ['publicKey', toHex(a.publicKey)],
      ['name', a.name],
      ['fromHeight', String(ctx.height + 1)],
    ]);
    return undefined;
  },
};

const remove: Method<{ publicKey: Uint8Array }> = {
  args: keyOnly(),
  keys: (_a, ctx) => changeKeys(ctx, []),
  execute(a, ctx) {
    if (ctx.origin !== 'governance') return 'GOV_ONLY';
    const set = validatorEntries(ctx.state);
    if (!has(set, a.publicKey)) return 'VALIDATORS_UNKNOWN';
    const next = set.filter((e) => !equalBytes(e.publicKey, a.publicKey));
    const problem = checkChange(ctx, next, null);
    if (problem !== undefined) return problem;
    commitChange(ctx, next);
    ctx.emit('validators.removed', [
      ['publicKey', toHex(a.publicKey)],
      ['fromHeight', String(ctx.height + 1)],
    ]);
    return undefined;
  },
};

interface ReplaceArgs {
  readonly old: Uint8Array;
  readonly new: Uint8Array;
  readonly name: string;
}

const replace: Method<ReplaceArgs> = {
  args: {
    encode: (a) =>
      encode((w) =>
        w.fixed(a.old, PUBLIC_KEY_LENGTH).fixed(a.new, PUBLIC_KEY_LENGTH).string(a.name),
      ),
    decode: (bytes) =>
      decode(bytes, (r) => ({
        old: r.fixed(PUBLIC_KEY_LENGTH),
        new: r.fixed(PUBLIC_KEY_LENGTH),
        name: r.string(NAME_MAX * 4),
      })),
    fromJson(json) {
      const o = jsonObject(json, 'VALIDATORS_BAD_ARGS', ['old', 'new', 'name']);
      return {
        old: jsonPublicKey(o.old, 'old', 'VALIDATORS_BAD_ARGS'),
        new: jsonPublicKey(o.new, 'new', 'VALIDATORS_BAD_ARGS'),
        name: name(o.name, 'name'),
      };
    },
    toJson: (a) => ({ old: toHex(a.old), new: toHex(a.new), name: a.name }),
  },
  keys: (a, ctx) => [OBSERVERS_KEY, ...changeKeys(ctx, [a.new])],
  execute(a, ctx) {
    if (ctx.origin !== 'governance') return 'GOV_ONLY';
    const set = validatorEntries(ctx.state);
    if (!has(set, a.old)) return 'VALIDATORS_UNKNOWN';
    if (has(set, a.new)) return 'VALIDATORS_ALREADY';
    if (!has(observerEntries(ctx.state), a.new)) return 'VALIDATORS_NOT_OBSERVER';
    // The new key takes the old one's place (and index) in the set.
    const next = set.map((e) =>
      equalBytes(e.publicKey, a.old) ? { publicKey: a.new, name: a.name } : e,
    );
    const problem = checkChange(ctx, next, a.new);
    if (problem !== undefined) return problem;
    commitChange(ctx, next);
    ctx.emit('validators.replaced', [
      ['old', toHex(a.old)],
      ['new', toHex(a.new)],
      ['fromHeight', String(ctx.height + 1)],
    ]);
    return undefined;
  },
};

const addObserver: Method<ValidatorEntry> = {
  args: keyAndName(),
  keys: () => [OBSERVERS_KEY],
  execute(a, ctx) {
    if (ctx.origin !== 'governance') return 'GOV_ONLY';
    const observers = observerEntries(ctx.state);
    if (has(observers, a.publicKey)) return 'VALIDATORS_ALREADY';
    if (observers.length >= MAX_OBSERVERS) return 'VALIDATORS_TOO_MANY_OBSERVERS';
    ctx.state.set(OBSERVERS_KEY, [...observers, a], entriesCodec);
    ctx.emit('validators.observer_added', [
      ['publicKey', toHex(a.publicKey)],
      ['name', a.name],
    ]);
    return undefined;
  },
};

const removeObserver: Method<{ publicKey: Uint8Array }> = {
  args: keyOnly(),
  keys: () => [OBSERVERS_KEY],
  execute(a, ctx) {
    if (ctx.origin !== 'governance') return 'GOV_ONLY';
    const observers = observerEntries(ctx.state);
    if (!has(observers, a.publicKey)) return 'VALIDATORS_UNKNOWN';
    ctx.state.set(
      OBSERVERS_KEY,
      observers.filter((e) => !equalBytes(e.publicKey, a.publicKey)),
      entriesCodec,
    );
    ctx.emit('validators.observer_removed', [['publicKey', toHex(a.publicKey)]]);
    return undefined;
  },
};

interface ReadyArgs {
  readonly publicKey: Uint8Array;
  readonly recentBlockHash: Uint8Array;
}

const ready: Method<ReadyArgs> = {
  args: {
    encode: (a) =>
      encode((w) => w.fixed(a.publicKey, PUBLIC_KEY_LENGTH).fixed(a.recentBlockHash, HASH_LENGTH)),
    decode: (bytes) =>
      decode(bytes, (r) => ({
        publicKey: r.fixed(PUBLIC_KEY_LENGTH),
        recentBlockHash: r.fixed(HASH_LENGTH),
      })),
    fromJson(json) {
      const o = jsonObject(json, 'VALIDATORS_BAD_ARGS', ['publicKey', 'recentBlockHash']);
      return {
        publicKey: jsonPublicKey(o.publicKey, 'publicKey', 'VALIDATORS_BAD_ARGS'),
        recentBlockHash: jsonHash(o.recentBlockHash, 'recentBlockHash', 'VALIDATORS_BAD_ARGS'),
      };
    },
    toJson: (a) => ({ publicKey: toHex(a.publicKey), recentBlockHash: toHex(a.recentBlockHash) }),
  },
  keys: (a) => [OBSERVERS_KEY, SET_KEY, readyKey(a.publicKey)],
  execute(a, ctx) {
    // Rule: the key proves itself: the tx is signed by that very key.
    if (!equalBytes(addressOf(a.publicKey), ctx.sender)) return 'VALIDATORS_NOT_KEY_OWNER';
    // Rule: only a registered observer or a validator proves readiness.
    const known =
      has(observerEntries(ctx.state), a.publicKey) || has(validatorEntries(ctx.state), a.publicKey);
    if (!known) return 'VALIDATORS_NOT_OBSERVER';
    // Rule: the hash is of one of the last S blocks: the node follows the chain.
    let recent = false;
    for (let h = ctx.height - 1; h >= Math.max(1, ctx.height - spacing(ctx)) && !recent; h--) {
      const hash = ctx.chain.blockHash(h);
      recent = hash !== undefined && equalBytes(hash, a.recentBlockHash);
    }
    if (!recent) return 'VALIDATORS_STALE_READY';
    ctx.state.set(readyKey(a.publicKey), ctx.height, heightCodec);
    ctx.emit('validators.ready', [['publicKey', toHex(a.publicKey)]]);
    return undefined;
  },
};

function entriesJson(entries: readonly ValidatorEntry[]): Record<string, unknown> {
  return { entries: entries.map((e) => ({ publicKey: toHex(e.publicKey), name: e.name })) };
}

export const validatorsModule: AppModule = {
  name: 'validators',
  methods: { add, remove, replace, addObserver, removeObserver, ready },
  blockKeys: [SET_KEY, OBSERVERS_KEY],
  objects: {
    key(id) {
      if (id === 'set') return SET_KEY;
      if (id === 'observers') return OBSERVERS_KEY;
      const m = /^ready\/([0-9a-f]{64})$/.exec(id);
      if (m !== null) return readyKey(fromHex(m[1]!));
      throw new CivitasError(
        'VALIDATORS_BAD_ID',
        `a validators object is set, observers or ready/<public key>: ${id}`,
      );
    },
    toJson(value, id) {
      if (id.startsWith('ready/')) return { height: heightCodec.decode(value) };
      return entriesJson(entriesCodec.decode(value));
    },
  },
  genesis({ genesis, state }) {
    state.set(
      SET_KEY,
      genesis.validators.map((v) => ({ publicKey: v.publicKey, name: v.name })),
      entriesCodec,
    );
  },
};
