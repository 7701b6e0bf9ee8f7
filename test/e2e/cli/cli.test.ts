/**
 * The `civitas` CLI as real processes: keys, init, node start, tx transfer, tx call and batch,
 * query and verify (txs, accounts, module state) on a one-validator network; user mistakes end as one line on stderr, no stack trace and a
 * non-zero exit; and the kill -9 scenario: a node SIGKILLed under load keeps every tx it
 * reported committed, and the chain goes on after a restart.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  addressOf,
  encodeTx,
  generateKeyPair,
  type KeyPair,
  loadKeyFile,
  saveKeyFile,
  toHex,
  transfer,
} from '../../../src/client/index.ts';
import { httpJson, waitUntil } from '../../helpers/http.ts';
import {
  type Child,
  CLI_MAIN,
  closedPort,
  randomBasePort,
  runCli,
  startChild,
} from '../../helpers/process.ts';
import { proposeParams } from '../../helpers/single-node.ts';
import { type CleanupScope, tempDir } from '../../helpers/temp.ts';

interface InitSummary {
  chainId: string;
  dir: string;
  genesis: string;
  nodes: Array<{ name: string; home: string; publicKey: string; rpc: string; p2p: string }>;
  accounts: Array<{ file: string; address: string; balance: string }>;
  organisations: Array<{ id: string; admin: { file: string; address: string } }>;
}

/** Collects cleanups registered from suite hooks and runs them last-first. */
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

async function startNode(scope: CleanupScope, home: string): Promise<Child> {
  const child = startChild(scope, CLI_MAIN, ['node', 'start', '--home', home]);
  await child.waitFor((_out, err) => err.includes('"node started"'), 'the node to start');
  return child;
}

/** `civitas init` on a random base port, then `civitas node start`; retries a taken port. */
async function initAndStart(
  scope: CleanupScope,
  parent: string,
  accounts: number,
): Promise<{ summary: InitSummary; node: Child; rpc: string; initStdout: string }> {
  for (let attempt = 0; ; attempt++) {
    const dir = join(parent, `net${attempt}`);
    const init = await runCli([
      'init',
      '--validators',
      '1',
      '--accounts',
      String(accounts),
      '--dir',
      dir,
      '--base-port',
      String(randomBasePort()),
      '--json',
      // Throwaway keys, plaintext on purpose: the one-line error checks below see no warning.
      '--plaintext',
    ]);
    assert.equal(init.code, 0, init.stderr);
    const summary = JSON.parse(init.stdout) as InitSummary;
    try {
      const node = await startNode(scope, summary.nodes[0]!.home);
      return { summary, node, rpc: summary.nodes[0]!.rpc, initStdout: init.stdout };
    } catch (err) {
      if (attempt < 4 && /RPC_LISTEN_FAILED/.test(String(err))) continue;
      throw err;
    }
  }
}

function assertOneLineError(
  r: { code: number | null; stdout: string; stderr: string },
  pattern: RegExp,
  what: string,
): void {
  assert.notEqual(r.code, 0, `${what}: exit code`);
  assert.ok(r.code !== null, `${what}: exited normally, not by a signal`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, `${what}: no stack trace`);
  assert.match(r.stderr.split('\n')[0]!, pattern, `${what}: first line names the problem`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
}

function stderrLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim().length > 0);
}

describe('civitas CLI on a one-validator network', () => {
  const scope = suiteScope();
  let dir: string;
  let summary: InitSummary;
  let rpc: string;
  let initStdout: string;
  let committedTx: { hash: string; height: number } | undefined;

  before(async () => {
    dir = await tempDir(scope, 'civitas-cli-');
    ({ summary, rpc, initStdout } = await initAndStart(scope, dir, 3));
  });
  after(() => scope.run());

  test('keys generate: --out writes a 0600 key file; --json; no secret on stdout unless asked; refuses to overwrite', async () => {
    const out = join(dir, 'k1.json');
    const existing = join(dir, 'existing.json');
    await saveKeyFile(existing, generateKeyPair());
    const before = await readFile(existing, 'utf8');
    const [human, json, bare, printed, again] = await Promise.all([
      runCli(['keys', 'generate', '--out', out]),
      runCli(['keys', 'generate', '--out', join(dir, 'k2.json'), '--json', '--plaintext']),
      runCli(['keys', 'generate']),
      runCli(['keys', 'generate', '--print-secret']),
      runCli(['keys', 'generate', '--out', existing]),
    ]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      /^wrote .*k1\.json, unencrypted\npublic key [0-9a-f]{64}\naddress {4}[0-9a-f]{40}\npeer id {4}12D3KooW\w+\n$/,
    );
    // No passphrase here (no option, no CIVITAS_PASSPHRASE, no terminal): one warning line.
    assert.match(
      human.stderr,
      /^civitas: warning: .*k1\.json written unencrypted .*civitas keys encrypt --key .*\[CIVITAS_KEY_FILE_PLAINTEXT\]\n$/,
    );
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    const keys = await loadKeyFile(out);
    assert.ok(human.stdout.includes(toHex(keys.publicKey)));
    assert.ok(human.stdout.includes(toHex(addressOf(keys.publicKey))));

    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stderr, '', '--plaintext: unencrypted on purpose, no warning');
    const j = JSON.parse(json.stdout) as {
      publicKey: string;
      address: string;
      file: string;
      encrypted: boolean;
    };
    assert.equal(j.file, join(dir, 'k2.json'));
    assert.equal(j.encrypted, false);
    assert.equal(j.address, toHex(addressOf((await loadKeyFile(j.file)).publicKey)));
    assert.equal((await stat(j.file)).mode & 0o777, 0o600);
    assert.equal('secretKey' in j, false, 'the secret stays in the file');
    assert.equal(JSON.parse(await readFile(j.file, 'utf8')).encryption, 'none');

    assertOneLineError(bare, /--out FILE.*\[KEYS_OUT_NEEDED\]$/, 'keys generate without --out');
    assert.equal(stderrLines(bare.stderr).length, 1);

    assert.equal(printed.code, 0, printed.stderr);
    const p = JSON.parse(printed.stdout) as { type: string; publicKey: string; secretKey: string };
    assert.equal(p.type, 'ed25519');
    assert.match(p.secretKey, /^[0-9a-f]{64}$/);
    assert.ok(printed.stderr.includes(`public key ${p.publicKey}`), 'the summary on stderr');

    assertOneLineError(again, /KEYS_FILE_EXISTS/, 'overwrite');
    assert.equal(stderrLines(again.stderr).length, 1);
    assert.equal(await readFile(existing, 'utf8'), before, 'the existing key is untouched');
  });

  test('keys generate refusing to overwrite leaves no temp file behind', {}, async () => {
    // Left by the refused overwrite of existing.json in the previous test.
    const leftovers = (await readdir(dir)).filter((f) => f.startsWith('existing.json.tmp'));
    assert.deepEqual(leftovers, []);
  });

  test('init --json lists homes, RPC URLs, p2p addresses and account files', async () => {
    assert.equal(summary.chainId, 'civitas-devnet');
    assert.equal(summary.nodes.length, 1);
    const n = summary.nodes[0]!;
    assert.equal(n.name, 'node0');
    assert.match(n.rpc, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(n.p2p, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW[1-9A-HJ-NP-Za-km-z]+$/);
    const rpcPort = Number(new URL(n.rpc).port);
    const p2pPort = Number(/tcp\/(\d+)/.exec(n.p2p)![1]);
    assert.equal(rpcPort, p2pPort + 1, 'node i uses base+2i for p2p and base+2i+1 for the API');
    assert.deepEqual((await readdir(n.home)).sort(), [
      'config.json',
      'data',
      'genesis.json',
      'validator-key.json',
    ]);
    assert.equal((await stat(join(n.home, 'validator-key.json'))).mode & 0o777, 0o600);
    const genesis = JSON.parse(await readFile(summary.genesis, 'utf8')) as {
      validators: Array<{ publicKey: string }>;
      accounts: Array<{ address: string; balance: string }>;
    };
    assert.equal(genesis.validators[0]!.publicKey, n.publicKey);
    assert.equal(summary.accounts.length, 3);
    for (const [i, a] of summary.accounts.entries()) {
      assert.equal((await stat(a.file)).mode & 0o777, 0o600);
      assert.equal(toHex(addressOf((await loadKeyFile(a.file)).publicKey)), a.address);
      assert.deepEqual(genesis.accounts[i], { address: a.address, balance: a.balance });
    }
    assert.deepEqual(
      JSON.parse(await readFile(join(summary.dir, 'network.json'), 'utf8')),
      summary,
    );
    assert.deepEqual(JSON.parse(initStdout), summary);
  });

  test('tx transfer --wait, then query status/block/tx/account/validators', async () => {
    const to = summary.accounts[1]!.address;
    const transferArgs = (amount: string, key = summary.accounts[0]!.file) => [
      'tx',
      'transfer',
      '--to',
      to,
      '--amount',
      amount,
      '--key',
      key,
      '--wait',
      '--rpc',
      rpc,
    ];
    const sent = await runCli([...transferArgs('1234'), '--json']);
    assert.equal(sent.code, 0, sent.stderr);
    const res = JSON.parse(sent.stdout) as {
      hash: string;
      status: string;
      height: number;
      receipt: { status: string; code: string };
    };
    assert.equal(res.status, 'committed');
    assert.deepEqual([res.receipt.status, res.receipt.code], ['ok', 'OK']);
    committedTx = res;
    // The rest in parallel: queries see block res.height final, and the failing transfer
    // changes nothing, so account 0 reads the same whichever finishes first.
    const [human, insufficient, status, block, tx, account, validators] = await Promise.all([
      runCli(transferArgs('1', summary.accounts[2]!.file)),
      runCli(transferArgs('99999999999999')),
      runCli(['query', 'status', '--rpc', rpc]),
      runCli(['query', 'block', String(res.height), '--rpc', rpc]),
      runCli(['query', 'tx', res.hash, '--rpc', rpc, '--json']),
      runCli(['query', 'account', summary.accounts[0]!.address, '--rpc', rpc]),
      runCli(['query', 'validators', '--rpc', rpc]),
    ]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^committed [0-9a-f]{64} at height \d+\nreceipt {3}ok \(OK\)\n$/);
    assert.equal(insufficient.code, 3, 'a failed receipt exits 3');
    assert.match(insufficient.stdout, /receipt {3}failed \(BANK_INSUFFICIENT_FUNDS\)/);
    for (const r of [status, block, tx, account, validators]) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
    }
    assert.match(status.stdout, /^chain {6}civitas-devnet\nnode {7}node0 /);
    assert.match(status.stdout, /consensus {2}solo view 0 primary 0/);
    assert.match(block.stdout, new RegExp(`^block ${res.height} {2}[0-9a-f]{64}\\n`));
    assert.match(block.stdout, /txs {8}1\n/);
    const t = JSON.parse(tx.stdout) as { height: number; receipt: { code: string } };
    assert.deepEqual([t.height, t.receipt.code], [res.height, 'OK']);
    assert.match(account.stdout, /balance {2}999998766\nnonce {4}1\n/);
    assert.match(
      validators.stdout,
      /^1 validators, quorum 1, set hash [0-9a-f]{64}\n {2}0 {2}node0 {2}[0-9a-f]{64}\n$/,
    );
  });

  test('verify tx and verify account against the trusted genesis', async () => {
    assert.ok(committedTx, 'the previous test committed a transfer');
    const { hash, height } = committedTx;
    const to = summary.accounts[1]!.address;
    const absent = toHex(addressOf(generateKeyPair().publicKey));
    // A genesis file naming another validator: the node's answers must not verify against it.
    const foreign = JSON.parse(await readFile(summary.genesis, 'utf8')) as {
      validators: Array<{ publicKey: string }>;
    };
    foreign.validators[0]!.publicKey = toHex(generateKeyPair().publicKey);
    const foreignPath = join(dir, 'foreign-genesis.json');
    await writeFile(foreignPath, JSON.stringify(foreign));
    const g = ['--genesis', summary.genesis, '--rpc', rpc];
    const [vtx, vtxJson, vacc, vabsent, vForeign] = await Promise.all([
      runCli(['verify', 'tx', hash, ...g]),
      runCli(['verify', 'tx', hash, ...g, '--json']),
      runCli(['verify', 'account', to, ...g]),
      runCli(['verify', 'account', absent, ...g]),
      runCli(['verify', 'tx', hash, '--genesis', foreignPath, '--rpc', rpc]),
    ]);
    assert.equal(vtx.code, 0, vtx.stderr);
    assert.match(
      vtx.stdout,
      new RegExp(
        `^verified: tx ${hash}\\n {2}included at height ${height} in block [0-9a-f]{64}\\n`,
      ),
    );
    assert.match(vtx.stdout, /receipt ok \(OK\), proven under receiptRoot/);
    assert.match(vtx.stdout, /signed by 1 of 1 validators \(quorum 1\)/);
    assert.ok(vtx.stdout.includes(`validator set from ${summary.genesis}`));
    const vj = JSON.parse(vtxJson.stdout) as { verified: boolean; height: number; status: string };
    assert.deepEqual([vj.verified, vj.height, vj.status], [true, height, 'ok']);
    assert.equal(vacc.code, 0, vacc.stderr);
    assert.match(
      vacc.stdout,
      new RegExp(`^verified: account ${to} at height \\d+\\n {2}balance 1000001235, nonce 0\\n`),
    );
    assert.equal(vabsent.code, 0, vabsent.stderr);
    assert.match(vabsent.stdout, /balance 0, nonce 0 \(absent: proven non-inclusion\)/);
    assertOneLineError(vForeign, /VERIFY_VALIDATOR_SET/, 'verify tx against a foreign genesis');
  });

  test('keys show: public key, address, libp2p peer id and how the file keeps the secret, never the secret', async () => {
    const account = summary.accounts[0]!;
    const validatorKey = join(summary.nodes[0]!.home, 'validator-key.json');
    const [human, json] = await Promise.all([
      runCli(['keys', 'show', '--key', account.file]),
      runCli(['keys', 'show', '--key', validatorKey, '--json']),
    ]);
    assert.equal(human.code, 0, human.stderr);
    const keys = await loadKeyFile(account.file);
    assert.match(
      human.stdout,
      new RegExp(
        `^public key ${toHex(keys.publicKey)}\\naddress {4}${account.address}\\npeer id {4}12D3KooW[1-9A-HJ-NP-Za-km-z]+\\nfile {7}unencrypted on purpose \\("encryption": "none"\\)\\n$`,
      ),
    );
    assert.equal(json.code, 0, json.stderr);
    const j = JSON.parse(json.stdout) as {
      publicKey: string;
      address: string;
      peerId: string;
      encrypted: boolean;
    };
    assert.deepEqual(Object.keys(j).sort(), ['address', 'encrypted', 'peerId', 'publicKey']);
    assert.equal(j.encrypted, false);
    assert.equal(j.publicKey, summary.nodes[0]!.publicKey);
    // The peer id the node's p2p address names.
    assert.ok(summary.nodes[0]!.p2p.endsWith(`/p2p/${j.peerId}`), summary.nodes[0]!.p2p);
  });

  test('tx call and tx batch --wait: receipts, events, the failing op and exit 3', async () => {
    const [a0, a1, a2] = summary.accounts as [
      InitSummary['accounts'][0],
      ...InitSummary['accounts'],
    ];
    const transferArgs = (to: string, amount: string) => JSON.stringify({ to, amount });
    const called = await runCli([
      'tx',
      'call',
      'bank.transfer',
      '--args',
      transferArgs(a1!.address, '7'),
      '--key',
      a0.file,
      '--wait',
      '--rpc',
      rpc,
    ]);
    assert.equal(called.code, 0, called.stderr);
    assert.match(
      called.stdout,
      new RegExp(
        `^committed [0-9a-f]{64} at height \\d+\\nreceipt {3}ok \\(OK\\)\\nevent {5}transfer from=${a0.address} to=${a1!.address} amount=7\\n$`,
      ),
    );

    // Account 2 sends two transfers in one tx, account 1 cosigning.
    const opsFile = join(dir, 'ops.json');
    await writeFile(
      opsFile,
      JSON.stringify([
        { call: 'bank.transfer', args: { to: a0.address, amount: '2' } },
        { call: 'bank.transfer', args: { to: a1!.address, amount: '3' } },
      ]),
    );
    const batched = await runCli([
      'tx',
      'batch',
      '--ops',
      opsFile,
      '--key',
      a2!.file,
      '--cosign',
      a1!.file,
      '--wait',
      '--json',
      '--rpc',
      rpc,
    ]);
    assert.equal(batched.code, 0, batched.stderr);
    const b = JSON.parse(batched.stdout) as {
      hash: string;
      status: string;
      receipt: { status: string; failedOp: number | null; events: Array<{ type: string }> };
    };
    assert.deepEqual(
      [b.status, b.receipt.status, b.receipt.failedOp, b.receipt.events.length],
      ['committed', 'ok', null, 2],
    );
    const shown = await runCli(['query', 'tx', b.hash, '--json', '--rpc', rpc]);
    const t = JSON.parse(shown.stdout) as { tx: { ops: unknown[]; cosigners: string[] } };
    assert.equal(t.tx.ops.length, 2);
    assert.deepEqual(t.tx.cosigners, [toHex((await loadKeyFile(a1!.file)).publicKey)]);

    // A governance-only method fails its op: the transfer before it is undone, exit 3.
    const failingFile = join(dir, 'failing-ops.json');
    await writeFile(
      failingFile,
      JSON.stringify([
        { call: 'bank.transfer', args: { to: a1!.address, amount: '1' } },
        { call: 'params.set', args: { freezeThreshold: 2 } },
      ]),
    );
    const [failing, stale] = await Promise.all([
      runCli(['tx', 'batch', '--ops', failingFile, '--key', a0.file, '--wait', '--rpc', rpc]),
      runCli([
        'tx',
        'call',
        'bank.transfer',
        '--args',
        transferArgs(a0.address, '1'),
        '--expect-rev',
        '0',
        '--key',
        a2!.file,
        '--wait',
        '--json',
        '--rpc',
        rpc,
      ]),
    ]);
    assert.equal(failing.code, 3, failing.stderr);
    assert.match(
      failing.stdout,
      /^committed [0-9a-f]{64} at height \d+\nreceipt {3}failed \(GOV_ONLY\)\nfailed op 1 \(params\.set\): GOV_ONLY\n$/,
    );
    assert.equal(stale.code, 3, 'a failed tx exits 3 with --json too');
    const s = JSON.parse(stale.stdout) as { receipt: { code: string; failedOp: number } };
    assert.deepEqual([s.receipt.code, s.receipt.failedOp], ['APP_NO_REVISION', 0]);
  });

  test('query state, query proposals and verify state against the trusted genesis', async () => {
    const a1 = summary.accounts[1]!;
    const nobody = toHex(addressOf(generateKeyPair().publicKey));
    const g = ['--genesis', summary.genesis, '--rpc', rpc];
    const [state, stateJson, absent, proposals, verified, verifiedJson, verifiedAbsent] =
      await Promise.all([
        runCli(['query', 'state', 'bank', a1.address, '--rpc', rpc]),
        runCli(['query', 'state', 'bank', a1.address, '--json', '--rpc', rpc]),
        runCli(['query', 'state', 'freeze', `account/${a1.address}`, '--json', '--rpc', rpc]),
        runCli(['query', 'proposals', '--rpc', rpc]),
        runCli(['verify', 'state', 'bank', a1.address, ...g]),
        runCli(['verify', 'state', 'bank', a1.address, ...g, '--json']),
        runCli(['verify', 'state', 'org', `member/${nobody}`, ...g]),
      ]);
    for (const r of [state, stateJson, absent, proposals, verified, verifiedJson, verifiedAbsent]) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
    }
    const sj = JSON.parse(stateJson.stdout) as {
      height: number;
      present: boolean;
      value: { balance: string; nonce: number };
    };
    assert.equal(sj.present, true);
    assert.match(sj.value.balance, /^[0-9]+$/);
    assert.match(
      state.stdout,
      new RegExp(
        `^bank ${a1.address} at height \\d+\\n\\{\\n {2}"balance": "[0-9]+",\\n {2}"nonce": \\d+\\n\\}\\n$`,
      ),
    );
    assert.deepEqual((({ present, value }) => ({ present, value }))(JSON.parse(absent.stdout)), {
      present: false,
      value: null,
    });
    assert.match(proposals.stdout, /^\d+ proposals at height \d+\n/);
    assert.match(
      verified.stdout,
      new RegExp(
        `^verified: bank ${a1.address} at height \\d+\\n {2}\\{\\n {4}"balance": "[0-9]+",`,
      ),
    );
    assert.ok(verified.stdout.includes(`validator set from ${summary.genesis}`));
    const vj = JSON.parse(verifiedJson.stdout) as {
      verified: boolean;
      present: boolean;
      height: number;
      value: string;
      json: { balance: string };
    };
    assert.deepEqual([vj.verified, vj.present], [true, true]);
    assert.match(vj.value, /^[0-9a-f]+$/);
    assert.ok(vj.height >= sj.height);
    assert.match(
      verifiedAbsent.stdout,
      new RegExp(
        `^verified: org member/${nobody} at height \\d+\\n {2}absent \\(proven non-inclusion\\)\\n`,
      ),
    );
  });

  test('governance through the CLI: propose, query proposals, vote, verify the changed params', async () => {
    // One validator, so one committee organisation: its admin's approval is the threshold.
    const admin = summary.organisations[0]!.admin.file;
    const proposed = await proposeParams(rpc, admin, { freezeThreshold: 2 });
    const id = /event {5}gov\.proposed id=(\d+) /.exec(proposed.stdout)?.[1];
    assert.ok(id, proposed.stdout);
    const [list, open] = await Promise.all([
      runCli(['query', 'proposals', '--rpc', rpc]),
      runCli(['query', 'proposals', id, '--json', '--rpc', rpc]),
    ]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      new RegExp(`^${id} proposals at height \\d+\\n {2}#${id} {2}open {7}approvals 0/1 `),
    );
    const p = JSON.parse(open.stdout) as {
      proposal: { status: string; threshold: number; actions: unknown[] };
    };
    assert.deepEqual(
      [p.proposal.status, p.proposal.threshold, p.proposal.actions],
      ['open', 1, [{ call: 'params.set', args: { freezeThreshold: 2 } }]],
    );

    const voted = await runCli([
      'tx',
      'call',
      'gov.vote',
      '--args',
      JSON.stringify({ id: Number(id) }),
      '--key',
      admin,
      '--wait',
      '--rpc',
      rpc,
    ]);
    assert.equal(voted.code, 0, voted.stderr);
    assert.match(voted.stdout, new RegExp(`event {5}gov\\.passed id=${id}\\n`));
    const [shown, params] = await Promise.all([
      runCli(['query', 'proposals', id, '--rpc', rpc]),
      runCli([
        'verify',
        'state',
        'params',
        'current',
        '--genesis',
        summary.genesis,
        '--json',
        '--rpc',
        rpc,
      ]),
    ]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^proposal ${id} {2}passed at height \\d+\\n`));
    assert.match(shown.stdout, /\naction 0 {3}params\.set \{"freezeThreshold":2\}\n/);
    assert.equal(params.code, 0, params.stderr);
    const v = JSON.parse(params.stdout) as { verified: boolean; json: { freezeThreshold: number } };
    assert.deepEqual([v.verified, v.json.freezeThreshold], [true, 2]);
  });

  describe('mistakes: one line on stderr, no stack trace, non-zero exit', () => {
    let commanderResults: Array<{ what: string; stderr: string }> = [];

    test('CivitasError mistakes print exactly one line and exit 1', async () => {
      const closed = `http://127.0.0.1:${await closedPort()}`;
      const to = summary.accounts[1]!.address;
      const key = summary.accounts[0]!.file;
      const cases: Array<[string, string[], RegExp]> = [
        [
          'bad address',
          ['tx', 'transfer', '--to', 'zz', '--amount', '5', '--key', key, '--rpc', rpc],
          /ADDRESS_INVALID/,
        ],
        [
          'missing key file',
          [
            'tx',
            'transfer',
            '--to',
            to,
            '--amount',
            '5',
            '--key',
            '/nonexistent/key.json',
            '--rpc',
            rpc,
          ],
          /KEYS_NOT_FOUND/,
        ],
        [
          'unreachable --rpc',
          ['tx', 'transfer', '--to', to, '--amount', '5', '--key', key, '--rpc', closed],
          /CLIENT_UNREACHABLE/,
        ],
        [
          'node start with a missing home',
          ['node', 'start', '--home', '/nonexistent/home'],
          /CONFIG_NOT_FOUND/,
        ],
        ['unknown tx', ['query', 'tx', 'ab'.repeat(32), '--rpc', rpc], /RPC_TX_NOT_FOUND/],
      ];
      const results = await Promise.all(cases.map(([, args]) => runCli(args)));
      results.forEach((r, i) => {
        const [what, , pattern] = cases[i]!;
        assertOneLineError(r, pattern, what);
        assert.match(r.stderr, /^civitas: /, what);
        assert.equal(stderrLines(r.stderr).length, 1, `${what}: ${JSON.stringify(r.stderr)}`);
        assert.equal(r.code, 1, what);
      });
    });

    test('tx call, tx batch, query state, verify state and keys show mistakes: one line, exit 1, nothing sent', async () => {
      // Against a closed port: a command that reached for the node would say CLIENT_UNREACHABLE.
      const closed = `http://127.0.0.1:${await closedPort()}`;
      const key = summary.accounts[0]!.file;
      const to = summary.accounts[1]!.address;
      const badJson = join(dir, 'bad-ops.json');
      const badOps = join(dir, 'bad-args-ops.json');
      const notList = join(dir, 'not-a-list-ops.json');
      await writeFile(badJson, '[{"call": ');
      await writeFile(badOps, JSON.stringify([{ call: 'bank.transfer', args: { to } }]));
      await writeFile(notList, JSON.stringify({ call: 'bank.transfer' }));
      const call = (target: string, args: string, ...more: string[]) => [
        'tx',
        'call',
        target,
        '--args',
        args,
        '--key',
        key,
        ...more,
        '--rpc',
        closed,
      ];
      const batch = (file: string) => ['tx', 'batch', '--ops', file, '--key', key, '--rpc', closed];
      const cases: Array<[string, string[], RegExp]> = [
        [
          'bad --args JSON',
          call('bank.transfer', '{"to": '),
          /--args:\d+:\d+: not valid JSON.*\[CLI_BAD_JSON\]$/,
        ],
        ['unknown method', call('bank.mint', '{}'), /no method bank\.mint \[APP_UNKNOWN_METHOD\]$/],
        ['not module.method', call('bank', '{}'), /\[APP_UNKNOWN_METHOD\]$/],
        ['bad args', call('bank.transfer', '{"to": "zz", "amount": "1"}'), /\[BANK_BAD_ARGS\]$/],
        ['unknown arg', call('gov.vote', '{"id": 1, "yes": true}'), /\[GOV_BAD_ARGS\]$/],
        ['missing ops file', batch('/nonexistent/ops.json'), /\[CLI_FILE_NOT_FOUND\]$/],
        ['ops file not JSON', batch(badJson), /\[CLI_BAD_JSON\]$/],
        ['ops file not a list', batch(notList), /\[CLI_BAD_JSON\]$/],
        ['bad op args', batch(badOps), /op 0: .*\[BANK_BAD_ARGS\]$/],
        [
          'missing cosigner key',
          call(
            'bank.transfer',
            JSON.stringify({ to, amount: '1' }),
            '--cosign',
            '/nonexistent/k.json',
          ),
          /\[KEYS_NOT_FOUND\]$/,
        ],
        [
          'verify state of an unknown module',
          ['verify', 'state', 'vault', 'x', '--rpc', closed],
          /\[APP_UNKNOWN_MODULE\]$/,
        ],
        [
          'verify state of a bad id',
          ['verify', 'state', 'freeze', to, '--rpc', closed],
          /\[FREEZE_BAD_ID\]$/,
        ],
        ['bad proposal id', ['query', 'proposals', 'abc', '--rpc', closed], /\[GOV_BAD_ID\]$/],
        [
          'keys show without the file',
          ['keys', 'show', '--key', '/nonexistent/k.json'],
          /\[KEYS_NOT_FOUND\]$/,
        ],
        // The node's answer, as one line.
        [
          'query state of an unknown module',
          ['query', 'state', 'vault', 'x', '--rpc', rpc],
          /\[APP_UNKNOWN_MODULE\]$/,
        ],
        [
          'query state of a bad id',
          ['query', 'state', 'bank', 'xyz', '--rpc', rpc],
          /\[BANK_BAD_ID\]$/,
        ],
        [
          'unknown proposal',
          ['query', 'proposals', '999', '--rpc', rpc],
          /\[GOV_UNKNOWN_PROPOSAL\]$/,
        ],
      ];
      const results = await Promise.all(cases.map(([, args]) => runCli(args)));
      results.forEach((r, i) => {
        const [what, , pattern] = cases[i]!;
        assertOneLineError(r, pattern, what);
        assert.match(r.stderr, /^civitas: /, what);
        assert.equal(stderrLines(r.stderr).length, 1, `${what}: ${JSON.stringify(r.stderr)}`);
        assert.equal(r.code, 1, what);
      });
    });

    test('argument mistakes exit 2, name the problem, no stack trace', async () => {
      const to = summary.accounts[1]!.address;
      const key = summary.accounts[0]!.file;
      const cases: Array<[string, string[], RegExp]> = [
        ['unknown command', ['bogus'], /unknown command 'bogus'/],
        [
          'missing required option',
          ['tx', 'transfer', '--to', to, '--amount', '5'],
          /required option '--key <file>'/,
        ],
        [
          'zero amount',
          ['tx', 'transfer', '--to', to, '--amount', '0', '--key', key],
          /positive whole amount/,
        ],
        ['tx call without --args', ['tx', 'call', 'bank.transfer', '--key', key], /--args <json>/],
        [
          'bad --expect-rev',
          ['tx', 'call', 'bank.transfer', '--args', '{}', '--key', key, '--expect-rev', '-1'],
          /--expect-rev/,
        ],
        ['query state without an id', ['query', 'state', 'bank'], /missing required argument 'id'/],
      ];
      const results = await Promise.all(cases.map(([, args]) => runCli(args)));
      results.forEach((r, i) => {
        const [what, , pattern] = cases[i]!;
        assertOneLineError(r, pattern, what);
        assert.equal(r.code, 2, what);
      });
      commanderResults = results.map((r, i) => ({ what: cases[i]![0], stderr: r.stderr }));
    });

    test('argument mistakes print exactly one line', {}, () => {
      assert.ok(commanderResults.length > 0);
      for (const r of commanderResults) {
        assert.equal(stderrLines(r.stderr).length, 1, `${r.what}: ${JSON.stringify(r.stderr)}`);
      }
    });

    test('init into a non-empty dir fails and writes nothing', async () => {
      const parent = join(dir, 'occupied-parent');
      const target = join(parent, 'occupied');
      await mkdir(target, { recursive: true });
      await writeFile(join(target, 'keep.txt'), 'mine');
      const [occupied, again] = await Promise.all([
        runCli(['init', '--dir', target, '--validators', '1']),
        runCli(['init', '--dir', summary.dir]),
      ]);
      assertOneLineError(occupied, /INIT_DIR_NOT_EMPTY/, 'init into a non-empty dir');
      assert.equal(stderrLines(occupied.stderr).length, 1);
      assert.deepEqual(await readdir(target), ['keep.txt']);
      assert.equal(await readFile(join(target, 'keep.txt'), 'utf8'), 'mine');
      assert.deepEqual(await readdir(parent), ['occupied'], 'no staging dir left beside it');
      assertOneLineError(again, /INIT_DIR_NOT_EMPTY/, 'init over a network');
      assert.deepEqual(
        (await readdir(dirname(summary.dir))).filter((f) =>
          f.startsWith(`${basename(summary.dir)}.init-`),
        ),
        [],
      );
    });

    test('init refuses a chain id the node would refuse, writing nothing', {}, async () => {
      const target = join(dir, 'bad-chain-id');
      const r = await runCli([
        'init',
        '--dir',
        target,
        '--validators',
        '1',
        '--accounts',
        '0',
        '--chain-id',
        'bad id!',
      ]);
      assertOneLineError(r, /chainId|chain id/i, 'invalid chain id');
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f.startsWith('bad-chain-id')),
        [],
      );
    });
  });
});

describe('kill -9 of a node under load', () => {
  test('every tx reported committed survives, and the chain goes on', async (t) => {
    const parent = await tempDir(t, 'civitas-kill9-');
    const { summary, node, rpc } = await initAndStart(t, parent, 4);
    const home = summary.nodes[0]!.home;
    const status = await httpJson<{ chainId: string }>(`${rpc}/status`);
    const chainId = status.body.chainId;
    const keys: KeyPair[] = await Promise.all(summary.accounts.map((a) => loadKeyFile(a.file)));
    const to = addressOf(generateKeyPair().publicKey);
    const committed = new Map<string, number>(); // tx hash → height reported by the node
    let cliCommits = 0;
    let killed = false;

    const sign = (from: number, nonce: number) =>
      toHex(
        encodeTx(
          transfer({ chainId, keys: keys[from]!, to, amount: 1n, nonce, expiryHeight: 1_000_000 }),
        ),
      );
    const submit = async (from: number, nonce: number, wait: boolean) => {
      const res = await fetch(`${rpc}/txs${wait ? '?wait=commit&timeoutMs=20000' : ''}`, {
        method: 'POST',
        body: JSON.stringify({ tx: sign(from, nonce) }),
        headers: { 'content-type': 'application/json' },
      });
      return (await res.json()) as { hash: string; status: string; height?: number };
    };
    // Accounts 0 and 1: one tx at a time, waiting for commit.
    const waitingLoop = async (from: number) => {
      for (let nonce = 0; !killed; nonce++) {
        try {
          const r = await submit(from, nonce, true);
          if (r.status === 'committed') committed.set(r.hash, r.height!);
        } catch {
          return; // the node is gone
        }
      }
    };
    // Account 2: bursts of pending txs (no waiting).
    const burstLoop = async () => {
      for (let nonce = 0; !killed; nonce += 8) {
        try {
          await Promise.all(Array.from({ length: 8 }, (_, i) => submit(2, nonce + i, false)));
        } catch {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    // Account 3: the CLI with --wait, as an operator would.
    const cliLoop = async () => {
      while (!killed) {
        const r = await runCli([
          'tx',
          'transfer',
          '--to',
          toHex(to),
          '--amount',
          '1',
          '--key',
          summary.accounts[3]!.file,
          '--wait',
          '--rpc',
          rpc,
          '--json',
        ]);
        if (r.code !== 0) return;
        const res = JSON.parse(r.stdout) as { hash: string; status: string; height: number };
        assert.equal(res.status, 'committed');
        committed.set(res.hash, res.height);
        cliCommits++;
      }
    };
    const loops = [waitingLoop(0), waitingLoop(1), burstLoop(), cliLoop()];
    const killAfter = 6 + Math.floor(Math.random() * 10);
    await waitUntil(
      () => committed.size >= killAfter && cliCommits >= 1,
      'commits under load',
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
    killed = true;
    await node.kill('SIGKILL');
    assert.equal((await node.exited).signal, 'SIGKILL');
    await Promise.all(loops);
    const reported = new Map(committed);
    const maxReported = Math.max(...reported.values());

    const restarted = await startNode(t, home);
    const tip = (await httpJson<{ height: number }>(`${rpc}/status`)).body.height;
    assert.ok(tip >= maxReported, `restarted at ${tip}, below reported height ${maxReported}`);
    for (const [hash, height] of reported) {
      const r = await httpJson<{ status: string; height: number; receipt: { code: string } }>(
        `${rpc}/txs/${hash}`,
      );
      assert.equal(r.status, 200, `tx ${hash} reported committed at ${height} is gone`);
      assert.equal(r.body.status, 'committed');
      assert.equal(r.body.height, height, `tx ${hash} moved`);
      assert.equal(r.body.receipt.code, 'OK');
    }
    for (let h = 1; h <= tip; h++) {
      assert.equal((await httpJson(`${rpc}/blocks/${h}`)).status, 200, `block ${h}`);
    }
    // The chain goes on: a new transfer (nonce from the restarted node) commits above the tip.
    const next = await runCli([
      'tx',
      'transfer',
      '--to',
      toHex(to),
      '--amount',
      '1',
      '--key',
      summary.accounts[0]!.file,
      '--wait',
      '--rpc',
      rpc,
      '--json',
    ]);
    assert.equal(next.code, 0, next.stderr);
    const n = JSON.parse(next.stdout) as {
      status: string;
      height: number;
      receipt: { code: string };
    };
    assert.equal(n.status, 'committed');
    assert.equal(n.receipt.code, 'OK');
    assert.ok(n.height > tip);
    await restarted.kill('SIGTERM');
    assert.equal((await restarted.exited).code, 0, 'SIGTERM is a clean shutdown');
  });
});
