/**
 * `civitas demo` with no devnet running: it starts a fresh 4-validator devnet in a temporary
 * directory, runs the battery-lease use case step by step, verifies the asset's state and
 * history against the genesis file, and stops every node it started.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';

test('civitas demo runs the battery lease on a devnet of its own', {
  timeout: 120_000,
}, async (t) => {
  const dir = join(await tempDir(t), 'no-devnet-here');
  const r = await runCli(['demo', '--dir', dir], { timeoutMs: 110_000 });
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /starting 4 validators/);
  for (const step of [
    /asset\.leaseStart signed by maker A \(org0 admin\): refused ASSET_CONSENT_REQUIRED/,
    /asset\.transfer signed by maker A \(org0 admin\): refused FREEZE_ACTIVE/,
    /Monitoring goes on.*\n.*asset\.record .*: ok/,
    /refused ASSET_LEASE_NOT_ENDED/,
    /refused ASSET_NOT_AUTHORIZED/,
  ]) {
    assert.match(r.stdout, step);
  }
  assert.match(r.stdout, /history of battery\/BAT-\S+: 7 changes, .* complete and unaltered/);
  // Every node it started is gone: nothing listens on the devnet's API any more.
  const api = /API (http:\/\/[0-9.:]+)/.exec(r.stdout)?.[1];
  assert.ok(api, r.stdout);
  await assert.rejects(fetch(`${api}/status`, { signal: AbortSignal.timeout(2_000) }));
});
