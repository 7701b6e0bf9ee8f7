/**
 * The `doc` module: organisations anchor documents (a Merkle root of salted field hashes, the
 * data itself stays off chain), witness each other's, grant other organisations some fields
 * for a purpose until a height, and the grantees log each access on chain (state.ts).
 *
 *   doc.anchor    {id, root, schemaHash}                          an active member; the document
 *                                                                 belongs to its organisation
 *   doc.attest    {id}                                            an admin of another organisation
 *   doc.grant     {id, org, fields, purposeHash, untilHeight}     owner (see below)
 *   doc.ungrant   {id, org}                                       owner
 *   doc.logAccess {id, disclosureHash}                            an active member of a grantee
 *   doc.revoke    {id}                                            owner
 *   doc.supersede {id, by}                                        owner
 *
 * Owner: a signer of the tx (the sender or a cosigner) that is an admin of the owning
 * organisation, or is the anchoring account while an active member of it; the organisation
 * must be active. A revoked or superseded document refuses grants and accesses; a frozen one
 * (freeze kind `doc`) refuses grants and accesses too, while attestations go on.
 *
 * Events: doc.anchored, doc.attested, doc.granted, doc.ungranted, doc.accessed, doc.revoked,
 * doc.superseded (each with `doc` and `rev`).
 * Objects: GET /state/doc/<id>.
 */
import { decode } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import { HASH_LENGTH } from '../../crypto/hash.ts';
import { CivitasError, type ReceiptFailureCode } from '../../errors/index.ts';
import { freezeKeysFor, isFrozen } from '../freeze/state.ts';
import { NO_HISTORY } from '../history.ts';
import { jsonHash, jsonList, jsonObject, jsonString, jsonUint } from '../json-args.ts';
import type { AppModule, CallContext, CallOutcome, KeyContext, Method } from '../module.ts';
import { checkObjectId, jsonObjectId, objectIdBytes } from '../object-id.ts';
import {
  isActiveOrganisation,
  memberKey,
  memberOf,
  ORG_ID_PATTERN,
  organisation,
  orgKey,
} from '../org/state.ts';
import {
  checkFieldName,
  checkSortedFields,
  compareFieldNames,
  type Document,
  docKey,
  documentCodec,
  type Grant,
  grantOf,
  MAX_ATTESTATIONS,
  MAX_GRANT_FIELDS,
  MAX_GRANTS,
  readDocId,
  readFieldNames,
  readOrgId,
} from './state.ts';

export interface AnchorArgs {
  readonly id: string;
  readonly root: Uint8Array;
  readonly schemaHash: Uint8Array;
}

export interface DocIdArgs {
  readonly id: string;
}

export interface GrantArgs {
  readonly id: string;
  readonly org: string;
  /** Sorted (compareFieldNames) and unique. */
  readonly fields: readonly string[];
  readonly purposeHash: Uint8Array;
  readonly untilHeight: number;
}

export interface UngrantArgs {
  readonly id: string;
  readonly org: string;
}

export interface LogAccessArgs {
  readonly id: string;
  readonly disclosureHash: Uint8Array;
}

export interface SupersedeArgs {
  readonly id: string;
  readonly by: string;
}

// ---- JSON and canonical args ----

function docId(value: unknown, field: string): string {
  return jsonObjectId(value, field, 'DOC_BAD_ARGS');
}

function orgId(value: unknown, field: string): string {
  return jsonString(value, field, 'DOC_BAD_ARGS', {
    maxLength: 32,
    pattern: ORG_ID_PATTERN,
    patternText: 'must be an organisation id (1..32 of a-z, 0-9, "-", "_")',
  });
}

/** Rule: a grant names 1..32 distinct fields; JSON may list them in any order. */
function jsonFields(value: unknown): string[] {
  const fields = jsonList(value, 'fields', 'DOC_BAD_ARGS', MAX_GRANT_FIELDS, checkFieldName);
  if (fields.length === 0) throw new CivitasError('DOC_BAD_ARGS', 'fields must name 1..32 fields');
  fields.sort(compareFieldNames);
  for (let i = 1; i < fields.length; i++) {
    if (fields[i - 1] === fields[i]) {
      throw new CivitasError('DOC_BAD_ARGS', `fields names "${fields[i]}" twice`);
    }
  }
  return fields;
}

/** Canonical bytes carry the fields sorted and unique (one encoding per grant). */
function decodedFields(fields: string[]): string[] {
  if (fields.length === 0) throw new CivitasError('DOC_BAD_ARGS', 'fields must name 1..32 fields');
  checkSortedFields(fields, 'fields');
  return fields;
}

const idArgs = {
  encode: (a: DocIdArgs) => encode((w) => w.string(a.id)),
  decode: (bytes: Uint8Array): DocIdArgs => decode(bytes, (r) => ({ id: readDocId(r, 'id') })),
  fromJson(json: unknown): DocIdArgs {
    const o = jsonObject(json, 'DOC_BAD_ARGS', ['id']);
    return { id: docId(o.id, 'id') };
  },
  toJson: (a: DocIdArgs) => ({ id: a.id }),
};

// ---- who may act ----

/** The member records of the tx's signers (sender, then cosigners): who may act as owner. */
function signerKeys(ctx: KeyContext): Uint8Array[] {
  const keys = [memberKey(ctx.sender)];
  for (const c of ctx.cosigners) keys.push(memberKey(c));
  return keys;
}

/**
 * Rule: the owner acts — a signer that is an active admin of the owning organisation, or the
 * anchoring account while an active member of it; the organisation must be active.
 */
function mayManage(ctx: CallContext, doc: Document): CallOutcome {
  if (!isActiveOrganisation(ctx.state, doc.org)) return 'DOC_NOT_OWNER';
  for (const account of [ctx.sender, ...ctx.cosigners]) {
    const m = memberOf(ctx.state, account);
    if (m === undefined || !m.active || m.org !== doc.org) continue;
    if (m.roles.includes('admin') || equalBytes(account, doc.anchoredBy)) return undefined;
  }
  return 'DOC_NOT_OWNER';
}

/** The sender's organisation, when the sender is an active member of an active one. */
function senderOrg(ctx: CallContext): string | undefined {
  const m = memberOf(ctx.state, ctx.sender);
  if (m === undefined || !m.active || !isActiveOrganisation(ctx.state, m.org)) return undefined;
  return m.org;
}

// ---- changing a document ----

/** Writes the document's next state, its history advanced once by this call. */
function writeDoc(
  ctx: CallContext,
  key: Uint8Array,
  prev: Document,
  next: Omit<Document, 'history'>,
): Document {
  const doc: Document = { ...next, history: ctx.advance(key, prev.history) };
  ctx.state.set(key, doc, documentCodec);
  return doc;
}

/** The document an owner's call acts on (keys()[0] is its key), when the owner signed. */
function ownedDoc(ctx: CallContext): Document | ReceiptFailureCode {
  const doc = ctx.state.get(ctx.keys[0]!, documentCodec);
  if (doc === undefined) return 'DOC_NOT_FOUND';
  return mayManage(ctx, doc) ?? doc;
}

function freezeKeys(id: string, ctx: KeyContext): Uint8Array[] {
  return freezeKeysFor(ctx.blockState, 'doc', objectIdBytes(id));
}

// ---- methods ----

const anchor: Method<AnchorArgs> = {
  args: {
    encode: (a) =>
      encode((w) => w.string(a.id).fixed(a.root, HASH_LENGTH).fixed(a.schemaHash, HASH_LENGTH)),
    decode: (bytes) =>
      decode(bytes, (r) => ({
        id: readDocId(r, 'id'),
        root: r.fixed(HASH_LENGTH),
        schemaHash: r.fixed(HASH_LENGTH),
      })),
    fromJson(json) {
      const o = jsonObject(json, 'DOC_BAD_ARGS', ['id', 'root', 'schemaHash']);
      return {
        id: docId(o.id, 'id'),
        root: jsonHash(o.root, 'root', 'DOC_BAD_ARGS'),
        schemaHash: jsonHash(o.schemaHash, 'schemaHash', 'DOC_BAD_ARGS'),
      };
    },
    toJson: (a) => ({ id: a.id, root: toHex(a.root), schemaHash: toHex(a.schemaHash) }),
  },
  keys: (a, ctx) => [docKey(a.id), memberKey(ctx.sender)],
  execute(args, ctx) {
    // Rule: an active member of an active organisation anchors, for its organisation.
    const org = senderOrg(ctx);
    if (org === undefined) return 'ORG_NOT_A_MEMBER';
    const key = ctx.keys[0]!;
    // Rule: an id names one document, forever (a revoked one keeps it).
    if (ctx.state.get(key, documentCodec) !== undefined) return 'DOC_EXISTS';
    const stale = ctx.checkRev(NO_HISTORY);
    if (stale !== undefined) return stale;
    const doc: Document = {
      org,
      anchoredBy: ctx.sender,
      root: args.root,
      schemaHash: args.schemaHash,
      status: 'active',
      supersededBy: null,
      attestations: [],
      grants: [],
      accesses: 0,
      lastAccess: null,
      history: ctx.advance(key, NO_HISTORY),
    };
    ctx.state.set(key, doc, documentCodec);
    ctx.emit('doc.anchored', [
      ['doc', args.id],
      ['org', org],
      ['account', ctx.senderHex],
      ['root', toHex(args.root)],
      ['schemaHash', toHex(args.schemaHash)],
      ['rev', String(doc.history.rev)],
    ]);
    return undefined;
  },
};

const attest: Method<DocIdArgs> = {
  args: idArgs,
  keys: (a, ctx) => [docKey(a.id), memberKey(ctx.sender)],
  execute(args, ctx) {
    const key = ctx.keys[0]!;
    const doc = ctx.state.get(key, documentCodec);
    if (doc === undefined) return 'DOC_NOT_FOUND';
    // Rule: an admin witnesses for its organisation (an active one).
    const m = memberOf(ctx.state, ctx.sender);
    const org = m?.roles.includes('admin') === true ? senderOrg(ctx) : undefined;
    if (org === undefined) return 'ORG_NOT_ADMIN';
    // Rule: a witness is another organisation than the owner.
    if (org === doc.org) return 'DOC_OWN_ORGANISATION';
    // Rule: one attestation per organisation, at most 32 (a frozen or ended document too).
    if (doc.attestations.includes(org)) return 'DOC_ALREADY_ATTESTED';
    if (doc.attestations.length >= MAX_ATTESTATIONS) return 'DOC_TOO_MANY_ATTESTATIONS';
    const stale = ctx.checkRev(doc.history);
    if (stale !== undefined) return stale;
    const next = writeDoc(ctx, key, doc, { ...doc, attestations: [...doc.attestations, org] });
    ctx.emit('doc.attested', [
      ['doc', args.id],
      ['org', org],
      ['account', ctx.senderHex],
      ['rev', String(next.history.rev)],
    ]);
    return undefined;
  },
};

const grant: Method<GrantArgs> = {
  args: {
    encode: (a) =>
      encode((w) =>
        w
          .string(a.id)
          .string(a.org)
          .list(a.fields, (ww, f) => ww.string(f))
          .fixed(a.purposeHash, HASH_LENGTH)
          .varuint(a.untilHeight),
      ),
    decode: (bytes) =>
      decode(bytes, (r) => ({
        id: readDocId(r, 'id'),
        org: readOrgId(r, 'DOC_BAD_ARGS'),
        fields: decodedFields(readFieldNames(r)),
        purposeHash: r.fixed(HASH_LENGTH),
        untilHeight: r.varuint(),
      })),
    fromJson(json) {
      const o = jsonObject(json, 'DOC_BAD_ARGS', [
        'id',
        'org',
        'fields',
        'purposeHash',
        'untilHeight',
      ]);
      return {
        id: docId(o.id, 'id'),
        org: orgId(o.org, 'org'),
        fields: jsonFields(o.fields),
        purposeHash: jsonHash(o.purposeHash, 'purposeHash', 'DOC_BAD_ARGS'),
        untilHeight: jsonUint(o.untilHeight, 'untilHeight', 'DOC_BAD_ARGS'),
      };
    },
    toJson: (a) => ({
      id: a.id,
      org: a.org,
      fields: [...a.fields],
      purposeHash: toHex(a.purposeHash),
      untilHeight: a.untilHeight,
    }),
  },
  keys: (a, ctx) => [docKey(a.id), orgKey(a.org), ...signerKeys(ctx), ...freezeKeys(a.id, ctx)],
  execute(args, ctx) {
    const doc = ownedDoc(ctx);
    if (typeof doc === 'string') return doc;
    // Rule: a revoked or superseded document is shared no more.
    if (doc.status !== 'active') return 'DOC_NOT_ACTIVE';
    // Rule: a frozen document is shared no more (until the order is lifted).
    if (isFrozen(ctx.state, 'doc', objectIdBytes(args.id))) return 'FREEZE_ACTIVE';
    // Rule: the grantee is a registered, active organisation other than the owner.
    const grantee = organisation(ctx.state, args.org);
    if (grantee === undefined) return 'ORG_UNKNOWN';
    if (!grantee.active) return 'ORG_SUSPENDED';
    if (args.org === doc.org) return 'DOC_OWN_ORGANISATION';
    // Rule: a grant ends after a height still to come.
    if (args.untilHeight <= ctx.height) return 'DOC_BAD_EXPIRY';
    // Rule: one grant per organisation (a new one replaces it), at most 32.
    const others = doc.grants.filter((g) => g.org !== args.org);
    if (others.length >= MAX_GRANTS) return 'DOC_TOO_MANY_GRANTS';
    const made: Grant = {
      org: args.org,
      fields: args.fields,
      purposeHash: args.purposeHash,
      untilHeight: args.untilHeight,
      since: ctx.height,
    };
    const stale = ctx.checkRev(doc.history);
    if (stale !== undefined) return stale;
    const grants = [...others, made].sort((a, b) => (a.org < b.org ? -1 : a.org > b.org ? 1 : 0));
    const next = writeDoc(ctx, ctx.keys[0]!, doc, { ...doc, grants });
    ctx.emit('doc.granted', [
      ['doc', args.id],
      ['org', args.org],
      ['fields', String(args.fields.length)],
      ['purposeHash', toHex(args.purposeHash)],
      ['untilHeight', String(args.untilHeight)],
      ['account', ctx.senderHex],
      ['rev', String(next.history.rev)],
    ]);
    return undefined;
  },
};

const ungrant: Method<UngrantArgs> = {
  args: {
    encode: (a) => encode((w) => w.string(a.id).string(a.org)),
    decode: (bytes) =>
      decode(bytes, (r) => ({ id: readDocId(r, 'id'), org: readOrgId(r, 'DOC_BAD_ARGS') })),
    fromJson(json) {
      const o = jsonObject(json, 'DOC_BAD_ARGS', ['id', 'org']);
      return { id: docId(o.id, 'id'), org: orgId(o.org, 'org') };
    },
    toJson: (a) => ({ id: a.id, org: a.org }),
  },
  keys: (a, ctx) => [docKey(a.id), ...signerKeys(ctx)],
  execute(args, ctx) {
    const doc = ownedDoc(ctx);
    if (typeof doc === 'string') return doc;
    // Rule: only a grant that exists is withdrawn (any status, frozen or not: sharing shrinks).
    if (grantOf(doc, args.org) === undefined) return 'DOC_NO_GRANT';
    const stale = ctx.checkRev(doc.history);
    if (stale !== undefined) return stale;
    const grants = doc.grants.filter((g) => g.org !== args.org);
    const next = writeDoc(ctx, ctx.keys[0]!, doc, { ...doc, grants });
    ctx.emit('doc.ungranted', [
      ['doc', args.id],
      ['org', args.org],
      ['account', ctx.senderHex],
      ['rev', String(next.history.rev)],
    ]);
    return undefined;
  },
};

const logAccess: Method<LogAccessArgs> = {
  args: {
    encode: (a) => encode((w) => w.string(a.id).fixed(a.disclosureHash, HASH_LENGTH)),
    decode: (bytes) =>
      decode(bytes, (r) => ({ id: readDocId(r, 'id'), disclosureHash: r.fixed(HASH_LENGTH) })),
    fromJson(json) {
      const o = jsonObject(json, 'DOC_BAD_ARGS', ['id', 'disclosureHash']);
      return {
        id: docId(o.id, 'id'),
        disclosureHash: jsonHash(o.disclosureHash, 'disclosureHash', 'DOC_BAD_ARGS'),
      };
    },
    toJson: (a) => ({ id: a.id, disclosureHash: toHex(a.disclosureHash) }),
  },
  keys: (a, ctx) => [docKey(a.id), memberKey(ctx.sender), ...freezeKeys(a.id, ctx)],
  execute(args, ctx) {
    const key = ctx.keys[0]!;
    const doc = ctx.state.get(key, documentCodec);
    if (doc === undefined) return 'DOC_NOT_FOUND';
    // Rule: an active member of an active organisation logs for its organisation.
    const org = senderOrg(ctx);
    if (org === undefined) return 'ORG_NOT_A_MEMBER';
    // Rule: a revoked or superseded document is accessed no more.
    if (doc.status !== 'active') return 'DOC_NOT_ACTIVE';
    // Rule: a frozen document is accessed no more (until the order is lifted).
    if (isFrozen(ctx.state, 'doc', objectIdBytes(args.id))) return 'FREEZE_ACTIVE';
    // Rule: the sender's organisation holds a grant, and it has not expired.
    const held = grantOf(doc, org);
    if (held === undefined) return 'DOC_NO_GRANT';
    if (ctx.height > held.untilHeight) return 'DOC_GRANT_EXPIRED';
    const stale = ctx.checkRev(doc.history);
    if (stale !== undefined) return stale;
    const next = writeDoc(ctx, key, doc, {
      ...doc,
      accesses: doc.accesses + 1,
      lastAccess: { org, disclosureHash: args.disclosureHash, height: ctx.height },
    });
    ctx.emit('doc.accessed', [
      ['doc', args.id],
      ['org', org],
      ['account', ctx.senderHex],
      ['disclosureHash', toHex(args.disclosureHash)],
      ['accesses', String(next.accesses)],
      ['rev', String(next.history.rev)],
    ]);
    return undefined;
  },
};

const revoke: Method<DocIdArgs> = {
  args: idArgs,
  keys: (a, ctx) => [docKey(a.id), ...signerKeys(ctx)],
  execute(args, ctx) {
    const doc = ownedDoc(ctx);
    if (typeof doc === 'string') return doc;
    // Rule: a document ends once (revoked or superseded); its record and history stay.
    if (doc.status !== 'active') return 'DOC_NOT_ACTIVE';
    const stale = ctx.checkRev(doc.history);
    if (stale !== undefined) return stale;
    const next = writeDoc(ctx, ctx.keys[0]!, doc, { ...doc, status: 'revoked' });
    ctx.emit('doc.revoked', [
      ['doc', args.id],
      ['account', ctx.senderHex],
      ['rev', String(next.history.rev)],
    ]);
    return undefined;
  },
};

const supersede: Method<SupersedeArgs> = {
  args: {
    encode: (a) => encode((w) => w.string(a.id).string(a.by)),
    decode: (bytes) =>
      decode(bytes, (r) => distinct({ id: readDocId(r, 'id'), by: readDocId(r, 'by') })),
    fromJson(json) {
      const o = jsonObject(json, 'DOC_BAD_ARGS', ['id', 'by']);
      return distinct({ id: docId(o.id, 'id'), by: docId(o.by, 'by') });
    },
    toJson: (a) => ({ id: a.id, by: a.by }),
  },
  keys: (a, ctx) => [docKey(a.id), docKey(a.by), ...signerKeys(ctx)],
  execute(args, ctx) {
    const doc = ownedDoc(ctx);
    if (typeof doc === 'string') return doc;
    // Rule: a document ends once (revoked or superseded).
    if (doc.status !== 'active') return 'DOC_NOT_ACTIVE';
    // Rule: the successor is an active document of the same organisation.
    const successor = ctx.state.get(ctx.keys[1]!, documentCodec);
    if (successor === undefined || successor.status !== 'active' || successor.org !== doc.org) {
      return 'DOC_BAD_SUCCESSOR';
    }
    const stale = ctx.checkRev(doc.history);
    if (stale !== undefined) return stale;
    const next = writeDoc(ctx, ctx.keys[0]!, doc, {
      ...doc,
      status: 'superseded',
      supersededBy: args.by,
    });
    ctx.emit('doc.superseded', [
      ['doc', args.id],
      ['supersededBy', args.by],
      ['account', ctx.senderHex],
      ['rev', String(next.history.rev)],
    ]);
    return undefined;
  },
};

/** Rule: a document is superseded by another one. */
function distinct(a: SupersedeArgs): SupersedeArgs {
  if (a.id === a.by) throw new CivitasError('DOC_BAD_ARGS', 'by must name another document');
  return a;
}

export function documentToJson(d: Document, id: string): Record<string, unknown> {
  return {
    id,
    org: d.org,
    anchoredBy: toHex(d.anchoredBy),
    root: toHex(d.root),
    schemaHash: toHex(d.schemaHash),
    status: d.status,
    supersededBy: d.supersededBy,
    attestations: [...d.attestations],
    grants: d.grants.map((g) => ({
      org: g.org,
      fields: [...g.fields],
      purposeHash: toHex(g.purposeHash),
      untilHeight: g.untilHeight,
      since: g.since,
    })),
    accesses: d.accesses,
    lastAccess:
      d.lastAccess === null
        ? null
        : {
            org: d.lastAccess.org,
            disclosureHash: toHex(d.lastAccess.disclosureHash),
            height: d.lastAccess.height,
          },
    rev: d.history.rev,
    hist: toHex(d.history.hist),
  };
}

export const docModule: AppModule = {
  name: 'doc',
  methods: { anchor, attest, grant, ungrant, logAccess, revoke, supersede },
  objects: {
    key: (id) => docKey(checkObjectId(id, 'a doc id', 'DOC_BAD_ID')),
    toJson: (value, id) => documentToJson(documentCodec.decode(value), id),
  },
};
