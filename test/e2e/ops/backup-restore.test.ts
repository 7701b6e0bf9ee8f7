/**
 * Backup and restore as docs/OPERATIONS.md tells it: stop the node (SIGTERM), tar its home,
 * unpack the archive in another place, start the node from there. The restored node reports
 * the same height, block hash and state root, and serves the same account state, as the node
 * that was backed up; then it goes on committing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { StatusResponse } from '../../../src/api/types.ts';
import { httpJson, waitUntil } from '../../helpers/http.ts';
import { CLI_MAIN, randomBasePort, runCli, startChild } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';

const run = promisify(execFile);

async function startNode(t: Parameters<typeof startChild>[0], home: string, api: string) {
  const child = startChild(t, CLI_MAIN, ['node', 'start', '--home', home]);
  await waitUntil(
    async () => (await fetch(`${api}/health`).catch(() => undefined))?.status === 200,
    `node at ${home} to answer`,
    20_000,
  );
  return child;
}

async function stopNode(child: Awaited<ReturnType<typeof startNode>>): Promise<void> {
  child.process.kill('SIGTERM');
  const end = await child.exited;
  assert.deepEqual(end, { code: 0, signal: null }, `clean stop; stderr:\n${child.stderr()}`);
}

test('a stopped node home, tarred and restored elsewhere, starts at the same height and state', async (t) => {
  const dir = await tempDir(t);
  const base = randomBasePort();
  const api = `http://127.0.0.1:${base + 1}`;
  const init = await runCli([
    'init',
    '--validators',
    '1',
    '--accounts',
    '2',
    '--dir',
    dir,
    '--base-port',
    String(base),
  ]);
  assert.equal(init.code, 0, init.stderr);
  const home = join(dir, 'node0');
  // No empty blocks while idle: the height moves only with the txs this test sends.
  const configFile = join(home, 'config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8')) as {
    consensus: Record<string, number>;
  };
  config.consensus.emptyBlockIntervalMs = 0;
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const network = JSON.parse(await readFile(join(dir, 'network.json'), 'utf8')) as {
    accounts: Array<{ address: string; file: string }>;
  };
  const to = network.accounts[1]!.address;

  const node = await startNode(t, home, api);
  for (const amount of ['500', '7']) {
    const tx = await runCli([
      'tx',
      'transfer',
      '--to',
      to,
      '--amount',
      amount,
      '--key',
      network.accounts[0]!.file,
      '--wait',
      '--rpc',
      api,
    ]);
    assert.equal(tx.code, 0, tx.stderr);
  }
  const before = (await httpJson<StatusResponse>(`${api}/status`)).body;
  const account = (await httpJson(`${api}/accounts/${to}`)).body;
  assert.ok(before.height >= 2, 'two transfers committed');
  await stopNode(node);

  // Backup: the whole home, taken while the node is stopped.
  const archive = join(dir, 'node0-backup.tar.gz');
  await run('tar', ['-C', dir, '-czf', archive, 'node0']);
  // Restore on "another machine": a fresh directory; the original is gone.
  await run('rm', ['-rf', home]);
  const elsewhere = await tempDir(t, 'civitas-restore-');
  await run('tar', ['-C', elsewhere, '-xzf', archive]);
  const restored = join(elsewhere, 'node0');

  const again = await startNode(t, restored, api);
  const after = (await httpJson<StatusResponse>(`${api}/status`)).body;
  assert.equal(after.chainId, before.chainId);
  assert.equal(after.height, before.height, 'same height');
  assert.equal(after.latestBlockHash, before.latestBlockHash, 'same tip block');
  assert.equal(after.stateRoot, before.stateRoot, 'same state root');
  assert.deepEqual((await httpJson(`${api}/accounts/${to}`)).body, account, 'same account state');

  // And it is a working validator: the next transfer commits on top.
  const tx = await runCli([
    'tx',
    'transfer',
    '--to',
    to,
    '--amount',
    '1',
    '--key',
    network.accounts[0]!.file,
    '--wait',
    '--rpc',
    api,
  ]);
  assert.equal(tx.code, 0, tx.stderr);
  const next = (await httpJson<StatusResponse>(`${api}/status`)).body;
  assert.equal(next.height, before.height + 1);
  await stopNode(again);
});
