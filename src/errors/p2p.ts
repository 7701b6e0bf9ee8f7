/** The p2p layer (src/p2p): framing, gossip, membership, link faults, and block sync over it. */
import { type CodeSpec, SERVER_ERROR } from './spec.ts';

export const P2P_ERRORS = {
  P2P_BAD_CONFIG: { ...SERVER_ERROR, description: 'a p2p option is invalid' },
  P2P_BAD_LINK_FAULT: { ...SERVER_ERROR, description: 'a link fault setting is out of range' },
  P2P_BAD_MESSAGE: { ...SERVER_ERROR, description: 'a message to send is not bytes' },
  P2P_BAD_PUBLIC_KEY: { ...SERVER_ERROR, description: 'a member public key of wrong length' },
  P2P_BAD_SECRET_KEY: { ...SERVER_ERROR, description: 'the node secret key of wrong length' },
  P2P_DIAL_FAILED: { ...SERVER_ERROR, description: 'a stream to a peer could not be opened' },
  P2P_FRAME_BAD_LENGTH: { ...SERVER_ERROR, description: 'a frame length varint is malformed' },
  P2P_FRAME_TOO_LARGE: { ...SERVER_ERROR, description: 'a frame exceeds its size limit' },
  P2P_FRAME_TRUNCATED: { ...SERVER_ERROR, description: 'a stream ended inside a frame' },
  P2P_LINK_BLOCKED: { ...SERVER_ERROR, description: 'fault injection blocks the link to the peer' },
  P2P_LISTEN_FAILED: {
    ...SERVER_ERROR,
    description: 'a p2p listen address cannot be bound (its port is taken, or it is not this host)',
  },
  P2P_MESSAGE_TOO_LARGE: {
    ...SERVER_ERROR,
    description: 'a gossip message exceeds its topic limit',
  },
  P2P_NOT_MEMBER: { ...SERVER_ERROR, description: 'the peer is not a member of the network' },
  P2P_NOT_STARTED: { ...SERVER_ERROR, description: 'the p2p node is not started' },
  P2P_PUBLISH_FAILED: { ...SERVER_ERROR, description: 'gossip publish failed' },
  P2P_START_FAILED: {
    ...SERVER_ERROR,
    description: 'the libp2p host could not be created or started',
  },
  P2P_SYNC_BAD_REQUEST: { ...SERVER_ERROR, description: 'a sync request stream is malformed' },
  P2P_SYNC_BAD_RESPONSE: { ...SERVER_ERROR, description: 'a sync response stream is malformed' },
  P2P_SYNC_REMOTE_BAD_REQUEST: {
    ...SERVER_ERROR,
    description: 'the peer refused the sync request',
  },
  P2P_SYNC_REMOTE_BUSY: { ...SERVER_ERROR, description: 'the peer is serving too many requests' },
  P2P_SYNC_REMOTE_FAILED: { ...SERVER_ERROR, description: 'the peer failed to answer' },
  P2P_SYNC_REMOTE_NO_HANDLER: { ...SERVER_ERROR, description: 'the peer does not serve sync' },
  P2P_SYNC_REQUEST_TOO_LARGE: { ...SERVER_ERROR, description: 'a sync request exceeds its limit' },
  P2P_SYNC_RESPONSE_TOO_LARGE: {
    ...SERVER_ERROR,
    description: 'a sync response exceeds its limits',
  },
  P2P_SYNC_STREAM_FAILED: { ...SERVER_ERROR, description: 'the sync stream was reset or closed' },
  P2P_SYNC_TIMEOUT: { ...SERVER_ERROR, description: 'a sync exchange missed its deadline' },
  P2P_UNKNOWN_TOPIC: { ...SERVER_ERROR, description: 'no such gossip topic' },

  // Block sync's own messages, carried by the sync protocol (src/node/block-sync.ts).
  SYNC_BAD_REQUEST: { ...SERVER_ERROR, description: 'a block sync request does not parse' },
  SYNC_BAD_RESPONSE: { ...SERVER_ERROR, description: 'a peer answered block sync with nothing' },

  // Compact proposals: blocks named by tx hashes on the consensus topic (src/node).
  PROPOSAL_BLOCK_MISMATCH: {
    ...SERVER_ERROR,
    description: 'a block fetched for a compact proposal does not hash to the one named',
  },
  PROPOSAL_TX_ROOT_MISMATCH: {
    ...SERVER_ERROR,
    description: 'the txs a compact proposal names do not match its header tx root',
  },
  PROPOSAL_TXS_UNAVAILABLE: {
    ...SERVER_ERROR,
    description: 'no peer supplied the txs (or the block) a compact proposal names',
  },
} as const satisfies Record<string, CodeSpec>;
