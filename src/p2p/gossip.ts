/**
 * Gossip on the per-chain topics. Messages carry their own signatures, so gossipsub runs with
 * StrictNoSign and content-hash message ids. Each topic has one validator, injected by the
 * node, run after the cheap checks here:
 *   0. link faults (simulated network: a dropped message never "arrived"),
 *   1. size: data.length <= the topic's limit (reject),
 *   2. the forwarding peer is a member (reject; the gater already refuses non-members, this
 *      catches a peer removed while its connection drains),
 *   3. the node's validator: accept | ignore | reject, mapped one-to-one to gossipsub's
 *      TopicValidatorResult. A validator that throws is a local bug, not the peer's fault:
 *      the message is ignored, not rejected.
 * Only accepted messages reach the topic's handler and are forwarded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { GossipSub, GossipsubMessage, Message } from '@libp2p/gossipsub';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import { concatBytes, sha256, utf8 } from '../crypto/index.ts';
import { CivitasError } from '../errors/index.ts';
import type { LinkFaults } from './link-faults.ts';
import type { Logger } from './logger.ts';
import type { MemberSet } from './membership.ts';
import { GOSSIP_TOPICS, type GossipTopic, gossipTopicName } from './topics.ts';

/** The peer a message or request came from: for gossip, the member that forwarded it. */
export interface PeerRef {
  peerId: string;
  publicKey: Uint8Array;
}

export type GossipVerdict = 'accept' | 'ignore' | 'reject';
export type GossipValidator = (
  data: Uint8Array,
  from: PeerRef,
) => GossipVerdict | Promise<GossipVerdict>;
export type GossipHandler = (data: Uint8Array, from: PeerRef) => void | Promise<void>;

export interface TopicCounters {
  published: number;
  accepted: number;
  ignored: number;
  rejected: number;
  /** Dropped by injected link faults before validation. */
  faultDropped: number;
  handlerErrors: number;
}

interface TopicState {
  readonly kind: GossipTopic;
  readonly name: string;
  readonly maxBytes: number;
  validator: GossipValidator | undefined;
  handler: GossipHandler | undefined;
  readonly counters: TopicCounters;
}

export interface GossipRouterOptions {
  chainId: string;
  maxTxMessageBytes: number;
  maxConsensusMessageBytes: number;
}

export interface GossipRouterDeps {
  members: MemberSet;
  faults: LinkFaults;
  logger: Logger;
}

/**
 * Message id = SHA-256(topic || 0x00 || data). The topic is included so a member cannot
 * censor a consensus message by first sending the same bytes on the tx topic (gossipsub marks
 * an id as seen before validating it).
 */
export function gossipMessageId(topic: string, data: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8.encode(topic), new Uint8Array([0]), data));
}

export class GossipRouter {
  readonly #topics = new Map<GossipTopic, TopicState>();
  readonly #byName = new Map<string, TopicState>();
  readonly #deps: GossipRouterDeps;
  #pubsub: GossipSub | undefined;
  #subscribed = false;

  constructor(opts: GossipRouterOptions, deps: GossipRouterDeps) {
    this.#deps = deps;
    for (const kind of GOSSIP_TOPICS) {
      const state: TopicState = {
        kind,
        name: gossipTopicName(opts.chainId, kind),
        maxBytes: kind === 'txs' ? opts.maxTxMessageBytes : opts.maxConsensusMessageBytes,
        validator: undefined,
        handler: undefined,
        counters: {
          published: 0,
          accepted: 0,
          ignored: 0,
          rejected: 0,
          faultDropped: 0,
          handlerErrors: 0,
        },
      };
      this.#topics.set(kind, state);
      this.#byName.set(state.name, state);
    }
  }

  topicNames(): string[] {
    return [...this.#byName.keys()];
  }

  register(topic: GossipTopic, validator: GossipValidator, handler: GossipHandler): void {
    const state = this.#state(topic);
    state.validator = validator;
    state.handler = handler;
  }

  attach(pubsub: GossipSub): void {
    this.#pubsub = pubsub;
    for (const state of this.#topics.values()) {
      pubsub.topicValidators.set(state.name, (peer, message) =>
        this.#validate(state, peer, message),
      );
    }
    pubsub.addEventListener('gossipsub:message', (event) => this.#deliver(event.detail));
  }

  /** Joins both topics; gossipsub accepts subscriptions only once started. */
  subscribeAll(): void {
    for (const name of this.#byName.keys()) this.#pubsub?.subscribe(name);
    this.#subscribed = true;
  }

  /** Called on stop: publishing needs a running gossipsub. */
  detach(): void {
    this.#subscribed = false;
  }

  async publish(topic: GossipTopic, data: Uint8Array): Promise<number> {
    const state = this.#state(topic);
    if (!(data instanceof Uint8Array)) {
      throw new CivitasError('P2P_BAD_MESSAGE', 'gossip data must be a Uint8Array');
    }
    if (data.length > state.maxBytes) {
      throw new CivitasError(
        'P2P_MESSAGE_TOO_LARGE',
        `a ${topic} message is at most ${state.maxBytes} bytes`,
        { topic, size: data.length, limit: state.maxBytes },
      );
    }
    if (this.#pubsub === undefined || !this.#subscribed) {
      throw new CivitasError('P2P_NOT_STARTED', 'the p2p node is not started');
    }
    try {
      const result = await this.#pubsub.publish(state.name, data);
      state.counters.published++;
      return result.recipients.length;
    } catch (err) {
      throw new CivitasError('P2P_PUBLISH_FAILED', `gossip publish failed: ${String(err)}`, {
        topic,
      });
    }
  }

  /** Members currently subscribed to `topic` (the peers a publish would reach). */
  topicPeers(topic: GossipTopic): string[] {
    if (this.#pubsub === undefined) return [];
    return this.#pubsub.getSubscribers(this.#state(topic).name).map((id) => id.toString());
  }

  counters(): Record<GossipTopic, TopicCounters> {
    const out = {} as Record<GossipTopic, TopicCounters>;
    for (const [kind, state] of this.#topics) out[kind] = { ...state.counters };
    return out;
  }

  #state(topic: GossipTopic): TopicState {
    const state = this.#topics.get(topic);
    if (state === undefined) {
      throw new CivitasError('P2P_UNKNOWN_TOPIC', `unknown gossip topic ${String(topic)}`);
    }
    return state;
  }

  async #validate(
    state: TopicState,
    peer: PeerId,
    message: Message,
  ): Promise<TopicValidatorResult> {
    const counters = state.counters;
    const peerId = peer.toString();
    const decision = this.#deps.faults.decide(peerId);
    if (decision.kind === 'drop') {
      counters.faultDropped++;
      return TopicValidatorResult.Ignore;
    }
    if (decision.delayMs > 0) await sleep(decision.delayMs, undefined, { ref: false });

    // Rule 1: size within the topic's limit, before any decoding.
    if (message.data.length > state.maxBytes) {
      counters.rejected++;
      return TopicValidatorResult.Reject;
    }
    // Rule 2: forwarded by a member. Re-read after the await above: membership can change.
    const publicKey = this.#deps.members.publicKey(peerId);
    if (publicKey === undefined) {
      counters.rejected++;
      return TopicValidatorResult.Reject;
    }
    if (state.validator === undefined) {
      counters.ignored++;
      return TopicValidatorResult.Ignore;
    }
    let verdict: GossipVerdict;
    try {
      verdict = await state.validator(message.data, { peerId, publicKey });
    } catch (err) {
      this.#deps.logger.warn('gossip validator threw; message ignored', {
        topic: state.kind,
        from: peerId,
        error: String(err),
      });
      counters.ignored++;
      return TopicValidatorResult.Ignore;
    }
    switch (verdict) {
      case 'accept':
        counters.accepted++;
        return TopicValidatorResult.Accept;
      case 'reject':
        counters.rejected++;
        return TopicValidatorResult.Reject;
      case 'ignore':
        counters.ignored++;
        return TopicValidatorResult.Ignore;
      default:
        this.#deps.logger.warn('gossip validator returned an unknown verdict; ignored', {
          topic: state.kind,
          verdict: String(verdict),
        });
        counters.ignored++;
        return TopicValidatorResult.Ignore;
    }
  }

  #deliver(event: GossipsubMessage): void {
    const state = this.#byName.get(event.msg.topic);
    if (state?.handler === undefined) return;
    const peerId = event.propagationSource.toString();
    const publicKey = this.#deps.members.publicKey(peerId);
    if (publicKey === undefined) return;
    const handler = state.handler;
    const fail = (err: unknown): void => {
      state.counters.handlerErrors++;
      this.#deps.logger.warn('gossip handler failed', {
        topic: state.kind,
        from: peerId,
        error: String(err),
      });
    };
    try {
      const done = handler(event.msg.data, { peerId, publicKey });
      if (done instanceof Promise) done.catch(fail);
    } catch (err) {
      fail(err);
    }
  }
}
