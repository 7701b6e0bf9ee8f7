/**
 * The explorer in a real headless Chromium against a real 4-validator devnet, served by node 0
 * at /explorer/ (built first, as `npm install` does). The battery-lease use case (`civitas
 * demo`) runs on the chain first. Then: the chain page shows blocks arriving live, with who
 * proposed and who signed each; a committed tx of the battery and its block are "Verified" by
 * the page itself; the battery's state, full history (every change replayed from proven txs)
 * and freeze status are verified. Through a proxy that flips one byte of one answer, the tx
 * page and the battery's state page refuse with the VERIFY_* code of the lie. Each page is
 * saved as a screenshot (test-results/screenshots/explorer-*.png).
 */
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import {
  CivitasClient,
  formatAddress,
  loadKeyFile,
  parseAddress,
  senderAddress,
  transfer,
} from '../../../src/client/index.ts';
import type { InitSummary } from '../../../src/node/home.ts';
import { assertChromium, type BrowserPage, launchBrowser } from '../../helpers/browser.ts';
import { REPO_ROOT, runCli, runScript } from '../../helpers/process.ts';
import { TestNetwork } from '../network/helpers/test-network.ts';

const PAGE_TIMEOUT_MS = 60_000;

/** Which answer the proxy falsifies (every time, until told otherwise), and how. */
type Tamper = 'tx-certificate' | 'state-value' | undefined;

function flipLastByte(hex: string): string {
  const last = Number.parseInt(hex.slice(-2), 16) ^ 1;
  return `${hex.slice(0, -2)}${last.toString(16).padStart(2, '0')}`;
}

/** A proxy in front of node 0's API (explorer included) that can lie about one kind of answer. */
async function lyingProxy(
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
async function explorerStale(): Promise<boolean> {
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
async function keepCommitting(
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
async function badges(
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

test('the explorer, served by a node, verifies what it shows in headless Chromium', async (t) => {
  assertChromium();
  if (await explorerStale()) {
    const build = await runScript(join(REPO_ROOT, 'scripts/build-explorer.ts'), []);
    assert.equal(build.code, 0, build.stderr);
    t.diagnostic(build.stderr.trim().split('\n').at(-1)!);
  }

  const network = await TestNetwork.start(t, { validators: 4, accounts: 4 });
  const rpc = network.local.rpc(0);
  const demo = await runCli(['demo', '--dir', network.summary.dir], { timeoutMs: 180_000 });
  assert.equal(demo.code, 0, `${demo.stdout}\n${demo.stderr}`);
  const asset = /mints battery (battery\/BAT-[0-9A-Z]+)/.exec(demo.stdout)?.[1];
  assert.ok(asset, demo.stdout);
  const history = (await (await fetch(`${rpc}/history/asset/${asset}`)).json()) as {
    entries: Array<{ rev: number; txHash: string; height: number }>;
  };
  assert.ok(history.entries.length >= 7, JSON.stringify(history));
  const mint = history.entries[0]!;

  const browser = await launchBrowser(t);
  const explorer = `${rpc}/explorer/`;

  await t.test(
    'chain page: blocks arrive live, with proposer and signers; validators',
    async () => {
      const page = await browser.open(explorer);
      const rows = '#latest-blocks tr';
      // An idle chain makes no blocks: txs keep it going while the page watches.
      const stop = new AbortController();
      const load = keepCommitting(rpc, network.summary, stop.signal);
      try {
        await page.page.waitForSelector(`${rows} td:nth-child(5):not(:empty)`, {
          timeout: PAGE_TIMEOUT_MS,
        });
        const first = Number(await page.page.getAttribute(rows, 'data-height'));
        // A block committed after the page loaded shows up on top, over the stream.
        await page.page.waitForFunction(
          `Number(document.querySelector('${rows}').dataset.height) > ${first + 2}`,
          undefined,
          { timeout: PAGE_TIMEOUT_MS },
        );
        const set = (await (await fetch(`${rpc}/validators`)).json()) as {
          validators: Array<{ name: string }>;
        };
        const names = set.validators.map((v) => v.name);
        await page.page.waitForFunction(
          `[...document.querySelectorAll('${rows} td:nth-child(5)')].slice(0, 3).every((td) => td.textContent !== '…')`,
          undefined,
          { timeout: PAGE_TIMEOUT_MS },
        );
        const top: string[][] = await page.page.$$eval(`${rows}`, (trs) =>
          trs
            .slice(0, 3)
            .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
        );
        for (const [height, , , proposer, signers] of top) {
          assert.match(height!, /^[0-9]+$/);
          assert.ok(names.includes(proposer!), `block ${height} names its proposer: ${proposer}`);
          // A quorum of 4 is 3: at least three of the validators' names.
          const signed = signers!.split(', ');
          assert.ok(
            signed.length >= 3 && signed.every((n) => names.includes(n)),
            `block ${height}: ${signers}`,
          );
        }
        assert.equal(await page.page.getAttribute('.live', 'data-live'), 'open');
        const validators = await page.page.$$eval(
          'section[aria-labelledby="set-title"] tbody tr',
          (trs) => trs.length,
        );
        assert.equal(validators, 4);
        await page.page.waitForFunction(
          `/blocks/.test(document.querySelector('.chart-summary').textContent)`,
          undefined,
          {
            timeout: PAGE_TIMEOUT_MS,
          },
        );
        assert.match((await page.page.textContent('#trust-note'))!, /trusted on first use/);
        await page.screenshot('explorer-chain');
        page.assertNoErrors();
        stop.abort();
        assert.ok((await load) > 0);
      } finally {
        // However the test ends: the load stops, and the page closes before the nodes stop
        // (an event stream cut under an open page is a console error).
        stop.abort();
        await load.catch(() => 0);
        await page.page.close();
      }
    },
  );

  await t.test(
    'a committed tx of the battery and its block are Verified in the browser',
    async () => {
      const tx = await browser.open(`${explorer}#/tx/${mint.txHash}`);
      const [txBadge] = await badges(tx);
      assert.equal(txBadge!.verify, 'ok', txBadge!.text);
      assert.match(txBadge!.text, /Verified/);
      assert.match((await tx.page.textContent('main'))!, /asset\.mint/);
      await tx.screenshot('explorer-tx');
      tx.assertNoErrors();

      const block = await browser.open(`${explorer}#/block/${mint.height}`);
      const [blockBadge] = await badges(block);
      assert.equal(blockBadge!.verify, 'ok', blockBadge!.text);
      assert.ok(await block.page.$(`a[href="#/tx/${mint.txHash}"]`), 'the block lists the tx');
      await block.screenshot('explorer-block');
      block.assertNoErrors();

      // An empty block: its header proven through the state proof at its height.
      let empty = mint.height + 1;
      for (; ; empty++) {
        const b = (await (await fetch(`${rpc}/blocks/${empty}`)).json()) as {
          txHashes: string[];
        };
        if (b.txHashes.length === 0) break;
      }
      const emptyBlock = await browser.open(`${explorer}#/block/${empty}`);
      const [emptyBadge] = await badges(emptyBlock);
      assert.equal(emptyBadge!.verify, 'ok', emptyBadge!.text);
      assert.match(emptyBadge!.text, /the 0 txs match/);
      emptyBlock.assertNoErrors();
    },
  );

  await t.test('the battery: state, full history and freeze status verified', async () => {
    const page = await browser.open(`${explorer}#/object/asset/${asset}`);
    const results = await badges(page);
    assert.deepEqual(
      results.map((b) => b.verify),
      ['ok', 'ok', 'ok'],
      results.map((b) => b.text).join('\n'),
    );
    const revs = await page.page.$$eval('table[data-history] tbody tr td:first-child', (tds) =>
      tds.map((td) => Number(td.textContent)),
    );
    assert.deepEqual(
      revs,
      history.entries.map((e) => e.rev),
      'every change, in order',
    );
    const calls = (await page.page.textContent('table[data-history]'))!;
    for (const method of [
      'asset.mint',
      'asset.leaseStart',
      'asset.grant',
      'asset.record',
      'asset.leaseEnd',
    ]) {
      assert.ok(calls.includes(method), `${method} in the history`);
    }
    // The freeze order the regulator imposed and lifted, with its legal basis.
    assert.match((await page.page.textContent('main'))!, /legalBasis/);
    await page.screenshot('explorer-battery');
    page.assertNoErrors();

    // An account: its balance proven, no history kept (proven: the value carries none), not frozen.
    const maker = network.summary.organisations[0]!.admin.address;
    const account = await browser.open(`${explorer}#/object/bank/${maker}`);
    const accountBadges = await badges(account);
    assert.deepEqual(
      accountBadges.map((b) => b.verify),
      ['ok', 'ok', 'ok'],
      accountBadges.map((b) => b.text).join('\n'),
    );
    assert.match((await account.page.textContent('main'))!, /"balance"/);
    account.assertNoErrors();
  });

  await t.test('search finds the battery; the governance page lists proposals', async () => {
    const page = await browser.open(explorer);
    await page.page.fill('#search-input', `asset/${asset}`);
    await page.page.press('#search-input', 'Enter');
    await page.page.waitForFunction(`location.hash === '#/object/asset/${asset}'`, undefined, {
      timeout: PAGE_TIMEOUT_MS,
    });
    assert.deepEqual(
      (await badges(page)).map((b) => b.verify),
      ['ok', 'ok', 'ok'],
    );
    await page.page.fill('#search-input', mint.txHash);
    await page.page.press('#search-input', 'Enter');
    await page.page.waitForFunction(`location.hash === '#/tx/${mint.txHash}'`, undefined, {
      timeout: PAGE_TIMEOUT_MS,
    });
    const { total } = (await (await fetch(`${rpc}/gov/proposals`)).json()) as { total: number };
    await page.page.click('nav a[href="#/gov"]');
    await page.page.waitForFunction(
      `document.querySelector('main h1')?.textContent === 'Governance'`,
      undefined,
      { timeout: PAGE_TIMEOUT_MS },
    );
    assert.match((await page.page.textContent('main'))!, new RegExp(`${total} proposals made`));
    await page.screenshot('explorer-governance');
    page.assertNoErrors();
  });

  await t.test('a node that lies (one byte) is refused in red with the code', async () => {
    const proxy = await lyingProxy(t, rpc);
    proxy.tamper = 'tx-certificate';
    const tx = await browser.open(`${proxy.origin}/explorer/#/tx/${mint.txHash}`);
    const [txBadge] = await badges(tx);
    assert.deepEqual(
      [txBadge!.verify, txBadge!.code],
      ['failed', 'VERIFY_CERTIFICATE'],
      txBadge!.text,
    );
    assert.match(txBadge!.text, /Not verified/);
    assert.ok(proxy.tampered.length > 0, 'the proxy lied');
    await tx.screenshot('explorer-tx-tampered');
    tx.assertNoErrors();

    proxy.tamper = 'state-value';
    const battery = await browser.open(`${proxy.origin}/explorer/#/object/asset/${asset}`);
    const [state] = await badges(battery);
    assert.deepEqual([state!.verify, state!.code], ['failed', 'VERIFY_STATE_PROOF'], state!.text);
    await battery.screenshot('explorer-battery-tampered');
    battery.assertNoErrors();
  });
});
