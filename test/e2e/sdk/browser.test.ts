/**
 * The SDK in a real browser: the package packed and installed as package.test.ts does, a web
 * page's code (helpers/browser-app.js: the README example's logic) bundled from the scratch
 * project with esbuild for the browser, and run in headless Chromium against a real
 * one-validator node: a transfer submitted and waited for, its proof verified against the
 * genesis validators, the recipient's account proven. The test's HTTP server serves the page
 * and proxies the node's API under /api (same origin: no CORS); told to, it flips one byte
 * of one answer, and the page must then fail with the VERIFY_* code for that lie.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build, type Metafile } from 'esbuild';
import {
  assertChromium,
  type BrowserPage,
  launchBrowser,
  type TestBrowser,
} from '../../helpers/browser.ts';
import { httpJson } from '../../helpers/http.ts';
import { type InitSummary, install, pack, startNetwork, suiteScope } from './helpers/package.ts';

const APP_SOURCE = new URL('./helpers/browser-app.js', import.meta.url);

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>civitas/client in a browser</title><link rel="icon" href="data:,"></head>
<body><h1>civitas/client in a browser</h1><script type="module" src="/app.js"></script></body>
</html>
`;

/** Which answer the proxy falsifies next (once), and how. */
type Tamper = 'tx-certificate' | 'state-value';

/** The hex string with the lowest bit of its last byte flipped. */
function flipLastByte(hex: string): string {
  const last = Number.parseInt(hex.slice(-2), 16) ^ 1;
  return `${hex.slice(0, -2)}${last.toString(16).padStart(2, '0')}`;
}

/** The page's report (helpers/browser-app.js). */
interface PageResult {
  ok: boolean;
  step?: string;
  code?: string | null;
  message?: string;
  hash?: string;
  verified?: { height: number; blockHash: string; status: string; code: string; signers: number };
  account?: { height: number; present: boolean; value: { balance: string } | null };
  runtime: { buffer: string; process: string };
}

/** The page, the bundle and the genesis and key files, with the node's API under /api. */
class PageServer {
  tamper: Tamper | undefined;
  readonly tampered: Tamper[] = [];
  private readonly server: Server;
  private readonly rpc: string;
  private readonly files: { bundle: string; genesis: string; key: string };

  constructor(rpc: string, files: { bundle: string; genesis: string; key: string }) {
    this.rpc = rpc;
    this.files = files;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(err.stack);
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((done) => this.server.close(() => done()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://page');
    if (url.pathname.startsWith('/api/')) return this.proxy(req, res, url);
    const statics: Record<string, [string, () => Promise<string> | string]> = {
      '/': ['text/html', () => PAGE],
      '/app.js': ['text/javascript', () => this.files.bundle],
      '/files/genesis.json': ['application/json', () => readFile(this.files.genesis, 'utf8')],
      '/files/account0.json': ['application/json', () => readFile(this.files.key, 'utf8')],
    };
    const found = statics[url.pathname];
    if (req.method !== 'GET' || found === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': found[0] }).end(await found[1]());
  }

  /** Forwards to the node; falsifies the one answer `tamper` names, then stops. */
  private async proxy(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = `${url.pathname.slice('/api'.length)}${url.search}`;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const upstream = await fetch(`${this.rpc}${path}`, {
      method: req.method,
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
      body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
    });
    let body = await upstream.text();
    if (req.method === 'GET' && upstream.ok) body = this.falsify(url.pathname, body);
    res
      .writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
      })
      .end(body);
  }

  private falsify(pathname: string, body: string): string {
    const json = JSON.parse(body);
    if (this.tamper === 'tx-certificate' && /^\/api\/txs\/[0-9a-f]{64}$/.test(pathname)) {
      if (json.status !== 'committed') return body;
      // The last byte of the last COMMIT signature: the certificate still decodes.
      json.certificateBytes = flipLastByte(json.certificateBytes);
    } else if (this.tamper === 'state-value' && pathname.startsWith('/api/state/bank/')) {
      if (typeof json.proof?.value !== 'string') return body;
      // The account's stored bytes: the node claims another balance or nonce.
      json.proof.value = flipLastByte(json.proof.value);
    } else {
      return body;
    }
    this.tampered.push(this.tamper);
    this.tamper = undefined;
    return JSON.stringify(json);
  }
}

describe('the SDK bundled for the browser, run in headless Chromium against a real node', () => {
  const scope = suiteScope();
  let project: string;
  let summary: InitSummary;
  let rpc: string;
  let metafile: Metafile;
  let server: PageServer;
  let origin: string;
  let browser: TestBrowser;

  before(async () => {
    assertChromium(); // before packing and installing: a missing browser fails at once
    const [installed, network] = await Promise.all([
      pack(scope).then((p) => install(scope, p.tarball)),
      startNetwork(scope),
    ]);
    project = installed;
    ({ summary, rpc } = network);
    await copyFile(APP_SOURCE, join(project, 'app.js'));
    // What a web app's bundler does: browser conditions, everything in one file, no setup. A
    // `node:` import would fail to resolve: the SDK names none (Node's modules are reached
    // through process.getBuiltinModule where it exists).
    const bundled = await build({
      absWorkingDir: project,
      entryPoints: ['app.js'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    metafile = bundled.metafile;
    server = new PageServer(rpc, {
      bundle: bundled.outputFiles[0]!.text,
      genesis: join(summary.dir, 'genesis.json'),
      key: resolve(summary.dir, summary.accounts[0]!.file),
    });
    origin = await server.listen();
    scope.after(() => server.close());
    browser = await launchBrowser(scope);
  });
  after(() => scope.run());

  /** Opens the page, waits for its report and saves a screenshot of it. */
  async function runPage(screenshot: string): Promise<{ page: BrowserPage; result: PageResult }> {
    const recipient = summary.accounts[1]!.address;
    const page = await browser.open(`${origin}/?to=${recipient}`);
    // Page code as strings: this repository's TypeScript has no DOM types.
    const report = 'document.body.dataset.result';
    await page.page.waitForFunction(`${report} !== undefined`, undefined, { timeout: 60_000 });
    await page.screenshot(screenshot);
    const text = await page.page.evaluate<string>(report);
    return { page, result: JSON.parse(text) as PageResult };
  }

  test('the bundle is the installed package through its exports map, with no node: import', () => {
    const inputs = Object.keys(metafile.inputs);
    assert.ok(inputs.includes('node_modules/civitas/dist/client/index.js'), 'the compiled entry');
    assert.deepEqual(
      inputs.filter(
        (i) => !i.startsWith('node_modules/civitas/dist/') && !i.startsWith('node_modules/@noble/'),
      ),
      ['app.js'],
      'only the page, the SDK and @noble',
    );
    const external = Object.entries(metafile.inputs).flatMap(([input, { imports }]) =>
      imports.filter((i) => i.external).map((i) => `${input} ${i.kind} ${i.path}`),
    );
    assert.deepEqual(external, [], 'nothing left to the runtime');
  });

  test('the page runs the README example: transfer committed, tx proof and account proof verified', async (t) => {
    const recipient = summary.accounts[1]!.address;
    const { page, result } = await runPage('sdk-browser-verified');
    page.assertNoErrors();
    assert.equal(
      await page.page.evaluate<string>('typeof Buffer'),
      'undefined',
      'no Buffer in the page',
    );
    assert.deepEqual(result.runtime, { buffer: 'undefined', process: 'undefined' });
    assert.equal(
      result.ok,
      true,
      `the page failed at ${result.step}: ${result.code} ${result.message}`,
    );
    assert.match(result.hash!, /^[0-9a-f]{64}$/);
    assert.equal(result.verified!.status, 'ok');
    assert.equal(result.verified!.signers, 1, 'the one validator signed');
    const committed = await httpJson<{ status: string; height: number }>(
      `${rpc}/txs/${result.hash}`,
    );
    assert.equal(committed.body.status, 'committed');
    assert.equal(result.verified!.height, committed.body.height);
    // The proven balance is the node's, and it has the transfer in it.
    const account = await httpJson<{ balance: string }>(`${rpc}/accounts/${recipient}`);
    assert.equal(result.account!.present, true);
    assert.ok(result.account!.height >= result.verified!.height);
    assert.equal(result.account!.value!.balance, account.body.balance);
    assert.ok(BigInt(account.body.balance) >= BigInt(summary.accounts[1]!.balance) + 10n);
    assert.deepEqual(server.tampered, []);
    t.diagnostic(
      `tx ${result.hash}: ${result.verified!.status} at height ${result.verified!.height}`,
    );
  });

  for (const [tamper, step, code] of [
    ['tx-certificate', 'tx proof', 'VERIFY_CERTIFICATE'],
    ['state-value', 'state proof', 'VERIFY_STATE_PROOF'],
  ] as const) {
    test(`a node that lies (${tamper}, one byte) is caught in the browser: ${code}`, async () => {
      const before = server.tampered.length;
      server.tamper = tamper;
      const { page, result } = await runPage(`sdk-browser-${tamper}`);
      page.assertNoErrors();
      assert.deepEqual(server.tampered.slice(before), [tamper], 'the proxy falsified one answer');
      assert.deepEqual(
        { ok: result.ok, step: result.step, code: result.code },
        { ok: false, step, code },
        result.message,
      );
    });
  }
});
