/**
 * The `asset` module: a registry of property rights (state.ts). An issuer organisation
 * defines a class and mints assets in it; owners transfer and lease them; owners, holders and
 * the accounts they grant it to append usage and condition records.
 *
 *   asset.defineClass {id, leasable, transferNeedsAcceptance, schemaHash}  role issuer
 *   asset.mint        {class, id, owner?, metaHash}              an issuer of the class's organisation
 *   asset.transfer    {class, id, to}                            the owner signs (and `to`, if the class says so)
 *   asset.leaseStart  {class, id, lessee, endHeight, termsHash}  the owner and the lessee sign
 *   asset.leaseEnd    {class, id}                                the lessee; the owner from endHeight on
 *   asset.record      {class, id, kind, dataHash, uri?}          the owner, the holder or a grantee of `kind`
 *   asset.grant       {class, id, grantee, kinds, untilHeight}   the owner or the holder
 *   asset.revoke      {class, id, grantee}                       the grantor or the owner
 *   asset.burn        {class, id}                                the owner
 *
 * "X signs" means X is the tx's sender or one of its cosigners, so one multi-party tx can
 * compose calls of several parties. A freeze order on the asset (freeze kind `asset`, id
 * CLASS/ID) stops transfer, leaseStart and burn; records, grants, revocations and the end of
 * a lease go on. A burned asset stays on record, and every call on it fails (ASSET_BURNED).
 * Every call on an asset checks the revision the op expects of it (STALE_REV).
 *
 * Events (attributes `asset` = CLASS/ID and `rev`, a class's `class`): asset.class_defined,
 * asset.minted, asset.transferred, asset.lease_started, asset.lease_ended, asset.recorded,
 * asset.granted, asset.revoked, asset.burned.
 * Objects: GET /state/asset/<CLASS> (a class) and GET /state/asset/<CLASS>/<ID> (an asset).
 * Genesis: app.asset = {classes: [{id, issuerOrg, leasable, transferNeedsAcceptance,
 * schemaHash}], assets: [{class, id, owner, metaHash}]}, written at rev 0.
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import { decode, type Reader } from '../../codec/reader.ts';
import { encode, type Writer } from '../../codec/writer.ts';
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import { HASH_LENGTH } from '../../crypto/hash.ts';
import { CivitasError, type ReceiptFailureCode } from '../../errors/index.ts';
import { freezeKeysFor, isFrozen } from '../freeze/state.ts';
import { NO_HISTORY } from '../history.ts';
import {
  jsonAddress,
  jsonBool,
  jsonHash,
  jsonList,
  jsonObject,
  jsonString,
  jsonUint,
} from '../json-args.ts';
import type { AppModule, ArgsCodec, CallContext, KeyContext, Method } from '../module.ts';
import {
  assetId,
  checkObjectId,
  jsonObjectId,
  OBJECT_ID_MAX,
  objectIdBytes,
  parseAssetId,
} from '../object-id.ts';
import { hasRole, memberKey, memberOf, ORG_ID_PATTERN, organisation } from '../org/state.ts';
import type { StateAccess } from '../state-view.ts';
import {
  type Asset,
  type AssetClass,
  assetClass,
  assetClassCodec,
  assetCodec,
  assetKey,
  classKey,
  type Grant,
  holderOf,
  MAX_GRANT_KINDS,
  MAX_GRANTS,
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

// --- Args -------------------------------------------------------------------------------

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

const targetOnly = targetArgs<AssetTarget>({
  fields: [],
  write: () => {},
  read: (_r, t) => t,
  fromJson: (_o, t) => t,
  toJson: () => ({}),
});

// --- Helpers ----------------------------------------------------------------------------

/** The asset's id bytes in freeze orders: UTF-8 of CLASS/ID. */
function freezeId(t: AssetTarget): Uint8Array {
  return objectIdBytes(assetId(t.cls, t.id));
}

/** The keys of a call on an asset: the asset first, then the class and the freeze order if asked. */
function targetKeys(
  t: AssetTarget,
  ctx: KeyContext,
  opts: { cls?: boolean; freeze?: boolean },
): Uint8Array[] {
  const keys = [assetKey(t.cls, t.id)];
  if (opts.cls === true) keys.push(classKey(t.cls));
  if (opts.freeze === true) keys.push(...freezeKeysFor(ctx.blockState, 'asset', freezeId(t)));
  return keys;
}

/** keys() names the asset first. */
function assetKeyOf(ctx: CallContext): Uint8Array {
  return ctx.keys[0]!;
}

/** The asset a call acts on: present, at the revision the op expects, not burned. */
function liveAsset(ctx: CallContext): Asset | ReceiptFailureCode {
  const asset = ctx.state.get(assetKeyOf(ctx), assetCodec);
  if (asset === undefined) return 'ASSET_UNKNOWN';
  const stale = ctx.checkRev(asset.history);
  if (stale !== undefined) return stale;
  // Rule: a burned asset stays on record, but nothing more happens to it.
  if (asset.status === 'burned') return 'ASSET_BURNED';
  return asset;
}

/** Writes the asset's next state, advancing its history once. */
function writeAsset(ctx: CallContext, prev: Asset, next: Omit<Asset, 'history'>): Asset {
  const key = assetKeyOf(ctx);
  const asset: Asset = { ...next, history: ctx.advance(key, prev.history) };
  ctx.state.set(key, asset, assetCodec);
  return asset;
}

function emitAsset(
  ctx: CallContext,
  type: string,
  t: AssetTarget,
  asset: Asset,
  attributes: Array<[string, string]>,
): void {
  ctx.emit(`asset.${type}`, [
    ['asset', assetId(t.cls, t.id)],
    ...attributes,
    ['rev', String(asset.history.rev)],
  ]);
}

/** The signers of the tx: the sender, then the cosigners in tx order. */
function signers(ctx: CallContext): Uint8Array[] {
  return [ctx.sender, ...ctx.cosigners];
}

/** Whether the issuer role of `org` is the sender's: an active issuer member of it. */
function isIssuerOf(ctx: CallContext, org: string): boolean {
  return hasRole(ctx.state, ctx.sender, 'issuer') && memberOf(ctx.state, ctx.sender)?.org === org;
}

function hasGrantFor(asset: Asset, who: Uint8Array, kind: string, height: number): boolean {
  return asset.grants.some(
    (g) => equalBytes(g.grantee, who) && g.untilHeight >= height && g.kinds.includes(kind),
  );
}

/** Grants without those `grantor` gave (they end with its ownership or lease). */
function grantsNotBy(grants: readonly Grant[], grantor: Uint8Array): Grant[] {
  return grants.filter((g) => !equalBytes(g.grantor, grantor));
}

// --- Methods ----------------------------------------------------------------------------

const defineClass: Method<DefineClassArgs> = {
  args: {
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
        transferNeedsAcceptance: jsonBool(
          o.transferNeedsAcceptance,
          'transferNeedsAcceptance',
          BAD,
        ),
        schemaHash: jsonHash(o.schemaHash, 'schemaHash', BAD),
      };
    },
    toJson: (a) => ({
      id: a.id,
      leasable: a.leasable,
      transferNeedsAcceptance: a.transferNeedsAcceptance,
      schemaHash: toHex(a.schemaHash),
    }),
  },
  keys: (a, ctx) => [classKey(a.id), memberKey(ctx.sender)],
  execute(args, ctx) {
    const [key] = ctx.keys as [Uint8Array];
    // Rule: an issuer defines classes; its organisation becomes the class's issuer.
    if (!hasRole(ctx.state, ctx.sender, 'issuer')) return 'ASSET_NOT_ISSUER';
    const org = memberOf(ctx.state, ctx.sender)!.org;
    if (ctx.state.get(key, assetClassCodec) !== undefined) return 'ASSET_CLASS_EXISTS';
    const stale = ctx.checkRev(NO_HISTORY);
    if (stale !== undefined) return stale;
    const cls: AssetClass = {
      issuerOrg: org,
      leasable: args.leasable,
      transferNeedsAcceptance: args.transferNeedsAcceptance,
      schemaHash: args.schemaHash,
      history: ctx.advance(key, NO_HISTORY),
    };
    ctx.state.set(key, cls, assetClassCodec);
    ctx.emit('asset.class_defined', [
      ['class', args.id],
      ['issuerOrg', org],
      ['leasable', String(args.leasable)],
      ['transferNeedsAcceptance', String(args.transferNeedsAcceptance)],
      ['schemaHash', toHex(args.schemaHash)],
      ['rev', String(cls.history.rev)],
    ]);
    return undefined;
  },
};

const mint: Method<MintArgs> = {
  args: targetArgs<MintArgs>({
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
  }),
  keys: (a, ctx) => [assetKey(a.cls, a.id), classKey(a.cls), memberKey(ctx.sender)],
  execute(args, ctx) {
    const [key, clsKey] = ctx.keys as [Uint8Array, Uint8Array];
    const cls = ctx.state.get(clsKey, assetClassCodec);
    if (cls === undefined) return 'ASSET_UNKNOWN_CLASS';
    // Rule: only an issuer of the class's issuer organisation mints in it.
    if (!isIssuerOf(ctx, cls.issuerOrg)) return 'ASSET_NOT_ISSUER';
    if (ctx.state.get(key, assetCodec) !== undefined) return 'ASSET_EXISTS';
    const stale = ctx.checkRev(NO_HISTORY);
    if (stale !== undefined) return stale;
    const asset: Asset = {
      owner: args.owner ?? ctx.sender,
      metaHash: args.metaHash,
      status: 'active',
      lease: null,
      grants: [],
      records: 0,
      lastRecord: null,
      history: ctx.advance(key, NO_HISTORY),
    };
    ctx.state.set(key, asset, assetCodec);
    emitAsset(ctx, 'minted', args, asset, [
      ['owner', toHex(asset.owner)],
      ['metaHash', toHex(args.metaHash)],
    ]);
    return undefined;
  },
};

const transfer: Method<TransferArgs> = {
  args: targetArgs<TransferArgs>({
    fields: ['to'],
    write: (w, a) => w.fixed(a.to, ADDRESS_LENGTH),
    read: (r, t) => ({ ...t, to: r.fixed(ADDRESS_LENGTH) }),
    fromJson: (o, t) => ({ ...t, to: jsonAddress(o.to, 'to', BAD) }),
    toJson: (a) => ({ to: toHex(a.to) }),
  }),
  keys: (a, ctx) => targetKeys(a, ctx, { cls: true, freeze: true }),
  execute(args, ctx) {
    const asset = liveAsset(ctx);
    if (typeof asset === 'string') return asset;
    // Rule: the owner disposes of the asset.
    if (!ctx.signed(asset.owner)) return 'ASSET_NOT_OWNER';
    // Rule: a frozen asset cannot be disposed of.
    if (isFrozen(ctx.state, 'asset', freezeId(args))) return 'FREEZE_ACTIVE';
    // Rule: a leased asset stays with its owner until the lease ends.
    if (asset.lease !== null) return 'ASSET_LEASED';
    // Rule: in a class that says so, the recipient accepts by signing too.
    const cls = assetClass(ctx.state, args.cls);
    if (cls?.transferNeedsAcceptance === true && !ctx.signed(args.to)) {
      return 'ASSET_ACCEPTANCE_REQUIRED';
    }
    // Rule: the grants the old owner gave end with its ownership.
    const grants = grantsNotBy(asset.grants, asset.owner);
    const next = writeAsset(ctx, asset, { ...asset, owner: args.to, grants });
    emitAsset(ctx, 'transferred', args, next, [
      ['from', toHex(asset.owner)],
      ['to', toHex(args.to)],
      ['grantsEnded', String(asset.grants.length - grants.length)],
    ]);
    return undefined;
  },
};

const leaseStart: Method<LeaseStartArgs> = {
  args: targetArgs<LeaseStartArgs>({
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
  }),
  keys: (a, ctx) => targetKeys(a, ctx, { cls: true, freeze: true }),
  execute(args, ctx) {
    const asset = liveAsset(ctx);
    if (typeof asset === 'string') return asset;
    // Rule: a lease is a contract of two parties: the owner and the lessee both sign.
    if (!ctx.signed(asset.owner)) return 'ASSET_NOT_OWNER';
    if (equalBytes(args.lessee, asset.owner)) return 'ASSET_LESSEE_IS_OWNER';
    if (!ctx.signed(args.lessee)) return 'ASSET_CONSENT_REQUIRED';
    // Rule: a frozen asset cannot be leased out.
    if (isFrozen(ctx.state, 'asset', freezeId(args))) return 'FREEZE_ACTIVE';
    // Rule: only assets of a leasable class are leased.
    if (assetClass(ctx.state, args.cls)?.leasable !== true) return 'ASSET_NOT_LEASABLE';
    // Rule: one lease at a time.
    if (asset.lease !== null) return 'ASSET_LEASED';
    // Rule: a lease ends after the block that starts it.
    if (args.endHeight <= ctx.height) return 'ASSET_BAD_LEASE_END';
    const lease = {
      lessee: args.lessee,
      endHeight: args.endHeight,
      termsHash: args.termsHash,
      since: ctx.height,
    };
    const next = writeAsset(ctx, asset, { ...asset, lease });
    emitAsset(ctx, 'lease_started', args, next, [
      ['owner', toHex(asset.owner)],
      ['lessee', toHex(args.lessee)],
      ['endHeight', String(args.endHeight)],
      ['termsHash', toHex(args.termsHash)],
    ]);
    return undefined;
  },
};

const leaseEnd: Method<AssetTarget> = {
  args: targetOnly,
  keys: (a, ctx) => targetKeys(a, ctx, {}),
  execute(args, ctx) {
    // Allowed while frozen: ending a lease returns the asset to its owner.
    const asset = liveAsset(ctx);
    if (typeof asset === 'string') return asset;
    const { lease } = asset;
    if (lease === null) return 'ASSET_NOT_LEASED';
    // Rule: the lessee ends the lease any time; the owner only from its endHeight on.
    let by: Uint8Array;
    if (ctx.signed(lease.lessee)) {
      by = lease.lessee;
    } else if (ctx.signed(asset.owner)) {
      if (ctx.height < lease.endHeight) return 'ASSET_LEASE_NOT_ENDED';
      by = asset.owner;
    } else {
      return 'ASSET_NOT_AUTHORIZED';
    }
    // Rule: the grants the lessee gave end with the lease.
    const grants = grantsNotBy(asset.grants, lease.lessee);
    const next = writeAsset(ctx, asset, { ...asset, lease: null, grants });
    emitAsset(ctx, 'lease_ended', args, next, [
      ['owner', toHex(asset.owner)],
      ['lessee', toHex(lease.lessee)],
      ['by', toHex(by)],
      ['grantsEnded', String(asset.grants.length - grants.length)],
    ]);
    return undefined;
  },
};

const record: Method<RecordArgs> = {
  args: targetArgs<RecordArgs>({
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
  }),
  keys: (a, ctx) => targetKeys(a, ctx, {}),
  execute(args, ctx) {
    // Allowed while frozen: monitoring must not stop.
    const asset = liveAsset(ctx);
    if (typeof asset === 'string') return asset;
    // Rule: the owner, the holder, or an account with an unexpired grant of the kind records;
    // the recorder is the first such signer (the sender, then the cosigners).
    const holder = holderOf(asset);
    const by = signers(ctx).find(
      (s) =>
        equalBytes(s, asset.owner) ||
        equalBytes(s, holder) ||
        hasGrantFor(asset, s, args.kind, ctx.height),
    );
    if (by === undefined) return 'ASSET_NOT_AUTHORIZED';
    const lastRecord = { kind: args.kind, dataHash: args.dataHash, height: ctx.height };
    const next = writeAsset(ctx, asset, { ...asset, records: asset.records + 1, lastRecord });
    emitAsset(ctx, 'recorded', args, next, [
      ['kind', args.kind],
      ['dataHash', toHex(args.dataHash)],
      ...(args.uri === '' ? [] : [['uri', args.uri] as [string, string]]),
      ['by', toHex(by)],
      ['record', String(next.records)],
    ]);
    return undefined;
  },
};

const grant: Method<GrantArgs> = {
  args: targetArgs<GrantArgs>({
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
  }),
  keys: (a, ctx) => targetKeys(a, ctx, {}),
  execute(args, ctx) {
    // Allowed while frozen: a grant lets others record, and records go on.
    const asset = liveAsset(ctx);
    if (typeof asset === 'string') return asset;
    // Rule: the owner or the holder grants; the grantor is the first of them that signed.
    const holder = holderOf(asset);
    const grantor = signers(ctx).find((s) => equalBytes(s, asset.owner) || equalBytes(s, holder));
    if (grantor === undefined) return 'ASSET_NOT_AUTHORIZED';
    // Rule: a grant is valid at least in the block that gives it.
    if (args.untilHeight < ctx.height) return 'ASSET_BAD_GRANT_END';
    // Rule: a grant replaces an earlier one to the same grantee; expired grants are dropped;
    // at most 16 remain.
    const kept = asset.grants.filter(
      (g) => g.untilHeight >= ctx.height && !equalBytes(g.grantee, args.grantee),
    );
    if (kept.length >= MAX_GRANTS) return 'ASSET_TOO_MANY_GRANTS';
    const given: Grant = {
      grantee: args.grantee,
      grantor,
      kinds: args.kinds,
      untilHeight: args.untilHeight,
    };
    const next = writeAsset(ctx, asset, { ...asset, grants: [...kept, given] });
    emitAsset(ctx, 'granted', args, next, [
      ['grantee', toHex(args.grantee)],
      ['grantor', toHex(grantor)],
      ['kinds', args.kinds.join(',')],
      ['untilHeight', String(args.untilHeight)],
    ]);
    return undefined;
  },
};

const revoke: Method<RevokeArgs> = {
  args: targetArgs<RevokeArgs>({
    fields: ['grantee'],
    write: (w, a) => w.fixed(a.grantee, ADDRESS_LENGTH),
    read: (r, t) => ({ ...t, grantee: r.fixed(ADDRESS_LENGTH) }),
    fromJson: (o, t) => ({ ...t, grantee: jsonAddress(o.grantee, 'grantee', BAD) }),
    toJson: (a) => ({ grantee: toHex(a.grantee) }),
  }),
  keys: (a, ctx) => targetKeys(a, ctx, {}),
  execute(args, ctx) {
    const asset = liveAsset(ctx);
    if (typeof asset === 'string') return asset;
    const given = asset.grants.find((g) => equalBytes(g.grantee, args.grantee));
    if (given === undefined) return 'ASSET_NO_GRANT';
    // Rule: the grantor or the owner revokes a grant.
    const by = signers(ctx).find((s) => equalBytes(s, given.grantor) || equalBytes(s, asset.owner));
    if (by === undefined) return 'ASSET_NOT_AUTHORIZED';
    const grants = asset.grants.filter((g) => g !== given);
    const next = writeAsset(ctx, asset, { ...asset, grants });
    emitAsset(ctx, 'revoked', args, next, [
      ['grantee', toHex(args.grantee)],
      ['grantor', toHex(given.grantor)],
      ['by', toHex(by)],
    ]);
    return undefined;
  },
};

const burn: Method<AssetTarget> = {
  args: targetOnly,
  keys: (a, ctx) => targetKeys(a, ctx, { freeze: true }),
  execute(args, ctx) {
    const asset = liveAsset(ctx);
    if (typeof asset === 'string') return asset;
    // Rule: the owner burns the asset, unless it is frozen or leased.
    if (!ctx.signed(asset.owner)) return 'ASSET_NOT_OWNER';
    if (isFrozen(ctx.state, 'asset', freezeId(args))) return 'FREEZE_ACTIVE';
    if (asset.lease !== null) return 'ASSET_LEASED';
    // The asset stays on record (its history provable); its grants end.
    const next = writeAsset(ctx, asset, { ...asset, status: 'burned', grants: [] });
    emitAsset(ctx, 'burned', args, next, [['owner', toHex(asset.owner)]]);
    return undefined;
  },
};

// --- Objects ----------------------------------------------------------------------------

export function assetClassToJson(c: AssetClass, id: string): Record<string, unknown> {
  return {
    id,
    issuerOrg: c.issuerOrg,
    leasable: c.leasable,
    transferNeedsAcceptance: c.transferNeedsAcceptance,
    schemaHash: toHex(c.schemaHash),
    rev: c.history.rev,
    hist: toHex(c.history.hist),
  };
}

export function assetToJson(a: Asset, t: AssetTarget): Record<string, unknown> {
  return {
    class: t.cls,
    id: t.id,
    owner: toHex(a.owner),
    holder: toHex(holderOf(a)),
    lease:
      a.lease === null
        ? null
        : {
            lessee: toHex(a.lease.lessee),
            endHeight: a.lease.endHeight,
            termsHash: toHex(a.lease.termsHash),
            since: a.lease.since,
          },
    metaHash: toHex(a.metaHash),
    status: a.status,
    grants: a.grants.map((g) => ({
      grantee: toHex(g.grantee),
      grantor: toHex(g.grantor),
      kinds: [...g.kinds],
      untilHeight: g.untilHeight,
    })),
    records: a.records,
    lastRecord:
      a.lastRecord === null
        ? null
        : {
            kind: a.lastRecord.kind,
            dataHash: toHex(a.lastRecord.dataHash),
            height: a.lastRecord.height,
          },
    rev: a.history.rev,
    hist: toHex(a.history.hist),
  };
}

/** GET /state/asset/<CLASS> names a class, GET /state/asset/<CLASS>/<ID> an asset. */
function parseObjectId(id: string): { cls: string; id: string | null } {
  if (id.includes('/')) return parseAssetId(id, 'ASSET_BAD_ID');
  return { cls: checkObjectId(id, 'a class id', 'ASSET_BAD_ID'), id: null };
}

// --- Genesis ----------------------------------------------------------------------------

/** Most classes and assets a genesis file lists. */
const GENESIS_MAX_CLASSES = 10_000;
const GENESIS_MAX_ASSETS = 1_000_000;
const G = 'GENESIS_INVALID';

function genesisClasses(section: Record<string, unknown>, state: StateAccess): void {
  jsonList(section.classes ?? [], 'app.asset.classes', G, GENESIS_MAX_CLASSES, (v, f) => {
    const o = jsonObject(v, G, [
      'id',
      'issuerOrg',
      'leasable',
      'transferNeedsAcceptance',
      'schemaHash',
    ]);
    const id = jsonObjectId(o.id, `${f}.id`, G);
    const issuerOrg = jsonString(o.issuerOrg, `${f}.issuerOrg`, G, {
      maxLength: 32,
      pattern: ORG_ID_PATTERN,
    });
    // Rule: a class's issuer organisation exists (app.org is written before app.asset).
    if (organisation(state, issuerOrg) === undefined) {
      throw new CivitasError(G, `${f}.issuerOrg: no organisation ${issuerOrg} in app.org`);
    }
    if (state.get(classKey(id), assetClassCodec) !== undefined) {
      throw new CivitasError(G, `${f}.id: class ${id} is listed twice`);
    }
    state.set(
      classKey(id),
      {
        issuerOrg,
        leasable: jsonBool(o.leasable, `${f}.leasable`, G),
        transferNeedsAcceptance: jsonBool(
          o.transferNeedsAcceptance,
          `${f}.transferNeedsAcceptance`,
          G,
        ),
        schemaHash: jsonHash(o.schemaHash, `${f}.schemaHash`, G),
        history: NO_HISTORY,
      },
      assetClassCodec,
    );
  });
}

function genesisAssets(section: Record<string, unknown>, state: StateAccess): void {
  jsonList(section.assets ?? [], 'app.asset.assets', G, GENESIS_MAX_ASSETS, (v, f) => {
    const o = jsonObject(v, G, ['class', 'id', 'owner', 'metaHash']);
    const cls = jsonObjectId(o.class, `${f}.class`, G);
    const id = jsonObjectId(o.id, `${f}.id`, G);
    if (state.get(classKey(cls), assetClassCodec) === undefined) {
      throw new CivitasError(G, `${f}.class: no class ${cls} in app.asset.classes`);
    }
    const key = assetKey(cls, id);
    if (state.get(key, assetCodec) !== undefined) {
      throw new CivitasError(G, `${f}: asset ${assetId(cls, id)} is listed twice`);
    }
    state.set(
      key,
      {
        owner: jsonAddress(o.owner, `${f}.owner`, G),
        metaHash: jsonHash(o.metaHash, `${f}.metaHash`, G),
        status: 'active',
        lease: null,
        grants: [],
        records: 0,
        lastRecord: null,
        history: NO_HISTORY,
      },
      assetCodec,
    );
  });
}

export const assetModule: AppModule = {
  name: 'asset',
  methods: { defineClass, mint, transfer, leaseStart, leaseEnd, record, grant, revoke, burn },
  objects: {
    key(id) {
      const target = parseObjectId(id);
      return target.id === null ? classKey(target.cls) : assetKey(target.cls, target.id);
    },
    toJson(value, id) {
      const target = parseObjectId(id);
      return target.id === null
        ? assetClassToJson(assetClassCodec.decode(value), target.cls)
        : assetToJson(assetCodec.decode(value), { cls: target.cls, id: target.id });
    },
  },
  genesis({ section, state }) {
    if (section === undefined) return;
    const o = jsonObject(section, G, ['classes', 'assets']);
    genesisClasses(o, state);
    genesisAssets(o, state);
  },
};
