/**
 * Backup and restore as docs/OPERATIONS.md tells it: stop the node (SIGTERM), tar its home,
 * unpack the archive in another place, start the node from there. The restored node reports
 * the same height, block hash and state root, and serves the same account state, as the node
 * that was backed up; then it goes on committing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { StatusResponse } from '../../../src/api/types.ts';
import { httpJson } from '../../helpers/http.ts';
import { editConfig, initNet, startNode, stopNode, transfer } from '../../helpers/single-node.ts';
import { tempDir } from '../../helpers/temp.ts';

const run = promisify(execFile);

test('a stopped node home, tarred and restored elsewhere, starts at the same height and state', async (t) => {
  const { dir, home, rpc: api, summary: network } = await initNet(t);
  // No empty blocks while idle: the height moves only with the txs this test sends.
  await editConfig(home, (config) => {
    config.consensus.emptyBlockIntervalMs = 0;
  });
  const to = network.accounts[1]!.address;

  const node = await startNode(t, home);
  for (const amount of ['500', '7']) await transfer(api, network.accounts[0]!.file, to, amount);
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

  const again = await startNode(t, restored);
  const after = (await httpJson<StatusResponse>(`${api}/status`)).body;
  assert.equal(after.chainId, before.chainId);
  assert.equal(after.height, before.height, 'same height');
  assert.equal(after.latestBlockHash, before.latestBlockHash, 'same tip block');
  assert.equal(after.stateRoot, before.stateRoot, 'same state root');
  assert.deepEqual((await httpJson(`${api}/accounts/${to}`)).body, account, 'same account state');

  // And it is a working validator: the next transfer commits on top.
  await transfer(api, network.accounts[0]!.file, to, '1');
  const next = (await httpJson<StatusResponse>(`${api}/status`)).body;
  assert.equal(next.height, before.height + 1);
  await stopNode(again);
});
