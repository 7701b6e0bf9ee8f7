/**
 * The OpenAPI document against the code it describes: its paths are the server's route table
 * (src/node/routes.ts), no more and no fewer; its schemas are the types of src/api/types.ts,
 * one each, under the same names; objects are closed; every error answer is ApiErrorBody. And
 * the JSON Schema checker the e2e test validates real answers with refuses what it must.
 * (test/e2e/api/openapi.test.ts checks a running node's answers against the document.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  type JsonSchema,
  type OpenApiOperation,
  type OpenApiResponse,
  openApiDocument,
} from '../../../src/api/openapi.ts';
import { buildInfo } from '../../../src/node/build-info.ts';
import { matchRoute, ROUTES, routeKey } from '../../../src/node/routes.ts';
import { resolvePointer, schemaErrors } from '../../helpers/json-schema.ts';
import { REPO_ROOT } from '../../helpers/process.ts';

const doc = openApiDocument('0.0.0-test');

function operations(): Array<{ key: string; path: string; op: OpenApiOperation }> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({
      key: `${method.toUpperCase()} ${path}`,
      path,
      op: op as OpenApiOperation,
    })),
  );
}

function response(r: OpenApiResponse | { $ref: string }): OpenApiResponse {
  return '$ref' in r ? (resolvePointer(doc, r.$ref) as OpenApiResponse) : r;
}

/** Every object (and array element) in `value`, with its JSON path. */
function* walk(value: unknown, path = '$'): Generator<{ path: string; node: object }> {
  if (value === null || typeof value !== 'object') return;
  yield { path, node: value };
  for (const [k, v] of Object.entries(value)) yield* walk(v, `${path}/${k}`);
}

describe('OpenAPI document', () => {
  test('documents every route of the server, and no route the server lacks', () => {
    const routes = ROUTES.map(routeKey).sort();
    const documented = operations()
      .map((o) => o.key)
      .sort();
    assert.deepEqual(documented, routes);
    assert.equal(new Set(routes).size, routes.length, 'no route twice');
  });

  test('each path parameter is declared, required, and named in the path', () => {
    for (const { key, path, op } of operations()) {
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      assert.deepEqual(declared.map((p) => p.name).sort(), inPath, key);
      for (const p of declared) assert.equal(p.required, true, `${key}: ${p.name}`);
      const names = (op.parameters ?? []).map((p) => `${p.in}:${p.name}`);
      assert.equal(new Set(names).size, names.length, `${key}: a parameter twice`);
    }
  });

  test('operation ids are unique', () => {
    const ids = operations().map((o) => o.op.operationId);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('every $ref resolves', () => {
    let refs = 0;
    for (const { path, node } of walk(doc)) {
      const ref = (node as { $ref?: unknown }).$ref;
      if (ref === undefined) continue;
      assert.equal(typeof ref, 'string', path);
      assert.doesNotThrow(() => resolvePointer(doc, ref as string), path);
      refs++;
    }
    assert.ok(refs > 50, `only ${refs} $refs found: the walk is broken`);
  });

  test('the schemas are the types of src/api/types.ts, one each, same names', () => {
    const source = readFileSync(join(REPO_ROOT, 'src/api/types.ts'), 'utf8');
    const exported = new Set(
      [...source.matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1]!),
    );
    for (const m of source.matchAll(/^export type \{([^}]+)\} from/gm)) {
      for (const name of m[1]!.split(',')) if (name.trim() !== '') exported.add(name.trim());
    }
    assert.ok(exported.has('StatusResponse') && exported.has('TxJson'), 'the scan finds types');
    assert.deepEqual(Object.keys(doc.components.schemas).sort(), [...exported].sort());
  });

  test('objects with named properties are closed', () => {
    for (const { path, node } of walk(doc.components.schemas, '#/components/schemas')) {
      const schema = node as JsonSchema;
      if (schema.properties === undefined || path.endsWith('/properties')) continue;
      assert.equal(schema.additionalProperties, false, `${path} is open`);
      for (const name of schema.required ?? []) {
        assert.ok(Object.hasOwn(schema.properties, name), `${path}: required ${name} undefined`);
      }
    }
  });

  test('every operation answers 200 with a body schema; errors are ApiErrorBody', () => {
    for (const { key, op } of operations()) {
      const ok = response(op.responses['200']!);
      assert.ok(ok !== undefined && ok.content !== undefined, `${key}: no 200 body`);
      for (const [status, r] of Object.entries(op.responses)) {
        assert.match(status, /^[1-5][0-9][0-9]$/, key);
        const answer = response(r);
        assert.ok(answer.description.length > 0, `${key} ${status}: no description`);
        if (Number(status) < 400 || key === 'GET /ready') continue;
        assert.deepEqual(
          answer.content?.['application/json']?.schema,
          { $ref: '#/components/schemas/ApiErrorBody' },
          `${key} ${status}`,
        );
      }
    }
  });

  test('the version is what the node reports, the server relative', () => {
    assert.equal(openApiDocument(buildInfo().version).info.version, buildInfo().version);
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(
      doc.servers.map((s) => s.url),
      ['/'],
    );
  });
});

describe('the route table', () => {
  test('matches paths to routes, and tells 405 from 404', () => {
    assert.deepEqual(matchRoute('GET', '/txs/ab'), {
      key: 'GET /txs/{hash}',
      params: { hash: 'ab' },
    });
    assert.deepEqual(matchRoute('GET', '/state/freeze/account/0a'), {
      key: 'GET /state/{module}/{id}',
      params: { module: 'freeze', id: 'account/0a' },
    });
    assert.deepEqual(matchRoute('GET', '/validators/changes'), {
      key: 'GET /validators/changes',
      params: {},
    });
    assert.deepEqual(matchRoute('GET', '/openapi.json'), { key: 'GET /openapi.json', params: {} });
    assert.deepEqual(matchRoute('POST', '/status'), { allowed: ['GET'] });
    assert.deepEqual(matchRoute('DELETE', '/admin/faults'), { allowed: ['GET', 'POST'] });
    assert.deepEqual(matchRoute('GET', '/txs'), { allowed: ['POST'] });
    for (const path of [
      '/nope',
      '/',
      '/state/bank',
      '/status/x',
      '/gov/proposals/1/x',
      '/admin/x',
    ]) {
      assert.deepEqual(matchRoute('GET', path), { allowed: [] }, path);
    }
  });
});

describe('the JSON Schema checker', () => {
  const schema = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
  const errors = (value: unknown, name: string) => schemaErrors(value, schema(name), doc);
  const block = { height: 3, hash: 'ab'.repeat(32), timestamp: 1, txs: 0 };
  const { txs: _txs, ...withoutTxs } = block;

  test('passes a value of the type', () => {
    assert.deepEqual(errors(block, 'BlockEvent'), []);
    assert.deepEqual(errors({ hash: 'ab'.repeat(32), status: 'pending' }, 'TxResponse'), []);
    assert.deepEqual(errors({ offsetMs: null, ok: true, maxDriftMs: 10 }, 'ClockJson'), []);
    assert.deepEqual(errors({ offsetMs: -12, ok: true, maxDriftMs: 10 }, 'ClockJson'), []);
  });

  test('refuses an extra field, a missing one, a wrong type, a null, a bad pattern', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ ...block, extra: 1 }, 'BlockEvent', /\$\.extra: not a property/],
      [withoutTxs, 'BlockEvent', /missing required txs/],
      [{ ...block, height: '3' }, 'BlockEvent', /\$\.height: string is not integer/],
      [{ ...block, height: 1.5 }, 'BlockEvent', /\$\.height: number is not integer/],
      [{ ...block, height: 0 }, 'BlockEvent', /minimum 1/],
      [{ ...block, hash: null }, 'BlockEvent', /\$\.hash: null is not string/],
      [{ ...block, hash: 'AB'.repeat(32) }, 'BlockEvent', /does not match/],
      [{ offsetMs: 'x', ok: true, maxDriftMs: 10 }, 'ClockJson', /string is not integer or null/],
      [[block], 'BlockEvent', /array is not object/],
      [{ hash: 'ab'.repeat(32), status: 'gone' }, 'TxResponse', /matches no oneOf branch/],
      [{ hash: 'ab'.repeat(32), status: 'pending', height: 1 }, 'TxResponse', /no oneOf/],
      [{ error: { code: 'X' } }, 'ApiErrorBody', /\$\.error: missing required message/],
      [{ ready: true, checks: {} }, 'ReadyResponse', /\$\.checks: missing required peers/],
    ];
    for (const [value, name, expected] of cases) {
      assert.match(errors(value, name).join('\n'), expected, JSON.stringify(value));
    }
  });

  test('refuses a value matching two oneOf branches', () => {
    const loose: JsonSchema = { oneOf: [{ type: 'integer' }, { type: 'number' }] };
    assert.match(schemaErrors(3, loose, doc).join(), /matches 2 oneOf branches/);
  });

  test('a keyword outside the subset is an error, not ignored', () => {
    const unknown = { type: 'string', maxLength: 3 } as unknown as JsonSchema;
    assert.throws(
      () => schemaErrors('abcd', unknown, doc),
      /does not support the keyword maxLength/,
    );
  });
});
