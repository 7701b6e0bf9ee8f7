/**
 * The p2p host: libp2p (TCP + Noise + Yamux, identify, ping, gossipsub) whose identity is the
 * validator key, gated to the member set, with the gossip topics, the sync protocol, the
 * member keeper and the fault-injection hooks wired together. It moves opaque bytes; the
 * node injects validation and handling as callbacks.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { type GossipSub, gossipsub, StrictNoSign } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';
import { toHex, utf8 } from '../crypto/index.ts';
import { CivitasError, isCivitasError } from '../errors/index.ts';
import {
  type GossipHandler,
  GossipRouter,
  type GossipValidator,
  gossipMessageId,
  type TopicCounters,
} from './gossip.ts';
import { findDeafGossipPeers } from './gossip-watchdog.ts';
import { libp2pKeyFromSeed } from './identity.ts';
import { type LinkFault, type LinkFaultMap, LinkFaults } from './link-faults.ts';
import { listenError, listenFailures } from './listen-error.ts';
import { type Logger, noopLogger, silentLibp2pLogger } from './logger.ts';
import { type GaterCounters, MemberSet, membershipGater } from './membership.ts';
import {
  GOSSIPSUB_RPC_LIMIT_BYTES,
  type P2POptions,
  type ResolvedP2POptions,
  resolveP2POptions,
} from './options.ts';
import { type DialCounters, PeerKeeper } from './peer-keeper.ts';
import { PeerLog } from './peer-log.ts';
import { type SyncCounters, type SyncHandler, SyncService } from './sync-protocol.ts';
import { type GossipTopic, syncProtocolName } from './topics.ts';

type Services = { identify: unknown; ping: unknown; pubsub: GossipSub };

export interface P2PStats {
  peerId: string;
  connectedPeers: number;
  members: number;
  gossip: Record<GossipTopic, TopicCounters>;
  sync: SyncCounters;
  dials: DialCounters;
  gater: GaterCounters;
  /** Connections dropped (and redialled) because their gossip stream had died. */
  gossipLinkRepairs: number;
  linkFaults: Record<string, LinkFault>;
}

/** Bounded so a stalled peer cannot grow our memory; large enough for bursts of messages. */
const GOSSIP_OUTBOUND_BUFFER_BYTES = 32 * 1024 * 1024;
const KEEPER_TICK_MS = 250;
/** A node with members to reach and no peer for this long says so in its log. */
const NO_PEERS_WARN_MS = 30_000;
/** A new connection gets its gossip stream within this many watchdog intervals, or is deaf. */
const GOSSIP_STREAM_GRACE_INTERVALS = 2.5;

/** libp2p pnet expects the go-ipfs swarm key file format, not raw bytes. */
function swarmKey(psk: Uint8Array): Uint8Array {
  return utf8.encode(`/key/swarm/psk/1.0.0/\n/base16/\n${toHex(psk)}`);
}

function memberKeyOf(peerId: string, members: MemberSet): Uint8Array {
  const key = members.publicKey(peerId);
  if (key === undefined) {
    throw new CivitasError('P2P_NOT_MEMBER', 'peer is not a member', { peerId });
  }
  return key;
}

export class P2PNode {
  readonly peerId: string;
  readonly #opts: ResolvedP2POptions;
  readonly #libp2p: Libp2p<Services>;
  readonly #members: MemberSet;
  readonly #faults: LinkFaults;
  readonly #gossip: GossipRouter;
  readonly #sync: SyncService;
  readonly #keeper: PeerKeeper;
  readonly #peerLog: PeerLog;
  readonly #logger: Logger;
  readonly #gaterCounters: GaterCounters;
  #started = false;
  #watchdog: NodeJS.Timeout | undefined;
  #gossipRepairs = 0;

  private constructor(parts: {
    opts: ResolvedP2POptions;
    libp2p: Libp2p<Services>;
    members: MemberSet;
    faults: LinkFaults;
    gossip: GossipRouter;
    sync: SyncService;
    logger: Logger;
    gaterCounters: GaterCounters;
  }) {
    this.#gaterCounters = parts.gaterCounters;
    this.#opts = parts.opts;
    this.#libp2p = parts.libp2p;
    this.#members = parts.members;
    this.#faults = parts.faults;
    this.#gossip = parts.gossip;
    this.#sync = parts.sync;
    this.#logger = parts.logger;
    this.peerId = parts.libp2p.peerId.toString();
    this.#keeper = new PeerKeeper(
      {
        baseBackoffMs: parts.opts.redialBaseMs,
        maxBackoffMs: parts.opts.maxRedialBackoffMs,
        tickMs: KEEPER_TICK_MS,
      },
      {
        selfId: this.peerId,
        members: () => this.#members.peerIds(),
        isBlocked: (id) => this.#faults.isBlocked(id),
        isConnected: (id) => this.#isConnected(id),
        knownAddresses: async (id) => {
          const peer = await this.#libp2p.peerStore.get(peerIdFromString(id));
          return peer.addresses.map((a) => a.multiaddr);
        },
        dial: async (addresses) => {
          await this.#libp2p.dial(addresses);
        },
        logger: parts.logger,
      },
    );
    this.#keeper.addBootstrap(parts.opts.bootstrap);
    this.#peerLog = new PeerLog(
      { lonelyAfterMs: NO_PEERS_WARN_MS, checkEveryMs: 5_000 },
      {
        logger: parts.logger,
        connectedPeers: () => this.connectedPeers().length,
        otherMembers: () => this.#members.peerIds().filter((id) => id !== this.peerId).length,
        isMember: (id) => this.#members.has(id),
      },
    );
    this.#libp2p.addEventListener('peer:connect', (e) =>
      this.#peerLog.connected(e.detail.toString()),
    );
    this.#libp2p.addEventListener('peer:disconnect', (e) =>
      this.#peerLog.disconnected(e.detail.toString()),
    );
  }

  static async create(options: P2POptions, deps: { logger?: Logger } = {}): Promise<P2PNode> {
    const opts = resolveP2POptions(options);
    const logger = deps.logger ?? noopLogger;
    const privateKey: PrivateKey = await libp2pKeyFromSeed(opts.secretKey);
    const members = new MemberSet(opts.members);
    const faults = new LinkFaults();
    faults.set(opts.linkFaults);
    const gossip = new GossipRouter(opts, { members, faults, logger });
    const sync = new SyncService(
      {
        timeoutMs: opts.syncTimeoutMs,
        maxRequestBytes: opts.maxSyncRequestBytes,
        maxResponseFrameBytes: opts.maxSyncResponseFrameBytes,
        maxResponseFrames: opts.maxSyncResponseFrames,
        maxResponseBytes: opts.maxSyncResponseBytes,
        maxInboundPerPeer: opts.maxInboundSyncPerPeer,
        maxInboundTotal: opts.maxInboundSyncTotal,
      },
      { members, logger },
    );
    const memberCount = Math.max(members.size, 1);
    const gaterCounters: GaterCounters = { deniedOutbound: 0, deniedInbound: 0 };
    let libp2p: Libp2p<Services>;
    try {
      libp2p = await createLibp2p({
        start: false,
        privateKey,
        addresses: { listen: opts.listen },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        // pnet isolates the network (no handshake without the key); it is not authentication,
        // which is the gater's job.
        ...(opts.psk !== undefined
          ? { connectionProtector: preSharedKey({ psk: swarmKey(opts.psk) }) }
          : {}),
        connectionGater: membershipGater(
          { isMember: (id) => members.has(id), isBlocked: (id) => faults.isBlocked(id) },
          gaterCounters,
        ),
        connectionManager: {
          maxConnections: 4 * memberCount + 16,
          // Members on one host (devnets, benchmarks) all connect from one IP at start-up; the
          // default of 5 per second per host would refuse some of them.
          inboundConnectionThreshold: 2 * memberCount + 5,
          maxIncomingPendingConnections: 2 * memberCount + 10,
          dialTimeout: opts.dialTimeoutMs,
          addressDialTimeout: opts.dialTimeoutMs,
        },
        services: {
          identify: identify(),
          ping: ping(),
          pubsub: gossipsub({
            globalSignaturePolicy: StrictNoSign,
            msgIdFn: (message) => gossipMessageId(message.topic, message.data),
            emitSelf: false,
            allowPublishToZeroTopicPeers: true,
            ignoreDuplicatePublishError: true,
            fallbackToFloodsub: false,
            allowedTopics: gossip.topicNames(),
            // The RPC frame cap; each topic's own (smaller) limit is checked in validation.
            maxInboundDataLength: GOSSIPSUB_RPC_LIMIT_BYTES,
            maxOutboundBufferSize: GOSSIP_OUTBOUND_BUFFER_BYTES,
            // Consortium meshes are small (4-13 members): flood-publish sends each message
            // straight to every subscribed member, and the mesh (D=6) relays what a direct link
            // missed. A faster heartbeat forms the mesh soon after start-up.
            floodPublish: true,
            D: 6,
            Dlo: 3,
            Dhi: 12,
            Dout: 1,
            Dlazy: 6,
            heartbeatInterval: opts.gossipHeartbeatMs,
            seenTTL: opts.gossipSeenTtlMs,
            // Every peer is a gated member, usually several on one host: penalising shared
            // IPs would only stop honest members from gossiping.
            scoreParams: { IPColocationFactorWeight: 0 },
          }),
        },
        ...(opts.libp2pDebugLogs ? {} : { logger: silentLibp2pLogger }),
      });
    } catch (err) {
      throw new CivitasError('P2P_START_FAILED', `could not create the libp2p host: ${err}`);
    }
    gossip.attach(libp2p.services.pubsub);
    return new P2PNode({ opts, libp2p, members, faults, gossip, sync, logger, gaterCounters });
  }

  async start(): Promise<void> {
    if (this.#started) return;
    try {
      await this.#libp2p.start();
    } catch (err) {
      // A taken port is an operator's everyday mistake: one line, not libp2p's stacks.
      const failures = listenFailures(err);
      if (failures.length > 0) throw listenError(failures);
      throw new CivitasError('P2P_START_FAILED', `could not start libp2p: ${err}`, {
        listen: this.#opts.listen,
      });
    }
    await this.#libp2p.handle(syncProtocolName(this.#opts.chainId), this.#sync.handleInbound, {
      // Above the per-peer cap so an extra request is answered BUSY rather than reset.
      maxInboundStreams: this.#opts.maxInboundSyncPerPeer + 2,
      maxOutboundStreams: 64,
    });
    this.#gossip.subscribeAll();
    this.#started = true;
    this.#keeper.start();
    this.#watchdog = setInterval(() => this.#repairDeafGossipLinks(), this.#opts.gossipWatchdogMs);
    this.#watchdog.unref();
    this.#peerLog.start();
    this.#logger.info('p2p started', { peerId: this.peerId, listen: this.multiaddrs() });
  }

  async stop(): Promise<void> {
    this.#keeper.stop();
    this.#peerLog.stop();
    clearInterval(this.#watchdog);
    this.#gossip.detach();
    const wasStarted = this.#started;
    this.#started = false;
    // Also after a failed start, which may have left listeners open.
    await this.#libp2p.stop();
    if (wasStarted) this.#logger.info('p2p stopped', { peerId: this.peerId });
  }

  /** The libp2p host, for diagnostics and tests only: node code goes through this class. */
  get libp2p(): Libp2p<{ pubsub: GossipSub }> {
    return this.#libp2p;
  }

  /** Listening addresses, each ending in `/p2p/<peerId>`, ready for other nodes' bootstrap. */
  multiaddrs(): string[] {
    return this.#libp2p.getMultiaddrs().map((a) => a.toString());
  }

  /** Adds bootstrap addresses at runtime (e.g. learned after start); they are kept dialled. */
  addBootstrap(addresses: string[]): void {
    this.#keeper.addBootstrap(addresses);
  }

  /** Publishes to the topic; resolves to the number of peers it was sent to. */
  publish(topic: GossipTopic, data: Uint8Array): Promise<number> {
    return this.#gossip.publish(topic, data);
  }

  onGossip(topic: GossipTopic, validator: GossipValidator, handler: GossipHandler): void {
    this.#gossip.register(topic, validator, handler);
  }

  /** Members subscribed to the topic: the peers a publish reaches directly. */
  gossipPeers(topic: GossipTopic): string[] {
    return this.#gossip.topicPeers(topic);
  }

  onSyncRequest(handler: SyncHandler): void {
    this.#sync.setHandler(handler);
  }

  async requestSync(
    peerId: string,
    request: Uint8Array,
    opts: { timeoutMs?: number } = {},
  ): Promise<Uint8Array[]> {
    memberKeyOf(peerId, this.#members);
    if (!this.#started) throw new CivitasError('P2P_NOT_STARTED', 'the p2p node is not started');
    if (this.#faults.isBlocked(peerId)) {
      throw new CivitasError('P2P_LINK_BLOCKED', 'link to peer is blocked by fault injection', {
        peerId,
      });
    }
    const decision = this.#faults.decide(peerId);
    const target: PeerId = peerIdFromString(peerId);
    const open = async (signal: AbortSignal): Promise<Stream> => {
      try {
        return await this.#libp2p.dialProtocol(target, syncProtocolName(this.#opts.chainId), {
          signal,
        });
      } catch (err) {
        if (signal.aborted || isCivitasError(err)) throw err;
        throw new CivitasError('P2P_DIAL_FAILED', `could not open a sync stream: ${err}`, {
          peerId,
        });
      }
    };
    return this.#sync.request(peerId, request, open, {
      timeoutMs: opts.timeoutMs,
      lost: decision.kind === 'drop',
      delayMs: decision.kind === 'deliver' ? decision.delayMs : 0,
    });
  }

  connectedPeers(): string[] {
    return this.#libp2p.getPeers().map((id) => id.toString());
  }

  connectedMembers(): Uint8Array[] {
    const keys: Uint8Array[] = [];
    for (const id of this.connectedPeers()) {
      const key = this.#members.publicKey(id);
      if (key !== undefined) keys.push(key);
    }
    return keys;
  }

  isMember(peerId: string): boolean {
    return this.#members.has(peerId);
  }

  /** Replaces the member set; connections to removed members are closed. */
  async setMembers(publicKeys: Uint8Array[]): Promise<void> {
    const removed = this.#members.replace(publicKeys);
    await this.#hangUpAll(removed);
    this.#keeper.poke();
  }

  /** Replaces all link faults; newly blocked peers are disconnected at once. */
  async setLinkFaults(faults: LinkFaultMap): Promise<void> {
    const blocked = this.#faults.set(faults);
    await this.#hangUpAll(blocked);
    this.#keeper.poke();
  }

  stats(): P2PStats {
    return {
      peerId: this.peerId,
      connectedPeers: this.connectedPeers().length,
      members: this.#members.size,
      gossip: this.#gossip.counters(),
      sync: this.#sync.counters(),
      dials: this.#keeper.counters(),
      gater: { ...this.#gaterCounters },
      gossipLinkRepairs: this.#gossipRepairs,
      linkFaults: this.#faults.snapshot(),
    };
  }

  #repairDeafGossipLinks(): void {
    const deaf = findDeafGossipPeers(
      this.#libp2p.getConnections(),
      this.#libp2p.services.pubsub.protocols,
      Date.now(),
      GOSSIP_STREAM_GRACE_INTERVALS * this.#opts.gossipWatchdogMs,
    );
    if (deaf.length === 0) return;
    this.#gossipRepairs += deaf.length;
    this.#logger.warn('gossip stream to peer died; reconnecting', { peerIds: deaf });
    void this.#hangUpAll(deaf).then(() => this.#keeper.poke());
  }

  #isConnected(peerId: string): boolean {
    return this.#libp2p.getConnections(peerIdFromString(peerId)).some((c) => c.status === 'open');
  }

  async #hangUpAll(peerIds: string[]): Promise<void> {
    await Promise.all(
      peerIds.map(async (id) => {
        try {
          await this.#libp2p.hangUp(peerIdFromString(id));
        } catch (err) {
          this.#logger.debug('hang up failed', { peerId: id, error: String(err) });
        }
      }),
    );
  }
}
