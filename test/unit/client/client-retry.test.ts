/**
 * The client survives a node closing a kept-alive socket under a request (the race seen under
 * load): a GET is sent again once on a new connection; a plain POST (request) is not, and
 * fails with a one-line CLIENT_UNREACHABLE error. submit() is idempotent on the node, so it
 * sends the same tx again, with back-off, within its retry window, after no answer or a
 * busy/full node; never after a refusal.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { CivitasClient, generateKeyPair, transfer } from '../../../src/client/index.ts';
import { isCivitasError } from '../../../src/errors/index.ts';

/** Closes the first `drop` connections as soon as a request arrives; answers the rest. */
async function flakyServer(drop: number) {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    const n = ++connections;
    socket.once('data', () => {
      requests++;
      if (n <= drop) {
        socket.destroy();
        return;
      }
      const body = JSON.stringify({ ok: true });
      socket.end(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('a GET whose socket dies under it is sent once more', async (t) => {
  const server = await flakyServer(1);
  t.after(server.close);
  const client = new CivitasClient(server.url, { timeoutMs: 5_000 });
  assert.deepEqual(await client.request('GET', '/status'), { ok: true });
  assert.equal(server.requests(), 2);
});

test('a GET is retried only once, then fails with CLIENT_UNREACHABLE', async (t) => {
  const server = await flakyServer(2);
  t.after(server.close);
  const client = new CivitasClient(server.url, { timeoutMs: 5_000 });
  await assert.rejects(client.request('GET', '/status'), (e: unknown) =>
    isCivitasError(e, 'CLIENT_UNREACHABLE'),
  );
  assert.equal(server.requests(), 2);
});

test('a POST is never sent twice', async (t) => {
  const server = await flakyServer(1);
  t.after(server.close);
  const client = new CivitasClient(server.url, { timeoutMs: 5_000 });
  await assert.rejects(
    client.request('POST', '/txs', { tx: '00' }),
    (e: unknown) => isCivitasError(e, 'CLIENT_UNREACHABLE') && !e.message.includes('\n'),
  );
  assert.equal(server.requests(), 1);
});

type Scripted = 'drop' | { status: number; body: unknown; headers?: Record<string, string> };

/** Answers request i with script[i] (the last one from then on); records each request body. */
async function scriptedServer(script: readonly Scripted[]) {
  const bodies: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(buffered)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      bodies.push(buffered.slice(end + 4, end + 4 + length));
      const step = script[Math.min(bodies.length - 1, script.length - 1)]!;
      if (step === 'drop') {
        socket.destroy();
        return;
      }
      const body = JSON.stringify(step.body);
      const extra = Object.entries(step.headers ?? {})
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.end(
        `HTTP/1.1 ${step.status} X\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${extra}connection: close\r\n\r\n${body}`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const keys = generateKeyPair();
const tx = transfer({
  chainId: 'retry-test',
  keys,
  to: new Uint8Array(20),
  amount: 1n,
  nonce: 0,
  expiryHeight: 10,
});
const ok = { status: 200, body: { hash: 'ab', status: 'pending' } };
const busy = {
  status: 503,
  body: { error: { code: 'MEMPOOL_BUSY', message: 'busy' } },
  headers: { 'retry-after': '0' },
};

test('submit sends the same tx again after no answer and after a busy node, then succeeds', async (t) => {
  const server = await scriptedServer(['drop', busy, 'drop', ok]);
  t.after(server.close);
  const client = new CivitasClient(server.url, { timeoutMs: 5_000 });
  assert.deepEqual(await client.submit(tx), ok.body);
  assert.equal(server.bodies.length, 4);
  assert.equal(new Set(server.bodies).size, 1, 'the same bytes every time');
});

test('submit never retries a refusal', async (t) => {
  const refused = {
    status: 400,
    body: { error: { code: 'TX_NONCE_TOO_LOW', message: 'nonce too low' } },
  };
  const server = await scriptedServer([refused, ok]);
  t.after(server.close);
  const client = new CivitasClient(server.url, { timeoutMs: 5_000 });
  await assert.rejects(client.submit(tx), (e: unknown) => isCivitasError(e, 'TX_NONCE_TOO_LOW'));
  assert.equal(server.bodies.length, 1);
});

test('submit gives up when its retry window ends, with the last error', async (t) => {
  const server = await scriptedServer([busy]);
  t.after(server.close);
  const client = new CivitasClient(server.url, { timeoutMs: 5_000, submitRetryMs: 400 });
  const started = Date.now();
  await assert.rejects(client.submit(tx), (e: unknown) => isCivitasError(e, 'MEMPOOL_BUSY'));
  assert.ok(server.bodies.length >= 2, `${server.bodies.length} attempts`);
  assert.ok(Date.now() - started < 5_000);
  // A window of 0: one attempt.
  const before = server.bodies.length;
  await assert.rejects(client.submit(tx, { retryMs: 0 }), (e: unknown) =>
    isCivitasError(e, 'MEMPOOL_BUSY'),
  );
  assert.equal(server.bodies.length, before + 1);
});
