/**
 * State sync at node start (`state.sync`, or `node start --state-sync` for one start;
 * docs/STATE-SYNC.md): before the ledger opens, a node whose database holds no block (or an
 * import that did not finish) brings up a p2p host of its own, waits for members to connect,
 * joins from their newest snapshot (state-sync.ts) and stops the host; the node then starts
 * as usual at height S and block sync goes on from S+1. A database with blocks is left alone
 * (the node catches up by block sync, as without it).
 */
import type { Genesis } from '../chain/index.ts';
import { verifyNative } from '../crypto/ed25519.ts';
import { P2PNode } from '../p2p/index.ts';
import { ChainStore } from '../state/store.ts';
import type { Logger } from './logger.ts';
import { type StateSyncResult, stateSync } from './state-sync.ts';
import { stateSyncMembers } from './state-sync-members.ts';

export interface StateSyncStartOptions {
  readonly dataDir: string;
  readonly genesis: Genesis;
  readonly secretKey: Uint8Array;
  readonly listen: readonly string[];
  readonly bootstrap: readonly string[];
  readonly psk?: Uint8Array | undefined;
  /** How long to wait for a first member to connect (default 60 s). */
  readonly waitForPeersMs?: number;
  /** Attempts (each with every connected member) before giving up (default 5). */
  readonly attempts?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs state sync into `dataDir` if it holds no block; undefined when it was not needed. */
export async function joinByStateSync(
  opts: StateSyncStartOptions,
  log: Logger,
): Promise<StateSyncResult | undefined> {
  const store = await ChainStore.open(opts.dataDir);
  try {
    const height = await store.height();
    if ((await store.importMarker()) === undefined && height !== undefined && height > 0) {
      log.info('state sync not needed: the database holds blocks', { height });
      return undefined;
    }
    const p2p = await P2PNode.create(
      {
        chainId: opts.genesis.chainId,
        secretKey: opts.secretKey,
        listen: [...opts.listen],
        bootstrap: [...opts.bootstrap],
        members: stateSyncMembers(opts.genesis, opts.bootstrap),
        psk: opts.psk,
      },
      { logger: log.child('p2p') },
    );
    await p2p.start();
    try {
      let lastError: unknown;
      for (let attempt = 1; attempt <= (opts.attempts ?? 5); attempt++) {
        const deadline = Date.now() + (opts.waitForPeersMs ?? 60_000);
        let peers = p2p.connectedPeers().filter((p) => p2p.isMember(p));
        while (peers.length === 0 && Date.now() < deadline) {
          await sleep(200);
          peers = p2p.connectedPeers().filter((p) => p2p.isMember(p));
        }
        await sleep(1_000); // let the other members connect too
        peers = p2p.connectedPeers().filter((p) => p2p.isMember(p));
        log.info('state sync: asking members for snapshots', { peers: peers.length, attempt });
        try {
          const result = await stateSync({ p2p, store, check: verifyNative }, opts.genesis, peers, {
            timeoutMs: 30_000,
          });
          log.info('joined by state sync', {
            height: result.height,
            bytes: result.bytes,
            chunks: result.chunks,
            ms: Math.round(result.ms),
          });
          return result;
        } catch (err) {
          lastError = err;
          log.warn('state sync attempt failed', { attempt, err: (err as Error).message });
          await sleep(2_000);
        }
      }
      throw lastError;
    } finally {
      await p2p.stop();
    }
  } finally {
    await store.close();
  }
}
