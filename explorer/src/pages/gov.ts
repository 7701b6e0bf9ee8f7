/**
 * #/gov: governance proposals, newest first, with their votes and outcomes. The list is the
 * node's view (GET /gov/proposals, unproven); each proposal links to its object page, where
 * its state and the history of its votes are verified (#/object/gov/<id>).
 */
import { client } from '../api.ts';
import { h, json, link, short, table } from '../dom.ts';

export async function govPage(main: HTMLElement): Promise<void> {
  const { height, total, proposals } = await client.proposals();
  main.replaceChildren(
    h('h1', {}, 'Governance'),
    h(
      'p',
      {},
      `${total} proposals made up to height ${height}. This list is what the node says; open a proposal to verify it.`,
    ),
    proposals.length === 0
      ? h('p', {}, 'No proposal yet.')
      : table(
          'Proposals, newest first',
          ['Id', 'Status', 'Actions', 'Votes', 'Proposer', 'Expires at height'],
          proposals.map((p) => [
            link(`#/object/gov/${p.id}`, String(p.id)),
            [
              h('span', { class: `proposal-${p.status}` }, p.status),
              p.failure === null ? null : ` (action ${p.failure.index}: ${p.failure.code})`,
              p.closedAt > 0 ? ` at height ${p.closedAt}` : null,
            ],
            p.actions.map((a) => [h('code', {}, a.call), json(a.args)]),
            [
              `${p.votes.filter((v) => v.approve).length} for, ${p.votes.filter((v) => !v.approve).length} against; ${p.threshold} of ${p.committee.length} needed`,
              h(
                'ul',
                {},
                p.votes.map((v) => h('li', {}, `${v.org}: ${v.approve ? 'approve' : 'reject'}`)),
              ),
            ],
            short(p.proposer, 10),
            String(p.expiresAtHeight),
          ]),
        ),
  );
}
