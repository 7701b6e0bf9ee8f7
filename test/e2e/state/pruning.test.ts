/**
 * Pruning end to end: a one-validator node configured to keep 4 state versions and 64 blocks
 * (state.keepVersions, state.retainBlocks) makes some 80 blocks (a transfer, then empty
 * blocks every 20 ms), is restarted still (no empty blocks) and sends one more transfer. Then,
 * through the API and the CLI: proofs at the tip and at the lowest kept height verify; a
 * proof below the window answers 410 STATE_VERSION_PRUNED naming the kept heights, and the
 * CLI prints that code; the first block and the first transfer's tx answer 410
 * LEDGER_BLOCK_PRUNED; the metrics report the kept window.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusResponse } from '../../../src/api/types.ts';
import { httpJson, waitUntil } from '../../helpers/http.ts';
import { runCli } from '../../helpers/process.ts';
import { editConfig, initNet, startNode, stopNode, transfer } from '../../helpers/single-node.ts';

const KEEP_VERSIONS = 4;
const RETAIN_BLOCKS = 64;

interface ErrorBody {
  error: { code: string; message: string };
}

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

test('a pruned node proves its kept heights and answers a clear code below them', {
  timeout: 180_000,
}, async (t) => {
  const { home, rpc: api, summary: network } = await initNet(t);
  const configure = (emptyBlockIntervalMs: number) =>
    editConfig(home, (config) => {
      config.consensus.emptyBlockIntervalMs = emptyBlockIntervalMs;
      config.state = { keepVersions: KEEP_VERSIONS, retainBlocks: RETAIN_BLOCKS };
    });
  const to = network.accounts[1]!.address;
  const start = () => startNode(t, home);
  const send = (amount: string) => transfer(api, network.accounts[0]!.file, to, amount);
  const height = async () => (await httpJson<StatusResponse>(`${api}/status`)).body.height;

  // Many blocks quickly: one transfer, then an empty block every 20 ms.
  await configure(20);
  let node = await start();
  const first = await send('500');
  await waitUntil(
    async () => (await height()) >= first.height + RETAIN_BLOCKS + 8,
    'blocks past the block window',
    60_000,
  );
  await stopNode(node);

  // Still from now on: the tip moves only with this test's transfer.
  await configure(0);
  node = await start();
  const last = await send('7');
  const tip = await height();
  assert.equal(tip, last.height);
  const stateFrom = tip - KEEP_VERSIONS + 1;
  const metrics = await waitUntil(async () => {
    const text = await (await fetch(`${api}/metrics`)).text();
    return metric(text, 'civitas_state_retained_from_height') === stateFrom ? text : undefined;
  }, 'the state window to reach the tip');
  assert.ok((metric(metrics, 'civitas_blocks_retained_from_height') ?? 0) >= first.height + 1);
  assert.ok((metric(metrics, 'civitas_state_pruned_nodes_total') ?? 0) > 0);

  // Proofs at the tip and at the lowest kept height verify.
  const account = await httpJson<{ proof?: unknown }>(`${api}/accounts/${to}?proof=true`);
  assert.equal(account.status, 200);
  assert.ok(account.body.proof);
  const atTip = await runCli(['verify', 'account', to, '--rpc', api]);
  assert.equal(atTip.code, 0, atTip.stderr);
  const atLowest = await runCli([
    'verify',
    'state',
    'bank',
    to,
    '--height',
    String(stateFrom),
    '--rpc',
    api,
  ]);
  assert.equal(atLowest.code, 0, atLowest.stderr);
  assert.match(atLowest.stdout, new RegExp(`verified: bank ${to} at height ${stateFrom}`));

  // Below the window: 410 with the code, naming what is kept.
  const below = await httpJson<ErrorBody>(
    `${api}/state/bank/${to}?height=${stateFrom - 1}&proof=true`,
  );
  assert.equal(below.status, 410);
  assert.equal(below.body.error.code, 'STATE_VERSION_PRUNED');
  assert.match(below.body.error.message, new RegExp(`keeps heights ${stateFrom} to ${tip}`));
  const cli = await runCli(['verify', 'state', 'bank', to, '--height', '1', '--rpc', api]);
  assert.notEqual(cli.code, 0);
  assert.match(cli.stderr, /STATE_VERSION_PRUNED/);
  assert.match(cli.stderr, new RegExp(`keeps heights ${stateFrom} to ${tip}`));

  // The first transfer's block is below the block window: its block and tx answer 410.
  const block = await httpJson<ErrorBody>(`${api}/blocks/${first.height}`);
  assert.equal(block.status, 410);
  assert.equal(block.body.error.code, 'LEDGER_BLOCK_PRUNED');
  const tx = await httpJson<ErrorBody>(`${api}/txs/${first.hash}`);
  assert.equal(tx.status, 410);
  assert.equal(tx.body.error.code, 'LEDGER_BLOCK_PRUNED');
  const queryTx = await runCli(['query', 'tx', first.hash, '--rpc', api]);
  assert.notEqual(queryTx.code, 0);
  assert.match(queryTx.stderr, /LEDGER_BLOCK_PRUNED/);
  // Kept blocks are served as ever.
  assert.equal((await httpJson(`${api}/blocks/${tip}`)).status, 200);
  assert.equal((await httpJson(`${api}/txs/${last.hash}`)).status, 200);

  await stopNode(node);
});
