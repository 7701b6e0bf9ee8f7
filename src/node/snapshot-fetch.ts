/**
 * The fetching side of state sync (docs/STATE-SYNC.md): asks peers which state snapshots they
 * serve (sync kind 5), and fetches the chunks of one into a SnapshotImport (kind 6) from
 * several peers at once. Every chunk is checked on arrival against the verified manifest
 * (SnapshotImport.addChunk); a peer that sends a bad chunk, none, or fails is not asked again
 * and the chunk goes to another peer. What is trusted is only the manifest's root, which the
 * caller has checked against a certified header: peers can waste time, never plant state.
 */
import { CivitasError, codeOf } from '../errors/index.ts';
import { decodeManifest, type SnapshotManifest } from '../state/snapshot.ts';
import type { SnapshotImport } from '../state/snapshot-import.ts';
import { encodeSyncRequest, type SyncNetwork } from './block-sync.ts';

export interface SnapshotOffer {
  readonly peer: string;
  readonly manifest: SnapshotManifest;
  /** The manifest's bytes as the peer sent them. */
  readonly size: number;
}

/**
 * The newest snapshot at or below `atOrBelow` (0: any) each peer serves; peers with none, or
 * with a manifest that does not decode, are left out. Highest first.
 */
export async function snapshotOffers(
  p2p: Pick<SyncNetwork, 'requestSync'>,
  peers: readonly string[],
  opts: { timeoutMs: number; atOrBelow?: number },
): Promise<SnapshotOffer[]> {
  const request = encodeSyncRequest({ kind: 'snapshot', atOrBelow: opts.atOrBelow ?? 0 });
  const answers = await Promise.all(
    peers.map(async (peer): Promise<SnapshotOffer | undefined> => {
      try {
        const [frame] = await p2p.requestSync(peer, request, { timeoutMs: opts.timeoutMs });
        if (frame === undefined) return undefined;
        return { peer, manifest: decodeManifest(frame), size: frame.length };
      } catch {
        return undefined;
      }
    }),
  );
  return answers
    .filter((a): a is SnapshotOffer => a !== undefined)
    .sort((a, b) => b.manifest.height - a.manifest.height);
}

/** BUSY answers tolerated over a whole fetch before a busy peer counts as failing. */
const MAX_BUSY_RETRIES = 1_000;

export interface ChunkFetchStats {
  /** Bytes of chunks received, the refused ones included. */
  bytes: number;
  /** Chunks refused (bad, missing, failed requests). */
  refused: number;
  /** Peers no longer asked, with the code of what they did. */
  dropped: Array<{ peer: string; code: string | undefined }>;
}

/**
 * Fetches every chunk `importing` still misses, `parallel` at a time, each from a peer that
 * has not failed yet (round robin), into `importing`. Throws SNAPSHOT_BAD_CHUNK when no peer
 * is left to ask for a chunk.
 */
export async function fetchSnapshotChunks(
  p2p: Pick<SyncNetwork, 'requestSync'>,
  peers: readonly string[],
  importing: Pick<SnapshotImport, 'missing' | 'addChunk'>,
  opts: { height: number; timeoutMs: number; parallel?: number },
): Promise<ChunkFetchStats> {
  const stats: ChunkFetchStats = { bytes: 0, refused: 0, dropped: [] };
  const good = [...peers];
  const queue = importing.missing();
  let turn = 0;
  let busy = 0;
  const drop = (peer: string, err: unknown): void => {
    const at = good.indexOf(peer);
    if (at !== -1) {
      good.splice(at, 1);
      stats.dropped.push({ peer, code: codeOf(err) });
    }
  };
  const worker = async (): Promise<void> => {
    for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
      for (;;) {
        if (good.length === 0) {
          throw new CivitasError(
            'SNAPSHOT_BAD_CHUNK',
            `no peer left to ask for chunk ${index} of the snapshot of ${opts.height}`,
            { index },
          );
        }
        const peer = good[turn++ % good.length]!;
        let frame: Uint8Array | undefined;
        try {
          [frame] = await p2p.requestSync(
            peer,
            encodeSyncRequest({ kind: 'chunk', height: opts.height, index }),
            { timeoutMs: opts.timeoutMs },
          );
        } catch (err) {
          // A busy peer (it serves two requests per peer at a time) is asked again shortly.
          if (codeOf(err) === 'P2P_SYNC_REMOTE_BUSY' && busy++ < MAX_BUSY_RETRIES) {
            await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
            continue;
          }
          stats.refused++;
          drop(peer, err);
          continue;
        }
        if (frame === undefined) {
          stats.refused++;
          drop(peer, new CivitasError('SNAPSHOT_NOT_FOUND', `peer has no chunk ${index}`));
          continue;
        }
        stats.bytes += frame.length;
        try {
          await importing.addChunk(index, frame);
          break;
        } catch (err) {
          // A bad chunk is the peer's doing; any other failure (the store) is ours: stop.
          if (codeOf(err) !== 'SNAPSHOT_BAD_CHUNK') throw err;
          stats.refused++;
          drop(peer, err);
        }
      }
    }
  };
  // Two requests in flight per peer: what a peer serves to one asker at a time.
  const parallel = Math.max(1, opts.parallel ?? Math.min(8, 2 * peers.length));
  await Promise.all(Array.from({ length: parallel }, worker));
  return stats;
}
