/**
 * The application's parameters that governance changes (chain parameters that consensus
 * reads, such as block size, stay in the genesis).
 *
 *   params   AppParams { permissioned, freezeThreshold, history }
 */
import { decode, expectVersion } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { utf8 } from '../../crypto/bytes.ts';
import { type History, NO_HISTORY, readHistory, writeHistory } from '../history.ts';
import type { StateRead, ValueCodec } from '../state-view.ts';

export interface AppParams {
  /** Only active members of active organisations may send txs (refused at admission). */
  readonly permissioned: boolean;
  /** Regulators that must impose (or lift) the same freeze before it takes effect. */
  readonly freezeThreshold: number;
  readonly history: History;
}

/** What a chain without a `params` genesis section runs with: open, one regulator suffices. */
export const DEFAULT_APP_PARAMS: AppParams = Object.freeze({
  permissioned: false,
  freezeThreshold: 1,
  history: NO_HISTORY,
});

export const PARAMS_KEY = utf8.encode('params');

export const paramsCodec: ValueCodec<AppParams> = {
  encode: (p) =>
    encode((w) => {
      w.u8(1).bool(p.permissioned).varuint(p.freezeThreshold);
      writeHistory(w, p.history);
    }),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'params');
      return { permissioned: r.bool(), freezeThreshold: r.varuint(), history: readHistory(r) };
    }),
};

export function appParams(state: StateRead): AppParams {
  return state.get(PARAMS_KEY, paramsCodec) ?? DEFAULT_APP_PARAMS;
}
