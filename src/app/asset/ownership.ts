/**
 * Defining classes and owning assets: asset.defineClass, asset.mint, asset.transfer and
 * asset.burn.
 */
import { toHex } from '../../crypto/bytes.ts';
import { NO_HISTORY } from '../history.ts';
import type { Method } from '../module.ts';
import { hasRole, memberKey, memberOf } from '../org/state.ts';
import {
  disposableAsset,
  emitAsset,
  grantsNotBy,
  isIssuerOf,
  targetKeys,
  writeAsset,
} from './access.ts';
import {
  type AssetTarget,
  type DefineClassArgs,
  defineClassArgs,
  type MintArgs,
  mintArgs,
  type TransferArgs,
  targetOnly,
  transferArgs,
} from './args.ts';
import {
  type Asset,
  type AssetClass,
  assetClass,
  assetClassCodec,
  assetCodec,
  assetKey,
  classKey,
} from './state.ts';

export const defineClass: Method<DefineClassArgs> = {
  args: defineClassArgs,
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

export const mint: Method<MintArgs> = {
  args: mintArgs,
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

export const transfer: Method<TransferArgs> = {
  args: transferArgs,
  keys: (a, ctx) => targetKeys(a, ctx, { cls: true, freeze: true }),
  execute(args, ctx) {
    const asset = disposableAsset(ctx, args);
    if (typeof asset === 'string') return asset;
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

export const burn: Method<AssetTarget> = {
  args: targetOnly,
  keys: (a, ctx) => targetKeys(a, ctx, { freeze: true }),
  execute(args, ctx) {
    // Rule: the owner burns the asset, unless it is frozen or leased.
    const asset = disposableAsset(ctx, args);
    if (typeof asset === 'string') return asset;
    // The asset stays on record (its history provable); its grants end.
    const next = writeAsset(ctx, asset, { ...asset, status: 'burned', grants: [] });
    emitAsset(ctx, 'burned', args, next, [['owner', toHex(asset.owner)]]);
    return undefined;
  },
};
