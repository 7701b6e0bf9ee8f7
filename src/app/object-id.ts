/**
 * Ids of the use-case objects (asset classes and assets, documents, receivables), the same
 * across modules: in state keys, freeze orders, GET /state and GET /history. An id is 1..64
 * of letters, digits, ".", "_", ":" and "-", starting with a letter or digit (no "/": an asset
 * is named `CLASS/ID`, and URLs carry ids as path segments).
 */
import { utf8 } from '../crypto/bytes.ts';
import { CivitasError, type ErrorCode } from '../errors/index.ts';
import { jsonString } from './json-args.ts';

export const OBJECT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
export const OBJECT_ID_MAX = 64;
const RULE = 'must be 1..64 of A-Z, a-z, 0-9, ".", "_", ":", "-", starting with a letter or digit';

/** An object id from JSON; throws `code` quoting the rule. */
export function jsonObjectId(value: unknown, field: string, code: ErrorCode): string {
  return jsonString(value, field, code, {
    maxLength: OBJECT_ID_MAX,
    pattern: OBJECT_ID_PATTERN,
    patternText: RULE,
  });
}

/** Checks an id read from canonical bytes (a decoder); throws `code`. */
export function checkObjectId(id: string, field: string, code: ErrorCode): string {
  if (!OBJECT_ID_PATTERN.test(id)) throw new CivitasError(code, `${field} ${RULE}: ${id}`);
  return id;
}

/** The id of an asset across modules: `CLASS/ID`. */
export function assetId(cls: string, id: string): string {
  return `${cls}/${id}`;
}

/** Splits `CLASS/ID`; throws `code` when either part breaks the id rule. */
export function parseAssetId(value: string, code: ErrorCode): { cls: string; id: string } {
  const slash = value.indexOf('/');
  const cls = value.slice(0, slash);
  const id = value.slice(slash + 1);
  if (slash < 0 || !OBJECT_ID_PATTERN.test(cls) || !OBJECT_ID_PATTERN.test(id)) {
    throw new CivitasError(code, `an asset id is CLASS/ID, each part ${RULE}: ${value}`);
  }
  return { cls, id };
}

/** An id's bytes in state keys and freeze orders. */
export function objectIdBytes(id: string): Uint8Array {
  return utf8.encode(id);
}
