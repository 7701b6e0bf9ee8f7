/**
 * `civitas init --observer`: the home of a node that is not a validator. The home is checked
 * as the node will read it (config loader, genesis loader, key loader); the node is not
 * started here.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { addressOf } from '../../../src/chain/address.ts';
import { equalBytes, toHex } from '../../../src/crypto/bytes.ts';
import { generateKeyPair } from '../../../src/crypto/ed25519.ts';
import { loadKeyFile, saveKeyFile } from '../../../src/crypto/keyfile.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { loadConfig, resolveHomePath } from '../../../src/node/config.ts';
import { loadGenesisFile } from '../../../src/node/genesis-file.ts';
import { initNetwork, initObserver, type ObserverInitOptions } from '../../../src/node/home.ts';
import { peerIdFromValidatorKey } from '../../../src/p2p/identity.ts';
import { type CleanupScope, tempDir } from '../../helpers/temp.ts';

interface Fixture {
  dir: string;
  genesis: string;
  key: string;
  bootstrap: string[];
}

async function fixture(t: CleanupScope): Promise<Fixture> {
  const dir = await tempDir(t, 'civitas-observer-');
  const net = await initNetwork({ dir: join(dir, 'net'), validators: 2, accounts: 0 });
  const key = join(dir, 'node-key.json');
  await saveKeyFile(key, generateKeyPair());
  await chmod(key, 0o644); // the copy is 0600 whatever the source's mode
  return { dir, genesis: net.genesis, key, bootstrap: net.nodes.map((n) => n.p2p) };
}

function opts(f: Fixture, extra: Partial<ObserverInitOptions> = {}): ObserverInitOptions {
  return {
    dir: join(f.dir, 'observer'),
    genesis: f.genesis,
    key: f.key,
    bootstrap: f.bootstrap,
    ...extra,
  };
}

async function refused(
  f: Fixture,
  extra: Partial<ObserverInitOptions>,
  code: string,
  message: RegExp,
): Promise<void> {
  await assert.rejects(initObserver(opts(f, extra)), (err: unknown) => {
    assert.ok(isCivitasError(err), String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
  const left = await readdir(f.dir);
  assert.equal(
    left.some((n) => n.startsWith('observer')),
    false,
    'nothing written',
  );
}

describe('init --observer', () => {
  test('writes a home the node can read: config, genesis copy, key with mode 0600', async (t) => {
    const f = await fixture(t);
    const summary = await initObserver(
      opts(f, { rpcPort: 41_001, p2pPort: 41_000, p2pHost: '127.0.0.1' }),
    );
    const home = join(f.dir, 'observer');
    assert.equal(summary.dir, home);
    assert.deepEqual((await readdir(home)).sort(), [
      'config.json',
      'genesis.json',
      'validator-key.json',
    ]);

    const config = await loadConfig(home);
    assert.equal(config.rpc.listen, '127.0.0.1:41001');
    assert.deepEqual(config.p2p.listen, ['/ip4/127.0.0.1/tcp/41000']);
    assert.deepEqual(config.p2p.bootstrap, f.bootstrap);
    const genesisPath = resolveHomePath(home, config.genesisFile);
    assert.equal(
      await readFile(genesisPath, 'utf8'),
      await readFile(f.genesis, 'utf8'),
      'the genesis is copied byte for byte',
    );
    const genesis = await loadGenesisFile(genesisPath);
    assert.equal(summary.chainId, genesis.chainId);

    const keyPath = resolveHomePath(home, config.keyFile);
    assert.equal((await stat(keyPath)).mode & 0o777, 0o600);
    const key = await loadKeyFile(keyPath);
    assert.ok(equalBytes(key.publicKey, (await loadKeyFile(f.key)).publicKey));
    assert.equal(summary.peerId, peerIdFromValidatorKey(key.publicKey));
    assert.equal(summary.address, toHex(addressOf(key.publicKey)));
    assert.equal(summary.genesisValidator, false);
    assert.equal(summary.rpc, 'http://127.0.0.1:41001');
  });

  test('defaults: p2p on every interface at 26600, the API on loopback at 26601', async (t) => {
    const f = await fixture(t);
    await initObserver(opts(f));
    const config = await loadConfig(join(f.dir, 'observer'));
    assert.deepEqual(config.p2p.listen, ['/ip4/0.0.0.0/tcp/26600']);
    assert.equal(config.rpc.listen, '127.0.0.1:26601');
  });

  test("a validator's key is said to be one", async (t) => {
    const f = await fixture(t);
    const summary = await initObserver(
      opts(f, {
        key: join(f.dir, 'net', 'node1', 'validator-key.json'),
        bootstrap: f.bootstrap.slice(0, 1),
      }),
    );
    assert.equal(summary.genesisValidator, true);
  });

  test('bootstrap addresses: a TCP multiaddr ending in /p2p/<ed25519 peer id>', async (t) => {
    const f = await fixture(t);
    const peer = f.bootstrap[0]!.split('/p2p/')[1]!;
    const bad = (bootstrap: string[], message: RegExp) =>
      refused(f, { bootstrap }, 'INIT_BAD_MULTIADDR', message);
    await bad([], /--bootstrap needs at least one multiaddr/);
    await bad(
      [f.bootstrap[0]!, 'not a multiaddr'],
      /--bootstrap 2 "not a multiaddr" is not a multiaddr/,
    );
    await bad(['/ip4/127.0.0.1/tcp/26600'], /must end in \/p2p\/<peer id>/);
    await bad([`/ip4/127.0.0.1/tcp/26600/p2p/${peer}/ws`], /must end in \/p2p\/<peer id>/);
    // A valid peer id of an RSA-style hash id, not an ed25519 identity.
    await bad(
      ['/ip4/127.0.0.1/tcp/26600/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'],
      /must name an ed25519 peer id/,
    );
    await bad([`/ip4/127.0.0.1/udp/26600/p2p/${peer}`], /must have a \/tcp\/<port>/);
    const own = peerIdFromValidatorKey((await loadKeyFile(f.key)).publicKey);
    await bad([`/ip4/127.0.0.1/tcp/26600/p2p/${own}`], /names this node's own peer id/);
  });

  test('ports and the p2p host', async (t) => {
    const f = await fixture(t);
    await refused(
      f,
      { rpcPort: 0 },
      'INIT_BAD_ARGS',
      /--rpc-port must be an integer from 1 to 65535/,
    );
    await refused(f, { p2pPort: 65_536 }, 'INIT_BAD_ARGS', /--p2p-port must be an integer/);
    await refused(f, { rpcPort: 40_000, p2pPort: 40_000 }, 'INIT_BAD_ARGS', /must differ/);
    await refused(f, { p2pHost: 'example.org' }, 'INIT_BAD_ARGS', /--p2p-host must be an IP/);
  });

  test('the genesis must parse and the key must load', async (t) => {
    const f = await fixture(t);
    await refused(f, { genesis: join(f.dir, 'absent.json') }, 'GENESIS_NOT_FOUND', /absent\.json/);
    const broken = join(f.dir, 'broken-genesis.json');
    await writeFile(broken, JSON.stringify({ chainId: 'x', genesisTime: -1 }));
    await refused(
      f,
      { genesis: broken },
      'GENESIS_INVALID',
      /broken-genesis\.json: genesis: genesisTime/,
    );
    await refused(f, { key: join(f.dir, 'absent-key.json') }, 'KEYS_NOT_FOUND', /absent-key\.json/);
    await writeFile(join(f.dir, 'bad-key.json'), '{"type": "rsa"}');
    await refused(f, { key: join(f.dir, 'bad-key.json') }, 'KEYS_BAD_FILE', /bad-key\.json/);
  });

  test('refuses a non-empty --dir', async (t) => {
    const f = await fixture(t);
    const dir = join(f.dir, 'taken');
    await mkdir(dir);
    await writeFile(join(dir, 'config.json'), '{}');
    await assert.rejects(initObserver(opts(f, { dir })), (err: unknown) =>
      isCivitasError(err, 'INIT_DIR_NOT_EMPTY'),
    );
    assert.equal(await readFile(join(dir, 'config.json'), 'utf8'), '{}');
  });
});
