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
 *   values    state key hash → latest value (a flat copy of the tree's leaves for fast reads)
 *   meta      'height' → last committed height; 'genesis' → genesis hash
 *   wal       consensus write-ahead log
 *
 * A block commit is ONE batch written with `sync: true`: the block, its certificate, indexes,
 * receipts, tree nodes, flat values and the new height land together or not at all, so a
 * `kill -9` at any moment reopens to exactly the last committed block and its state.
 */

import type { AbstractSublevel } from 'abstract-level';
import { Level } from 'level';
import {
  type CommitCertificate,
  decodeBlock,
  decodeCertificate,
  decodeReceipt,
  encodeCertificate,
  type Receipt,
  type SealedBlock,
} from '../chain/index.ts';
import { utf8 } from '../crypto/bytes.ts';
import { CivitasError } from '../errors/index.ts';
import { heightKey, readHeightKey, readTxLocation, txLocationKey } from './keys.ts';

type Bytes = Uint8Array;
type Bucket = AbstractSublevel<Level<Bytes, Bytes>, Bytes | string | Buffer, Bytes, Bytes>;

const BYTES = { keyEncoding: 'view', valueEncoding: 'view' } as const;
const META_HEIGHT = utf8.encode('height');
const META_GENESIS = utf8.encode('genesis');

export interface BlockCommit {
  readonly block: SealedBlock;
  readonly certificate: CommitCertificate;
  /** Canonical receipt bytes, one per tx, in order. */
  readonly encodedReceipts: readonly Bytes[];
  /** State-tree nodes created by this block's execution. */
  readonly treeNodes: ReadonlyArray<readonly [Bytes, Bytes]>;
  /** Flat state values changed by this block (null = deleted). */
  readonly values: ReadonlyArray<readonly [Bytes, Bytes | null]>;
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
  readonly values: Bucket;
  readonly meta: Bucket;
  readonly wal: Bucket;

  private constructor(db: Level<Bytes, Bytes>) {
    this.db = db;
    const bucket = (name: string): Bucket => db.sublevel<Bytes, Bytes>(name, BYTES) as Bucket;
    this.blocks = bucket('blocks');
    this.hashes = bucket('hashes');
    this.certs = bucket('certs');
    this.txs = bucket('txs');
    this.receipts = bucket('receipts');
    this.tree = bucket('tree');
    this.values = bucket('values');
    this.meta = bucket('meta');
    this.wal = bucket('wal');
  }

  static async open(dir: string): Promise<ChainStore> {
    const db = new Level<Bytes, Bytes>(dir, BYTES);
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new CivitasError('STORE_OPEN_FAILED', `cannot open database at ${dir}: ${cause}`, {
        dir,
      });
    }
    return new ChainStore(db);
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

  /** Writes genesis state (version 0) atomically; the store then reports height 0. */
  async initGenesis(
    genesisHash: Bytes,
    treeNodes: ReadonlyArray<readonly [Bytes, Bytes]>,
    values: ReadonlyArray<readonly [Bytes, Bytes | null]>,
  ): Promise<void> {
    const batch = this.db.batch();
    for (const [k, v] of treeNodes) batch.put(k, v, { sublevel: this.tree });
    for (const [k, v] of values) {
      if (v !== null) batch.put(k, v, { sublevel: this.values });
    }
    batch.put(META_GENESIS, genesisHash, { sublevel: this.meta });
    batch.put(META_HEIGHT, heightKey(0), { sublevel: this.meta });
    await batch.write({ sync: true });
  }

  /** The one atomic, synced write of a committed block and everything derived from it. */
  async commitBlock(commit: BlockCommit): Promise<void> {
    const { block, certificate, encodedReceipts } = commit;
    const height = block.header.height;
    const hk = heightKey(height);
    const batch = this.db.batch();
    batch.put(hk, block.encoded, { sublevel: this.blocks });
    batch.put(block.hash, hk, { sublevel: this.hashes });
    batch.put(hk, encodeCertificate(certificate), { sublevel: this.certs });
    for (let i = 0; i < block.txHashes.length; i++) {
      const loc = txLocationKey(height, i);
      batch.put(block.txHashes[i]!, loc, { sublevel: this.txs });
      batch.put(loc, encodedReceipts[i]!, { sublevel: this.receipts });
    }
    for (const [k, v] of commit.treeNodes) batch.put(k, v, { sublevel: this.tree });
    for (const [k, v] of commit.values) {
      if (v === null) batch.del(k, { sublevel: this.values });
      else batch.put(k, v, { sublevel: this.values });
    }
    batch.put(META_HEIGHT, hk, { sublevel: this.meta });
    await batch.write({ sync: true });
  }

  async getBlock(height: number): Promise<SealedBlock | undefined> {
    const bytes = await this.blocks.get(heightKey(height));
    return bytes === undefined ? undefined : decodeBlock(bytes);
  }

  async getBlockBytes(height: number): Promise<Bytes | undefined> {
    return this.blocks.get(heightKey(height));
  }

  async getHeightOfHash(hash: Bytes): Promise<number | undefined> {
    const v = await this.hashes.get(hash);
    return v === undefined ? undefined : readHeightKey(v);
  }

  async getCertificate(height: number): Promise<CommitCertificate | undefined> {
    const bytes = await this.certs.get(heightKey(height));
    return bytes === undefined ? undefined : decodeCertificate(bytes);
  }

  async getCertificateBytes(height: number): Promise<Bytes | undefined> {
    return this.certs.get(heightKey(height));
  }

  async getTxLocation(txHash: Bytes): Promise<TxLocation | undefined> {
    const v = await this.txs.get(txHash);
    return v === undefined ? undefined : readTxLocation(v);
  }

  /** For each hash, whether a committed tx has it (one round trip for a whole batch). */
  async hasTxs(txHashes: readonly Bytes[]): Promise<boolean[]> {
    if (txHashes.length === 0) return [];
    const found = await this.txs.getMany([...txHashes]);
    return found.map((v) => v !== undefined);
  }

  async getReceipt(location: TxLocation): Promise<Receipt | undefined> {
    const bytes = await this.receipts.get(txLocationKey(location.height, location.index));
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
    return out;
  }

  async getValue(keyHash: Bytes): Promise<Bytes | undefined> {
    return this.values.get(keyHash);
  }

  async getValues(keyHashes: readonly Bytes[]): Promise<(Bytes | undefined)[]> {
    if (keyHashes.length === 0) return [];
    return this.values.getMany([...keyHashes]);
  }
}
