/** The consensus engines (PBFT, HotStuff) and their driver (src/consensus). */
import { type CodeSpec, SERVER_ERROR } from './spec.ts';

export const CONSENSUS_ERRORS = {
  CONSENSUS_ALREADY_STARTED: { ...SERVER_ERROR, description: 'the driver was started twice' },
  CONSENSUS_BAD_CONFIG: {
    ...SERVER_ERROR,
    description: 'a consensus timeout or window is invalid',
  },
  CONSENSUS_BAD_START: { ...SERVER_ERROR, description: 'the engine was started below height 1' },
  CONSENSUS_SET_MISMATCH: {
    ...SERVER_ERROR,
    description: "the node's validator set for a height is not the one the decided block names",
  },
  CONSENSUS_WAL_PROTOCOL: {
    ...SERVER_ERROR,
    description:
      'the consensus WAL was written by another protocol than the one the chain runs (pbft, hotstuff)',
  },
} as const satisfies Record<string, CodeSpec>;
