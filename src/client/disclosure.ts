/**
 * Selective disclosure of anchored documents (src/app/doc). The owner of a record computes
 * its root locally and anchors only the root (doc.anchor); later it discloses some fields to
 * a grantee, who checks them against the anchored root — proven by a state proof against a
 * commit certificate — and logs the access on chain (doc.logAccess with disclosureHash).
 *
 *   leaf(name, salt, value) = taggedHash(docField, string name ‖ 16-byte salt ‖ string value)
 *   root                    = merkleRoot(leaves of every field, sorted by name)   (chain/merkle.ts)
 *
 * Strings are the codec's (varint length, UTF-8). Names sort by their UTF-8 bytes
 * (compareFieldNames). The salt (16 random bytes per field) keeps an undisclosed field's
 * value from being guessed from its leaf hash, which every proof of a neighbour reveals.
 *
 * Pure functions over the project's hashing and Merkle code: they run in browsers too.
 */
import {
  checkFieldName,
  compareFieldNames,
  type DocStatus,
  documentCodec,
} from '../app/doc/state.ts';
import type { SignatureCheck } from '../chain/certificate.ts';
import { merkleProof, merkleRoot, verifyMerkleProof } from '../chain/merkle.ts';
import { encode } from '../codec/writer.ts';
import { equalBytes, fromHex, toHex } from '../crypto/bytes.ts';
import { verifyNoble } from '../crypto/ed25519.ts';
import { DomainTag, HASH_LENGTH, taggedHash } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import { type StateProofResponse, type TrustedChain, verifyStateProof } from './verify.ts';

/** Bytes of a field's salt. */
export const SALT_LENGTH = 16;

/** One disclosed field: its value and salt, its position among the document's leaves, its proof. */
export interface DisclosedField {
  name: string;
  value: string;
  /** 16 bytes, hex. */
  salt: string;
  /** Position of the field's leaf (the fields sorted by name), 0-based. */
  index: number;
  /** Merkle audit path, hex, from the leaf's sibling up (chain/merkle.ts). */
  proof: string[];
}

/** What an owner hands a grantee: JSON-safe, checked by verifyDisclosure. */
export interface Disclosure {
  /** The document root, hex. */
  root: string;
  /** Number of fields (leaves) of the document. */
  count: number;
  /** The disclosed fields, by index. */
  fields: DisclosedField[];
}

export interface DocumentTree {
  root: Uint8Array;
  /** The salt of every field (keep them: a disclosure needs them). */
  salts: Record<string, Uint8Array>;
  /** Field names in leaf order. */
  names: string[];
}

export interface VerifiedDocumentDisclosure {
  /** The height the document's state was proven at. */
  height: number;
  /** The disclosed fields, name → value. */
  fields: Record<string, string>;
  /** The document as proven (its JSON view: org, grants, accesses, rev, hist, …). */
  document: Record<string, unknown>;
}

/** Why a check failed, in the error's context. */
type Refusal = 'not_active' | 'absent' | 'root' | 'order' | 'field_proof';

/**
 * A failed check: VERIFY_DOC_NOT_ACTIVE when the document does not count (absent, revoked,
 * superseded), VERIFY_DISCLOSURE when the disclosure is not of it; `context.reason` says more.
 */
function refuse(reason: Refusal, message: string, field?: string): never {
  throw new CivitasError(
    reason === 'not_active' || reason === 'absent' ? 'VERIFY_DOC_NOT_ACTIVE' : 'VERIFY_DISCLOSURE',
    message,
    field === undefined ? { reason } : { reason, field },
  );
}

function badArgs(message: string): never {
  throw new CivitasError('DOC_BAD_ARGS', message);
}

/** The leaf of one field: the tagged hash of its name, salt and value. */
export function fieldLeaf(name: string, salt: Uint8Array, value: string): Uint8Array {
  return taggedHash(
    DomainTag.docField,
    encode((w) => w.string(name).fixed(salt, SALT_LENGTH).string(value)),
  );
}

/** The names of a document's fields in leaf order; DOC_BAD_ARGS for a field that breaks a rule. */
function sortedNames(fields: Record<string, string>): string[] {
  if (fields === null || typeof fields !== 'object') badArgs('fields must be an object');
  const names = Object.keys(fields);
  if (names.length === 0) badArgs('a document has at least one field');
  for (const name of names) {
    checkFieldName(name, `field "${name.slice(0, 80)}"`);
    const value = fields[name];
    if (typeof value !== 'string' || !value.isWellFormed()) {
      badArgs(`field "${name}": the value must be a well-formed string`);
    }
  }
  return names.sort(compareFieldNames);
}

function saltOf(
  salts: Record<string, Uint8Array> | undefined,
  name: string,
): Uint8Array | undefined {
  if (salts === undefined || !Object.hasOwn(salts, name)) return undefined;
  const salt = salts[name];
  if (!(salt instanceof Uint8Array) || salt.length !== SALT_LENGTH) {
    badArgs(`field "${name}": a salt is ${SALT_LENGTH} bytes`);
  }
  return new Uint8Array(salt);
}

function leavesOf(
  fields: Record<string, string>,
  names: readonly string[],
  salts: readonly Uint8Array[],
) {
  return names.map((name, i) => fieldLeaf(name, salts[i]!, fields[name]!));
}

/**
 * The root to anchor (doc.anchor's `root`) of a record's fields, each salted with the given
 * salt or 16 fresh random bytes. Throws DOC_BAD_ARGS for an empty record, a name that is not
 * 1..64 characters, a value that is not a string, or a salt that is not 16 bytes.
 */
export function documentRoot(
  fields: Record<string, string>,
  salts?: Record<string, Uint8Array>,
): DocumentTree {
  const names = sortedNames(fields);
  const used = names.map(
    (name) => saltOf(salts, name) ?? globalThis.crypto.getRandomValues(new Uint8Array(SALT_LENGTH)),
  );
  return {
    root: merkleRoot(leavesOf(fields, names, used)),
    salts: Object.fromEntries(names.map((name, i) => [name, used[i]!])),
    names,
  };
}

/**
 * A disclosure of the fields `names` of a record (all its fields and their salts are needed:
 * the proofs run over every leaf). Throws DOC_BAD_ARGS when a name is not a field, is named
 * twice, or a field has no salt.
 */
export function discloseFields(
  fields: Record<string, string>,
  salts: Record<string, Uint8Array>,
  names: readonly string[],
): Disclosure {
  const all = sortedNames(fields);
  const used = all.map((name) => saltOf(salts, name) ?? badArgs(`field "${name}" has no salt`));
  const leaves = leavesOf(fields, all, used);
  if (!Array.isArray(names) || names.length === 0) badArgs('disclose at least one field');
  const indices = names.map((name) => {
    const index = typeof name === 'string' && Object.hasOwn(fields, name) ? all.indexOf(name) : -1;
    if (index < 0) badArgs(`"${String(name).slice(0, 80)}" is not a field of the document`);
    return index;
  });
  indices.sort((a, b) => a - b);
  for (let i = 1; i < indices.length; i++) {
    if (indices[i] === indices[i - 1]) badArgs(`field "${all[indices[i]!]}" is named twice`);
  }
  return {
    root: toHex(merkleRoot(leaves)),
    count: leaves.length,
    fields: indices.map((index) => ({
      name: all[index]!,
      value: fields[all[index]!]!,
      salt: toHex(used[index]!),
      index,
      proof: merkleProof(leaves, index).siblings.map(toHex),
    })),
  };
}

interface ParsedField {
  name: string;
  value: string;
  salt: Uint8Array;
  index: number;
  siblings: Uint8Array[];
}

function bad(what: string): never {
  throw new CivitasError('CLIENT_BAD_RESPONSE', `malformed disclosure: ${what}`);
}

function hex(value: unknown, length: number, what: string): Uint8Array {
  if (typeof value !== 'string') return bad(what);
  try {
    return fromHex(value, length);
  } catch {
    return bad(what);
  }
}

/** A disclosure as received, checked strictly: anything malformed is CLIENT_BAD_RESPONSE. */
function parse(d: Disclosure): { root: Uint8Array; count: number; fields: ParsedField[] } {
  if (d === null || typeof d !== 'object') bad('not an object');
  const root = hex(d.root, HASH_LENGTH, 'root is not 32 bytes of hex');
  const { count } = d;
  if (!Number.isSafeInteger(count) || count < 1) bad('count is not a positive integer');
  if (!Array.isArray(d.fields) || d.fields.length === 0 || d.fields.length > count) {
    bad('fields is not a list of 1..count fields');
  }
  const fields = d.fields.map((f, i): ParsedField => {
    if (f === null || typeof f !== 'object') bad(`fields[${i}] is not an object`);
    let name: string;
    try {
      name = checkFieldName(f.name, `fields[${i}].name`);
    } catch (err) {
      return bad((err as Error).message);
    }
    if (typeof f.value !== 'string' || !f.value.isWellFormed()) bad(`fields[${i}].value`);
    if (!Number.isSafeInteger(f.index) || f.index < 0 || f.index >= count) {
      bad(`fields[${i}].index is not a leaf of ${count}`);
    }
    if (!Array.isArray(f.proof)) bad(`fields[${i}].proof is not a list`);
    return {
      name,
      value: f.value,
      salt: hex(f.salt, SALT_LENGTH, `fields[${i}].salt is not ${SALT_LENGTH} bytes of hex`),
      index: f.index,
      siblings: f.proof.map((s, j) => hex(s, HASH_LENGTH, `fields[${i}].proof[${j}]`)),
    };
  });
  return { root, count, fields };
}

/**
 * Checks a disclosure against the root the chain holds for the document and returns the
 * disclosed fields (name → value). In order: the document is active (when `status` is
 * given); the disclosure's root is the anchored root; the fields are listed by index and by
 * name alike (so no name appears twice); every field's leaf is under the root at its index.
 * Throws CLIENT_BAD_RESPONSE for a malformed disclosure, VERIFY_DOC_NOT_ACTIVE for a document
 * that is not active, VERIFY_DISCLOSURE (context.reason root, order or field_proof) for a
 * disclosure that does not verify.
 */
export function verifyDisclosure(
  disclosure: Disclosure,
  anchored: { root: Uint8Array; status?: DocStatus | string },
): Record<string, string> {
  const d = parse(disclosure);
  if (anchored.status !== undefined && anchored.status !== 'active') {
    refuse('not_active', `the document is ${anchored.status}: nothing it discloses counts`);
  }
  if (!equalBytes(d.root, anchored.root)) {
    refuse('root', 'the disclosure is of another root than the anchored one');
  }
  for (let i = 1; i < d.fields.length; i++) {
    const [a, b] = [d.fields[i - 1]!, d.fields[i]!];
    if (a.index >= b.index || compareFieldNames(a.name, b.name) >= 0) {
      refuse('order', 'fields must be listed by index, which is the order of their names', b.name);
    }
  }
  for (const f of d.fields) {
    const leaf = fieldLeaf(f.name, f.salt, f.value);
    if (!verifyMerkleProof(d.root, leaf, { index: f.index, size: d.count, siblings: f.siblings })) {
      refuse('field_proof', `field "${f.name}" is not under the document root`, f.name);
    }
  }
  return Object.fromEntries(d.fields.map((f) => [f.name, f.value]));
}

/**
 * The hash a grantee logs with doc.logAccess: the Merkle root over the disclosed fields'
 * leaves, in index order — the root of the record made of the disclosed fields alone (with
 * their salts). Whoever holds the disclosure recomputes it; it commits to every disclosed
 * name, salt and value. CLIENT_BAD_RESPONSE for a malformed disclosure.
 */
export function disclosureHash(disclosure: Disclosure): Uint8Array {
  const d = parse(disclosure);
  return merkleRoot(d.fields.map((f) => fieldLeaf(f.name, f.salt, f.value)));
}

/**
 * Checks a disclosure of document `docId` end to end: the document's state (GET
 * /state/doc/<id>?proof=true) against a commit certificate of the trusted validators
 * (verifyStateProof, VERIFY_*), then that it exists and is active, then verifyDisclosure
 * against its proven root. Returns the fields, the height and the proven document.
 */
export function verifyDocumentDisclosure(
  disclosure: Disclosure,
  docId: string,
  response: StateProofResponse,
  trusted: TrustedChain,
  check: SignatureCheck = verifyNoble,
): VerifiedDocumentDisclosure {
  const proven = verifyStateProof('doc', docId, response, trusted, check);
  if (proven.value === undefined || proven.json === null) {
    refuse('absent', `document ${docId} is proven absent at height ${proven.height}`);
  }
  const doc = documentCodec.decode(proven.value);
  const fields = verifyDisclosure(disclosure, { root: doc.root, status: doc.status });
  return { height: proven.height, fields, document: proven.json };
}
