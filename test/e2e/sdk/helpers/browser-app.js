/**
 * The README's "Client SDK" example as a web page runs it, for test/e2e/sdk/browser.test.ts:
 * copied into the scratch project where the packed tarball is installed, bundled from there
 * with esbuild (`civitas/client` through the package's exports map) and loaded in Chromium.
 * A page has no file system: the genesis file and the key file's text come from the test's
 * server, which also proxies the node's API under /api (same origin, no CORS). Then as in the
 * README: status, account, transfer, submit and wait, tx, verifyTxProof against the genesis
 * validators; and the recipient's account proven with verifyStateProof.
 *
 * The outcome goes to document.body.dataset.result as JSON (and on the page, for the
 * screenshot): what was verified, or the step that failed with its error code.
 */
import {
  CivitasClient,
  formatAddress,
  fromHex,
  genesisFromJson,
  genesisValidatorSet,
  parseAddress,
  parseKeyFile,
  senderAddress,
  transfer,
  verifyStateProof,
  verifyTxProof,
} from 'civitas/client';

let step = 'load';

async function run(recipient) {
  step = 'genesis and key';
  const genesis = genesisFromJson(await (await fetch('/files/genesis.json')).json());
  const trusted = { chainId: genesis.chainId, validators: genesisValidatorSet(genesis) };
  const keys = parseKeyFile(await (await fetch('/files/account0.json')).text(), 'account0.json');
  const client = new CivitasClient(new URL('/api', location.href).href);

  step = 'transfer';
  const { height } = await client.status();
  const { nonce } = await client.account(formatAddress(senderAddress(keys)));
  const tx = transfer({
    chainId: genesis.chainId,
    keys,
    to: parseAddress(recipient),
    amount: 10n,
    nonce,
    expiryHeight: height + 1000,
  });
  const { hash } = await client.submit(tx, { wait: true });

  step = 'tx proof';
  const answer = await client.tx(hash);
  if (answer.status !== 'committed') throw new Error(`tx ${hash} is ${answer.status}`);
  const verified = verifyTxProof(fromHex(hash), answer, trusted);

  step = 'state proof';
  const state = await client.state('bank', recipient, { proof: true });
  const account = verifyStateProof('bank', recipient, state, trusted);
  return {
    hash,
    verified,
    account: { height: account.height, present: account.present, value: account.json },
  };
}

function report(result) {
  const text = JSON.stringify(result, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
  const shown = document.createElement('pre');
  shown.textContent = JSON.stringify(JSON.parse(text), null, 2);
  document.body.append(shown);
  document.body.dataset.result = text;
}

// Where this ran: a browser has neither Node's Buffer nor its process object.
const runtime = { buffer: typeof globalThis.Buffer, process: typeof globalThis.process };
const recipient = new URLSearchParams(location.search).get('to') ?? '';
run(recipient).then(
  (done) => report({ ok: true, ...done, runtime }),
  (err) =>
    report({ ok: false, step, code: err.code ?? null, message: String(err.message), runtime }),
);
