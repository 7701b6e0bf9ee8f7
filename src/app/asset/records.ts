/**
 * Usage and condition records on an asset, and who may append them: asset.record,
 * asset.grant and asset.revoke.
 */
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import type { Method } from '../module.ts';
import { emitAsset, hasGrantFor, liveAsset, signers, targetKeys, writeAsset } from './access.ts';
import {
  type GrantArgs,
  grantArgs,
  type RecordArgs,
  type RevokeArgs,
  recordArgs,
  revokeArgs,
} from './args.ts';
import { type Grant, holderOf, MAX_GRANTS } from './state.ts';

export const record: Method<RecordArgs> = {
  args: recordArgs,
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

export const grant: Method<GrantArgs> = {
  args: grantArgs,
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

export const revoke: Method<RevokeArgs> = {
  args: revokeArgs,
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
