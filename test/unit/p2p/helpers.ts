/** Shared helpers for the p2p tests: real libp2p nodes on 127.0.0.1 with ephemeral ports. */
import type { TestContext } from 'node:test';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import type { Libp2p } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { generateKeyPair, type KeyPair } from '../../../src/crypto/index.ts';
import { type GossipTopic, P2PNode, type P2POptions } from '../../../src/p2p/index.ts';

export const CHAIN_ID = 'civitas-test';

export function keyPairs(n: number): KeyPair[] {
  return Array.from({ length: n }, () => generateKeyPair());
}

/** Polls until `check` is truthy; fails with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

type NodeOverrides = Partial<Omit<P2POptions, 'secretKey' | 'members' | 'chainId'>> & {
  members?: Uint8Array[];
};

/** Creates and starts a node; it is stopped when the test ends. */
export async function startNode(
  t: TestContext,
  key: KeyPair,
  members: Uint8Array[],
  overrides: NodeOverrides = {},
): Promise<P2PNode> {
  const node = await P2PNode.create({
    chainId: CHAIN_ID,
    secretKey: key.secretKey,
    members,
    redialBaseMs: 100,
    maxRedialBackoffMs: 1_000,
    gossipHeartbeatMs: 200,
    gossipWatchdogMs: 400,
    ...overrides,
  });
  t.after(() => node.stop());
  await node.start();
  return node;
}

/**
 * Starts one node per key, each bootstrapping from the ones started before it, and waits
 * until every node sees every other as a subscriber of both topics.
 */
export async function startCluster(
  t: TestContext,
  keys: KeyPair[],
  overrides: NodeOverrides = {},
): Promise<P2PNode[]> {
  const members = overrides.members ?? keys.map((k) => k.publicKey);
  const nodes: P2PNode[] = [];
  for (const key of keys) {
    const bootstrap = nodes.flatMap((n) => n.multiaddrs());
    nodes.push(await startNode(t, key, members, { ...overrides, bootstrap }));
  }
  await waitForMesh(nodes);
  return nodes;
}

export async function waitForMesh(nodes: P2PNode[], topics: GossipTopic[] = ['txs', 'consensus']) {
  await waitFor(
    () =>
      nodes.every((node) =>
        topics.every((topic) => {
          const peers = new Set(node.gossipPeers(topic));
          return nodes.every((other) => other === node || peers.has(other.peerId));
        }),
      ),
    'every node to see every other subscribed',
  );
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/**
 * A bare libp2p host with a member's key but none of the P2PNode's rules: it plays a faulty or
 * malicious member that speaks raw bytes on the sync protocol.
 */
export async function startRawHost(t: TestContext, key: KeyPair): Promise<Libp2p> {
  const host = await createLibp2p({
    privateKey: await generateKeyPairFromSeed('Ed25519', key.secretKey),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    logger: silentLogger,
  });
  t.after(() => host.stop());
  return host;
}

const quiet = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: () => quiet,
});
const silentLogger = { forComponent: () => quiet };

export { multiaddr };
