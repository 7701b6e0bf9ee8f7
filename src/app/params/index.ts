/**
 * The `params` module: the application's governed parameters (state.ts).
 *
 *   params.set {permissioned?, freezeThreshold?}   governance only
 *
 * Events: params.changed. Objects: GET /state/params/current.
 */
import { decode } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { toHex } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import { FREEZE_MAX_APPROVALS } from '../freeze/state.ts';
import { jsonBool, jsonObject, jsonUint } from '../json-args.ts';
import type { AppModule, Method } from '../module.ts';
import { type AppParams, appParams, PARAMS_KEY, paramsCodec } from './state.ts';

export interface ParamsChange {
  readonly permissioned: boolean | null;
  readonly freezeThreshold: number | null;
}

function checkThreshold(n: number): number {
  if (n < 1 || n > FREEZE_MAX_APPROVALS) {
    throw new CivitasError('PARAMS_BAD_ARGS', `freezeThreshold must be 1..${FREEZE_MAX_APPROVALS}`);
  }
  return n;
}

const set: Method<ParamsChange> = {
  args: {
    // u8 flags (bit 0: permissioned given, bit 1: its value, bit 2: freezeThreshold given) | [varuint]
    encode: (c) =>
      encode((w) => {
        const flags =
          (c.permissioned !== null ? 1 : 0) |
          (c.permissioned === true ? 2 : 0) |
          (c.freezeThreshold !== null ? 4 : 0);
        w.u8(flags);
        if (c.freezeThreshold !== null) w.varuint(c.freezeThreshold);
      }),
    decode: (bytes) =>
      decode(bytes, (r) => {
        const flags = r.u8();
        if (flags > 7 || (flags & 3) === 2) {
          throw new CivitasError('PARAMS_BAD_ARGS', `params.set: bad flags ${flags}`);
        }
        return {
          permissioned: (flags & 1) !== 0 ? (flags & 2) !== 0 : null,
          freezeThreshold: (flags & 4) !== 0 ? checkThreshold(r.varuint()) : null,
        };
      }),
    fromJson(json) {
      const o = jsonObject(json, 'PARAMS_BAD_ARGS', ['permissioned', 'freezeThreshold']);
      return {
        permissioned:
          o.permissioned === undefined
            ? null
            : jsonBool(o.permissioned, 'permissioned', 'PARAMS_BAD_ARGS'),
        freezeThreshold:
          o.freezeThreshold === undefined
            ? null
            : checkThreshold(jsonUint(o.freezeThreshold, 'freezeThreshold', 'PARAMS_BAD_ARGS')),
      };
    },
    toJson: (c) => ({
      ...(c.permissioned === null ? {} : { permissioned: c.permissioned }),
      ...(c.freezeThreshold === null ? {} : { freezeThreshold: c.freezeThreshold }),
    }),
  },
  keys: () => [PARAMS_KEY],
  execute(change, ctx) {
    // Rule: parameters change only by a governance proposal.
    if (ctx.origin !== 'governance') return 'GOV_ONLY';
    const current = appParams(ctx.state);
    const next: AppParams = {
      permissioned: change.permissioned ?? current.permissioned,
      freezeThreshold: change.freezeThreshold ?? current.freezeThreshold,
      history: ctx.advance(PARAMS_KEY, current.history),
    };
    ctx.state.set(PARAMS_KEY, next, paramsCodec);
    ctx.emit('params.changed', [
      ['permissioned', String(next.permissioned)],
      ['freezeThreshold', String(next.freezeThreshold)],
    ]);
    return undefined;
  },
};

export function paramsToJson(p: AppParams): Record<string, unknown> {
  return {
    permissioned: p.permissioned,
    freezeThreshold: p.freezeThreshold,
    rev: p.history.rev,
    hist: toHex(p.history.hist),
  };
}

export const paramsModule: AppModule = {
  name: 'params',
  methods: { set },
  objects: {
    key(id) {
      if (id !== 'current')
        throw new CivitasError('PARAMS_BAD_ID', 'the params object is "current"');
      return PARAMS_KEY;
    },
    toJson: (value) => paramsToJson(paramsCodec.decode(value)),
  },
  genesis({ section, state }) {
    if (section === undefined) return;
    const o = jsonObject(section, 'GENESIS_INVALID', ['permissioned', 'freezeThreshold']);
    state.set(
      PARAMS_KEY,
      {
        permissioned:
          o.permissioned === undefined
            ? false
            : jsonBool(o.permissioned, 'params.permissioned', 'GENESIS_INVALID'),
        freezeThreshold:
          o.freezeThreshold === undefined
            ? 1
            : jsonUint(o.freezeThreshold, 'params.freezeThreshold', 'GENESIS_INVALID'),
        history: { rev: 0, hist: new Uint8Array(32) },
      },
      paramsCodec,
    );
  },
};
