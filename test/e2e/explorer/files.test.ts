/**
 * The explorer's files as the API server serves them (src/node/explorer-files.ts), over real
 * HTTP: index.html at /explorer/ and a redirect from /explorer, each file with its content
 * type and cache header; nothing outside the dist folder, however the path is spelt (.., %2e%2e,
 * a symlink out, an unknown kind of file); and a node without a built explorer answers
 * EXPLORER_NOT_BUILT naming the build command.
 */
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { CivitasError, httpStatusOf, isCivitasError } from '../../../src/errors/index.ts';
import { ExplorerFiles, isExplorerPath } from '../../../src/node/explorer-files.ts';
import { tempDir } from '../../helpers/temp.ts';

/** A server that answers explorer paths as the API server does (errors as JSON with a code). */
async function serve(t: { after(fn: () => unknown): void }, root: string): Promise<string> {
  const files = new ExplorerFiles(root);
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://x');
    // The API's answer to what is not the explorer (a path the URL parser moved out of it).
    const served = isExplorerPath(pathname)
      ? files.serve(req.method ?? 'GET', pathname, res)
      : Promise.reject(new CivitasError('RPC_NOT_FOUND', `no route GET ${pathname}`));
    served.catch((err: unknown) => {
      assert.ok(isCivitasError(err), String(err));
      res
        .writeHead(httpStatusOf(err.code), { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: err.code, message: err.message } }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.after(() => new Promise((done) => server.close(done)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** GET with the path sent as written (fetch would normalise the dots away). */
async function raw(
  origin: string,
  path: string,
): Promise<{ status: number; type: string | null; text: string; headers: Headers }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(`${origin}${path}`, { method: 'GET', path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'] ?? null,
          text,
          headers: new Headers(res.headers as Record<string, string>),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves the built files with their types, and nothing outside them', async (t) => {
  const dir = await tempDir(t);
  const dist = join(dir, 'explorer', 'dist');
  await mkdir(dist, { recursive: true });
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>x</title>');
  await writeFile(join(dist, 'app.js'), 'export {};');
  await writeFile(join(dist, 'app.css'), 'body{}');
  await writeFile(join(dir, 'secret.json'), '{"secret":true}');
  await writeFile(join(dist, 'notes.bin'), 'binary');
  await symlink(join(dir, 'secret.json'), join(dist, 'out.map'));
  const origin = await serve(t, dist);

  const index = await raw(origin, '/explorer/');
  assert.equal(index.status, 200);
  assert.equal(index.type, 'text/html; charset=utf-8');
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.match(index.text, /<title>x<\/title>/);
  assert.equal((await raw(origin, '/explorer/index.html')).text, index.text);
  const js = await raw(origin, '/explorer/app.js');
  assert.deepEqual(
    [js.status, js.type, js.text],
    [200, 'text/javascript; charset=utf-8', 'export {};'],
  );
  assert.equal((await raw(origin, '/explorer/app.css')).type, 'text/css; charset=utf-8');

  const redirect = await raw(origin, '/explorer');
  assert.deepEqual([redirect.status, redirect.headers.get('location')], [301, '/explorer/']);

  for (const path of [
    '/explorer/../secret.json',
    '/explorer/%2e%2e/secret.json',
    '/explorer/..%2fsecret.json',
    '/explorer/%2e%2e%2f%2e%2e%2fsecret.json',
    '/explorer/out.map',
    '/explorer/notes.bin',
    '/explorer/missing.js',
    '/explorer/%E0%A4%A.js',
  ]) {
    const res = await raw(origin, path);
    assert.equal(res.status, 404, path);
    assert.equal(JSON.parse(res.text).error.code, 'RPC_NOT_FOUND', path);
    assert.doesNotMatch(res.text, /"secret":true/, path);
  }
});

test('a node without a built explorer answers EXPLORER_NOT_BUILT and names the build', async (t) => {
  const dir = await tempDir(t);
  const origin = await serve(t, join(dir, 'no-such-dist'));
  for (const path of ['/explorer/', '/explorer/app.js']) {
    const res = await raw(origin, path);
    assert.equal(res.status, 404, path);
    const { error } = JSON.parse(res.text) as { error: { code: string; message: string } };
    assert.equal(error.code, 'EXPLORER_NOT_BUILT');
    assert.match(error.message, /npm run build:explorer/);
  }
});
