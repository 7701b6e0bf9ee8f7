/**
 * Peers that answer the sync protocol in process: each a real BlockSync serving its chain and
 * snapshots (or a real ledger's), reached through a stand-in network whose requests arrive in
 * a later turn.
 */
import {
  BlockSync,
  type SnapshotSource,
  type SyncChain,
  type SyncNetwork,
} from '../../src/node/block-sync.ts';
import { silentLogger } from '../../src/node/logger.ts';
import { stateSyncSource } from '../../src/node/state-sync.ts';
import { Ledger } from '../../src/state/ledger.ts';

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

/**
 * Real ledgers as sync peers, by name: each serves its blocks and certificates (kind 2) and,
 * through stateSyncSource, its snapshots, validator changes and tx hashes; a peer given as
 * `{ ledger, snapshots }` serves `snapshots` instead (an attacker rewriting some answers).
 */
export function ledgerSyncServers(
  peers: Record<string, Ledger | { ledger: Ledger; snapshots: SnapshotSource }>,
): Pick<SyncNetwork, 'requestSync'> {
  const served = Object.entries(peers).map(([name, peer]) => {
    const { ledger, snapshots } =
      peer instanceof Ledger ? { ledger: peer, snapshots: stateSyncSource(peer) } : peer;
    const chain: SyncChain = {
      height: () => ledger.height,
      blockBytes: (h) => ledger.store.getBlockBytes(h),
      certificateBytes: (h) => ledger.store.getCertificateBytes(h),
      commitSynced: async () => ({ blocks: 0 }),
    };
    return [name, { chain, snapshots }] as const;
  });
  return syncServers(
    Object.fromEntries(served),
    () => new Promise((resolve) => setImmediate(resolve)),
  );
}
