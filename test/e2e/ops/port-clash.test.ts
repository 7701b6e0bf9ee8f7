/**
 * A port another process holds: `civitas node start` ends with exit 1 and one line naming the
 * code and the address, for the API port (RPC_LISTEN_FAILED) and for the p2p port
 * (P2P_LISTEN_FAILED), never libp2p's error text or a stack trace. Its structured log lines
 * (JSON, one object a line) and process warnings may come before it. A failed start leaves nothing held: once the
 * port is free the same home starts. In process, a p2p node with two listen addresses names
 * only the one it could not bind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { type TestContext, test } from 'node:test';
import { isCivitasError } from '../../../src/errors/index.ts';
import { P2PNode } from '../../../src/p2p/index.ts';
import { randomBasePort, runCli } from '../../helpers/process.ts';
import { initNet, startNode } from '../../helpers/single-node.ts';

/** A plain TCP server on the port, standing in for whatever else took it (closed at the end). */
async function hold(t: Pick<TestContext, 'after'>, port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  t.after(() => release(server));
  return server;
}

function release(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * stderr without the node's JSON log lines and Node's process warnings (a key file's mode or
 * encryption has its own): what the CLI itself printed about the failure.
 */
function cliLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => !/^\(node:\d+\) \[\w+\] Warning: /.test(line))
    .filter((line) => !line.startsWith('(Use `node --trace-warnings'))
    .filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
}

function assertNoInternals(output: string): void {
  assert.ok(!/^\s+at .+/m.test(output), `no stack trace:\n${output}`);
  for (const internal of ['UnsupportedListenAddressesError', 'transportManager', 'node:net']) {
    assert.ok(!output.includes(internal), `no ${internal}:\n${output}`);
  }
}

test('the API port taken: exit 1, one line naming RPC_LISTEN_FAILED and the address', async (t) => {
  const { home, base } = await initNet(t, { accounts: 0 });
  await hold(t, base + 1);

  const r = await runCli(['node', 'start', '--home', home]);
  assert.equal(r.code, 1, `exit 1; stderr:\n${r.stderr}`);
  assert.deepEqual(cliLines(r.stderr), [
    `civitas: cannot listen on 127.0.0.1:${base + 1}: EADDRINUSE [RPC_LISTEN_FAILED]`,
  ]);
  assertNoInternals(r.stderr + r.stdout);
});

test('the p2p port taken: exit 1, one line naming P2P_LISTEN_FAILED and the multiaddr; the home starts once the port is free', async (t) => {
  const { home, base } = await initNet(t, { accounts: 0 });
  const blocker = await hold(t, base);

  const r = await runCli(['node', 'start', '--home', home]);
  assert.equal(r.code, 1, `exit 1; stderr:\n${r.stderr}`);
  assert.deepEqual(cliLines(r.stderr), [
    `civitas: p2p cannot listen on /ip4/127.0.0.1/tcp/${base}: EADDRINUSE (address already in use) [P2P_LISTEN_FAILED]`,
  ]);
  assertNoInternals(r.stderr + r.stdout);

  // Nothing of the failed start is left holding the store or a port.
  await release(blocker);
  const node = await startNode(t, home);
  await node.kill('SIGTERM');
});

test('a p2p node names only the listen address it could not bind, and frees the other', async (t) => {
  const base = randomBasePort();
  await hold(t, base + 1);
  const free = `/ip4/127.0.0.1/tcp/${base}`;
  const taken = `/ip4/127.0.0.1/tcp/${base + 1}`;
  const node = await P2PNode.create({
    chainId: 'civitas-port-clash',
    secretKey: new Uint8Array(randomBytes(32)),
    members: [],
    listen: [free, taken],
  });
  t.after(() => node.stop());

  await assert.rejects(node.start(), (err) => {
    assert.ok(isCivitasError(err), String(err));
    assert.equal(err.code, 'P2P_LISTEN_FAILED');
    assert.equal(err.message, `p2p cannot listen on ${taken}: EADDRINUSE (address already in use)`);
    assert.deepEqual(err.context, { addresses: [{ address: taken, errno: 'EADDRINUSE' }] });
    return true;
  });
  await node.stop();
  await release(await hold(t, base)); // the address that did bind is free again
});
