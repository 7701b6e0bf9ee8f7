/**
 * The chain page: the latest blocks as they commit (GET /events, resumed from the last id
 * after a dropped connection), each with its proposer, the validators whose COMMIT
 * signatures certify it and its view when a view change preceded it; the throughput chart;
 * the validator set and its change history.
 */
import type { BlockEvent, BlockResponse } from '../../../src/client/index.ts';
import { block, client, validatorName, validatorsOf } from '../api.ts';
import { ThroughputChart } from '../chart.ts';
import { h, link, short, table, time } from '../dom.ts';

/** Rows in the latest-blocks table. */
const LATEST = 15;
/** Blocks read back at load, for the chart (the stream replays them, then goes live). */
const BACKFILL = 300;
const RECONNECT_MS = 2_000;

export async function chainPage(main: HTMLElement, signal: AbortSignal): Promise<void> {
  const status = await client.status();
  const live = h(
    'p',
    { class: 'live', 'data-live': 'connecting' },
    'Connecting to the block stream…',
  );
  const rows = h('tbody', { id: 'latest-blocks' });
  const chart = new ThroughputChart();
  const validators = h('div', {}, 'Loading…');
  const changes = h('div', {}, 'Loading…');
  main.replaceChildren(
    h('h1', {}, `Chain ${status.chainId}`),
    h(
      'p',
      {},
      `Node ${status.moniker}, version ${status.version}, ${status.peers.length} peers. Height `,
      h('span', { id: 'tip-height' }, String(status.height)),
      '.',
    ),
    h(
      'section',
      { 'aria-labelledby': 'latest-title' },
      h('h2', { id: 'latest-title' }, 'Latest blocks'),
      live,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          {},
          h('caption', {}, `The last ${LATEST} blocks, newest first`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Height', 'Time', 'Txs', 'Proposer', 'Signed by', 'View'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          rows,
        ),
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'chart-title' },
      h('h2', { id: 'chart-title' }, 'Throughput and block time'),
      chart.element,
    ),
    h(
      'section',
      { 'aria-labelledby': 'set-title' },
      h('h2', { id: 'set-title' }, 'Validators'),
      validators,
    ),
    h(
      'section',
      { 'aria-labelledby': 'changes-title' },
      h('h2', { id: 'changes-title' }, 'Validator-set changes'),
      changes,
    ),
  );
  renderValidators(validators, changes).catch((err: Error) => {
    validators.replaceChildren(h('p', { class: 'error' }, err.message));
  });

  const tip = main.querySelector<HTMLElement>('#tip-height')!;
  const onBlock = (event: BlockEvent): void => {
    tip.textContent = String(event.height);
    chart.add(event.timestamp, event.txs);
    if (event.height + LATEST <= lastHeight) return;
    rows.prepend(blockRow(event));
    while (rows.children.length > LATEST) rows.lastElementChild!.remove();
  };
  let lastHeight = status.height;
  let from: string | number = Math.max(0, status.height - BACKFILL);
  // The stream is read until the page is left; a dropped connection resumes after the last id.
  (async () => {
    while (!signal.aborted) {
      try {
        const stream = await client.openBlockEvents({
          from,
          signal,
          onGap: (gap) => {
            from = gap.to;
          },
        });
        live.dataset.live = 'open';
        live.textContent = 'Live: new blocks appear as they are committed.';
        for await (const event of stream) {
          lastHeight = Math.max(lastHeight, event.height);
          from = event.height;
          onBlock(event);
        }
      } catch (err) {
        if (signal.aborted) return;
        live.dataset.live = 'retrying';
        live.textContent = `Block stream interrupted (${(err as Error).message}); reconnecting…`;
      }
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  })();
}

function blockRow(event: BlockEvent): HTMLElement {
  const proposer = h('td', {}, '…');
  const signers = h('td', {}, '…');
  const view = h('td', {}, '');
  const row = h(
    'tr',
    { 'data-height': event.height },
    h('td', {}, link(`#/block/${event.height}`, String(event.height))),
    h('td', {}, time(event.timestamp)),
    h('td', {}, String(event.txs)),
    proposer,
    signers,
    view,
  );
  block(event.height)
    .then(async (b) => fillRow(b, proposer, signers, view))
    .catch((err: Error) => signers.replaceChildren(h('span', { class: 'error' }, err.message)));
  return row;
}

async function fillRow(
  b: BlockResponse,
  proposer: HTMLElement,
  signers: HTMLElement,
  view: HTMLElement,
): Promise<void> {
  const set = await validatorsOf(b);
  proposer.replaceChildren(validatorName(set, b.header.proposer));
  const signed = b.certificate?.signers ?? [];
  signers.replaceChildren(
    h(
      'span',
      { title: `${signed.length} of ${set.validators.length}; quorum ${set.quorum}` },
      signed.map((i) => set.validators[i]?.name ?? `#${i}`).join(', '),
    ),
  );
  const v = b.certificate?.view ?? 0;
  if (v > 0) view.replaceChildren(h('span', { class: 'view-change' }, `view ${v}`));
}

async function renderValidators(validators: HTMLElement, changes: HTMLElement): Promise<void> {
  const [set, history] = await Promise.all([client.validators(), client.validatorChanges()]);
  validators.replaceChildren(
    h(
      'p',
      {},
      `${set.validators.length} validators for height ${set.height}; a quorum is ${set.quorum}, up to ${set.maxFaulty} may fail. Set hash `,
      short(set.hash),
      '.',
    ),
    table(
      'The validator set',
      ['#', 'Name', 'Public key'],
      set.validators.map((v) => [String(v.index), v.name, short(v.publicKey, 16)]),
    ),
  );
  changes.replaceChildren(
    history.changes.length === 0
      ? h('p', {}, 'No change since genesis.')
      : table(
          'Every change of the validator set, certified by the set before it',
          ['From height', 'Validators', 'Decided in block'],
          history.changes.map((c) => [
            String(c.fromHeight),
            String(c.validators.length),
            link(`#/block/${c.fromHeight - 1}`, String(c.fromHeight - 1)),
          ]),
        ),
  );
}
