/**
 * How a call reaches the asset it acts on: the keys it names, the live asset (present, at the
 * expected revision, not burned), writing its next state and emitting its event, and who of
 * the tx's signers may act on it (issuers, grantees).
 */
import { equalBytes } from '../../crypto/bytes.ts';
import type { ReceiptFailureCode } from '../../errors/index.ts';
import { freezeKeysFor, isFrozen } from '../freeze/state.ts';
import type { CallContext, KeyContext } from '../module.ts';
import { assetId, objectIdBytes } from '../object-id.ts';
import { hasRole, memberOf } from '../org/state.ts';
import type { AssetTarget } from './args.ts';
import { type Asset, assetCodec, assetKey, classKey, type Grant } from './state.ts';

/** The asset's id bytes in freeze orders: UTF-8 of CLASS/ID. */
export function freezeId(t: AssetTarget): Uint8Array {
  return objectIdBytes(assetId(t.cls, t.id));
}

/** The keys of a call on an asset: the asset first, then the class and the freeze order if asked. */
export function targetKeys(
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
export function liveAsset(ctx: CallContext): Asset | ReceiptFailureCode {
  const asset = ctx.state.get(assetKeyOf(ctx), assetCodec);
  if (asset === undefined) return 'ASSET_UNKNOWN';
  const stale = ctx.checkRev(asset.history);
  if (stale !== undefined) return stale;
  // Rule: a burned asset stays on record, but nothing more happens to it.
  if (asset.status === 'burned') return 'ASSET_BURNED';
  return asset;
}

/**
 * The live asset its owner may dispose of (transfer, burn): signed by the owner, not frozen,
 * not leased — checked in that order, so a frozen asset's sale fails with FREEZE_ACTIVE.
 */
export function disposableAsset(ctx: CallContext, target: AssetTarget): Asset | ReceiptFailureCode {
  const asset = liveAsset(ctx);
  if (typeof asset === 'string') return asset;
  // Rule: the owner disposes of the asset.
  if (!ctx.signed(asset.owner)) return 'ASSET_NOT_OWNER';
  // Rule: a frozen asset cannot be disposed of.
  if (isFrozen(ctx.state, 'asset', freezeId(target))) return 'FREEZE_ACTIVE';
  // Rule: a leased asset stays with its owner until the lease ends.
  if (asset.lease !== null) return 'ASSET_LEASED';
  return asset;
}

/** Writes the asset's next state, advancing its history once. */
export function writeAsset(ctx: CallContext, prev: Asset, next: Omit<Asset, 'history'>): Asset {
  const key = assetKeyOf(ctx);
  const asset: Asset = { ...next, history: ctx.advance(key, prev.history) };
  ctx.state.set(key, asset, assetCodec);
  return asset;
}

export function emitAsset(
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
export function signers(ctx: CallContext): Uint8Array[] {
  return [ctx.sender, ...ctx.cosigners];
}

/** Whether the issuer role of `org` is the sender's: an active issuer member of it. */
export function isIssuerOf(ctx: CallContext, org: string): boolean {
  return hasRole(ctx.state, ctx.sender, 'issuer') && memberOf(ctx.state, ctx.sender)?.org === org;
}

export function hasGrantFor(asset: Asset, who: Uint8Array, kind: string, height: number): boolean {
  return asset.grants.some(
    (g) => equalBytes(g.grantee, who) && g.untilHeight >= height && g.kinds.includes(kind),
  );
}

/** Grants without those `grantor` gave (they end with its ownership or lease). */
export function grantsNotBy(grants: readonly Grant[], grantor: Uint8Array): Grant[] {
  return grants.filter((g) => !equalBytes(g.grantor, grantor));
}
