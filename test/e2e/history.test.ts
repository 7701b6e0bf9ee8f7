/**
 * Object histories end to end, through the CLI against a network of four validators: the
 * regulator imposes and lifts a freeze on an account; an admin adds a member (cosigned) and a
 * proposal makes it a regulator (three of four votes, the third executing it). Then
 * `civitas query history` lists each object's changes as the node indexed them, and
 * `civitas verify history` proves them against the genesis file, in text and JSON; an account
 * (no history) and a malformed id fail with one coded line.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HistoryResponse, StateResponse } from '../../src/api/types.ts';
import { httpJson } from '../helpers/http.ts';
import { type CliResult, runCli } from '../helpers/process.ts';
import { TestNetwork } from './network/helpers/test-network.ts';

const LEGAL_BASIS = 'c1'.repeat(32);

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface VerifiedJson {
  verified: boolean;
  module: string;
  id: string;
  rev: number;
  hist: string;
  present: boolean;
  height: number;
  entries: Array<{
    rev: number;
    height: number;
    txHash: string;
    opIndex: number;
    action: number | null;
    proposal: number | null;
    module: string;
    method: string;
    args: Record<string, unknown>;
  }>;
}

test('object histories: query and verify through the CLI', { timeout: 180_000 }, async (t) => {
  const network = await TestNetwork.start(t, { validators: 4, accounts: 2 });
  const { summary } = network;
  const rpc = summary.nodes[0]!.rpc;
  const admins = summary.organisations.map((o) => o.admin.file);
  const account = summary.accounts[1]!;
  const cli = (...args: string[]) => runCli([...args, '--rpc', rpc]);
  const call = (method: string, args: unknown, key: string, ...extra: string[]) =>
    cli('tx', 'call', method, '--args', JSON.stringify(args), '--key', key, '--wait', ...extra);
  const state = async (module: string, id: string) =>
    (await httpJson<StateResponse>(`${rpc}/state/${module}/${id}`)).body;

  // A freeze imposed and lifted by the regulator.
  const order = { kind: 'account', id: account.address };
  const imposed = ok(
    await call(
      'freeze.impose',
      { ...order, legalBasis: LEGAL_BASIS, reason: 'court order 2026/17' },
      summary.regulator.file,
    ),
    'impose',
  );
  const lifted = ok(await call('freeze.lift', order, summary.regulator.file), 'lift');
  const txOf = (out: string) => /^committed ([0-9a-f]{64}) at height (\d+)/.exec(out)!;
  const [imposeTx, liftTx] = [txOf(imposed), txOf(lifted)];

  // A member added by org0's admin (cosigned), made a regulator by a proposal.
  const keyFile = join(summary.dir, 'newcomer.json');
  const newcomer = (
    JSON.parse(ok(await runCli(['keys', 'generate', '--out', keyFile, '--json']), 'keys')) as {
      address: string;
    }
  ).address;
  ok(
    await call(
      'org.addMember',
      { account: newcomer, roles: ['member'] },
      admins[0]!,
      '--cosign',
      keyFile,
    ),
    'addMember',
  );
  const height = (await httpJson<{ height: number }>(`${rpc}/status`)).body.height;
  const proposed = ok(
    await call(
      'gov.propose',
      {
        actions: [
          { call: 'org.setRoles', args: { account: newcomer, roles: ['member', 'regulator'] } },
        ],
        expiresAtHeight: height + 500,
      },
      admins[1]!,
    ),
    'propose',
  );
  const proposal = Number(/gov\.proposed id=(\d+)/.exec(proposed)?.[1]);
  assert.ok(proposal > 0, proposed);
  for (const admin of [0, 1]) {
    ok(await call('gov.vote', { id: proposal, approve: true }, admins[admin]!), `vote ${admin}`);
  }
  const deciding = ok(
    await call('gov.vote', { id: proposal, approve: true }, admins[2]!),
    'deciding vote',
  );
  assert.match(deciding, /gov\.passed/);
  const voteTx = txOf(deciding);

  // query history: the freeze order's two changes, as a table and as JSON.
  const freezeId = `account/${account.address}`;
  const table = ok(await cli('query', 'history', 'freeze', freezeId), 'query history freeze');
  const lines = table.trim().split('\n');
  assert.match(lines[0]!, new RegExp(`^freeze ${freezeId}: 2 changes from rev 1`));
  assert.match(lines[1]!, /^rev +height +tx +op +call$/);
  assert.match(lines[2]!, new RegExp(`^1 +${imposeTx[2]} +${imposeTx[1]} +0 +freeze\\.impose$`));
  assert.match(lines[3]!, new RegExp(`^2 +${liftTx[2]} +${liftTx[1]} +0 +freeze\\.lift$`));
  const index = JSON.parse(
    ok(await cli('query', 'history', 'freeze', freezeId, '--json'), 'query history --json'),
  ) as HistoryResponse;
  assert.deepEqual(
    index.entries.map((e) => [e.rev, e.height, e.txHash, e.opIndex, e.action]),
    [
      [1, Number(imposeTx[2]), imposeTx[1], 0, null],
      [2, Number(liftTx[2]), liftTx[1], 0, null],
    ],
  );
  assert.equal(index.next, null);
  const page = JSON.parse(
    ok(
      await cli('query', 'history', 'freeze', freezeId, '--from', '2', '--limit', '1', '--json'),
      'a page',
    ),
  ) as HistoryResponse;
  assert.deepEqual([page.entries.map((e) => e.rev), page.next], [[2], null]);

  // The member's history: the governance action is shown with its proposal.
  const memberId = `member/${newcomer}`;
  const memberTable = ok(await cli('query', 'history', 'org', memberId), 'query history org');
  assert.match(memberTable, /\n1 +\d+ +[0-9a-f]{64} +0 +org\.addMember\n/);
  assert.match(
    memberTable,
    new RegExp(
      `\\n2 +${voteTx[2]} +${voteTx[1]} +0 +org\\.setRoles \\(proposal ${proposal} action 0, by gov\\.vote\\)\\n`,
    ),
  );

  // verify history proves both against the genesis file.
  const genesis = ['--genesis', summary.genesis];
  const proven = ok(await cli('verify', 'history', 'org', memberId, ...genesis), 'verify');
  const current = (await state('org', memberId)).value!;
  const out = proven.trim().split('\n');
  assert.match(out[0]!, /^rev 1 at height \d+: org\.addMember \{"account":"[0-9a-f]{40}"/);
  assert.match(
    out[1]!,
    new RegExp(
      `^rev 2 at height ${voteTx[2]}: org\\.setRoles .*\\(proposal ${proposal} action 0, passed by tx ${voteTx[1]} op 0\\)$`,
    ),
  );
  assert.equal(
    out[2],
    `verified: org ${memberId} rev 2, hist ${current.hist}, 2 changes, each proven by a certified block`,
  );
  const json = JSON.parse(
    ok(await cli('verify', 'history', 'freeze', freezeId, ...genesis, '--json'), 'verify --json'),
  ) as VerifiedJson;
  const order2 = (await state('freeze', freezeId)).value!;
  assert.deepEqual(
    [json.verified, json.module, json.id, json.rev, json.hist, json.present],
    [true, 'freeze', freezeId, 2, order2.hist, true],
  );
  assert.deepEqual(
    json.entries.map((e) => [e.rev, e.txHash, `${e.module}.${e.method}`, e.proposal]),
    [
      [1, imposeTx[1], 'freeze.impose', null],
      [2, liftTx[1], 'freeze.lift', null],
    ],
  );
  assert.equal(json.entries[0]!.args.legalBasis, LEGAL_BASIS);
  const memberJson = JSON.parse(
    ok(await cli('verify', 'history', 'org', memberId, '--json'), 'verify member --json'),
  ) as VerifiedJson;
  assert.deepEqual(
    [memberJson.entries[1]!.proposal, memberJson.entries[1]!.action, memberJson.entries[1]!.args],
    [proposal, 0, { account: newcomer, roles: ['member', 'regulator'] }],
  );

  // What cannot be proven fails with one coded line and a non-zero exit.
  const untracked = await cli('verify', 'history', 'bank', account.address, ...genesis);
  assert.equal(untracked.code, 1);
  assert.match(untracked.stderr, /^civitas: .*\[VERIFY_NOT_TRACKED\]\n$/);
  const badId = await cli('query', 'history', 'freeze', 'nonsense');
  assert.equal(badId.code, 1);
  assert.match(badId.stderr, /^civitas: .*\[FREEZE_BAD_ID\]\n$/);
});
