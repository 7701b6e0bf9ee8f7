/**
 * Founding a consortium across machines, through the CLI as real processes: four members
 * each make their keys in their own folder (`keys generate --out`), a manifest gathers only
 * their public keys, `civitas genesis` writes the genesis and the homes, each member copies
 * its own key into its home, and the four nodes started from those homes on 127.0.0.1
 * commit blocks and a transfer. Also: `init --observer` and `genesis` through the CLI.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadKeyFile, toHex } from '../../../src/client/index.ts';
import { loadConfig } from '../../../src/node/config.ts';
import { loadGenesisFile } from '../../../src/node/genesis-file.ts';
import type { ObserverInitSummary } from '../../../src/node/home.ts';
import type { GenesisSummary } from '../../../src/node/members.ts';
import { httpJson, waitUntil } from '../../helpers/http.ts';
import { type Child, CLI_MAIN, closedPort, runCli, startChild } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';

interface KeySummary {
  publicKey: string;
  address: string;
  peerId: string;
  file: string;
}

async function generate(file: string): Promise<KeySummary> {
  const r = await runCli(['keys', 'generate', '--out', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as KeySummary;
}

/** `n` distinct ports nothing listened on a moment ago. */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await closedPort());
  return [...ports];
}

const MEMBERS = ['city-water', 'city-tax', 'police', 'land-registry'];

describe('founding a consortium from members’ own keys', () => {
  test('keys generate in four folders, genesis from public keys, four nodes commit blocks and a transfer', {
    timeout: 60_000,
  }, async (t) => {
    const dir = await tempDir(t, 'civitas-onboarding-');
    // Each member, on its own machine (here: its own folder), makes its keys.
    const keys = await Promise.all(
      MEMBERS.map(async (name) => {
        const own = join(dir, 'machines', name);
        await mkdir(own, { recursive: true });
        const [validator, admin] = await Promise.all([
          generate(join(own, 'validator-key.json')),
          generate(join(own, 'admin-key.json')),
        ]);
        return { name, own, validator, admin };
      }),
    );
    for (const k of keys) {
      assert.match(k.validator.peerId, /^12D3KooW/);
      assert.equal('secretKey' in k.validator, false, 'only the public half is printed');
    }

    const ports = await freePorts(2 * MEMBERS.length);
    const manifest = {
      chainId: 'city-consortium',
      members: keys.map((k, i) => ({
        name: k.name,
        validatorKey: k.validator.publicKey,
        adminKey: k.admin.publicKey,
        host: '127.0.0.1',
        p2pPort: ports[2 * i]!,
        rpcPort: ports[2 * i + 1]!,
      })),
    };
    const manifestFile = join(dir, 'members.json');
    await writeFile(manifestFile, JSON.stringify(manifest, null, 2));
    const out = join(dir, 'net');
    const r = await runCli(['genesis', '--members', manifestFile, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as GenesisSummary;
    assert.deepEqual(
      summary.members.map((m) => [m.name, m.peerId]),
      keys.map((k) => [k.name, k.validator.peerId]),
      'the peer ids in the homes are the ones keys generate printed',
    );
    for (const m of summary.members) {
      assert.deepEqual((await readdir(m.home)).sort(), [
        'NEXT_STEPS.txt',
        'config.json',
        'genesis.json',
      ]);
    }

    // Each member copies its key into its home and starts its node.
    const nodes: Child[] = [];
    for (const [i, k] of keys.entries()) {
      const home = summary.members[i]!.home;
      await copyFile(join(k.own, 'validator-key.json'), join(home, 'validator-key.json'));
      assert.equal((await stat(join(home, 'validator-key.json'))).mode & 0o777, 0o600);
      nodes.push(startChild(t, CLI_MAIN, ['node', 'start', '--home', home]));
    }
    await Promise.all(
      nodes.map((n, i) => n.waitFor((_out, err) => err.includes('"node started"'), `node ${i}`)),
    );
    const rpc = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
    const height = async (i: number) =>
      (await httpJson<{ height: number }>(`${rpc(i)}/status`)).body.height;
    await waitUntil(
      async () => (await Promise.all(MEMBERS.map((_, i) => height(i)))).every((h) => h >= 2),
      'every node at height 2',
      30_000,
    );

    // city-water's admin pays city-tax's admin through police's node.
    const to = keys[1]!.admin.address;
    const before = BigInt(
      (await httpJson<{ balance: string }>(`${rpc(3)}/accounts/${to}`)).body.balance,
    );
    const transfer = await runCli([
      'tx',
      'transfer',
      '--rpc',
      rpc(2),
      '--key',
      keys[0]!.admin.file,
      '--to',
      to,
      '--amount',
      '25',
      '--wait',
    ]);
    assert.equal(transfer.code, 0, transfer.stderr);
    assert.match(transfer.stdout, /receipt\s+ok/);
    const committedAt = Number(/at height (\d+)/.exec(transfer.stdout)?.[1]);
    await waitUntil(
      async () =>
        (await Promise.all(MEMBERS.map((_, i) => height(i)))).every((h) => h >= committedAt),
      'every node past the transfer',
      15_000,
    );
    for (const i of MEMBERS.keys()) {
      const { body } = await httpJson<{ balance: string }>(`${rpc(i)}/accounts/${to}`);
      assert.equal(BigInt(body.balance), before + 25n, `node ${i} has the transfer`);
    }

    // Stop them as an operator would.
    for (const n of nodes) n.process.kill('SIGTERM');
    const exits = await Promise.all(nodes.map((n) => n.exited));
    assert.deepEqual(
      exits.map((e) => e.code),
      [0, 0, 0, 0],
    );
  });

  test('genesis: a manifest mistake is one line naming the field and rule, exit 1, nothing written', async (t) => {
    const dir = await tempDir(t, 'civitas-onboarding-');
    const file = join(dir, 'members.json');
    const key = await generate(join(dir, 'k.json'));
    await writeFile(
      file,
      JSON.stringify({
        chainId: 'c',
        members: [
          {
            name: 'a',
            validatorKey: key.publicKey,
            adminKey: key.publicKey,
            host: '10.0.0.1',
            p2pPort: 1,
            rpcPort: 2,
          },
        ],
      }),
    );
    const r = await runCli(['genesis', '--members', file, '--out', join(dir, 'net')]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^civitas: .*members\.json: members\[0\]\.adminKey is the same key as members\[0\]\.validatorKey \[MEMBERS_DUPLICATE\]\n$/,
    );
    assert.deepEqual((await readdir(dir)).sort(), ['k.json', 'members.json']);
  });

  test('keys generate prints the peer id; init --observer makes a home the loaders accept', async (t) => {
    const dir = await tempDir(t, 'civitas-onboarding-');
    const net = join(dir, 'net');
    const init = await runCli([
      'init',
      '--validators',
      '2',
      '--accounts',
      '0',
      '--dir',
      net,
      '--json',
    ]);
    assert.equal(init.code, 0, init.stderr);
    const { nodes, genesis } = JSON.parse(init.stdout) as {
      genesis: string;
      nodes: Array<{ p2p: string }>;
    };
    const keyFile = join(dir, 'observer-key.json');
    const human = await runCli(['keys', 'generate', '--out', keyFile]);
    assert.equal(human.code, 0, human.stderr);
    const peerId = /peer id {4}(12D3KooW\w+)/.exec(human.stdout)?.[1];
    assert.ok(peerId, human.stdout);

    const home = join(dir, 'observer');
    const r = await runCli([
      'init',
      '--observer',
      '--genesis',
      genesis,
      '--key',
      keyFile,
      '--bootstrap',
      ...nodes.map((n) => n.p2p),
      '--dir',
      home,
      '--rpc-port',
      '36601',
      '--p2p-port',
      '36600',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as ObserverInitSummary;
    assert.equal(summary.peerId, peerId);
    assert.equal(summary.genesisValidator, false);
    const config = await loadConfig(home);
    assert.deepEqual(
      config.p2p.bootstrap,
      nodes.map((n) => n.p2p),
    );
    assert.deepEqual(config.p2p.listen, ['/ip4/0.0.0.0/tcp/36600']);
    assert.equal(config.rpc.listen, '127.0.0.1:36601');
    assert.equal((await loadGenesisFile(join(home, config.genesisFile))).validators.length, 2);
    const key = await loadKeyFile(join(home, config.keyFile));
    assert.equal(toHex(key.publicKey), summary.publicKey);
    assert.equal((await stat(join(home, config.keyFile))).mode & 0o777, 0o600);

    const bad = await runCli([
      'init',
      '--observer',
      '--genesis',
      genesis,
      '--key',
      keyFile,
      '--bootstrap',
      '/ip4/127.0.0.1/tcp/26600',
      '--dir',
      join(dir, 'o2'),
    ]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^civitas: --bootstrap 1 .* must end in \/p2p\/<peer id> \[INIT_BAD_MULTIADDR\]\n$/,
    );
    const mixed = await runCli(['init', '--dir', join(dir, 'o3'), '--bootstrap', nodes[0]!.p2p]);
    assert.equal(mixed.code, 1);
    assert.match(mixed.stderr, /init does not take --bootstrap \[INIT_BAD_ARGS\]/);
  });
});
