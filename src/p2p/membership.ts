/**
 * The member set (validator public keys, mutable by governance) and the connection gater that
 * enforces it. The gater refuses a non-member at the earliest point its peer id is known: before
 * dialling (the id is in the dial target) and right after the Noise handshake for inbound
 * connections (the handshake is what proves the remote id), before any protocol runs.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { peerIdFromValidatorKey } from './identity.ts';

export class MemberSet {
  readonly #keys = new Map<string, Uint8Array>();

  constructor(publicKeys: Iterable<Uint8Array> = []) {
    this.replace(publicKeys);
  }

  /** Replaces the whole set; returns the peer ids that were removed. */
  replace(publicKeys: Iterable<Uint8Array>): string[] {
    const next = new Map<string, Uint8Array>();
    for (const key of publicKeys) next.set(peerIdFromValidatorKey(key), new Uint8Array(key));
    const removed = [...this.#keys.keys()].filter((id) => !next.has(id));
    this.#keys.clear();
    for (const [id, key] of next) this.#keys.set(id, key);
    return removed;
  }

  has(peerId: string): boolean {
    return this.#keys.has(peerId);
  }

  publicKey(peerId: string): Uint8Array | undefined {
    return this.#keys.get(peerId);
  }

  peerIds(): string[] {
    return [...this.#keys.keys()];
  }

  get size(): number {
    return this.#keys.size;
  }
}

/** The peer id named by a multiaddr's `/p2p/<id>` component, if any. */
export function peerIdOfMultiaddr(address: Multiaddr): string | undefined {
  for (const component of address.getComponents()) {
    if (component.name === 'p2p' && component.value !== undefined) return component.value;
  }
  return undefined;
}

export interface GaterPolicy {
  isMember(peerId: string): boolean;
  /** A link cut by fault injection is refused like a non-member. */
  isBlocked(peerId: string): boolean;
}

export interface GaterCounters {
  /** Outbound dials or connections refused (non-member or blocked target). */
  deniedOutbound: number;
  /** Inbound connections refused once the handshake revealed the remote peer. */
  deniedInbound: number;
}

export function membershipGater(
  policy: GaterPolicy,
  counters: GaterCounters = { deniedOutbound: 0, deniedInbound: 0 },
): ConnectionGater {
  const refused = (id: string): boolean => !policy.isMember(id) || policy.isBlocked(id);
  const denyOutbound = (peer: PeerId): boolean => {
    const deny = refused(peer.toString());
    if (deny) counters.deniedOutbound++;
    return deny;
  };
  const denyInbound = (peer: PeerId): boolean => {
    const deny = refused(peer.toString());
    if (deny) counters.deniedInbound++;
    return deny;
  };
  return {
    denyDialPeer: denyOutbound,
    // Addresses without /p2p/ cannot be judged yet; the encrypted-connection hooks catch them.
    denyDialMultiaddr: (address) => {
      const id = peerIdOfMultiaddr(address);
      const deny = id !== undefined && refused(id);
      if (deny) counters.deniedOutbound++;
      return deny;
    },
    denyInboundEncryptedConnection: denyInbound,
    denyOutboundEncryptedConnection: denyOutbound,
    // Re-checked after muxing: the member set may have shrunk during the upgrade.
    denyInboundUpgradedConnection: denyInbound,
    denyOutboundUpgradedConnection: denyOutbound,
    denyInboundRelayReservation: () => true,
    denyOutboundRelayedConnection: () => true,
    denyInboundRelayedConnection: () => true,
    filterMultiaddrForPeer: (peer) => policy.isMember(peer.toString()),
  };
}
