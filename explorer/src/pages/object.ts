/**
 * A state object (#/object/<module>/<id>: an account bank/<address>, an asset
 * asset/<class>/<id>, a document, a receivable, an organisation…): its current value proven
 * against a certified block — with an asset's lease and the grants of an asset or a document
 * spelt out (object-view.ts) — its history replayed here from the proven txs (verifyHistory),
 * and for what a regulator can freeze, the freeze order with its legal basis.
 */
import {
  type VerifiedHistory,
  verifyHistory,
  verifyStateProof,
} from '../../../src/client/index.ts';
import { client } from '../api.ts';
import { badge } from '../badge.ts';
import { append, h, json, link, short, table } from '../dom.ts';
import { freezeView, objectView } from '../object-view.ts';
import { trustedChain } from '../trust.ts';

/** Modules whose objects a freeze order can name, and the order's kind for them (freeze/state.ts). */
const FREEZE_KIND: Readonly<Record<string, string>> = {
  bank: 'account',
  asset: 'asset',
  doc: 'doc',
  recv: 'recv',
};

export async function objectPage(main: HTMLElement, module: string, id: string): Promise<void> {
  const status = await client.status();
  const value = h('div', {}, '…');
  const history = h('div', {}, '…');
  const freeze = h('div', {}, '…');
  const kind = FREEZE_KIND[module];
  main.replaceChildren();
  append(
    main,
    h('h1', {}, `${module} `, h('code', {}, id)),
    h('h2', {}, 'Current state'),
    badge('state', async () => {
      const trusted = await trustedChain(client, status.height + 1);
      const state = verifyStateProof(
        module,
        id,
        await client.state(module, id, { proof: true }),
        trusted,
      );
      value.replaceChildren(
        state.present && state.json !== null
          ? objectView(module, state.json, state.height)
          : h('p', {}, 'No such object (proven absent).'),
      );
      return {
        summary: `${state.present ? 'the value' : 'its absence'} proven by the state root of certified block ${state.height}`,
      };
    }),
    value,
    h('h2', {}, 'History'),
    badge('history', async () => {
      const trusted = await trustedChain(client, status.height + 1);
      let verified: VerifiedHistory;
      try {
        verified = await verifyHistory(client, module, id, trusted);
      } catch (err) {
        // The proven value has no rev and hist: this kind of object keeps no history (an
        // account). Proven, so not a failure.
        if ((err as { code?: string }).code !== 'VERIFY_NOT_TRACKED') throw err;
        history.replaceChildren(h('p', {}, 'This kind of object keeps no revision history.'));
        return { summary: 'the proven value carries no revision history' };
      }
      history.replaceChildren(
        verified.entries.length === 0
          ? h('p', {}, 'No change recorded.')
          : table(
              'Every change, oldest first, each tx proven in a certified block',
              ['Rev', 'Block', 'Tx', 'Call', 'Arguments'],
              verified.entries.map((e) => [
                String(e.rev),
                link(`#/block/${e.height}`, String(e.height)),
                link(`#/tx/${e.txHash}`, short(e.txHash)),
                h('code', {}, `${e.module}.${e.method}`),
                json(e.args),
              ]),
              { 'data-history': 'entries' },
            ),
      );
      return {
        summary: `${verified.entries.length} changes replayed from revision 0 to the proven revision ${verified.rev} (hash chain ${verified.hist.slice(0, 12)}…): complete and unaltered`,
      };
    }),
    history,
    kind === undefined ? null : h('h2', {}, 'Freeze'),
    kind === undefined
      ? null
      : badge('freeze status', async () => {
          const trusted = await trustedChain(client, status.height + 1);
          const order = verifyStateProof(
            'freeze',
            `${kind}/${id}`,
            await client.state('freeze', `${kind}/${id}`, { proof: true }),
            trusted,
          );
          freeze.replaceChildren(freezeView(order.json, order.height));
          return {
            summary: `freeze order ${order.present ? 'proven' : 'proven absent'} at block ${order.height}`,
          };
        }),
    kind === undefined ? null : freeze,
  );
}
