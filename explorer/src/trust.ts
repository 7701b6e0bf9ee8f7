/**
 * What the explorer trusts: a genesis validator set, kept in localStorage. On the first visit
 * it is taken from the node it talks to (the chain id and the set of height 1) and the page
 * says so — trust on first use: later visits check every answer against that set, so a node
 * that lies later, or another agency's node, is caught. A user who holds the genesis file
 * pastes it instead (#/trust); the set is then the file's own. Validator-set changes are
 * followed from there with verifyValidatorChanges: each change certified by the set before it.
 */
import {
  type CivitasClient,
  fromHex,
  genesisFromJson,
  genesisStateRoot,
  genesisValidatorSet,
  makeValidatorSet,
  type TrustedChain,
  type TrustedValidatorChanges,
  toHex,
  verifyValidatorChanges,
} from '../../src/client/index.ts';

const STORAGE_KEY = 'civitas-explorer/trust';

export interface StoredTrust {
  chainId: string;
  /** The genesis validators' public keys, hex, in set order. */
  validators: string[];
  /** 'node': trusted on first use from the node; 'genesis': from a pasted genesis file. */
  source: 'node' | 'genesis';
  /** When it was stored (ms). */
  savedAt: number;
  /** The pasted genesis file, to compute its state root again (height-0 proofs). */
  genesis?: string;
}

export function storedTrust(): StoredTrust | undefined {
  const text = localStorage.getItem(STORAGE_KEY);
  if (text === null) return undefined;
  try {
    const stored = JSON.parse(text) as StoredTrust;
    if (typeof stored.chainId === 'string' && Array.isArray(stored.validators)) return stored;
  } catch {
    // unreadable: as if none
  }
  return undefined;
}

export function forgetTrust(): void {
  localStorage.removeItem(STORAGE_KEY);
  trusted = undefined;
}

function save(stored: StoredTrust): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(stored));
  trusted = undefined;
}

/** Trusts a genesis file's text; throws if it is not a genesis. */
export function trustGenesis(text: string): StoredTrust {
  const genesis = genesisFromJson(JSON.parse(text));
  const stored: StoredTrust = {
    chainId: genesis.chainId,
    validators: genesisValidatorSet(genesis).validators.map(toHex),
    source: 'genesis',
    savedAt: Date.now(),
    genesis: text,
  };
  save(stored);
  return stored;
}

/** The stored trust, or the node's genesis set trusted now (first use). */
export async function loadTrust(client: CivitasClient): Promise<StoredTrust> {
  const stored = storedTrust();
  if (stored !== undefined) return stored;
  const [status, set] = await Promise.all([client.status(), client.validators(1)]);
  const first: StoredTrust = {
    chainId: status.chainId,
    validators: set.validators.map((v) => v.publicKey),
    source: 'node',
    savedAt: Date.now(),
  };
  save(first);
  return first;
}

let trusted:
  | { base: Promise<TrustedChain>; changes?: Promise<TrustedValidatorChanges> }
  | undefined;

async function baseChain(client: CivitasClient): Promise<TrustedChain> {
  const stored = await loadTrust(client);
  const chain: TrustedChain = {
    chainId: stored.chainId,
    validators: makeValidatorSet(stored.validators.map((v) => fromHex(v, 32))),
  };
  if (stored.genesis !== undefined) {
    chain.genesisStateRoot = await genesisStateRoot(genesisFromJson(JSON.parse(stored.genesis)));
  }
  return chain;
}

/**
 * What verification checks against for a block at `height`: the trusted genesis set and the
 * validator-set changes verified from it, fetched again when `height` is beyond what was
 * verified. A change that does not verify throws VERIFY_VALIDATOR_CHANGE.
 */
export async function trustedChain(client: CivitasClient, height: number): Promise<TrustedChain> {
  trusted ??= { base: baseChain(client) };
  const state = trusted;
  const base = await state.base;
  let changes =
    state.changes === undefined ? undefined : await state.changes.catch(() => undefined);
  if (changes === undefined || height >= changes.upTo) {
    state.changes = client.validatorChanges().then((r) => verifyValidatorChanges(base, r));
    changes = await state.changes;
  }
  return { ...base, changes };
}
