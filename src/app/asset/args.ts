/**
 * The asset methods' args: their types, canonical codecs and JSON forms. A call on one asset
 * encodes `class` and `id` first (two strings), then the method's own fields; decoders and
 * fromJson throw ASSET_BAD_ARGS quoting the rule.
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import { decode, type Reader } from '../../codec/reader.ts';
import { encode, type Writer } from '../../codec/writer.ts';
import { toHex } from '../../crypto/bytes.ts';
import { HASH_LENGTH } from '../../crypto/hash.ts';
import { CivitasError } from '../../errors/index.ts';
import {
  jsonAddress,
  jsonBool,
  jsonHash,
  jsonList,
  jsonObject,
  jsonString,
  jsonUint,
} from '../json-args.ts';
import type { ArgsCodec } from '../module.ts';
import { checkObjectId, jsonObjectId, OBJECT_ID_MAX } from '../object-id.ts';
import {
  MAX_GRANT_KINDS,
  RECORD_KIND_MAX,
  RECORD_KIND_PATTERN,
  RECORD_KIND_RULE,
  RECORD_URI_MAX,
} from './state.ts';

const BAD = 'ASSET_BAD_ARGS';

/** The asset a call acts on. */
export interface AssetTarget {
  readonly cls: string;
  readonly id: string;
}

export interface DefineClassArgs {
  readonly id: string;
  readonly leasable: boolean;
  readonly transferNeedsAcceptance: boolean;
  readonly schemaHash: Uint8Array;
}

export interface MintArgs extends AssetTarget {
  /** null: the sender. */
  readonly owner: Uint8Array | null;
  readonly metaHash: Uint8Array;
}

export interface TransferArgs extends AssetTarget {
  readonly to: Uint8Array;
}

export interface LeaseStartArgs extends AssetTarget {
  readonly lessee: Uint8Array;
  readonly endHeight: number;
  readonly termsHash: Uint8Array;
}

export interface RecordArgs extends AssetTarget {
  readonly kind: string;
  readonly dataHash: Uint8Array;
  /** '' when absent. */
  readonly uri: string;
}

export interface GrantArgs extends AssetTarget {
  readonly grantee: Uint8Array;
  readonly kinds: readonly string[];
  readonly untilHeight: number;
}

export interface RevokeArgs extends AssetTarget {
  readonly grantee: Uint8Array;
}

// --- Checks ---------------------------------------------------------------------------

function checkKind(kind: string, field: string): string {
  if (!RECORD_KIND_PATTERN.test(kind)) {
    throw new CivitasError(BAD, `${field} ${RECORD_KIND_RULE}: ${kind}`);
  }
  return kind;
}

function checkUri(uri: string): string {
  if (uri.length > RECORD_URI_MAX) {
    throw new CivitasError(BAD, `uri must be at most ${RECORD_URI_MAX} characters`);
  }
  return uri;
}

/** Rule: a grant lists 1..8 record kinds, each once. */
function checkKinds(kinds: string[]): string[] {
  if (kinds.length === 0) throw new CivitasError(BAD, 'kinds must list 1..8 record kinds');
  if (new Set(kinds).size !== kinds.length) {
    throw new CivitasError(BAD, 'kinds must not repeat a kind');
  }
  return kinds;
}

function jsonKind(value: unknown, field: string): string {
  return jsonString(value, field, BAD, {
    maxLength: RECORD_KIND_MAX,
    pattern: RECORD_KIND_PATTERN,
    patternText: RECORD_KIND_RULE,
  });
}

function readId(r: Reader, field: string): string {
  return checkObjectId(r.string(OBJECT_ID_MAX), field, BAD);
}

/**
 * The codec of a call on one asset: `class` and `id` first (canonical: two strings), then the
 * method's own fields.
 */
function targetArgs<A extends AssetTarget>(spec: {
  readonly fields: readonly string[];
  write(w: Writer, a: A): void;
  read(r: Reader, t: AssetTarget): A;
  fromJson(o: Record<string, unknown>, t: AssetTarget): A;
  toJson(a: A): Record<string, unknown>;
}): ArgsCodec<A> {
  return {
    encode: (a) =>
      encode((w) => {
        w.string(a.cls).string(a.id);
        spec.write(w, a);
      }),
    decode: (bytes) =>
      decode(bytes, (r) => spec.read(r, { cls: readId(r, 'class'), id: readId(r, 'id') })),
    fromJson(json) {
      const o = jsonObject(json, BAD, ['class', 'id', ...spec.fields]);
      const t = { cls: jsonObjectId(o.class, 'class', BAD), id: jsonObjectId(o.id, 'id', BAD) };
      return spec.fromJson(o, t);
    },
    toJson: (a) => ({ class: a.cls, id: a.id, ...spec.toJson(a) }),
  };
}

// --- Codecs ---------------------------------------------------------------------------

/** The args of a call that names only its asset (leaseEnd, burn). */
export const targetOnly = targetArgs<AssetTarget>({
  fields: [],
  write: () => {},
  read: (_r, t) => t,
  fromJson: (_o, t) => t,
  toJson: () => ({}),
});

export const defineClassArgs: ArgsCodec<DefineClassArgs> = {
  encode: (a) =>
    encode((w) =>
      w
        .string(a.id)
        .bool(a.leasable)
        .bool(a.transferNeedsAcceptance)
        .fixed(a.schemaHash, HASH_LENGTH),
    ),
  decode: (bytes) =>
    decode(bytes, (r) => ({
      id: readId(r, 'id'),
      leasable: r.bool(),
      transferNeedsAcceptance: r.bool(),
      schemaHash: r.fixed(HASH_LENGTH),
    })),
  fromJson(json) {
    const o = jsonObject(json, BAD, ['id', 'leasable', 'transferNeedsAcceptance', 'schemaHash']);
    return {
      id: jsonObjectId(o.id, 'id', BAD),
      leasable: jsonBool(o.leasable, 'leasable', BAD),
      transferNeedsAcceptance: jsonBool(o.transferNeedsAcceptance, 'transferNeedsAcceptance', BAD),
      schemaHash: jsonHash(o.schemaHash, 'schemaHash', BAD),
    };
  },
  toJson: (a) => ({
    id: a.id,
    leasable: a.leasable,
    transferNeedsAcceptance: a.transferNeedsAcceptance,
    schemaHash: toHex(a.schemaHash),
  }),
};

export const mintArgs = targetArgs<MintArgs>({
  fields: ['owner', 'metaHash'],
  write: (w, a) => {
    w.bool(a.owner !== null);
    if (a.owner !== null) w.fixed(a.owner, ADDRESS_LENGTH);
    w.fixed(a.metaHash, HASH_LENGTH);
  },
  read: (r, t) => ({
    ...t,
    owner: r.bool() ? r.fixed(ADDRESS_LENGTH) : null,
    metaHash: r.fixed(HASH_LENGTH),
  }),
  fromJson: (o, t) => ({
    ...t,
    owner: o.owner === undefined ? null : jsonAddress(o.owner, 'owner', BAD),
    metaHash: jsonHash(o.metaHash, 'metaHash', BAD),
  }),
  toJson: (a) => ({
    ...(a.owner === null ? {} : { owner: toHex(a.owner) }),
    metaHash: toHex(a.metaHash),
  }),
});

export const transferArgs = targetArgs<TransferArgs>({
  fields: ['to'],
  write: (w, a) => w.fixed(a.to, ADDRESS_LENGTH),
  read: (r, t) => ({ ...t, to: r.fixed(ADDRESS_LENGTH) }),
  fromJson: (o, t) => ({ ...t, to: jsonAddress(o.to, 'to', BAD) }),
  toJson: (a) => ({ to: toHex(a.to) }),
});

export const leaseStartArgs = targetArgs<LeaseStartArgs>({
  fields: ['lessee', 'endHeight', 'termsHash'],
  write: (w, a) =>
    w.fixed(a.lessee, ADDRESS_LENGTH).varuint(a.endHeight).fixed(a.termsHash, HASH_LENGTH),
  read: (r, t) => ({
    ...t,
    lessee: r.fixed(ADDRESS_LENGTH),
    endHeight: r.varuint(),
    termsHash: r.fixed(HASH_LENGTH),
  }),
  fromJson: (o, t) => ({
    ...t,
    lessee: jsonAddress(o.lessee, 'lessee', BAD),
    endHeight: jsonUint(o.endHeight, 'endHeight', BAD),
    termsHash: jsonHash(o.termsHash, 'termsHash', BAD),
  }),
  toJson: (a) => ({
    lessee: toHex(a.lessee),
    endHeight: a.endHeight,
    termsHash: toHex(a.termsHash),
  }),
});

export const recordArgs = targetArgs<RecordArgs>({
  fields: ['kind', 'dataHash', 'uri'],
  write: (w, a) => w.string(a.kind).fixed(a.dataHash, HASH_LENGTH).string(a.uri),
  read: (r, t) => ({
    ...t,
    kind: checkKind(r.string(RECORD_KIND_MAX), 'kind'),
    dataHash: r.fixed(HASH_LENGTH),
    uri: checkUri(r.string(RECORD_URI_MAX * 4)),
  }),
  fromJson: (o, t) => ({
    ...t,
    kind: jsonKind(o.kind, 'kind'),
    dataHash: jsonHash(o.dataHash, 'dataHash', BAD),
    uri: o.uri === undefined ? '' : jsonString(o.uri, 'uri', BAD, { maxLength: RECORD_URI_MAX }),
  }),
  toJson: (a) => ({
    kind: a.kind,
    dataHash: toHex(a.dataHash),
    ...(a.uri === '' ? {} : { uri: a.uri }),
  }),
});

export const grantArgs = targetArgs<GrantArgs>({
  fields: ['grantee', 'kinds', 'untilHeight'],
  write: (w, a) =>
    w
      .fixed(a.grantee, ADDRESS_LENGTH)
      .list(a.kinds, (ww, k) => ww.string(k))
      .varuint(a.untilHeight),
  read: (r, t) => ({
    ...t,
    grantee: r.fixed(ADDRESS_LENGTH),
    kinds: checkKinds(
      r.list(MAX_GRANT_KINDS, (rr) => checkKind(rr.string(RECORD_KIND_MAX), 'kinds')),
    ),
    untilHeight: r.varuint(),
  }),
  fromJson: (o, t) => ({
    ...t,
    grantee: jsonAddress(o.grantee, 'grantee', BAD),
    kinds: checkKinds(jsonList(o.kinds, 'kinds', BAD, MAX_GRANT_KINDS, jsonKind)),
    untilHeight: jsonUint(o.untilHeight, 'untilHeight', BAD),
  }),
  toJson: (a) => ({
    grantee: toHex(a.grantee),
    kinds: [...a.kinds],
    untilHeight: a.untilHeight,
  }),
});

export const revokeArgs = targetArgs<RevokeArgs>({
  fields: ['grantee'],
  write: (w, a) => w.fixed(a.grantee, ADDRESS_LENGTH),
  read: (r, t) => ({ ...t, grantee: r.fixed(ADDRESS_LENGTH) }),
  fromJson: (o, t) => ({ ...t, grantee: jsonAddress(o.grantee, 'grantee', BAD) }),
  toJson: (a) => ({ grantee: toHex(a.grantee) }),
});
