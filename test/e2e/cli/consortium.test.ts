/**
 * The consortium `civitas init` makes, through the CLI as real processes: `init --json` (and
 * network.json) list one organisation per validator with its admin key, the regulator and
 * each account's organisation; the genesis holds them, permissioned unless `--open`; and on
 * the running chain a funded account that is not a member has its `tx transfer` refused with
 * one line naming ORG_NOT_A_MEMBER and a non-zero exit, while members, the admin and the
 * regulator transact.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addressOf, loadKeyFile, toHex } from '../../../src/client/index.ts';
import type { InitSummary } from '../../../src/node/home.ts';
import { httpJson } from '../../helpers/http.ts';
import { type Child, CLI_MAIN, randomBasePort, runCli, startChild } from '../../helpers/process.ts';
import { type CleanupScope, tempDir } from '../../helpers/temp.ts';

interface GenesisApp {
  params: { permissioned: boolean };
  org: Array<{
    id: string;
    name: string;
    committee?: boolean;
    admins?: string[];
    members?: Array<{ account: string; roles: string[] }>;
  }>;
}

/** Cleanups registered from suite hooks, run last-first. */
function suiteScope(): CleanupScope & { run(): Promise<void> } {
  const fns: Array<() => unknown> = [];
  return {
    after: (fn) => {
      fns.push(fn);
    },
    run: async () => {
      for (const fn of fns.reverse()) await fn();
    },
  };
}

async function init(dir: string, extra: string[] = []): Promise<InitSummary> {
  const r = await runCli([
    'init',
    '--validators',
    '2',
    '--accounts',
    '3',
    '--dir',
    dir,
    '--base-port',
    String(randomBasePort()),
    '--json',
    // Throwaway keys, plaintext on purpose: the refusal below must be the only stderr line.
    '--plaintext',
    ...extra,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as InitSummary;
}

async function genesisApp(summary: InitSummary): Promise<GenesisApp> {
  return (JSON.parse(await readFile(summary.genesis, 'utf8')) as { app: GenesisApp }).app;
}

async function assertKeyFile(file: string, address: string): Promise<void> {
  assert.equal((await stat(file)).mode & 0o777, 0o600, file);
  assert.equal(toHex(addressOf((await loadKeyFile(file)).publicKey)), address, file);
}

describe('civitas init makes a consortium', () => {
  const scope = suiteScope();
  let dir: string;
  after(() => scope.run());
  before(async () => {
    dir = await tempDir(scope, 'civitas-consortium-');
  });

  test('init --json lists the organisations, their admins, the regulator and each account’s organisation', async () => {
    const summary = await init(join(dir, 'net'));
    assert.equal(summary.permissioned, true);
    assert.deepEqual(
      summary.organisations.map((o) => [o.id, o.name, o.committee, o.validator]),
      [
        ['org0', 'node0', true, 'node0'],
        ['org1', 'node1', true, 'node1'],
      ],
    );
    for (const o of summary.organisations) await assertKeyFile(o.admin.file, o.admin.address);
    assert.equal(summary.regulator.org, 'regulator');
    await assertKeyFile(summary.regulator.file, summary.regulator.address);
    assert.deepEqual(
      summary.accounts.map((a) => a.org),
      ['org0', 'org1', 'org0'],
      'account i joins organisation i mod validators',
    );
    assert.deepEqual(
      JSON.parse(await readFile(join(summary.dir, 'network.json'), 'utf8')),
      summary,
      'network.json says the same',
    );

    const app = await genesisApp(summary);
    assert.equal(app.params.permissioned, true);
    const [org0, org1, regulator] = app.org;
    // The admin first, an issuer too (asset classes, receivables), then the member accounts.
    assert.deepEqual(org0?.members?.[0], {
      account: summary.organisations[0]!.admin.address,
      roles: ['admin', 'member', 'issuer'],
    });
    assert.deepEqual(
      org0?.members?.slice(1).map((m) => m.account),
      [summary.accounts[0]!.address, summary.accounts[2]!.address],
    );
    assert.deepEqual(
      org1?.members?.map((m) => m.account),
      [summary.organisations[1]!.admin.address, summary.accounts[1]!.address],
    );
    assert.deepEqual(regulator, {
      id: 'regulator',
      name: summary.regulator.name,
      committee: false,
      members: [{ account: summary.regulator.address, roles: ['member', 'regulator'] }],
    });
    // Admins and the regulator are funded too, after the accounts (account i is genesis account i).
    const { accounts } = JSON.parse(await readFile(summary.genesis, 'utf8')) as {
      accounts: Array<{ address: string }>;
    };
    assert.deepEqual(
      accounts.map((a) => a.address),
      [
        ...summary.accounts.map((a) => a.address),
        ...summary.organisations.map((o) => o.admin.address),
        summary.regulator.address,
      ],
    );
  });

  test('init --open makes an open chain with the same organisations', async () => {
    const summary = await init(join(dir, 'open'), ['--open']);
    assert.equal(summary.permissioned, false);
    assert.equal((await genesisApp(summary)).params.permissioned, false);
    assert.equal(summary.organisations.length, 2);
  });
});

describe('civitas tx transfer on a permissioned chain', () => {
  const scope = suiteScope();
  let summary: InitSummary;
  let rpc: string;
  after(() => scope.run());

  before(async () => {
    const dir = await tempDir(scope, 'civitas-consortium-');
    for (let attempt = 0; ; attempt++) {
      const r = await runCli([
        'init',
        '--validators',
        '1',
        '--accounts',
        '2',
        '--dir',
        join(dir, `net${attempt}`),
        '--base-port',
        String(randomBasePort()),
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      summary = JSON.parse(r.stdout) as InitSummary;
      try {
        const node: Child = startChild(scope, CLI_MAIN, [
          'node',
          'start',
          '--home',
          summary.nodes[0]!.home,
        ]);
        await node.waitFor((_out, err) => err.includes('"node started"'), 'the node to start');
        break;
      } catch (err) {
        if (attempt < 4 && /RPC_LISTEN_FAILED/.test(String(err))) continue;
        throw err;
      }
    }
    rpc = summary.nodes[0]!.rpc;
  });

  const transfer = (key: string, to: string, amount: string) =>
    runCli([
      'tx',
      'transfer',
      '--rpc',
      rpc,
      '--key',
      key,
      '--to',
      to,
      '--amount',
      amount,
      '--wait',
    ]);

  test('a funded non-member is refused with one line naming ORG_NOT_A_MEMBER; members transact', async () => {
    const keyFile = join(summary.dir, 'stranger.json');
    const generated = await runCli(['keys', 'generate', '--out', keyFile, '--json', '--plaintext']);
    assert.equal(generated.code, 0, generated.stderr);
    const stranger = (JSON.parse(generated.stdout) as { address: string }).address;

    // Funded by a member, so only membership is missing.
    const funding = await transfer(summary.accounts[0]!.file, stranger, '1000');
    assert.equal(funding.code, 0, funding.stderr);
    const refused = await transfer(keyFile, summary.accounts[1]!.address, '5');
    assert.notEqual(refused.code, 0, 'non-zero exit');
    assert.ok(refused.code !== null, 'exited, not killed');
    const lines = refused.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, refused.stderr);
    assert.match(lines[0]!, /ORG_NOT_A_MEMBER/);
    assert.equal(refused.stdout, '');

    const account = await httpJson<{ balance: string; nonce: number }>(
      `${rpc}/accounts/${stranger}`,
    );
    assert.equal(account.body.balance, '1000', 'funded, and nothing left it');
    assert.equal(account.body.nonce, 0, 'no tx of it was executed');

    for (const key of [
      summary.accounts[1]!.file,
      summary.organisations[0]!.admin.file,
      summary.regulator.file,
    ]) {
      const r = await transfer(key, stranger, '1');
      assert.equal(r.code, 0, `${key}: ${r.stderr}`);
    }
  });
});
