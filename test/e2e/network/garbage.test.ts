/**
 * A member gone bad: in a 5-validator network (quorum 4) four real validators run as
 * processes and the fifth validator's key drives an in-test libp2p node that sends garbage —
 * random bytes, truncated and bit-flipped real messages, oversized payloads, validly signed
 * votes for blocks that do not exist or heights far ahead — on both gossip topics, and
 * garbage, oversized, malformed and silent requests on the sync protocol. The four must keep
 * committing (all four are needed for a quorum, so each one keeps agreeing), stay
 * responsive, admit none of it, and still commit a real transfer.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { peerIdFromString } from '@libp2p/peer-id';
import { voteSigningHash } from '../../../src/chain/index.ts';
import { CivitasClient, fromHex, loadKeyFile } from '../../../src/client/index.ts';
import { encode } from '../../../src/codec/index.ts';
import {
  decodeMessage,
  encodeMessage,
  signingHashOf,
  type ViewChange,
} from '../../../src/consensus/index.ts';
import { type KeyPair, sign } from '../../../src/crypto/index.ts';
import { encodeSyncRequest } from '../../../src/node/block-sync.ts';
import { encodeTxBatch } from '../../../src/node/tx-gossip.ts';
import {
  type GossipTopic,
  gossipTopicName,
  MAX_GOSSIP_MESSAGE_BYTES,
  P2PNode,
  syncProtocolName,
} from '../../../src/p2p/index.ts';
import { mapLimit, sleep, TestNetwork, waitFor } from './helpers/test-network.ts';
import {
  loadAccounts,
  type SignedTransfer,
  signedTransfer,
  submitAndWait,
} from './helpers/transfers.ts';

const REAL = [0, 1, 2, 3];
const ATTACKER = 4;

function random(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

function flipByte(data: Uint8Array, at: number): Uint8Array {
  const out = new Uint8Array(data); // a copy: gossip data may be a Buffer, whose slice() is a view
  out[at % out.length]! ^= 0x5a;
  return out;
}

/**
 * The node's gossip envelope for consensus messages (src/node/pbft-consensus.ts): the message,
 * then an 8-byte nonce so retransmissions get fresh gossip ids. Mirrored here because the
 * node does not export it.
 */
const ENVELOPE_NONCE_BYTES = 8;
function seal(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(message.length + ENVELOPE_NONCE_BYTES);
  out.set(message);
  out.set(random(ENVELOPE_NONCE_BYTES), message.length);
  return out;
}
/** The consensus message in a captured gossip message (a copy), if it holds one. */
function messageIn(data: Uint8Array): Uint8Array | undefined {
  const candidate = new Uint8Array(data.subarray(0, data.length - ENVELOPE_NONCE_BYTES));
  try {
    decodeMessage(candidate);
    return candidate;
  } catch {
    return undefined;
  }
}

/** Prefixes of `data` cut at a spread of lengths. */
function truncations(data: Uint8Array, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, k) =>
    data.subarray(0, Math.floor(((k + 1) * (data.length - 1)) / (count + 1))),
  );
}

/** A COMMIT vote by `keys` (validator `index`), validly signed, for whatever it names. */
function signedCommit(
  chainId: string,
  keys: KeyPair,
  index: number,
  height: number,
  blockHash: Uint8Array,
): Uint8Array {
  const timestamp = Date.now();
  const signature = sign(
    voteSigningHash('commit', chainId, height, 0, blockHash, timestamp),
    keys.secretKey,
  );
  return encodeMessage({
    type: 'commit',
    height,
    view: 0,
    blockHash,
    validatorIndex: index,
    timestamp,
    signature,
  });
}

/**
 * VIEW-CHANGEs by validator ATTACKER to `view`, at the height of each captured PRE-PREPARE,
 * with that block's own last-commit certificate, so they are well formed and validly signed.
 */
function signedViewChanges(
  chainId: string,
  keys: KeyPair,
  captured: readonly Uint8Array[],
  view: number,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const bytes of captured) {
    const m = decodeMessage(bytes);
    if (m.type !== 'pre-prepare') continue;
    const unsigned: ViewChange = {
      type: 'view-change',
      height: m.height,
      view,
      validatorIndex: ATTACKER,
      lastCommit: m.block.lastCommit,
      prepared: null,
      signature: new Uint8Array(64),
      preparedBlock: null,
    };
    const signature = sign(signingHashOf(chainId, unsigned), keys.secretKey);
    out.push(encodeMessage({ ...unsigned, signature }));
  }
  return out;
}

test('garbage from a member on gossip and sync neither crashes nor stalls the validators', {
  timeout: 180_000,
}, async (t) => {
  const network = await TestNetwork.start(t, { validators: 5, accounts: 2, start: REAL });
  await network.explain(async () => {
    await network.waitForHeight(REAL, 2, 60_000);
    const chainId = network.chainId;
    const attackerKeys = await loadKeyFile(
      join(network.summary.nodes[ATTACKER]!.home, 'validator-key.json'),
    );
    const attacker = await P2PNode.create({
      chainId,
      secretKey: attackerKeys.secretKey,
      members: network.summary.nodes.map((n) => fromHex(n.publicKey)),
      bootstrap: REAL.map((i) => network.summary.nodes[i]!.p2p),
      // Our own limits raised, so oversized messages and requests actually leave this node.
      maxTxMessageBytes: MAX_GOSSIP_MESSAGE_BYTES,
      maxSyncRequestBytes: 1024 * 1024,
      redialBaseMs: 100,
      maxRedialBackoffMs: 1_000,
    });
    t.after(() => attacker.stop());
    // Real traffic to mangle; never relayed onwards.
    const captured: Record<GossipTopic, Uint8Array[]> = { txs: [], consensus: [] };
    for (const topic of ['txs', 'consensus'] as const) {
      attacker.onGossip(
        topic,
        (data) => {
          const message = topic === 'consensus' ? messageIn(data) : new Uint8Array(data);
          if (message !== undefined && captured[topic].length < 64) captured[topic].push(message);
          return 'ignore';
        },
        () => {},
      );
    }
    await attacker.start();
    const realPeerIds = REAL.map((i) => network.summary.nodes[i]!.p2p.split('/p2p/')[1]!);
    await waitFor(
      async () =>
        realPeerIds.every(
          (p) =>
            attacker.gossipPeers('txs').includes(p) &&
            attacker.gossipPeers('consensus').includes(p),
        )
          ? true
          : undefined,
      'the attacker to join the gossip mesh of all four validators',
      30_000,
    );
    await waitFor(
      async () => (captured.consensus.length >= 8 ? true : undefined),
      'the attacker to capture real consensus messages',
      30_000,
    );

    // Control: as a member it is served, so the refusals below are about what it sends.
    const [served] = await attacker.requestSync(
      realPeerIds[0]!,
      encodeSyncRequest({ kind: 'status' }),
    );
    assert.ok(served !== undefined && served.length > 0, 'a valid status request is answered');

    const { height: tip } = (await network.status(0))!;
    const accounts = await loadAccounts(network.summary);
    const [realTx, nextTx] = [0, 1].map((nonce) =>
      signedTransfer(chainId, accounts, { sender: 0, to: 1, nonce, expiryHeight: tip + 1_000 }),
    ) as [SignedTransfer, SignedTransfer];

    // Gossip garbage, both topics.
    const txGarbage: Uint8Array[] = [
      ...Array.from({ length: 40 }, (_, k) => random(1 + ((k * 97) % 2_000))),
      ...truncations(realTx.encoded, 12),
      flipByte(realTx.encoded, realTx.encoded.length - 3), // the signature no longer verifies
      flipByte(realTx.encoded, 5),
      // Batches: of random bytes, of bit-flipped txs, empty, with a trailing byte, a bare tx.
      ...Array.from({ length: 5 }, (_, k) => encodeTxBatch([random(1 + k * 40)])),
      encodeTxBatch([
        flipByte(realTx.encoded, realTx.encoded.length - 3),
        flipByte(realTx.encoded, 5),
      ]),
      encode((w) => w.u8(1).varuint(0)),
      Uint8Array.of(...encodeTxBatch([realTx.encoded]), 0),
      realTx.encoded,
      random(64 * 1024 + 1), // over the tx topic's 64 KiB limit
      random(1024 * 1024),
      random(MAX_GOSSIP_MESSAGE_BYTES),
    ];
    const consensusGarbage: Uint8Array[] = [
      // Raw random bytes (envelopes of nothing sensible, some too short for a nonce) ...
      ...Array.from({ length: 40 }, (_, k) => random(1 + ((k * 131) % 4_000))),
      // ... and random bytes, truncated and bit-flipped real messages in proper envelopes.
      ...Array.from({ length: 10 }, (_, k) => seal(random(1 + k * 50))),
      ...captured.consensus.flatMap((m) => truncations(m, 3)).map(seal),
      ...captured.consensus.map((m, k) => seal(flipByte(m, 3 + k * 7))),
      ...captured.consensus.map((m) => seal(flipByte(m, m.length - 1))),
      // Real messages without their envelope: the last 8 bytes are taken for a nonce.
      ...captured.consensus,
      // Validly signed by a member, naming blocks that do not exist, now and far ahead.
      ...[0, 1, 2, 50, 1_000, 2 ** 40].map((ahead) =>
        seal(signedCommit(chainId, attackerKeys, ATTACKER, tip + 1 + ahead, random(32))),
      ),
      // Validly signed VIEW-CHANGEs, alone (one member is not f + 1), to views near and far.
      ...[1, 2, 50, 2 ** 31].flatMap((view) =>
        signedViewChanges(chainId, attackerKeys, captured.consensus, view).map(seal),
      ),
      // Real messages replayed in fresh envelopes, so gossip does not drop them as seen.
      ...captured.consensus.map(seal),
      random(MAX_GOSSIP_MESSAGE_BYTES),
    ];
    const publish = async (topic: GossipTopic, messages: Uint8Array[]): Promise<number> => {
      let sent = 0;
      for (const m of messages) {
        sent += await attacker.publish(topic, m);
      }
      return sent;
    };
    assert.ok((await publish('txs', txGarbage)) > 0, 'tx garbage reached the validators');
    assert.ok(
      (await publish('consensus', consensusGarbage)) > 0,
      'consensus garbage reached the validators',
    );
    // Behind all that garbage on the same links, one valid transfer: it arriving shows the
    // garbage before it was delivered (gossip streams are ordered), not dropped on the way.
    assert.ok((await attacker.publish('txs', encodeTxBatch([realTx.encoded]))) > 0);
    // Beyond gossipsub's own RPC limit, through the raw pubsub: dropped somewhere, harmlessly.
    await attacker.libp2p.services.pubsub
      .publish(gossipTopicName(chainId, 'consensus'), random(5 * 1024 * 1024))
      .catch(() => {});

    // Sync garbage: bad requests through the framed protocol, then raw bytes on the stream.
    const syncGarbage: Uint8Array[] = [
      random(1),
      random(100),
      random(4 * 1024),
      random(64 * 1024), // over the 24 KiB request limit
      random(1024 * 1024),
      Uint8Array.of(1, 9), // unknown request kind
      encode((w) => w.u8(1).u8(2).varuint(1).varuint(1_000)), // count over the cap
      encode((w) => w.u8(1).u8(2).varuint(0).varuint(1)), // height 0
      encode((w) => w.u8(1).u8(1).u8(0)), // trailing byte
      encode((w) => w.u8(2).u8(1)), // unknown version
    ];
    for (const peerId of realPeerIds) {
      for (const request of syncGarbage) {
        await assert.rejects(
          attacker.requestSync(peerId, request, { timeoutMs: 15_000 }),
          `a bad sync request (${request.length} bytes) is refused`,
        );
      }
      // A request for blocks far beyond the tip is simply answered with none.
      const far = await attacker.requestSync(
        peerId,
        encodeSyncRequest({ kind: 'blocks', from: 2 ** 40, count: 32 }),
      );
      assert.deepEqual(far, []);
    }
    const protocol = syncProtocolName(chainId);
    const rawStreams = await mapLimit(realPeerIds, 4, async (peerId) => {
      const target = peerIdFromString(peerId);
      const raws = [
        Uint8Array.of(0x81, 0x00), // non-minimal length varint
        Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), // a 4 GiB frame announced
        Uint8Array.of(1, 1, 1, 1), // two frames
        random(10_000),
      ];
      for (const bytes of raws) {
        const stream = await attacker.libp2p.dialProtocol(target, protocol);
        stream.send(bytes);
        await stream.close().catch(() => {});
        await (async () => {
          for await (const _ of stream) {
          }
        })().catch(() => {});
      }
      // Streams opened and left silent: the validator must time them out, not hang on them.
      return Promise.all(
        Array.from({ length: 4 }, () => attacker.libp2p.dialProtocol(target, protocol)),
      );
    });
    // A burst of valid requests: over the per-peer cap they are answered BUSY, never queued.
    await Promise.allSettled(
      realPeerIds.flatMap((p) =>
        Array.from({ length: 8 }, () =>
          attacker.requestSync(p, encodeSyncRequest({ kind: 'blocks', from: 1, count: 32 })),
        ),
      ),
    );

    // Keep the noise up while the validators are expected to carry on.
    let noisy = true;
    const noise = (async () => {
      for (let k = 0; noisy; k++) {
        await attacker.publish(k % 2 === 0 ? 'txs' : 'consensus', random(1 + (k % 500)));
        await sleep(20);
      }
    })();
    t.after(async () => {
      noisy = false;
      await noise.catch(() => {});
    });

    // The four keep committing together; the gossiped transfer and one a client submits
    // (its successor, so it commits only after the gossiped one) both commit.
    const { height: afterBarrage } = (await network.status(0))!;
    await network.waitForHeight(REAL, afterBarrage + 5, 60_000);
    const client = new CivitasClient(network.summary.nodes[2]!.rpc);
    const committed = await submitAndWait(network, 2, client, nextTx, 60_000);
    assert.equal(committed.status, 'committed');
    assert.equal(committed.receipt?.status, 'ok');
    for (const i of REAL) {
      const res = await network.get<{ status: string }>(i, `/txs/${realTx.hash}`);
      assert.equal(res?.body.status, 'committed', `node${i}: the gossiped transfer committed`);
    }
    noisy = false;
    await noise;
    for (const s of rawStreams.flat()) s.abort(new Error('done'));

    // Nothing of the garbage was admitted; every node still answers and agrees.
    const top = Math.min(...(await network.heights(REAL)));
    const statuses = await network.statuses(REAL);
    for (const s of statuses) {
      assert.equal(s.mempool.size, 0, `${s.moniker}: no garbage in the mempool`);
    }
    await network.assertSameChain(REAL, 1, top);
    network.assertAlive(REAL);
    for (const i of REAL) {
      assert.deepEqual(await network.logLines(i, 'error'), [], `node${i} logged no errors`);
    }
    t.diagnostic(
      `barrage at height ${tip}: ${txGarbage.length} tx and ${consensusGarbage.length} consensus ` +
        `messages, ${syncGarbage.length * 4} bad sync requests; chain went on to ${top}`,
    );
  });
});
