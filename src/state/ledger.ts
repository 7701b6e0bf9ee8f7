/**
 * The ledger: the committed chain and its authenticated state, and the only writer of the
 * database. It executes blocks (as proposer or to validate a proposal), commits them with
 * their certificate in one atomic batch (with the history index of the tracked objects they
 * changed, which the state machine reports), and answers queries with proofs.
 *
 * Blocks are executed on top of the last committed state only (one height is decided at a
 * time), so execution reads the flat `values` bucket and the tree's committed nodes.
 * Executed-but-uncommitted results are kept by block hash (bounded) so a block validated
 * during consensus is committed without running it twice.
 *
 * Opened with pruning options, it lists each block's stale tree nodes in the commit batch and
 * hands the pruner (pruner.ts) every commit; proofs below the kept state versions answer
 * STATE_VERSION_PRUNED, reads of pruned blocks LEDGER_BLOCK_PRUNED (store.ts).
 */

import {
  type Block,
  blockTimeOf,
  type ChainParams,
  type CommitCertificate,
  computeTxRoot,
  encodeReceipt,
  encodeTx,
  type Genesis,
  genesisHash,
  genesisValidatorSet,
  type Header,
  Limits,
  lastCommitHashOf,
  makeValidatorSet,
  merkleRoot,
  type ParentContext,
  type Receipt,
  type SealedBlock,
  type SignatureCheck,
  sealBlock,
  type Tx,
  type TxSignatureVerifier,
  txHashOfBytes,
  type ValidatorSet,
  validateBlockAgainstParent,
  validateBlockStateless,
  validateExecution,
  validateTxsNotCommitted,
} from '../chain/index.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';
import { CivitasError, codeOf } from '../errors/index.ts';
import { writeGenesisState } from './genesis-state.ts';
import { readHeightKey } from './keys.ts';
import { Pruner, type PruningOptions, type PruningStats } from './pruner.ts';
import {
  CommittedNodeCache,
  LevelNodeReader,
  type StateProof,
  StateTree,
  stateKeyHash,
} from './smt/index.ts';
import { type SnapshotOptions, Snapshotter, snapshotWindowFrom } from './snapshot-store.ts';
import { ChainStore, type HistoryEntry, type HistoryLink } from './store.ts';
import {
  decodeValidatorKeys,
  encodeValidatorKeys,
  type ValidatorChange,
  ValidatorLog,
} from './validator-log.ts';
import { CommittedValueCache, type ValueCacheStats } from './value-cache.ts';

/**
 * What executes txs: the application (src/app), handed to the ledger by whoever opens it, so
 * the ledger stores and proves state without knowing what the state means.
 */
export interface StateMachine {
  /**
   * The values a genesis file creates: (raw state key, encoded value). The ledger empties the
   * list as it writes it.
   */
  genesisValues(genesis: Genesis): Array<readonly [Uint8Array, Uint8Array]>;
  /**
   * Executes block `height`'s txs on the committed state, read through `read` (raw keys, one
   * batch per call). Deterministic; a failing tx is a failed receipt, never a throw.
   */
  execute(
    txs: readonly Tx[],
    txHashes: readonly Uint8Array[],
    height: number,
    read: (keys: readonly Uint8Array[]) => Promise<(Uint8Array | undefined)[]>,
    chain: ChainView,
  ): Promise<{
    receipts: Receipt[];
    changes: ReadonlyArray<{ readonly key: Uint8Array; readonly value: Uint8Array }>;
    /** Each change of a tracked object by a tx that succeeded, in execution order. */
    history: readonly ObjectChange[];
    /** The validator keys in force from the next height, when this block changed the set. */
    validators?: readonly Uint8Array[];
  }>;
}

/** How many recent blocks the chain view answers for (validator liveness, readiness proofs). */
export const RECENT_BLOCKS = Limits.recentBlocks;

/**
 * What execution may know of the chain besides state, all of it agreed by consensus: the
 * set signing the block, recent block hashes, and who signed recent certificates.
 */
export interface ChainView {
  /** The chain's parameters (genesis). */
  readonly params: ChainParams;
  /** The validator set that signs the block being executed. */
  readonly validators: ValidatorSet;
  /** Hash of committed block `height` if it is one of the last RECENT_BLOCKS, else undefined. */
  blockHash(height: number): Uint8Array | undefined;
  /**
   * Public keys (hex) of the validators whose COMMIT votes are in the certificate carried by
   * a block from `fromHeight` up to the one being executed (at most RECENT_BLOCKS back).
   */
  signedSince(fromHeight: number): ReadonlySet<string>;
}

/**
 * One link of a tracked object's history chain, as the state machine reports it: which call
 * of which tx of the block made revision `rev`. The ledger indexes it (GET /history).
 */
export interface ObjectChange {
  /** The object's raw state key. */
  readonly key: Uint8Array;
  readonly rev: number;
  readonly txIndex: number;
  readonly opIndex: number;
  /** The index of the governance action (in the proposal the op voted on), or null. */
  readonly action: number | null;
}

/** A state value (undefined: absent) with its inclusion or non-inclusion proof at `height`. */
export interface ProvenValue {
  readonly height: number;
  readonly stateRoot: Uint8Array;
  readonly value: Uint8Array | undefined;
  readonly proof: StateProof;
  readonly keyHash: Uint8Array;
}

export interface ExecutedBlock {
  readonly height: number;
  readonly receipts: readonly Receipt[];
  /** Canonical receipt bytes, encoded once for the receipt root and the commit batch. */
  readonly encodedReceipts: readonly Uint8Array[];
  readonly receiptRoot: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly treeNodes: ReadonlyArray<readonly [Uint8Array, Uint8Array]>;
  /** Keys of older tree nodes this block's state no longer references (empty: not pruning). */
  readonly staleNodes: readonly Uint8Array[];
  readonly values: ReadonlyArray<readonly [Uint8Array, Uint8Array | null]>;
  /** The history index's entries for this block (tracked objects by key hash). */
  readonly history: readonly HistoryLink[];
  /** Hash of the validator set in force at height + 1, after this block. */
  readonly nextValidatorSetHash: Uint8Array;
  /** That set, when this block changed it (undefined: the set of `height` goes on). */
  readonly validatorChange?: ValidatorSet;
}

/** Main-thread time inside the ledger, ms, added to by execute and validateBlock. */
export interface LedgerStageTimes {
  /** Updating the state tree: loading touched nodes, rehashing, encoding new nodes. */
  stateTreeMs: number;
}

export interface CommittedTip {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly timestamp: number;
  readonly stateRoot: Uint8Array;
  readonly header: Header | null;
  readonly certificate: CommitCertificate | null;
}

const EXECUTED_CACHE_MAX = 16;

export interface LedgerOptions {
  /** Sizes of the committed-node cache (bytes) and committed-value cache (entries). */
  readonly caches?: { readonly nodeBytes?: number; readonly valueEntries?: number };
  /** LevelDB's memory (ChainStore.open). */
  readonly store?: {
    readonly writeBufferBytes?: number;
    readonly cacheBytes?: number;
    readonly maxOpenFiles?: number;
  };
  /** What to keep (pruner.ts); absent: everything, and no stale-node index is written. */
  readonly pruning?: PruningOptions & { readonly chunkKeys?: number };
  /** A background pruning round failed (it is retried later). */
  readonly onPruneError?: (err: unknown) => void;
  /** State snapshots (snapshot-store.ts); absent or interval 0: none are taken. */
  readonly snapshots?: SnapshotOptions;
  /** A background snapshot failed (the next is taken at its height). */
  readonly onSnapshotError?: (err: unknown) => void;
}

export class Ledger {
  readonly store: ChainStore;
  readonly genesis: Genesis;
  readonly chainId: string;
  readonly params: ChainParams;
  readonly genesisHash: Uint8Array;
  private readonly machine: StateMachine;
  private readonly tree: StateTree;
  private tipState: CommittedTip;
  private readonly executed = new Map<string, ExecutedBlock>();
  private readonly validatorLog: ValidatorLog;
  /** The last RECENT_BLOCKS committed blocks: hash and who signed the certificate each carries. */
  private readonly recent: RecentBlock[];
  private readonly values: CommittedValueCache;
  private readonly nodeCache: CommittedNodeCache;
  private committing: Promise<void> = Promise.resolve();
  private readonly pruner: Pruner | undefined;
  private readonly snapshotter: Snapshotter | undefined;

  private constructor(
    store: ChainStore,
    genesis: Genesis,
    hash: Uint8Array,
    machine: StateMachine,
    tip: CommittedTip,
    validatorLog: ValidatorLog,
    recent: RecentBlock[],
    opts: LedgerOptions,
  ) {
    this.validatorLog = validatorLog;
    this.recent = recent;
    this.store = store;
    this.machine = machine;
    this.genesis = genesis;
    this.chainId = genesis.chainId;
    this.params = genesis.params;
    this.genesisHash = hash;
    const pruning = opts.pruning;
    // The next block walks mostly the nodes the last blocks wrote: keep those in memory.
    this.values = new CommittedValueCache(opts.caches?.valueEntries);
    this.nodeCache = new CommittedNodeCache({ maxBytes: opts.caches?.nodeBytes });
    this.tree = new StateTree(new LevelNodeReader(store.tree), {
      cache: this.nodeCache,
      staleIndex: pruning !== undefined && pruning.keepVersions !== null,
    });
    this.tipState = tip;
    this.snapshotter =
      opts.snapshots === undefined || opts.snapshots.interval === 0
        ? undefined
        : new Snapshotter(opts.snapshots, {
            store,
            chainId: genesis.chainId,
            ...(opts.onSnapshotError !== undefined ? { onError: opts.onSnapshotError } : {}),
          });
    this.pruner =
      pruning === undefined
        ? undefined
        : new Pruner(
            { ...pruning, minRetainBlocks: RECENT_BLOCKS },
            {
              store,
              keepHeights: () => this.validatorChangeHeights(),
              holdVersion: () => this.snapshotter?.holdVersion(),
              holdBlocksFrom: () => this.servedWindowFrom(opts.snapshots?.interval ?? 0),
              ...(opts.onPruneError !== undefined ? { onError: opts.onPruneError } : {}),
            },
          );
  }

  /**
   * Opens (and on first use initialises) the ledger in `dir` for `genesis`; with
   * `opts.pruning`, pruning resumes in the background at once.
   */
  static async open(
    dir: string,
    genesis: Genesis,
    machine: StateMachine,
    opts: LedgerOptions = {},
  ): Promise<Ledger> {
    const store = await ChainStore.open(dir, opts.store);
    try {
      // A state import that did not finish is no chain (snapshot-import.ts).
      const importing = await store.importMarker();
      if (importing !== undefined) {
        throw new CivitasError(
          'SNAPSHOT_IMPORT_INCOMPLETE',
          `the database at ${dir} holds an unfinished state import (height ${readHeightKey(importing)}): run the state sync again, or start from an empty data dir`,
        );
      }
      const expectedGenesis = genesisHash(genesis);
      const storedGenesis = await store.genesisHash();
      if (storedGenesis === undefined) {
        // In bounded batches (genesis-state.ts): a genesis may fund more accounts than the
        // heap holds tree nodes for. A build a stop cut short is cleared and done again.
        await writeGenesisState(store, expectedGenesis, machine.genesisValues(genesis));
      } else if (!equalBytes(storedGenesis, expectedGenesis)) {
        throw new CivitasError(
          'LEDGER_GENESIS_MISMATCH',
          `database at ${dir} belongs to another genesis (${toHex(storedGenesis)})`,
        );
      }
      const height = (await store.height()) ?? 0;
      const tip = await Ledger.loadTip(store, genesis, expectedGenesis, height);
      const log = new ValidatorLog(
        genesisValidatorSet(genesis),
        (await store.validatorChanges()).map(({ fromHeight, encoded }) => ({
          fromHeight,
          set: decodeValidatorKeys(encoded),
        })),
      );
      const recent: RecentBlock[] = [];
      for (let h = Math.max(1, height - RECENT_BLOCKS + 1); h <= height; h++) {
        const block = await store.getBlock(h);
        if (block === undefined) throw new CivitasError('LEDGER_CORRUPT', `block ${h} missing`);
        recent.push(recentOf(block, log));
      }
      const ledger = new Ledger(store, genesis, expectedGenesis, machine, tip, log, recent, opts);
      ledger.pruner?.noteCommitted(height);
      ledger.snapshotter?.noteCommitted(0, tip.stateRoot); // removes what a stop cut short
      return ledger;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  private static async loadTip(
    store: ChainStore,
    genesis: Genesis,
    hash: Uint8Array,
    height: number,
  ): Promise<CommittedTip> {
    const tree = new StateTree(new LevelNodeReader(store.tree));
    const stateRoot = await tree.rootHash(height);
    if (height === 0) {
      return {
        height,
        hash,
        timestamp: genesis.genesisTime,
        stateRoot,
        header: null,
        certificate: null,
      };
    }
    const block = await store.getBlock(height);
    const certificate = await store.getCertificate(height);
    if (block === undefined || certificate === undefined) {
      throw new CivitasError(
        'LEDGER_CORRUPT',
        `block or certificate ${height} missing from the store`,
      );
    }
    return {
      height,
      hash: block.hash,
      timestamp: block.header.timestamp,
      stateRoot,
      header: block.header,
      certificate,
    };
  }

  get tip(): CommittedTip {
    return this.tipState;
  }

  get height(): number {
    return this.tipState.height;
  }

  /**
   * The validator set that signs `height`, from the change log (validator-log.ts). `decided`,
   * when given, is the block at height − 1 that consensus just decided and may not have
   * committed yet: its execution result names the set. Above tip + 1 (without it) this is
   * only the latest known set.
   */
  validatorsAt(height: number, decided?: SealedBlock): ValidatorSet {
    if (decided !== undefined && decided.header.height === height - 1) {
      const executed = this.executed.get(toHex(decided.hash));
      if (executed?.validatorChange !== undefined) return executed.validatorChange;
    }
    return this.validatorLog.at(height);
  }

  /** Every validator-set change after genesis, oldest first (the light client's change log). */
  validatorChanges(): readonly ValidatorChange[] {
    return this.validatorLog.changes();
  }

  /** What execution of block `height` may know of the chain (ChainView). */
  private chainView(height: number, lastCommit: CommitCertificate | null): ChainView {
    const recent = this.recent;
    const own = lastCommit === null ? [] : signerKeys(lastCommit, this.validatorLog.at(height - 1));
    return {
      params: this.params,
      validators: this.validatorLog.at(height),
      blockHash: (h) => recent.find((b) => b.height === h)?.hash,
      signedSince: (fromHeight) => {
        const keys = new Set(own);
        for (const b of recent) if (b.height >= fromHeight) for (const k of b.signers) keys.add(k);
        return keys;
      },
    };
  }

  /** Executes txs on top of the committed tip as block tip+1. */
  async execute(
    txs: readonly Tx[],
    txHashes: readonly Uint8Array[],
    opts: { lastCommit: CommitCertificate | null; stages?: LedgerStageTimes },
  ): Promise<ExecutedBlock> {
    const { stages } = opts;
    const height = this.tipState.height + 1;
    // Every key the block writes was prefetched, so each is hashed once, at the read.
    const keyHashes = new Map<Uint8Array, Uint8Array>();
    const { receipts, changes, history, validators } = await this.machine.execute(
      txs,
      txHashes,
      height,
      (keys) =>
        this.readValues(
          keys.map((key) => {
            const keyHash = stateKeyHash(key);
            keyHashes.set(key, keyHash);
            return keyHash;
          }),
        ),
      this.chainView(height, opts.lastCommit),
    );
    const current = this.validatorLog.at(height);
    let validatorChange: ValidatorSet | undefined;
    if (validators !== undefined) {
      const next = makeValidatorSet(validators);
      if (!equalBytes(next.hash, current.hash)) validatorChange = next;
    }
    const values = changes.map(
      ({ key, value }) =>
        [keyHashes.get(key) ?? stateKeyHash(key), value] as [Uint8Array, Uint8Array],
    );
    const links = history.map(
      (c): HistoryLink => ({
        keyHash: keyHashes.get(c.key) ?? stateKeyHash(c.key),
        rev: c.rev,
        txIndex: c.txIndex,
        opIndex: c.opIndex,
        action: c.action,
      }),
    );
    const encodedReceipts = receipts.map(encodeReceipt);
    const treeStart = performance.now();
    const { rootHash, nodes, staleNodes } = await this.tree.update(height - 1, height, values);
    if (stages !== undefined) stages.stateTreeMs += performance.now() - treeStart;
    if (this.tipState.height !== height - 1) {
      throw new CivitasError('LEDGER_TIP_MOVED', 'the chain advanced while executing; retry');
    }
    return {
      height,
      receipts,
      encodedReceipts,
      receiptRoot: merkleRoot(encodedReceipts),
      stateRoot: rootHash,
      treeNodes: nodes,
      staleNodes,
      values,
      history: links,
      nextValidatorSetHash: (validatorChange ?? current).hash,
      ...(validatorChange !== undefined ? { validatorChange } : {}),
    };
  }

  /** The proposer's path: execute txs and seal them into block tip+1. */
  async buildBlock(opts: {
    txs: readonly Tx[];
    proposer: Uint8Array;
    lastCommit: CommitCertificate | null;
  }): Promise<{ block: SealedBlock; executed: ExecutedBlock }> {
    const tip = this.tipState;
    const encodedTxs = opts.txs.map(encodeTx);
    const txHashes = encodedTxs.map(txHashOfBytes);
    // The proposer checks what its peers will check: a block it builds must be valid.
    validateTxsNotCommitted(txHashes, await this.store.hasTxs(txHashes));
    const executed = await this.execute(opts.txs, txHashes, { lastCommit: opts.lastCommit });
    const block: Block = {
      header: {
        chainId: this.chainId,
        height: tip.height + 1,
        parentHash: tip.hash,
        // Not the proposer's to choose: the quorum's time (chain/block-time.ts).
        timestamp: blockTimeOf(tip.height + 1, opts.lastCommit, this.genesis.genesisTime),
        proposer: opts.proposer,
        txRoot: computeTxRoot(txHashes),
        receiptRoot: executed.receiptRoot,
        stateRoot: executed.stateRoot,
        validatorSetHash: this.validatorsAt(tip.height + 1).hash,
        nextValidatorSetHash: executed.nextValidatorSetHash,
        lastCommitHash: lastCommitHashOf(opts.lastCommit),
      },
      txs: opts.txs,
      lastCommit: opts.lastCommit,
    };
    const sealed = sealBlock(block);
    this.remember(sealed.hash, executed);
    return { block: sealed, executed };
  }

  parentContext(checkSignature: SignatureCheck): ParentContext {
    const tip = this.tipState;
    return {
      chainId: this.chainId,
      parentHeight: tip.height,
      parentHash: tip.hash,
      parentTimestamp: tip.timestamp,
      genesisTime: this.genesis.genesisTime,
      validators: this.validatorsAt(tip.height + 1),
      parentValidators: this.validatorsAt(tip.height),
      checkSignature,
    };
  }

  /**
   * Full validation of a proposed or synced block on top of the tip: stateless (with
   * signatures), against the parent, then re-execution with roots compared.
   */
  async validateBlock(
    block: SealedBlock,
    opts: {
      verifySignatures: TxSignatureVerifier;
      checkSignature: SignatureCheck;
      /** Adds the time of this validation's state-tree update (benchmarks, metrics). */
      stages?: LedgerStageTimes;
    },
  ): Promise<ExecutedBlock> {
    const cached = this.executed.get(toHex(block.hash));
    if (cached !== undefined && cached.height === this.tipState.height + 1) return cached;
    validateBlockAgainstParent(block, this.parentContext(opts.checkSignature));
    // One batched tx-index read, overlapped with the signature checks.
    const committed = this.store.hasTxs(block.txHashes);
    committed.catch(() => {}); // awaited below; a stateless failure must not leave it unhandled
    await validateBlockStateless(block, {
      chainId: this.chainId,
      params: this.params,
      verifySignatures: opts.verifySignatures,
    });
    validateTxsNotCommitted(block.txHashes, await committed);
    const executed = await this.execute(block.txs, block.txHashes, {
      lastCommit: block.lastCommit,
      ...(opts.stages !== undefined ? { stages: opts.stages } : {}),
    });
    validateExecution(block.header, executed);
    this.remember(block.hash, executed);
    return executed;
  }

  private remember(hash: Uint8Array, executed: ExecutedBlock): void {
    if (this.executed.size >= EXECUTED_CACHE_MAX)
      this.executed.delete(this.executed.keys().next().value!);
    this.executed.set(toHex(hash), executed);
  }

  /** Executed result of a block validated or built earlier, if still cached. */
  executedFor(block: SealedBlock): ExecutedBlock | undefined {
    const e = this.executed.get(toHex(block.hash));
    return e !== undefined && e.height === block.header.height ? e : undefined;
  }

  /**
   * Commits block tip+1 with the certificate that made it final: one atomic, synced batch.
   * Commits are serialised; the caller must have validated (or built) the block.
   */
  async commit(
    block: SealedBlock,
    certificate: CommitCertificate,
    executed: ExecutedBlock,
  ): Promise<void> {
    const run = this.committing.then(async () => {
      const height = block.header.height;
      if (height !== this.tipState.height + 1) {
        throw new CivitasError(
          'LEDGER_BAD_COMMIT_HEIGHT',
          `cannot commit ${height} on top of ${this.tipState.height}`,
        );
      }
      if (executed.height !== height) {
        throw new CivitasError(
          'LEDGER_BAD_COMMIT_HEIGHT',
          'execution result is for another height',
        );
      }
      this.values.beginCommit();
      try {
        await this.store.commitBlock({
          block,
          certificate,
          encodedReceipts: executed.encodedReceipts,
          treeNodes: executed.treeNodes,
          staleNodes: executed.staleNodes,
          values: executed.values,
          history: executed.history,
          ...(executed.validatorChange !== undefined
            ? {
                validatorChange: {
                  fromHeight: height + 1,
                  encoded: encodeValidatorKeys(executed.validatorChange),
                },
              }
            : {}),
        });
      } catch (err) {
        this.values.endCommit();
        throw err;
      }
      this.values.endCommit(executed.values);
      // Only now, with the batch durable, may the tree serve these nodes from memory.
      this.tree.noteCommitted(executed.treeNodes);
      if (executed.validatorChange !== undefined) {
        this.validatorLog.add({ fromHeight: height + 1, set: executed.validatorChange });
      }
      this.recent.push(recentOf(block, this.validatorLog));
      if (this.recent.length > RECENT_BLOCKS) this.recent.shift();
      this.tipState = {
        height,
        hash: block.hash,
        timestamp: block.header.timestamp,
        stateRoot: executed.stateRoot,
        header: block.header,
        certificate,
      };
      this.executed.clear();
      this.pruner?.noteCommitted(height);
      this.snapshotter?.noteCommitted(height, executed.stateRoot);
    });
    this.committing = run.catch(() => {});
    return run;
  }

  /**
   * The heights block pruning keeps: those whose blocks carry a validator-set change (light
   * clients and joining nodes follow them), and the RECENT_BLOCKS blocks up to each kept
   * snapshot's height (a node joining from that snapshot fetches them).
   */
  private validatorChangeHeights(): ReadonlySet<number> {
    const keep = new Set(this.validatorLog.changes().map((c) => c.fromHeight - 1));
    for (const s of this.snapshotter?.heights() ?? []) {
      for (let h = Math.max(1, s - RECENT_BLOCKS + 1); h <= s; h++) keep.add(h);
    }
    return keep;
  }

  /**
   * The lowest height whose block a node joining from this node's snapshots fetches (kind 8:
   * the tx hashes and headers of the maxTxLifetime heights up to the snapshot): that of the
   * lowest snapshot kept, or before any is, of the one being written or the next one due.
   * Block pruning keeps it and every block above, whatever `retainBlocks` says
   * (docs/STATE-SYNC.md); undefined on a chain without maxTxLifetime (it cannot state-sync)
   * or on a node that takes no snapshots.
   */
  private servedWindowFrom(interval: number): number | undefined {
    const lifetime = this.params.maxTxLifetime;
    if (lifetime === undefined || this.snapshotter === undefined || interval === 0) {
      return undefined;
    }
    const lowest =
      this.snapshotter.heights()[0] ??
      this.snapshotter.holdVersion() ??
      Math.max(1, Math.ceil(this.height / interval)) * interval;
    return snapshotWindowFrom(lowest, lifetime);
  }

  /** Snapshots written since the node started, and the newest kept (0: none). */
  snapshotStats(): { readonly taken: number; readonly newestHeight: number } {
    return {
      taken: this.snapshotter?.snapshotsTaken ?? 0,
      newestHeight: this.snapshotter?.heights().at(-1) ?? 0,
    };
  }

  /** Resolves once the snapshot being written, if any, is done (tests, benchmarks). */
  async snapshotsSettled(): Promise<void> {
    await this.snapshotter?.settled();
  }

  /** Resolves once the background pruning due so far is done (tests, benchmarks). */
  async pruningSettled(): Promise<void> {
    await this.pruner?.settled();
  }

  /** What pruning keeps and has deleted (all kept and nothing deleted on an archive node). */
  pruningStats(): PruningStats {
    const { stateFrom, blocksFrom } = this.store.retainedFrom();
    return this.pruner?.stats() ?? { stateFrom, blocksFrom, prunedNodes: 0, prunedBlocks: 0 };
  }

  /** The latest committed value of a raw state key (undefined: absent). */
  async getValue(key: Uint8Array): Promise<Uint8Array | undefined> {
    const [value] = await this.readValues([stateKeyHash(key)]);
    return value;
  }

  /** Committed values by key hash: from the value cache, the misses from LevelDB in one read. */
  private async readValues(keyHashes: Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const { values, missing } = this.values.lookup(keyHashes);
    if (missing.length === 0) return values;
    const epoch = this.values.readEpoch();
    const missingHashes =
      missing.length === keyHashes.length ? keyHashes : missing.map((i) => keyHashes[i]!);
    const read = await this.store.getValues(missingHashes);
    this.values.fill(epoch, missingHashes, read);
    for (let j = 0; j < missing.length; j++) values[missing[j]!] = read[j];
    return values;
  }

  /** Hits and misses of the committed-value cache (for metrics and tests). */
  valueCacheStats(): ValueCacheStats {
    return this.values.stats();
  }

  /** What the state caches hold: the node cache's entries and bytes, the value cache's entries. */
  cacheStats(): { nodes: { entries: number; bytes: number }; values: { entries: number } } {
    const { entries, bytes } = this.nodeCache.stats;
    return { nodes: { entries, bytes }, values: { entries: this.values.stats().entries } };
  }

  /**
   * A raw state key's value with a proof against the state root of `height` (default: the
   * tip). Below the kept state versions: STATE_VERSION_PRUNED.
   */
  async prove(key: Uint8Array, height = this.tipState.height): Promise<ProvenValue> {
    const keyHash = stateKeyHash(key);
    this.checkStateKept(height);
    try {
      const [stateRoot, { value, proof }] = await Promise.all([
        this.tree.rootHash(height),
        this.tree.getWithProof(height, keyHash),
      ]);
      return { height, stateRoot, value, proof, keyHash };
    } catch (err) {
      // The window moved past `height` during the walk, and its nodes went.
      if (codeOf(err) === 'STATE_MISSING_NODE') this.checkStateKept(height);
      throw err;
    }
  }

  private checkStateKept(height: number): void {
    const { stateFrom } = this.store.retainedFrom();
    if (height < stateFrom) {
      throw new CivitasError(
        'STATE_VERSION_PRUNED',
        `the state of height ${height} is pruned: this node keeps heights ${stateFrom} to ${this.tipState.height} (an archive node keeps them all)`,
        { height, retainedFrom: stateFrom, tip: this.tipState.height },
      );
    }
  }

  /**
   * The history index of the object at raw state key `key`: which tx made each revision, from
   * `fromRev` on, in rev order (at most `limit`). An index, not proven: a client proves the
   * txs it names (src/client/history.ts).
   */
  history(
    key: Uint8Array,
    opts: { fromRev?: number; limit?: number } = {},
  ): Promise<HistoryEntry[]> {
    return this.store.history(stateKeyHash(key), opts);
  }

  async close(): Promise<void> {
    await this.committing;
    await this.snapshotter?.close();
    await this.pruner?.close();
    await this.store.close();
  }
}

interface RecentBlock {
  readonly height: number;
  readonly hash: Uint8Array;
  /** Public keys (hex) of the signers of the certificate the block carries. */
  readonly signers: readonly string[];
}

function signerKeys(certificate: CommitCertificate, set: ValidatorSet): string[] {
  const keys: string[] = [];
  for (const s of certificate.signatures) {
    const key = set.validators[s.validatorIndex];
    if (key !== undefined) keys.push(toHex(key));
  }
  return keys;
}

function recentOf(block: SealedBlock, log: ValidatorLog): RecentBlock {
  const h = block.header.height;
  return {
    height: h,
    hash: block.hash,
    signers: block.lastCommit === null ? [] : signerKeys(block.lastCommit, log.at(h - 1)),
  };
}
