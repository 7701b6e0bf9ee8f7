/** P2P options, their defaults and the checks applied before anything is started. */
import { CivitasError } from '../errors/index.ts';
import type { LinkFaultMap } from './link-faults.ts';
import { isValidChainId } from './topics.ts';

export interface P2POptions {
  chainId: string;
  /** The validator's 32-byte ed25519 seed; it is also the libp2p identity. */
  secretKey: Uint8Array;
  /** Multiaddrs to listen on; default `/ip4/127.0.0.1/tcp/0`. */
  listen?: string[];
  /** Multiaddrs of members to dial and keep dialled, each ending in `/p2p/<peerId>`. */
  bootstrap?: string[];
  /** Validator public keys allowed to connect (the allow-list). */
  members: Uint8Array[];
  /**
   * Optional 32-byte pre-shared key (libp2p pnet). It isolates the network, so strangers
   * cannot even finish a handshake, but it is NOT authentication: anyone holding the key is
   * still refused by the membership gater unless their key is a member.
   */
  psk?: Uint8Array;
  maxTxMessageBytes?: number;
  maxConsensusMessageBytes?: number;
  /** Deadline for one sync request, end to end (dial, request, all response frames). */
  syncTimeoutMs?: number;
  maxSyncRequestBytes?: number;
  maxSyncResponseFrameBytes?: number;
  maxSyncResponseFrames?: number;
  maxSyncResponseBytes?: number;
  maxInboundSyncPerPeer?: number;
  maxInboundSyncTotal?: number;
  /** First redial delay after a failed dial; doubles per failure up to maxRedialBackoffMs. */
  redialBaseMs?: number;
  maxRedialBackoffMs?: number;
  /** Deadline for one dial (handshakes included); a peer with the wrong psk may hang until it. */
  dialTimeoutMs?: number;
  gossipHeartbeatMs?: number;
  /**
   * How often to look for members whose gossip stream died while the connection stayed up
   * (they are reconnected); a connection younger than 2.5 intervals is left alone.
   */
  gossipWatchdogMs?: number;
  /** How long a gossip message id is remembered; identical bytes re-published within it are not re-sent. */
  gossipSeenTtlMs?: number;
  linkFaults?: LinkFaultMap;
  /** Let libp2p's own debug logger (DEBUG=libp2p*) print; silent otherwise. */
  libp2pDebugLogs?: boolean;
}

export interface ResolvedP2POptions {
  chainId: string;
  secretKey: Uint8Array;
  listen: string[];
  bootstrap: string[];
  members: Uint8Array[];
  psk: Uint8Array | undefined;
  maxTxMessageBytes: number;
  maxConsensusMessageBytes: number;
  syncTimeoutMs: number;
  maxSyncRequestBytes: number;
  maxSyncResponseFrameBytes: number;
  maxSyncResponseFrames: number;
  maxSyncResponseBytes: number;
  maxInboundSyncPerPeer: number;
  maxInboundSyncTotal: number;
  redialBaseMs: number;
  maxRedialBackoffMs: number;
  dialTimeoutMs: number;
  gossipHeartbeatMs: number;
  gossipWatchdogMs: number;
  gossipSeenTtlMs: number;
  linkFaults: LinkFaultMap;
  libp2pDebugLogs: boolean;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * gossipsub (v17) length-prefixes each outgoing RPC with it-length-prefixed's default 4 MiB
 * cap, so a larger RPC is never sent. One message plus its envelope and any piggybacked
 * control messages must fit: 256 KiB is kept for those.
 */
export const GOSSIPSUB_RPC_LIMIT_BYTES = 4 * MiB;
export const MAX_GOSSIP_MESSAGE_BYTES = GOSSIPSUB_RPC_LIMIT_BYTES - 256 * KiB;

export const P2P_DEFAULTS = {
  listen: ['/ip4/127.0.0.1/tcp/0'],
  maxTxMessageBytes: 64 * KiB,
  maxConsensusMessageBytes: MAX_GOSSIP_MESSAGE_BYTES,
  syncTimeoutMs: 10_000,
  maxSyncRequestBytes: 24 * KiB,
  maxSyncResponseFrameBytes: 16 * MiB,
  maxSyncResponseFrames: 256,
  maxSyncResponseBytes: 64 * MiB,
  maxInboundSyncPerPeer: 2,
  maxInboundSyncTotal: 16,
  redialBaseMs: 500,
  maxRedialBackoffMs: 30_000,
  dialTimeoutMs: 10_000,
  gossipHeartbeatMs: 500,
  gossipWatchdogMs: 2_000,
  gossipSeenTtlMs: 120_000,
} as const;

/** Frames and messages are capped well below 2^31 so lengths stay exact small integers. */
const HARD_MAX_BYTES = 1024 * MiB;

function positiveInt(name: string, value: number | undefined, fallback: number, max: number) {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1 || v > max) {
    throw new CivitasError('P2P_BAD_CONFIG', `${name} must be an integer in [1, ${max}]`, {
      option: name,
      value: v,
    });
  }
  return v;
}

function stringList(name: string, value: string[] | undefined, fallback: readonly string[]) {
  const v = value ?? [...fallback];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new CivitasError('P2P_BAD_CONFIG', `${name} must be a list of multiaddr strings`, {
      option: name,
    });
  }
  return v;
}

export function resolveP2POptions(opts: P2POptions): ResolvedP2POptions {
  if (!isValidChainId(opts.chainId)) {
    throw new CivitasError(
      'P2P_BAD_CONFIG',
      'chainId must be 1-64 characters from [A-Za-z0-9._-] (it is part of topic names)',
      { option: 'chainId' },
    );
  }
  if (!Array.isArray(opts.members) || opts.members.some((k) => !(k instanceof Uint8Array))) {
    throw new CivitasError('P2P_BAD_CONFIG', 'members must be a list of public keys', {
      option: 'members',
    });
  }
  if (opts.psk !== undefined && (!(opts.psk instanceof Uint8Array) || opts.psk.length !== 32)) {
    throw new CivitasError('P2P_BAD_CONFIG', 'psk must be 32 bytes', { option: 'psk' });
  }
  const hour = 3_600_000;
  return {
    chainId: opts.chainId,
    secretKey: opts.secretKey,
    listen: stringList('listen', opts.listen, P2P_DEFAULTS.listen),
    bootstrap: stringList('bootstrap', opts.bootstrap, []),
    members: opts.members,
    psk: opts.psk,
    maxTxMessageBytes: positiveInt(
      'maxTxMessageBytes',
      opts.maxTxMessageBytes,
      P2P_DEFAULTS.maxTxMessageBytes,
      MAX_GOSSIP_MESSAGE_BYTES,
    ),
    maxConsensusMessageBytes: positiveInt(
      'maxConsensusMessageBytes',
      opts.maxConsensusMessageBytes,
      P2P_DEFAULTS.maxConsensusMessageBytes,
      MAX_GOSSIP_MESSAGE_BYTES,
    ),
    syncTimeoutMs: positiveInt(
      'syncTimeoutMs',
      opts.syncTimeoutMs,
      P2P_DEFAULTS.syncTimeoutMs,
      hour,
    ),
    maxSyncRequestBytes: positiveInt(
      'maxSyncRequestBytes',
      opts.maxSyncRequestBytes,
      P2P_DEFAULTS.maxSyncRequestBytes,
      HARD_MAX_BYTES,
    ),
    maxSyncResponseFrameBytes: positiveInt(
      'maxSyncResponseFrameBytes',
      opts.maxSyncResponseFrameBytes,
      P2P_DEFAULTS.maxSyncResponseFrameBytes,
      HARD_MAX_BYTES,
    ),
    maxSyncResponseFrames: positiveInt(
      'maxSyncResponseFrames',
      opts.maxSyncResponseFrames,
      P2P_DEFAULTS.maxSyncResponseFrames,
      1_000_000,
    ),
    maxSyncResponseBytes: positiveInt(
      'maxSyncResponseBytes',
      opts.maxSyncResponseBytes,
      P2P_DEFAULTS.maxSyncResponseBytes,
      4 * HARD_MAX_BYTES,
    ),
    maxInboundSyncPerPeer: positiveInt(
      'maxInboundSyncPerPeer',
      opts.maxInboundSyncPerPeer,
      P2P_DEFAULTS.maxInboundSyncPerPeer,
      1024,
    ),
    maxInboundSyncTotal: positiveInt(
      'maxInboundSyncTotal',
      opts.maxInboundSyncTotal,
      P2P_DEFAULTS.maxInboundSyncTotal,
      65_536,
    ),
    redialBaseMs: positiveInt('redialBaseMs', opts.redialBaseMs, P2P_DEFAULTS.redialBaseMs, hour),
    maxRedialBackoffMs: positiveInt(
      'maxRedialBackoffMs',
      opts.maxRedialBackoffMs,
      P2P_DEFAULTS.maxRedialBackoffMs,
      hour,
    ),
    dialTimeoutMs: positiveInt(
      'dialTimeoutMs',
      opts.dialTimeoutMs,
      P2P_DEFAULTS.dialTimeoutMs,
      hour,
    ),
    gossipHeartbeatMs: positiveInt(
      'gossipHeartbeatMs',
      opts.gossipHeartbeatMs,
      P2P_DEFAULTS.gossipHeartbeatMs,
      60_000,
    ),
    gossipWatchdogMs: positiveInt(
      'gossipWatchdogMs',
      opts.gossipWatchdogMs,
      P2P_DEFAULTS.gossipWatchdogMs,
      hour,
    ),
    gossipSeenTtlMs: positiveInt(
      'gossipSeenTtlMs',
      opts.gossipSeenTtlMs,
      P2P_DEFAULTS.gossipSeenTtlMs,
      24 * hour,
    ),
    linkFaults: opts.linkFaults ?? {},
    libp2pDebugLogs: opts.libp2pDebugLogs === true,
  };
}
