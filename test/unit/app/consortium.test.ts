/**
 * The application layer on its own: permissioned submission, governance, freeze orders,
 * all-or-nothing batches and optimistic concurrency, executed block by block on an
 * in-memory state.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accountStateKey } from '../../../src/app/bank/account.ts';
import { freezeKey, freezeOrderCodec } from '../../../src/app/freeze/state.ts';
import { proposal } from '../../../src/app/gov/state.ts';
import { memberCodec, memberKey } from '../../../src/app/org/state.ts';
import { decodeReceipt, encodeReceipt, type Receipt } from '../../../src/chain/receipt.ts';
import { AppChain, genesisWith, op, type Party, party } from './harness.ts';

const ok = (r: Receipt, what = ''): void => assert.equal(r.code, 'OK', `${what}: ${r.code}`);

/** Four organisations (committee), each with an admin; a regulator org outside the committee. */
function consortium() {
  const admins = [party(), party(), party(), party()];
  const regulator = party();
  const member = party();
  const stranger = party();
  const legalBasis = 'ab'.repeat(32);
  const chain = new AppChain(
    genesisWith({
      accounts: [...admins, regulator, member, stranger].map((who) => ({ who, balance: 1_000n })),
      app: {
        params: { permissioned: true },
        org: [
          ...admins.map((a, i) => ({ id: `org${i}`, name: `Org ${i}`, admins: [a.hex] })),
          {
            id: 'regulator',
            name: 'The regulator',
            committee: false,
            members: [{ account: regulator.hex, roles: ['member', 'regulator'] }],
          },
        ],
      },
    }),
  );
  return { chain, admins, regulator, member, stranger, legalBasis };
}

async function propose(chain: AppChain, by: Party, actions: unknown[], expiresAtHeight: number) {
  const [r] = await chain.block([
    chain.tx(by, [op('gov', 'propose', { actions, expiresAtHeight })]),
  ]);
  ok(r!, 'propose');
  return Number(r!.events.find((e) => e.type === 'gov.proposed')!.attributes[0]![1]);
}

async function vote(chain: AppChain, by: Party, id: number, approve = true) {
  const [r] = await chain.block([chain.tx(by, [op('gov', 'vote', { id, approve })])]);
  return r!;
}

describe('permissioned submission', () => {
  test('an admin adds a member, who may then transact; a stranger may not', async () => {
    const { chain, admins, member, stranger } = consortium();
    const [refused] = await chain.block([
      chain.tx(member, [op('bank', 'transfer', { to: stranger.hex, amount: '1' })]),
    ]);
    assert.equal(refused!.code, 'ORG_NOT_A_MEMBER');
    assert.equal(refused!.failedOp, null);
    const add = op('org', 'addMember', { account: member.hex, roles: ['member'] });
    const [unsigned] = await chain.block([chain.tx(admins[0]!, [add])]);
    assert.equal(unsigned!.code, 'ORG_CONSENT_REQUIRED', 'the new member did not cosign');
    const [added] = await chain.block([chain.tx(admins[0]!, [add], { cosigners: [member] })]);
    ok(added!, 'addMember');
    assert.equal(chain.reads.at(-1), 2, 'addMember names every key it reads: block keys, tx keys');
    assert.deepEqual(chain.get(memberKey(member.address), memberCodec)?.roles, ['member']);
    const [sent] = await chain.block([
      chain.tx(member, [op('bank', 'transfer', { to: stranger.hex, amount: '1' })]),
    ]);
    ok(sent!, 'transfer by the new member');
    const [strangers] = await chain.block([
      chain.tx(stranger, [op('bank', 'transfer', { to: member.hex, amount: '1' })]),
    ]);
    assert.equal(strangers!.code, 'ORG_NOT_A_MEMBER');
    assert.equal(chain.nonce(stranger), 0, 'a refused tx uses no nonce');
  });

  test('an admin cannot grant regulator or act in another organisation', async () => {
    const { chain, admins, member } = consortium();
    const [governed] = await chain.block([
      chain.tx(admins[0]!, [op('org', 'addMember', { account: member.hex, roles: ['regulator'] })]),
    ]);
    assert.equal(governed!.code, 'ORG_ROLE_GOVERNED');
    const [other] = await chain.block([
      chain.tx(admins[1]!, [op('org', 'removeMember', { account: admins[0]!.hex })]),
    ]);
    assert.equal(other!.code, 'ORG_OTHER_ORGANISATION');
  });
});

describe('governance', () => {
  test('making an account a regulator passes with 3 of 4 votes', async () => {
    const { chain, admins, member } = consortium();
    ok(
      (
        await chain.block([
          chain.tx(admins[0]!, [op('org', 'addMember', { account: member.hex })], {
            cosigners: [member],
          }),
        ])
      )[0]!,
    );
    const id = await propose(
      chain,
      admins[0]!,
      [{ call: 'org.setRoles', args: { account: member.hex, roles: ['member', 'regulator'] } }],
      chain.height + 20,
    );
    ok(await vote(chain, admins[0]!, id));
    ok(await vote(chain, admins[1]!, id));
    assert.equal(proposal(chain.view, id)?.status, 'open');
    const deciding = await vote(chain, admins[2]!, id);
    ok(deciding, 'deciding vote');
    // The action's key (the member record) is not derivable from the vote: the vote rolled
    // back, the key was read, and the vote ran again — one read more than the usual two.
    assert.equal(chain.reads.at(-1), 3);
    assert.ok(deciding.events.some((e) => e.type === 'gov.passed'));
    assert.ok(
      deciding.events.some((e) => e.type === 'org.roles_set'),
      'the action ran in the vote',
    );
    assert.deepEqual(chain.get(memberKey(member.address), memberCodec)?.roles, [
      'member',
      'regulator',
    ]);
    // History index: the member record's rev 2 was made by action 0 of the deciding vote
    // (only its successful run: the rolled-back first attempt left nothing).
    assert.deepEqual(
      chain.historyOf(memberKey(member.address)).map((c) => [c.rev, c.opIndex, c.action]),
      [
        [1, 0, null],
        [2, 0, 0],
      ],
    );
    assert.equal((await vote(chain, admins[3]!, id)).code, 'GOV_PROPOSAL_CLOSED');
  });

  test('with 2 of 4 votes the proposal expires and cannot be voted after', async () => {
    const { chain, admins, member } = consortium();
    const id = await propose(
      chain,
      admins[0]!,
      [
        {
          call: 'org.setRoles',
          args: { account: admins[3]!.hex, roles: ['admin', 'member', 'issuer'] },
        },
      ],
      chain.height + 3,
    );
    ok(await vote(chain, admins[0]!, id));
    ok(await vote(chain, admins[1]!, id));
    await chain.advanceTo(chain.height + 3);
    assert.equal((await vote(chain, admins[2]!, id)).code, 'GOV_PROPOSAL_EXPIRED');
    assert.deepEqual(chain.get(memberKey(admins[3]!.address), memberCodec)?.roles, [
      'admin',
      'member',
    ]);
    assert.equal(member.hex.length, 40);
  });

  test('a proposal whose action fails ends failed with the code, and changes nothing', async () => {
    const { chain, admins, member } = consortium();
    const id = await propose(
      chain,
      admins[0]!,
      [
        { call: 'params.set', args: { permissioned: false } },
        // member is not a member: org.setRoles fails, so params.set must be undone too.
        { call: 'org.setRoles', args: { account: member.hex, roles: ['member', 'issuer'] } },
      ],
      chain.height + 20,
    );
    for (const a of admins.slice(0, 2)) ok(await vote(chain, a, id));
    const deciding = await vote(chain, admins[2]!, id);
    ok(deciding, 'the deciding vote itself succeeds');
    const failed = deciding.events.find((e) => e.type === 'gov.failed');
    assert.deepEqual(failed?.attributes, [
      ['id', String(id)],
      ['action', '1'],
      ['code', 'ORG_NOT_MEMBER'],
    ]);
    assert.ok(
      !deciding.events.some((e) => e.type === 'params.changed'),
      'no event of undone actions',
    );
    const p = proposal(chain.view, id)!;
    assert.equal(p.status, 'failed');
    assert.deepEqual(p.failure, { index: 1, code: 'ORG_NOT_MEMBER' });
    // Still permissioned: the first action was rolled back with the second.
    const [r] = await chain.block([
      chain.tx(member, [op('bank', 'transfer', { to: admins[0]!.hex, amount: '1' })]),
    ]);
    assert.equal(r!.code, 'ORG_NOT_A_MEMBER');
  });

  test('a passed change of committee cancels the other open proposals', async () => {
    const { chain, admins, member } = consortium();
    const other = await propose(
      chain,
      admins[1]!,
      [{ call: 'params.set', args: { freezeThreshold: 2 } }],
      chain.height + 50,
    );
    const id = await propose(
      chain,
      admins[0]!,
      [{ call: 'org.register', args: { id: 'newcomer', name: 'Newcomer', admins: [member.hex] } }],
      chain.height + 50,
    );
    for (const a of admins.slice(0, 3)) ok(await vote(chain, a, id));
    assert.equal(proposal(chain.view, id)?.status, 'passed');
    assert.equal(proposal(chain.view, other)?.status, 'cancelled');
    assert.equal((await vote(chain, admins[2]!, other)).code, 'GOV_PROPOSAL_CLOSED');
    // The newcomer's admin now votes in a new proposal's committee of 5.
    const next = await propose(
      chain,
      member,
      [{ call: 'params.set', args: { freezeThreshold: 1 } }],
      chain.height + 50,
    );
    assert.equal(proposal(chain.view, next)?.threshold, 4);
  });

  test('a stranger cannot propose, a non-proposer cannot cancel', async () => {
    const { chain, admins, regulator } = consortium();
    const [r] = await chain.block([
      chain.tx(regulator, [
        op('gov', 'propose', { actions: [{ call: 'params.set', args: {} }], expiresAtHeight: 99 }),
      ]),
    ]);
    assert.equal(r!.code, 'GOV_NOT_COMMITTEE');
    const id = await propose(
      chain,
      admins[0]!,
      [{ call: 'params.set', args: {} }],
      chain.height + 9,
    );
    const [c] = await chain.block([chain.tx(admins[1]!, [op('gov', 'cancel', { id })])]);
    assert.equal(c!.code, 'GOV_NOT_PROPOSER');
    const [mine] = await chain.block([chain.tx(admins[0]!, [op('gov', 'cancel', { id })])]);
    ok(mine!);
  });
});

describe('freeze', () => {
  test('a frozen account cannot send; the lift restores it; the order keeps its history', async () => {
    const { chain, admins, regulator, legalBasis } = consortium();
    const target = admins[1]!;
    const [noBasis] = await chain.block([
      chain.tx(regulator, [
        op('freeze', 'impose', {
          kind: 'account',
          id: target.hex,
          legalBasis: '00'.repeat(32),
          reason: 'x',
        }),
      ]),
    ]);
    assert.equal(noBasis!.code, 'FREEZE_NO_LEGAL_BASIS');
    const [notRegulator] = await chain.block([
      chain.tx(admins[0]!, [
        op('freeze', 'impose', { kind: 'account', id: target.hex, legalBasis, reason: 'x' }),
      ]),
    ]);
    assert.equal(notRegulator!.code, 'FREEZE_NOT_REGULATOR');
    const [imposed] = await chain.block([
      chain.tx(regulator, [
        op('freeze', 'impose', {
          kind: 'account',
          id: target.hex,
          legalBasis,
          reason: 'court order 17',
        }),
      ]),
    ]);
    ok(imposed!, 'impose');
    assert.ok(imposed!.events.some((e) => e.type === 'freeze.imposed'));
    const [refused] = await chain.block([
      chain.tx(target, [op('bank', 'transfer', { to: admins[0]!.hex, amount: '5' })]),
    ]);
    assert.equal(refused!.code, 'FREEZE_ACTIVE');
    assert.equal(chain.balance(target), 1_000n);
    // Observation goes on: the frozen account still receives.
    ok(
      (
        await chain.block([
          chain.tx(admins[0]!, [op('bank', 'transfer', { to: target.hex, amount: '5' })]),
        ])
      )[0]!,
    );
    ok(
      (
        await chain.block([
          chain.tx(regulator, [op('freeze', 'lift', { kind: 'account', id: target.hex })]),
        ])
      )[0]!,
      'lift',
    );
    ok(
      (
        await chain.block([
          chain.tx(target, [op('bank', 'transfer', { to: admins[0]!.hex, amount: '5' })]),
        ])
      )[0]!,
      'after the lift',
    );
    const order = chain.get(freezeKey('account', target.address), freezeOrderCodec)!;
    assert.equal(order.active, false);
    assert.equal(order.history.rev, 2);
    // The executor reported both changes (not the failed impositions): the chain replays.
    const key = freezeKey('account', target.address);
    assert.deepEqual(
      chain.historyOf(key).map((c) => [c.rev, c.opIndex, c.action]),
      [
        [1, 0, null],
        [2, 0, null],
      ],
    );
    assert.deepEqual(chain.replayHistory(key), order.history);
  });
});

describe('freeze within one block', () => {
  test('a freeze imposed earlier in a block stops a transfer later in the same block', async () => {
    const { chain, admins, regulator, legalBasis } = consortium();
    const target = admins[1]!;
    const receipts = await chain.block([
      chain.tx(target, [op('bank', 'transfer', { to: admins[0]!.hex, amount: '1' })]),
      chain.tx(regulator, [
        op('freeze', 'impose', { kind: 'account', id: target.hex, legalBasis, reason: 'r' }),
      ]),
      chain.tx(target, [op('bank', 'transfer', { to: admins[0]!.hex, amount: '1' })]),
    ]);
    assert.deepEqual(
      receipts.map((r) => r.code),
      ['OK', 'OK', 'FREEZE_ACTIVE'],
    );
    // No freeze was active when the block began, so the transfers named no order key; the
    // impose named it, so the third tx finds it loaded: two reads (block keys, named keys).
    assert.equal(chain.reads.at(-1), 2);
    assert.equal(chain.balance(target), 999n);
  });
});

describe('transactions v2', () => {
  test('a 2-op batch whose second op fails changes nothing, not even the nonce', async () => {
    const { chain, admins } = consortium();
    const [a, b] = [admins[0]!, admins[1]!];
    const before = new Map(chain.values);
    const [r] = await chain.block([
      chain.tx(a, [
        op('bank', 'transfer', { to: b.hex, amount: '10' }),
        op('bank', 'transfer', { to: b.hex, amount: '5000' }),
      ]),
    ]);
    assert.equal(r!.code, 'BANK_INSUFFICIENT_FUNDS');
    assert.equal(r!.failedOp, 1);
    assert.deepEqual(r!.events, []);
    assert.deepEqual(chain.values, before, 'state unchanged');
    assert.equal(chain.nonce(a), 0);
    const [both] = await chain.block([
      chain.tx(a, [
        op('bank', 'transfer', { to: b.hex, amount: '10' }),
        op('bank', 'transfer', { to: b.hex, amount: '20' }),
      ]),
    ]);
    ok(both!);
    assert.equal(chain.balance(b), 1_030n);
    assert.equal(chain.nonce(a), 1, 'only the sender nonce moves, once');
  });

  test('an op that expects a stale revision fails with STALE_REV', async () => {
    const { chain, regulator, admins, legalBasis } = consortium();
    const id = admins[2]!.hex;
    const impose = { ...op('freeze', 'impose', { kind: 'account', id, legalBasis, reason: 'r' }) };
    ok((await chain.block([chain.tx(regulator, [{ ...impose, expectRev: 0 }])]))[0]!);
    const lift = op('freeze', 'lift', { kind: 'account', id });
    const [stale] = await chain.block([chain.tx(regulator, [{ ...lift, expectRev: 0 }])]);
    assert.equal(stale!.code, 'STALE_REV');
    ok((await chain.block([chain.tx(regulator, [{ ...lift, expectRev: 1 }])]))[0]!);
  });

  test('unknown methods and undecodable args fail with the op index', async () => {
    const { chain, admins } = consortium();
    const [r] = await chain.block([
      chain.tx(admins[0]!, [
        op('bank', 'transfer', { to: admins[1]!.hex, amount: '1' }),
        { module: 'bank', method: 'mint', args: new Uint8Array(0) },
      ]),
    ]);
    assert.equal(r!.code, 'APP_UNKNOWN_METHOD');
    assert.equal(r!.failedOp, 1);
    assert.equal(chain.balance(admins[1]!), 1_000n);
    assert.ok(accountStateKey(admins[0]!.address).length > 0);
  });
});

describe('receipt limits', () => {
  test('a tx whose events would not decode fails with APP_EVENTS_TOO_LARGE and changes nothing', async () => {
    const { chain, admins, regulator, legalBasis } = consortium();
    const target = admins[1]!;
    // 200 characters are within the reason's limit, but 600 bytes exceed an event string's 256.
    const reason = '€'.repeat(200);
    const [tooLarge] = await chain.block([
      chain.tx(regulator, [
        op('freeze', 'impose', { kind: 'account', id: target.hex, legalBasis, reason }),
      ]),
    ]);
    assert.equal(tooLarge!.code, 'APP_EVENTS_TOO_LARGE');
    assert.deepEqual(decodeReceipt(encodeReceipt(tooLarge!)), tooLarge, 'the receipt decodes');
    assert.equal(chain.get(freezeKey('account', target.address), freezeOrderCodec), undefined);
    const [fits] = await chain.block([
      chain.tx(regulator, [
        op('freeze', 'impose', {
          kind: 'account',
          id: target.hex,
          legalBasis,
          reason: '€'.repeat(85),
        }),
      ]),
    ]);
    ok(fits!, '255 bytes fit');
  });
});
