/**
 * The explorer in a real headless Chromium against a real 4-validator devnet, served by node 0
 * at /explorer/ (built first, as `npm install` does). The battery-lease use case (`civitas
 * demo`) runs on the chain first. Then: the chain page shows blocks arriving live, with who
 * proposed and who signed each; a committed tx of the battery and its block are "Verified" by
 * the page itself; the battery's state, full history (every change replayed from proven txs)
 * and freeze order are verified; a battery leased with a grant, and a document with a grant
 * and a freeze order, show them spelt out under their proofs; the chain and object pages fit
 * a phone's width. Through a proxy that changes one answer, the tx page, the battery's state
 * and a block page refuse with the VERIFY_* code of the lie. The Trust page takes the chain's
 * genesis.json, and a foreign consortium's genesis turns every badge red. Every page is
 * checked for accessibility (helpers.ts: landmarks, names, text alternatives, the keyboard,
 * the badge's words) and saved as a screenshot (test-results/screenshots/explorer-*.png).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import {
  type BatchOp,
  batch,
  CivitasClient,
  formatAddress,
  type KeyPair,
  loadKeyFile,
  senderAddress,
  sign,
  toHex,
} from '../../../src/client/index.ts';
import { utf8 } from '../../../src/crypto/bytes.ts';
import { sha256 } from '../../../src/crypto/hash.ts';
import { assertChromium, type BrowserPage, launchBrowser } from '../../helpers/browser.ts';
import { REPO_ROOT, runCli, runScript } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';
import { TestNetwork } from '../network/helpers/test-network.ts';
import {
  accessibilityProblems,
  badges,
  explorerStale,
  horizontalOverflow,
  keepCommitting,
  lyingProxy,
  PAGE_TIMEOUT_MS,
  unreachedByTab,
} from './helpers.ts';

/**
 * The page against the accessibility rules (helpers.ts): its DOM, then the keyboard — every
 * link, button and field shown is reached by Tab.
 */
async function assertAccessible(page: BrowserPage, what: string): Promise<void> {
  assert.deepEqual(await accessibilityProblems(page), [], `${what}: accessibility`);
  assert.deepEqual(await unreachedByTab(page), [], `${what}: reached by Tab`);
}

/** Signs one tx of `ops` by `from` (and `cosigners`), submits it and waits: every op applied. */
async function commit(
  client: CivitasClient,
  chainId: string,
  from: KeyPair,
  ops: BatchOp[],
  cosigners: KeyPair[] = [],
): Promise<number> {
  const [status, account] = await Promise.all([
    client.status(),
    client.account(formatAddress(senderAddress(from))),
  ]);
  const unsigned = batch({
    chainId,
    keys: from,
    nonce: account.nonce,
    expiryHeight: status.height + 100,
    cosigners: cosigners.map((c) => c.publicKey),
    ops,
  });
  const res = await client.submit(sign(unsigned, from, cosigners), { wait: true });
  assert.ok(res.status === 'committed', JSON.stringify(res));
  assert.equal(res.receipt?.code, 'OK', JSON.stringify(res.receipt));
  return res.height;
}

const hashOf = (text: string): string => toHex(sha256(utf8.encode(text)));

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
        await assertAccessible(page, 'chain page');
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
      await assertAccessible(tx, 'tx page');
      await tx.screenshot('explorer-tx');
      tx.assertNoErrors();

      const block = await browser.open(`${explorer}#/block/${mint.height}`);
      const [blockBadge] = await badges(block);
      assert.equal(blockBadge!.verify, 'ok', blockBadge!.text);
      assert.ok(await block.page.$(`a[href="#/tx/${mint.txHash}"]`), 'the block lists the tx');
      await assertAccessible(block, 'block page');
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
    const order = (await page.page.textContent('[data-freeze="lifted"]'))!;
    assert.match(order, /Not frozen: the order was lifted at height \d+/);
    assert.match(order, /Legal basis.*hash of the order document [0-9a-f]{16}…/);
    assert.match(order, /illegal trade inquiry/);
    assert.doesNotMatch(order, /Imposed by/, 'a lift clears the regulators of the order');
    // The lease ended, and the grant its lessee gave with it.
    assert.match((await page.page.textContent('[data-lease]'))!, /Not leased/);
    assert.equal(await page.page.getAttribute('[data-grants]', 'data-grants'), 'none');
    await assertAccessible(page, 'object page');
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
    assert.match((await account.page.textContent('[data-object="bank"] dl'))!, /Balance\d+/);
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
    await assertAccessible(page, 'governance page');
    await page.screenshot('explorer-governance');
    page.assertNoErrors();
  });

  await t.test(
    "an asset's lease and grants, a document's grants and freeze order, proven",
    async () => {
      const { summary } = network;
      const [orgA, orgB] = summary.organisations;
      const gateway = summary.accounts.find((a) => a.org === orgB!.id)!;
      const keyOf = (file: string) => loadKeyFile(resolve(summary.dir, file));
      const [makerA, carmakerB, regulator] = await Promise.all([
        keyOf(orgA!.admin.file),
        keyOf(orgB!.admin.file),
        keyOf(summary.regulator.file),
      ]);
      const client = new CivitasClient(rpc);
      const { height } = await client.status();
      const endHeight = height + 500;
      const untilHeight = height + 400;
      const leased = { class: 'battery', id: 'BAT-LEASED' };
      const doc = 'police-report-17';
      // A mints a battery and leases it to B (both sign), and grants B's gateway two record
      // kinds; A's organisation anchors a document and grants B's two of its fields.
      await commit(
        client,
        summary.chainId,
        makerA,
        [
          { call: 'asset.mint', args: { ...leased, metaHash: hashOf('BAT-LEASED 75 kWh') } },
          {
            call: 'asset.leaseStart',
            args: { ...leased, lessee: orgB!.admin.address, endHeight, termsHash: hashOf('terms') },
          },
          {
            call: 'asset.grant',
            args: {
              ...leased,
              grantee: gateway.address,
              kinds: ['soc', 'inspection'],
              untilHeight,
            },
          },
          {
            call: 'doc.anchor',
            args: { id: doc, root: hashOf('report root'), schemaHash: hashOf('report schema') },
          },
          {
            call: 'doc.grant',
            args: {
              id: doc,
              org: orgB!.id,
              fields: ['name', 'plate'],
              purposeHash: hashOf('insurance claim'),
              untilHeight,
            },
          },
        ],
        [carmakerB],
      );
      const legalBasis = hashOf('court order 2026-18');
      await commit(client, summary.chainId, regulator, [
        {
          call: 'freeze.impose',
          args: { kind: 'doc', id: doc, legalBasis, reason: 'evidence in a trial' },
        },
      ]);

      const asset = await browser.open(`${explorer}#/object/asset/battery/BAT-LEASED`);
      assert.deepEqual(
        (await badges(asset)).map((b) => b.verify),
        ['ok', 'ok', 'ok'],
      );
      const lease = (await asset.page.textContent('[data-lease="leased"]'))!;
      assert.match(lease, new RegExp(`Lessee${orgB!.admin.address.slice(0, 12)}…`));
      assert.match(lease, new RegExp(`the owner alone from height ${endHeight} on`));
      assert.ok(
        await asset.page.$(`[data-lease] a[href="#/object/bank/${orgB!.admin.address}"]`),
        'the lessee links to its account',
      );
      const grants = await asset.page.$$eval('table[data-grants="asset"] tbody tr', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
      assert.deepEqual(grants, [
        [
          `${gateway.address.slice(0, 12)}…${gateway.address.slice(-4)}`,
          'soc, inspection',
          `${orgA!.admin.address.slice(0, 12)}…${orgA!.admin.address.slice(-4)}`,
          `valid to height ${untilHeight}`,
        ],
      ]);
      await assertAccessible(asset, 'leased asset page');
      await asset.screenshot('explorer-asset-leased');
      asset.assertNoErrors();

      const document = await browser.open(`${explorer}#/object/doc/${doc}`);
      assert.deepEqual(
        (await badges(document)).map((b) => b.verify),
        ['ok', 'ok', 'ok'],
      );
      const docGrants = await document.page.$$eval('table[data-grants="doc"] tbody tr', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
      assert.equal(docGrants.length, 1);
      assert.deepEqual(
        [docGrants[0]![0], docGrants[0]![1], docGrants[0]![4]],
        [orgB!.id, 'name, plate', `valid to height ${untilHeight}`],
      );
      const order = (await document.page.textContent('[data-freeze="active"]'))!;
      assert.match(order, /Frozen since height \d+: it cannot be disposed of/);
      assert.ok(order.includes(legalBasis.slice(0, 16)), order);
      assert.match(order, /evidence in a trial/);
      assert.ok(order.includes(`Imposed by${summary.regulator.address.slice(0, 12)}…`), order);
      await assertAccessible(document, 'document page');
      await document.screenshot('explorer-document');
      document.assertNoErrors();
    },
  );

  await t.test(
    'a narrow screen (390×844): chain and object pages without sideways scrolling',
    async () => {
      const viewport = { width: 390, height: 844 };
      for (const [path, name] of [
        ['', 'explorer-chain-narrow'],
        [`#/object/asset/${asset}`, 'explorer-battery-narrow'],
        ['#/object/asset/battery/BAT-LEASED', 'explorer-asset-leased-narrow'],
      ] as const) {
        const page = await browser.open(`${explorer}${path}`, { viewport });
        if (path === '') {
          await page.page.waitForSelector('#latest-blocks tr td:nth-child(5):not(:empty)', {
            timeout: PAGE_TIMEOUT_MS,
          });
          await page.page.waitForSelector('.chart-canvas canvas', { timeout: PAGE_TIMEOUT_MS });
        } else {
          await badges(page);
        }
        const overflow = await horizontalOverflow(page);
        assert.ok(
          overflow.scrollWidth <= overflow.innerWidth,
          `${name}: ${overflow.scrollWidth} px wide in ${overflow.innerWidth}: ${overflow.outside.join(' ')}`,
        );
        await page.screenshot(name);
        page.assertNoErrors();
        await page.page.close();
      }
    },
  );

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

    // The block's bytes as they are, the time shown beside them another.
    proxy.tamper = 'block-header';
    const block = await browser.open(`${proxy.origin}/explorer/#/block/${mint.height}`);
    const [blockBadge] = await badges(block);
    assert.deepEqual(
      [blockBadge!.verify, blockBadge!.code],
      ['failed', 'VERIFY_HEADER'],
      blockBadge!.text,
    );
    assert.match(blockBadge!.text, /the header shown is not the certified one \(timestamp\)/);
    assert.ok(proxy.tampered.includes(`/blocks/${mint.height}`), 'the proxy lied');
    await block.screenshot('explorer-block-tampered');
    block.assertNoErrors();
  });

  await t.test(
    'the Trust page: a pasted genesis is trusted; a foreign one turns pages red',
    async () => {
      const genesis = await readFile(resolve(network.summary.dir, network.summary.genesis), 'utf8');
      const trustWith = async (text: string): Promise<BrowserPage> => {
        const page = await browser.open(`${explorer}#/trust`);
        await page.page.waitForSelector('#genesis-input', { timeout: PAGE_TIMEOUT_MS });
        await page.page.fill('#genesis-input', text);
        await page.page.click('main form button[type="submit"]');
        await page.page.waitForFunction(
          `/^Trusted: chain /.test(document.querySelector('main form [role="status"]').textContent)`,
          undefined,
          { timeout: PAGE_TIMEOUT_MS },
        );
        return page;
      };

      const trust = await trustWith(genesis);
      assert.equal(await trust.page.getAttribute('#trust-note', 'data-source'), 'genesis');
      assert.match((await trust.page.textContent('#trust-note'))!, /the genesis file you gave/);
      await assertAccessible(trust, 'trust page');
      await trust.page.reload();
      await trust.page.waitForSelector('main h1', { timeout: PAGE_TIMEOUT_MS });
      assert.match((await trust.page.textContent('main dl'))!, /a genesis file pasted here/);
      await trust.screenshot('explorer-trust');
      trust.assertNoErrors();
      const tx = await browser.open(`${explorer}#/tx/${mint.txHash}`);
      const [txBadge] = await badges(tx);
      assert.equal(txBadge!.verify, 'ok', `verified against the pasted genesis: ${txBadge!.text}`);

      // Another consortium's genesis under the same chain id: its validators signed nothing here.
      const foreignDir = join(await tempDir(t), 'foreign');
      const init = await runCli([
        'init',
        '--validators',
        '4',
        '--accounts',
        '0',
        '--chain-id',
        network.summary.chainId,
        '--dir',
        foreignDir,
        '--plaintext',
        '--json',
      ]);
      assert.equal(init.code, 0, init.stderr);
      const foreign = await readFile(resolve(foreignDir, JSON.parse(init.stdout).genesis), 'utf8');
      try {
        (await trustWith(foreign)).assertNoErrors();
        for (const path of [
          `#/tx/${mint.txHash}`,
          `#/block/${mint.height}`,
          `#/object/asset/${asset}`,
        ]) {
          const page = await browser.open(`${explorer}${path}`);
          const results = await badges(page);
          assert.ok(results.length > 0);
          for (const b of results) {
            assert.equal(b.verify, 'failed', `${path}: ${b.text}`);
            assert.match(b.code!, /^VERIFY_/, `${path}: ${b.text}`);
          }
          if (path.startsWith('#/tx/')) await page.screenshot('explorer-tx-foreign-genesis');
          page.assertNoErrors();
        }
      } finally {
        // The rest of the run trusts the chain's own genesis again.
        (await trustWith(genesis)).assertNoErrors();
      }
    },
  );
});
