/**
 * The deterministic simulator: n replicas of the real engine, each with a driver-equivalent
 * loop (WAL, timers, block store, build/validate/commit), over a simulated network in
 * virtual time. One seed fixes everything — link delays, faults, crash times, Byzantine
 * choices — so any run, and any violation it finds, replays exactly.
 *
 * The loop executes a replica's actions in order with the driver's semantics: a persist is
 * durable at once (before later sends), a commit is durable at once, timers replace timers
 * of the same kind. A crash may strike between two actions of one step, which is where a
 * wrong WAL order would show.
 */

import type { SealedBlock } from '../../chain/block.ts';
import type { CommitCertificate } from '../../chain/certificate.ts';
import { makeValidatorSet, type ValidatorSet } from '../../chain/validator-set.ts';
import { equalBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { CivitasError } from '../../errors/index.ts';
import type { TimeoutConfig, UnsafeTestHooks, WindowConfig } from '../config.ts';
import type { ConsensusAction } from '../events.ts';
import { REJECT_REASONS, type RejectReason, type TimerKind } from '../events.ts';
import type { ConsensusMessage } from '../messages.ts';
import { Checker, type Violation } from './checker.ts';
import { EventQueue } from './event-queue.ts';
import { BYZANTINE_FAULTS, type ByzantineBehaviour, FAULTS, type FaultName } from './faults.ts';
import { type LatencySummary, latencySummary } from './metrics.ts';
import { deliveryDelays, type NetworkPlan, partitioned, planNetwork } from './network.ts';
import { Prng } from './prng.ts';
import {
  type ProtocolAction,
  type ProtocolEvent,
  type ProtocolName,
  protocolFor,
  type SimByzantine,
  type SimEngine,
  type SimMessage,
  type SimProtocol,
  type SimWalEntry,
} from './protocols.ts';
import {
  describeChange,
  plannedSets,
  planReconfiguration,
  RECONFIG_SCENARIOS,
  type ReconfigPlan,
  type ReconfigScenario,
  spareKeysFor,
} from './reconfig.ts';
import { type SignatureSchemeName, type SimKey, signatureScheme } from './signatures.ts';
import {
  buildSimBlock,
  childInfo,
  genesisParent,
  type ParentInfo,
  type SimChainContext,
  setAfter,
  validateSimBlock,
} from './sim-chain.ts';
import {
  digestPrefix,
  formatTraceEvent,
  type TraceEvent,
  type TraceEventKind,
  type TraceValue,
  traceTime,
} from './trace.ts';

/** A scheduled crash of one replica (tests may give their own). */
export interface CrashPlan {
  readonly replica: number;
  readonly atMs: number;
  readonly downMs: number;
  /** Crash after this many more actions (mid-step) instead of between events. */
  readonly afterActions?: number;
  /** Broken variant: restart with an empty WAL. */
  readonly forgetWal?: boolean;
}

export interface DeliveryContext {
  readonly from: number;
  readonly to: number;
  /** A HotStuffMessage when the run's protocol is `hotstuff`. */
  readonly message: ConsensusMessage | null;
  readonly now: number;
}

export interface ActionContext {
  readonly replica: number;
  /** Carries HotStuff messages and WAL entries when the run's protocol is `hotstuff`. */
  readonly action: ConsensusAction;
  readonly now: number;
  /** Crashes the replica right after this action; it restarts after downMs. */
  crash(opts: { downMs: number; forgetWal?: boolean }): void;
}

/** Test hooks for scripted schedules. */
export interface SimHooks {
  /** 'drop' loses the message; a number replaces its delay; undefined leaves it alone. */
  deliver?(ctx: DeliveryContext): 'drop' | number | undefined;
  afterAction?(ctx: ActionContext): void;
}

export interface SimulationOptions {
  readonly validators: number;
  readonly seed: number;
  /** Default: all faults. */
  readonly faults?: readonly FaultName[];
  /** Byzantine replicas; default f when any Byzantine behaviour is enabled, else 0. */
  readonly byzantine?: number;
  /** Virtual run length; GST is durationMs − livenessBoundMs (default: 10 s of faults). */
  readonly durationMs?: number;
  readonly signatures?: SignatureSchemeName;
  readonly timeouts?: Partial<TimeoutConfig>;
  readonly windows?: Partial<WindowConfig>;
  readonly unsafe?: UnsafeTestHooks;
  /** Broken variant: every crashed replica restarts with an empty WAL. */
  readonly forgetWalOnRestart?: boolean;
  /** Replaces the random Byzantine assignment: replica → behaviours. */
  readonly byzantineAssignment?: ReadonlyMap<number, readonly ByzantineBehaviour[]>;
  /** Replaces the random clock assignment: replica → its clock error. */
  readonly clockAssignment?: ReadonlyMap<number, ClockFault>;
  /** Replaces the random crash schedule. */
  readonly crashes?: readonly CrashPlan[];
  /** Overrides the GST (default durationMs − livenessBoundMs). */
  readonly gstMs?: number;
  readonly trace?: boolean;
  readonly hooks?: SimHooks;
  /** With the `reconfig` fault: this scenario instead of a seeded choice. */
  readonly reconfig?: ReconfigScenario;
  /**
   * Broken variants of a replica's `validatorsAt`, for the checker's tests: `ignore-decided`
   * ignores the block the engine just decided (answers from the committed chain only);
   * `late` applies a change one height late unless asked with the decided block.
   */
  readonly brokenSets?: 'ignore-decided' | 'late';
  /** The consensus protocol the replicas run (sim/protocols.ts); default `pbft`. */
  readonly protocol?: ProtocolName;
}

/** What the `reconfig` fault planned and what the committed chain executed. */
export interface ReconfigReport {
  readonly scenario: ReconfigScenario;
  /** The planned changes: "add 1a2b3c4d from h≥7". */
  readonly planned: readonly string[];
  readonly refused: string | null;
  /** Set changes on the committed chain: the height executing it and the next set's size. */
  readonly executed: ReadonlyArray<{ height: number; validators: number }>;
  /** Replicas in all (validators and observers, twins apart). */
  readonly replicas: number;
}

export interface SimulationReport {
  readonly seed: number;
  readonly validators: number;
  readonly faults: readonly FaultName[];
  readonly byzantine: ReadonlyArray<{ replica: number; behaviours: string }>;
  /** Replicas whose clocks are off (skew and drift faults). */
  readonly clocks: ReadonlyArray<{ replica: number } & ClockFault>;
  readonly signatures: SignatureSchemeName;
  readonly durationMs: number;
  readonly gstMs: number;
  readonly livenessBoundMs: number;
  /** Committed heights of honest replicas at the end. */
  readonly committedMin: number;
  readonly committedMax: number;
  /** Views entered after view 0, summed over honest replicas. */
  readonly viewChanges: number;
  readonly crashes: number;
  readonly syncs: number;
  /** Messages (one per receiver) and their encoded bytes, honest and Byzantine senders alike. */
  readonly messages: {
    readonly sent: number;
    readonly delivered: number;
    readonly lost: number;
    readonly bytesSent: number;
  };
  /** The seeded network before GST: loss and duplication probabilities, partitions. */
  readonly network: {
    readonly loss: number;
    readonly duplicate: number;
    readonly partitions: number;
  };
  /** Messages honest replicas' engines refused, by reason (events.ts: BENIGN_REJECTS). */
  readonly rejections: Readonly<Record<RejectReason, number>>;
  /**
   * Block commit latency in simulated ms: for each height of the committed chain, from the
   * first build of the block committed there to its first commit by an honest replica.
   */
  readonly commitLatencyMs: LatencySummary;
  /** The same, one value per committed height, in height order (for CDFs). */
  readonly commitLatenciesMs: readonly number[];
  readonly evidence: number;
  /** Longest wait, over honest replicas, from GST to committing past the GST frontier. */
  readonly recoveryAfterGstMs: number | null;
  /** Null unless the `reconfig` fault is on. */
  readonly reconfiguration: ReconfigReport | null;
  readonly violations: readonly Violation[];
  /** With `trace`: the run as readable lines (formatTraceEvent of each event). */
  readonly trace?: readonly string[];
  /** With `trace`: the run as structured events (trace.ts), the source of `trace`. */
  readonly traceEvents?: readonly TraceEvent[];
}

export const SIM_TIMEOUTS: TimeoutConfig = { baseMs: 300, maxMs: 2_400, retransmitMs: 300 };
export const SIM_WINDOWS: Partial<WindowConfig> = { heights: 3, views: 8, futurePerValidator: 16 };
/** Default fault period before GST; the run then lasts GST + the liveness bound. */
export const DEFAULT_FAULT_PERIOD_MS = 10_000;
const CHAIN_ID = 'civitas-sim';
const GENESIS_TIME = 1_700_000_000_000;

/**
 * The liveness bound checked after GST: f+1 views can have faulty primaries, each waits at
 * most maxMs, plus one more full view and slack for sync and network delay.
 */
export function livenessBound(validators: number, timeouts: TimeoutConfig): number {
  const f = Math.floor((validators - 1) / 3);
  return (f + 2) * timeouts.maxMs + 2_000;
}

type SimEvent =
  | { kind: 'start'; replica: number }
  | { kind: 'deliver'; to: number; from: number; bytes: Uint8Array }
  | {
      kind: 'timer';
      replica: number;
      incarnation: number;
      gen: number;
      timer: TimerKind;
      height: number;
      view: number;
    }
  | {
      kind: 'built';
      replica: number;
      incarnation: number;
      height: number;
      view: number;
      lastCommit: CommitCertificate | null;
    }
  | { kind: 'validated'; replica: number; incarnation: number; height: number; block: SealedBlock }
  | { kind: 'sync'; replica: number; incarnation: number }
  | { kind: 'crash'; plan: CrashPlan }
  | { kind: 'restart'; replica: number; forgetWal: boolean }
  | { kind: 'gst' };

/** A replica's clock error (the skew and drift faults). */
export interface ClockFault {
  readonly offsetMs: number;
  readonly drift: number;
}

const CORRECT_CLOCK: ClockFault = { offsetMs: 0, drift: 0 };

/** A committed block, its certificate, and the chain's sets after it. */
interface ChainEntry {
  readonly block: SealedBlock;
  readonly certificate: CommitCertificate;
  readonly info: ParentInfo;
}

interface Replica {
  readonly id: number;
  /** Index of its key in the run's key pool (the genesis set first, then spare keys); twins share one. */
  readonly keyIndex: number;
  readonly key: SimKey;
  /** Byzantine (filtered) or one of a pair of twins: excluded from the honest checks. */
  readonly faulty: boolean;
  /** This replica's clock: virtual time × (1 + drift) + offset (zeros for a correct clock). */
  readonly clock: ClockFault;
  readonly byzantine: SimByzantine | null;
  /** Twins only: the replicas this one can reach before GST. */
  reach: ReadonlySet<number> | null;
  readonly label: string;
  engine: SimEngine | null;
  incarnation: number;
  /**
   * Durable: survives crashes (unless a broken variant forgets it). Kept decoded and passed
   * through the codec on restart, so replay still exercises the real encoding.
   */
  wal: SimWalEntry[];
  readonly chain: ChainEntry[];
  /** The height its engine last entered (checked against the chain's set). */
  enteredHeight: number;
  /** Its engine threw (as a node's driver would, it stops for good). */
  halted: boolean;
  readonly timerGen: Record<TimerKind, number>;
  crashAfterActions: number | null;
  pendingForgetWal: boolean;
  pendingDownMs: number;
  syncScheduled: boolean;
  viewChanges: number;
  evidence: number;
  readonly rejections: Record<RejectReason, number>;
  recoveredAtMs: number | null;
}

function emptyRejections(): Record<RejectReason, number> {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
}

class Simulation {
  private readonly opts: SimulationOptions;
  private readonly n: number;
  private readonly faults: ReadonlySet<FaultName>;
  private readonly timeouts: TimeoutConfig;
  private readonly durationMs: number;
  private readonly gstMs: number;
  private readonly boundMs: number;
  private readonly rng: Prng;
  private readonly netRng: Prng;
  private readonly nodeRng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly replicas: Replica[] = [];
  private readonly validators: ValidatorSet;
  private readonly reconfig: ReconfigPlan | null;
  /** Keys in the run: the genesis set's, then spare ones that start as observers. */
  private readonly poolSize: number;
  private readonly maxSetSize: number;
  private caps: ReturnType<SimEngine['memoryCaps']> | null = null;
  private readonly chainCtx: SimChainContext;
  private readonly checker: Checker;
  private readonly plan: NetworkPlan;
  private readonly protocol: SimProtocol;
  private readonly decoded = new WeakMap<Uint8Array, SimMessage | null>();
  /** Validation is deterministic: each (block, parent) pair is validated once per run. */
  private readonly validations = new WeakMap<SealedBlock, Map<string, string | null>>();
  private readonly trace: TraceEvent[] | null;
  private now = 0;
  private frontierAtGst = -1;
  private crashes = 0;
  private syncs = 0;
  private sent = 0;
  private delivered = 0;
  private lost = 0;
  private bytesSent = 0;

  constructor(opts: SimulationOptions) {
    this.opts = opts;
    this.n = opts.validators;
    if (!Number.isSafeInteger(this.n) || this.n < 1 || this.n > 64) {
      throw new CivitasError('SIM_BAD_OPTIONS', 'validators must be 1..64');
    }
    this.faults = new Set(opts.faults ?? FAULTS);
    this.protocol = protocolFor(opts.protocol ?? 'pbft');
    this.timeouts = { ...SIM_TIMEOUTS, ...opts.timeouts };
    this.rng = new Prng(opts.seed);
    const scheme = signatureScheme(opts.signatures ?? 'fake');
    const keys = Array.from({ length: this.n }, (_, i) => scheme.key(opts.seed, i));
    this.validators = makeValidatorSet(keys.map((k) => k.publicKey));
    const planRng = this.rng.fork('plan');
    const byzantine = this.assignByzantine(planRng.fork('byzantine'));
    const clocks = this.assignClocks(planRng.fork('clocks'), byzantine);
    this.reconfig = null;
    if (this.faults.has('reconfig')) {
      const rng = planRng.fork('reconfig');
      const scenario = opts.reconfig ?? rng.pick(RECONFIG_SCENARIOS);
      for (let i = 0; i < spareKeysFor(scenario); i++) keys.push(scheme.key(opts.seed, this.n + i));
      const faulty = new Set(
        [...byzantine.keys(), ...clocks.keys()].map((id) => toHex(keys[id]!.publicKey)),
      );
      this.reconfig = planReconfiguration(rng, {
        scenario,
        initial: this.validators.validators,
        spare: keys.slice(this.n).map((k) => k.publicKey),
        faulty,
      });
    }
    this.poolSize = keys.length;
    this.maxSetSize = Math.max(
      this.n,
      ...(this.reconfig === null
        ? []
        : plannedSets(this.validators, this.reconfig).map((set) => set.validators.length)),
    );
    this.boundMs = livenessBound(this.maxSetSize, this.timeouts);
    this.durationMs = opts.durationMs ?? DEFAULT_FAULT_PERIOD_MS + this.boundMs;
    this.gstMs = opts.gstMs ?? this.durationMs - this.boundMs;
    if (this.gstMs < 0 || this.gstMs > this.durationMs) {
      throw new CivitasError(
        'SIM_BAD_OPTIONS',
        `duration ${this.durationMs} ms leaves no room for the ${this.boundMs} ms liveness window`,
      );
    }
    this.netRng = this.rng.fork('network');
    this.nodeRng = this.rng.fork('nodes');
    this.trace = opts.trace ? [] : null;
    this.chainCtx = {
      chainId: CHAIN_ID,
      genesisHash: sha256(utf8.encode(`civitas-sim-genesis/${opts.seed}`)),
      genesisTime: GENESIS_TIME,
      validators: this.validators,
      plan: this.reconfig?.changes ?? [],
      ...(opts.unsafe?.quorum !== undefined ? { quorum: opts.unsafe.quorum } : {}),
      verify: scheme.verify,
    };
    this.checker = new Checker(opts.seed, this.chainCtx);
    const twinsOf = [...byzantine.entries()]
      .filter(([, behaviours]) => behaviours.includes('twins'))
      .map(([id]) => id);
    this.plan = planNetwork(
      planRng.fork('links'),
      this.poolSize + twinsOf.length,
      this.faults,
      this.gstMs,
    );
    // Every key runs a replica from the start; those outside a height's set observe it.
    for (let id = 0; id < this.poolSize; id++) {
      const behaviours = byzantine.get(id)?.filter((b) => b !== 'twins');
      const twin = twinsOf.includes(id);
      this.replicas.push(this.makeReplica(id, id, keys[id]!, behaviours, twin));
    }
    // Twins (Bano et al.): a second, unmodified instance of a validator with the same key.
    // Before GST each instance reaches a different half of the others, so the pair signs
    // what two honest replicas in two partitions would: conflicting proposals and votes.
    for (const [id, clock] of clocks) {
      const r = this.replicas[id];
      if (r !== undefined) this.replicas[id] = { ...r, clock };
    }
    const twinRng = planRng.fork('twins');
    for (const v of twinsOf) {
      const clone = this.makeReplica(this.replicas.length, v, keys[v]!, [], true);
      this.replicas.push(clone);
      const original = this.replicas[v]!;
      const others = twinRng.shuffle(
        this.replicas.filter((r) => r.keyIndex !== v).map((r) => r.id),
      );
      const half = Math.ceil(others.length / 2);
      original.reach = new Set(others.slice(0, half));
      clone.reach = new Set(others.slice(half));
    }
    for (const plan of opts.crashes ?? this.planCrashes(planRng.fork('crashes'))) {
      this.queue.push(plan.atMs, { kind: 'crash', plan });
    }
    const startRng = planRng.fork('start');
    for (const r of this.replicas)
      this.queue.push(startRng.int(0, 20), { kind: 'start', replica: r.id });
    this.queue.push(this.gstMs, { kind: 'gst' });
    if (this.reconfig !== null) {
      const changes = this.reconfig.changes.map(
        (c) => `${describeChange(c.change)} from h≥${c.notBefore}`,
      );
      this.log(null, 'reconfig', {
        scenario: this.reconfig.scenario,
        changes: changes.join(', '),
        refused: this.reconfig.refused,
        keys: this.poolSize,
      });
    }
  }

  private makeReplica(
    id: number,
    keyIndex: number,
    key: SimKey,
    behaviours: readonly ByzantineBehaviour[] | undefined,
    twin: boolean,
  ): Replica {
    const filter =
      behaviours === undefined || behaviours.length === 0
        ? null
        : this.protocol.byzantine(
            {
              rng: this.rng.fork(`byzantine-${id}`),
              chainId: CHAIN_ID,
              indexAt: (height) =>
                this.validatorsOf(this.replicas[id]!, height).indexOf(key.publicKey),
              countAt: (height) => this.validatorsOf(this.replicas[id]!, height).validators.length,
              sign: key.sign,
              buildAlternative: (original) => this.alternativeBlock(id, original),
            },
            new Set(behaviours),
          );
    return {
      id,
      keyIndex,
      key,
      faulty: twin || behaviours !== undefined,
      clock: CORRECT_CLOCK,
      byzantine: filter,
      reach: null,
      label: twin ? `twin of validator ${keyIndex}` : (filter?.describe() ?? ''),
      engine: null,
      incarnation: 0,
      wal: [],
      chain: [],
      enteredHeight: 0,
      halted: false,
      timerGen: { view: 0, retransmit: 0 },
      crashAfterActions: null,
      pendingForgetWal: false,
      pendingDownMs: 0,
      syncScheduled: false,
      viewChanges: 0,
      evidence: 0,
      rejections: emptyRejections(),
      recoveredAtMs: null,
    };
  }

  private assignByzantine(rng: Prng): Map<number, readonly ByzantineBehaviour[]> {
    if (this.opts.byzantineAssignment !== undefined) return new Map(this.opts.byzantineAssignment);
    const available = BYZANTINE_FAULTS.filter((b) => this.faults.has(b));
    const f = Math.floor((this.n - 1) / 3);
    const count = this.opts.byzantine ?? (available.length > 0 ? f : 0);
    const out = new Map<number, readonly ByzantineBehaviour[]>();
    if (count === 0 || available.length === 0) return out;
    for (const id of rng.shuffle([...Array(this.n).keys()]).slice(0, count)) {
      let chosen = available.filter(() => rng.chance(0.5));
      if (chosen.length === 0) chosen = [rng.pick(available)];
      // A silent replica would make the others moot; keep silence for some replicas only.
      if (chosen.length > 1 && chosen.includes('silent'))
        chosen = chosen.filter((b) => b !== 'silent');
      out.set(id, chosen);
    }
    return out;
  }

  /**
   * Clock faults count against f, as Byzantine ones do (block time is bounded by the correct
   * clocks only while at most f validators are faulty, chain/block-time.ts): every Byzantine
   * replica, then others up to f validators in all, get an offset of 5–120 s either way
   * (skew) and a rate error of 0.1–5% either way (drift).
   */
  private assignClocks(
    rng: Prng,
    byzantine: ReadonlyMap<number, readonly ByzantineBehaviour[]>,
  ): Map<number, ClockFault> {
    if (this.opts.clockAssignment !== undefined) return new Map(this.opts.clockAssignment);
    const skew = this.faults.has('skew');
    const drift = this.faults.has('drift');
    const out = new Map<number, ClockFault>();
    if (!skew && !drift) return out;
    const f = Math.floor((this.n - 1) / 3);
    const others = rng.shuffle([...Array(this.n).keys()].filter((id) => !byzantine.has(id)));
    const chosen = [...byzantine.keys(), ...others.slice(0, Math.max(0, f - byzantine.size))];
    const sign = (): number => (rng.chance(0.5) ? 1 : -1);
    for (const id of chosen) {
      out.set(id, {
        offsetMs: skew ? sign() * rng.int(5_000, 120_001) : 0,
        drift: drift ? (sign() * rng.int(1, 51)) / 1_000 : 0,
      });
    }
    return out;
  }

  /** What replica `r`'s clock reads now (ms since epoch). */
  private clockOf(r: Replica): number {
    return Math.max(
      0,
      Math.floor(GENESIS_TIME + this.now * (1 + r.clock.drift) + r.clock.offsetMs),
    );
  }

  private planCrashes(rng: Prng): CrashPlan[] {
    if (!this.faults.has('crash') || this.gstMs < 100) return [];
    const honest = this.replicas.filter((r) => !r.faulty).map((r) => r.id);
    if (honest.length === 0) return [];
    const f = Math.max(1, Math.floor((this.n - 1) / 3));
    const plans: CrashPlan[] = [];
    const count = rng.int(1, f + 2);
    for (let i = 0; i < count; i++) {
      const atMs = rng.int(Math.floor(this.gstMs * 0.05), Math.floor(this.gstMs * 0.85));
      const downMs = Math.max(
        1,
        Math.min(
          rng.int(Math.floor(this.gstMs * 0.01) + 1, Math.floor(this.gstMs * 0.3) + 2),
          this.gstMs - atMs - 1,
        ),
      );
      plans.push({
        replica: rng.pick(honest),
        atMs,
        downMs,
        ...(rng.chance(0.5) ? { afterActions: rng.int(0, 4) } : {}),
        ...(this.opts.forgetWalOnRestart ? { forgetWal: true } : {}),
      });
    }
    return plans;
  }

  // -------------------------------------------------------------------------------------------

  run(): SimulationReport {
    for (;;) {
      const time = this.queue.peekTime();
      if (time === undefined || time > this.durationMs) break;
      const { item } = this.queue.pop()!;
      this.now = time;
      this.handle(item);
    }
    this.now = this.durationMs;
    return this.finish();
  }

  private log(
    node: number | null,
    event: TraceEventKind,
    fields: Readonly<Record<string, TraceValue>> = {},
  ): void {
    if (this.trace !== null) this.trace.push({ t: traceTime(this.now), node, event, ...fields });
  }

  private handle(e: SimEvent): void {
    switch (e.kind) {
      case 'start':
        this.boot(this.replicas[e.replica]!, false);
        return;
      case 'deliver':
        this.deliver(e.from, e.to, e.bytes);
        return;
      case 'timer': {
        const r = this.live(e.replica, e.incarnation);
        if (r === null || r.timerGen[e.timer] !== e.gen) return;
        this.log(r.id, 'timer', { timer: e.timer, height: e.height, view: e.view });
        this.step(r, { type: 'timer', kind: e.timer, height: e.height, view: e.view });
        return;
      }
      case 'built':
        this.built(e);
        return;
      case 'validated': {
        const r = this.live(e.replica, e.incarnation);
        if (r === null) return;
        const problem =
          r.chain.length + 1 === e.height
            ? validateSimBlock(this.chainCtx, e.block, this.parent(r))
            : 'not at this height';
        this.log(r.id, 'validated', {
          digest: digestPrefix(e.block.hash),
          height: e.height,
          valid: problem === null,
          problem,
        });
        this.step(r, {
          type: 'proposal-validated',
          height: e.height,
          blockHash: e.block.hash,
          valid: problem === null,
        });
        return;
      }
      case 'sync':
        this.sync(e.replica, e.incarnation);
        return;
      case 'crash': {
        const r = this.replicas[e.plan.replica]!;
        if (r.engine === null) return;
        r.pendingForgetWal = e.plan.forgetWal ?? false;
        r.pendingDownMs = e.plan.downMs;
        if (e.plan.afterActions === undefined) this.crashNow(r);
        else r.crashAfterActions = e.plan.afterActions;
        return;
      }
      case 'restart':
        this.boot(this.replicas[e.replica]!, e.forgetWal);
        return;
      case 'gst':
        this.frontierAtGst = Math.max(...this.honest().map((r) => r.chain.length));
        this.log(null, 'gst', { frontier: this.frontierAtGst });
        return;
    }
  }

  private honest(): Replica[] {
    return this.replicas.filter((r) => !r.faulty);
  }

  private live(id: number, incarnation: number): Replica | null {
    const r = this.replicas[id]!;
    return r.engine !== null && r.incarnation === incarnation ? r : null;
  }

  private parent(r: Replica): ParentInfo {
    return r.chain.at(-1)?.info ?? genesisParent(this.chainCtx);
  }

  /**
   * The replica's `validatorsAt`, from its own committed chain: the set of h is the one block
   * h − 1 names. `decided`, the block of h − 1 the engine just decided but the replica has not
   * committed yet, names it too. Above the next height: the latest known set, a guess.
   */
  private validatorsOf(r: Replica, height: number, decided?: SealedBlock): ValidatorSet {
    const tip = r.chain.length;
    const broken = this.opts.brokenSets;
    if (
      decided !== undefined &&
      broken !== 'ignore-decided' &&
      decided.header.height === height - 1 &&
      height - 1 === tip + 1
    ) {
      return setAfter(this.chainCtx, childInfo(this.chainCtx, this.parent(r), decided));
    }
    if (broken === 'late' && decided === undefined) height--;
    if (height <= 1) return this.chainCtx.validators;
    if (height > tip + 1) return setAfter(this.chainCtx, this.parent(r));
    return setAfter(this.chainCtx, r.chain[height - 2]!.info);
  }

  private validate(block: SealedBlock, parent: ParentInfo): string | null {
    let byParent = this.validations.get(block);
    if (byParent === undefined) {
      byParent = new Map();
      this.validations.set(block, byParent);
    }
    const key = toHex(parent.hash);
    let problem = byParent.get(key);
    if (problem === undefined) {
      problem = validateSimBlock(this.chainCtx, block, parent);
      byParent.set(key, problem);
    }
    return problem;
  }

  private makeEngine(r: Replica): SimEngine {
    return this.protocol.makeEngine({
      chainId: CHAIN_ID,
      publicKey: r.key.publicKey,
      validatorsAt: (height, decided) => this.validatorsOf(r, height, decided),
      sign: r.key.sign,
      verify: this.chainCtx.verify,
      clock: () => this.clockOf(r),
      timeouts: this.timeouts,
      windows: { ...SIM_WINDOWS, ...this.opts.windows },
      ...(this.opts.unsafe ? { unsafe: this.opts.unsafe } : {}),
    });
  }

  private boot(r: Replica, forgetWal: boolean): void {
    if (r.halted) return;
    if (forgetWal) r.wal = [];
    r.enteredHeight = 0;
    const wal = r.wal.map((entry) => this.protocol.decodeWal(this.protocol.encodeWal(entry)));
    r.engine = this.makeEngine(r);
    const tip = r.chain.at(-1);
    this.log(r.id, r.incarnation === 0 ? 'start' : 'restart', {
      height: r.chain.length + 1,
      walEntries: wal.length,
      walForgotten: forgetWal,
    });
    this.step(r, {
      type: 'start',
      height: r.chain.length + 1,
      lastCommit: tip?.certificate ?? null,
      wal,
    });
  }

  private crashNow(r: Replica): void {
    const engine = r.engine!;
    r.viewChanges += engine.status().viewChanges;
    this.addRejections(r, engine);
    r.engine = null;
    r.incarnation++;
    r.crashAfterActions = null;
    r.syncScheduled = false;
    this.crashes++;
    this.log(r.id, 'crash', { downMs: r.pendingDownMs });
    this.queue.push(this.now + r.pendingDownMs, {
      kind: 'restart',
      replica: r.id,
      forgetWal: r.pendingForgetWal,
    });
  }

  private addRejections(r: Replica, engine: SimEngine): void {
    const counts = engine.rejections();
    for (const reason of REJECT_REASONS) r.rejections[reason] += counts[reason];
    r.evidence += engine.evidence().length;
  }

  private step(r: Replica, event: ProtocolEvent): void {
    const engine = r.engine!;
    const before = this.trace !== null ? engine.status() : null;
    let actions: ProtocolAction[];
    try {
      actions = engine.step(event);
    } catch (err) {
      // A node's driver stops on an engine error; so does this replica, for good.
      this.checker.onEngineError(this.now, r.id, engine.status().height, err);
      this.log(r.id, 'halt', { error: (err as Error).message });
      r.viewChanges += engine.status().viewChanges;
      this.addRejections(r, engine);
      r.engine = null;
      r.halted = true;
      r.incarnation++;
      return;
    }
    this.checker.checkMemory(this.now, r.id, engine.memory(), this.memoryCaps(engine));
    if (before !== null) {
      const after = engine.status();
      if (after.view !== before.view || after.phase !== before.phase) {
        this.log(r.id, 'state', { height: after.height, view: after.view, phase: after.phase });
      }
    }
    const incarnation = r.incarnation;
    this.execute(r, actions);
    if (r.incarnation !== incarnation || r.faulty) return;
    // The engine entered a height: with its index in the chain's set of that height.
    const status = engine.status();
    if (status.started && status.height !== r.enteredHeight) {
      r.enteredHeight = status.height;
      this.checker.onEnterHeight(
        this.now,
        r.id,
        status.height,
        r.key.publicKey,
        status.validatorIndex,
      );
    }
  }

  /**
   * Caps for the largest set of the run; the future buffer, keyed by validator key, may hold
   * messages checked against a guessed set, so up to every key of the run.
   */
  private memoryCaps(engine: SimEngine): ReturnType<SimEngine['memoryCaps']> {
    if (this.caps === null) {
      this.caps = {
        ...engine.memoryCaps(this.maxSetSize),
        futureTotal: engine.memoryCaps(this.poolSize).futureTotal,
      };
    }
    return this.caps;
  }

  private execute(r: Replica, actions: readonly ProtocolAction[]): void {
    const incarnation = r.incarnation;
    for (const action of actions) {
      if (r.crashAfterActions !== null) {
        if (r.crashAfterActions === 0) {
          this.crashNow(r);
          return;
        }
        r.crashAfterActions--;
      }
      this.perform(r, action);
      if (this.opts.hooks?.afterAction !== undefined) {
        this.opts.hooks.afterAction({
          replica: r.id,
          action: action as ConsensusAction,
          now: this.now,
          crash: ({ downMs, forgetWal }) => {
            r.pendingDownMs = downMs;
            r.pendingForgetWal = forgetWal ?? false;
            r.crashAfterActions = 0;
          },
        });
      }
      if (r.incarnation !== incarnation) return;
    }
    if (r.crashAfterActions === 0) this.crashNow(r);
  }

  private perform(r: Replica, action: ProtocolAction): void {
    const incarnation = r.incarnation;
    switch (action.type) {
      case 'persist':
        r.wal.push(action.entry);
        return;
      case 'broadcast':
        this.broadcast(r, action.message, action.bytes);
        return;
      case 'send':
        this.sendTo(r, action.to, action.message, action.bytes);
        return;
      case 'set-timer': {
        const gen = ++r.timerGen[action.kind];
        this.queue.push(this.now + action.ms, {
          kind: 'timer',
          replica: r.id,
          incarnation,
          gen,
          timer: action.kind,
          height: action.height,
          view: action.view,
        });
        return;
      }
      case 'clear-timer':
        ++r.timerGen[action.kind];
        return;
      case 'build-proposal':
        // Building a block takes the node 50–150 ms (batching txs, executing them).
        this.queue.push(this.now + this.nodeRng.int(50, 150), {
          kind: 'built',
          replica: r.id,
          incarnation,
          height: action.height,
          view: action.view,
          lastCommit: action.lastCommit,
        });
        return;
      case 'validate-proposal':
        this.queue.push(this.now + this.nodeRng.int(1, 10), {
          kind: 'validated',
          replica: r.id,
          incarnation,
          height: action.height,
          block: action.block,
        });
        return;
      case 'commit':
        this.commit(r, action.block, action.certificate, null);
        return;
      case 'evidence':
        this.log(r.id, 'evidence', {
          kind: action.evidence.kind,
          height: action.evidence.height,
          view: action.evidence.view,
          against: action.evidence.validatorIndex,
        });
        return;
      case 'need-sync':
        this.log(r.id, 'need-sync', { targetHeight: action.targetHeight });
        if (!r.syncScheduled) {
          r.syncScheduled = true;
          this.queue.push(this.now + this.nodeRng.int(20, 80), {
            kind: 'sync',
            replica: r.id,
            incarnation,
          });
        }
        return;
      case 'reject':
        if (this.trace !== null && !r.faulty) {
          this.log(r.id, 'reject', {
            reason: action.reason,
            signer: action.validatorIndex ?? null,
            detail: action.detail,
          });
        }
        return;
    }
  }

  private broadcast(r: Replica, message: SimMessage, bytes: Uint8Array): void {
    const others = this.replicas.filter((o) => o.id !== r.id).map((o) => o.id);
    if (this.trace !== null) this.log(r.id, 'send', this.protocol.summary(message));
    if (r.byzantine === null) {
      this.checkSigned(r, message);
      for (const to of others) this.send(r.id, to, bytes);
      return;
    }
    for (const o of r.byzantine.onBroadcast(message, bytes, others)) this.send(r.id, o.to, o.bytes);
  }

  /** A message to one validator (HotStuff's votes): every replica holding its key gets it. */
  private sendTo(r: Replica, key: Uint8Array, message: SimMessage, bytes: Uint8Array): void {
    const targets = this.replicas
      .filter((o) => o.id !== r.id && equalBytes(o.key.publicKey, key))
      .map((o) => o.id);
    if (this.trace !== null) this.log(r.id, 'send', this.protocol.summary(message));
    if (r.byzantine === null) {
      this.checkSigned(r, message);
      for (const to of targets) this.send(r.id, to, bytes);
      return;
    }
    const others = this.replicas.filter((o) => o.id !== r.id).map((o) => o.id);
    for (const o of r.byzantine.onSend(message, bytes, targets, others)) {
      this.send(r.id, o.to, o.bytes);
    }
  }

  private checkSigned(r: Replica, message: SimMessage): void {
    if (r.faulty) return;
    const signed = this.protocol.signed(message);
    if (signed !== null) this.checker.onHonestSigned(this.now, r.id, r.key.publicKey, signed);
  }

  /** The replicas holding the key of the leader of (height, view) (HotStuff's rule). */
  private leaderReplicas(observer: Replica, height: number, view: number): number[] {
    const set = this.validatorsOf(observer, height);
    const key = set.validators[(height + view) % set.validators.length]!;
    return this.replicas.filter((o) => equalBytes(o.key.publicKey, key)).map((o) => o.id);
  }

  private decode(bytes: Uint8Array): SimMessage | null {
    let m = this.decoded.get(bytes);
    if (m === undefined) {
      try {
        m = this.protocol.decode(bytes);
      } catch {
        m = null;
      }
      this.decoded.set(bytes, m);
    }
    return m;
  }

  private send(from: number, to: number, bytes: Uint8Array): void {
    this.sent++;
    this.bytesSent += bytes.length;
    if (this.now < this.gstMs && !this.reachable(from, to)) {
      this.lost++;
      return;
    }
    const hook = this.opts.hooks?.deliver?.({
      from,
      to,
      message: this.decode(bytes) as ConsensusMessage | null,
      now: this.now,
    });
    let delays: number[];
    if (hook === 'drop') delays = [];
    else if (typeof hook === 'number') delays = [hook];
    else delays = deliveryDelays(this.plan, this.netRng, from, to, this.now);
    if (delays.length === 0) this.lost++;
    for (const d of delays) this.queue.push(this.now + d, { kind: 'deliver', from, to, bytes });
  }

  private reachable(from: number, to: number): boolean {
    const a = this.replicas[from]!.reach;
    const b = this.replicas[to]!.reach;
    return (a === null || a.has(to)) && (b === null || b.has(from));
  }

  private deliver(from: number, to: number, bytes: Uint8Array): void {
    const r = this.replicas[to]!;
    if (r.engine === null) {
      this.lost++;
      return;
    }
    this.delivered++;
    const message = this.decode(bytes);
    if (r.byzantine !== null) {
      const others = this.replicas.filter((o) => o.id !== r.id).map((o) => o.id);
      const leaders = (height: number, view: number) => this.leaderReplicas(r, height, view);
      for (const o of r.byzantine.onReceive(bytes, message, others, leaders)) {
        this.send(r.id, o.to, o.bytes);
      }
    }
    if (this.trace !== null) {
      if (message === null) this.log(to, 'undecodable', { from, bytes: bytes.length });
      else this.log(to, 'receive', { from, ...this.protocol.summary(message) });
    }
    this.step(r, message === null ? { type: 'message', bytes } : { type: 'message', message });
  }

  private built(e: Extract<SimEvent, { kind: 'built' }>): void {
    const r = this.live(e.replica, e.incarnation);
    if (r === null || r.chain.length + 1 !== e.height) return;
    const invalid = r.byzantine?.has('invalid-block') === true && this.nodeRng.chance(0.7);
    const block = buildSimBlock(this.chainCtx, {
      parent: this.parent(r),
      proposer: r.key.publicKey,
      lastCommit: e.lastCommit,
      salt: this.nodeRng.int(0, 1_000_000_000),
      invalid,
    });
    this.checker.noteBuilt(block, this.now);
    this.log(r.id, 'built', {
      digest: digestPrefix(block.hash),
      height: e.height,
      view: e.view,
      invalid,
    });
    this.step(r, { type: 'proposal-built', height: e.height, view: e.view, block });
  }

  private alternativeBlock(id: number, original: SealedBlock): SealedBlock {
    const r = this.replicas[id]!;
    const parent =
      r.chain.length + 1 === original.header.height ? this.parent(r) : genesisParent(this.chainCtx);
    const block = buildSimBlock(this.chainCtx, {
      parent,
      proposer: r.key.publicKey,
      lastCommit: original.lastCommit,
      salt: this.nodeRng.int(0, 1_000_000_000),
      // The other block may leave a due set change out: two forks, two next sets.
      skipChange: (this.chainCtx.plan?.length ?? 0) > 0 && this.nodeRng.chance(0.5),
    });
    this.checker.noteBuilt(block, this.now);
    return block;
  }

  private commit(
    r: Replica,
    block: SealedBlock,
    certificate: CommitCertificate,
    /** The replica it was synced from; null when committed by consensus. */
    syncedFrom: number | null,
  ): void {
    const parent = this.parent(r);
    if (block.header.height !== r.chain.length + 1) {
      this.checker.report(
        'validity',
        this.now,
        r.id,
        block.header.height,
        `commit of height ${block.header.height} on a chain of ${r.chain.length}`,
      );
      return;
    }
    const current = this.validatorsOf(r, block.header.height);
    r.chain.push({ block, certificate, info: childInfo(this.chainCtx, parent, block) });
    if (!r.faulty) {
      const next = this.validatorsOf(r, block.header.height + 1);
      this.checker.onCommit(this.now, r.id, block, certificate, parent, { current, next });
    }
    // The driver truncates the WAL below the committed height after each commit.
    r.wal = r.wal.filter((entry) => this.protocol.walHeight(entry) > block.header.height);
    if (
      this.frontierAtGst >= 0 &&
      r.recoveredAtMs === null &&
      r.chain.length > this.frontierAtGst
    ) {
      r.recoveredAtMs = this.now;
    }
    this.log(r.id, 'commit', {
      height: block.header.height,
      digest: digestPrefix(block.hash),
      certificateView: certificate.view,
      by: syncedFrom === null ? 'consensus' : 'sync',
      source: syncedFrom,
    });
  }

  /** Block sync: copy certified blocks from a reachable honest replica, validating each. */
  private sync(id: number, incarnation: number): void {
    const r = this.live(id, incarnation);
    if (r === null) return;
    r.syncScheduled = false;
    let source: Replica | null = null;
    for (const s of this.replicas) {
      if (s === r || s.faulty || s.engine === null) continue;
      if (
        this.now < this.gstMs &&
        (partitioned(this.plan, s.id, r.id, this.now) ||
          partitioned(this.plan, r.id, s.id, this.now))
      )
        continue;
      if (
        s.chain.length > r.chain.length &&
        (source === null || s.chain.length > source.chain.length)
      )
        source = s;
    }
    if (source === null) return;
    const first = r.chain.length + 1;
    let last: CommitCertificate | null = null;
    while (r.chain.length < source.chain.length && r.chain.length < first + 63) {
      const { block, certificate } = source.chain[r.chain.length]!;
      if (this.validate(block, this.parent(r)) !== null) break;
      this.commit(r, block, certificate, source.id);
      last = certificate;
    }
    if (last === null) return;
    this.syncs++;
    this.step(r, { type: 'synced', height: last.height, certificate: last });
  }

  private finish(): SimulationReport {
    const honest = this.honest();
    const viewChanges = honest.reduce(
      (sum, r) => sum + r.viewChanges + (r.engine?.status().viewChanges ?? 0),
      0,
    );
    const rejections = emptyRejections();
    let evidence = 0;
    for (const r of honest) {
      if (r.engine !== null) this.addRejections(r, r.engine);
      for (const reason of REJECT_REASONS) rejections[reason] += r.rejections[reason];
      evidence += r.evidence;
    }
    let recovery: number | null = null;
    // Liveness is judged only when the run leaves the whole window after GST.
    if (this.frontierAtGst >= 0 && this.durationMs - this.gstMs >= this.boundMs) {
      for (const r of honest) {
        if (r.recoveredAtMs === null) {
          this.checker.report(
            'liveness',
            this.now,
            r.id,
            r.chain.length,
            `replica ${r.id} stuck at height ${r.chain.length}: no commit past the GST frontier ${this.frontierAtGst} within ${this.boundMs} ms of GST`,
          );
        } else {
          recovery = Math.max(recovery ?? 0, r.recoveredAtMs - this.gstMs);
        }
      }
    }
    const heights = honest.map((r) => r.chain.length);
    const latencies = this.checker.commitLatencies();
    return {
      seed: this.opts.seed,
      validators: this.n,
      faults: [...this.faults],
      byzantine: this.replicas
        .filter((r) => r.faulty)
        .map((r) => ({ replica: r.id, behaviours: r.label })),
      clocks: this.replicas
        .filter((r) => r.clock !== CORRECT_CLOCK)
        .map((r) => ({ replica: r.id, ...r.clock })),
      signatures: this.opts.signatures ?? 'fake',
      durationMs: this.durationMs,
      gstMs: this.gstMs,
      livenessBoundMs: this.boundMs,
      committedMin: heights.length > 0 ? Math.min(...heights) : 0,
      committedMax: heights.length > 0 ? Math.max(...heights) : 0,
      viewChanges,
      crashes: this.crashes,
      syncs: this.syncs,
      messages: {
        sent: this.sent,
        delivered: this.delivered,
        lost: this.lost,
        bytesSent: this.bytesSent,
      },
      network: {
        loss: this.plan.loss,
        duplicate: this.plan.duplicate,
        partitions: this.plan.partitions.length,
      },
      rejections,
      commitLatencyMs: latencySummary(latencies),
      commitLatenciesMs: latencies,
      evidence,
      recoveryAfterGstMs: recovery,
      reconfiguration:
        this.reconfig === null
          ? null
          : {
              scenario: this.reconfig.scenario,
              planned: this.reconfig.changes.map(
                (c) => `${describeChange(c.change)} from h≥${c.notBefore}`,
              ),
              refused: this.reconfig.refused,
              executed: this.checker.changesCommitted(),
              replicas: this.poolSize,
            },
      violations: [...this.checker.violations],
      ...(this.trace !== null
        ? { trace: this.trace.map(formatTraceEvent), traceEvents: this.trace }
        : {}),
    };
  }
}

/** Runs one seeded simulation and checks it (see checker.ts for the properties). */
export function runSimulation(options: SimulationOptions): SimulationReport {
  return new Simulation(options).run();
}
