/** The node (src/node): config, mempool admission, the HTTP API, fault injection. */
import { BAD_REQUEST, type CodeSpec, SERVER_ERROR } from './spec.ts';

export const NODE_ERRORS = {
  CONFIG_INVALID: { ...SERVER_ERROR, description: 'a config value breaks a rule' },
  CONFIG_NOT_FOUND: { ...SERVER_ERROR, description: 'no config file in the node home' },
  CONFIG_PSK_INVALID: { ...SERVER_ERROR, description: 'the p2p pre-shared key is not 32 bytes' },
  CONFIG_PSK_NOT_FOUND: { ...SERVER_ERROR, description: 'the p2p pre-shared key file is missing' },

  FAULT_BAD_REQUEST: { ...BAD_REQUEST, description: 'a fault injection request breaks a rule' },
  FAULT_UNAVAILABLE: {
    ...BAD_REQUEST,
    description: 'fault injection needs a multi-validator network',
  },

  EXPLORER_NOT_BUILT: {
    status: 404,
    gossip: 'ignore',
    description: 'explorer/dist is missing: run npm run build:explorer',
  },

  /** What the API names an error that is not a CivitasError. */
  INTERNAL: { ...SERVER_ERROR, description: 'an unexpected error inside the node' },

  MEMPOOL_BUSY: {
    status: 503,
    gossip: 'ignore',
    txReject: 'other',
    description: 'the node has a backlog of txs; retry later',
  },
  MEMPOOL_DUPLICATE: {
    status: 409,
    gossip: 'ignore',
    txReject: 'duplicate',
    description: 'the tx is already in the mempool',
  },
  MEMPOOL_FULL: {
    status: 429,
    gossip: 'ignore',
    txReject: 'mempool_full',
    description: 'the mempool is full',
  },
  MEMPOOL_NONCE_TAKEN: {
    status: 409,
    gossip: 'ignore',
    txReject: 'nonce',
    description: 'a tx with this sender and nonce is pending',
  },
  MEMPOOL_SENDER_FULL: {
    status: 429,
    gossip: 'ignore',
    txReject: 'mempool_full',
    description: 'too many pending txs from this sender',
  },

  NODE_CONFLICTING_COMMIT: {
    ...SERVER_ERROR,
    description: 'another block is already committed at the height',
  },
  NODE_OLD_CHAIN_FORMAT: {
    ...SERVER_ERROR,
    description: 'the database holds a chain of an earlier block format this build cannot extend',
  },

  RPC_BAD_EVENT_ID: {
    ...BAD_REQUEST,
    description: 'Last-Event-ID or from is not an event id (<height> or <height>:<index>)',
  },
  RPC_BAD_FILTER: {
    ...BAD_REQUEST,
    description: 'an event stream parameter is unknown, repeated or combined with one it excludes',
  },
  RPC_BAD_HASH: { ...BAD_REQUEST, description: 'not a 32-byte hex hash' },
  RPC_BAD_HEIGHT: { ...BAD_REQUEST, description: 'not a block height' },
  RPC_BAD_JSON: { ...BAD_REQUEST, description: 'the request body is not JSON' },
  RPC_BAD_REQUEST: { ...BAD_REQUEST, description: 'the request does not have the expected shape' },
  RPC_BAD_TIMEOUT: { ...BAD_REQUEST, description: 'timeoutMs is out of range' },
  RPC_BLOCK_NOT_FOUND: { status: 404, gossip: 'ignore', description: 'no block at the height' },
  RPC_BODY_TOO_LARGE: { status: 413, gossip: 'ignore', description: 'the body exceeds the limit' },
  RPC_FAULT_INJECTION_DISABLED: {
    status: 403,
    gossip: 'ignore',
    description: 'the node runs without CIVITAS_ENABLE_FAULT_INJECTION=1',
  },
  // Never an answer (the server is not listening); the node's own failure at startup.
  RPC_LISTEN_FAILED: { ...SERVER_ERROR, description: 'the API cannot listen on its address' },
  RPC_METHOD_NOT_ALLOWED: {
    status: 405,
    gossip: 'ignore',
    description: 'the route exists, not for this method',
  },
  RPC_NOT_FOUND: { status: 404, gossip: 'ignore', description: 'no such route' },
  RPC_TOO_MANY_STREAMS: {
    status: 503,
    gossip: 'ignore',
    description: 'too many event streams are open',
  },
  RPC_TX_NOT_FOUND: { status: 404, gossip: 'ignore', description: 'no such tx' },
} as const satisfies Record<string, CodeSpec>;
