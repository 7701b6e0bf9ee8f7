/**
 * The client survives a node closing a kept-alive socket under a request (the race seen under
 * load): a GET is sent again once on a new connection; a POST is not, and fails with a
 * one-line CLIENT_UNREACHABLE error.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { CivitasClient } from '../../../src/client/index.ts';
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
