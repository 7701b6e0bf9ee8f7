/**
 * Receipt codes of the asset registry (src/app/asset): part of the execution catalogue (execution.ts).
 */
import { BAD_REQUEST, CONFLICT, type CodeSpec, FORBIDDEN, NOT_FOUND } from './spec.ts';

export const ASSET_ERRORS = {
  ASSET_ACCEPTANCE_REQUIRED: {
    ...FORBIDDEN,
    description: "the asset's class needs the recipient of a transfer to sign it too",
  },
  ASSET_BAD_ARGS: { ...BAD_REQUEST, description: 'asset args are malformed' },
  ASSET_BAD_GRANT_END: {
    ...BAD_REQUEST,
    description: "a grant's untilHeight is below the current height",
  },
  ASSET_BAD_ID: {
    ...BAD_REQUEST,
    description: 'not an asset object id (<CLASS> for a class, <CLASS>/<ID> for an asset)',
  },
  ASSET_BAD_LEASE_END: {
    ...BAD_REQUEST,
    description: "a lease's endHeight must be above the current height",
  },
  ASSET_BURNED: { ...CONFLICT, description: 'the asset is burned: nothing more happens to it' },
  ASSET_CLASS_EXISTS: { ...CONFLICT, description: 'an asset class with this id exists' },
  ASSET_CONSENT_REQUIRED: { ...FORBIDDEN, description: 'the lessee must sign the lease too' },
  ASSET_EXISTS: { ...CONFLICT, description: 'an asset with this id exists in the class' },
  ASSET_LEASED: { ...CONFLICT, description: 'the asset is leased' },
  ASSET_LEASE_NOT_ENDED: {
    ...FORBIDDEN,
    description: 'the owner ends a lease only from its endHeight on (the lessee any time)',
  },
  ASSET_LESSEE_IS_OWNER: { ...BAD_REQUEST, description: 'an owner cannot lease to itself' },
  ASSET_NO_GRANT: { ...NOT_FOUND, description: 'the asset has no grant to this grantee' },
  ASSET_NOT_AUTHORIZED: {
    ...FORBIDDEN,
    description: 'no signer of the tx may do this to the asset (owner, holder, grantee, grantor)',
  },
  ASSET_NOT_ISSUER: {
    ...FORBIDDEN,
    description: "only an issuer (of the class's issuer organisation) defines classes and mints",
  },
  ASSET_NOT_LEASABLE: { ...CONFLICT, description: "the asset's class is not leasable" },
  ASSET_NOT_LEASED: { ...CONFLICT, description: 'the asset is not leased' },
  ASSET_NOT_OWNER: { ...FORBIDDEN, description: "the asset's owner must sign" },
  ASSET_TOO_MANY_GRANTS: {
    ...CONFLICT,
    description: 'the asset carries 16 unexpired grants already',
  },
  ASSET_UNKNOWN: { ...NOT_FOUND, description: 'no such asset' },
  ASSET_UNKNOWN_CLASS: { ...NOT_FOUND, description: 'no such asset class' },
} as const satisfies Record<string, CodeSpec>;
