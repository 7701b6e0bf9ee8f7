/**
 * Membership against real validator processes: a libp2p node whose key is not in the
 * genesis cannot connect to any validator, however it tries (bootstrap redials, explicit
 * dials, a sync request), and nothing it publishes — a valid signed transfer, a signed
 * consensus vote — is processed: the transfer never reaches a mempool or a block (though the
 * very same bytes commit when a client submits them), and the chain goes on unaffected.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { multiaddr } from '@multiformats/multiaddr';
import { voteSigningHash } from '../../../src/chain/index.ts';
import { CivitasClient, fromHex } from '../../../src/client/index.ts';
import { encodeMessage, type Vote } from '../../../src/consensus/index.ts';
import { generateKeyPair, sign } from '../../../src/crypto/index.ts';
import { encodeTxBatch } from '../../../src/node/tx-gossip.ts';
import { P2PNode } from '../../../src/p2p/index.ts';
import { sleep, TestNetwork, waitFor } from './helpers/test-network.ts';
import { loadAccounts, signedTransfer, submitAndWait } from './helpers/transfers.ts';

const ALL = [0, 1, 2, 3];

test('a non-member libp2p node cannot connect to validators and its messages are not processed', {
  timeout: 120_000,
}, async (t) => {
  const network = await TestNetwork.start(t, { validators: 4, accounts: 2 });
  await network.explain(async () => {
    await network.waitForHeight(ALL, 1);
    const validatorKeys = network.summary.nodes.map((n) => fromHex(n.publicKey));
    const stranger = await P2PNode.create({
      chainId: network.chainId,
      secretKey: generateKeyPair().secretKey,
      members: validatorKeys,
      bootstrap: network.summary.nodes.map((n) => n.p2p),
      redialBaseMs: 100,
      maxRedialBackoffMs: 500,
      dialTimeoutMs: 2_000,
    });
    t.after(() => stranger.stop());
    await stranger.start();

    // Its peer keeper dials every validator over and over. Noise lets the dialer finish its
    // handshake before the validator learns who dialled, so the stranger may see a connection
    // for an instant until the validator's gater closes it (how long it lingers depends on
    // the machine's load, so it is logged, not asserted). What must never happen: a validator
    // listing the stranger as a peer, or becoming its gossip peer.
    const streaks = new Map<string, number>();
    let longest = 0;
    let gossipPeers = 0;
    const watching = setInterval(() => {
      const now = Date.now();
      const connected = new Set(stranger.connectedPeers());
      for (const p of connected) if (!streaks.has(p)) streaks.set(p, now);
      for (const [p, since] of streaks) {
        longest = Math.max(longest, now - since);
        if (!connected.has(p)) streaks.delete(p);
      }
      gossipPeers += stranger.gossipPeers('txs').length + stranger.gossipPeers('consensus').length;
    }, 10);
    t.after(() => clearInterval(watching));
    const listedBy = new Set<string>();
    await waitFor(
      async () => {
        for (const s of await network.statuses(ALL)) {
          if (s.peers.includes(stranger.peerId)) listedBy.add(s.moniker);
        }
        return stranger.stats().dials.attempts >= 3 * ALL.length ? true : undefined;
      },
      'the stranger to dial every validator three times',
      30_000,
    );
    for (const node of network.summary.nodes) {
      // An explicit dial either fails or yields a connection the validator closes: one it
      // had admitted would stay open.
      const connection = await stranger.libp2p
        .dial(multiaddr(node.p2p), { signal: AbortSignal.timeout(5_000) })
        .catch(() => undefined);
      if (connection !== undefined) {
        await waitFor(
          async () => (connection.status === 'open' ? undefined : true),
          `${node.name} to close the stranger's connection`,
          15_000,
          10,
        );
      }
      const peerId = node.p2p.split('/p2p/')[1]!;
      await assert.rejects(
        stranger.requestSync(peerId, Uint8Array.of(1, 1), { timeoutMs: 5_000 }),
        `${node.name} serves no sync to a stranger`,
      );
    }
    clearInterval(watching);
    assert.deepEqual([...listedBy], [], 'no validator ever listed the stranger as a peer');
    assert.equal(gossipPeers, 0, 'no validator ever became a gossip peer of the stranger');

    // What it publishes goes nowhere: a valid transfer and a signed COMMIT vote.
    const accounts = await loadAccounts(network.summary);
    const tip = (await network.status(0))!;
    const tx = signedTransfer(network.chainId, accounts, {
      sender: 0,
      to: 1,
      nonce: 0,
      expiryHeight: tip.height + 1_000,
    });
    assert.equal(
      await stranger.publish('txs', encodeTxBatch([tx.encoded])),
      0,
      'no peer to publish a tx to',
    );
    const blockHash = new Uint8Array(randomBytes(32));
    const vote: Vote = {
      type: 'commit',
      height: tip.height + 1,
      view: 0,
      blockHash,
      validatorIndex: 0,
      signature: new Uint8Array(64),
      timestamp: Date.now(),
    };
    const signature = sign(
      voteSigningHash('commit', network.chainId, vote.height, vote.view, blockHash),
      generateKeyPair().secretKey,
    );
    // In the node's gossip envelope (the message, then an 8-byte nonce).
    const envelope = new Uint8Array([
      ...encodeMessage({ ...vote, signature }),
      ...new Uint8Array(randomBytes(8)),
    ]);
    assert.equal(await stranger.publish('consensus', envelope), 0, 'no peer to publish a vote to');

    // The chain goes on for several blocks without the tx anywhere, and without a stranger.
    const later = await network.waitForHeight(ALL, tip.height + 4);
    await sleep(200);
    for (const i of ALL) {
      const s = (await network.status(i))!;
      assert.equal(s.mempool.size, 0, `node${i} mempool holds nothing from the stranger`);
      assert.ok(!s.peers.includes(stranger.peerId), `node${i} lists no stranger as a peer`);
      const res = await network.get(i, `/txs/${tx.hash}`);
      assert.equal(res?.status, 404, `node${i} never saw the stranger's tx`);
    }
    await network.assertSameChain(ALL, 1, Math.min(...later));

    // Control: the same bytes are a valid tx, committed when a client submits them.
    const client = new CivitasClient(network.summary.nodes[1]!.rpc);
    const res = await submitAndWait(network, 1, client, tx, 60_000);
    assert.equal(res.status, 'committed');
    assert.equal(res.receipt?.status, 'ok');
    network.assertAlive(ALL);
    t.diagnostic(
      `stranger: ${stranger.stats().dials.attempts} dials; longest-lived connection ${longest} ms`,
    );
  });
});
