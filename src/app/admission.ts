/**
 * What the node asks the application before a tx enters its mempool: may this sender transact
 * at all? On a permissioned chain only active members of active organisations may (the rule
 * org's checkTx applies in execution). Refusing a stranger at admission keeps its txs out of
 * blocks, where each would cost a failed receipt; execution still checks the rule, since
 * membership can change between admission and the block.
 *
 * Pure: it reads committed state through `StateRead` and nothing else, so the node may
 * answer it from whatever it keeps in memory and remember which keys a verdict read.
 */
import type { ReceiptFailureCode } from '../errors/index.ts';
import { isActiveMember } from './org/state.ts';
import { appParams } from './params/state.ts';
import type { StateRead } from './state-view.ts';

/** Why every tx from `sender` (an address) is refused now, or undefined when it may transact. */
export function admissionCheck(
  state: StateRead,
  sender: Uint8Array,
): ReceiptFailureCode | undefined {
  // Rule (org.checkTx): on a permissioned chain only active members of active organisations
  // transact. The params are read first: an open chain answers without a membership read.
  if (!appParams(state).permissioned) return undefined;
  return isActiveMember(state, sender) ? undefined : 'ORG_NOT_A_MEMBER';
}
