/**
 * The node the explorer talks to: the one that served it. The page is at <api>/explorer/, so
 * the API is one level up — also behind a proxy that serves the node under a prefix.
 */
import {
  type BlockResponse,
  CivitasClient,
  type ValidatorsResponse,
} from '../../src/client/index.ts';

export const client = new CivitasClient(new URL('..', document.baseURI).href, {
  timeoutMs: 30_000,
});

const blocks = new Map<number, Promise<BlockResponse>>();
/** Blocks by height, fetched once (a committed block never changes). */
export function block(height: number): Promise<BlockResponse> {
  let found = blocks.get(height);
  if (found === undefined) {
    found = client.block(height);
    found.catch(() => blocks.delete(height));
    blocks.set(height, found);
    if (blocks.size > 500) blocks.delete(blocks.keys().next().value!);
  }
  return found;
}

const sets = new Map<string, Promise<ValidatorsResponse>>();
/** The validator set (with names) a block names, fetched once per set. */
export function validatorsOf(b: BlockResponse): Promise<ValidatorsResponse> {
  const key = b.header.validatorSetHash;
  let found = sets.get(key);
  if (found === undefined) {
    found = client.validators(b.header.height);
    found.catch(() => sets.delete(key));
    sets.set(key, found);
  }
  return found;
}

/** A validator's name in `set` by public key, else its key's start. */
export function validatorName(set: ValidatorsResponse, publicKey: string): string {
  return set.validators.find((v) => v.publicKey === publicKey)?.name ?? `${publicKey.slice(0, 8)}…`;
}
