/**
 * Local networks are consortiums: the manifest may ask for an open chain, a reused network
 * must be the kind asked for, and a network.json written before organisations is not reused.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isCivitasError } from '../../../src/errors/index.ts';
import { LocalNetwork } from '../../../src/localnet/index.ts';
import { initOptionsFor, resolveManifest, reuseMismatch } from '../../../src/localnet/manifest.ts';
import { tempDir } from '../../helpers/temp.ts';

const base = { dir: '/tmp/net', validators: 4 };

test('permissioned: initNetwork decides unless the manifest asks for an open chain', () => {
  assert.equal('permissioned' in initOptionsFor(resolveManifest(base), 30_000), false);
  assert.equal(
    initOptionsFor(resolveManifest({ ...base, permissioned: false }), 30_000).permissioned,
    false,
  );
});

test('reuse: a chain of the other kind does not serve a manifest that names its kind', () => {
  const nodes = Array.from({ length: 4 }, () => ({}) as never);
  const permissioned = { chainId: 'civitas-devnet', nodes, permissioned: true };
  assert.equal(reuseMismatch(resolveManifest(base), permissioned), undefined);
  assert.equal(
    reuseMismatch(resolveManifest({ ...base, permissioned: true }), permissioned),
    undefined,
  );
  assert.match(
    reuseMismatch(resolveManifest({ ...base, permissioned: false }), permissioned) ?? '',
    /holds a permissioned chain/,
  );
});

test('a network made before organisations is not reused; a new one is, and is permissioned', async (t) => {
  const parent = await tempDir(t, 'civitas-localnet-');
  const dir = join(parent, 'net');
  const created = await LocalNetwork.create({ dir, validators: 1, accounts: 1, init: 'reuse' });
  assert.equal(created.reused, false);
  assert.equal(created.summary.permissioned, true);
  assert.equal(created.summary.accounts[0]!.org, 'org0');
  const again = await LocalNetwork.create({ dir, validators: 1, init: 'reuse' });
  assert.equal(again.reused, true);
  assert.deepEqual(again.summary, created.summary);

  const old = join(parent, 'old');
  await mkdir(old);
  const { chainId, dir: _dir, genesis, nodes, accounts } = created.summary;
  const summary = { chainId, dir: old, genesis, nodes, accounts };
  await writeFile(join(old, 'network.json'), JSON.stringify(summary));
  await assert.rejects(
    LocalNetwork.create({ dir: old, validators: 1, init: 'reuse' }),
    (err) => isCivitasError(err, 'LOCALNET_MISMATCH') && /before organisations/.test(err.message),
  );
  assert.deepEqual(JSON.parse(await readFile(join(old, 'network.json'), 'utf8')), summary);
});
