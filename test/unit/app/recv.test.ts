/**
 * Receivables (src/app/recv) on the in-memory chain: a core enterprise (issuer) owes its
 * supplier S1 1,000; S1 splits 400 off to S2; S1's piece is financed by a bank in one
 * multi-party tx; a regulator freezes a piece; the debtor settles pieces by paying their
 * holders. After every step the live pieces of the root add up to its outstanding amount,
 * and every piece's history replays from the txs that changed it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recvModule } from '../../../src/app/recv/index.ts';
import { type Piece, pieceCodec, pieceKey } from '../../../src/app/recv/state.ts';
import { keyId } from '../../../src/app/state-view.ts';
import type { Receipt } from '../../../src/chain/receipt.ts';
import type { TxOpInput } from '../../../src/chain/tx.ts';
import { encode } from '../../../src/codec/writer.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { AppChain, genesisWith, op, type Party, party } from './harness.ts';

const ok = (r: Receipt | undefined, what = ''): void =>
  assert.equal(r?.code, 'OK', `${what}: ${r?.code}`);

const legalBasis = 'cd'.repeat(32);

function world() {
  const debtor = party();
  const clerk = party();
  const s1 = party();
  const s2 = party();
  const bank = party();
  const regulator = party();
  const chain = new AppChain(
    genesisWith({
      accounts: [
        { who: debtor, balance: 5_000n },
        { who: clerk, balance: 100n },
        { who: s1, balance: 100n },
        { who: s2, balance: 100n },
        { who: bank, balance: 2_000n },
        { who: regulator, balance: 100n },
      ],
      app: {
        params: { permissioned: true },
        org: [
          {
            id: 'core',
            name: 'Core enterprise',
            members: [
              { account: debtor.hex, roles: ['member', 'issuer'] },
              { account: clerk.hex, roles: ['member'] },
            ],
          },
          { id: 'supplier1', name: 'S1', members: [{ account: s1.hex, roles: ['member'] }] },
          { id: 'supplier2', name: 'S2', members: [{ account: s2.hex, roles: ['member'] }] },
          { id: 'bank', name: 'Bank', members: [{ account: bank.hex, roles: ['member'] }] },
          {
            id: 'regulator',
            name: 'Regulator',
            committee: false,
            members: [{ account: regulator.hex, roles: ['member', 'regulator'] }],
          },
        ],
      },
    }),
  );
  return { chain, debtor, clerk, s1, s2, bank, regulator };
}

function pieceOf(chain: AppChain, id: string): Piece {
  const p = chain.get(pieceKey(id), pieceCodec);
  assert.ok(p !== undefined, `piece ${id} exists`);
  return p;
}

/** The live pieces of `root` (among `ids`) add up to its outstanding = face − settled. */
function assertInvariant(chain: AppChain, root: string, ids: readonly string[]): void {
  const pieces = ids.map((id) => pieceOf(chain, id)).filter((p) => p.root === root);
  const totals = pieceOf(chain, root).totals!;
  const live = pieces.filter((p) => p.status === 'live').reduce((s, p) => s + p.amount, 0n);
  const settled = pieces.filter((p) => p.status === 'settled').reduce((s, p) => s + p.amount, 0n);
  assert.equal(live, totals.outstanding, 'live pieces = outstanding');
  assert.equal(totals.face - settled, totals.outstanding, 'face - settled = outstanding');
}

/** Each piece's stored history is what the txs that changed it replay to. */
function assertHistories(chain: AppChain, ids: readonly string[]): void {
  for (const id of ids) {
    assert.deepEqual(chain.replayHistory(pieceKey(id)), pieceOf(chain, id).history, id);
  }
}

function attrs(r: Receipt | undefined, type: string): Record<string, string> {
  const e = r?.events.find((x) => x.type === type);
  assert.ok(e !== undefined, `event ${type}`);
  return Object.fromEntries(e.attributes);
}

/** One tx as its own block; its receipt. */
async function one(chain: AppChain, from: Party, ops: TxOpInput[]): Promise<Receipt> {
  const [r] = await chain.block([chain.tx(from, ops)]);
  return r!;
}

const issueOp = (id: string, to: Party, amount: string, dueHeight: number) =>
  op('recv', 'issue', { id, to: to.hex, amount, dueHeight });

describe('recv: the supply-chain finance story', () => {
  test('issue, split, finance, freeze, settle, with the invariant after each step', async () => {
    const { chain, debtor, clerk, s1, s2, bank, regulator } = world();
    const ids = ['inv-1', 'inv-1.s2'];
    const due = chain.height + 50;

    // Issue: only the issuer, only with the supplier's signature, due after the block.
    const unsigned = await one(chain, debtor, [issueOp('inv-1', s1, '1000', due)]);
    assert.equal(unsigned.code, 'RECV_CONSENT_REQUIRED');
    const notIssuer = await chain.block([
      chain.tx(clerk, [issueOp('inv-1', s1, '1000', due)], { cosigners: [s1] }),
    ]);
    assert.equal(notIssuer[0]!.code, 'RECV_NOT_ISSUER');
    const pastDue = await chain.block([
      chain.tx(debtor, [issueOp('inv-1', s1, '1000', chain.height + 1)], { cosigners: [s1] }),
    ]);
    assert.equal(pastDue[0]!.code, 'RECV_BAD_DUE_HEIGHT', 'due at the issuing block');
    assert.equal(chain.get(pieceKey('inv-1'), pieceCodec), undefined, 'nothing issued');

    const [issued] = await chain.block([
      chain.tx(debtor, [issueOp('inv-1', s1, '1000', due)], { cosigners: [s1] }),
    ]);
    ok(issued, 'issue');
    assert.deepEqual(attrs(issued, 'recv.issued'), {
      recv: 'inv-1',
      debtor: debtor.hex,
      holder: s1.hex,
      amount: '1000',
      dueHeight: String(due),
      rev: '1',
    });
    const root = pieceOf(chain, 'inv-1');
    assert.deepEqual(recvModule.objects.toJson(pieceCodec.encode(root), 'inv-1'), {
      id: 'inv-1',
      root: 'inv-1',
      debtor: debtor.hex,
      holder: s1.hex,
      amount: '1000',
      dueHeight: due,
      status: 'live',
      face: '1000',
      outstanding: '1000',
      rev: 1,
      hist: Buffer.from(root.history.hist).toString('hex'),
    });
    assertInvariant(chain, 'inv-1', ['inv-1']);
    const again = await chain.block([
      chain.tx(debtor, [issueOp('inv-1', s2, '5', due)], { cosigners: [s2] }),
    ]);
    assert.equal(again[0]!.code, 'RECV_EXISTS');

    // Split: only the holder, and never the whole piece or more.
    const splitOp = (amount: string, newId = 'inv-1.s2') =>
      op('recv', 'split', { id: 'inv-1', newId, amount, to: s2.hex });
    assert.equal((await one(chain, s2, [splitOp('400')])).code, 'RECV_NOT_HOLDER');
    assert.equal((await one(chain, s1, [splitOp('1000')])).code, 'RECV_OVER_SPLIT');
    assert.equal((await one(chain, s1, [splitOp('1001')])).code, 'RECV_OVER_SPLIT');
    const split = await one(chain, s1, [splitOp('400')]);
    ok(split, 'split');
    assert.deepEqual(attrs(split, 'recv.split'), {
      recv: 'inv-1',
      newId: 'inv-1.s2',
      root: 'inv-1',
      holder: s1.hex,
      to: s2.hex,
      amount: '400',
      remaining: '600',
      rev: '2',
    });
    assert.equal(pieceOf(chain, 'inv-1').amount, 600n);
    const carved = pieceOf(chain, 'inv-1.s2');
    assert.deepEqual(
      [carved.root, carved.parent, carved.totals, carved.holder, carved.amount, carved.dueHeight],
      ['inv-1', 'inv-1', null, s2.address, 400n, due],
    );
    assert.deepEqual(carved.debtor, debtor.address);
    const carvedJson = recvModule.objects.toJson(pieceCodec.encode(carved), 'inv-1.s2');
    assert.equal(carvedJson.parent, 'inv-1');
    assert.equal(carvedJson.face, undefined, 'face and outstanding on the root piece only');
    assert.equal((await one(chain, s1, [splitOp('1', 'inv-1.s2')])).code, 'RECV_EXISTS');
    assert.equal((await one(chain, s1, [splitOp('1', 'inv-1')])).code, 'RECV_EXISTS');
    assertInvariant(chain, 'inv-1', ids);

    // Financing: the bank buys S1's piece for 570, in one tx S1 cosigns. If the bank cannot
    // pay, the receivable does not move either.
    const finance = (price: string) => [
      op('recv', 'transfer', { id: 'inv-1', to: bank.hex }),
      op('bank', 'transfer', { to: s1.hex, amount: price }),
    ];
    const [broke] = await chain.block([chain.tx(bank, finance('2001'), { cosigners: [s1] })]);
    assert.equal(broke!.code, 'BANK_INSUFFICIENT_FUNDS');
    assert.equal(broke!.failedOp, 1);
    assert.deepEqual(pieceOf(chain, 'inv-1').holder, s1.address, 'the piece did not move');
    assert.equal(pieceOf(chain, 'inv-1').history.rev, 2);
    assert.equal(chain.balance(bank), 2_000n);
    assert.equal((await one(chain, bank, finance('570'))).code, 'RECV_NOT_HOLDER');
    const [financed] = await chain.block([chain.tx(bank, finance('570'), { cosigners: [s1] })]);
    ok(financed, 'financing');
    assert.deepEqual(attrs(financed, 'recv.transferred'), {
      recv: 'inv-1',
      root: 'inv-1',
      from: s1.hex,
      to: bank.hex,
      amount: '600',
      rev: '3',
    });
    assert.deepEqual(pieceOf(chain, 'inv-1').holder, bank.address);
    assert.equal(chain.balance(s1), 670n);
    assert.equal(chain.balance(bank), 1_430n);
    assertInvariant(chain, 'inv-1', ids);

    // The regulator freezes S2's piece: it cannot be settled, moved or split.
    const impose = op('freeze', 'impose', {
      kind: 'recv',
      id: 'inv-1.s2',
      legalBasis,
      reason: 'r',
    });
    ok(await one(chain, regulator, [impose]), 'freeze');
    const settleS2 = op('recv', 'settle', { id: 'inv-1.s2' });
    assert.equal((await one(chain, debtor, [settleS2])).code, 'FREEZE_ACTIVE');
    const moveS2 = op('recv', 'transfer', { id: 'inv-1.s2', to: s1.hex });
    assert.equal((await one(chain, s2, [moveS2])).code, 'FREEZE_ACTIVE');
    const splitS2 = op('recv', 'split', { id: 'inv-1.s2', newId: 'x', amount: '1', to: s1.hex });
    assert.equal((await one(chain, s2, [splitS2])).code, 'FREEZE_ACTIVE');
    assert.equal(chain.balance(s2), 100n);
    assertInvariant(chain, 'inv-1', ids);

    // The debtor settles the bank's piece (the root): the bank is paid 600.
    const settleRoot = op('recv', 'settle', { id: 'inv-1' });
    assert.equal((await one(chain, bank, [settleRoot])).code, 'RECV_NOT_DEBTOR');
    const settled = await one(chain, debtor, [settleRoot]);
    ok(settled, 'settle the root piece');
    assert.deepEqual(attrs(settled, 'recv.settled'), {
      recv: 'inv-1',
      root: 'inv-1',
      debtor: debtor.hex,
      holder: bank.hex,
      amount: '600',
      outstanding: '400',
      overdue: 'false',
      rev: '4',
    });
    assert.equal(chain.balance(bank), 2_030n);
    assert.equal(chain.balance(debtor), 4_400n);
    const rootAfter = pieceOf(chain, 'inv-1');
    assert.equal(rootAfter.status, 'settled');
    assert.deepEqual(rootAfter.totals, { face: 1000n, outstanding: 400n });
    assertInvariant(chain, 'inv-1', ids);

    // Settled is final: no second payment, no move, no split.
    assert.equal((await one(chain, debtor, [settleRoot])).code, 'RECV_SETTLED');
    assert.equal(chain.balance(debtor), 4_400n, 'paid once');
    const moveRoot = op('recv', 'transfer', { id: 'inv-1', to: s1.hex });
    assert.equal((await one(chain, bank, [moveRoot])).code, 'RECV_SETTLED');
    const splitRoot = op('recv', 'split', { id: 'inv-1', newId: 'y', amount: '1', to: s1.hex });
    assert.equal((await one(chain, bank, [splitRoot])).code, 'RECV_SETTLED');

    // Lifted, S2's piece is settled too (late): the root's outstanding falls to 0.
    ok(await one(chain, regulator, [op('freeze', 'lift', { kind: 'recv', id: 'inv-1.s2' })]));
    await chain.advanceTo(due + 1);
    const late = await one(chain, debtor, [settleS2]);
    ok(late, 'settle the split piece');
    assert.equal(attrs(late, 'recv.settled').overdue, 'true');
    assert.equal(attrs(late, 'recv.settled').outstanding, '0');
    assert.equal(chain.balance(s2), 500n);
    assert.equal(chain.balance(debtor), 4_000n);
    assert.deepEqual(pieceOf(chain, 'inv-1').totals, { face: 1000n, outstanding: 0n });
    assert.equal(pieceOf(chain, 'inv-1').history.rev, 5, 'the root recorded the settlement');
    assertInvariant(chain, 'inv-1', ids);

    // Every change of both pieces is in the history index and replays to the stored chain.
    assert.deepEqual(
      chain.historyOf(pieceKey('inv-1')).map((c) => c.rev),
      [1, 2, 3, 4, 5],
    );
    assertHistories(chain, ids);
  });
});

describe('recv: settlement', () => {
  /** inv-2 (300) issued to S1, 100 split off to S2 as inv-2.a. */
  async function issued() {
    const w = world();
    const { chain, debtor, s1, s2 } = w;
    ok(
      (
        await chain.block([
          chain.tx(debtor, [issueOp('inv-2', s1, '300', 100)], { cosigners: [s1] }),
        ])
      )[0],
      'issue',
    );
    ok(
      await one(chain, s1, [
        op('recv', 'split', { id: 'inv-2', newId: 'inv-2.a', amount: '100', to: s2.hex }),
      ]),
      'split',
    );
    return w;
  }

  test('a debtor without the funds cannot settle, and nothing changes', async () => {
    const { chain, debtor, s2 } = await issued();
    ok(await one(chain, debtor, [op('bank', 'transfer', { to: s2.hex, amount: '4950' })]));
    const before = new Map(chain.values);
    const r = await one(chain, debtor, [op('recv', 'settle', { id: 'inv-2.a' })]);
    assert.equal(r.code, 'BANK_INSUFFICIENT_FUNDS');
    assert.deepEqual(r.events, []);
    assert.deepEqual(chain.values, before, 'state unchanged');
    assertInvariant(chain, 'inv-2', ['inv-2', 'inv-2.a']);
  });

  test('a frozen debtor account cannot pay a settlement', async () => {
    const { chain, debtor, regulator } = await issued();
    const freezeDebtor = op('freeze', 'impose', {
      kind: 'account',
      id: debtor.hex,
      legalBasis,
      reason: 'r',
    });
    ok(await one(chain, regulator, [freezeDebtor]));
    const r = await one(chain, debtor, [op('recv', 'settle', { id: 'inv-2.a' })]);
    assert.equal(r.code, 'FREEZE_ACTIVE');
    assert.equal(pieceOf(chain, 'inv-2.a').status, 'live');
  });

  test('the debtor may sign as a cosigner; the root and the holder cost one more read', async () => {
    const { chain, debtor, s1, s2, bank } = await issued();
    const [r] = await chain.block([
      chain.tx(bank, [op('recv', 'settle', { id: 'inv-2.a' })], { cosigners: [debtor] }),
    ]);
    ok(r, 'settle signed by the debtor as cosigner');
    // Block keys, the named keys, then the root piece and S2's account together: one round
    // for both (a read of each in turn would take two).
    assert.equal(chain.reads.at(-1), 3);
    assert.equal(chain.balance(s2), 200n);
    assert.equal(chain.balance(debtor), 4_900n);
    assert.equal(chain.balance(bank), 2_000n, 'the sender pays nothing');
    // The root piece settled by its holder's cosigned tx: everything named, no extra round.
    const [root] = await chain.block([
      chain.tx(debtor, [op('recv', 'settle', { id: 'inv-2' })], { cosigners: [s1] }),
    ]);
    ok(root, 'settle the root');
    assert.equal(chain.reads.at(-1), 2);
    assert.equal(chain.balance(s1), 300n);
    assertInvariant(chain, 'inv-2', ['inv-2', 'inv-2.a']);
    assertHistories(chain, ['inv-2', 'inv-2.a']);
  });

  test('a frozen root piece does not stop the settlement of another piece', async () => {
    const { chain, debtor, s2, regulator } = await issued();
    const freezeRoot = op('freeze', 'impose', {
      kind: 'recv',
      id: 'inv-2',
      legalBasis,
      reason: 'r',
    });
    ok(await one(chain, regulator, [freezeRoot]));
    ok(await one(chain, debtor, [op('recv', 'settle', { id: 'inv-2.a' })]), 'settle inv-2.a');
    assert.equal(chain.balance(s2), 200n);
    assert.deepEqual(pieceOf(chain, 'inv-2').totals, { face: 300n, outstanding: 200n });
    const settleRoot = op('recv', 'settle', { id: 'inv-2' });
    assert.equal((await one(chain, debtor, [settleRoot])).code, 'FREEZE_ACTIVE');
    assertInvariant(chain, 'inv-2', ['inv-2', 'inv-2.a']);
    assertHistories(chain, ['inv-2', 'inv-2.a']);
  });

  test('a piece whose root is missing is refused, not trusted', async () => {
    const { chain, debtor, s1 } = world();
    const orphan: Piece = {
      root: 'gone',
      parent: 'gone',
      totals: null,
      debtor: debtor.address,
      holder: s1.address,
      amount: 5n,
      dueHeight: 10,
      status: 'live',
      history: { rev: 1, hist: new Uint8Array(32) },
    };
    chain.values.set(keyId(pieceKey('orphan')), pieceCodec.encode(orphan));
    const r = await one(chain, debtor, [op('recv', 'settle', { id: 'orphan' })]);
    assert.equal(r.code, 'RECV_NOT_FOUND');
    assert.equal(chain.balance(s1), 100n);
  });
});

describe('recv: rules of every call', () => {
  test('unknown pieces, stale revisions, a failed op rolling back the batch', async () => {
    const { chain, debtor, s1, s2 } = world();
    ok(
      (
        await chain.block([
          chain.tx(debtor, [issueOp('inv-3', s1, '50', 100)], { cosigners: [s1] }),
        ])
      )[0],
    );
    for (const call of [
      op('recv', 'settle', { id: 'nope' }),
      op('recv', 'transfer', { id: 'nope', to: s2.hex }),
      op('recv', 'split', { id: 'nope', newId: 'nope2', amount: '1', to: s2.hex }),
    ]) {
      assert.equal((await one(chain, s1, [call])).code, 'RECV_NOT_FOUND', call.method);
    }
    const move = op('recv', 'transfer', { id: 'inv-3', to: s2.hex });
    assert.equal((await one(chain, s1, [{ ...move, expectRev: 0 }])).code, 'STALE_REV');
    const issueAt = { ...issueOp('inv-4', s1, '1', 100), expectRev: 1 };
    const [staleIssue] = await chain.block([chain.tx(debtor, [issueAt], { cosigners: [s1] })]);
    assert.equal(staleIssue!.code, 'STALE_REV', 'a new piece is at revision 0');

    // A batch whose second op fails undoes the first: no split piece, no move.
    const before = new Map(chain.values);
    const r = await one(chain, s1, [
      op('recv', 'split', { id: 'inv-3', newId: 'inv-3.a', amount: '20', to: s2.hex }),
      op('recv', 'transfer', { id: 'inv-3.a', to: debtor.hex }),
    ]);
    assert.equal(r.code, 'RECV_NOT_HOLDER', 'S2 holds the new piece, S1 did not sign for it');
    assert.equal(r.failedOp, 1);
    assert.deepEqual(chain.values, before);
    assert.equal(chain.get(pieceKey('inv-3.a'), pieceCodec), undefined);
    assert.equal(chain.historyOf(pieceKey('inv-3')).length, 1, 'no change reported');

    ok(await one(chain, s1, [{ ...move, expectRev: 1 }]), 'the expected revision');
    assertHistories(chain, ['inv-3']);
    assertInvariant(chain, 'inv-3', ['inv-3']);
  });

  test('args: JSON and bytes are checked, ids follow the object-id rule', () => {
    const { issue, split, settle } = recvModule.methods;
    const to = '11'.repeat(20);
    const rejects = (f: () => unknown, code: string) =>
      assert.throws(f, (e: unknown) => isCivitasError(e) && e.code === code);
    rejects(
      () => issue!.args.fromJson({ id: 'a', to, amount: '0', dueHeight: 9 }),
      'RECV_BAD_ARGS',
    );
    rejects(
      () => issue!.args.fromJson({ id: 'a/b', to, amount: '1', dueHeight: 9 }),
      'RECV_BAD_ARGS',
    );
    rejects(() => issue!.args.fromJson({ id: 'a', to, amount: 1, dueHeight: 9 }), 'RECV_BAD_ARGS');
    rejects(
      () => issue!.args.fromJson({ id: 'a', to, amount: '1', dueHeight: -1 }),
      'RECV_BAD_ARGS',
    );
    rejects(() => settle!.args.fromJson({ id: 'a', extra: 1 }), 'RECV_BAD_ARGS');
    rejects(() => split!.args.fromJson({ id: 'a', newId: 'b', amount: '0', to }), 'RECV_BAD_ARGS');
    const zero = split!.args.encode({ id: 'a', newId: 'b', amount: 0n, to: new Uint8Array(20) });
    rejects(() => split!.args.decode(zero), 'RECV_BAD_ARGS');
    rejects(() => settle!.args.decode(encode((w) => w.string('-x'))), 'RECV_BAD_ARGS');
    const args = { id: 'inv:9', newId: 'inv:9.b', amount: 7n, to: new Uint8Array(20).fill(0x11) };
    assert.deepEqual(split!.args.decode(split!.args.encode(args)), args);
    assert.deepEqual(split!.args.toJson(args), {
      id: 'inv:9',
      newId: 'inv:9.b',
      amount: '7',
      to,
    });
    rejects(() => recvModule.objects.key('bad id'), 'RECV_BAD_ID');
    assert.deepEqual(recvModule.objects.key('inv-1'), pieceKey('inv-1'));
  });

  test('undecodable args fail the op with RECV_BAD_ARGS', async () => {
    const { chain, s1 } = world();
    const { split } = recvModule.methods;
    const bytes = split!.args.encode({ id: 'a', newId: 'b', amount: 0n, to: s1.address });
    const r = await one(chain, s1, [{ module: 'recv', method: 'split', args: bytes }]);
    assert.equal(r.code, 'RECV_BAD_ARGS');
    assert.equal(r.failedOp, 0);
  });

  test('the piece codec refuses unknown origins and statuses', () => {
    const p: Piece = {
      root: 'r',
      parent: null,
      totals: { face: 3n, outstanding: 2n },
      debtor: new Uint8Array(20),
      holder: new Uint8Array(20).fill(2),
      amount: 2n,
      dueHeight: 4,
      status: 'settled',
      history: { rev: 3, hist: new Uint8Array(32).fill(9) },
    };
    const bytes = pieceCodec.encode(p);
    assert.deepEqual(pieceCodec.decode(bytes), p);
    const badOrigin = bytes.slice();
    badOrigin[3] = 7; // version, length of "r", "r", then the origin tag
    assert.throws(() => pieceCodec.decode(badOrigin), /unknown origin/);
    const badStatus = bytes.slice();
    badStatus[bytes.length - 34] = 2; // the status byte precedes rev (1 byte) and hist (32)
    assert.throws(() => pieceCodec.decode(badStatus), /status/);
  });
});
