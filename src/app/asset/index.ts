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
 *
 * Files: args.ts (args types and codecs), access.ts (reaching and checking the asset a call
 * acts on), ownership.ts (defineClass, mint, transfer, burn), lease.ts (leaseStart, leaseEnd),
 * records.ts (record, grant, revoke), json.ts (objects), genesis.ts (app.asset), state.ts.
 */
import type { AppModule } from '../module.ts';
import { assetGenesis } from './genesis.ts';
import { assetObjects } from './json.ts';
import { leaseEnd, leaseStart } from './lease.ts';
import { burn, defineClass, mint, transfer } from './ownership.ts';
import { grant, record, revoke } from './records.ts';

export type {
  AssetTarget,
  DefineClassArgs,
  GrantArgs,
  LeaseStartArgs,
  MintArgs,
  RecordArgs,
  RevokeArgs,
  TransferArgs,
} from './args.ts';
export { assetClassToJson, assetToJson } from './json.ts';

export const assetModule: AppModule = {
  name: 'asset',
  methods: { defineClass, mint, transfer, leaseStart, leaseEnd, record, grant, revoke, burn },
  objects: assetObjects,
  genesis: assetGenesis,
};
