import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCivitasError } from '../../../src/errors/index.ts';
import { P2PNode, peerIdFromValidatorKey, validatorKeyFromPeerId } from '../../../src/p2p/index.ts';
import {
  bytes,
  CHAIN_ID,
  keyPairs,
  startCluster,
  startNode,
  text,
  waitFor,
  waitForMesh,
} from './helpers.ts';

test('peer ids and validator keys convert both ways', async () => {
  const [key] = keyPairs(1);
  const peerId = peerIdFromValidatorKey(key!.publicKey);
  assert.match(peerId, /^12D3KooW/);
  assert.deepEqual(validatorKeyFromPeerId(peerId), key!.publicKey);
  // The libp2p identity of a node is its validator key.
  const node = await P2PNode.create({ chainId: CHAIN_ID, secretKey: key!.secretKey, members: [] });
  assert.equal(node.peerId, peerId);
  await node.stop();
  assert.equal(validatorKeyFromPeerId('not a peer id'), undefined);
  // An RSA-style (hash) peer id carries no ed25519 key.
  assert.equal(validatorKeyFromPeerId('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'), undefined);
  assert.throws(
    () => peerIdFromValidatorKey(new Uint8Array(31)),
    (err) => {
      assert.ok(isCivitasError(err) && err.code === 'P2P_BAD_PUBLIC_KEY');
      return true;
    },
  );
});

test('bad options are refused with typed errors', async () => {
  const [key] = keyPairs(1);
  const base = { chainId: CHAIN_ID, secretKey: key!.secretKey, members: [key!.publicKey] };
  const cases: Array<[string, Record<string, unknown>]> = [
    ['P2P_BAD_CONFIG', { chainId: 'a/b' }],
    ['P2P_BAD_CONFIG', { maxConsensusMessageBytes: 8 * 1024 * 1024 }],
    ['P2P_BAD_CONFIG', { psk: new Uint8Array(16) }],
    ['P2P_BAD_SECRET_KEY', { secretKey: new Uint8Array(64) }],
    ['P2P_BAD_LINK_FAULT', { linkFaults: { x: { lossRate: 2 } } }],
  ];
  for (const [code, override] of cases) {
    await assert.rejects(P2PNode.create({ ...base, ...override }), (err) => {
      assert.ok(isCivitasError(err), String(err));
      assert.equal(err.code, code, JSON.stringify(Object.keys(override)));
      return true;
    });
  }
});

test('a non-member cannot connect and nothing it publishes is delivered', async (t) => {
  const keys = keyPairs(2);
  const members = keys.map((k) => k.publicKey);
  const nodes = await startCluster(t, keys);
  const got: string[] = [];
  for (const node of nodes) {
    node.onGossip(
      'txs',
      () => 'accept',
      (data) => {
        got.push(text(data));
      },
    );
  }
  // The stranger trusts the members (so its own gater lets it dial them); they do not trust it.
  const [strangerKey] = keyPairs(1);
  const stranger = await startNode(t, strangerKey!, [...members, strangerKey!.publicKey], {
    bootstrap: nodes.flatMap((n) => n.multiaddrs()),
  });
  // Each member refuses the stranger once Noise has proven its peer id.
  await waitFor(
    () => nodes.every((n) => n.stats().gater.deniedInbound >= 2),
    'every member to refuse the stranger twice',
  );
  for (const node of nodes) assert.ok(!node.connectedPeers().includes(stranger.peerId));
  // No connection to the stranger ever lived long enough to carry a gossip subscription.
  assert.deepEqual(stranger.gossipPeers('txs'), []);
  await stranger.publish('txs', bytes('from-stranger'));
  // Members still gossip between themselves: a message sent after the stranger's has arrived.
  await nodes[0]!.publish('txs', bytes('from-member'));
  await waitFor(() => got.includes('from-member'), 'member gossip');
  assert.deepEqual(got, ['from-member']);
});

test('shrinking the member set disconnects the removed peer; growing it reconnects', async (t) => {
  const keys = keyPairs(3);
  const nodes = await startCluster(t, keys);
  const [a, b, c] = nodes as [P2PNode, P2PNode, P2PNode];
  const got: string[] = [];
  a.onGossip(
    'txs',
    () => 'accept',
    (data) => {
      got.push(text(data));
    },
  );
  const withoutC = [keys[0]!.publicKey, keys[1]!.publicKey];
  await Promise.all([a.setMembers(withoutC), b.setMembers(withoutC)]);
  await waitFor(
    () => !a.connectedPeers().includes(c.peerId) && !b.connectedPeers().includes(c.peerId),
    'c to be disconnected',
  );
  assert.equal(a.isMember(c.peerId), false);
  assert.equal(a.connectedMembers().length, 1);
  // c keeps trying (its own list still has everyone) and is refused each time.
  const deniedBefore = a.stats().gater.deniedInbound;
  await waitFor(() => a.stats().gater.deniedInbound > deniedBefore, 'c to be refused again');
  assert.ok(!a.connectedPeers().includes(c.peerId));
  await c.publish('txs', bytes('from-removed'));
  await b.publish('txs', bytes('from-b'));
  await waitFor(() => got.includes('from-b'), 'gossip among the remaining members');
  assert.deepEqual(got, ['from-b']);

  const all = keys.map((k) => k.publicKey);
  await Promise.all([a.setMembers(all), b.setMembers(all)]);
  await waitForMesh(nodes);
  await c.publish('txs', bytes('from-readmitted'));
  await waitFor(() => got.includes('from-readmitted'), 'gossip from the readmitted member');
});

test('pre-shared key: same key connects, a different key cannot', async (t) => {
  const keys = keyPairs(3);
  const members = keys.map((k) => k.publicKey);
  const psk = new Uint8Array(32).fill(9);
  const nodes = await startCluster(t, keys.slice(0, 2), { members, psk });
  await nodes[0]!.publish('consensus', bytes('private'));
  const outsider = await startNode(t, keys[2]!, members, {
    psk: new Uint8Array(32).fill(1),
    // With the wrong key both sides read noise as lengths and may wait for it: bound the wait.
    dialTimeoutMs: 2_000,
    bootstrap: nodes.flatMap((n) => n.multiaddrs()),
  });
  // pnet fails before the handshake, so the dial itself fails.
  await waitFor(() => outsider.stats().dials.failures >= 2, 'the wrong-key node to fail dialling');
  assert.deepEqual(outsider.connectedPeers(), []);
  for (const node of nodes)
    assert.deepEqual(node.connectedPeers(), [nodes.find((n) => n !== node)!.peerId]);
});
