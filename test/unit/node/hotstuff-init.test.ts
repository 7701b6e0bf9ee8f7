/**
 * `civitas init --protocol` (docs/HOTSTUFF.md, "In the node"): HotStuff is written into a
 * genesis only with --experimental-protocol (otherwise one line naming the flag, and nothing
 * written); the default writes no `consensus` at all, so its genesis is the one init wrote
 * before the option; an unknown protocol is a usage error. Real CLI processes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';

const init = (dir: string, ...extra: string[]) =>
  runCli(['init', '--validators', '4', '--accounts', '0', '--dir', dir, '--plaintext', ...extra]);

async function genesisOf(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(dir, 'genesis.json'), 'utf8')) as Record<string, unknown>;
}

describe('civitas init --protocol', () => {
  test('hotstuff without --experimental-protocol is refused, naming the flag', async (t) => {
    const dir = join(await tempDir(t), 'net');
    const r = await init(dir, '--protocol', 'hotstuff');
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /--protocol hotstuff is experimental .*--experimental-protocol/);
    assert.match(lines[0]!, /\[INIT_EXPERIMENTAL_PROTOCOL\]/);
    assert.equal(existsSync(dir), false, 'nothing written');
  });

  test('with the flag the genesis names hotstuff in every copy', async (t) => {
    const dir = join(await tempDir(t), 'net');
    const r = await init(dir, '--protocol', 'hotstuff', '--experimental-protocol', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { protocol: string }).protocol, 'hotstuff');
    assert.deepEqual((await genesisOf(dir)).consensus, { protocol: 'hotstuff' });
    assert.deepEqual((await genesisOf(join(dir, 'node3'))).consensus, { protocol: 'hotstuff' });
  });

  test('the default (pbft) writes no consensus field; an unknown protocol is refused', async (t) => {
    const root = await tempDir(t);
    const r = await init(join(root, 'a'), '--protocol', 'pbft');
    assert.equal(r.code, 0, r.stderr);
    assert.equal('consensus' in (await genesisOf(join(root, 'a'))), false);
    const bad = await init(join(root, 'b'), '--protocol', 'tendermint', '--experimental-protocol');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /expected pbft or hotstuff/);
    assert.equal(existsSync(join(root, 'b')), false);
  });
});
