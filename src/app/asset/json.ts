/**
 * The asset module's objects: GET /state/asset/<CLASS> (a class) and
 * GET /state/asset/<CLASS>/<ID> (an asset), their state keys and JSON views.
 */
import { toHex } from '../../crypto/bytes.ts';
import type { ObjectQuery } from '../module.ts';
import { checkObjectId, parseAssetId } from '../object-id.ts';
import type { AssetTarget } from './args.ts';
import {
  type Asset,
  type AssetClass,
  assetClassCodec,
  assetCodec,
  assetKey,
  classKey,
  holderOf,
} from './state.ts';

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

export const assetObjects: ObjectQuery = {
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
};
