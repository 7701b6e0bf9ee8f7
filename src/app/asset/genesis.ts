/**
 * The asset module's genesis section: app.asset = {classes: [{id, issuerOrg, leasable,
 * transferNeedsAcceptance, schemaHash}], assets: [{class, id, owner, metaHash}]}, written at
 * rev 0; anything malformed throws GENESIS_INVALID.
 */
import { CivitasError } from '../../errors/index.ts';
import { NO_HISTORY } from '../history.ts';
import { jsonAddress, jsonBool, jsonHash, jsonList, jsonObject, jsonString } from '../json-args.ts';
import type { GenesisContext } from '../module.ts';
import { assetId, jsonObjectId } from '../object-id.ts';
import { ORG_ID_PATTERN, organisation } from '../org/state.ts';
import type { StateAccess } from '../state-view.ts';
import { assetClassCodec, assetCodec, assetKey, classKey } from './state.ts';

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

export function assetGenesis({ section, state }: GenesisContext): void {
  if (section === undefined) return;
  const o = jsonObject(section, G, ['classes', 'assets']);
  genesisClasses(o, state);
  genesisAssets(o, state);
}
