/** The launcher of local networks of node processes (src/localnet): devnet, cluster bench, tests. */
import { type CodeSpec, SERVER_ERROR } from './spec.ts';

export const LOCALNET_ERRORS = {
  LOCALNET_MISMATCH: {
    ...SERVER_ERROR,
    description: 'the network dir holds another validator count',
  },
  LOCALNET_NODE_EXITED: { ...SERVER_ERROR, description: 'a node exited while starting' },
  LOCALNET_NO_PORTS: { ...SERVER_ERROR, description: 'no range of free ports for the network' },
  LOCALNET_START_TIMEOUT: { ...SERVER_ERROR, description: 'a node did not answer in time' },
} as const satisfies Record<string, CodeSpec>;
