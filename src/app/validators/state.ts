/**
 * The validator set and its registered observers, as governance keeps them.
 *
 *   validators/set         the set in force after the last executed block: [{publicKey, name}],
 *                          in set order (the ledger's change log follows it, src/state/
 *                          validator-log.ts; the header names its hash)
 *   validators/meta        { lastChange: height of the last change (0: none since genesis) }
 *   validators/observers   registered observers [{publicKey, name}]: nodes admitted to the
 *                          network that sign nothing, candidates for the set among them
 *   validators/ready/<key> the height of the key's last readiness proof (validators.ready)
 */

import { addressOf } from '../../chain/address.ts';
import { decode, expectVersion } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { concatBytes, equalBytes, utf8 } from '../../crypto/bytes.ts';
import { PUBLIC_KEY_LENGTH } from '../../crypto/ed25519.ts';
import type { StateRead, ValueCodec } from '../state-view.ts';

export interface ValidatorEntry {
  readonly publicKey: Uint8Array;
  readonly name: string;
}

export const NAME_MAX = 100;
/** Registered observers at most. */
export const MAX_OBSERVERS = 64;

export const SET_KEY = utf8.encode('validators/set');
export const META_KEY = utf8.encode('validators/meta');
export const OBSERVERS_KEY = utf8.encode('validators/observers');
const READY_PREFIX = utf8.encode('validators/ready/');

export function readyKey(publicKey: Uint8Array): Uint8Array {
  return concatBytes(READY_PREFIX, publicKey);
}

export const entriesCodec: ValueCodec<readonly ValidatorEntry[]> = {
  encode: (entries) =>
    encode((w) => {
      w.u8(1).list(entries, (ww, e) => ww.fixed(e.publicKey, PUBLIC_KEY_LENGTH).string(e.name));
    }),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'validator entries');
      return r.list(1_024, (rr) => ({
        publicKey: rr.fixed(PUBLIC_KEY_LENGTH),
        name: rr.string(NAME_MAX * 4),
      }));
    }),
};

export const metaCodec: ValueCodec<{ readonly lastChange: number }> = {
  encode: (m) => encode((w) => w.u8(1).varuint(m.lastChange)),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'validators meta');
      return { lastChange: r.varuint() };
    }),
};

export const heightCodec: ValueCodec<number> = {
  encode: (h) => encode((w) => w.varuint(h)),
  decode: (bytes) => decode(bytes, (r) => r.varuint()),
};

export function validatorEntries(state: StateRead): readonly ValidatorEntry[] {
  return state.get(SET_KEY, entriesCodec) ?? [];
}

export function observerEntries(state: StateRead): readonly ValidatorEntry[] {
  return state.get(OBSERVERS_KEY, entriesCodec) ?? [];
}

/**
 * Whether a tx from `sender` (an address) is a registered observer's readiness proof: its
 * only call validators.ready. Such a tx is admitted on a permissioned chain even when the
 * observer's key is not (yet) a member of an organisation (org.checkTx, node admission).
 */
export function isObserverReadiness(
  state: StateRead,
  sender: Uint8Array,
  calls: ReadonlyArray<{ readonly module: string; readonly method: string }>,
): boolean {
  if (calls.length !== 1 || calls[0]!.module !== 'validators' || calls[0]!.method !== 'ready') {
    return false;
  }
  return observerEntries(state).some((e) => equalBytes(addressOf(e.publicKey), sender));
}
