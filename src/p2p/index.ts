/** Public surface of the p2p layer. */
export type {
  GossipHandler,
  GossipValidator,
  GossipVerdict,
  PeerRef,
  TopicCounters,
} from './gossip.ts';
export { gossipMessageId } from './gossip.ts';
export { peerIdFromValidatorKey, validatorKeyFromPeerId } from './identity.ts';
export type { LinkFault, LinkFaultMap } from './link-faults.ts';
export { type Logger, noopLogger } from './logger.ts';
export type { GaterCounters } from './membership.ts';
export { MAX_GOSSIP_MESSAGE_BYTES, P2P_DEFAULTS, type P2POptions } from './options.ts';
export { P2PNode, type P2PStats } from './p2p-node.ts';
export type { DialCounters } from './peer-keeper.ts';
export type { SyncCounters, SyncHandler } from './sync-protocol.ts';
export { type GossipTopic, gossipTopicName, syncProtocolName } from './topics.ts';
