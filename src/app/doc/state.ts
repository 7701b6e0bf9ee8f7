/**
 * Documents anchored on chain: the data stays off chain, the chain keeps the Merkle root of
 * the document's salted field hashes (src/client/disclosure.ts builds it), who anchored it,
 * who witnessed it, which organisations may receive which fields until when, and every
 * access they logged.
 *
 *   doc/d/<id>   Document { org, anchoredBy, root, schemaHash, status, supersededBy,
 *                           attestations, grants, accesses, lastAccess, history }
 *
 * A document is never deleted: a revoked or superseded one keeps its record and history.
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import { decode, expectVersion, type Reader } from '../../codec/reader.ts';
import { encode, type Writer } from '../../codec/writer.ts';
import { compareBytes, concatBytes, utf8 } from '../../crypto/bytes.ts';
import { HASH_LENGTH } from '../../crypto/hash.ts';
import { CivitasError } from '../../errors/index.ts';
import { type History, readHistory, writeHistory } from '../history.ts';
import { checkObjectId, OBJECT_ID_MAX } from '../object-id.ts';
import { ORG_ID_PATTERN } from '../org/state.ts';
import type { StateRead, ValueCodec } from '../state-view.ts';

/** Most organisations that attest one document. */
export const MAX_ATTESTATIONS = 32;
/** Most grants a document holds at once (an expired grant counts until it is ungranted). */
export const MAX_GRANTS = 32;
/** Most field names one grant names. */
export const MAX_GRANT_FIELDS = 32;
/** A field name is 1..64 characters (UTF-16 code units, as JavaScript counts them). */
export const FIELD_NAME_MAX = 64;

export const DOC_STATUSES = ['active', 'revoked', 'superseded'] as const;
export type DocStatus = (typeof DOC_STATUSES)[number];

/** An organisation's right to receive some fields of a document for a purpose, until a height. */
export interface Grant {
  readonly org: string;
  /** Field names, sorted (compareFieldNames) and unique. */
  readonly fields: readonly string[];
  /** Hash of the purpose statement (kept off chain). */
  readonly purposeHash: Uint8Array;
  /** The last height at which the grantee may log an access. */
  readonly untilHeight: number;
  /** Height of the block that made (or last replaced) the grant. */
  readonly since: number;
}

/** The last access an organisation logged. */
export interface Access {
  readonly org: string;
  /** Hash of what the organisation received (disclosureHash in src/client/disclosure.ts). */
  readonly disclosureHash: Uint8Array;
  readonly height: number;
}

export interface Document {
  /** The owning organisation: the anchoring account's, at anchoring. */
  readonly org: string;
  readonly anchoredBy: Uint8Array;
  /** Merkle root of the document's salted field hashes. */
  readonly root: Uint8Array;
  /** Hash of the document's schema (kept off chain). */
  readonly schemaHash: Uint8Array;
  readonly status: DocStatus;
  /** The id of the document that superseded this one (status superseded), else null. */
  readonly supersededBy: string | null;
  /** Organisations that witnessed the document, in the order they attested. */
  readonly attestations: readonly string[];
  /** Grants, sorted by organisation id, one per organisation. */
  readonly grants: readonly Grant[];
  /** Accesses logged, ever. */
  readonly accesses: number;
  readonly lastAccess: Access | null;
  readonly history: History;
}

const PREFIX = utf8.encode('doc/d/');

export function docKey(id: string): Uint8Array {
  return concatBytes(PREFIX, utf8.encode(id));
}

/**
 * The order of field names, in grants and in a document's Merkle leaves: by their UTF-8
 * bytes (Unicode code point order), which any language reproduces.
 */
export function compareFieldNames(a: string, b: string): number {
  return compareBytes(utf8.encode(a), utf8.encode(b));
}

const FIELD_RULE = `a field name is a string of 1..${FIELD_NAME_MAX} characters`;

/** Checks a field name (JSON or decoded bytes); throws DOC_BAD_ARGS quoting the rule. */
export function checkFieldName(name: unknown, field: string): string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > FIELD_NAME_MAX ||
    !name.isWellFormed()
  ) {
    throw new CivitasError('DOC_BAD_ARGS', `${field}: ${FIELD_RULE}`);
  }
  return name;
}

/** Rule: a grant's field names are sorted (compareFieldNames) and unique: one encoding. */
export function checkSortedFields(fields: readonly string[], field: string): readonly string[] {
  for (let i = 1; i < fields.length; i++) {
    if (compareFieldNames(fields[i - 1]!, fields[i]!) >= 0) {
      throw new CivitasError('DOC_BAD_ARGS', `${field} must be sorted and unique`);
    }
  }
  return fields;
}

/** Reads an organisation id; throws `code` when it breaks the organisation id rule. */
export function readOrgId(r: Reader, code: 'DOC_BAD_ARGS' | 'CODEC_BAD_VALUE'): string {
  const id = r.string(32);
  if (!ORG_ID_PATTERN.test(id)) throw new CivitasError(code, `bad organisation id ${id}`);
  return id;
}

export function readDocId(r: Reader, field: string): string {
  return checkObjectId(r.string(OBJECT_ID_MAX), field, 'DOC_BAD_ARGS');
}

export function readFieldNames(r: Reader): string[] {
  return r.list(MAX_GRANT_FIELDS, (rr) => checkFieldName(rr.string(FIELD_NAME_MAX * 4), 'field'));
}

function writeGrant(w: Writer, g: Grant): void {
  w.string(g.org)
    .list(g.fields, (ww, f) => ww.string(f))
    .fixed(g.purposeHash, HASH_LENGTH)
    .varuint(g.untilHeight)
    .varuint(g.since);
}

function readGrant(r: Reader): Grant {
  return {
    org: readOrgId(r, 'CODEC_BAD_VALUE'),
    fields: readFieldNames(r),
    purposeHash: r.fixed(HASH_LENGTH),
    untilHeight: r.varuint(),
    since: r.varuint(),
  };
}

export const documentCodec: ValueCodec<Document> = {
  encode: (d) =>
    encode((w) => {
      w.u8(1).string(d.org).fixed(d.anchoredBy, ADDRESS_LENGTH);
      w.fixed(d.root, HASH_LENGTH).fixed(d.schemaHash, HASH_LENGTH);
      w.u8(DOC_STATUSES.indexOf(d.status));
      if (d.status === 'superseded') w.string(d.supersededBy!);
      w.list(d.attestations, (ww, org) => ww.string(org));
      w.list(d.grants, writeGrant);
      w.varuint(d.accesses);
      w.bool(d.lastAccess !== null);
      if (d.lastAccess !== null) {
        const a = d.lastAccess;
        w.string(a.org).fixed(a.disclosureHash, HASH_LENGTH).varuint(a.height);
      }
      writeHistory(w, d.history);
    }),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'document');
      const org = readOrgId(r, 'CODEC_BAD_VALUE');
      const anchoredBy = r.fixed(ADDRESS_LENGTH);
      const root = r.fixed(HASH_LENGTH);
      const schemaHash = r.fixed(HASH_LENGTH);
      const statusIndex = r.u8();
      const status = DOC_STATUSES[statusIndex];
      if (status === undefined) {
        throw new CivitasError('CODEC_BAD_VALUE', `document: unknown status ${statusIndex}`);
      }
      const supersededBy =
        status === 'superseded'
          ? checkObjectId(r.string(OBJECT_ID_MAX), 'supersededBy', 'CODEC_BAD_VALUE')
          : null;
      return {
        org,
        anchoredBy,
        root,
        schemaHash,
        status,
        supersededBy,
        attestations: r.list(MAX_ATTESTATIONS, (rr) => readOrgId(rr, 'CODEC_BAD_VALUE')),
        grants: r.list(MAX_GRANTS, readGrant),
        accesses: r.varuint(),
        lastAccess: r.bool()
          ? {
              org: readOrgId(r, 'CODEC_BAD_VALUE'),
              disclosureHash: r.fixed(HASH_LENGTH),
              height: r.varuint(),
            }
          : null,
        history: readHistory(r),
      };
    }),
};

export function document(state: StateRead, id: string): Document | undefined {
  return state.get(docKey(id), documentCodec);
}

/** The grant an organisation holds on a document, if any (expired or not). */
export function grantOf(doc: Document, org: string): Grant | undefined {
  return doc.grants.find((g) => g.org === org);
}
