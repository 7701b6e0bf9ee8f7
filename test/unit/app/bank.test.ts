/**
 * Execution of bank transfers: balances move; every failure (bad nonce, insufficient funds,
 * unknown method, bad args, overflow, a v2 tx that is not a single transfer) is a failed
 * receipt with its code, names no failed op, and changes nothing,
 * not even the sender's nonce; a self-transfer only bumps the nonce. Checked on the pure
 * executor and end-to-end through a ledger commit and reopen.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type Account,
  accountStateKey,
  decodeAccount,
  EMPTY_ACCOUNT,
  encodeAccount,
  getAccount,
  MAX_AMOUNT,
} from '../../../src/app/bank/account.ts';
import {
  decodeTransferArgs,
  encodeTransferArgs,
  transferOp,
} from '../../../src/app/bank/transfer.ts';
import { executeBlock } from '../../../src/app/executor.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { civitasApp } from '../../../src/app/registry.ts';
import {
  addressOf,
  DEFAULT_PARAMS,
  makeTx,
  makeValidatorSet,
  type Tx,
  type TxOp,
  txHash,
} from '../../../src/chain/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { generateKeyPair } from '../../../src/crypto/ed25519.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import {
  accountAddress,
  commitNext,
  makeTestChain,
  signedTx,
  type TestChain,
  transferTx,
} from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

/** An in-memory state: raw account key (hex) → encoded account. */
function memoryState(accounts: Array<[Uint8Array, Account]>) {
  const map = new Map<string, Uint8Array>();
  for (const [address, account] of accounts) {
    map.set(toHex(accountStateKey(address)), encodeAccount(account));
  }
  let reads = 0;
  return {
    reads: () => reads,
    read: async (keys: readonly Uint8Array[]) => {
      reads++;
      return keys.map((k) => map.get(toHex(k)));
    },
  };
}

async function run(txs: Tx[], accounts: Array<[Uint8Array, Account]>) {
  const state = memoryState(accounts);
  const executed = await executeBlock(civitasApp(), txs, txs.map(txHash), 1, state.read, {
    params: DEFAULT_PARAMS,
    validators: makeValidatorSet([new Uint8Array(32).fill(1)]),
    blockHash: () => undefined,
    signedSince: () => new Set(),
  });
  const result = {
    receipts: executed.receipts,
    changes: new Map(executed.changes.map((c) => [toHex(c.key), c])),
  };
  const after = (address: Uint8Array): Account | undefined => {
    const changed = result.changes.get(toHex(accountStateKey(address)));
    return changed === undefined ? undefined : decodeAccount(changed.value);
  };
  return { ...result, after, reads: state.reads() };
}

const chain: TestChain = makeTestChain({ accounts: 3 });
const [a, b, c] = [0, 1, 2].map((i) => accountAddress(chain, i)) as [
  Uint8Array,
  Uint8Array,
  Uint8Array,
];

/** A v2 tx from account 0 carrying `ops`, cosigned by account 2. */
function v2Transfer(ops: readonly TxOp[], nonce: number): Tx {
  const [from, cosigner] = [chain.accountKeys[0]!, chain.accountKeys[2]!];
  return makeTx(
    {
      chainId: chain.genesis.chainId,
      sender: from.publicKey,
      nonce,
      expiryHeight: 1_000_000,
      ops,
      cosigners: [cosigner.publicKey],
    },
    from.secretKey,
    [cosigner.secretKey],
  );
}

describe('executor', () => {
  test('a transfer moves the amount, bumps the sender nonce and emits an event', async () => {
    const tx = transferTx(chain, 0, b, 300n, 0);
    const r = await run([tx], [[a, { balance: 1000n, nonce: 0 }]]);
    assert.equal(r.reads, 2, 'the block keys, then all touched accounts in one batch');
    assert.deepEqual(r.receipts, [
      {
        txHash: txHash(tx),
        status: 'ok',
        code: 'OK',
        events: [
          {
            type: 'transfer',
            attributes: [
              ['from', toHex(a)],
              ['to', toHex(b)],
              ['amount', '300'],
            ],
          },
        ],
        failedOp: null,
      },
    ]);
    assert.deepEqual(r.after(a), { balance: 700n, nonce: 1 });
    assert.deepEqual(r.after(b), { balance: 300n, nonce: 0 }, 'a fresh recipient is created');
    assert.equal(r.changes.size, 2);
  });

  test('txs in a block see each other: a chain of nonces and a spent-then-received balance', async () => {
    const txs = [
      transferTx(chain, 0, b, 600n, 0),
      transferTx(chain, 1, c, 650n, 0), // b has 100 + 600 by now
      transferTx(chain, 0, c, 400n, 1),
      transferTx(chain, 0, c, 1n, 2), // a is empty now
    ];
    const r = await run(txs, [
      [a, { balance: 1000n, nonce: 0 }],
      [b, { balance: 100n, nonce: 0 }],
    ]);
    assert.deepEqual(
      r.receipts.map((x) => x.code),
      ['OK', 'OK', 'OK', 'BANK_INSUFFICIENT_FUNDS'],
    );
    assert.deepEqual(r.after(a), { balance: 0n, nonce: 2 });
    assert.deepEqual(r.after(b), { balance: 50n, nonce: 1 });
    assert.deepEqual(r.after(c), { balance: 1050n, nonce: 0 });
  });

  const failures: Array<{
    name: string;
    code: string;
    failedOp: number | null;
    tx: () => Tx;
    start: Account;
  }> = [
    {
      name: 'nonce too high',
      code: 'BANK_BAD_NONCE',
      failedOp: null,
      tx: () => transferTx(chain, 0, b, 1n, 4),
      start: { balance: 1000n, nonce: 3 },
    },
    {
      name: 'nonce already used',
      code: 'BANK_BAD_NONCE',
      failedOp: null,
      tx: () => transferTx(chain, 0, b, 1n, 2),
      start: { balance: 1000n, nonce: 3 },
    },
    {
      name: 'insufficient funds',
      code: 'BANK_INSUFFICIENT_FUNDS',
      failedOp: 0,
      tx: () => transferTx(chain, 0, b, 1001n, 3),
      start: { balance: 1000n, nonce: 3 },
    },
    {
      name: 'unknown method',
      code: 'APP_UNKNOWN_METHOD',
      failedOp: 0,
      tx: () =>
        signedTx(
          chain,
          0,
          { module: 'bank', method: 'mint', args: encodeTransferArgs({ to: b, amount: 1n }) },
          3,
        ),
      start: { balance: 1000n, nonce: 3 },
    },
    {
      name: 'unknown module',
      code: 'APP_UNKNOWN_METHOD',
      failedOp: 0,
      tx: () =>
        signedTx(chain, 0, { module: 'assets', method: 'transfer', args: new Uint8Array(0) }, 3),
      start: { balance: 1000n, nonce: 3 },
    },
    {
      name: 'the second of two transfer ops (v2) overdraws: neither runs',
      code: 'BANK_INSUFFICIENT_FUNDS',
      failedOp: 1,
      tx: () => v2Transfer([transferOp(b, 1n), transferOp(c, 1000n)], 3),
      start: { balance: 1000n, nonce: 3 },
    },
    {
      name: 'a transfer op expecting a revision (v2): accounts have none',
      code: 'APP_NO_REVISION',
      failedOp: 0,
      tx: () => v2Transfer([{ ...transferOp(b, 1n), expectRev: 0 }], 3),
      start: { balance: 1000n, nonce: 3 },
    },
    {
      name: 'args of the wrong length',
      code: 'BANK_BAD_ARGS',
      failedOp: 0,
      tx: () =>
        signedTx(chain, 0, { module: 'bank', method: 'transfer', args: new Uint8Array(5) }, 3),
      start: { balance: 1000n, nonce: 3 },
    },
    {
      name: 'zero amount',
      code: 'BANK_BAD_ARGS',
      failedOp: 0,
      tx: () =>
        signedTx(chain, 0, { module: 'bank', method: 'transfer', args: new Uint8Array(21) }, 3),
      start: { balance: 1000n, nonce: 3 },
    },
    {
      name: 'args with trailing bytes',
      code: 'BANK_BAD_ARGS',
      failedOp: 0,
      tx: () => {
        const args = encodeTransferArgs({ to: b, amount: 1n });
        return signedTx(
          chain,
          0,
          { module: 'bank', method: 'transfer', args: Uint8Array.from([...args, 0]) },
          3,
        );
      },
      start: { balance: 1000n, nonce: 3 },
    },
    {
      name: 'empty sender account',
      code: 'BANK_BAD_NONCE',
      failedOp: null,
      tx: () => transferTx(chain, 0, b, 1n, 1),
      start: EMPTY_ACCOUNT,
    },
  ];

  for (const f of failures) {
    test(`${f.name} → failed receipt ${f.code} and no state change`, async () => {
      const tx = f.tx();
      const r = await run(
        [tx],
        [
          [a, f.start],
          [b, { balance: 5n, nonce: 7 }],
        ],
      );
      assert.deepEqual(r.receipts, [
        { txHash: txHash(tx), status: 'failed', code: f.code, events: [], failedOp: f.failedOp },
      ]);
      assert.equal(r.changes.size, 0, 'nothing written, not even the nonce');
    });
  }

  test('a v2 tx of one transfer op runs as a transfer (cosigners change nothing)', async () => {
    const tx = v2Transfer([transferOp(b, 300n)], 0);
    const r = await run([tx], [[a, { balance: 1000n, nonce: 0 }]]);
    assert.deepEqual(
      r.receipts.map((x) => [x.status, x.code, x.failedOp]),
      [['ok', 'OK', null]],
    );
    assert.deepEqual(r.after(a), { balance: 700n, nonce: 1 });
    assert.deepEqual(r.after(b), { balance: 300n, nonce: 0 });
  });

  test('a self-transfer keeps the balance and bumps the nonce', async () => {
    const r = await run([transferTx(chain, 0, a, 400n, 0)], [[a, { balance: 1000n, nonce: 0 }]]);
    assert.equal(r.receipts[0]!.code, 'OK');
    assert.deepEqual(r.after(a), { balance: 1000n, nonce: 1 });
    assert.equal(r.changes.size, 1);
    const all = await run([transferTx(chain, 0, a, 1000n, 0)], [[a, { balance: 1000n, nonce: 0 }]]);
    assert.deepEqual(all.after(a), { balance: 1000n, nonce: 1 }, 'whole balance to oneself');
    const more = await run(
      [transferTx(chain, 0, a, 1001n, 0)],
      [[a, { balance: 1000n, nonce: 0 }]],
    );
    assert.equal(more.receipts[0]!.code, 'BANK_INSUFFICIENT_FUNDS');
  });

  test('overflow of the recipient balance → BANK_BALANCE_OVERFLOW, sender restored', async () => {
    const txs = [transferTx(chain, 0, b, 2n, 0), transferTx(chain, 0, b, 1n, 0)];
    const r = await run(txs, [
      [a, { balance: 10n, nonce: 0 }],
      [b, { balance: MAX_AMOUNT - 1n, nonce: 0 }],
    ]);
    assert.deepEqual(
      r.receipts.map((x) => x.code),
      ['BANK_BALANCE_OVERFLOW', 'OK'],
      'the failed tx did not consume nonce 0',
    );
    assert.deepEqual(r.after(a), { balance: 9n, nonce: 1 });
    assert.deepEqual(r.after(b), { balance: MAX_AMOUNT, nonce: 0 });
  });

  test('an amount above u128 cannot even be encoded, and decoding refuses it', () => {
    assert.throws(() => encodeTransferArgs({ to: b, amount: MAX_AMOUNT + 1n }));
    assert.equal(
      decodeTransferArgs(encodeTransferArgs({ to: b, amount: MAX_AMOUNT })).amount,
      MAX_AMOUNT,
    );
  });

  test('property: value is conserved and failed txs change nothing', async () => {
    const keys = [0, 1, 2, 3].map(() => generateKeyPair());
    const local: TestChain = { ...chain, accountKeys: keys };
    const addrs = keys.map((k) => addressOf(k.publicKey));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.bigInt({ min: 0n, max: 1000n }), { minLength: 4, maxLength: 4 }),
        fc.array(
          fc.record({
            from: fc.nat(3),
            to: fc.nat(3),
            amount: fc.bigInt({ min: 1n, max: 600n }),
            nonceSkew: fc.constantFrom(0, 0, 0, 1, -1),
          }),
          { maxLength: 12 },
        ),
        async (balances, specs) => {
          const nonces = [0, 0, 0, 0];
          const txs = specs.map((s) =>
            transferTx(
              local,
              s.from,
              addrs[s.to]!,
              s.amount,
              Math.max(0, nonces[s.from]! + s.nonceSkew),
            ),
          );
          const state = new Map(
            addrs.map((ad, i) => [toHex(ad), { balance: balances[i]!, nonce: 0 }]),
          );
          // Track expected outcome with a straightforward model.
          const expected = specs.map((s, i) => {
            const from = state.get(toHex(addrs[s.from]!))!;
            if (txs[i]!.nonce !== from.nonce) return 'BANK_BAD_NONCE';
            if (from.balance < s.amount) return 'BANK_INSUFFICIENT_FUNDS';
            from.balance -= s.amount;
            from.nonce++;
            nonces[s.from]!++;
            state.get(toHex(addrs[s.to]!))!.balance += s.amount;
            return 'OK';
          });
          const r = await run(
            txs,
            addrs.map((ad, i) => [ad, { balance: balances[i]!, nonce: 0 }]),
          );
          assert.deepEqual(
            r.receipts.map((x) => x.code),
            expected,
          );
          let total = 0n;
          addrs.forEach((ad, i) => {
            const acct = r.after(ad) ?? { balance: balances[i]!, nonce: 0 };
            assert.deepEqual(acct, state.get(toHex(ad)));
            total += acct.balance;
          });
          assert.equal(
            total,
            balances.reduce((x, y) => x + y, 0n),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('execution through the ledger', () => {
  test('failed txs commit their receipts but leave balances and nonces untouched', async (t) => {
    const dir = await tempDir(t);
    const local = makeTestChain({ accounts: 3, balance: 1000n });
    const [x, y] = [accountAddress(local, 0), accountAddress(local, 1)];
    const ledger = await Ledger.open(join(dir, 'db'), local.genesis, civitasStateMachine());
    t.after(() => ledger.close());
    const txs = [
      transferTx(local, 0, y, 100n, 0),
      transferTx(local, 0, y, 5_000n, 1), // insufficient
      transferTx(local, 0, y, 1n, 5), // bad nonce
      signedTx(local, 0, { module: 'bank', method: 'burn', args: new Uint8Array(0) }, 1),
      signedTx(local, 0, { ...transferOp(y, 1n), args: new Uint8Array(3) }, 1),
      transferTx(local, 1, x, 50n, 0),
    ];
    const { block } = await commitNext(ledger, local, txs);
    const receipts = await ledger.store.getReceipts(1, txs.length);
    assert.deepEqual(
      receipts.map((r) => [r.status, r.code]),
      [
        ['ok', 'OK'],
        ['failed', 'BANK_INSUFFICIENT_FUNDS'],
        ['failed', 'BANK_BAD_NONCE'],
        ['failed', 'APP_UNKNOWN_METHOD'],
        ['failed', 'BANK_BAD_ARGS'],
        ['ok', 'OK'],
      ],
    );
    assert.deepEqual(await getAccount(ledger, x), { balance: 950n, nonce: 1 });
    assert.deepEqual(await getAccount(ledger, y), { balance: 1050n, nonce: 1 });
    // The failed txs are still indexed: their outcome is provable.
    for (let i = 0; i < txs.length; i++) {
      assert.deepEqual(await ledger.store.getTxLocation(block.txHashes[i]!), {
        height: 1,
        index: i,
      });
    }
    // A block of only failing txs leaves the state root unchanged.
    const before = ledger.tip.stateRoot;
    await commitNext(ledger, local, [
      transferTx(local, 2, x, 1n, 9),
      transferTx(local, 2, x, 10_000n, 0),
    ]);
    assert.deepEqual(ledger.tip.stateRoot, before);
    assert.deepEqual(await getAccount(ledger, accountAddress(local, 2)), {
      balance: 1000n,
      nonce: 0,
    });
  });
});
