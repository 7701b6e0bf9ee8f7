/**
 * The explorer: a page per hash route, each checking what it shows with the client SDK.
 *
 *   #/                      the chain: live blocks, throughput, validators
 *   #/block/<height>        a block
 *   #/tx/<hash>             a tx
 *   #/object/<module>/<id>  a state object with its history
 *   #/gov                   governance proposals with their votes and outcomes
 *   #/search/<text>         a height, tx hash, address or module/id, sent to its page
 *   #/trust                 what the explorer trusts; paste a genesis file
 */
import '../style.css';
import { client } from './api.ts';
import { h } from './dom.ts';
import { blockPage } from './pages/block.ts';
import { chainPage } from './pages/chain.ts';
import { govPage } from './pages/gov.ts';
import { objectPage } from './pages/object.ts';
import { trustPage } from './pages/trust.ts';
import { txPage } from './pages/tx.ts';
import { loadTrust, storedTrust } from './trust.ts';

const main = document.getElementById('main')!;
const note = document.getElementById('trust-note')!;
let leave = new AbortController();

function showTrust(): void {
  const stored = storedTrust();
  if (stored === undefined) {
    note.replaceChildren('Nothing trusted yet.');
    return;
  }
  note.dataset.source = stored.source;
  note.replaceChildren(
    stored.source === 'node'
      ? `Checking against the genesis validators of ${stored.chainId}, trusted on first use: loaded from this node at your first visit. `
      : `Checking against the genesis file you gave for ${stored.chainId}. `,
    h(
      'a',
      { href: '#/trust' },
      stored.source === 'node' ? 'Paste the genesis file instead' : 'Change',
    ),
  );
}

/** Where a search goes: a height, a tx hash, an address (its account), or module/id. */
async function search(text: string): Promise<string> {
  const q = text.trim().toLowerCase().replace(/^0x/, '');
  if (/^[0-9]{1,15}$/.test(q)) return `#/block/${q}`;
  if (/^[0-9a-f]{64}$/.test(q)) {
    await client.tx(q);
    return `#/tx/${q}`;
  }
  if (/^[0-9a-f]{40}$/.test(q)) return `#/object/bank/${q}`;
  if (/^[a-z]+\/.+/.test(text.trim())) return `#/object/${text.trim()}`;
  throw new Error(`“${text}” is not a height, tx hash, address or module/id`);
}

async function route(): Promise<void> {
  leave.abort();
  leave = new AbortController();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [page = '', ...rest] = parts;
  main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  try {
    await loadTrust(client);
    showTrust();
    if (page === '') await chainPage(main, leave.signal);
    else if (page === 'block' && /^[0-9]+$/.test(rest[0] ?? ''))
      await blockPage(main, Number(rest[0]));
    else if (page === 'tx' && rest[0] !== undefined) await txPage(main, rest[0]);
    else if (page === 'object' && rest.length >= 2)
      await objectPage(main, rest[0]!, rest.slice(1).join('/'));
    else if (page === 'gov') await govPage(main);
    else if (page === 'search') location.hash = await search(rest.join('/'));
    else if (page === 'trust') trustPage(main, showTrust);
    else main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, `No page ${location.hash}.`));
  } catch (err) {
    const e = err as Error & { code?: string };
    main.replaceChildren(
      h('h1', {}, 'Could not show this'),
      h('p', { class: 'error', role: 'alert' }, e.code ? `${e.code}: ` : '', e.message),
    );
  }
  document.title = `${main.querySelector('h1')?.textContent ?? 'Explorer'} · Civitas explorer`;
}

document.getElementById('search')!.addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('search-input') as HTMLInputElement;
  location.hash = `#/search/${encodeURIComponent(input.value)}`;
});
window.addEventListener('hashchange', () => {
  route().then(() => main.focus({ preventScroll: true }));
});
route();
