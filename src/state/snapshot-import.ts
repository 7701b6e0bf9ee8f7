/**
 * Importing a verified state snapshot into a database without committed blocks
 * (docs/STATE-SYNC.md, "Import, and crashes during it"):
 *
 *   1. `begin` writes the import marker (the ledger refuses the database from then on) and
 *      clears the tree, values and stale buckets;
 *   2. `addChunk` checks one chunk against the manifest (snapshot.ts) and writes its pieces'
 *      tree nodes and its values in one batch; chunks may come in any order;
 *   3. `complete` writes the nodes above the pieces, reads the root of the snapshot's version
 *      back and compares it with the trusted root, then writes in one synced batch the blocks
 *      and indexes the caller fetched and verified (the validator changes with the header and
 *      certificate of each change block below the blocks kept), the height, `synced-from`
 *      (the snapshot's height: GET /status's `stateSync` after any restart) and `txs-from`
 *      (where the tx index starts), and removes the marker.
 *
 * A crash before the last batch leaves the marker, and the next import starts over; tree
 * nodes are deterministic per key, so a node written twice is written the same.
 */
import type { CommitCertificate, SealedBlock } from '../chain/index.ts';
import { concatBytes, equalBytes, toHex } from '../crypto/bytes.ts';
import { CivitasError } from '../errors/index.ts';
import { heightKey } from './keys.ts';
import { LevelNodeReader, StateTree } from './smt/index.ts';
import { upperNodes, type VerifiedManifest, verifyChunk } from './snapshot.ts';
import type { ChainStore } from './store.ts';

/** Deletions per batch while clearing the buckets an import replaces. */
const CLEAR_CHUNK_KEYS = 4096;

/** What the joining node fetched and verified besides the state (written in the last batch). */
export interface ImportedChain {
  readonly genesisHash: Uint8Array;
  /** The blocks kept whole (the last RECENT_BLOCKS up to the snapshot's height), oldest first. */
  readonly blocks: ReadonlyArray<{ block: SealedBlock; certificate: CommitCertificate }>;
  /** The tx hashes of the lifetime window's other heights (the tx index). */
  readonly txIndex: ReadonlyArray<{ height: number; txHashes: readonly Uint8Array[] }>;
  /**
   * Every validator-set change since the genesis: its first height, the encoded keys, and the
   * encoded header and certificate of the block that made it (kept for those below `blocks`,
   * so this node serves the change log to the next joiner and to light clients).
   */
  readonly validatorChanges: ReadonlyArray<{
    fromHeight: number;
    encoded: Uint8Array;
    header: Uint8Array;
    certificate: Uint8Array;
  }>;
}

export class SnapshotImport {
  private readonly store: ChainStore;
  private readonly verified: VerifiedManifest;
  private readonly done: boolean[];
  private left: number;

  private constructor(store: ChainStore, verified: VerifiedManifest) {
    this.store = store;
    this.verified = verified;
    this.done = verified.manifest.chunks.map(() => false);
    this.left = this.done.length;
  }

  /**
   * Starts importing `verified` (a manifest checked against a certified root) into `store`,
   * which must hold no committed block (a fresh database, the genesis only, or an import that
   * did not finish): SNAPSHOT_NOT_EMPTY otherwise.
   */
  static async begin(store: ChainStore, verified: VerifiedManifest): Promise<SnapshotImport> {
    const height = await store.height();
    const unfinished = await store.importMarker();
    if (unfinished === undefined && height !== undefined && height > 0) {
      throw new CivitasError(
        'SNAPSHOT_NOT_EMPTY',
        `the database holds blocks up to ${height}: a state import needs an empty data dir`,
        { height },
      );
    }
    const { height: version, stateRoot } = verified.manifest;
    await store.beginImport(concatBytes(heightKey(version), stateRoot));
    while ((await store.clearStateChunk(CLEAR_CHUNK_KEYS)) > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return new SnapshotImport(store, verified);
  }

  /** Chunks not yet imported, by index. */
  missing(): number[] {
    const out: number[] = [];
    this.done.forEach((d, i) => {
      if (!d) out.push(i);
    });
    return out;
  }

  /** Checks chunk `index` (SNAPSHOT_BAD_CHUNK: ask another peer) and writes it. */
  async addChunk(index: number, bytes: Uint8Array): Promise<void> {
    const { leaves, nodes } = verifyChunk(this.verified, index, bytes);
    if (this.done[index] === true) return;
    await this.store.writeImportedState(
      nodes,
      leaves.map((leaf) => [leaf.keyHash, leaf.value] as const),
    );
    this.done[index] = true;
    this.left--;
  }

  /**
   * Writes the nodes above the pieces, checks the stored root against the trusted one, and
   * makes the database a chain at the snapshot's height (one synced batch).
   */
  async complete(chain: ImportedChain): Promise<void> {
    const { height, stateRoot } = this.verified.manifest;
    if (this.left > 0) {
      throw new CivitasError(
        'SNAPSHOT_BAD_CHUNK',
        `${this.left} chunks of the snapshot are not imported yet`,
        { missing: this.missing().slice(0, 16) },
      );
    }
    const last = chain.blocks.at(-1)?.block.header;
    if (last !== undefined && (last.height !== height || !equalBytes(last.stateRoot, stateRoot))) {
      throw new CivitasError(
        'SNAPSHOT_BAD_MANIFEST',
        `the last block handed to the import is not the snapshot's (height ${height})`,
      );
    }
    await this.store.writeImportedState(upperNodes(this.verified), []);
    const root = await new StateTree(new LevelNodeReader(this.store.tree)).rootHash(height);
    if (!equalBytes(root, stateRoot)) {
      throw new CivitasError(
        'SNAPSHOT_BAD_MANIFEST',
        `the imported state's root ${toHex(root)} is not the snapshot's ${toHex(stateRoot)}`,
      );
    }
    await this.store.completeImport({ ...chain, height });
  }
}
