/**
 * The asset registry: classes of assets defined by an issuer organisation, and the assets
 * minted in them, with their owner, lease, record grants and condition records.
 *
 *   asset/c/<class>        AssetClass { issuerOrg, leasable, transferNeedsAcceptance, schemaHash, history }
 *   asset/a/<class>/<id>   Asset      { owner, metaHash, status, lease, grants, records, lastRecord, history }
 *
 * Ids follow object-id.ts (no "/"), so the two key forms cannot collide. An asset's id across
 * modules (freeze orders, GET /state, histories) is `CLASS/ID`. An asset is never deleted: a
 * burned one keeps its record with status `burned`, so its history stays provable.
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import { decode, expectVersion, type Reader } from '../../codec/reader.ts';
import { encode, type Writer } from '../../codec/writer.ts';
import { concatBytes, utf8 } from '../../crypto/bytes.ts';
import { HASH_LENGTH } from '../../crypto/hash.ts';
import { CivitasError } from '../../errors/index.ts';
import { type History, readHistory, writeHistory } from '../history.ts';
import { assetId, objectIdBytes } from '../object-id.ts';
import type { StateRead, ValueCodec } from '../state-view.ts';

/** Grants an asset carries at once. */
export const MAX_GRANTS = 16;
/** Record kinds one grant lists. */
export const MAX_GRANT_KINDS = 8;
/** A record kind: 1..32 of a-z, 0-9, "_", ".", "-". */
export const RECORD_KIND_PATTERN = /^[a-z0-9_.-]{1,32}$/;
export const RECORD_KIND_MAX = 32;
export const RECORD_KIND_RULE = 'must be 1..32 of a-z, 0-9, "_", ".", "-"';
/** Characters of a record's optional URI. */
export const RECORD_URI_MAX = 200;

export const ASSET_STATUSES = ['active', 'burned'] as const;
export type AssetStatus = (typeof ASSET_STATUSES)[number];

export interface AssetClass {
  /** The organisation whose issuers mint in the class (the definer's organisation). */
  readonly issuerOrg: string;
  /** Whether assets of the class may be leased. */
  readonly leasable: boolean;
  /** Whether a transfer needs the recipient's signature too. */
  readonly transferNeedsAcceptance: boolean;
  /** Hash of the class's metadata schema (kept off chain). */
  readonly schemaHash: Uint8Array;
  readonly history: History;
}

export interface Lease {
  readonly lessee: Uint8Array;
  /** From this height on the owner may end the lease alone. */
  readonly endHeight: number;
  /** Hash of the lease contract (kept off chain). */
  readonly termsHash: Uint8Array;
  /** Height at which the lease started. */
  readonly since: number;
}

/** A right to append records of some kinds, given by the owner or the holder. */
export interface Grant {
  readonly grantee: Uint8Array;
  readonly grantor: Uint8Array;
  readonly kinds: readonly string[];
  /** The last height at which the grant is valid. */
  readonly untilHeight: number;
}

export interface AssetRecord {
  readonly kind: string;
  readonly dataHash: Uint8Array;
  readonly height: number;
}

export interface Asset {
  readonly owner: Uint8Array;
  readonly metaHash: Uint8Array;
  readonly status: AssetStatus;
  readonly lease: Lease | null;
  readonly grants: readonly Grant[];
  /** How many records were appended. */
  readonly records: number;
  readonly lastRecord: AssetRecord | null;
  readonly history: History;
}

const CLASS_PREFIX = utf8.encode('asset/c/');
const ASSET_PREFIX = utf8.encode('asset/a/');

export function classKey(cls: string): Uint8Array {
  return concatBytes(CLASS_PREFIX, utf8.encode(cls));
}

export function assetKey(cls: string, id: string): Uint8Array {
  return concatBytes(ASSET_PREFIX, objectIdBytes(assetId(cls, id)));
}

/** Who holds the asset now: the lessee during a lease, else the owner. */
export function holderOf(asset: Asset): Uint8Array {
  return asset.lease?.lessee ?? asset.owner;
}

export const assetClassCodec: ValueCodec<AssetClass> = {
  encode: (c) =>
    encode((w) => {
      w.u8(1).string(c.issuerOrg).bool(c.leasable).bool(c.transferNeedsAcceptance);
      w.fixed(c.schemaHash, HASH_LENGTH);
      writeHistory(w, c.history);
    }),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'asset class');
      return {
        issuerOrg: r.string(32),
        leasable: r.bool(),
        transferNeedsAcceptance: r.bool(),
        schemaHash: r.fixed(HASH_LENGTH),
        history: readHistory(r),
      };
    }),
};

function writeGrant(w: Writer, g: Grant): void {
  w.fixed(g.grantee, ADDRESS_LENGTH).fixed(g.grantor, ADDRESS_LENGTH);
  w.list(g.kinds, (ww, k) => ww.string(k));
  w.varuint(g.untilHeight);
}

function readGrant(r: Reader): Grant {
  return {
    grantee: r.fixed(ADDRESS_LENGTH),
    grantor: r.fixed(ADDRESS_LENGTH),
    kinds: r.list(MAX_GRANT_KINDS, (rr) => rr.string(RECORD_KIND_MAX)),
    untilHeight: r.varuint(),
  };
}

export const assetCodec: ValueCodec<Asset> = {
  encode: (a) =>
    encode((w) => {
      w.u8(1).fixed(a.owner, ADDRESS_LENGTH).fixed(a.metaHash, HASH_LENGTH);
      w.u8(ASSET_STATUSES.indexOf(a.status));
      w.bool(a.lease !== null);
      if (a.lease !== null) {
        const l = a.lease;
        w.fixed(l.lessee, ADDRESS_LENGTH).varuint(l.endHeight).fixed(l.termsHash, HASH_LENGTH);
        w.varuint(l.since);
      }
      w.list(a.grants, writeGrant);
      w.varuint(a.records);
      w.bool(a.lastRecord !== null);
      if (a.lastRecord !== null) {
        const rec = a.lastRecord;
        w.string(rec.kind).fixed(rec.dataHash, HASH_LENGTH).varuint(rec.height);
      }
      writeHistory(w, a.history);
    }),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'asset');
      const owner = r.fixed(ADDRESS_LENGTH);
      const metaHash = r.fixed(HASH_LENGTH);
      const status = ASSET_STATUSES[r.u8()];
      if (status === undefined) throw new CivitasError('CODEC_BAD_VALUE', 'asset: unknown status');
      const lease = r.bool()
        ? {
            lessee: r.fixed(ADDRESS_LENGTH),
            endHeight: r.varuint(),
            termsHash: r.fixed(HASH_LENGTH),
            since: r.varuint(),
          }
        : null;
      const grants = r.list(MAX_GRANTS, readGrant);
      const records = r.varuint();
      const lastRecord = r.bool()
        ? { kind: r.string(RECORD_KIND_MAX), dataHash: r.fixed(HASH_LENGTH), height: r.varuint() }
        : null;
      return {
        owner,
        metaHash,
        status,
        lease,
        grants,
        records,
        lastRecord,
        history: readHistory(r),
      };
    }),
};

export function assetClass(state: StateRead, cls: string): AssetClass | undefined {
  return state.get(classKey(cls), assetClassCodec);
}

/** An asset (active or burned), for other modules that refer to assets. */
export function getAsset(state: StateRead, cls: string, id: string): Asset | undefined {
  return state.get(assetKey(cls, id), assetCodec);
}
