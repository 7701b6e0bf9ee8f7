/**
 * Writing the genesis state (version 0) in batches of bounded size, however many accounts the
 * genesis funds. One tree update over every leaf with every node in one batch, as this once
 * was, held the whole tree at once: a node with the default 256 MiB heap died building the
 * state of a genesis funding 100,000 accounts (issue #19). Here:
 *
 *   1. the marker `genesis-build` goes first (store.ts); a marker already there means a start
 *      that stopped part-way: the tree, values and stale buckets are cleared before anything
 *      else (a corrected genesis file must not inherit its predecessor's leaves);
 *   2. the values, by key hash, into the flat `values` bucket a batch at a time, each entry
 *      dropped from the list once written: LevelDB sorts them by key hash;
 *   3. the tree of version 0, from those values read back in key order through
 *      SortedTreeBuilder (smt/sorted-build.ts), a batch of nodes at a time; the root is then
 *      read back from the store and compared with the one built;
 *   4. one synced batch: the genesis hash and height 0, and the marker goes.
 *
 * Until 4 the database has no genesis hash and no height, so nothing takes it for a chain (the
 * ledger builds again, a state import starts over it); node keys and values are the same
 * whichever batch writes them.
 */
import { equalBytes, toHex } from '../crypto/bytes.ts';
import { CivitasError } from '../errors/index.ts';
import {
  KEY_HASH_LENGTH,
  LevelNodeReader,
  type NodeWrite,
  SortedTreeBuilder,
  StateTree,
  stateKeyHash,
} from './smt/index.ts';
import type { ChainStore } from './store.ts';

/** A batch is written once its keys and values reach this many bytes. */
export const GENESIS_BATCH_BYTES = 1024 * 1024;
/** Deletions per batch while clearing what a cut-short build left. */
const CLEAR_CHUNK_KEYS = 4096;

/**
 * Writes the state of `values` (raw state key, encoded value; a key listed twice keeps its last
 * value) as version 0 of `store` and marks the store as the chain of `genesisHash` at height 0.
 * Empties `values` as it goes, so the entries written can be collected. Returns the state root.
 */
export async function writeGenesisState(
  store: ChainStore,
  genesisHash: Uint8Array,
  values: Array<readonly [Uint8Array, Uint8Array]>,
  opts: { batchBytes?: number } = {},
): Promise<Uint8Array> {
  const batchBytes = opts.batchBytes ?? GENESIS_BATCH_BYTES;
  if ((await store.genesisBuildMarker()) !== undefined) {
    let cleared: number;
    do cleared = await store.clearStateChunk(CLEAR_CHUNK_KEYS);
    while (cleared > 0);
  }
  await store.beginGenesis(genesisHash);

  while (values.length > 0) {
    const leaves: NodeWrite[] = [];
    let bytes = 0;
    let taken = 0;
    while (taken < values.length && bytes < batchBytes) {
      const [key, value] = values[taken++]!;
      leaves.push([stateKeyHash(key), value]);
      bytes += KEY_HASH_LENGTH + value.length;
    }
    values.splice(0, taken);
    await store.writeImportedState([], leaves);
  }

  const builder = new SortedTreeBuilder(0);
  let nodes: NodeWrite[] = [];
  let bytes = 0;
  for await (const [keyHash, value] of store.values.iterator()) {
    const from = nodes.length;
    builder.add(keyHash, value, nodes);
    for (let i = from; i < nodes.length; i++) bytes += nodes[i]![0].length + nodes[i]![1].length;
    if (bytes >= batchBytes) {
      await store.writeImportedState(nodes, []);
      nodes = [];
      bytes = 0;
    }
  }
  const root = builder.finish(nodes);
  await store.writeImportedState(nodes, []);

  const stored = await new StateTree(new LevelNodeReader(store.tree)).rootHash(0);
  if (!equalBytes(stored, root)) {
    throw new CivitasError(
      'LEDGER_CORRUPT',
      `the genesis state read back has root ${toHex(stored)}, not the ${toHex(root)} written`,
    );
  }
  await store.completeGenesis(genesisHash);
  return root;
}
