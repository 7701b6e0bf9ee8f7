/**
 * The composition root. Builds the parts in order — config → genesis and key → ledger
 * (LevelDB) → signature verification (worker pool and verified-tx cache, verification.ts),
 * metrics, caches, mempool → commit path, tx intake, block producer → network, block sync
 * (through the block pipeline), tx gossip, consensus → API — hands each the narrow interface
 * it uses, and stops them in reverse. No part reaches for another on its own, and none gets
 * the node.
 */

import { EventEmitter } from 'node:events';
import { getHeapStatistics } from 'node:v8';
import { getAccount } from '../app/bank/account.ts';
import { type App, civitasApp, civitasStateMachine } from '../app/index.ts';
import type { ValueCodec } from '../app/state-view.ts';
import { entriesCodec, isObserverReadiness, OBSERVERS_KEY } from '../app/validators/state.ts';
import { addressOf } from '../chain/address.ts';
import {
  type CommitCertificate,
  consensusProtocol,
  type Genesis,
  type SealedBlock,
  type Tx,
} from '../chain/index.ts';
import { HOTSTUFF_WAL_CODEC } from '../consensus/hotstuff/wal.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';
import type { KeyPair } from '../crypto/ed25519.ts';
import type { PassphraseInput } from '../crypto/keyfile.ts';
import { loadCheckedKeyFile } from '../crypto/keyfile-checked.ts';
import { CivitasError, type ReceiptFailureCode } from '../errors/index.ts';
import { P2PNode, validatorKeyFromPeerId } from '../p2p/index.ts';
import { Ledger, RECENT_BLOCKS } from '../state/ledger.ts';
import { AdmissionPolicy } from './admission-policy.ts';
import { BlockCommitter, type NodeEvents } from './block-committer.ts';
import { BlockProducer } from './block-producer.ts';
import { BlockSizer } from './block-sizer.ts';
import { BlockSync } from './block-sync.ts';
import { BlockWorkGate } from './block-work-gate.ts';
import { NodeClock } from './clock.ts';
import { ClockHealth } from './clock-health.ts';
import { CommitCache } from './commit-cache.ts';
import { loadConfig, loadPsk, type NodeConfig, resolveHomePath } from './config.ts';
import type { ConsensusService, ConsensusStatus } from './consensus-service.ts';
import { clockOffsetFromEnv, FaultInjector, faultInjectionEnabled } from './fault-injection.ts';
import { loadGenesisFile } from './genesis-file.ts';
import { HotStuffConsensus } from './hotstuff-consensus.ts';
import { LevelWal } from './level-wal.ts';
import { createLogger, type Logger } from './logger.ts';
import { heapLimitWarning, memoryPlan, VALUE_ENTRY_BYTES } from './memory-budget.ts';
import { Mempool } from './mempool.ts';
import { NodeMetrics } from './metrics.ts';
import { PbftConsensus } from './pbft-consensus.ts';
import { RpcServer } from './rpc-server.ts';
import { SoloConsensus } from './solo-consensus.ts';
import { type StateSyncResult, stateSyncSource } from './state-sync.ts';
import { joinByStateSync } from './state-sync-start.ts';
import { TxGossip } from './tx-gossip.ts';
import { TxIntake } from './tx-intake.ts';
import { TxWaiters } from './tx-waiters.ts';
import { defaultNodeVerifyWorkers, Verification } from './verification.ts';

export type { CommittedBlockEvent } from './block-committer.ts';

/** The block sizer never caps a proposal below this many txs. */
const MIN_PROPOSAL_TXS = 100;

export interface NodeStartOptions {
  logger?: Logger;
  /** Override the API listen address (tests use port 0). */
  rpcListen?: string;
  /** Signature verification worker threads (default: one per core; 0 = the event loop). */
  verifyWorkers?: number;
  /** The validator key's passphrase, asked for only if the key file is encrypted. */
  keyPassphrase?: PassphraseInput;
  /** Join by state sync if the data dir holds no block, whatever `state.sync` says (--state-sync). */
  stateSync?: boolean;
}

/** The parts that exist only on a chain of several validators. */
interface NetworkParts {
  p2p: P2PNode;
  sync: BlockSync;
  txGossip: TxGossip;
  /**
   * PBFT, or HotStuff if the genesis names it (consensus.protocol), built with the network;
   * the consensus whenever the set is more than this node.
   */
  pbft: PbftConsensus | HotStuffConsensus;
  faults: FaultInjector | undefined;
}

/** While the clock stays off, its warning repeats this often. */
const CLOCK_WARN_EVERY_MS = 60_000;

/** See sendInline below: how recent a tx must be to travel inline in our compact proposals. */
const INLINE_RECENT_MS = 500;

export class CivitasNode {
  readonly home: string;
  readonly config: NodeConfig;
  readonly genesis: Genesis;
  readonly keys: KeyPair;
  readonly log: Logger;
  readonly ledger: Ledger;
  /** The application the ledger executes (and the API renders objects with). */
  readonly app: App;
  readonly startedAt = Date.now();
  readonly events: NodeEvents = new EventEmitter();
  readonly metrics: NodeMetrics;
  /**
   * Signature verification on every path (admission, proposals, sync): the worker pool and
   * the verified-tx cache, built by the same factory as `bench validate`'s.
   */
  readonly verification: Verification;
  /** Committed nonces of active senders and recent tx hashes, so admission reads no disk. */
  readonly commitCache: CommitCache;
  /** Who may transact (membership on a permissioned chain), per sender, following the commits. */
  readonly admission: AdmissionPolicy;
  readonly mempool: Mempool;
  /** Caps proposals so a height stays well inside the view timeout (block-sizer.ts). */
  readonly blockSizer: BlockSizer;
  readonly committer: BlockCommitter;
  readonly intake: TxIntake;
  readonly producer: BlockProducer;
  /** What this node believes the time is (skewed only by fault injection). */
  readonly clock: NodeClock;
  /** How far that is from the validators' vote times (clock-health.ts). */
  readonly clockHealth: ClockHealth;
  private clockWarnedAt: number | null = null;
  private membersFingerprint = '';
  private readonly waiters: TxWaiters;
  private network: NetworkParts | undefined;
  private consensus: ConsensusService | undefined;
  private rpc: RpcServer | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(parts: {
    home: string;
    config: NodeConfig;
    genesis: Genesis;
    keys: KeyPair;
    ledger: Ledger;
    app: App;
    log: Logger;
    verification: Verification;
    clock: NodeClock;
    stateSync: StateSyncResult | undefined;
  }) {
    this.app = parts.app;
    this.clock = parts.clock;
    this.verification = parts.verification;
    const { config, genesis, ledger, log } = parts;
    this.home = parts.home;
    this.config = config;
    this.genesis = genesis;
    this.keys = parts.keys;
    this.ledger = ledger;
    this.log = log;
    this.events.setMaxListeners(10_000);
    this.clockHealth = new ClockHealth({
      maxDriftMs: genesis.params.maxClockDriftMs,
      self: parts.keys.publicKey,
    });
    const memory = memoryPlan(config.memory.budgetMiB);
    this.metrics = new NodeMetrics(
      {
        clockOffsetMs: () => this.clockHealth.report().offsetMs,
        height: () => ledger.height,
        view: () => this.consensus?.status().view ?? 0,
        viewChanges: () => this.consensus?.status().viewChanges ?? 0,
        mempoolSize: () => this.mempool.size,
        mempoolQueued: () => this.mempool.queuedCount,
        peers: () => this.network?.p2p.connectedPeers().length ?? 0,
        gossip: () => this.network?.p2p.stats().gossip,
        verification: () => this.verification.stats(),
        compactProposals: () =>
          this.consensus instanceof PbftConsensus
            ? { ...this.consensus.proposals.counters }
            : undefined,
        consensusBytes: () =>
          this.consensus instanceof PbftConsensus
            ? { ...this.consensus.publishedBytes }
            : undefined,
        pruning: () => ledger.pruningStats(),
        stateSync: () => parts.stateSync,
        snapshots: () => ledger.snapshotStats(),
        memory: () => {
          const admission = this.commitCache.stats();
          const state = ledger.cacheStats();
          return {
            budgetBytes: memory.budgetBytes,
            heapLimitBytes: getHeapStatistics().heap_size_limit,
            caches: {
              verified_txs: this.verification.cacheStats(),
              recent_txs: admission.recentTxs,
              senders: admission.senders,
              state_nodes: state.nodes,
              state_values: {
                entries: state.values.entries,
                bytes: state.values.entries * VALUE_ENTRY_BYTES,
              },
              tracked_txs: this.metrics.trackedTxs(),
            },
          };
        },
      },
      { maxTrackedTxs: memory.trackedTxs },
    );
    const maxBlockTxs = genesis.params.maxBlockTxs;
    this.blockSizer = new BlockSizer({
      maxTxs: maxBlockTxs,
      minTxs: Math.min(MIN_PROPOSAL_TXS, maxBlockTxs),
      targetMs: config.consensus.timeoutMs / 2,
    });
    this.commitCache = new CommitCache(
      { maxSenders: memory.senders, maxRecentTxs: memory.recentTxs },
      { readNonce: async (sender) => (await getAccount(ledger, addressOf(sender))).nonce },
    );
    this.admission = new AdmissionPolicy({}, { readValue: (key) => ledger.getValue(key) });
    this.mempool = new Mempool(config.mempool, {
      chainId: genesis.chainId,
      maxTxLifetime: genesis.params.maxTxLifetime,
      nextHeight: () => ledger.height + 1,
      accountNonce: (sender) => this.commitCache.nonceOf(sender),
      recentlyCommitted: (hashHex) => this.commitCache.isRecentlyCommitted(hashHex),
      committed: (hashes) => ledger.store.hasTxs(hashes),
      verify: (txs, hashes) => this.verification.admit(txs, hashes),
      senderRefusal: (sender, senderHex, tx) => {
        const verdict = this.admission.check(sender, senderHex);
        if (verdict instanceof Promise) return verdict.then((v) => this.readyExemption(v, tx));
        return verdict === 'ORG_NOT_A_MEMBER' ? this.readyExemption(verdict, tx) : verdict;
      },
    });
    const gate = new BlockWorkGate();
    const validationOptions = () => this.verification.validationOptions();
    this.waiters = new TxWaiters({
      committedHeight: async (hash) => (await ledger.store.getTxLocation(hash))?.height,
    });
    this.committer = new BlockCommitter({
      ledger,
      validationOptions,
      gate,
      // Both caches of committed state follow each block's own writes, before admission
      // runs for the next height.
      caches: [this.commitCache, { onCommit: (_, executed) => this.admission.onCommit(executed) }],
      mempool: this.mempool,
      waiters: this.waiters,
      metrics: this.metrics,
      events: this.events,
      onSynced: (height, certificate) => this.consensus?.onBlockSynced(height, certificate),
      logger: log,
    });
    this.intake = new TxIntake(
      { backlogBlocks: config.mempool.backlogBlocks, maxBlockTxs },
      {
        mempool: this.mempool,
        gate,
        metrics: this.metrics,
        gossipQueued: () => this.network?.txGossip.queuedTxs ?? 0,
        onAdmitted: () => this.consensus?.onTxsAvailable(),
        relay: (encoded) => this.network?.txGossip.enqueue(encoded),
      },
    );
    this.producer = new BlockProducer(
      {
        proposer: parts.keys.publicKey,
        maxBlockBytes: genesis.params.maxBlockBytes,
        blockIntervalMs: config.consensus.blockIntervalMs,
        emptyBlockIntervalMs: config.consensus.emptyBlockIntervalMs,
        timeoutMs: config.consensus.timeoutMs,
        waitForTxs: () => !(this.consensus instanceof SoloConsensus),
      },
      {
        ledger,
        mempool: this.mempool,
        blockSizer: this.blockSizer,
        gate,
        committer: this.committer,
        validationOptions,
        metrics: this.metrics,
        logger: log,
      },
    );
  }

  static async start(home: string, opts: NodeStartOptions = {}): Promise<CivitasNode> {
    const config = await loadConfig(home);
    const log = opts.logger ?? createLogger({ ...config.log, module: config.moniker });
    const genesis = await loadGenesisFile(resolveHomePath(home, config.genesisFile));
    const keys = await loadCheckedKeyFile(resolveHomePath(home, config.keyFile), {
      passphrase: opts.keyPassphrase,
    });
    const clock = new NodeClock(clockOffsetFromEnv());
    const app = civitasApp();
    const memory = memoryPlan(config.memory.budgetMiB);
    const heapWarning = heapLimitWarning(
      config.memory.budgetMiB,
      getHeapStatistics().heap_size_limit,
    );
    if (heapWarning !== undefined) log.warn(heapWarning);
    let stateSync: StateSyncResult | undefined;
    if (opts.stateSync === true || config.state.sync) {
      stateSync = await joinByStateSync(
        {
          dataDir: resolveHomePath(home, config.dataDir),
          genesis,
          secretKey: keys.secretKey,
          listen: config.p2p.listen,
          bootstrap: config.p2p.bootstrap,
          psk:
            config.p2p.pskFile === null
              ? undefined
              : await loadPsk(resolveHomePath(home, config.p2p.pskFile)),
        },
        log.child('state-sync'),
      );
    }
    const ledger = await Ledger.open(
      resolveHomePath(home, config.dataDir),
      genesis,
      civitasStateMachine(app),
      {
        caches: { nodeBytes: memory.stateNodeBytes, valueEntries: memory.stateValues },
        store: {
          writeBufferBytes: memory.leveldbWriteBufferBytes,
          cacheBytes: memory.leveldbCacheBytes,
          maxOpenFiles: memory.leveldbMaxOpenFiles,
        },
        pruning: config.state,
        onPruneError: (err) =>
          log.warn('pruning failed; retrying later', { err: (err as Error).message }),
        snapshots: { interval: config.state.snapshotInterval, kept: config.state.snapshotsKept },
        onSnapshotError: (err) =>
          log.warn('state snapshot failed', { err: (err as Error).message }),
      },
    );
    // Rule (docs/CONSENSUS.md, Time): a block carries a v2 certificate of its parent. A chain
    // whose tip was certified by an earlier build (untimed COMMITs) cannot be extended.
    if (ledger.tip.certificate?.version === 1) {
      await ledger.close();
      throw new CivitasError(
        'NODE_OLD_CHAIN_FORMAT',
        `the chain in ${config.dataDir} was made by an earlier block format (certificate v1) and cannot be extended; start a new chain (civitas devnet --reset, or a new home)`,
      );
    }
    let verification: Verification;
    try {
      verification = Verification.create({
        workers: opts.verifyWorkers ?? config.verify.workers ?? defaultNodeVerifyWorkers(),
        cacheEntries: memory.verifiedTxs,
      });
    } catch (err) {
      await ledger.close();
      throw err;
    }
    const node = new CivitasNode({
      home,
      config,
      genesis,
      keys,
      ledger,
      app,
      log,
      verification,
      clock,
      stateSync,
    });
    if (clock.offsetMs !== 0)
      log.warn('clock skewed by fault injection', { offsetMs: clock.offsetMs });
    try {
      // Every node joins the network: as a validator, or with a key outside the set as an
      // observer that follows the chain and signs nothing. A chain whose only validator is
      // this node decides alone (solo-consensus.ts) — still serving observers, one of which
      // governance may add: the set then grows, and consensus moves to PBFT (leaveSolo).
      const set = ledger.validatorsAt(ledger.height + 1);
      const network = await node.startNetwork();
      const solo = set.validators.length === 1 && set.indexOf(keys.publicKey) === 0;
      node.consensus = solo ? node.soloConsensus() : network.pbft;
      if (set.indexOf(keys.publicKey) === -1) {
        log.info('running as an observer: this key is not in the validator set', {
          key: toHex(keys.publicKey),
          height: ledger.height,
        });
      }
      node.rpc = node.rpcServer(opts.rpcListen ?? config.rpc.listen);
      await node.rpc.start();
      await node.consensus!.start();
      node.network?.sync.start();
    } catch (err) {
      await node.stop();
      throw err;
    }
    log.info('node started', {
      // The process to signal: a wrapper (npm exec / npx) does not pass SIGTERM on.
      pid: process.pid,
      chainId: genesis.chainId,
      height: ledger.height,
      rpc: node.rpcUrl,
      validator: toHex(keys.publicKey),
      verifyWorkers: verification.workers,
      cryptoBackend: verification.backend,
    });
    return node;
  }

  /**
   * Updates the clock-offset estimate from a decided certificate; warns when it leaves the
   * allowed drift (then at most once a minute while it stays out) and says when it is back.
   */
  private checkClock(certificate: CommitCertificate): void {
    const now = this.clock.now();
    this.clockHealth.observe(certificate, this.ledger.validatorsAt(certificate.height), now);
    const { offsetMs, ok, maxDriftMs } = this.clockHealth.report();
    if (ok) {
      if (this.clockWarnedAt !== null) {
        this.log.info('clock back within the allowed drift of the validators', { offsetMs });
        this.clockWarnedAt = null;
      }
      return;
    }
    if (this.clockWarnedAt !== null && now - this.clockWarnedAt < CLOCK_WARN_EVERY_MS) return;
    this.clockWarnedAt = now;
    this.log.warn("clock is off from the validators' vote times: check NTP on this host", {
      offsetMs,
      maxDriftMs,
    });
  }

  /** A registered observer's readiness proof passes admission (org.checkTx has the same rule). */
  private async readyExemption(
    verdict: ReceiptFailureCode | undefined,
    tx: Tx,
  ): Promise<ReceiptFailureCode | undefined> {
    if (verdict !== 'ORG_NOT_A_MEMBER') return verdict;
    const observers = await this.ledger.getValue(OBSERVERS_KEY);
    const state = {
      get: <T>(key: Uint8Array, codec: ValueCodec<T>): T | undefined =>
        equalBytes(key, OBSERVERS_KEY) && observers !== undefined
          ? codec.decode(observers)
          : undefined,
    };
    return isObserverReadiness(state, addressOf(tx.sender), tx.ops) ? undefined : verdict;
  }

  /**
   * Who may connect (docs/CONSENSUS.md, Reconfiguration): the validators of the tip and of the
   * next height, the registered observers, validators removed in the last RECENT_BLOCKS
   * blocks (still syncing, still answering for their certificates), and the peers of this
   * node's own bootstrap list (its operator's word: a node away across changes — even a full
   * rotation — reaches the new validators through them before it knows they are).
   */
  private async networkMembers(): Promise<Uint8Array[]> {
    const { ledger } = this;
    const tip = ledger.height;
    const keys = new Map<string, Uint8Array>();
    const add = (k: Uint8Array) => keys.set(toHex(k), k);
    for (const k of ledger.validatorsAt(tip + 1).validators) add(k);
    for (const k of ledger.validatorsAt(Math.max(1, tip)).validators) add(k);
    for (const change of ledger.validatorChanges()) {
      if (change.fromHeight > tip - RECENT_BLOCKS) {
        for (const k of ledger.validatorsAt(change.fromHeight - 1).validators) add(k);
      }
    }
    const observers = await ledger.getValue(OBSERVERS_KEY);
    if (observers !== undefined) {
      for (const e of entriesCodec.decode(observers)) add(e.publicKey);
    }
    for (const address of this.config.p2p.bootstrap) {
      const peerId = /\/p2p\/([^/]+)$/.exec(address)?.[1];
      const key = peerId === undefined ? undefined : validatorKeyFromPeerId(peerId);
      if (key !== undefined) add(key);
    }
    return [...keys.values()];
  }

  /** Follows membership changes after each commit (new validators, observers, removals). */
  private async refreshMembers(): Promise<void> {
    const p2p = this.network?.p2p;
    if (p2p === undefined) return;
    const members = await this.networkMembers();
    const fingerprint = members.map(toHex).sort().join(',');
    if (fingerprint === this.membersFingerprint) return;
    this.membersFingerprint = fingerprint;
    await p2p.setMembers(members);
    this.log.info('network members changed', {
      members: members.length,
      height: this.ledger.height,
    });
  }

  get rpcUrl(): string {
    return this.rpc!.url;
  }

  get p2p(): P2PNode | undefined {
    return this.network?.p2p;
  }

  get sync(): BlockSync | undefined {
    return this.network?.sync;
  }

  /** Present only when started with CIVITAS_ENABLE_FAULT_INJECTION=1 (benchmarks, research). */
  get faults(): FaultInjector | undefined {
    return this.network?.faults;
  }

  consensusStatus(): ConsensusStatus {
    return this.consensus!.status();
  }

  /**
   * The set grew beyond this node (a validators.add executed by the solo chain): from the
   * next height PBFT decides, with the new validators (Besu halted growing from 1 to 2).
   */
  private async leaveSolo(): Promise<void> {
    const solo = this.consensus;
    const pbft = this.network?.pbft;
    if (!(solo instanceof SoloConsensus) || pbft === undefined) return;
    const next = this.ledger.validatorsAt(this.ledger.height + 1);
    if (next.validators.length === 1) return;
    this.consensus = pbft;
    await solo.stop();
    await pbft.start();
    this.log.info('the validator set grew: consensus moves from solo to the genesis protocol', {
      protocol: consensusProtocol(this.genesis),
      height: this.ledger.height + 1,
      validators: next.validators.length,
    });
  }

  private soloConsensus(): SoloConsensus {
    const { config, genesis, keys } = this;
    return new SoloConsensus(
      {
        chainId: genesis.chainId,
        secretKey: keys.secretKey,
        blockIntervalMs: config.consensus.blockIntervalMs,
        emptyBlockIntervalMs: config.consensus.emptyBlockIntervalMs,
        now: () => this.clock.now(),
        // Alone only while the set of the height is this node (leaveSolo takes over after).
        decidesAlone: (height) => {
          const set = this.ledger.validatorsAt(height);
          return set.validators.length === 1 && set.indexOf(keys.publicKey) === 0;
        },
      },
      { app: this.producer, logger: this.log.child('consensus') },
    );
  }

  /** Multi-validator wiring: libp2p host gated to the genesis members, sync, tx gossip, PBFT. */
  private async startNetwork(): Promise<NetworkParts> {
    const { config, genesis, keys, log, ledger } = this;
    const validators = genesis.validators.map((v) => v.publicKey);
    const psk =
      config.p2p.pskFile === null
        ? undefined
        : await loadPsk(resolveHomePath(this.home, config.p2p.pskFile));
    const p2p = await P2PNode.create(
      {
        chainId: genesis.chainId,
        secretKey: keys.secretKey,
        listen: config.p2p.listen,
        bootstrap: config.p2p.bootstrap,
        members: await this.networkMembers(),
        psk,
      },
      { logger: log.child('p2p') },
    );
    let faults: FaultInjector | undefined;
    if (faultInjectionEnabled()) {
      faults = new FaultInjector({
        chainId: genesis.chainId,
        validators,
        publicKey: keys.publicKey,
        secretKey: keys.secretKey,
        logger: log.child('faults'),
        clock: this.clock,
        onApply: (kind) => this.metrics.faultApplied(kind),
      });
      faults.attach(p2p);
      log.warn('fault injection is ENABLED: POST /admin/faults can degrade this node');
    }
    // Block sync commits through the block pipeline (the path `bench validate` measures):
    // certificates checked, the next blocks' signatures verified on the workers while one
    // block executes, each block committed through the node's commit path.
    const syncPipeline = this.verification.pipeline(
      ledger,
      {
        onCommitted: (info) => {
          const t = info.times;
          const validateMs =
            t.signatureWaitMs + t.checksMs + t.executionMs + t.stateTreeMs + t.certificateMs;
          this.metrics.observeStage('sync_validate', validateMs / 1000);
          this.metrics.syncBlockCommitted();
        },
      },
      (block, certificate, executed) => this.committer.commitSynced(block, certificate, executed),
    );
    const sync = new BlockSync(
      {
        intervalMs: Math.max(1_000, config.consensus.timeoutMs),
        requestTimeoutMs: 10_000,
      },
      {
        chain: {
          height: () => ledger.height,
          blockBytes: (h) => ledger.store.getBlockBytes(h),
          certificateBytes: (h) => ledger.store.getCertificateBytes(h),
          commitSynced: (blocks) => syncPipeline.run(blocks),
        },
        p2p,
        logger: log.child('sync'),
      },
    );
    const txGossip = new TxGossip(
      {},
      {
        publish: (batch) => p2p.publish('txs', batch),
        admit: (tx) => this.intake.admitGossiped(tx),
        logger: log.child('txs'),
      },
    );
    p2p.onGossip(
      'txs',
      (data) => txGossip.receive(data),
      () => {},
    );
    const consensusOptions = {
      chainId: genesis.chainId,
      publicKey: keys.publicKey,
      secretKey: keys.secretKey,
      timeoutMs: config.consensus.timeoutMs,
      validatorsAt: (h: number, decided?: SealedBlock) => ledger.validatorsAt(h, decided),
    };
    const consensusModules = {
      app: this.producer,
      p2p,
      requestSync: (height: number) => sync.noteHeight(height),
      metrics: this.metrics,
      logger: log.child('consensus'),
      onFatal: (err: unknown) => {
        log.error('consensus cannot continue', { err: (err as Error).message });
        this.events.emit('fatal', err);
      },
      clock: () => this.clock.now(),
      onDecided: (certificate: CommitCertificate) => this.checkClock(certificate),
    };
    const pbft =
      consensusProtocol(genesis) === 'hotstuff'
        ? new HotStuffConsensus(consensusOptions, {
            ...consensusModules,
            wal: new LevelWal(ledger.store, HOTSTUFF_WAL_CODEC),
          })
        : new PbftConsensus(
            {
              ...consensusOptions,
              emptyBlockIntervalMs: config.consensus.emptyBlockIntervalMs,
              compact: config.consensus.compactProposals,
            },
            {
              ...consensusModules,
              lookupTx: (hash) => this.mempool.entryOf(hash),
              // A tx admitted here within the last INLINE_RECENT_MS may not have reached the
              // peers' pools yet (tx gossip batches, their admission queues): send it inline.
              sendInline: (hash) => this.mempool.admittedWithin(hash, INLINE_RECENT_MS),
              wal: new LevelWal(ledger.store),
            },
          );
    this.network = { p2p, sync, txGossip, faults, pbft };
    this.membersFingerprint = (await this.networkMembers()).map(toHex).sort().join(',');
    this.events.on('block', () => {
      this.refreshMembers().catch((err: unknown) =>
        log.warn('could not update the network members', { err: (err as Error).message }),
      );
      this.leaveSolo().catch((err: unknown) => {
        log.error('could not move consensus from solo to PBFT', { err: (err as Error).message });
        this.events.emit('fatal', err);
      });
    });
    // Peers fetch our committed blocks, the txs and blocks of our compact proposals, and our
    // state snapshots (docs/STATE-SYNC.md).
    sync.serve(
      pbft instanceof PbftConsensus ? pbft.proposals : undefined,
      stateSyncSource(this.ledger),
    );
    await p2p.start();
    return this.network;
  }

  private rpcServer(listen: string): RpcServer {
    const { config, genesis, keys, ledger, mempool } = this;
    return new RpcServer(
      { listen, maxBodyBytes: config.rpc.maxBodyBytes },
      {
        chain: ledger,
        app: this.app,
        info: {
          chainId: genesis.chainId,
          moniker: config.moniker,
          validatorKey: keys.publicKey,
          startedAt: this.startedAt,
          validatorName: (i) => genesis.validators[i]?.name,
          consensus: () => this.consensusStatus(),
          mempoolSize: () => mempool.size,
          mempoolQueued: () => mempool.queuedCount,
          peers: () => this.network?.p2p.connectedPeers() ?? [],
          clock: () => this.clockHealth.report(),
          behind: () => this.network?.sync.behind ?? 0,
        },
        txs: {
          submit: (encoded) => this.intake.submit(encoded),
          waitFor: (hash, timeoutMs) => this.waiters.wait(hash, timeoutMs),
          isPending: (hash) => mempool.has(hash),
        },
        events: this.events,
        metrics: this.metrics,
        faults: this.network?.faults,
        logger: this.log.child('rpc'),
      },
    );
  }

  /**
   * Stops the parts in reverse: the API, tx gossip, block sync, consensus (letting the block
   * work it started finish), the network, the verify workers, then the database. Idempotent;
   * also undoes a start that failed half-way.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('stopping');
      const warn = (part: string) => (err: unknown) =>
        this.log.warn(`${part} stop failed`, { err: (err as Error).message });
      const producerStopped = this.producer.stop();
      await this.rpc?.stop().catch(warn('rpc'));
      this.network?.txGossip.stop();
      await this.network?.sync.stop().catch(warn('sync'));
      await this.consensus?.stop().catch(warn('consensus'));
      await Promise.allSettled([producerStopped, this.committer.drain()]);
      await this.network?.p2p.stop().catch(warn('p2p'));
      await this.verification.close().catch(warn('verification'));
      await this.ledger.close();
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}
