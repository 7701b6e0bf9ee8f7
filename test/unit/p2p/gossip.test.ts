import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { KeyPair } from '../../../src/crypto/index.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import {
  type GossipTopic,
  type GossipVerdict,
  MAX_GOSSIP_MESSAGE_BYTES,
  type P2PNode,
  type PeerRef,
} from '../../../src/p2p/index.ts';
import { bytes, keyPairs, startCluster, startNode, text, waitFor, waitForMesh } from './helpers.ts';

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

test('reject and ignore verdicts stop delivery and are counted', async (t) => {
  const nodes = await startCluster(t, keyPairs(3));
  const verdict = (data: Uint8Array): GossipVerdict => {
    const s = text(data);
    if (s.startsWith('bad')) return 'reject';
    if (s.startsWith('meh')) return 'ignore';
    return 'accept';
  };
  const inbox = nodes.map((n) => record(n, 'consensus', verdict));
  await nodes[0]!.publish('consensus', bytes('bad-1'));
  await nodes[0]!.publish('consensus', bytes('meh-1'));
  await nodes[0]!.publish('consensus', bytes('good-1'));
  await waitFor(
    () =>
      nodes.slice(1).every((n) => {
        const c = n.stats().gossip.consensus;
        return c.rejected === 1 && c.ignored === 1 && c.accepted === 1;
      }),
    'all three verdicts at both receivers',
  );
  assert.deepEqual(
    inbox[1]!.map((m) => m.data),
    ['good-1'],
  );
  assert.deepEqual(
    inbox[2]!.map((m) => m.data),
    ['good-1'],
  );
  assert.deepEqual(inbox[0], []);
});

test('oversized, garbage and validator-crashing messages are dropped; gossip keeps working', async (t) => {
  const keys = keyPairs(2);
  const members = keys.map((k) => k.publicKey);
  // The sender allows larger transactions than the receiver, as a faulty member would.
  const [sender] = await startCluster(t, [keys[0]!], { members });
  const receiver = (
    await startClusterFrom(t, sender!, keys[1]!, members, { maxTxMessageBytes: 1024 })
  ).receiver;
  const got: string[] = [];
  let validated = 0;
  receiver.onGossip(
    'txs',
    (data) => {
      validated++;
      if (text(data) === 'crash') throw new Error('validator bug');
      // A strict decoder: anything not 'tx:' + printable ASCII is garbage.
      return /^tx:[ -~]*$/.test(text(data)) ? 'accept' : 'reject';
    },
    (data) => {
      got.push(text(data));
    },
  );
  await sender!.publish('txs', new Uint8Array(2000).fill(65));
  await sender!.publish('txs', Uint8Array.of(0xff, 0x00, 0x13, 0x37));
  await sender!.publish('txs', bytes('crash'));
  await sender!.publish('txs', bytes('tx:after'));
  await waitFor(() => got.includes('tx:after'), 'the valid message after the bad ones');
  const c = receiver.stats().gossip.txs;
  assert.equal(c.rejected, 2, 'oversized + garbage rejected');
  assert.equal(c.ignored, 1, 'validator crash ignored');
  assert.equal(c.accepted, 1);
  assert.equal(validated, 3, 'the oversized message never reached the validator');
  assert.deepEqual(got, ['tx:after']);
  // The local publish limit is typed.
  await assert.rejects(receiver.publish('txs', new Uint8Array(1025)), (err) => {
    assert.ok(isCivitasError(err) && err.code === 'P2P_MESSAGE_TOO_LARGE');
    return true;
  });
});

/** Starts one more node bootstrapping from `first` and waits for both to see each other. */
async function startClusterFrom(
  t: TestContext,
  first: P2PNode,
  key: KeyPair,
  members: Uint8Array[],
  overrides: Parameters<typeof startNode>[3],
): Promise<{ receiver: P2PNode }> {
  const receiver = await startNode(t, key, members, {
    ...overrides,
    bootstrap: first.multiaddrs(),
  });
  await waitForMesh([first, receiver]);
  return { receiver };
}

test('publishing with no peers does not throw', async (t) => {
  const [alone] = keyPairs(1);
  const node = await startNode(t, alone!, [alone!.publicKey]);
  assert.equal(await node.publish('txs', bytes('nobody listens')), 0);
  assert.equal(await node.publish('txs', bytes('nobody listens')), 0, 'a repeat is a no-op');
  await node.stop();
  await assert.rejects(node.publish('txs', bytes('after stop')), (err) => {
    assert.ok(isCivitasError(err) && err.code === 'P2P_NOT_STARTED');
    return true;
  });
});

test('a consensus message of the maximum size is delivered', async (t) => {
  const nodes = await startCluster(t, keyPairs(2));
  const got: Uint8Array[] = [];
  nodes[1]!.onGossip(
    'consensus',
    () => 'accept',
    (data) => {
      got.push(data);
    },
  );
  const big = new Uint8Array(MAX_GOSSIP_MESSAGE_BYTES);
  for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
  await nodes[0]!.publish('consensus', big);
  await waitFor(() => got.length === 1, 'the large message');
  assert.ok(Buffer.from(got[0]!).equals(Buffer.from(big)));
  await assert.rejects(nodes[0]!.publish('consensus', new Uint8Array(big.length + 1)), (err) => {
    assert.ok(isCivitasError(err) && err.code === 'P2P_MESSAGE_TOO_LARGE');
    return true;
  });
});

test('link faults: loss drops, delay delays, blocked partitions', async (t) => {
  const [a, b] = await startCluster(t, keyPairs(2));
  const got: Array<{ data: string; at: number }> = [];
  b!.onGossip(
    'txs',
    () => 'accept',
    (data) => {
      got.push({ data: text(data), at: Date.now() });
    },
  );

  await b!.setLinkFaults({ [a!.peerId]: { lossRate: 1 } });
  await a!.publish('txs', bytes('lost'));
  await waitFor(() => b!.stats().gossip.txs.faultDropped === 1, 'the drop to be counted');

  await b!.setLinkFaults({ [a!.peerId]: { delayMs: 300 } });
  const sentAt = Date.now();
  await a!.publish('txs', bytes('late'));
  await waitFor(() => got.some((m) => m.data === 'late'), 'the delayed message');
  // A lower bound only: the fault guarantees at least the delay.
  assert.ok(got.find((m) => m.data === 'late')!.at - sentAt >= 300);

  await b!.setLinkFaults({ [a!.peerId]: { blocked: true } });
  await waitFor(() => !b!.connectedPeers().includes(a!.peerId), 'the link to be cut');
  await a!.publish('txs', bytes('partitioned'));
  await b!.setLinkFaults({});
  await waitForMesh([a!, b!]);
  await a!.publish('txs', bytes('healed'));
  await waitFor(() => got.some((m) => m.data === 'healed'), 'delivery after healing');
  assert.deepEqual(
    got.map((m) => m.data),
    ['late', 'healed'],
  );
  assert.deepEqual(b!.stats().linkFaults, {});
});

test('a member whose gossip stream died is reconnected and hears gossip again', async (t) => {
  const [a, b] = await startCluster(t, keyPairs(2));
  const got: string[] = [];
  b!.onGossip(
    'txs',
    () => 'accept',
    (data) => {
      got.push(text(data));
    },
  );
  // Kill a's outbound gossip stream to b while the connection stays open: gossipsub itself
  // would never reopen it.
  const gossipProtocols = a!.libp2p.services.pubsub.protocols;
  let killed = 0;
  for (const connection of a!.libp2p.getConnections()) {
    for (const stream of connection.streams) {
      if (stream.direction === 'outbound' && gossipProtocols.includes(stream.protocol)) {
        stream.abort(new Error('injected stream failure'));
        killed++;
      }
    }
  }
  assert.equal(killed, 1);
  await waitFor(() => a!.stats().gossipLinkRepairs >= 1, 'the watchdog to repair the link');
  await waitForMesh([a!, b!]);
  await a!.publish('txs', bytes('after-repair'));
  await waitFor(() => got.includes('after-repair'), 'gossip over the repaired link');
});
