/**
 * The OpenAPI document against a running node (`civitas init` and `civitas node start` as
 * child processes, fault injection enabled so /admin/faults answers): GET /openapi.json is
 * the document; every route's real answers — a committed tx with its proofs, accounts and
 * state objects with proofs, history, a governance proposal, validators, readiness, the event
 * streams' events — and the errors it answers are documented for that route and status and
 * match the documented schema (objects closed: an undocumented field fails). Last, every
 * route was seen answering 200.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type {
  JsonSchema,
  OpenApiDocument,
  OpenApiOperation,
  OpenApiResponse,
} from '../../../src/api/openapi.ts';
import { openApiDocument } from '../../../src/api/openapi.ts';
import type { StatusResponse, SubmitTxResponse } from '../../../src/api/types.ts';
import {
  CivitasClient,
  encodeTx,
  loadKeyFile,
  parseAddress,
  senderAddress,
  toHex,
  transfer,
} from '../../../src/client/index.ts';
import { ROUTES, routeKey } from '../../../src/node/routes.ts';
import { assertMatchesSchema, resolvePointer } from '../../helpers/json-schema.ts';
import { type InitSummary, proposeParams, startSingleNode } from '../../helpers/single-node.ts';
import { suiteScope } from '../../helpers/temp.ts';

describe('the OpenAPI document against a running node', () => {
  const scope = suiteScope();
  let rpc: string;
  let summary: InitSummary;
  let doc: OpenApiDocument;
  let client: CivitasClient;
  let committed: { hash: string; height: number };
  /** `METHOD /path status` of every answer checked. */
  const seen = new Set<string>();

  function operation(method: string, path: string): OpenApiOperation {
    const op = doc.paths[path]?.[method.toLowerCase() as 'get' | 'post'];
    assert.ok(op, `${method} ${path} is not documented`);
    return op;
  }

  /**
   * Calls `url` (a concrete path of the route `path`) and checks the answer: its status is
   * documented for the route, its content type is the documented one, its body matches.
   */
  async function call(
    method: 'GET' | 'POST',
    path: string,
    url: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${rpc}${url}`, {
      method,
      ...init,
      signal: AbortSignal.timeout(30_000),
    });
    const documented = operation(method, path).responses[String(res.status)];
    const text = await res.text();
    assert.ok(
      documented,
      `${method} ${url} answered ${res.status} (${text.slice(0, 200)}), undocumented for ${path}`,
    );
    const response = (
      '$ref' in documented ? resolvePointer(doc, documented.$ref) : documented
    ) as OpenApiResponse;
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const media = response.content?.[contentType];
    assert.ok(media, `${method} ${url} ${res.status}: content type ${contentType} undocumented`);
    const body = contentType === 'application/json' ? JSON.parse(text) : text;
    assertMatchesSchema(body, media.schema, doc, `${method} ${url} ${res.status}`);
    seen.add(`${method} ${path} ${res.status}`);
    return { status: res.status, body };
  }
  const get = (path: string, url = path) => call('GET', path, url);

  before(async () => {
    ({ rpc, summary } = await startSingleNode(scope, {
      faultInjection: true,
      prefix: 'civitas-openapi-',
    }));
    client = new CivitasClient(rpc);
    const status = await client.status();
    doc = openApiDocument(status.version);
  });

  after(() => scope.run());

  test('GET /openapi.json is this document, its version the one /status reports', async () => {
    const served = await get('/openapi.json');
    const status = (await get('/status')).body as StatusResponse;
    assert.deepEqual(served.body, doc);
    assert.equal((served.body as OpenApiDocument).info.version, status.version);
  });

  test('POST /txs: pending and committed answers match SubmitTxResponse', async () => {
    const keys = await loadKeyFile(summary.accounts[0]!.file);
    const { nonce } = await client.account(toHex(senderAddress(keys)));
    const { height } = await client.status();
    const tx = (n: number) =>
      transfer({
        chainId: summary.chainId,
        keys,
        to: parseAddress(summary.accounts[1]!.address),
        amount: 5n,
        nonce: n,
        expiryHeight: height + 1_000,
      });
    const body = (t: ReturnType<typeof tx>) => JSON.stringify({ tx: toHex(encodeTx(t)) });
    const pending = await call('POST', '/txs', '/txs', {
      body: body(tx(nonce)),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal((pending.body as SubmitTxResponse).status, 'pending');
    const done = await call('POST', '/txs', '/txs?wait=commit&timeoutMs=20000', {
      body: body(tx(nonce + 1)),
      headers: { 'content-type': 'application/json' },
    });
    const answer = done.body as Extract<SubmitTxResponse, { status: 'committed' }>;
    assert.equal(answer.status, 'committed');
    committed = { hash: answer.hash, height: answer.height };
    // The same tx again: where it is (idempotent submission), the same answer.
    const again = await call('POST', '/txs', '/txs', {
      body: body(tx(nonce + 1)),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, answer);
    // Another tx with a pending tx's nonce: 409, documented, ApiErrorBody. The pending one
    // waits behind a nonce gap (so it cannot commit in between), filled afterwards.
    const json = { 'content-type': 'application/json' };
    await call('POST', '/txs', '/txs', { body: body(tx(nonce + 3)), headers: json });
    const other = transfer({
      chainId: summary.chainId,
      keys,
      to: parseAddress(summary.accounts[1]!.address),
      amount: 6n,
      nonce: nonce + 3,
      expiryHeight: height + 1_000,
    });
    const taken = await call('POST', '/txs', '/txs', { body: body(other), headers: json });
    assert.equal(taken.status, 409);
    await call('POST', '/txs', '/txs?wait=commit&timeoutMs=20000', {
      body: body(tx(nonce + 2)),
      headers: json,
    });
  });

  test('a governance proposal, so that /gov and /history have one to show', async () => {
    const admin = summary.organisations[0]!.admin.file;
    await proposeParams(rpc, admin, { freezeThreshold: 2 });
  });

  test('every GET route answers what the document says', async () => {
    const account = summary.accounts[0]!.address;
    const nobody = '00'.repeat(20);
    const org = summary.organisations[0]!.id;
    await get('/status');
    const ready = await get('/ready');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    await get('/health');
    await get('/validators');
    await get('/validators', '/validators?height=1');
    await get('/validators/changes');
    const tx = await get('/txs/{hash}', `/txs/${committed.hash}`);
    assert.equal((tx.body as { status: string }).status, 'committed');
    await get('/blocks/{id}', '/blocks/latest');
    await get('/blocks/{id}', '/blocks/1');
    await get('/blocks/{id}', `/blocks/${committed.height}`);
    await get('/accounts/{address}', `/accounts/${account}`);
    await get('/accounts/{address}', `/accounts/${account}?proof=true`);
    await get('/accounts/{address}', `/accounts/${nobody}?proof=true`);
    await get('/state/{module}/{id}', `/state/org/${org}?proof=true`);
    await get('/state/{module}/{id}', `/state/org/member/${account}`);
    await get('/state/{module}/{id}', `/state/freeze/account/${nobody}?proof=true`);
    await get('/state/{module}/{id}', `/state/gov/1?proof=true&height=${committed.height}`);
    await get('/state/{module}/{id}', '/state/gov/1');
    await get('/history/{module}/{id}', '/history/gov/1');
    await get('/history/{module}/{id}', `/history/org/${org}?limit=1`);
    const proposals = await get('/gov/proposals');
    assert.equal((proposals.body as { total: number }).total, 1);
    await get('/gov/proposals/{id}', '/gov/proposals/1');
    await get('/metrics');
    await get('/admin/faults');
    // No faults: what the node runs with anyway.
    await call('POST', '/admin/faults', '/admin/faults', {
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
  });

  test('GET /events: each event’s data matches its documented schema', async () => {
    const events = operation('GET', '/events')['x-events']!;
    const check = (kind: string, data: unknown, id: string | undefined) => {
      assertMatchesSchema(data, events[kind] as JsonSchema, doc, `event ${kind} ${id}`);
      seen.add(`GET /events 200`);
    };
    const blocks = await client.openBlockEvents({ from: committed.height - 1 });
    for await (const b of blocks) {
      check('block', b, blocks.lastEventId);
      if (b.height >= committed.height) break;
    }
    const txs = await client.openTxEvents({ tx: committed.hash });
    for await (const t of txs) {
      check('tx', t, txs.lastEventId);
      assert.equal(txs.lastEventId, `${t.height}:${t.index}`);
      break;
    }
    const gaps: unknown[] = [];
    // From before the chain's start on a chain of fewer than 1,000 blocks: no gap.
    const all = await client.openBlockEvents({ from: 0, onGap: (g) => gaps.push(g) });
    for await (const b of all) if (b.height >= committed.height) break;
    assert.deepEqual(gaps, []);
    assert.ok(events.gap, 'the gap event is documented');
  });

  test('errors are documented for their route and status, with ApiErrorBody', async () => {
    const cases: Array<
      [method: 'GET' | 'POST', path: string, url: string, status: number, body?: string]
    > = [
      ['GET', '/validators', '/validators?height=0', 400],
      ['GET', '/txs/{hash}', '/txs/zz', 400],
      ['GET', '/txs/{hash}', `/txs/${'00'.repeat(32)}`, 404],
      ['GET', '/blocks/{id}', '/blocks/x', 400],
      ['GET', '/blocks/{id}', '/blocks/999999', 404],
      ['GET', '/accounts/{address}', '/accounts/zz', 400],
      ['GET', '/state/{module}/{id}', '/state/nope/x', 404],
      ['GET', '/state/{module}/{id}', '/state/bank/xyz', 400],
      ['GET', '/history/{module}/{id}', '/history/nope/x', 404],
      ['GET', '/history/{module}/{id}', '/history/gov/1?limit=0', 400],
      ['GET', '/gov/proposals/{id}', '/gov/proposals/abc', 400],
      ['GET', '/gov/proposals/{id}', '/gov/proposals/99', 404],
      ['GET', '/events', '/events?filter=x', 400],
      ['GET', '/events', '/events?tx=zz', 400],
      ['POST', '/txs', '/txs', 400, '{"tx": 5}'],
      ['POST', '/txs', '/txs?wait=now', 400, '{"tx": "00"}'],
      ['POST', '/admin/faults', '/admin/faults', 400, '{"byzantine": "maybe"}'],
    ];
    for (const [method, path, url, status, body] of cases) {
      const answer = await call(method, path, url, {
        ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
      });
      assert.equal(answer.status, status, `${method} ${url}`);
    }
    // No route, or not this method: ApiErrorBody too.
    const errorBody = { $ref: '#/components/schemas/ApiErrorBody' };
    for (const [method, url, status] of [
      ['GET', '/nope', 404],
      ['POST', '/status', 405],
      ['GET', '/txs', 405],
    ] as const) {
      const res = await fetch(`${rpc}${url}`, { method });
      assert.equal(res.status, status, url);
      assertMatchesSchema(await res.json(), errorBody, doc, `${method} ${url}`);
    }
  });

  test('every route was seen answering 200', () => {
    const missing = ROUTES.map(routeKey).filter((k) => !seen.has(`${k} 200`));
    assert.deepEqual(missing, []);
  });
});
