/**
 * Receipt codes of validator-set governance (src/app/validators): part of the execution
 * catalogue (execution.ts).
 */
import { BAD_REQUEST, CONFLICT, type CodeSpec, FORBIDDEN, NOT_FOUND } from './spec.ts';

export const VALIDATORS_ERRORS = {
  VALIDATORS_ALREADY: { ...CONFLICT, description: 'the key is already in the set (or list)' },
  VALIDATORS_BAD_ARGS: { ...BAD_REQUEST, description: 'validators args are malformed' },
  VALIDATORS_BAD_ID: {
    ...BAD_REQUEST,
    description: 'not a validators object id (set, observers, ready/<public key>)',
  },
  VALIDATORS_NOT_KEY_OWNER: {
    ...FORBIDDEN,
    description: 'a readiness proof must be signed by the key it is for',
  },
  VALIDATORS_NOT_OBSERVER: {
    ...FORBIDDEN,
    description: 'the key is not a registered observer (nor, for ready, a validator)',
  },
  VALIDATORS_NOT_READY: {
    ...CONFLICT,
    description:
      'the joining validator sent no readiness proof in the last validatorChangeSpacing blocks',
  },
  VALIDATORS_SET_SIZE: {
    ...CONFLICT,
    description: 'a validator set keeps 1..256 members',
  },
  VALIDATORS_STALE_READY: {
    ...CONFLICT,
    description: 'recentBlockHash is not the hash of one of the last validatorChangeSpacing blocks',
  },
  VALIDATORS_TOO_MANY_OBSERVERS: {
    ...CONFLICT,
    description: '64 observers are registered already',
  },
  VALIDATORS_TOO_SOON: {
    ...CONFLICT,
    description: 'the last validator-set change was less than validatorChangeSpacing blocks ago',
  },
  VALIDATORS_UNKNOWN: { ...NOT_FOUND, description: 'the key is not in the set (or list)' },
  VALIDATORS_WOULD_HALT: {
    ...CONFLICT,
    description: 'fewer members of the new set than its quorum were seen live recently',
  },
} as const satisfies Record<string, CodeSpec>;
