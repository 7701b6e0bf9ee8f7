/**
 * The node's database: one LevelDB with a sublevel per bucket. Bucket names are never
 * reused for another meaning.
 *
 *   blocks    height → encoded block
 *   hashes    block hash → height
 *   certs     height → the commit certificate that made that block final
 *   txs       tx hash → (height, index)
 *   receipts  (height, index) → encoded receipt
 *   tree      state-tree nodes, keyed by (version, path) — written once
 *   stale     u64 version ‖ tree node key → nothing: the stale-node index. A node listed under
 *             version v is not part of v or any later version (v's update replaced, moved or
 *             removed it), so it can go once no version below v is kept (pruner.ts). Written
 *             only by a ledger that prunes state.
 *   values    state key hash → latest value (a flat copy of the tree's leaves for fast reads)
 *   meta      'height' → last committed height; 'genesis' → genesis hash; 'vset/' ‖ height →
 *             the validator set from that height on (written with the block that changed it);
 *             'state-from' → the lowest state version kept whole; 'blocks-from' → the lowest
 *             height whose block, certificate and receipts are kept (both absent: all kept);
 *             'sync-import' → u64 height ‖ state root while a state import (snapshot-import.ts)
 *             is unfinished: the ledger refuses to open such a database; 'synced-from' → u64
 *             height S of the snapshot a state import made this database from (absent: it
 *             replayed from the genesis), and 'txs-from' → the lowest height whose txs the tx
 *             index holds (absent: all), both written by the import's last batch: the history
 *             index then starts at S + 1, the tx index at the lifetime window's first height;
 *             'genesis-build' → the genesis hash while the genesis state (genesis-state.ts) is
 *             written in several batches: read only while 'genesis' is absent, it says the
 *             tree and values buckets hold part of a genesis, to clear before a new build;
 *             'vblock/' ‖ u64 height → u8 1 ‖ bytes header ‖ bytes certificate of a block that
 *             changed the validator set, written by a state import's last batch for each change
 *             block it does not keep whole (fetched and checked with the changes): a synced node
 *             serves the change log (kind 7, GET /validators/changes) from there
 *   wal       consensus write-ahead log
 *   history   (state key hash, u32 rev) → which tx made that revision of a tracked object:
 *             (height, tx index, op index, governance action or none, tx hash). An index for
 *             GET /history, not consensus data: nothing proves it, and a client proves the
 *             txs it points at (src/client/history.ts). Written by block commits only, so a
 *             database that predates the bucket has no entries for its older blocks.
 *   snapshots u64 height ‖ 0x00 → a state snapshot's manifest; u64 height ‖ 0x01 ‖ u32 index →
 *             its chunk (snapshot.ts, snapshot-store.ts). Chunks first, the manifest last.
 *
 * A block commit is ONE batch written with `sync: true`: the block, its certificate, indexes
 * (txs and history), receipts, tree nodes, flat values and the new height land together or
 * not at all, so a `kill -9` at any moment reopens to exactly the last committed block, its
 * state and its index.
 *
 * Pruning (pruner.ts) deletes in batches of its own, each with the new lowest kept version or
 * height, so a crash between two leaves the store consistent and the next run goes on. Kept
 * whatever the settings: the tx index and block hashes (a committed tx must stay committed
 * for block validity on every node alike), the history index, the blocks that changed the
 * validator set (light clients follow that chain of certificates) and the flat values.
 */

import type { AbstractSublevel } from 'abstract-level';
import { Level } from 'level';
import {
  type CommitCertificate,
  decodeBlock,
  decodeCertificate,
  decodeReceipt,
  encodeCertificate,
  encodeHeader,
  type Receipt,
  type SealedBlock,
} from '../chain/index.ts';
import { decode, expectVersion } from '../codec/reader.ts';
import { encode } from '../codec/writer.ts';
import { concatBytes, utf8 } from '../crypto/bytes.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import {
  heightKey,
  historyKey,
  readHeightKey,
  readHistoryRev,
  readTxLocation,
  txLocationKey,
} from './keys.ts';

type Bytes = Uint8Array;
type Bucket = AbstractSublevel<Level<Bytes, Bytes>, Bytes | string | Buffer, Bytes, Bytes>;

const BYTES = { keyEncoding: 'view', valueEncoding: 'view' } as const;

/**
 * LevelDB's memtable size (its default is 4 MiB). A 1,000-tx block writes ~0.6 MiB (tree
 * nodes, receipts, the block, indexes), so the default flushed a level-0 table every few
 * blocks; each flush and the compactions behind it cost CPU on LevelDB's threads, and every
 * tx-index lookup of a block (~1,000 keys, almost all absent) checks each level-0 table. With
 * 16 MiB the LevelDB threads spent ~6 instead of ~11 µs of CPU per tx in `bench validate`
 * (1,000-tx blocks); at most two memtables (the live one and one being flushed) are held.
 */
const WRITE_BUFFER_BYTES = 16 * 1024 * 1024;
const META_HEIGHT = utf8.encode('height');
const META_GENESIS = utf8.encode('genesis');
/** `vset/` ‖ height: the validator set from that height on (validator-log.ts). */
const META_VSET = utf8.encode('vset/');
/** The lowest state version whose tree is whole (versions below it are pruned). */
const META_STATE_FROM = utf8.encode('state-from');
/** The lowest height whose block, certificate and receipts are kept (but validator changes). */
const META_BLOCKS_FROM = utf8.encode('blocks-from');
/** An unfinished state import: u64 height ‖ state root (snapshot-import.ts). */
const META_IMPORT = utf8.encode('sync-import');
/** The height of the snapshot a state import started this database from (absent: replayed). */
const META_SYNCED_FROM = utf8.encode('synced-from');
/** The lowest height whose txs the tx index holds (absent: every height). */
const META_TXS_FROM = utf8.encode('txs-from');
/** `vblock/` ‖ height: header and certificate of a change block a state import kept alone. */
const META_CHANGE_BLOCK = utf8.encode('vblock/');
/** A genesis state being written (genesis-state.ts): the genesis hash. */
const META_GENESIS_BUILD = utf8.encode('genesis-build');
const NOTHING = new Uint8Array(0);

export interface BlockCommit {
  readonly block: SealedBlock;
  readonly certificate: CommitCertificate;
  /** Canonical receipt bytes, one per tx, in order. */
  readonly encodedReceipts: readonly Bytes[];
  /** State-tree nodes created by this block's execution. */
  readonly treeNodes: ReadonlyArray<readonly [Bytes, Bytes]>;
  /** Keys of older tree nodes this block's state no longer references (the stale index). */
  readonly staleNodes?: readonly Bytes[];
  /** Flat state values changed by this block (null = deleted). */
  readonly values: ReadonlyArray<readonly [Bytes, Bytes | null]>;
  /** Each change of a tracked object by a tx that succeeded (the history index's entries). */
  readonly history: readonly HistoryLink[];
  /** The validator set this block's execution put in force from the next height, if changed. */
  readonly validatorChange?: { readonly fromHeight: number; readonly encoded: Bytes };
}

/** One change of a tracked object, as a block commit indexes it. */
export interface HistoryLink {
  /** stateKeyHash of the object's state key. */
  readonly keyHash: Bytes;
  /** The revision this change made. */
  readonly rev: number;
  readonly txIndex: number;
  readonly opIndex: number;
  /** The governance action's index in the proposal the op voted on, or null. */
  readonly action: number | null;
}

/** What the history index holds for one revision of an object. Unproven. */
export interface HistoryEntry {
  readonly rev: number;
  readonly height: number;
  readonly txIndex: number;
  readonly opIndex: number;
  readonly action: number | null;
  readonly txHash: Bytes;
}

/** The most entries one history read returns (a larger limit is read as this). */
export const MAX_HISTORY_READ = 10_000;
/** Revisions are indexed as u32. */
const MAX_REV = 0xffff_ffff;

function encodeHistoryValue(link: HistoryLink, height: number, txHash: Bytes): Bytes {
  return encode((w) => {
    w.u8(1).varuint(height).varuint(link.txIndex).varuint(link.opIndex);
    w.bool(link.action !== null);
    if (link.action !== null) w.varuint(link.action);
    w.fixed(txHash, HASH_LENGTH);
  }, 48);
}

function decodeHistoryValue(rev: number, bytes: Bytes): HistoryEntry {
  return decode(bytes, (r) => {
    expectVersion(r, 1, 'history entry');
    const height = r.varuint();
    const txIndex = r.varuint();
    const opIndex = r.varuint();
    const action = r.bool() ? r.varuint() : null;
    return { rev, height, txIndex, opIndex, action, txHash: r.fixed(HASH_LENGTH) };
  });
}

interface BucketPrefixes {
  readonly blocks: Bytes;
  readonly hashes: Bytes;
  readonly certs: Bytes;
  readonly txs: Bytes;
  readonly receipts: Bytes;
  readonly tree: Bytes;
  readonly stale: Bytes;
  readonly values: Bytes;
  readonly meta: Bytes;
  readonly historyIndex: Bytes;
  readonly snapshots: Bytes;
}

/** `prefix || key` in one new array: a bucket's key as the root database holds it. */
function prefixed(prefix: Bytes, key: Bytes): Bytes {
  const out = new Uint8Array(prefix.length + key.length);
  out.set(prefix, 0);
  out.set(key, prefix.length);
  return out;
}

/**
 * The lowest height of what this node holds, per kind (0: from the genesis). A pruner raises
 * the first two; a state import at S sets them all: state from S, blocks (with receipts) from
 * S + 1, the tx index from the lifetime window's first height, the history index from S + 1.
 */
export interface RetainedFrom {
  /** The lowest state version whose tree is whole. */
  readonly stateFrom: number;
  /** The lowest height whose block, certificate and receipts are kept. */
  readonly blocksFrom: number;
  /** The lowest height whose txs the tx index holds (GET /txs/:hash). */
  readonly txsFrom: number;
  /** The lowest height whose changes the history index holds (GET /history). */
  readonly historyFrom: number;
}

export interface TxLocation {
  readonly height: number;
  readonly index: number;
}

export class ChainStore {
  readonly db: Level<Bytes, Bytes>;
  readonly blocks: Bucket;
  readonly hashes: Bucket;
  readonly certs: Bucket;
  readonly txs: Bucket;
  readonly receipts: Bucket;
  readonly tree: Bucket;
  readonly stale: Bucket;
  readonly values: Bucket;
  readonly meta: Bucket;
  readonly wal: Bucket;
  readonly historyIndex: Bucket;
  readonly snapshots: Bucket;
  /** Each bucket's key prefix in the root database, for the block commit's batch. */
  private readonly prefixes: BucketPrefixes;
  /**
   * The lowest state version and block height kept (see `meta`). Raised here before the
   * deletions they announce are written, so a read never finds a pruned entry missing
   * without knowing why.
   */
  private retained: RetainedFrom = { stateFrom: 0, blocksFrom: 0, txsFrom: 0, historyFrom: 0 };
  /** The height of the snapshot this database was imported from; undefined: it replayed. */
  private synced: number | undefined;

  private constructor(db: Level<Bytes, Bytes>) {
    this.db = db;
    const bucket = (name: string): Bucket => db.sublevel<Bytes, Bytes>(name, BYTES) as Bucket;
    this.blocks = bucket('blocks');
    this.hashes = bucket('hashes');
    this.certs = bucket('certs');
    this.txs = bucket('txs');
    this.receipts = bucket('receipts');
    this.tree = bucket('tree');
    this.stale = bucket('stale');
    this.values = bucket('values');
    this.meta = bucket('meta');
    this.wal = bucket('wal');
    this.historyIndex = bucket('history');
    this.snapshots = bucket('snapshots');
    const prefix = (b: Bucket): Bytes => utf8.encode(b.prefix);
    this.prefixes = {
      blocks: prefix(this.blocks),
      hashes: prefix(this.hashes),
      certs: prefix(this.certs),
      txs: prefix(this.txs),
      receipts: prefix(this.receipts),
      tree: prefix(this.tree),
      stale: prefix(this.stale),
      values: prefix(this.values),
      meta: prefix(this.meta),
      historyIndex: prefix(this.historyIndex),
      snapshots: prefix(this.snapshots),
    };
  }

  /**
   * `writeBufferBytes` (default WRITE_BUFFER_BYTES), `cacheBytes` (LevelDB's block cache,
   * default its own 8 MiB) and `maxOpenFiles` (its table cache, default 1,000) come from the
   * node's memory budget (node/memory-budget.ts).
   */
  static async open(
    dir: string,
    opts: { writeBufferBytes?: number; cacheBytes?: number; maxOpenFiles?: number } = {},
  ): Promise<ChainStore> {
    const db = new Level<Bytes, Bytes>(dir, {
      ...BYTES,
      writeBufferSize: opts.writeBufferBytes ?? WRITE_BUFFER_BYTES,
      ...(opts.cacheBytes === undefined ? {} : { cacheSize: opts.cacheBytes }),
      ...(opts.maxOpenFiles === undefined ? {} : { maxOpenFiles: opts.maxOpenFiles }),
    });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: Error & { code?: string } }).cause;
      // Rule: one process per database — LevelDB's lock says another holds it.
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new CivitasError(
          'STORE_IN_USE',
          `the database at ${dir} is in use by another process (is this node already running? a second copy would sign with the same key)`,
          { dir },
        );
      }
      throw new CivitasError(
        'STORE_OPEN_FAILED',
        `cannot open database at ${dir}: ${cause?.message ?? (err as Error).message}`,
        {
          dir,
        },
      );
    }
    const store = new ChainStore(db);
    try {
      const [stateFrom, blocksFrom, txsFrom, syncedFrom] = await store.meta.getMany([
        META_STATE_FROM,
        META_BLOCKS_FROM,
        META_TXS_FROM,
        META_SYNCED_FROM,
      ]);
      const height = (v: Bytes | undefined) => (v === undefined ? 0 : readHeightKey(v));
      store.synced = syncedFrom === undefined ? undefined : readHeightKey(syncedFrom);
      store.retained = {
        stateFrom: height(stateFrom),
        blocksFrom: height(blocksFrom),
        txsFrom: height(txsFrom),
        historyFrom: store.synced === undefined ? 0 : store.synced + 1,
      };
    } catch (err) {
      await db.close();
      throw err;
    }
    return store;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Last committed height; 0 when only genesis state exists; undefined for a fresh store. */
  async height(): Promise<number | undefined> {
    const v = await this.meta.get(META_HEIGHT);
    return v === undefined ? undefined : readHeightKey(v);
  }

  async genesisHash(): Promise<Bytes | undefined> {
    return this.meta.get(META_GENESIS);
  }

  /** The marker of a genesis state being written (the genesis hash), if any. */
  async genesisBuildMarker(): Promise<Bytes | undefined> {
    return this.meta.get(META_GENESIS_BUILD);
  }

  /**
   * Starts writing the genesis state (version 0) in batches (writeImportedState): until
   * completeGenesis the store has no genesis and no height, and the marker names the build.
   */
  async beginGenesis(genesisHash: Bytes): Promise<void> {
    const batch = this.db.batch();
    batch.put(prefixed(this.prefixes.meta, META_GENESIS_BUILD), genesisHash);
    await batch.write({ sync: true });
  }

  /** The genesis state is whole: the genesis hash and height 0, the marker gone; synced. */
  async completeGenesis(genesisHash: Bytes): Promise<void> {
    const p = this.prefixes;
    const batch = this.db.batch();
    batch.put(prefixed(p.meta, META_GENESIS), genesisHash);
    batch.put(prefixed(p.meta, META_HEIGHT), heightKey(0));
    batch.del(prefixed(p.meta, META_GENESIS_BUILD));
    await batch.write({ sync: true });
  }

  /**
   * The one atomic, synced write of a committed block and everything derived from it.
   *
   * Written to the root database with each bucket's prefix put in front of the key here: the
   * same bytes a put through the sublevel stores (`!name!` || key), without abstract-level's
   * per-operation sublevel delegation (an ancestry walk, a copy of the options and a second
   * key copy for each of the ~6 puts per tx).
   */
  async commitBlock(commit: BlockCommit): Promise<void> {
    const { block, certificate, encodedReceipts } = commit;
    const p = this.prefixes;
    const height = block.header.height;
    const hk = heightKey(height);
    const batch = this.db.batch();
    batch.put(prefixed(p.blocks, hk), block.encoded);
    batch.put(prefixed(p.hashes, block.hash), hk);
    batch.put(prefixed(p.certs, hk), encodeCertificate(certificate));
    for (let i = 0; i < block.txHashes.length; i++) {
      const loc = txLocationKey(height, i);
      batch.put(prefixed(p.txs, block.txHashes[i]!), loc);
      batch.put(prefixed(p.receipts, loc), encodedReceipts[i]!);
    }
    for (const [k, v] of commit.treeNodes) batch.put(prefixed(p.tree, k), v);
    if (commit.staleNodes !== undefined) {
      for (const k of commit.staleNodes) batch.put(prefixed(p.stale, concatBytes(hk, k)), NOTHING);
    }
    for (const [k, v] of commit.values) {
      if (v === null) batch.del(prefixed(p.values, k));
      else batch.put(prefixed(p.values, k), v);
    }
    for (const link of commit.history) {
      batch.put(
        prefixed(p.historyIndex, historyKey(link.keyHash, link.rev)),
        encodeHistoryValue(link, height, block.txHashes[link.txIndex]!),
      );
    }
    if (commit.validatorChange !== undefined) {
      const { fromHeight, encoded } = commit.validatorChange;
      batch.put(prefixed(p.meta, concatBytes(META_VSET, heightKey(fromHeight))), encoded);
    }
    batch.put(prefixed(p.meta, META_HEIGHT), hk);
    await batch.write({ sync: true });
  }

  async getBlock(height: number): Promise<SealedBlock | undefined> {
    const bytes = await this.getBlockBytes(height);
    return bytes === undefined ? undefined : decodeBlock(bytes);
  }

  /** The block's bytes; LEDGER_BLOCK_PRUNED below the kept heights (undefined above the tip). */
  async getBlockBytes(height: number): Promise<Bytes | undefined> {
    return this.unlessPruned(height, await this.blocks.get(heightKey(height)));
  }

  async getHeightOfHash(hash: Bytes): Promise<number | undefined> {
    const v = await this.hashes.get(hash);
    return v === undefined ? undefined : readHeightKey(v);
  }

  async getCertificate(height: number): Promise<CommitCertificate | undefined> {
    const bytes = await this.getCertificateBytes(height);
    return bytes === undefined ? undefined : decodeCertificate(bytes);
  }

  async getCertificateBytes(height: number): Promise<Bytes | undefined> {
    return this.unlessPruned(height, await this.certs.get(heightKey(height)));
  }

  /**
   * The header and certificate of block `height`, which changed the validator set: the
   * import's record when a state import kept it alone, else the block's own (kept whatever the
   * pruning); undefined when neither is held.
   */
  async validatorChangeBlock(
    height: number,
  ): Promise<{ header: Bytes; certificate: Bytes } | undefined> {
    const kept = await this.meta.get(concatBytes(META_CHANGE_BLOCK, heightKey(height)));
    if (kept !== undefined) {
      return decode(kept, (r) => {
        expectVersion(r, 1, 'validator change block');
        return { header: r.bytes(kept.length), certificate: r.bytes(kept.length) };
      });
    }
    const [block, certificate] = await Promise.all([
      this.getBlock(height),
      this.getCertificateBytes(height),
    ]);
    if (block === undefined || certificate === undefined) return undefined;
    return { header: encodeHeader(block.header), certificate };
  }

  async getTxLocation(txHash: Bytes): Promise<TxLocation | undefined> {
    const v = await this.txs.get(txHash);
    return v === undefined ? undefined : readTxLocation(v);
  }

  /**
   * For each hash, whether a committed tx has it (one round trip for a whole batch). Asked of
   * the root database with the bucket's prefix in front (as commitBlock writes), through
   * hasMany: a block asks for ~1,000 hashes that are almost all absent, and neither the
   * sublevel's per-key re-encoding nor a value per key is needed.
   */
  async hasTxs(txHashes: readonly Bytes[]): Promise<boolean[]> {
    if (txHashes.length === 0) return [];
    const prefix = this.prefixes.txs;
    const keys = new Array<Bytes>(txHashes.length);
    for (let i = 0; i < txHashes.length; i++) keys[i] = prefixed(prefix, txHashes[i]!);
    return this.db.hasMany(keys);
  }

  async getReceipt(location: TxLocation): Promise<Receipt | undefined> {
    const bytes = this.unlessPruned(
      location.height,
      await this.receipts.get(txLocationKey(location.height, location.index)),
    );
    return bytes === undefined ? undefined : decodeReceipt(bytes);
  }

  async getReceipts(height: number, count: number): Promise<Receipt[]> {
    return (await this.getReceiptBytes(height, count)).map(decodeReceipt);
  }

  /** The stored canonical receipt bytes of a block (what its receipt root is built from). */
  async getReceiptBytes(height: number, count: number): Promise<Bytes[]> {
    const out: Bytes[] = [];
    for await (const value of this.receipts.values({
      gte: txLocationKey(height, 0),
      lt: txLocationKey(height, count),
    })) {
      out.push(value);
    }
    if (out.length === 0 && count > 0) this.unlessPruned(height, undefined);
    return out;
  }

  /** The lowest height of the state, blocks, tx index and history index this node holds. */
  retainedFrom(): RetainedFrom {
    return this.retained;
  }

  /** The height of the snapshot a state import made this database from; undefined: replayed. */
  syncedFrom(): number | undefined {
    return this.synced;
  }

  /**
   * A block-bucket read, as found; missing below the kept heights it was pruned, and that is
   * LEDGER_BLOCK_PRUNED (410), not a block that never was.
   */
  private unlessPruned(height: number, bytes: Bytes | undefined): Bytes | undefined {
    if (bytes === undefined && height >= 1 && height < this.retained.blocksFrom) {
      throw new CivitasError(
        'LEDGER_BLOCK_PRUNED',
        `block ${height} is pruned: this node keeps blocks, certificates and receipts from height ${this.retained.blocksFrom} on (an archive node keeps them all)`,
        { height, retainedFrom: this.retained.blocksFrom },
      );
    }
    return bytes;
  }

  /**
   * One chunk of state pruning, in one batch: deletes up to `maxKeys` tree nodes stale since a
   * version ≤ `stateFrom` (no version from `stateFrom` on reaches them) with their index
   * entries, and records `stateFrom` as the lowest whole version. Returns the nodes deleted.
   */
  async pruneStateChunk(stateFrom: number, maxKeys: number): Promise<number> {
    const p = this.prefixes;
    if (stateFrom > this.retained.stateFrom) this.retained = { ...this.retained, stateFrom };
    const batch = this.db.batch();
    let deleted = 0;
    for await (const key of this.stale.keys({ lt: heightKey(stateFrom + 1), limit: maxKeys })) {
      batch.del(prefixed(p.tree, key.subarray(8)));
      batch.del(prefixed(p.stale, key));
      deleted++;
    }
    batch.put(prefixed(p.meta, META_STATE_FROM), heightKey(this.retained.stateFrom));
    await batch.write();
    return deleted;
  }

  /**
   * One chunk of block pruning, in one batch: deletes the blocks, certificates and receipts of
   * the heights from the lowest kept one up to `below` (exclusive), but those in `keep`,
   * stopping after the height where `maxKeys` deletions are reached, and records the next
   * height as the lowest kept. Returns the heights pruned.
   */
  async pruneBlocksChunk(
    below: number,
    keep: ReadonlySet<number>,
    maxKeys: number,
  ): Promise<number> {
    const p = this.prefixes;
    let height = Math.max(1, this.retained.blocksFrom);
    if (height >= below) return 0;
    const deletes: Bytes[] = [];
    let heights = 0;
    for (; height < below && deletes.length < maxKeys; height++) {
      if (keep.has(height)) continue;
      const hk = heightKey(height);
      deletes.push(prefixed(p.blocks, hk), prefixed(p.certs, hk));
      for await (const key of this.receipts.keys({
        gte: txLocationKey(height, 0),
        lt: txLocationKey(height + 1, 0),
      })) {
        deletes.push(prefixed(p.receipts, key));
      }
      heights++;
    }
    this.retained = { ...this.retained, blocksFrom: height };
    const batch = this.db.batch();
    for (const key of deletes) batch.del(key);
    batch.put(prefixed(p.meta, META_BLOCKS_FROM), heightKey(height));
    await batch.write();
    return heights;
  }

  async getValue(keyHash: Bytes): Promise<Bytes | undefined> {
    return this.values.get(keyHash);
  }

  async getValues(keyHashes: readonly Bytes[]): Promise<(Bytes | undefined)[]> {
    if (keyHashes.length === 0) return [];
    return this.values.getMany([...keyHashes]);
  }

  /**
   * The history index of the object whose state key hashes to `keyHash`: its entries from
   * revision `fromRev` on, in rev order, at most `limit` (1..MAX_HISTORY_READ; default the most).
   */
  async history(
    keyHash: Bytes,
    opts: { fromRev?: number; limit?: number } = {},
  ): Promise<HistoryEntry[]> {
    const fromRev = Math.max(0, Math.floor(opts.fromRev ?? 0));
    const limit = Math.min(
      MAX_HISTORY_READ,
      Math.max(1, Math.floor(opts.limit ?? MAX_HISTORY_READ)),
    );
    if (fromRev > MAX_REV) return [];
    const out: HistoryEntry[] = [];
    for await (const [key, value] of this.historyIndex.iterator({
      gte: historyKey(keyHash, fromRev),
      lte: historyKey(keyHash, MAX_REV),
      limit,
    })) {
      out.push(decodeHistoryValue(readHistoryRev(key), value));
    }
    return out;
  }

  /** The marker of an unfinished state import (u64 height ‖ state root), if any. */
  async importMarker(): Promise<Bytes | undefined> {
    return this.meta.get(META_IMPORT);
  }

  /** Starts a state import: from now on the ledger refuses this database until it completes. */
  async beginImport(marker: Bytes): Promise<void> {
    const batch = this.db.batch();
    batch.put(prefixed(this.prefixes.meta, META_IMPORT), marker);
    await batch.write({ sync: true });
  }

  /**
   * Deletes up to `maxKeys` keys of the `tree` and `values` buckets (what an import replaces)
   * in one batch; returns how many. Only while an import or genesis build marker is set.
   */
  async clearStateChunk(maxKeys: number): Promise<number> {
    const p = this.prefixes;
    const batch = this.db.batch();
    let deleted = 0;
    for (const [bucket, prefix] of [
      [this.tree, p.tree],
      [this.values, p.values],
      [this.stale, p.stale],
    ] as const) {
      for await (const key of bucket.keys({ limit: maxKeys - deleted })) {
        batch.del(prefixed(prefix, key));
        deleted++;
      }
      if (deleted >= maxKeys) break;
    }
    await batch.write();
    return deleted;
  }

  /** Tree nodes and flat values in one batch: an imported chunk, a part of the genesis state. */
  async writeImportedState(
    treeNodes: ReadonlyArray<readonly [Bytes, Bytes]>,
    values: ReadonlyArray<readonly [Bytes, Bytes]>,
  ): Promise<void> {
    const p = this.prefixes;
    const batch = this.db.batch();
    for (const [k, v] of treeNodes) batch.put(prefixed(p.tree, k), v);
    for (const [k, v] of values) batch.put(prefixed(p.values, k), v);
    await batch.write();
  }

  /**
   * The last batch of a state import at `height`: the blocks a synced node keeps (with their
   * certificates, hashes and tx index, no receipts), the tx index of the lifetime window, the
   * validator changes (with the header and certificate of each change block not kept whole),
   * the genesis hash, the kept ranges (state from `height`, blocks with
   * receipts from `height` + 1, the tx index from the lowest height handed to it), that the
   * database was synced from `height`, and the height; the marker goes. Synced.
   */
  async completeImport(done: {
    readonly genesisHash: Bytes;
    readonly height: number;
    readonly blocks: ReadonlyArray<{ block: SealedBlock; certificate: CommitCertificate }>;
    readonly txIndex: ReadonlyArray<{ height: number; txHashes: readonly Bytes[] }>;
    readonly validatorChanges: ReadonlyArray<{
      fromHeight: number;
      encoded: Bytes;
      header: Bytes;
      certificate: Bytes;
    }>;
  }): Promise<void> {
    const p = this.prefixes;
    const batch = this.db.batch();
    for (const { height, txHashes } of done.txIndex) {
      for (let i = 0; i < txHashes.length; i++) {
        batch.put(prefixed(p.txs, txHashes[i]!), txLocationKey(height, i));
      }
    }
    for (const { block, certificate } of done.blocks) {
      const hk = heightKey(block.header.height);
      batch.put(prefixed(p.blocks, hk), block.encoded);
      batch.put(prefixed(p.hashes, block.hash), hk);
      batch.put(prefixed(p.certs, hk), encodeCertificate(certificate));
      for (let i = 0; i < block.txHashes.length; i++) {
        batch.put(prefixed(p.txs, block.txHashes[i]!), txLocationKey(block.header.height, i));
      }
    }
    const whole = new Set(done.blocks.map(({ block }) => block.header.height));
    for (const { fromHeight, encoded, header, certificate } of done.validatorChanges) {
      batch.put(prefixed(p.meta, concatBytes(META_VSET, heightKey(fromHeight))), encoded);
      if (whole.has(fromHeight - 1)) continue;
      batch.put(
        prefixed(p.meta, concatBytes(META_CHANGE_BLOCK, heightKey(fromHeight - 1))),
        encode((w) => w.u8(1).bytes(header).bytes(certificate)),
      );
    }
    // The window handed over reaches down to here; from height 1 the index is whole.
    let txsFrom = done.height + 1;
    for (const { height } of done.txIndex) txsFrom = Math.min(txsFrom, height);
    for (const { block } of done.blocks) txsFrom = Math.min(txsFrom, block.header.height);
    if (txsFrom <= 1) txsFrom = 0;
    batch.put(prefixed(p.meta, META_GENESIS), done.genesisHash);
    batch.put(prefixed(p.meta, META_STATE_FROM), heightKey(done.height));
    batch.put(prefixed(p.meta, META_BLOCKS_FROM), heightKey(done.height + 1));
    if (txsFrom > 0) batch.put(prefixed(p.meta, META_TXS_FROM), heightKey(txsFrom));
    batch.put(prefixed(p.meta, META_SYNCED_FROM), heightKey(done.height));
    batch.put(prefixed(p.meta, META_HEIGHT), heightKey(done.height));
    batch.del(prefixed(p.meta, META_IMPORT));
    // An import may replace a genesis build a stop cut short (the import cleared its state).
    batch.del(prefixed(p.meta, META_GENESIS_BUILD));
    await batch.write({ sync: true });
    this.synced = done.height;
    this.retained = {
      stateFrom: done.height,
      blocksFrom: done.height + 1,
      txsFrom,
      historyFrom: done.height + 1,
    };
  }

  /** Every validator-set change (validator-log.ts), oldest first: (first height, encoded set). */
  async validatorChanges(): Promise<Array<{ fromHeight: number; encoded: Bytes }>> {
    const out: Array<{ fromHeight: number; encoded: Bytes }> = [];
    for await (const [key, value] of this.meta.iterator({
      gt: META_VSET,
      lt: concatBytes(META_VSET, new Uint8Array([0xff])),
    })) {
      out.push({ fromHeight: readHeightKey(key.subarray(META_VSET.length)), encoded: value });
    }
    return out;
  }
}
