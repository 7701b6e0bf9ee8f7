/** Authenticated state and storage (src/state): the store, the sparse Merkle tree, the ledger. */
import { type CodeSpec, SERVER_ERROR } from './spec.ts';

/** Was kept once and deliberately removed (pruned): 410 Gone, not a 404 that never was. */
const PRUNED = { status: 410, gossip: 'ignore' } as const;

export const STATE_ERRORS = {
  LEDGER_BLOCK_PRUNED: {
    ...PRUNED,
    description:
      "that height's block, certificate and receipts are pruned here (state.retainBlocks)",
  },
  HISTORY_NOT_INDEXED: {
    status: 410,
    gossip: 'ignore',
    description: 'revisions made before this node joined by state sync: ask an archive node',
  },
  LEDGER_BAD_COMMIT_HEIGHT: {
    ...SERVER_ERROR,
    description: 'a block or its execution result is not for the next height',
  },
  LEDGER_CORRUPT: { ...SERVER_ERROR, description: 'a committed block or certificate is missing' },
  LEDGER_GENESIS_MISMATCH: {
    ...SERVER_ERROR,
    description: 'the database belongs to another genesis',
  },
  LEDGER_TIP_MOVED: { ...SERVER_ERROR, description: 'the chain advanced during execution' },

  PIPELINE_BAD_OPTION: { ...SERVER_ERROR, description: 'a block pipeline option is out of range' },
  PIPELINE_BUSY: { ...SERVER_ERROR, description: 'the block pipeline is already running' },
  PRUNER_BAD_OPTION: { ...SERVER_ERROR, description: 'a pruning setting is out of range' },

  SNAPSHOT_BAD_CHUNK: {
    ...SERVER_ERROR,
    description: 'a state snapshot chunk does not decode or does not match its pieces',
  },
  SNAPSHOT_BAD_MANIFEST: {
    ...SERVER_ERROR,
    description: 'a state snapshot manifest does not decode or does not make the trusted root',
  },
  SNAPSHOT_BAD_OPTION: { ...SERVER_ERROR, description: 'a snapshot setting is out of range' },
  SNAPSHOT_IMPORT_INCOMPLETE: {
    ...SERVER_ERROR,
    description: 'the database holds a state import that did not finish: sync again or start empty',
  },
  SNAPSHOT_NOT_EMPTY: {
    ...SERVER_ERROR,
    description: 'a state import needs a database without committed blocks',
  },
  SNAPSHOT_STOPPED: {
    ...SERVER_ERROR,
    description: 'a snapshot was cut short by the node stopping',
  },
  SNAPSHOT_NOT_FOUND: {
    status: 404,
    gossip: 'ignore',
    description: 'no stored snapshot of that height',
  },

  STATE_BAD_KEY: { ...SERVER_ERROR, description: 'a state key hash of the wrong length' },
  STATE_BAD_NODE: { ...SERVER_ERROR, description: 'a stored tree node is malformed' },
  STATE_BAD_NODE_KEY: { ...SERVER_ERROR, description: 'a tree node key is malformed' },
  STATE_BAD_PROOF: { ...SERVER_ERROR, description: 'a state proof is malformed' },
  STATE_BAD_VALUE: { ...SERVER_ERROR, description: 'a state value is not bytes or null' },
  STATE_BAD_VERSION: { ...SERVER_ERROR, description: 'a tree version is invalid or not newer' },
  STATE_LEAVES_UNSORTED: {
    ...SERVER_ERROR,
    description: 'leaves handed to the tree builder are not in increasing key-hash order',
  },
  STATE_MISSING_NODE: { ...SERVER_ERROR, description: 'a tree node or root is not in the store' },
  STATE_VALUE_TOO_LARGE: { ...SERVER_ERROR, description: 'a state value exceeds its limit' },
  STATE_SYNC_UNSUPPORTED: {
    ...SERVER_ERROR,
    description:
      'the genesis sets no params.maxTxLifetime, so the chain cannot state-sync: join by replay',
  },
  STATE_SYNC_UNVERIFIED: {
    ...SERVER_ERROR,
    description:
      "a peer's blocks, certificates or validator changes do not follow from the genesis",
  },
  STATE_VERSION_PRUNED: {
    ...PRUNED,
    description:
      'the state of that height is pruned here (state.keepVersions): ask an archive node',
  },

  STORE_OPEN_FAILED: { ...SERVER_ERROR, description: 'the database cannot be opened' },
  STORE_IN_USE: {
    ...SERVER_ERROR,
    description: 'another process holds the database (a node already runs this home)',
  },
} as const satisfies Record<string, CodeSpec>;
