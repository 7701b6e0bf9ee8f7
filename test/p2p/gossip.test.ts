import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GossipTopic, GossipVerdict, P2PNode, PeerRef } from '../../src/p2p/index.ts';
import { bytes, keyPairs, startCluster, text, waitFor } from './helpers.ts';

interface Received {
  data: string;
  from: PeerRef;
}

function record(
  node: P2PNode,
  topic: GossipTopic,
  verdict: (data: Uint8Array) => GossipVerdict = () => 'accept',
): Received[] {
  const got: Received[] = [];
  node.onGossip(topic, verdict, (data, from) => {
    got.push({ data: text(data), from });
  });
  return got;
}

test('every member receives every message on both topics', async (t) => {
  const keys = keyPairs(4);
  const nodes = await startCluster(t, keys);
  const inbox = nodes.map((n) => ({ txs: record(n, 'txs'), consensus: record(n, 'consensus') }));

  for (const [i, node] of nodes.entries()) {
    await node.publish('txs', bytes(`tx-from-${i}`));
    await node.publish('consensus', bytes(`vote-from-${i}`));
  }
  await waitFor(
    () => inbox.every((box) => box.txs.length === 3 && box.consensus.length === 3),
    'all messages delivered',
  );
  for (const [i, box] of inbox.entries()) {
    const expectTx = [0, 1, 2, 3].filter((j) => j !== i).map((j) => `tx-from-${j}`);
    assert.deepEqual(box.txs.map((m) => m.data).sort(), expectTx);
    const expectVote = [0, 1, 2, 3].filter((j) => j !== i).map((j) => `vote-from-${j}`);
    assert.deepEqual(box.consensus.map((m) => m.data).sort(), expectVote);
    for (const m of [...box.txs, ...box.consensus]) {
      const sender = keys.findIndex((k) => Buffer.from(k.publicKey).equals(m.from.publicKey));
      assert.ok(sender >= 0 && sender !== i, 'from is a member other than the receiver');
      assert.equal(m.from.peerId, nodes[sender]!.peerId);
    }
  }
  const stats = nodes[0]!.stats();
  assert.equal(stats.gossip.txs.accepted, 3);
  assert.equal(stats.gossip.txs.published, 1);
  assert.equal(stats.connectedPeers, 3);
});
