/**
 * What an operator needs to see of the network in the log: each peer connecting and
 * disconnecting, and a node left without any peer for a while (a wrong bootstrap address, a
 * firewall, or a pre-shared key that differs from the others' — the connections then fail at
 * the handshake and nothing else would say so).
 */
import type { Logger } from './logger.ts';

export interface PeerLogOptions {
  /** Warn after this long with no peer while there are members to reach. */
  lonelyAfterMs: number;
  /** How often the no-peer condition is looked at; the warning repeats every lonelyAfterMs. */
  checkEveryMs: number;
}

export interface PeerLogDeps {
  logger: Logger;
  connectedPeers(): number;
  /** Members other than this node (nothing to be lonely about in a one-node network). */
  otherMembers(): number;
  isMember(peerId: string): boolean;
  now?(): number;
}

export class PeerLog {
  readonly #opts: PeerLogOptions;
  readonly #deps: PeerLogDeps;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Since when there has been no peer (null: there is one, or nobody to reach). */
  #aloneSince: number | null = null;
  #warnedAt = 0;

  constructor(opts: PeerLogOptions, deps: PeerLogDeps) {
    this.#opts = opts;
    this.#deps = deps;
  }

  start(): void {
    this.#aloneSince = this.#now();
    this.#timer = setInterval(() => this.check(), this.#opts.checkEveryMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  connected(peerId: string): void {
    this.#deps.logger.info('peer connected', {
      peer: peerId.slice(-8),
      member: this.#deps.isMember(peerId),
      peers: this.#deps.connectedPeers(),
    });
    if (this.#warnedAt > 0) {
      this.#deps.logger.info('connected again after a time without peers', {
        peer: peerId.slice(-8),
      });
      this.#warnedAt = 0;
    }
    this.#aloneSince = null;
  }

  disconnected(peerId: string): void {
    const peers = this.#deps.connectedPeers();
    this.#deps.logger.info('peer disconnected', { peer: peerId.slice(-8), peers });
    if (peers === 0 && this.#aloneSince === null) this.#aloneSince = this.#now();
  }

  /** Warns while the node has had no peer for lonelyAfterMs (exposed for tests). */
  check(): void {
    const now = this.#now();
    if (this.#deps.connectedPeers() > 0 || this.#deps.otherMembers() === 0) {
      this.#aloneSince = null;
      return;
    }
    this.#aloneSince ??= now;
    const alone = now - this.#aloneSince;
    if (alone < this.#opts.lonelyAfterMs || now - this.#warnedAt < this.#opts.lonelyAfterMs) return;
    this.#warnedAt = now;
    this.#deps.logger.warn('no peers', {
      forMs: alone,
      members: this.#deps.otherMembers(),
      hint: 'check p2p.bootstrap, firewalls, and that every node uses the same p2p.pskFile',
    });
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }
}
