/**
 * Binds the HotStuff driver (src/consensus/hotstuff/driver.ts: the PBFT node's driver over
 * HotStuff's engine) to the node, for a chain whose genesis names `consensus.protocol:
 * "hotstuff"` (docs/HOTSTUFF.md, "In the node"). As PbftConsensus: messages travel on the
 * chain's consensus gossip topic in the same nonce envelope, the WAL lives in LevelDB (behind
 * HotStuff's protocol byte), timers are real, blocks are built, validated and committed by the
 * node's ConsensusApp, and a silent leader's view is cut short by the primary watch.
 *
 * What differs:
 * - Votes go to the leader (`send`). libp2p here has no direct consensus stream, so a vote is
 *   gossiped on the topic like everything else (flood publish hands it to every member at
 *   once, the leader among them) and a replica that does not lead the vote's view drops it
 *   before its engine sees it. The normal case thus costs O(n²) gossip deliveries, as PBFT
 *   does, though each replica handles only what it needs.
 * - Proposals carry full blocks: PBFT's compact form (compact-proposal.ts) is laid out on
 *   PBFT's message encoding.
 * - No idle interval: HotStuff's view timers do not allow for a leader waiting for txs
 *   (EngineConfig.emptyBlockIntervalMs is PBFT's), so every block is built as after a view
 *   change: txs or not, within half the view timeout.
 */

import type { CommitCertificate } from '../chain/index.ts';
import type { EngineStatus } from '../consensus/engine.ts';
import { createHotStuffDriver, type HotStuffDriver } from '../consensus/hotstuff/driver.ts';
import {
  decodeHotStuffMessage,
  type HotStuffMessage,
  positionOf,
} from '../consensus/hotstuff/messages.ts';
import { leaderIndex } from '../consensus/hotstuff/pacemaker.ts';
import type { HotStuffWalEntry } from '../consensus/hotstuff/wal.ts';
import type { ConsensusService, ConsensusStatus } from './consensus-service.ts';
import {
  consensusPublisher,
  engineBase,
  fatalOn,
  openEnvelope,
  primaryWatchFor,
  roundTimers,
  WATCH_INTERVAL_MS,
  walBinding,
} from './driver-binding.ts';
import type { LevelWal } from './level-wal.ts';
import type { PbftModules, PbftOptions } from './pbft-consensus.ts';
import type { HeardMessage, PrimaryWatch } from './primary-watch.ts';

/** PBFT's options but its compact proposals and idle interval (see above). */
export type HotStuffOptions = Omit<PbftOptions, 'compact' | 'resolver' | 'emptyBlockIntervalMs'>;

export type HotStuffModules = Omit<PbftModules, 'lookupTx' | 'sendInline' | 'wal'> & {
  wal: Pick<LevelWal<HotStuffWalEntry>, 'append' | 'load' | 'truncateBelow'>;
};

export class HotStuffConsensus implements ConsensusService {
  private readonly driver: HotStuffDriver;
  private readonly m: HotStuffModules;
  private readonly opts: HotStuffOptions;
  private readonly watch: PrimaryWatch;
  /** Bytes of consensus messages this node published (its envelopes' contents). */
  readonly publishedBytes = { wire: 0, v1: 0 };
  /** Votes heard for views this node does not lead, dropped before the engine. */
  droppedVotes = 0;
  private watchTimer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private loggedViewChange: EngineStatus['lastViewChange'] = null;

  constructor(opts: HotStuffOptions, m: HotStuffModules) {
    this.opts = opts;
    this.m = m;
    const log = m.logger;
    const fatal = fatalOn(m.onFatal);
    const publishWire = consensusPublisher(m.p2p, log);
    const publish = (bytes: Uint8Array): Promise<void> => {
      this.publishedBytes.wire += bytes.length;
      this.publishedBytes.v1 += bytes.length;
      return publishWire(bytes);
    };
    this.driver = createHotStuffDriver(
      {
        engine: engineBase(opts, m.clock),
      },
      {
        network: {
          broadcast: (bytes) => publish(bytes),
          // Gossiped: the replicas that do not lead the vote's view drop it (onMessage).
          send: (_to, bytes) => publish(bytes),
        },
        wal: walBinding(m.wal, fatal),
        timers: roundTimers(
          () => this.logViewChange(),
          () => this.checkLeader(),
        ),
        app: {
          // Every block is built as after a view change (view ≥ 1): see "No idle interval".
          buildProposal: (height, view) => m.app.buildProposal(height, Math.max(view, 1)),
          validateProposal: (block) => m.app.validateProposal(block),
          commit: (block, certificate) => {
            m.onDecided?.(certificate);
            return fatal(m.app.commit(block, certificate));
          },
          requestSync: (target) => m.requestSync(target),
          // The driver logs each one at debug level.
          onReject: (reason) => m.metrics.consensusRejected(reason),
        },
        logger: log,
      },
    );
    this.watch = primaryWatchFor(this.driver, opts, log, 'leader');
    // Cheap checks at the gossip layer (it decodes strictly), so garbage is never relayed;
    // signatures are checked once, by the engine, on the message decoded here.
    const decoded = new WeakMap<Uint8Array, HotStuffMessage>();
    m.p2p.onGossip(
      'consensus',
      (data) => {
        const bytes = openEnvelope(data);
        if (bytes === undefined) return 'reject';
        try {
          decoded.set(data, decodeHotStuffMessage(bytes));
          return 'accept';
        } catch {
          return 'reject';
        }
      },
      (data) => {
        const message = decoded.get(data);
        if (message !== undefined) this.onMessage(message);
      },
    );
  }

  async start(): Promise<void> {
    this.watch.begin();
    await this.driver.start(this.m.app.height() + 1, this.m.app.lastCertificate());
    if (!this.stopped) {
      this.watchTimer = setInterval(() => this.checkLeader(), WATCH_INTERVAL_MS);
      this.watchTimer.unref();
    }
  }

  /** HotStuff has no idle interval, so the mempool's state changes nothing. */
  onTxsAvailable(): void {}

  onBlockSynced(height: number, certificate: CommitCertificate): void {
    this.driver.onBlockSynced(height, certificate);
  }

  status(): ConsensusStatus {
    const s = this.driver.status();
    return { engine: 'hotstuff', view: s.view, primary: s.primary, viewChanges: s.viewChanges };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchTimer !== null) clearInterval(this.watchTimer);
    this.watchTimer = null;
    await this.driver.stop();
  }

  private onMessage(message: HotStuffMessage): void {
    const heard = heardOf(message, (h, v) => this.leaderOf(h, v));
    if (heard !== null) this.watch.heard(heard);
    if (message.type === 'vote') {
      const leader = this.leaderOf(message.height, message.view);
      const me = this.driver.status();
      if (leader !== null && message.height === me.height && leader !== me.validatorIndex) {
        this.droppedVotes++;
        return;
      }
    }
    this.driver.deliver(message);
  }

  /** The leader of (height, view), null when the set of that height is not known here. */
  private leaderOf(height: number, view: number): number | null {
    try {
      return leaderIndex(height, view, this.opts.validatorsAt(height).validators.length);
    } catch {
      return null;
    }
  }

  private checkLeader(): void {
    if (!this.stopped) this.watch.check();
  }

  /** One info line per view this replica moves to, with why (EngineStatus.lastViewChange). */
  private logViewChange(): void {
    const change = this.driver.status().lastViewChange;
    if (change === null || change === this.loggedViewChange) return;
    this.loggedViewChange = change;
    this.m.logger.info('view change', {
      height: change.height,
      view: change.view,
      reason: change.reason,
      primary: this.leaderOf(change.height, change.view),
    });
  }
}

/**
 * What the primary watch hears in a message: its author, or for a QC or DECIDE (which only
 * the view's leader broadcasts) the leader; a PROPOSAL counts as the round's proposal.
 */
function heardOf(
  m: HotStuffMessage,
  leaderOf: (height: number, view: number) => number | null,
): HeardMessage | null {
  const { height, view } = positionOf(m);
  if (m.type === 'proposal')
    return { type: 'pre-prepare', height, view, validatorIndex: m.validatorIndex };
  if (m.type === 'vote' || m.type === 'timeout') {
    return { type: m.type, height, view, validatorIndex: m.validatorIndex };
  }
  const leader = leaderOf(height, view);
  return leader === null ? null : { type: m.type, height, view, validatorIndex: leader };
}
