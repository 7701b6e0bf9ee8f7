/**
 * The launcher's directory handling, with no node process started: a fresh network with the
 * manifest's settings in every config and genesis copy, reuse of a matching one, refusal of
 * a mismatched or occupied directory, reset. And the layering rule: src/node never imports
 * the launcher that sits above it.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { GenesisJson } from '../../../src/chain/genesis.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { LocalNetwork } from '../../../src/localnet/index.ts';
import type { NodeConfig } from '../../../src/node/config.ts';
import { tempDir } from '../../helpers/temp.ts';

const readJson = async <T>(path: string): Promise<T> =>
  JSON.parse(await readFile(path, 'utf8')) as T;
const readConfig = (home: string) => readJson<NodeConfig>(join(home, 'config.json'));
const readGenesis = (path: string) => readJson<GenesisJson>(path);

test('fresh: the manifest lands in every config and every genesis copy', async (t) => {
  const dir = join(await tempDir(t, 'civitas-localnet-'), 'net');
  const network = await LocalNetwork.create({
    dir,
    validators: 3,
    accounts: 2,
    chainId: 'civitas-bench',
    consensus: { timeoutMs: 1_234 },
    mempool: { maxTxs: 777 },
    genesis: { maxBlockTxs: 42 },
    logLevel: 'warn',
  });
  assert.equal(network.reused, false);
  assert.equal(network.size, 3);
  assert.equal(network.chainId, 'civitas-bench');
  assert.equal(network.summary.accounts.length, 2);
  const ports = network.urls.map((u) => Number(new URL(u).port));
  assert.ok(ports[0]! >= 20_000 && ports[0]! < 32_768 && ports[0]! % 2 === 1, String(ports));
  assert.deepEqual(ports, [ports[0]!, ports[0]! + 2, ports[0]! + 4]);
  for (let i = 0; i < 3; i++) {
    assert.equal(network.home(i), join(dir, `node${i}`));
    assert.equal(network.logPath(i), join(dir, `node${i}`, 'node.log'));
    assert.equal(network.rpc(i), network.urls[i]);
    const config = await readConfig(network.home(i));
    assert.equal(config.consensus.timeoutMs, 1_234);
    assert.equal(config.mempool.maxTxs, 777);
    assert.equal(config.log.level, 'warn');
    const genesis = await readGenesis(join(network.home(i), 'genesis.json'));
    assert.equal(genesis.params.maxBlockTxs, 42);
    // Nothing runs until asked.
    assert.equal(network.isUp(i), false);
    assert.equal(network.pid(i), undefined);
    assert.equal(network.lastExit(i), undefined);
    assert.equal(network.restartCount(i), 0);
  }
  assert.equal((await readGenesis(join(dir, 'genesis.json'))).params.maxBlockTxs, 42);
  assert.equal(await network.status(0, 1_000), undefined, 'no node answers');
  assert.equal(await network.logTail(0), '(no log)');
  await network.stop(); // nothing to stop
});

test('reuse finds a matching network, refuses another size; reset starts over', async (t) => {
  const dir = join(await tempDir(t, 'civitas-localnet-'), 'net');
  const manifest = { dir, validators: 2, basePort: 24_000, init: 'reuse' } as const;
  const first = await LocalNetwork.create(manifest);
  assert.equal(first.reused, false, 'nothing to reuse yet: initialised');
  assert.equal(first.rpc(1), 'http://127.0.0.1:24003');
  const again = await LocalNetwork.create({ ...manifest, consensus: { timeoutMs: 1 } });
  assert.equal(again.reused, true);
  assert.deepEqual(again.summary, first.summary);
  const config = await readConfig(again.home(0));
  assert.notEqual(config.consensus.timeoutMs, 1, 'a reused network keeps its configs');

  await assert.rejects(
    LocalNetwork.create({ ...manifest, validators: 3 }),
    (err) =>
      isCivitasError(err, 'LOCALNET_MISMATCH') && /2-validator network, not 3/.test(err.message),
  );
  await assert.rejects(LocalNetwork.create({ ...manifest, init: 'fresh' }), (err) =>
    isCivitasError(err, 'INIT_DIR_NOT_EMPTY'),
  );
  const reset = await LocalNetwork.create({ ...manifest, validators: 3, init: 'reset' });
  assert.equal(reset.reused, false);
  assert.equal(reset.size, 3);
  assert.notEqual(reset.summary.nodes[0]!.publicKey, first.summary.nodes[0]!.publicKey);
});

test('reuse of a directory that holds something else is refused, not overwritten', async (t) => {
  const dir = await tempDir(t, 'civitas-localnet-');
  await writeFile(join(dir, 'notes.txt'), 'mine\n');
  await assert.rejects(LocalNetwork.create({ dir, validators: 1, init: 'reuse' }), (err) =>
    isCivitasError(err, 'INIT_DIR_NOT_EMPTY'),
  );
  assert.deepEqual(await readdir(dir), ['notes.txt']);
});

test('layering: nothing in src/node imports src/localnet', async () => {
  const nodeDir = fileURLToPath(new URL('../../../src/node/', import.meta.url));
  for (const name of await readdir(nodeDir, { recursive: true })) {
    if (!name.endsWith('.ts')) continue;
    const text = await readFile(join(nodeDir, name), 'utf8');
    assert.ok(!/from '[./]*\/localnet\//.test(text), `src/node/${name} imports src/localnet`);
  }
});
