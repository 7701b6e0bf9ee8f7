/**
 * The JSON form of method args, as `civitas tx call` and the SDK take it: addresses and hashes
 * as hex, amounts as decimal strings, heights as numbers. Each reader names the field and the
 * rule it checks, and throws the module's *_BAD_ARGS code.
 */
import { ADDRESS_LENGTH } from '../chain/address.ts';
import { fromHex } from '../crypto/bytes.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError, type ErrorCode } from '../errors/index.ts';
import { MAX_AMOUNT } from './bank/account.ts';

export function jsonObject(
  json: unknown,
  code: ErrorCode,
  fields: readonly string[],
): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new CivitasError(code, `args must be a JSON object with ${fields.join(', ')}`);
  }
  for (const key of Object.keys(json)) {
    if (!fields.includes(key)) {
      throw new CivitasError(code, `unknown field "${key}" (expected ${fields.join(', ')})`);
    }
  }
  return json as Record<string, unknown>;
}

function hexOf(value: unknown, field: string, length: number, what: string, code: ErrorCode) {
  if (typeof value !== 'string') throw new CivitasError(code, `${field} must be ${what}`);
  try {
    return fromHex(value.startsWith('0x') ? value.slice(2) : value, length);
  } catch {
    throw new CivitasError(code, `${field} must be ${what}`);
  }
}

export function jsonAddress(value: unknown, field: string, code: ErrorCode): Uint8Array {
  return hexOf(value, field, ADDRESS_LENGTH, 'an address (40 hex characters)', code);
}

export function jsonHash(value: unknown, field: string, code: ErrorCode): Uint8Array {
  return hexOf(value, field, HASH_LENGTH, 'a 32-byte hash (64 hex characters)', code);
}

export function jsonPublicKey(value: unknown, field: string, code: ErrorCode): Uint8Array {
  return hexOf(value, field, 32, 'a public key (64 hex characters)', code);
}

/** A positive or zero amount as a decimal string, at most 2^128 − 1. */
export function jsonAmount(value: unknown, field: string, code: ErrorCode): bigint {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,38})$/.test(value)) {
    throw new CivitasError(code, `${field} must be a decimal string, e.g. "10"`);
  }
  const amount = BigInt(value);
  if (amount > MAX_AMOUNT) throw new CivitasError(code, `${field} exceeds 2^128 - 1`);
  return amount;
}

/** A non-negative safe integer (heights, counts). */
export function jsonUint(value: unknown, field: string, code: ErrorCode): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new CivitasError(code, `${field} must be a non-negative integer`);
  }
  return value as number;
}

export function jsonBool(value: unknown, field: string, code: ErrorCode): boolean {
  if (typeof value !== 'boolean') throw new CivitasError(code, `${field} must be true or false`);
  return value;
}

/** A string of 1..maxLength characters matching `pattern` (ids, names, kinds). */
export function jsonString(
  value: unknown,
  field: string,
  code: ErrorCode,
  opts: { maxLength: number; pattern?: RegExp; patternText?: string },
): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > opts.maxLength) {
    throw new CivitasError(code, `${field} must be a string of 1..${opts.maxLength} characters`);
  }
  if (opts.pattern !== undefined && !opts.pattern.test(value)) {
    throw new CivitasError(code, `${field} ${opts.patternText ?? `must match ${opts.pattern}`}`);
  }
  return value;
}

export function jsonList<T>(
  value: unknown,
  field: string,
  code: ErrorCode,
  maxItems: number,
  item: (v: unknown, field: string) => T,
): T[] {
  if (!Array.isArray(value) || value.length > maxItems) {
    throw new CivitasError(code, `${field} must be a list of at most ${maxItems} items`);
  }
  return value.map((v, i) => item(v, `${field}[${i}]`));
}
