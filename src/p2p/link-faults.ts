/**
 * In-process fault injection for researchers (this kernel has no netem). Faults are keyed by
 * the REMOTE peer id and applied at this node:
 *   - blocked: the link is cut. The connection gater refuses the peer and open connections
 *     are closed, so it behaves as a real partition (gossip may still arrive relayed by
 *     a third node, as it would on a real network with that one link down).
 *   - lossRate: each gossip message arriving from that peer is dropped with this probability;
 *     each sync request to that peer is lost (it times out).
 *   - delayMs: gossip from that peer is held this long before validation; sync requests to
 *     that peer are held this long before they are sent.
 * Gossipsub marks a message as seen when it first arrives, so a message dropped or delayed on
 * its first link is not rescued by a copy arriving over another link: loss and delay model
 * per-message, per-receiver faults. To cut or slow a link in both directions, set the fault on
 * both of its ends.
 */
import { CivitasError } from '../errors/index.ts';

export interface LinkFault {
  delayMs?: number;
  lossRate?: number;
  blocked?: boolean;
}

export type LinkFaultMap = Record<string, LinkFault> | Map<string, LinkFault>;

export type FaultDecision = { kind: 'deliver'; delayMs: number } | { kind: 'drop' };

function checkFault(peerId: string, fault: LinkFault): LinkFault {
  const { delayMs, lossRate, blocked } = fault;
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new CivitasError('P2P_BAD_LINK_FAULT', 'delayMs must be a finite number >= 0', {
      peerId,
    });
  }
  if (lossRate !== undefined && !(lossRate >= 0 && lossRate <= 1)) {
    throw new CivitasError('P2P_BAD_LINK_FAULT', 'lossRate must be within [0, 1]', { peerId });
  }
  if (blocked !== undefined && typeof blocked !== 'boolean') {
    throw new CivitasError('P2P_BAD_LINK_FAULT', 'blocked must be a boolean', { peerId });
  }
  return { delayMs, lossRate, blocked };
}

export class LinkFaults {
  #faults = new Map<string, LinkFault>();
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /** Replaces all faults; returns the peer ids that became blocked. */
  set(faults: LinkFaultMap): string[] {
    const entries = faults instanceof Map ? [...faults] : Object.entries(faults);
    const next = new Map<string, LinkFault>();
    for (const [peerId, fault] of entries) next.set(peerId, checkFault(peerId, fault));
    const newlyBlocked = [...next]
      .filter(([peerId, fault]) => fault.blocked === true && !this.isBlocked(peerId))
      .map(([peerId]) => peerId);
    this.#faults = next;
    return newlyBlocked;
  }

  isBlocked(peerId: string): boolean {
    return this.#faults.get(peerId)?.blocked === true;
  }

  /** What happens to one message crossing the link from/to `peerId`. */
  decide(peerId: string): FaultDecision {
    const fault = this.#faults.get(peerId);
    if (fault === undefined) return { kind: 'deliver', delayMs: 0 };
    if (fault.blocked === true) return { kind: 'drop' };
    if (fault.lossRate !== undefined && fault.lossRate > 0 && this.#random() < fault.lossRate) {
      return { kind: 'drop' };
    }
    return { kind: 'deliver', delayMs: fault.delayMs ?? 0 };
  }

  snapshot(): Record<string, LinkFault> {
    return Object.fromEntries(this.#faults);
  }
}
