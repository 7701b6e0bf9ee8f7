/**
 * The composition root. Builds the parts in order — logger → config → genesis and key →
 * ledger (LevelDB) → verifier → mempool → consensus → API — and closes them in reverse.
 * Everything a part needs is handed to it here; no part reaches for another on its own.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { addressOf as addressOfKey } from '../chain/address.ts';
import {
  type CommitCertificate,
  type Genesis,
  type SealedBlock,
  TxVerifier,
} from '../chain/index.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';
import type { KeyPair } from '../crypto/ed25519.ts';
import { verifyNative } from '../crypto/ed25519.ts';
import { loadKeyFile } from '../crypto/keyfile.ts';
import { CivitasError } from '../errors.ts';
import { P2PNode } from '../p2p/index.ts';
import { Ledger } from '../state/ledger.ts';
import { BlockSizer } from './block-sizer.ts';
import { BlockSync } from './block-sync.ts';
import { CommitCache } from './commit-cache.ts';
import { loadConfig, type NodeConfig, resolveHomePath } from './config.ts';
import type { ConsensusApp, ConsensusService } from './consensus-service.ts';
import { FaultInjector, faultInjectionEnabled } from './fault-injection.ts';
import { loadGenesisFile } from './genesis-file.ts';
import { LevelWal } from './level-wal.ts';
import { createLogger, type Logger } from './logger.ts';
import { Mempool } from './mempool.ts';
import { NodeMetrics } from './metrics.ts';
import { PbftConsensus } from './pbft-consensus.ts';
import { RpcServer } from './rpc-server.ts';
import { SoloConsensus } from './solo-consensus.ts';
import { TxGossip } from './tx-gossip.ts';

/** How often a primary waiting to propose looks at the mempool again. */
const WAIT_POLL_MS = 5;
/** Waiting tx admissions resumed per event-loop turn once block work is done. */
const ADMISSION_SLICE = 32;
/** The block sizer never caps a proposal below this many txs. */
const MIN_PROPOSAL_TXS = 100;

export interface CommittedBlockEvent {
  readonly block: SealedBlock;
  readonly certificate: CommitCertificate;
}

export interface NodeStartOptions {
  logger?: Logger;
  /** Override the API listen address (tests use port 0). */
  rpcListen?: string;
}

/** A pnet pre-shared key file: 32 bytes as 64 hex characters (optionally in libp2p's swarm.key format). */
async function loadPsk(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CivitasError('CONFIG_PSK_NOT_FOUND', `cannot read p2p.pskFile ${path}`);
  }
  const hex = text.trim().split(/\s+/).pop() ?? '';
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new CivitasError('CONFIG_PSK_INVALID', `${path}: expected 32 bytes as 64 hex characters`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export class CivitasNode {
  readonly home: string;
  readonly config: NodeConfig;
  readonly genesis: Genesis;
  readonly keys: KeyPair;
  readonly ledger: Ledger;
  readonly mempool: Mempool;
  /** Committed nonces of active senders and recent tx hashes, so admission reads no disk. */
  readonly commitCache: CommitCache;
  readonly verifier: TxVerifier;
  /** Caps proposals so a height stays well inside the view timeout (block-sizer.ts). */
  readonly blockSizer: BlockSizer;
  readonly log: Logger;
  readonly events = new EventEmitter<{ block: [CommittedBlockEvent]; fatal: [unknown] }>();
  readonly startedAt = Date.now();
  private consensus!: ConsensusService;
  private rpc!: RpcServer;
  p2p: P2PNode | undefined;
  sync: BlockSync | undefined;
  private txGossip: TxGossip | undefined;
  readonly metrics: NodeMetrics;
  /** Present only when started with CIVITAS_ENABLE_FAULT_INJECTION=1 (benchmarks, research). */
  faults: FaultInjector | undefined;
  private lastCommitAt = Date.now();
  private commitQueue: Promise<void> = Promise.resolve();
  private readonly pendingWork = new Set<Promise<unknown>>();
  private readonly txWaiters = new Map<string, Set<(height: number) => void>>();
  private stopping: Promise<void> | undefined;
  /** Block work (build, validate, commit) running now; tx admission waits while it is > 0. */
  private blockWork = 0;
  private readonly admissionWaiters: Array<() => void> = [];
  private resumingAdmissions = false;

  private constructor(parts: {
    home: string;
    config: NodeConfig;
    genesis: Genesis;
    keys: KeyPair;
    ledger: Ledger;
    log: Logger;
  }) {
    this.home = parts.home;
    this.config = parts.config;
    this.genesis = parts.genesis;
    this.keys = parts.keys;
    this.ledger = parts.ledger;
    this.log = parts.log;
    this.events.setMaxListeners(10_000);
    this.verifier = new TxVerifier();
    const maxBlockTxs = this.genesis.params.maxBlockTxs;
    this.blockSizer = new BlockSizer({
      maxTxs: maxBlockTxs,
      minTxs: Math.min(MIN_PROPOSAL_TXS, maxBlockTxs),
      targetMs: this.config.consensus.timeoutMs / 2,
    });
    this.commitCache = new CommitCache(
      {},
      { readNonce: async (sender) => (await this.ledger.getAccount(addressOfKey(sender))).nonce },
    );
    this.mempool = new Mempool(this.config.mempool, {
      chainId: this.genesis.chainId,
      nextHeight: () => this.ledger.height + 1,
      accountNonce: (sender) => this.commitCache.nonceOf(sender),
      recentlyCommitted: (hashHex) => this.commitCache.isRecentlyCommitted(hashHex),
      committed: (hashes) => this.ledger.store.hasTxs(hashes),
      verify: (txs, hashes) => this.verifier.verify(txs, hashes),
    });
    this.metrics = new NodeMetrics({
      height: () => this.ledger.height,
      view: () => this.consensus?.status().view ?? 0,
      viewChanges: () => this.consensus?.status().viewChanges ?? 0,
      mempoolSize: () => this.mempool.size,
      peers: () => this.p2p?.connectedPeers().length ?? 0,
      gossip: () => this.p2p?.stats().gossip,
    });
  }

  static async start(home: string, opts: NodeStartOptions = {}): Promise<CivitasNode> {
    const config = await loadConfig(home);
    const log = opts.logger ?? createLogger({ ...config.log, module: config.moniker });
    const genesis = await loadGenesisFile(resolveHomePath(home, config.genesisFile));
    const keys = await loadKeyFile(resolveHomePath(home, config.keyFile));
    const validators = genesis.validators.map((v) => v.publicKey);
    const myIndex = validators.findIndex((v) => equalBytes(v, keys.publicKey));
    if (myIndex === -1) {
      throw new CivitasError(
        'NODE_NOT_A_VALIDATOR',
        `key ${toHex(keys.publicKey)} is not a validator in the genesis`,
      );
    }
    const ledger = await Ledger.open(resolveHomePath(home, config.dataDir), genesis);
    const node = new CivitasNode({ home, config, genesis, keys, ledger, log });
    try {
      if (validators.length === 1) {
        node.consensus = new SoloConsensus(
          {
            chainId: genesis.chainId,
            secretKey: keys.secretKey,
            blockIntervalMs: config.consensus.blockIntervalMs,
            emptyBlockIntervalMs: config.consensus.emptyBlockIntervalMs,
          },
          { app: node.consensusApp(), logger: log.child('consensus') },
        );
      } else {
        await node.startNetwork(validators);
      }
      node.rpc = new RpcServer(
        { listen: opts.rpcListen ?? config.rpc.listen, maxBodyBytes: config.rpc.maxBodyBytes },
        { node, logger: log.child('rpc') },
      );
      await node.rpc.start();
      await node.consensus.start();
      node.sync?.start();
    } catch (err) {
      await node.rpc?.stop().catch(() => {});
      await node.sync?.stop().catch(() => {});
      await node.p2p?.stop().catch(() => {});
      await ledger.close();
      throw err;
    }
    log.info('node started', {
      chainId: genesis.chainId,
      height: ledger.height,
      rpc: node.rpcUrl,
      validator: toHex(keys.publicKey),
    });
    return node;
  }

  get rpcUrl(): string {
    return this.rpc.url;
  }

  consensusStatus(): ReturnType<ConsensusService['status']> {
    return this.consensus.status();
  }

  /** Multi-validator wiring: libp2p host gated to the genesis members, sync, WAL, PBFT. */
  private async startNetwork(validators: Uint8Array[]): Promise<void> {
    const { config, genesis, keys, log } = this;
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
        members: validators,
        psk,
      },
      { logger: log.child('p2p') },
    );
    this.p2p = p2p;
    if (faultInjectionEnabled()) {
      this.faults = new FaultInjector({
        chainId: genesis.chainId,
        validators,
        publicKey: keys.publicKey,
        secretKey: keys.secretKey,
        logger: log.child('faults'),
        onApply: (kind) => this.metrics.faultApplied(kind),
      });
      this.faults.attach(p2p);
      log.warn('fault injection is ENABLED: POST /admin/faults can degrade this node');
    }
    this.sync = new BlockSync(
      { intervalMs: Math.max(1_000, config.consensus.timeoutMs), requestTimeoutMs: 10_000 },
      { node: this, p2p, logger: log.child('sync') },
    );
    this.sync.serve();
    const txGossip = new TxGossip(
      {},
      {
        publish: (batch) => p2p.publish('txs', batch),
        admit: (tx) => this.admitGossipedTx(tx),
        logger: log.child('txs'),
      },
    );
    this.txGossip = txGossip;
    p2p.onGossip(
      'txs',
      (data) => txGossip.receive(data),
      () => {},
    );
    this.consensus = new PbftConsensus(
      {
        chainId: genesis.chainId,
        publicKey: keys.publicKey,
        secretKey: keys.secretKey,
        timeoutMs: config.consensus.timeoutMs,
        validatorsAt: (h) => this.ledger.validatorsAt(h),
      },
      {
        app: this.consensusApp(),
        p2p,
        wal: new LevelWal(this.ledger.store),
        sync: this.sync,
        logger: this.metrics.consensusLogTap(log.child('consensus')),
        onFatal: (err) => {
          log.error('consensus cannot continue', { err: (err as Error).message });
          this.events.emit('fatal', err);
        },
      },
    );
    await p2p.start();
  }

  /** One tx of a gossiped batch: admitted → accept, known or stale → ignore, invalid → reject. */
  private async admitGossipedTx(data: Uint8Array): Promise<'accept' | 'ignore' | 'reject'> {
    await this.admissionTurn();
    try {
      const entry = await this.metrics.time('mempool_admit', () => this.mempool.add(data));
      this.metrics.txAdmitted(entry.hash);
      this.consensus.onTxsAvailable();
      return 'accept';
    } catch (err) {
      const code = (err as CivitasError).code ?? '';
      this.metrics.txNotAccepted(code);
      if (/^(CODEC_|TX_BAD_SIGNATURE|TX_WRONG_CHAIN)/.test(code)) return 'reject';
      return 'ignore';
    }
  }

  /**
   * Resolves when a block is worth proposing: at once when a full block (maxBlockTxs) is
   * waiting, when some txs wait and the minimum block spacing since the last commit has
   * passed, or (empty block) after `maxWaitMs`, always well within the view timeout. The
   * spacing batches txs at low rates; under load it would only delay full blocks.
   */
  private async waitForTxs(maxWaitMs: number): Promise<void> {
    const fullBlock = this.blockSizer.maxTxs;
    const spacingEnd = this.lastCommitAt + this.config.consensus.blockIntervalMs;
    const deadline = Math.max(spacingEnd, Date.now() + maxWaitMs);
    while (this.stopping === undefined) {
      const waiting = this.mempool.size;
      const now = Date.now();
      if (waiting >= fullBlock || (waiting > 0 && now >= spacingEnd) || now >= deadline) return;
      const until = waiting > 0 ? spacingEnd : deadline;
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(WAIT_POLL_MS, until - now))));
    }
  }

  private consensusApp(): ConsensusApp {
    return {
      height: () => this.ledger.height,
      lastCertificate: () => this.ledger.tip.certificate,
      hasPendingTxs: () => this.mempool.size > 0,
      buildProposal: (height, view) => this.inFlight(this.buildProposal(height, view)),
      validateProposal: (block) =>
        this.inFlight(this.asBlockWork(() => this.validateProposal(block))),
      commit: async (block, certificate) => {
        await this.commitBlock(block, certificate);
        const proposalToCommitMs = Date.now() - block.header.timestamp;
        this.blockSizer.observe(block.txs.length, proposalToCommitMs, certificate.view);
      },
    };
  }

  /**
   * Block work goes first: while a block is being built, validated or committed, tx admission
   * (decode, hash, signature check per tx, for every tx of every client and peer) waits.
   * Otherwise each await inside the block work queues behind whatever ingest the event loop
   * holds, and on a loaded machine a height's wall time grows past the view timeout although
   * its own CPU time is a fraction of it. Admission runs in the gaps (while votes travel).
   */
  private async asBlockWork<T>(work: () => Promise<T>): Promise<T> {
    this.blockWork++;
    try {
      return await work();
    } finally {
      if (--this.blockWork === 0) this.resumeAdmissions();
    }
  }

  /** Resolves at once, or (in arrival order) once the block work running now is done. */
  private admissionTurn(): Promise<void> | undefined {
    if (this.blockWork === 0 && this.admissionWaiters.length === 0) return undefined;
    return new Promise((resume) => this.admissionWaiters.push(resume));
  }

  /**
   * Lets waiting admissions go a slice per event-loop turn: resuming hundreds at once would
   * run them all as one long task, the very thing that made consensus messages wait.
   */
  private resumeAdmissions(): void {
    if (this.resumingAdmissions) return;
    this.resumingAdmissions = true;
    const step = (): void => {
      if (this.blockWork > 0 || this.admissionWaiters.length === 0) {
        this.resumingAdmissions = false;
        return;
      }
      for (const resume of this.admissionWaiters.splice(0, ADMISSION_SLICE)) resume();
      setImmediate(step);
    };
    setImmediate(step);
  }

  /** Tracks consensus work so stop() can let it finish before the database closes. */
  private inFlight<T>(work: Promise<T>): Promise<T> {
    this.pendingWork.add(work);
    void work.then(
      () => this.pendingWork.delete(work),
      () => this.pendingWork.delete(work),
    );
    return work;
  }

  private async buildProposal(_height: number, _view: number): Promise<SealedBlock> {
    if (this.p2p !== undefined) {
      const { emptyBlockIntervalMs, timeoutMs } = this.config.consensus;
      const idleLimit =
        emptyBlockIntervalMs === 0 ? timeoutMs / 2 : Math.min(emptyBlockIntervalMs, timeoutMs / 2);
      await this.waitForTxs(idleLimit);
    }
    const { block } = await this.asBlockWork(async () => {
      const entries = await this.mempool.reap(
        this.blockSizer.maxTxs,
        this.genesis.params.maxBlockBytes,
      );
      return this.metrics.time('proposal_build', () =>
        this.ledger.buildBlock({
          txs: entries.map((e) => e.tx),
          proposer: this.keys.publicKey,
          timestamp: Date.now(),
          lastCommit: this.ledger.tip.certificate,
        }),
      );
    });
    return block;
  }

  private async validateProposal(block: SealedBlock): Promise<boolean> {
    try {
      await this.metrics.time('proposal_validate', () =>
        this.ledger.validateBlock(block, this.validationOptions()),
      );
      return true;
    } catch (err) {
      this.log.warn('invalid proposal', {
        height: block.header.height,
        code: (err as CivitasError).code,
        err: (err as Error).message,
      });
      return false;
    }
  }

  validationOptions(): Parameters<Ledger['validateBlock']>[1] {
    return {
      verifySignatures: (txs, hashes) => this.verifier.verify(txs, hashes),
      checkSignature: verifyNative,
      now: Date.now(),
    };
  }

  /** Commits a final block: ledger first (durable), then mempool, waiters and listeners. */
  commitBlock(block: SealedBlock, certificate: CommitCertificate): Promise<void> {
    // One commit at a time, in arrival order, so the idempotence check below cannot race.
    const run = this.commitQueue.then(() =>
      this.asBlockWork(() => this.commitOne(block, certificate)),
    );
    this.commitQueue = run.catch(() => {});
    return run;
  }

  private async commitOne(block: SealedBlock, certificate: CommitCertificate): Promise<void> {
    // Consensus and block sync can both deliver a height; the second delivery of the same
    // block is a no-op. A different block at a committed height would be a fork: refuse.
    const height = block.header.height;
    if (height <= this.ledger.height) {
      const stored = await this.ledger.store.getHeightOfHash(block.hash);
      if (stored === height) return;
      throw new CivitasError(
        'NODE_CONFLICTING_COMMIT',
        `a different block is already committed at height ${height}`,
      );
    }
    const executed =
      this.ledger.executedFor(block) ??
      (await this.ledger.validateBlock(block, this.validationOptions()));
    await this.metrics.time('block_commit', () => this.ledger.commit(block, certificate, executed));
    this.commitCache.onCommit(block, executed);
    this.lastCommitAt = Date.now();
    this.metrics.blockCommitted(block, this.lastCommitAt);
    await this.mempool.onCommit(block.txs, block.txHashes);
    for (const h of block.txHashes) {
      const waiters = this.txWaiters.get(toHex(h));
      if (waiters === undefined) continue;
      this.txWaiters.delete(toHex(h));
      for (const w of waiters) w(height);
    }
    this.log.info('committed block', {
      height,
      txs: block.txs.length,
      hash: toHex(block.hash).slice(0, 16),
    });
    this.events.emit('block', { block, certificate });
  }

  /** Commits a block fetched by block sync (certificate already checked): full validation first. */
  async commitSyncedBlock(block: SealedBlock, certificate: CommitCertificate): Promise<void> {
    await this.metrics.time('sync_validate', () =>
      this.ledger.validateBlock(block, this.validationOptions()),
    );
    await this.commitBlock(block, certificate);
    this.consensus.onBlockSynced(block.header.height, certificate);
  }

  /**
   * Whether client submissions are refused for now: the txs waiting for a block (mempool plus
   * gossip ingest queue) come to `mempool.backlogBlocks` blocks' worth. Admitting more would
   * only lengthen the queue while ingest (decode, signature, relay) takes the CPU that
   * building, validating and voting on blocks needs; the client is told to come back instead.
   */
  backlogged(): boolean {
    const blocks = this.config.mempool.backlogBlocks;
    if (blocks === 0) return false;
    const waiting =
      this.mempool.size + (this.txGossip?.queuedTxs ?? 0) + this.admissionWaiters.length;
    return waiting >= blocks * this.genesis.params.maxBlockTxs;
  }

  /** Admits a tx (encoded bytes) to the mempool; returns its hash. */
  async submitTx(encoded: Uint8Array): Promise<Uint8Array> {
    const backlogged = this.backlogged();
    if (!backlogged) await this.admissionTurn();
    const entry = await this.metrics
      .time('mempool_admit', () => this.mempool.add(encoded, { backlogged }))
      .catch((err: unknown) => {
        if ((err as CivitasError).code === 'MEMPOOL_BUSY') this.metrics.submitRefusedBusy();
        throw err;
      });
    this.metrics.txAdmitted(entry.hash);
    this.consensus.onTxsAvailable();
    this.txGossip?.enqueue(encoded);
    return entry.hash;
  }

  /** Resolves with the height at which tx `hash` commits; rejects after `timeoutMs`. */
  async waitForTx(hash: Uint8Array, timeoutMs: number): Promise<number> {
    const key = toHex(hash);
    let waiters = this.txWaiters.get(key);
    if (waiters === undefined) {
      waiters = new Set();
      this.txWaiters.set(key, waiters);
    }
    const set = waiters;
    let timer: NodeJS.Timeout | undefined;
    let done: ((height: number) => void) | undefined;
    // Register first, then look in the store: a commit landing between the two is seen by
    // one or the other, never missed.
    const committed = new Promise<number>((resolve, reject) => {
      done = (height: number): void => {
        clearTimeout(timer);
        resolve(height);
      };
      timer = setTimeout(() => {
        set.delete(done!);
        if (set.size === 0) this.txWaiters.delete(key);
        reject(new CivitasError('TX_WAIT_TIMEOUT', `tx not committed within ${timeoutMs} ms`));
      }, timeoutMs);
      set.add(done);
    });
    const location = await this.ledger.store.getTxLocation(hash);
    if (location !== undefined) {
      done!(location.height);
      set.delete(done!);
      if (set.size === 0) this.txWaiters.delete(key);
    }
    return committed;
  }

  /** Stops the API, consensus, then the database, in that order. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('stopping');
      await this.rpc.stop().catch((err) => this.log.warn('rpc stop failed', { err }));
      this.txGossip?.stop();
      await this.sync?.stop().catch((err) => this.log.warn('sync stop failed', { err }));
      await this.consensus.stop().catch((err) => this.log.warn('consensus stop failed', { err }));
      await Promise.allSettled([...this.pendingWork, this.commitQueue]);
      await this.p2p?.stop().catch((err) => this.log.warn('p2p stop failed', { err }));
      await this.ledger.close();
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}
