/**
 * What the explorer's browser tests share: a proxy in front of a node that lies about one kind
 * of answer, a check that explorer/dist is built from the current sources, a load that keeps
 * blocks coming, reading the verification badges, and checks of a page's accessibility and
 * layout made with DOM queries in the page itself (no checker library).
 */
import { readdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import {
  CivitasClient,
  formatAddress,
  loadKeyFile,
  parseAddress,
  senderAddress,
  transfer,
} from '../../../src/client/index.ts';
import type { InitSummary } from '../../../src/node/home.ts';
import type { BrowserPage } from '../../helpers/browser.ts';
import { REPO_ROOT } from '../../helpers/process.ts';

/** How long a page may take to show what a test waits for. */
export const PAGE_TIMEOUT_MS = 60_000;

/** Which answer the proxy falsifies (every time, until told otherwise), and how. */
export type Tamper = 'tx-certificate' | 'state-value' | 'block-header' | undefined;

function flipLastByte(hex: string): string {
  const last = Number.parseInt(hex.slice(-2), 16) ^ 1;
  return `${hex.slice(0, -2)}${last.toString(16).padStart(2, '0')}`;
}

/** A proxy in front of node 0's API (explorer included) that can lie about one kind of answer. */
export async function lyingProxy(
  t: { after(fn: () => unknown): void },
  rpc: string,
): Promise<{ origin: string; tamper: Tamper; tampered: string[] }> {
  const state = { origin: '', tamper: undefined as Tamper, tampered: [] as string[] };
  const falsify = (pathname: string, body: string): string => {
    if (state.tamper === 'tx-certificate' && /^\/txs\/[0-9a-f]{64}$/.test(pathname)) {
      const json = JSON.parse(body);
      if (json.status !== 'committed') return body;
      // The last byte of the last COMMIT signature: the certificate still decodes.
      json.certificateBytes = flipLastByte(json.certificateBytes);
      state.tampered.push(pathname);
      return JSON.stringify(json);
    }
    if (state.tamper === 'block-header' && /^\/blocks\/[0-9]+$/.test(pathname)) {
      const json = JSON.parse(body);
      // The block's bytes as they are; the header shown beside them a second later.
      json.header.timestamp += 1_000;
      state.tampered.push(pathname);
      return JSON.stringify(json);
    }
    if (state.tamper === 'state-value' && pathname.startsWith('/state/asset/')) {
      const json = JSON.parse(body);
      if (typeof json.proof?.value !== 'string') return body;
      // The battery's stored bytes: the node claims another holder, revision or record count.
      json.proof.value = flipLastByte(json.proof.value);
      state.tampered.push(pathname);
      return JSON.stringify(json);
    }
    return body;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const upstream = await fetch(`${rpc}${url.pathname}${url.search}`, {
      method: req.method,
      headers: req.headers['last-event-id']
        ? { 'last-event-id': String(req.headers['last-event-id']) }
        : {},
    });
    const type = upstream.headers.get('content-type') ?? 'application/octet-stream';
    if (!type.startsWith('application/json')) {
      // Pages and event streams pass through as they come.
      res.writeHead(upstream.status, { 'content-type': type });
      if (upstream.body === null) res.end();
      else Readable.fromWeb(upstream.body as never).pipe(res);
      return;
    }
    const body = await upstream.text();
    res
      .writeHead(upstream.status, { 'content-type': type })
      .end(upstream.ok ? falsify(url.pathname, body) : body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(err.message);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((done) => server.close(done));
  });
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/**
 * Whether explorer/dist is missing or older than the explorer's sources. `npm install` (CI:
 * `npm ci`) builds it; rebuilding only when stale keeps this test from replacing the files
 * while another test (the SDK's npm pack) copies them.
 */
export async function explorerStale(): Promise<boolean> {
  const explorer = join(REPO_ROOT, 'explorer');
  const built = await stat(join(explorer, 'dist/app.js')).catch(() => undefined);
  if (built === undefined) return true;
  const sources = [
    'index.html',
    'style.css',
    ...(await readdir(join(explorer, 'src'), { recursive: true })).map((f) => join('src', f)),
  ];
  for (const file of sources) {
    if ((await stat(join(explorer, file))).mtimeMs > built.mtimeMs) return true;
  }
  return false;
}

/** Commits transfers one after another until `signal` aborts, so blocks keep coming. */
export async function keepCommitting(
  rpc: string,
  summary: InitSummary,
  signal: AbortSignal,
): Promise<number> {
  const client = new CivitasClient(rpc);
  const keys = await loadKeyFile(resolve(summary.dir, summary.accounts[0]!.file));
  const to = parseAddress(summary.accounts[1]!.address);
  let committed = 0;
  while (!signal.aborted) {
    const [{ height }, { nonce }] = await Promise.all([
      client.status(),
      client.account(formatAddress(senderAddress(keys))),
    ]);
    const tx = transfer({
      chainId: summary.chainId,
      keys,
      to,
      amount: 1n,
      nonce,
      expiryHeight: height + 100,
    });
    await client.submit(tx, { wait: true });
    committed++;
  }
  return committed;
}

/** Waits for the page's badge(s) to settle and returns their states and codes. */
export async function badges(
  page: BrowserPage,
): Promise<Array<{ verify: string; code: string | null; text: string }>> {
  await page.page.waitForFunction(
    `document.querySelectorAll('.badge').length > 0 && document.querySelectorAll('.badge[data-verify="pending"]').length === 0`,
    undefined,
    { timeout: PAGE_TIMEOUT_MS },
  );
  return page.page.evaluate(
    `[...document.querySelectorAll('.badge')].map((b) => ({ verify: b.dataset.verify, code: b.dataset.code ?? null, text: b.textContent }))`,
  );
}

/*
 * The checks below run in the page (page.evaluate of their source: this project's TypeScript
 * has no DOM types outside explorer/, so they are written as the plain JavaScript the page
 * runs).
 */

/**
 * What the page's DOM shows against the explorer's accessibility rules, as a list of problems
 * (empty when none): one main landmark holding the one h1; every link, button, field and
 * summary with an accessible name; images and charts with a text alternative; nothing that
 * takes a mouse click without taking keyboard focus (a pointer cursor or a click attribute
 * outside a focusable element), no focusable control taken out of the tab order, no tab order
 * of its own; and every badge a status whose words, not only its colour, say its state.
 */
const ACCESSIBILITY_PROBLEMS = String.raw`(() => {
  const problems = [];
  const where = (el) =>
    '<' + el.tagName.toLowerCase() + (el.id ? ' id=' + el.id : '') +
    (el.getAttribute('class') ? ' class="' + el.getAttribute('class') + '"' : '') + '> “' +
    (el.textContent ?? '').trim().slice(0, 40) + '”';
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const nameOf = (el) => {
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      return by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ').trim();
    }
    const aria = (el.getAttribute('aria-label') ?? '').trim();
    if (aria) return aria;
    if (el.matches('input, textarea, select')) {
      return [...(el.labels ?? [])].map((l) => l.textContent ?? '').join(' ').trim();
    }
    return (el.textContent ?? '').trim() || (el.getAttribute('title') ?? '').trim();
  };

  const mains = document.querySelectorAll('main, [role="main"]');
  if (mains.length !== 1) problems.push(mains.length + ' main landmarks, not 1');
  const h1s = document.querySelectorAll('h1');
  if (h1s.length !== 1) problems.push(h1s.length + ' h1 headings, not 1');
  else if (!mains[0]?.contains(h1s[0])) problems.push('the h1 is outside the main landmark');
  if (!document.documentElement.lang) problems.push('the page names no language');

  const controls = 'a[href], button, input:not([type="hidden"]), textarea, select, summary';
  for (const el of document.querySelectorAll(controls)) {
    if (nameOf(el) === '') problems.push('no accessible name: ' + where(el));
    if (el.getAttribute('tabindex') === '-1') problems.push('out of the tab order: ' + where(el));
  }
  for (const el of document.querySelectorAll('[tabindex]')) {
    if (Number(el.getAttribute('tabindex')) > 0) problems.push('a tab order of its own: ' + where(el));
  }

  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push('an image without alt: ' + where(img));
  }
  for (const el of document.querySelectorAll('[role="img"]')) {
    if (nameOf(el) === '') problems.push('an image role without a name: ' + where(el));
  }
  for (const el of document.querySelectorAll('canvas, svg')) {
    if (el.closest('[role="img"], [aria-hidden="true"]') === null && nameOf(el) === '') {
      problems.push('a drawing without a text alternative: ' + where(el));
    }
  }

  const focusable = controls + ', label, [tabindex]:not([tabindex="-1"])';
  for (const el of document.querySelectorAll('body *')) {
    if (el.hasAttribute('onclick') && el.closest(focusable) === null) {
      problems.push('a click handler on what keys cannot reach: ' + where(el));
    }
    if (!shown(el) || getComputedStyle(el).cursor !== 'pointer') continue;
    if (el.closest(focusable) === null) problems.push('takes the mouse but not the keyboard: ' + where(el));
  }

  const words = { ok: /Verified/, failed: /Not verified/, pending: /Verifying/ };
  for (const el of document.querySelectorAll('.badge')) {
    const state = el.dataset.verify ?? '';
    if (!(words[state]?.test(el.textContent ?? '') ?? false)) {
      problems.push('a badge whose words do not say its state (' + state + '): ' + where(el));
    }
    if (el.getAttribute('role') !== 'status') problems.push('a badge that is no status: ' + where(el));
  }
  return problems;
})()`;

export function accessibilityProblems(page: BrowserPage): Promise<string[]> {
  return page.page.evaluate(ACCESSIBILITY_PROBLEMS);
}

/** Marks the links, buttons, fields and summaries shown (data-tab-target); returns how many. */
const MARK_TAB_TARGETS = `(() => {
  document.activeElement?.blur();
  const targets = [
    ...document.querySelectorAll('a[href], button, input:not([type="hidden"]), textarea, select, summary'),
  ].filter((el) => el.getClientRects().length > 0);
  targets.forEach((el, i) => {
    el.dataset.tabTarget = String(i);
  });
  return targets.length;
})()`;

/**
 * Presses Tab through the page from its start, once round, and returns the links, buttons,
 * fields and summaries shown at the start that focus never reached (empty when the keyboard
 * reaches them all; one removed meanwhile, a live row, is not counted).
 */
export async function unreachedByTab(page: BrowserPage): Promise<string[]> {
  const count = (await page.page.evaluate(MARK_TAB_TARGETS)) as number;
  const reached = new Set<string>();
  let first: string | undefined;
  for (let presses = 0; presses < count * 2 + 10; presses++) {
    await page.page.keyboard.press('Tab');
    const at = (await page.page.evaluate(
      `document.activeElement?.dataset?.tabTarget ?? ''`,
    )) as string;
    if (at !== '' && at === first) break;
    if (at !== '') first ??= at;
    reached.add(at);
  }
  // Focus back where it was (nowhere), so a screenshot after this shows no focus ring.
  await page.page.evaluate(`document.activeElement?.blur()`);
  return page.page.evaluate(
    `[...document.querySelectorAll('[data-tab-target]')]
      .filter((el) => !${JSON.stringify([...reached])}.includes(el.dataset.tabTarget))
      .map((el) => '<' + el.tagName.toLowerCase() + '> “' + (el.textContent ?? '').trim().slice(0, 40) + '”')`,
  );
}

/**
 * Whether the page scrolls sideways at its viewport's width: the document's scroll width
 * against the window's, and (to say why) the elements that stick out past the right edge,
 * not counting those a scrolling table wrapper holds.
 */
export function horizontalOverflow(
  page: BrowserPage,
): Promise<{ scrollWidth: number; innerWidth: number; outside: string[] }> {
  return page.page.evaluate(`({
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth,
    outside: [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5 && el.closest('.table-wrap') === null)
      .slice(0, 10)
      .map((el) => '<' + el.tagName.toLowerCase() + ' class="' + (el.getAttribute('class') ?? '') + '">'),
  })`);
}
