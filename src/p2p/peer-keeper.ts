/**
 * Keeps this node connected to every member it knows an address for. There is no DHT: the
 * addresses come from the bootstrap list and from what identify taught the peer store. A
 * member that is not connected is redialled with exponential backoff (with jitter, so nodes
 * restarted together do not dial in lock-step); a successful connection resets its backoff.
 */
import type { Multiaddr } from '@multiformats/multiaddr';
import { multiaddr } from '@multiformats/multiaddr';
import type { Logger } from './logger.ts';
import { peerIdOfMultiaddr } from './membership.ts';

export interface PeerKeeperDeps {
  selfId: string;
  members(): string[];
  isBlocked(peerId: string): boolean;
  isConnected(peerId: string): boolean;
  /** Addresses learned from the peer store (identify), for members not in the bootstrap list. */
  knownAddresses(peerId: string): Promise<Multiaddr[]>;
  dial(addresses: Multiaddr[]): Promise<void>;
  logger: Logger;
}

export interface PeerKeeperOptions {
  baseBackoffMs: number;
  maxBackoffMs: number;
  tickMs: number;
}

interface DialState {
  backoffMs: number;
  nextAttemptAt: number;
  dialing: boolean;
  /** Dials that failed since the last success. */
  failures: number;
  /** When the operator was last told this member cannot be reached (0: never). */
  warnedAt: number;
}

/** Failed dials in a row after which the operator is told (a debug line before that). */
const WARN_AFTER_FAILURES = 3;
/** While a member stays unreachable, its warning repeats at most this often. */
const WARN_EVERY_MS = 60_000;

export interface DialCounters {
  attempts: number;
  failures: number;
}

export class PeerKeeper {
  readonly #opts: PeerKeeperOptions;
  readonly #deps: PeerKeeperDeps;
  readonly #bootstrap = new Map<string, Multiaddr[]>();
  readonly #state = new Map<string, DialState>();
  readonly #counters: DialCounters = { attempts: 0, failures: 0 };
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(opts: PeerKeeperOptions, deps: PeerKeeperDeps) {
    this.#opts = opts;
    this.#deps = deps;
  }

  /** Adds bootstrap multiaddrs; each must name its peer with `/p2p/<peerId>`. */
  addBootstrap(addresses: string[]): void {
    for (const text of addresses) {
      let address: Multiaddr;
      try {
        address = multiaddr(text);
      } catch {
        this.#deps.logger.warn('ignoring unparsable bootstrap address', { address: text });
        continue;
      }
      const peerId = peerIdOfMultiaddr(address);
      if (peerId === undefined) {
        this.#deps.logger.warn('ignoring bootstrap address without /p2p/<peerId>', {
          address: text,
        });
        continue;
      }
      if (peerId === this.#deps.selfId) continue;
      const list = this.#bootstrap.get(peerId) ?? [];
      if (!list.some((a) => a.equals(address))) list.push(address);
      this.#bootstrap.set(peerId, list);
    }
    this.poke();
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#timer = setInterval(() => this.#tick(), this.#opts.tickMs);
    this.#timer.unref();
    this.#tick();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Retry every disconnected member now (after a membership or fault change). */
  poke(): void {
    for (const state of this.#state.values()) {
      state.nextAttemptAt = 0;
      state.backoffMs = 0;
    }
    if (this.#running) this.#tick();
  }

  counters(): DialCounters {
    return { ...this.#counters };
  }

  #tick(): void {
    if (!this.#running) return;
    const now = Date.now();
    for (const peerId of this.#deps.members()) {
      if (peerId === this.#deps.selfId || this.#deps.isBlocked(peerId)) continue;
      const state = this.#state.get(peerId) ?? {
        backoffMs: 0,
        nextAttemptAt: 0,
        dialing: false,
        failures: 0,
        warnedAt: 0,
      };
      this.#state.set(peerId, state);
      if (this.#deps.isConnected(peerId)) {
        state.backoffMs = 0;
        state.failures = 0;
        continue;
      }
      if (state.dialing || now < state.nextAttemptAt) continue;
      state.dialing = true;
      void this.#attempt(peerId, state).finally(() => {
        state.dialing = false;
      });
    }
  }

  async #attempt(peerId: string, state: DialState): Promise<void> {
    let addresses = this.#bootstrap.get(peerId) ?? [];
    if (addresses.length === 0) {
      try {
        addresses = await this.#deps.knownAddresses(peerId);
      } catch {
        addresses = [];
      }
    }
    if (addresses.length === 0 || !this.#running) {
      this.#scheduleRetry(state);
      return;
    }
    this.#counters.attempts++;
    // The next attempt is scheduled even after a successful dial: a peer that refuses us
    // after its handshake (we are not in its member set) lets the dial "succeed" and then
    // closes the connection. Backoff is reset only when a tick finds the peer connected.
    this.#scheduleRetry(state);
    try {
      await this.#deps.dial(addresses);
    } catch (err) {
      this.#counters.failures++;
      state.failures++;
      const fields = { peerId, retryInMs: state.nextAttemptAt - Date.now(), error: String(err) };
      const now = Date.now();
      // A member that stays unreachable is the operator's problem: a wrong address, a
      // firewall, or a pre-shared key that differs (the handshake then fails).
      if (state.failures >= WARN_AFTER_FAILURES && now - state.warnedAt >= WARN_EVERY_MS) {
        state.warnedAt = now;
        this.#deps.logger.warn('cannot connect to a member', {
          ...fields,
          failures: state.failures,
          hint: 'check its address, firewalls, and that both use the same p2p.pskFile',
        });
      } else {
        this.#deps.logger.debug('dial to member failed', fields);
      }
    }
  }

  #scheduleRetry(state: DialState): void {
    const { baseBackoffMs, maxBackoffMs } = this.#opts;
    state.backoffMs = Math.min(maxBackoffMs, Math.max(baseBackoffMs, state.backoffMs * 2));
    // Jitter in [50%, 100%] of the backoff.
    state.nextAttemptAt = Date.now() + state.backoffMs * (0.5 + Math.random() / 2);
  }
}
