import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Stream } from '@libp2p/interface';
import { isCivitasError } from '../../../src/errors/index.ts';
import { syncProtocolName } from '../../../src/p2p/index.ts';
import {
  bytes,
  CHAIN_ID,
  keyPairs,
  multiaddr,
  startCluster,
  startNode,
  startRawHost,
  text,
  waitFor,
} from './helpers.ts';

const PROTOCOL = syncProtocolName(CHAIN_ID);

function rejectsWith(code: string) {
  return (err: unknown) => {
    assert.ok(isCivitasError(err), `expected a CivitasError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

test('sync round trip returns every frame in order, and empty responses', async (t) => {
  const [a, b] = await startCluster(t, keyPairs(2));
  b!.onSyncRequest(async (request, from) => {
    assert.equal(from.peerId, a!.peerId);
    const n = Number(text(request));
    return Array.from({ length: n }, (_, i) => bytes(`block-${i}`));
  });
  const frames = await a!.requestSync(b!.peerId, bytes('5'));
  assert.deepEqual(frames.map(text), ['block-0', 'block-1', 'block-2', 'block-3', 'block-4']);
  assert.deepEqual(await a!.requestSync(b!.peerId, bytes('0')), []);
  // A large frame crosses many yamux chunks.
  b!.onSyncRequest(async () => [new Uint8Array(3 * 1024 * 1024).fill(7), bytes('tail')]);
  const big = await a!.requestSync(b!.peerId, new Uint8Array(0));
  assert.equal(big.length, 2);
  assert.equal(big[0]!.length, 3 * 1024 * 1024);
  assert.ok(big[0]!.every((x) => x === 7));
  assert.equal(text(big[1]!), 'tail');
  assert.equal(b!.stats().sync.served, 3);
});

test('size limits on requests and responses give typed errors and later requests work', async (t) => {
  const keys = keyPairs(2);
  const members = keys.map((k) => k.publicKey);
  const server = await startNode(t, keys[1]!, members, {
    maxSyncRequestBytes: 1024,
    maxSyncResponseFrameBytes: 1024 * 1024,
  });
  const client = await startNode(t, keys[0]!, members, {
    bootstrap: server.multiaddrs(),
    maxSyncRequestBytes: 4096,
    maxSyncResponseFrameBytes: 1000,
    maxSyncResponseFrames: 3,
  });
  server.onSyncRequest(async (request) => {
    const kind = text(request.subarray(0, 4));
    if (kind === 'big!') return [new Uint8Array(5000)];
    if (kind === 'many') return [bytes('1'), bytes('2'), bytes('3'), bytes('4')];
    if (kind === 'boom') throw new Error('handler bug');
    return [bytes('ok')];
  });
  await waitFor(() => client.connectedPeers().includes(server.peerId), 'connection');

  // The requester's own limit is checked before anything is sent.
  await assert.rejects(
    client.requestSync(server.peerId, new Uint8Array(5000)),
    rejectsWith('P2P_SYNC_REQUEST_TOO_LARGE'),
  );
  // Over the responder's limit: it resets the stream.
  await assert.rejects(
    client.requestSync(server.peerId, new Uint8Array(2000)),
    rejectsWith('P2P_SYNC_STREAM_FAILED'),
  );
  await assert.rejects(
    client.requestSync(server.peerId, bytes('big!')),
    rejectsWith('P2P_FRAME_TOO_LARGE'),
  );
  await assert.rejects(
    client.requestSync(server.peerId, bytes('many')),
    rejectsWith('P2P_SYNC_RESPONSE_TOO_LARGE'),
  );
  await assert.rejects(
    client.requestSync(server.peerId, bytes('boom')),
    rejectsWith('P2P_SYNC_REMOTE_FAILED'),
  );
  assert.deepEqual((await client.requestSync(server.peerId, bytes('fine'))).map(text), ['ok']);
  const stats = client.stats().sync;
  // The too-large request never left, so it counts as neither sent nor failed.
  assert.equal(stats.requestsSent, 5);
  assert.equal(stats.requestsFailed, 4);
});

test('a peer that never answers times out without stalling other requests', async (t) => {
  const [a, b] = await startCluster(t, keyPairs(2));
  let release: () => void = () => {};
  const stuck = new Promise<void>((resolve) => {
    release = resolve;
  });
  t.after(() => release());
  b!.onSyncRequest(async (request) => {
    if (text(request) === 'hang') await stuck;
    return [bytes('pong')];
  });
  const hanging = a!.requestSync(b!.peerId, bytes('hang'), { timeoutMs: 400 });
  // A concurrent request is served while the first one hangs.
  assert.deepEqual((await a!.requestSync(b!.peerId, bytes('ping'))).map(text), ['pong']);
  await assert.rejects(hanging, rejectsWith('P2P_SYNC_TIMEOUT'));
  release();
  assert.deepEqual((await a!.requestSync(b!.peerId, bytes('ping'))).map(text), ['pong']);
});

test('over the per-peer bound, requests are answered BUSY', async (t) => {
  const keys = keyPairs(2);
  const members = keys.map((k) => k.publicKey);
  const server = await startNode(t, keys[1]!, members, { maxInboundSyncPerPeer: 1 });
  const client = await startNode(t, keys[0]!, members, { bootstrap: server.multiaddrs() });
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  t.after(() => release());
  let entered = 0;
  server.onSyncRequest(async () => {
    entered++;
    await gate;
    return [bytes('done')];
  });
  await waitFor(() => client.connectedPeers().includes(server.peerId), 'connection');
  const first = client.requestSync(server.peerId, bytes('1'));
  await waitFor(() => entered === 1, 'first request in the handler');
  await assert.rejects(
    client.requestSync(server.peerId, bytes('2')),
    rejectsWith('P2P_SYNC_REMOTE_BUSY'),
  );
  release();
  assert.deepEqual((await first).map(text), ['done']);
  assert.equal(server.stats().sync.refusedBusy, 1);
});

test('garbage framing from a faulty responder gives typed errors', async (t) => {
  const keys = keyPairs(2);
  const members = keys.map((k) => k.publicKey);
  const raw = await startRawHost(t, keys[1]!);
  const replies: Record<string, Uint8Array> = {
    // status OK, then a varint that never ends
    long: Uint8Array.of(1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
    // status OK, then length 1 written non-minimally as 0x81 0x00
    nonminimal: Uint8Array.of(1, 0, 0x81, 0x00, 0x41),
    // status OK, then a frame announcing 10 bytes but carrying 3
    truncated: Uint8Array.of(1, 0, 10, 1, 2, 3),
    // a 2-byte status frame
    badstatus: Uint8Array.of(2, 0, 0),
    // nothing at all
    empty: new Uint8Array(0),
  };
  await raw.handle(PROTOCOL, async (stream: Stream) => {
    let request = '';
    for await (const chunk of stream) request += text(chunk.subarray()).slice(1);
    stream.send(replies[request] ?? new Uint8Array(0));
    await stream.close();
  });
  await raw.start();
  const client = await startNode(t, keys[0]!, members, {
    bootstrap: raw.getMultiaddrs().map(String),
  });
  const rawId = raw.peerId.toString();
  await waitFor(() => client.connectedPeers().includes(rawId), 'connection to raw host');
  const expected: Record<string, string> = {
    long: 'P2P_FRAME_TOO_LARGE',
    nonminimal: 'P2P_FRAME_BAD_LENGTH',
    truncated: 'P2P_FRAME_TRUNCATED',
    badstatus: 'P2P_SYNC_BAD_RESPONSE',
    empty: 'P2P_SYNC_BAD_RESPONSE',
  };
  for (const [kind, code] of Object.entries(expected)) {
    await assert.rejects(client.requestSync(rawId, bytes(kind)), rejectsWith(code), kind);
  }
  assert.equal(client.stats().sync.requestsFailed, 5);
});

test('garbage and silent requesters do not break the responder', async (t) => {
  const keys = keyPairs(3);
  const members = keys.map((k) => k.publicKey);
  const server = await startNode(t, keys[0]!, members, { syncTimeoutMs: 500 });
  server.onSyncRequest(async () => [bytes('served')]);
  const honest = await startNode(t, keys[1]!, members, { bootstrap: server.multiaddrs() });
  const raw = await startRawHost(t, keys[2]!);
  await raw.start();
  const target = multiaddr(server.multiaddrs()[0]!);

  // Non-minimal varint, an oversized length, two request frames, and a silent stream.
  const garbage = [
    Uint8Array.of(0x81, 0x00),
    Uint8Array.of(0xff, 0xff, 0xff, 0x7f),
    Uint8Array.of(1, 65, 1, 66),
  ];
  for (const bytesOut of garbage) {
    const stream = await raw.dialProtocol(target, PROTOCOL);
    stream.send(bytesOut);
    await stream.close().catch(() => {});
    const received: Uint8Array[] = [];
    await assert.rejects(async () => {
      for await (const chunk of stream) received.push(chunk.subarray());
    });
  }
  const silent = await raw.dialProtocol(target, PROTOCOL);
  await waitFor(() => server.stats().sync.serveFailed === 4, 'the silent stream to time out');
  assert.notEqual(silent.status, 'open');

  await waitFor(() => honest.connectedPeers().includes(server.peerId), 'honest connection');
  assert.deepEqual((await honest.requestSync(server.peerId, bytes('x'))).map(text), ['served']);
  assert.equal(server.stats().sync.activeInbound, 0);
});

test('requests to non-members, blocked and lossy links fail with typed errors', async (t) => {
  const [a, b] = await startCluster(t, keyPairs(2));
  b!.onSyncRequest(async () => [bytes('x')]);
  const stranger = keyPairs(1)[0]!;
  const { peerIdFromValidatorKey } = await import('../../../src/p2p/index.ts');
  await assert.rejects(
    a!.requestSync(peerIdFromValidatorKey(stranger.publicKey), bytes('x')),
    rejectsWith('P2P_NOT_MEMBER'),
  );
  await a!.setLinkFaults({ [b!.peerId]: { lossRate: 1 } });
  await assert.rejects(
    a!.requestSync(b!.peerId, bytes('x'), { timeoutMs: 200 }),
    rejectsWith('P2P_SYNC_TIMEOUT'),
  );
  await a!.setLinkFaults({ [b!.peerId]: { blocked: true } });
  await assert.rejects(a!.requestSync(b!.peerId, bytes('x')), rejectsWith('P2P_LINK_BLOCKED'));
  await a!.setLinkFaults({});
  await waitFor(() => a!.connectedPeers().includes(b!.peerId), 'reconnection after unblock');
  assert.deepEqual((await a!.requestSync(b!.peerId, bytes('x'))).map(text), ['x']);
});
