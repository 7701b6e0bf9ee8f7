/**
 * A JSON Schema checker for the subset the OpenAPI document (src/api/openapi.ts) uses: type
 * (with type arrays for nullable), properties, required, additionalProperties (false or a
 * schema), items, enum, const, oneOf (exactly one branch), pattern, minimum, maximum, and
 * $ref into the document. A keyword outside the subset is an error, never ignored: a
 * checker that skipped one would pass values the schema refuses.
 */
import type { JsonSchema } from '../../src/api/openapi.ts';

/** Keywords that say nothing about validity. */
const ANNOTATIONS = new Set(['description', 'format', 'contentMediaType']);
const CHECKED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'oneOf',
  '$ref',
  'pattern',
  'minimum',
  'maximum',
]);

/** A document whose `#/…` pointers $refs follow. */
export type SchemaRoot = object;

export function resolvePointer(root: SchemaRoot, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
  let at: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) {
      throw new Error(`$ref ${ref} does not resolve`);
    }
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
    case 'boolean':
      return typeof value === type;
    default:
      throw new Error(`unknown JSON Schema type ${type}`);
  }
}

/** The ways `value` breaks `schema`, one line each ("$.a.b: problem"); empty when it holds. */
export function schemaErrors(
  value: unknown,
  schema: JsonSchema | boolean,
  root: SchemaRoot,
  path = '$',
): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value is allowed here`];
  for (const key of Object.keys(schema)) {
    if (!CHECKED.has(key) && !ANNOTATIONS.has(key)) {
      throw new Error(`${path}: the checker does not support the keyword ${key}`);
    }
  }
  if (schema.$ref !== undefined) {
    const target = resolvePointer(root, schema.$ref) as JsonSchema;
    const { $ref: _ref, ...siblings } = schema;
    return [
      ...schemaErrors(value, target, root, path),
      ...schemaErrors(value, siblings, root, path),
    ];
  }
  const errors: string[] = [];
  if (schema.oneOf !== undefined) {
    const results = schema.oneOf.map((branch) => schemaErrors(value, branch, root, path));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing === 0) {
      const closest = results.reduce((a, b) => (b.length < a.length ? b : a));
      errors.push(`${path}: matches no oneOf branch; the closest says:`, ...closest);
    } else if (passing > 1) {
      errors.push(`${path}: matches ${passing} oneOf branches, not exactly one`);
    }
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => hasType(value, t))) {
      return [...errors, `${path}: ${typeOf(value)} is not ${types.join(' or ')}`];
    }
  }
  if (schema.const !== undefined && !Object.is(value, schema.const)) {
    errors.push(`${path}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`);
  }
  if (schema.enum !== undefined && !schema.enum.some((e) => Object.is(e, value))) {
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof value === 'string' && schema.pattern !== undefined) {
    if (!new RegExp(schema.pattern, 'u').test(value)) {
      errors.push(
        `${path}: ${JSON.stringify(value.slice(0, 80))} does not match ${schema.pattern}`,
      );
    }
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) {
      errors.push(`${path}: ${value} < minimum ${schema.minimum}`);
    }
    if (schema.maximum !== undefined && value > schema.maximum) {
      errors.push(`${path}: ${value} > maximum ${schema.maximum}`);
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) => {
      errors.push(...schemaErrors(item, schema.items!, root, `${path}[${i}]`));
    });
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (!Object.hasOwn(record, name)) errors.push(`${path}: missing required ${name}`);
    }
    const properties = schema.properties ?? {};
    for (const [name, v] of Object.entries(record)) {
      const at = `${path}.${name}`;
      if (Object.hasOwn(properties, name)) {
        errors.push(...schemaErrors(v, properties[name]!, root, at));
      } else if (schema.additionalProperties === false) {
        errors.push(`${at}: not a property the schema names`);
      } else if (schema.additionalProperties !== undefined) {
        errors.push(...schemaErrors(v, schema.additionalProperties, root, at));
      }
    }
  }
  return errors;
}

/** Throws, listing every problem, unless `value` is valid against `schema`. */
export function assertMatchesSchema(
  value: unknown,
  schema: JsonSchema,
  root: SchemaRoot,
  what: string,
): void {
  const errors = schemaErrors(value, schema, root);
  if (errors.length > 0) {
    throw new Error(`${what} does not match its schema:\n  ${errors.join('\n  ')}`);
  }
}
