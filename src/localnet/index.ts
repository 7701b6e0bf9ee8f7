/**
 * Local networks of real validator processes on loopback: what `civitas devnet`, the cluster
 * benchmark and the multi-process tests run. It sits above src/node (cli → localnet → node);
 * nothing in src/node imports it.
 */
export {
  type ExitListener,
  type ExitStatus,
  LocalNetwork,
  readNetworkSummary,
  type StartOptions,
} from './local-network.ts';
export {
  type InitMode,
  type LocalNetworkManifest,
  type NodeCommand,
  type NodeExtras,
  nodeCommand,
  type ResolvedManifest,
  resolveManifest,
} from './manifest.ts';
