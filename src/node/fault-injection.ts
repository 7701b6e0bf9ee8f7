/**
 * Fault injection inside a real node process, for the cluster benchmark and for researchers:
 * link faults (delay, loss, cut) towards chosen peers, and Byzantine behaviours of this node.
 * It exists only when the node is started with CIVITAS_ENABLE_FAULT_INJECTION=1; otherwise
 * the admin API refuses every request (403), so a production node cannot be told to lie.
 *
 * Settings are replaced as a whole by each request (idempotent, easy to script):
 *   { "links": { "<validator index | peer id>": { "delayMs"?, "lossRate"?, "blocked"? } },
 *     "byzantine": "none" | "equivocate" | "silent",
 *     "clockOffsetMs": <integer ms, ±1 day; absent: the offset the node started with> }
 *
 * A clock offset skews this node's clock (src/node/clock.ts): the vote times it signs and its
 * clock-health estimate, as a wrong system clock would. `CIVITAS_FAULT_CLOCK_OFFSET_MS` sets
 * it from the start (a node started with its clock off).
 *
 * Link faults act on messages ARRIVING at this node from that peer (src/p2p/link-faults.ts);
 * to fault a link both ways, set it on both of its ends.
 *
 * Byzantine behaviours act on this node's outgoing consensus messages, by wrapping the p2p
 * publish of the consensus topic (the engine and driver stay untouched):
 *   - silent: every outgoing consensus message is dropped (the node still receives, executes,
 *     commits by sync and answers sync requests) — a silent voter, and a silent primary on
 *     its heights;
 *   - equivocate: as primary, each PRE-PREPARE is accompanied by a second, validly signed
 *     PRE-PREPARE for a conflicting block (same txs, roots and time, another validator named
 *     as proposer, so another hash). Gossip has no per-peer send, so both go to every peer, in random order: replicas
 *     that see the alternative first prepare it, the others the original, and every honest
 *     replica that sees both records equivocation evidence. This approximates PBFT's
 *     "different PRE-PREPAREs to different replicas" as closely as a broadcast layer allows.
 */
import { type SealedBlock, sealBlock } from '../chain/block.ts';
import {
  decodeMessage,
  encodeMessage,
  type PrePrepare,
  prePrepareSigningHash,
} from '../consensus/messages.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';
import { sign } from '../crypto/ed25519.ts';
import { CivitasError } from '../errors/index.ts';
import { type LinkFault, type P2PNode, peerIdFromValidatorKey } from '../p2p/index.ts';
import type { NodeClock } from './clock.ts';
import type { Logger } from './logger.ts';

export const FAULT_INJECTION_ENV = 'CIVITAS_ENABLE_FAULT_INJECTION';
export const CLOCK_OFFSET_ENV = 'CIVITAS_FAULT_CLOCK_OFFSET_MS';
/** The largest clock offset a fault may set: a day either way. */
export const MAX_CLOCK_OFFSET_MS = 86_400_000;

export function faultInjectionEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[FAULT_INJECTION_ENV] === '1';
}

/**
 * The clock offset a node starts with: CIVITAS_FAULT_CLOCK_OFFSET_MS, which only a node with
 * fault injection enabled accepts. Rule: an integer in ±MAX_CLOCK_OFFSET_MS.
 */
export function clockOffsetFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[CLOCK_OFFSET_ENV];
  if (raw === undefined || raw === '') return 0;
  if (!faultInjectionEnabled(env)) {
    throw new CivitasError(
      'FAULT_BAD_REQUEST',
      `${CLOCK_OFFSET_ENV} needs ${FAULT_INJECTION_ENV}=1 (a skewed clock is a fault)`,
    );
  }
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || Math.abs(ms) > MAX_CLOCK_OFFSET_MS) {
    throw new CivitasError(
      'FAULT_BAD_REQUEST',
      `${CLOCK_OFFSET_ENV} must be an integer number of ms within ±${MAX_CLOCK_OFFSET_MS}`,
    );
  }
  return ms;
}

export const BYZANTINE_MODES = ['none', 'equivocate', 'silent'] as const;
export type ByzantineMode = (typeof BYZANTINE_MODES)[number];

export interface FaultSettings {
  /** Link faults keyed by the remote peer id. */
  readonly links: Readonly<Record<string, LinkFault>>;
  readonly byzantine: ByzantineMode;
  /** Absent: the offset the node started with. */
  readonly clockOffsetMs?: number;
}

export interface FaultStatus {
  readonly enabled: true;
  /** Link faults keyed by the remote validator index (or peer id if not a validator). */
  readonly links: Record<string, LinkFault>;
  readonly byzantine: ByzantineMode;
  /** This node's clock offset now, ms. */
  readonly clockOffsetMs: number;
  /** Outgoing consensus messages dropped while silent. */
  readonly silenced: number;
  /** Conflicting PRE-PREPAREs sent while equivocating. */
  readonly equivocations: number;
}

export interface FaultInjectorDeps {
  readonly chainId: string;
  /** The validator set in genesis order: index i in a request names validators[i]. */
  readonly validators: readonly Uint8Array[];
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
  readonly logger: Logger;
  /** The node's clock, which clockOffsetMs skews. */
  readonly clock: NodeClock;
  /** Called whenever settings change (metrics). */
  readonly onApply?: (kind: 'links' | 'byzantine' | 'clock') => void;
}

const LINK_FIELDS = new Set(['delayMs', 'lossRate', 'blocked']);
/** A delay longer than this would only hold messages in memory; no experiment needs it. */
const MAX_DELAY_MS = 60_000;

function bad(message: string): never {
  throw new CivitasError('FAULT_BAD_REQUEST', message);
}

/**
 * Checks a fault request and resolves validator indexes to peer ids.
 * Rule: links name another validator (by index or peer id), never this node; each fault has
 * only delayMs (0..60000), lossRate ([0, 1]) and blocked (boolean).
 */
export function parseFaultSettings(
  json: unknown,
  validators: readonly Uint8Array[],
  self: Uint8Array,
): FaultSettings {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    bad('body must be a JSON object {"links": {...}, "byzantine": "none"}');
  }
  const body = json as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (key !== 'links' && key !== 'byzantine' && key !== 'clockOffsetMs') {
      bad(`unknown field "${key}"`);
    }
  }
  const { clockOffsetMs } = body;
  if (
    clockOffsetMs !== undefined &&
    !(
      Number.isSafeInteger(clockOffsetMs) &&
      Math.abs(clockOffsetMs as number) <= MAX_CLOCK_OFFSET_MS
    )
  ) {
    bad(`clockOffsetMs must be an integer number of ms within ±${MAX_CLOCK_OFFSET_MS}`);
  }
  const byzantine = body.byzantine ?? 'none';
  if (!(BYZANTINE_MODES as readonly unknown[]).includes(byzantine)) {
    bad(`byzantine must be one of ${BYZANTINE_MODES.join(', ')}`);
  }
  const peerIds = validators.map((v) => peerIdFromValidatorKey(v));
  const selfId = peerIdFromValidatorKey(self);
  const links: Record<string, LinkFault> = {};
  const given = body.links ?? {};
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    bad('links must be an object keyed by validator index or peer id');
  }
  for (const [target, value] of Object.entries(given as Record<string, unknown>)) {
    let peerId: string;
    if (/^[0-9]{1,4}$/.test(target)) {
      const index = Number(target);
      if (index >= peerIds.length) bad(`links: no validator ${index} (n = ${peerIds.length})`);
      peerId = peerIds[index]!;
    } else if (peerIds.includes(target)) {
      peerId = target;
    } else {
      bad(`links: "${target.slice(0, 80)}" is neither a validator index nor a member peer id`);
    }
    if (peerId === selfId) bad(`links: ${target} is this node`);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      bad(`links.${target} must be an object`);
    }
    const fault = value as Record<string, unknown>;
    for (const key of Object.keys(fault)) {
      if (!LINK_FIELDS.has(key)) bad(`links.${target}: unknown field "${key}"`);
    }
    const { delayMs, lossRate, blocked } = fault;
    if (
      delayMs !== undefined &&
      !(typeof delayMs === 'number' && delayMs >= 0 && delayMs <= MAX_DELAY_MS)
    ) {
      bad(`links.${target}.delayMs must be a number of ms in 0..${MAX_DELAY_MS}`);
    }
    if (
      lossRate !== undefined &&
      !(typeof lossRate === 'number' && lossRate >= 0 && lossRate <= 1)
    ) {
      bad(`links.${target}.lossRate must be a number in [0, 1]`);
    }
    if (blocked !== undefined && typeof blocked !== 'boolean') {
      bad(`links.${target}.blocked must be a boolean`);
    }
    links[peerId] = {
      ...(delayMs !== undefined ? { delayMs: delayMs as number } : {}),
      ...(lossRate !== undefined ? { lossRate: lossRate as number } : {}),
      ...(blocked !== undefined ? { blocked: blocked as boolean } : {}),
    };
  }
  return {
    links,
    byzantine: byzantine as ByzantineMode,
    ...(clockOffsetMs !== undefined ? { clockOffsetMs: clockOffsetMs as number } : {}),
  };
}

type Publish = P2PNode['publish'];

export class FaultInjector {
  private readonly deps: FaultInjectorDeps;
  private p2p: P2PNode | undefined;
  private settings: FaultSettings = { links: {}, byzantine: 'none' };
  /** The offset the node started with: what an absent clockOffsetMs restores. */
  private readonly startOffsetMs: number;
  private silenced = 0;
  private equivocations = 0;
  /** Heights/views already equivocated on (bounded: cleared past 1,024 entries). */
  private readonly equivocated = new Set<string>();

  constructor(deps: FaultInjectorDeps) {
    this.deps = deps;
    this.startOffsetMs = deps.clock.offsetMs;
  }

  /**
   * Routes this node's consensus publishes through the Byzantine filter. Other topics and
   * every other p2p call are untouched.
   */
  attach(p2p: P2PNode): void {
    this.p2p = p2p;
    const publish: Publish = p2p.publish.bind(p2p);
    p2p.publish = (topic, data) =>
      topic === 'consensus' ? this.outbound(data, publish) : publish(topic, data);
  }

  async apply(json: unknown): Promise<FaultStatus> {
    const next = parseFaultSettings(json, this.deps.validators, this.deps.publicKey);
    if (this.p2p === undefined) {
      throw new CivitasError(
        'FAULT_UNAVAILABLE',
        'fault injection needs a multi-validator network (no p2p layer)',
      );
    }
    await this.p2p.setLinkFaults(next.links);
    const byzantineChanged = next.byzantine !== this.settings.byzantine;
    const offset = next.clockOffsetMs ?? this.startOffsetMs;
    const clockChanged = offset !== this.deps.clock.offsetMs;
    this.settings = next;
    this.deps.clock.setOffset(offset);
    this.deps.onApply?.('links');
    if (byzantineChanged) this.deps.onApply?.('byzantine');
    if (clockChanged) this.deps.onApply?.('clock');
    this.deps.logger.warn('fault injection settings applied', {
      links: Object.keys(next.links).length,
      byzantine: next.byzantine,
      clockOffsetMs: offset,
    });
    return this.status();
  }

  status(): FaultStatus {
    const indexOf = new Map(this.deps.validators.map((v, i) => [peerIdFromValidatorKey(v), i]));
    const links: Record<string, LinkFault> = {};
    for (const [peerId, fault] of Object.entries(this.settings.links)) {
      links[String(indexOf.get(peerId) ?? peerId)] = fault;
    }
    return {
      enabled: true,
      links,
      byzantine: this.settings.byzantine,
      clockOffsetMs: this.deps.clock.offsetMs,
      silenced: this.silenced,
      equivocations: this.equivocations,
    };
  }

  private async outbound(data: Uint8Array, publish: Publish): Promise<number> {
    const mode = this.settings.byzantine;
    if (mode === 'silent') {
      this.silenced++;
      return 0;
    }
    if (mode !== 'equivocate') return publish('consensus', data);
    let message: ReturnType<typeof decodeMessage>;
    try {
      message = decodeMessage(data);
    } catch {
      return publish('consensus', data);
    }
    const key = `${message.height}:${message.view}`;
    if (message.type !== 'pre-prepare' || this.equivocated.has(key)) {
      return publish('consensus', data);
    }
    if (this.equivocated.size >= 1_024) this.equivocated.clear();
    this.equivocated.add(key);
    const conflicting = encodeMessage(this.conflictingPrePrepare(message));
    this.equivocations++;
    this.deps.logger.warn('equivocating: conflicting pre-prepare', {
      height: message.height,
      view: message.view,
      block: toHex(message.block.hash).slice(0, 16),
    });
    const [first, second] = Math.random() < 0.5 ? [data, conflicting] : [conflicting, data];
    const sent = await publish('consensus', first);
    await publish('consensus', second);
    return sent;
  }

  /**
   * The same proposal naming another validator as proposer: valid (every header field but
   * the proposer is derived, and any validator may be named), different hash, signed by us.
   */
  private conflictingPrePrepare(m: PrePrepare): PrePrepare {
    const { validators } = this.deps;
    const at = validators.findIndex((v) => equalBytes(v, m.block.header.proposer));
    const proposer = validators[(at + 1) % validators.length]!;
    const block: SealedBlock = sealBlock({
      header: { ...m.block.header, proposer },
      txs: m.block.txs,
      lastCommit: m.block.lastCommit,
    });
    const signature = sign(
      prePrepareSigningHash(this.deps.chainId, m.height, m.view, block.hash),
      this.deps.secretKey,
    );
    return { ...m, block, signature };
  }
}
