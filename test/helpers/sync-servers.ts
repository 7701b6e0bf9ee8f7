/**
 * Peers that answer the sync protocol in process: each a real BlockSync serving its chain and
 * snapshots, reached through a stand-in network whose requests arrive in a later turn.
 */
import {
  BlockSync,
  type SnapshotSource,
  type SyncChain,
  type SyncNetwork,
} from '../../src/node/block-sync.ts';
import { silentLogger } from '../../src/node/logger.ts';

type Handler = Parameters<SyncNetwork['onSyncRequest']>[0];

/** A chain with no blocks to serve (a peer that only serves snapshots). */
export const NO_CHAIN: SyncChain = {
  height: () => 0,
  blockBytes: async () => undefined,
  certificateBytes: async () => undefined,
  commitSynced: async () => ({ blocks: 0 }),
};

/**
 * Peers by name, each serving `chain` and `snapshots`; a request reaches its peer after
 * `later()` resolves (a timer, or the next turn of the event loop).
 */
export function syncServers(
  peers: Record<string, { chain: SyncChain; snapshots: SnapshotSource }>,
  later: () => Promise<unknown>,
): Pick<SyncNetwork, 'requestSync'> {
  const handlers = new Map<string, Handler>();
  for (const [name, { chain, snapshots }] of Object.entries(peers)) {
    const side = {
      onSyncRequest: (h: Handler) => handlers.set(name, h),
      requestSync: () => Promise.reject(new Error('servers never ask')),
      connectedPeers: () => [],
      isMember: () => true,
    } as unknown as SyncNetwork;
    new BlockSync(
      { intervalMs: 1_000, requestTimeoutMs: 1_000 },
      { chain, p2p: side, logger: silentLogger },
    ).serve(undefined, snapshots);
  }
  return {
    requestSync: async (peer: string, request: Uint8Array) => {
      await later();
      return handlers.get(peer)!(request, { peerId: peer } as never);
    },
  } as Pick<SyncNetwork, 'requestSync'>;
}
