/**
 * Validator-set changes in the simulator (issue #14), the way governance makes them on a real
 * chain (src/app/validators): a change is a transaction executed in block h, h's header names
 * the next set (nextValidatorSetHash), and the new set signs from h + 1.
 *
 * What governance decided is the run's plan (fixed by the seed): an ordered list of changes,
 * each executable from a height on. The proposer of a block includes the next planned change
 * as a synthetic tx (module `validators`) once it is due; validation accepts a change tx only
 * if it is the next planned one, due, CHANGE_SPACING heights after the previous change, and
 * applicable to the block's set. Which block executes it — and so at which height the set
 * changes — is decided by consensus, not by the plan: an equivocating primary's two blocks may
 * differ in exactly that. Every replica derives its sets from its own chain alone
 * (`childInfo` in sim-chain.ts).
 *
 * The planner applies the app's liveness guard, adapted: changes SIM_CHANGE_SPACING heights
 * apart (the app: 64 blocks), and every set in the plan keeps its faulty members (Byzantine
 * replicas, twins, and faulty clocks, which count against f for block time) at most its f,
 * so its honest members reach its quorum. A scenario the guard refuses in this run (e.g.
 * removing an honest validator from 4 when one of them is Byzantine) picks another target, or
 * is refused, as the app refuses VALIDATORS_WOULD_HALT.
 */

import { assembleTx, type Tx, type TxOp, unsignedTxV1 } from '../../chain/tx.ts';
import { makeValidatorSet, type ValidatorSet } from '../../chain/validator-set.ts';
import { decode } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { equalBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { PUBLIC_KEY_LENGTH } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import type { Prng } from './prng.ts';

/** Heights between two set changes in the simulator (the app's CHANGE_SPACING is 64). */
export const SIM_CHANGE_SPACING = 8;

export const RECONFIG_SCENARIOS = [
  'add',
  'remove',
  'replace',
  'remove-primary',
  'remove-self',
  'grow-shrink',
  'grow-3',
] as const;
export type ReconfigScenario = (typeof RECONFIG_SCENARIOS)[number];

export function isReconfigScenario(s: string): s is ReconfigScenario {
  return (RECONFIG_SCENARIOS as readonly string[]).includes(s);
}

export type SetChange =
  | { readonly op: 'add'; readonly key: Uint8Array }
  | { readonly op: 'remove'; readonly key: Uint8Array }
  | { readonly op: 'replace'; readonly old: Uint8Array; readonly key: Uint8Array };

export interface PlannedChange {
  readonly change: SetChange;
  /** The first height whose block may execute it. */
  readonly notBefore: number;
}

export interface ReconfigPlan {
  readonly scenario: ReconfigScenario;
  readonly changes: readonly PlannedChange[];
  /** Why the guard refused the scenario's change in this run (then `changes` is shorter). */
  readonly refused: string | null;
}

const MODULE = 'validators';
const SENDER = sha256(utf8.encode('civitas/sim-governance'));

export function describeChange(c: SetChange): string {
  const k = (key: Uint8Array) => toHex(key).slice(0, 8);
  return c.op === 'replace' ? `replace ${k(c.old)} by ${k(c.key)}` : `${c.op} ${k(c.key)}`;
}

export function sameChange(a: SetChange, b: SetChange): boolean {
  if (a.op !== b.op || !equalBytes(a.key, b.key)) return false;
  return a.op !== 'replace' || (b.op === 'replace' && equalBytes(a.old, b.old));
}

/** The set with `change` applied, or why it does not apply. */
export function applyChange(set: ValidatorSet, change: SetChange): ValidatorSet | string {
  const keys = [...set.validators];
  const i = set.indexOf(change.op === 'replace' ? change.old : change.key);
  switch (change.op) {
    case 'add':
      if (i >= 0) return 'added key is already a validator';
      keys.push(change.key);
      break;
    case 'remove':
      if (i < 0) return 'removed key is not a validator';
      if (keys.length === 1) return 'would remove the last validator';
      keys.splice(i, 1);
      break;
    case 'replace':
      if (i < 0) return 'replaced key is not a validator';
      if (set.indexOf(change.key) >= 0) return 'new key is already a validator';
      keys[i] = change.key;
      break;
  }
  return makeValidatorSet(keys);
}

/** The governance tx that executes `change` in a block of `height`. */
export function changeTx(chainId: string, height: number, change: SetChange): Tx {
  const args = encode((w) => {
    w.fixed(change.key, PUBLIC_KEY_LENGTH);
    if (change.op === 'replace') w.fixed(change.old, PUBLIC_KEY_LENGTH);
  });
  const unsigned = unsignedTxV1({
    chainId,
    sender: SENDER,
    nonce: height,
    expiryHeight: height + 100,
    op: { module: MODULE, method: change.op, args },
  });
  return assembleTx(unsigned, new Uint8Array(64));
}

function readChange(op: TxOp): SetChange | string {
  try {
    if (op.method === 'add' || op.method === 'remove') {
      const key = decode(op.args, (r) => r.fixed(PUBLIC_KEY_LENGTH));
      return { op: op.method, key };
    }
    if (op.method === 'replace') {
      return decode(op.args, (r) => {
        const key = r.fixed(PUBLIC_KEY_LENGTH);
        return { op: 'replace' as const, key, old: r.fixed(PUBLIC_KEY_LENGTH) };
      });
    }
  } catch {
    return 'malformed set change';
  }
  return `unknown set change ${op.method}`;
}

/** The set change a block executes: null if none; a string if it carries a malformed one. */
export function changeOf(txs: readonly Tx[]): SetChange | null | string {
  let found: SetChange | null = null;
  for (const tx of txs) {
    for (const op of tx.ops) {
      if (op.module !== MODULE) continue;
      // Rule (app): one validator change per block.
      if (found !== null) return 'two set changes in one block';
      const c = readChange(op);
      if (typeof c === 'string') return c;
      found = c;
    }
  }
  return found;
}

/** Faulty members (by key hex) of a set: at most its f, so its honest members reach quorum. */
function guardHolds(keys: readonly Uint8Array[], faulty: ReadonlySet<string>): boolean {
  if (keys.length === 0) return false;
  const bad = keys.filter((k) => faulty.has(toHex(k))).length;
  return bad <= Math.floor((keys.length - 1) / 3);
}

export interface PlanInput {
  readonly scenario: ReconfigScenario;
  /** The genesis set, in order. */
  readonly initial: readonly Uint8Array[];
  /** Keys that run from the start as observers and may join. */
  readonly spare: readonly Uint8Array[];
  /** Keys of faulty replicas (Byzantine, twins, faulty clocks). */
  readonly faulty: ReadonlySet<string>;
}

/** Spare keys a scenario needs (the planner uses no more). */
export function spareKeysFor(scenario: ReconfigScenario): number {
  if (scenario === 'grow-3') return 3;
  return scenario === 'add' || scenario === 'replace' || scenario === 'grow-shrink' ? 1 : 0;
}

/**
 * The changes of `scenario` for this run: the first due between heights 3 and 12 (so it is
 * executed under the faults, before GST), each later one SIM_CHANGE_SPACING to 2×spacing
 * heights after the previous one's earliest height.
 */
export function planReconfiguration(rng: Prng, input: PlanInput): ReconfigPlan {
  const { scenario, faulty } = input;
  let keys = [...input.initial];
  const spare = [...input.spare];
  const changes: PlannedChange[] = [];
  let next = rng.int(3, 13);
  const push = (change: SetChange, notBefore = next): void => {
    const set = applyChange(makeValidatorSet(keys), change) as ValidatorSet;
    keys = [...set.validators];
    changes.push({ change, notBefore });
    next = notBefore + rng.int(SIM_CHANGE_SPACING, 2 * SIM_CHANGE_SPACING);
  };
  const add = (): string | null => {
    const key = spare.shift();
    if (key === undefined) return 'no spare key';
    if (!guardHolds([...keys, key], faulty)) return 'guard: the grown set would have > f faulty';
    push({ op: 'add', key });
    return null;
  };
  /** Members whose removal keeps the guard. */
  const removable = (): Uint8Array[] =>
    keys.filter((k) =>
      guardHolds(
        keys.filter((o) => o !== k),
        faulty,
      ),
    );
  const removeRandom = (): string | null => {
    const candidates = removable();
    if (candidates.length === 0) return 'guard: every removal leaves > f faulty or no validator';
    push({ op: 'remove', key: rng.pick(candidates) });
    return null;
  };
  /** Removes a member whose index is the primary of (height, 0) at the chosen height + shift. */
  const removeAtHeight = (shift: number): string | null => {
    const candidates = removable();
    if (candidates.length === 0) return 'guard: every removal leaves > f faulty or no validator';
    const key = rng.pick(candidates);
    const index = keys.indexOf(key);
    const n = keys.length;
    // The smallest height ≥ next whose primary (h + shift) mod n is that index.
    const h = next + ((((index - shift - next) % n) + n) % n);
    push({ op: 'remove', key }, h);
    return null;
  };
  let why: string | null = null;
  switch (scenario) {
    case 'add':
      why = add();
      break;
    case 'remove':
      why = removeRandom();
      break;
    case 'replace': {
      const key = spare.shift();
      if (key === undefined) {
        why = 'no spare key';
        break;
      }
      const old = rng.pick(keys);
      push({ op: 'replace', old, key });
      break;
    }
    case 'remove-self':
      // The primary of (H, 0) builds the block that removes it.
      why = removeAtHeight(0);
      break;
    case 'remove-primary':
      // The member removed is the primary of (H + 1, 0) under the old set: at the next height
      // a replica still using the old set would wait for it.
      why = removeAtHeight(1);
      break;
    case 'grow-shrink':
      why = add() ?? removeRandom();
      break;
    case 'grow-3':
      why = add() ?? add() ?? add();
      break;
  }
  return { scenario, changes, refused: why };
}

/** Every set the plan goes through, the genesis one first. */
export function plannedSets(initial: ValidatorSet, plan: ReconfigPlan): ValidatorSet[] {
  const sets = [initial];
  for (const { change } of plan.changes) {
    const next = applyChange(sets.at(-1)!, change);
    if (typeof next !== 'string') sets.push(next);
  }
  return sets;
}
