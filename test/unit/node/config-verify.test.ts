/** config.json: the `verify` section (signature worker threads) and consensus.compactProposals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/node/config.ts';

test('verify.workers: null (one per core) by default, 0..64 accepted, anything else refused', () => {
  assert.equal(parseConfig({}).verify.workers, null);
  assert.equal(parseConfig({ verify: { workers: 2 } }).verify.workers, 2);
  assert.equal(parseConfig({ verify: { workers: 0 } }).verify.workers, 0);
  for (const workers of [-1, 65, 1.5, '2']) {
    assert.throws(
      () => parseConfig({ verify: { workers } }),
      (err: Error & { code?: string }) =>
        err.code === 'CONFIG_INVALID' && /verify\.workers/.test(err.message),
      String(workers),
    );
  }
  assert.throws(
    () => parseConfig({ verify: { threads: 2 } }),
    (err: Error & { code?: string }) =>
      err.code === 'CONFIG_INVALID' && /verify\.threads/.test(err.message),
  );
});

test('consensus.compactProposals: true by default, a boolean or refused', () => {
  assert.equal(parseConfig({}).consensus.compactProposals, true);
  assert.equal(
    parseConfig({ consensus: { compactProposals: false } }).consensus.compactProposals,
    false,
  );
  assert.throws(
    () => parseConfig({ consensus: { compactProposals: 'no' } }),
    (err: Error & { code?: string }) =>
      err.code === 'CONFIG_INVALID' && /consensus\.compactProposals/.test(err.message),
  );
});
