/**
 * Receipt codes of the asset registry (src/app/asset): part of the execution catalogue (execution.ts).
 */
import { BAD_REQUEST, type CodeSpec } from './spec.ts';

export const ASSET_ERRORS = {
  ASSET_BAD_ARGS: { ...BAD_REQUEST, description: 'asset args are malformed' },
  ASSET_BAD_ID: { ...BAD_REQUEST, description: 'not a asset object id' },
} as const satisfies Record<string, CodeSpec>;
