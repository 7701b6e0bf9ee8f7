/** Leasing an asset out and back: asset.leaseStart and asset.leaseEnd. */
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import { isFrozen } from '../freeze/state.ts';
import type { Method } from '../module.ts';
import { emitAsset, freezeId, grantsNotBy, liveAsset, targetKeys, writeAsset } from './access.ts';
import { type AssetTarget, type LeaseStartArgs, leaseStartArgs, targetOnly } from './args.ts';
import { assetClass } from './state.ts';

export const leaseStart: Method<LeaseStartArgs> = {
  args: leaseStartArgs,
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

export const leaseEnd: Method<AssetTarget> = {
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
