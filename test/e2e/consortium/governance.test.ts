/**
 * The consortium governs itself, end to end: four validators (one organisation each, in the
 * committee) and a regulator, as `civitas init` makes them, driven only through the CLI as a
 * user would. In order: a stranger is refused at admission; an organisation's admin adds it
 * as a member (its cosignature is its consent: without it the op fails); a proposal to make
 * it a regulator passes with 3 of 4 votes; another with 2 of 4 expires; the new regulator
 * freezes an account, whose transfer fails with FREEZE_ACTIVE until the freeze is lifted; a
 * 2-op batch whose second op fails changes nothing; and `verify state` proves the freeze order
 * and the absence of one, against the genesis file.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BlockResponse, ProposalJson, StateResponse } from '../../../src/api/types.ts';
import { httpJson } from '../../helpers/http.ts';
import { type CliResult, runCli } from '../../helpers/process.ts';
import { TestNetwork, waitFor } from '../network/helpers/test-network.ts';

const LEGAL_BASIS = 'c0'.repeat(32);

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('a consortium of four governs itself through the CLI', { timeout: 240_000 }, async (t) => {
  const network = await TestNetwork.start(t, { validators: 4, accounts: 2 });
  const { summary } = network;
  const rpc = summary.nodes[0]!.rpc;
  const admins = summary.organisations.map((o) => o.admin.file);
  const [account0, account1] = summary.accounts as [
    (typeof summary.accounts)[0],
    (typeof summary.accounts)[0],
  ];
  const cli = (...args: string[]) => runCli([...args, '--rpc', rpc]);
  const call = (method: string, args: unknown, key: string, ...extra: string[]) =>
    cli('tx', 'call', method, '--args', JSON.stringify(args), '--key', key, '--wait', ...extra);
  const height = async () => (await httpJson<{ height: number }>(`${rpc}/status`)).body.height;
  const state = async (module: string, id: string) =>
    (await httpJson<StateResponse>(`${rpc}/state/${module}/${id}`)).body;

  // A stranger with funds (a member paid it) is refused at admission, before any block.
  const keyFile = join(summary.dir, 'newcomer.json');
  const generated = JSON.parse(
    // Plaintext on purpose (a throwaway key): the refusal below must be the only stderr line.
    ok(
      await runCli(['keys', 'generate', '--out', keyFile, '--json', '--plaintext']),
      'keys generate',
    ),
  ) as { address: string };
  const newcomer = generated.address;
  ok(
    await cli(
      'tx',
      'transfer',
      '--to',
      newcomer,
      '--amount',
      '500',
      '--key',
      account0.file,
      '--wait',
    ),
    'fund the newcomer',
  );
  const refused = await cli(
    'tx',
    'transfer',
    '--to',
    account0.address,
    '--amount',
    '1',
    '--key',
    keyFile,
  );
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /ORG_NOT_A_MEMBER/);
  assert.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
  assert.equal((await state('bank', newcomer)).value?.nonce, 0, 'nothing was executed');

  // org0's admin adds it; without the newcomer's cosignature (its consent) the op fails.
  const unconsented = await call(
    'org.addMember',
    { account: newcomer, roles: ['member'] },
    admins[0]!,
  );
  assert.equal(unconsented.code, 3, unconsented.stdout + unconsented.stderr);
  assert.match(unconsented.stdout, /failed op 0 \(org\.addMember\): ORG_CONSENT_REQUIRED/);
  ok(
    await call(
      'org.addMember',
      { account: newcomer, roles: ['member'] },
      admins[0]!,
      '--cosign',
      keyFile,
    ),
    'addMember cosigned',
  );
  assert.deepEqual((await state('org', `member/${newcomer}`)).value?.roles, ['member']);
  ok(
    await cli(
      'tx',
      'transfer',
      '--to',
      account0.address,
      '--amount',
      '1',
      '--key',
      keyFile,
      '--wait',
    ),
    'the new member transacts',
  );

  // A proposal to make the newcomer a regulator passes with 3 of 4 votes.
  const propose = async (actions: unknown[], expiresAtHeight: number) => {
    const out = ok(await call('gov.propose', { actions, expiresAtHeight }, admins[1]!), 'propose');
    const id = /event {5}gov\.proposed id=(\d+) /.exec(out)?.[1];
    assert.ok(id, out);
    return Number(id);
  };
  const vote = (id: number, admin: number) =>
    call('gov.vote', { id, approve: true }, admins[admin]!);
  const proposal = async (id: number) =>
    (await httpJson<{ proposal: ProposalJson }>(`${rpc}/gov/proposals/${id}`)).body.proposal;

  const makeRegulator = await propose(
    [{ call: 'org.setRoles', args: { account: newcomer, roles: ['member', 'regulator'] } }],
    (await height()) + 200,
  );
  ok(await vote(makeRegulator, 0), 'vote 1');
  ok(await vote(makeRegulator, 1), 'vote 2');
  assert.equal((await proposal(makeRegulator)).status, 'open', 'two of four: not yet');
  const deciding = ok(await vote(makeRegulator, 2), 'vote 3');
  assert.match(deciding, /event {5}gov\.passed id=/);
  assert.equal((await proposal(makeRegulator)).status, 'passed');
  assert.deepEqual((await state('org', `member/${newcomer}`)).value?.roles, [
    'member',
    'regulator',
  ]);
  const late = await vote(makeRegulator, 3);
  assert.equal(late.code, 3);
  assert.match(late.stdout, /GOV_PROPOSAL_CLOSED/);

  // Another with only 2 of 4 votes expires, and cannot be voted on after.
  // Room for the proposal and two votes on a loaded machine; the test then waits for expiry.
  const expiresAt = (await height()) + 40;
  const makeIssuer = await propose(
    [{ call: 'org.setRoles', args: { account: account1.address, roles: ['member', 'issuer'] } }],
    expiresAt,
  );
  ok(await vote(makeIssuer, 0), 'vote 1 of 2');
  ok(await vote(makeIssuer, 1), 'vote 2 of 2');
  await waitFor(
    async () => ((await height()) >= expiresAt ? true : undefined),
    `height ${expiresAt}`,
    60_000,
  );
  assert.equal((await proposal(makeIssuer)).status, 'expired');
  const tooLate = await vote(makeIssuer, 2);
  assert.equal(tooLate.code, 3);
  assert.match(tooLate.stdout, /GOV_PROPOSAL_EXPIRED/);
  assert.deepEqual((await state('org', `member/${account1.address}`)).value?.roles, ['member']);

  // The new regulator freezes account1: its transfer fails, it still receives; lifted, it sends.
  const target = { kind: 'account', id: account1.address };
  ok(
    await call(
      'freeze.impose',
      { ...target, legalBasis: LEGAL_BASIS, reason: 'court order 2026/17' },
      keyFile,
    ),
    'impose',
  );
  const frozen = await cli(
    'tx',
    'transfer',
    '--to',
    account0.address,
    '--amount',
    '5',
    '--key',
    account1.file,
    '--wait',
  );
  assert.equal(frozen.code, 3, frozen.stdout + frozen.stderr);
  assert.match(frozen.stdout, /receipt {3}failed \(FREEZE_ACTIVE\)/);
  ok(
    await cli(
      'tx',
      'transfer',
      '--to',
      account1.address,
      '--amount',
      '5',
      '--key',
      account0.file,
      '--wait',
    ),
    'a frozen account still receives',
  );
  ok(await call('freeze.lift', target, keyFile), 'lift');
  ok(
    await cli(
      'tx',
      'transfer',
      '--to',
      account0.address,
      '--amount',
      '5',
      '--key',
      account1.file,
      '--wait',
    ),
    'after the lift',
  );

  // A 2-op batch whose second op fails changes nothing: its block keeps the parent's state
  // root, and the sender's nonce does not move.
  const opsFile = join(summary.dir, 'ops.json');
  await writeFile(
    opsFile,
    JSON.stringify([
      { call: 'bank.transfer', args: { to: account1.address, amount: '10' } },
      { call: 'bank.transfer', args: { to: account1.address, amount: '1000000000000' } },
    ]),
  );
  const nonceBefore = (await state('bank', account0.address)).value?.nonce;
  const batch = await cli(
    'tx',
    'batch',
    '--ops',
    opsFile,
    '--key',
    account0.file,
    '--wait',
    '--json',
  );
  assert.equal(batch.code, 3, batch.stdout + batch.stderr);
  const receipt = JSON.parse(batch.stdout) as {
    height: number;
    receipt: { status: string; code: string; failedOp: number | null };
  };
  assert.deepEqual(
    [receipt.receipt.status, receipt.receipt.code, receipt.receipt.failedOp],
    ['failed', 'BANK_INSUFFICIENT_FUNDS', 1],
  );
  assert.equal((await state('bank', account0.address)).value?.nonce, nonceBefore);
  const [block, parent] = await Promise.all(
    [receipt.height, receipt.height - 1].map(
      async (h) => (await httpJson<BlockResponse>(`${rpc}/blocks/${h}`)).body,
    ),
  );
  assert.equal(block!.txHashes.length, 1, 'the batch is alone in its block');
  assert.equal(block!.header.stateRoot, parent!.header.stateRoot, 'state root unchanged');

  // verify state proves the (lifted) freeze order, and the absence of one on account0.
  const genesis = ['--genesis', summary.genesis];
  const proven = JSON.parse(
    ok(
      await cli('verify', 'state', 'freeze', `account/${account1.address}`, ...genesis, '--json'),
      'verify order',
    ),
  ) as {
    verified: boolean;
    present: boolean;
    json: { active: boolean; legalBasis: string; rev: number };
  };
  assert.equal(proven.present, true);
  assert.deepEqual(
    [proven.json.active, proven.json.legalBasis, proven.json.rev],
    [false, LEGAL_BASIS, 2],
  );
  const absent = ok(
    await cli('verify', 'state', 'freeze', `account/${account0.address}`, ...genesis),
    'verify absence',
  );
  assert.match(
    absent,
    /^verified: freeze account\/[0-9a-f]{40} at height \d+\n {2}absent \(proven non-inclusion\)/,
  );
});
