/** Gossip topic and protocol names, one set per chain so two chains never mix traffic. */

export type GossipTopic = 'txs' | 'consensus';
export const GOSSIP_TOPICS: readonly GossipTopic[] = ['txs', 'consensus'];

const CHAIN_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

export function isValidChainId(chainId: string): boolean {
  return typeof chainId === 'string' && CHAIN_ID_RE.test(chainId);
}

export function gossipTopicName(chainId: string, topic: GossipTopic): string {
  return `/civitas/${chainId}/${topic}/1`;
}

export function syncProtocolName(chainId: string): string {
  return `/civitas/${chainId}/sync/1`;
}
