/**
 * gossipsub (v17) opens one outbound stream per peer when the connection opens and never
 * reopens it: if that stream is reset (write-buffer overflow, a muxer error) while the
 * connection stays up, the peer silently stops receiving our gossip. This check finds such
 * "deaf" peers so the node can drop the connection; the peer keeper then redials and a fresh
 * connection gets a fresh stream.
 */
import type { Connection } from '@libp2p/interface';

/** Peers whose every open connection is older than `graceMs` and carries no writable gossip stream. */
export function findDeafGossipPeers(
  connections: readonly Connection[],
  gossipProtocols: readonly string[],
  now: number,
  graceMs: number,
): string[] {
  const byPeer = new Map<string, { young: boolean; writable: boolean }>();
  for (const connection of connections) {
    if (connection.status !== 'open') continue;
    const peerId = connection.remotePeer.toString();
    const state = byPeer.get(peerId) ?? { young: false, writable: false };
    if (now - connection.timeline.open < graceMs) state.young = true;
    if (
      connection.streams.some(
        (s) =>
          s.direction === 'outbound' &&
          gossipProtocols.includes(s.protocol) &&
          s.status === 'open' &&
          s.writeStatus === 'writable',
      )
    ) {
      state.writable = true;
    }
    byPeer.set(peerId, state);
  }
  return [...byPeer].filter(([, s]) => !s.young && !s.writable).map(([peerId]) => peerId);
}
