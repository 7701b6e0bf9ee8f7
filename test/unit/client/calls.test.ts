/**
 * The SDK's tx builders: call and batch encode JSON args with the modules' own codecs into a
 * v2 unsigned tx; a mistake is the module's code before anything is signed; sign and cosign
 * produce what the executor accepts, signed apart or together.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeTransferArgs } from '../../../src/app/bank/transfer.ts';
import { txSigningHash } from '../../../src/chain/tx.ts';
import {
  addressOf,
  assembleTx,
  batch,
  call,
  cosign,
  decodeUnsignedTx,
  encodeTx,
  encodeUnsignedTx,
  generateKeyPair,
  sign,
  toHex,
} from '../../../src/client/index.ts';
import { verifyNative } from '../../../src/crypto/ed25519.ts';
import { CivitasError } from '../../../src/errors/index.ts';
import { AppChain, CHAIN_ID, genesisWith, party } from '../app/harness.ts';

const sender = generateKeyPair();
const cosigner = generateKeyPair();
const to = addressOf(generateKeyPair().publicKey);
const envelope = { chainId: CHAIN_ID, keys: sender, nonce: 4, expiryHeight: 99 };

function assertCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CivitasError, `expected CivitasError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return true;
  });
}

describe('call and batch', () => {
  test('call encodes the JSON args with the module codec into a v2 unsigned tx', () => {
    const tx = call({
      ...envelope,
      module: 'bank',
      method: 'transfer',
      args: { to: toHex(to), amount: '25' },
    });
    assert.equal(tx.version, 2);
    assert.equal(tx.chainId, CHAIN_ID);
    assert.deepEqual(tx.sender, sender.publicKey);
    assert.deepEqual([tx.nonce, tx.expiryHeight], [4, 99]);
    assert.deepEqual(tx.cosigners, []);
    assert.equal(tx.ops.length, 1);
    const op = tx.ops[0]!;
    assert.deepEqual([op.module, op.method, op.expectRev], ['bank', 'transfer', null]);
    assert.deepEqual(op.args, encodeTransferArgs({ to, amount: 25n }));
    // 0x-prefixed and upper-case hex are the same address.
    const upper = call({
      ...envelope,
      module: 'bank',
      method: 'transfer',
      args: { to: `0x${toHex(to).toUpperCase()}`, amount: '25' },
    });
    assert.deepEqual(upper.ops[0]!.args, op.args);
  });

  test('batch: ops in order, each with its expected revision; cosigners kept in order', () => {
    const tx = batch({
      ...envelope,
      cosigners: [cosigner.publicKey],
      ops: [
        { call: 'gov.vote', args: { id: 3, approve: false }, expectRev: 2 },
        { call: 'bank.transfer', args: { to: toHex(to), amount: '1' } },
        { call: 'freeze.lift', args: { kind: 'account', id: toHex(to) }, expectRev: 0 },
      ],
    });
    assert.deepEqual(
      tx.ops.map((o) => [`${o.module}.${o.method}`, o.expectRev]),
      [
        ['gov.vote', 2],
        ['bank.transfer', null],
        ['freeze.lift', 0],
      ],
    );
    assert.deepEqual(tx.cosigners, [cosigner.publicKey]);
    // The unsigned tx travels to a cosigner and back byte for byte.
    assert.deepEqual(decodeUnsignedTx(encodeUnsignedTx(tx)), tx);
  });

  test('mistakes are the module codes, one line, naming the op of a batch', () => {
    const transferArgs = { to: toHex(to), amount: '1' };
    const callWith = (module: string, method: string, args: unknown, expectRev?: number) => () =>
      call({ ...envelope, module, method, args, expectRev });
    const batchOf = (ops: unknown) => () => batch({ ...envelope, ops: ops as never });
    assertCode(callWith('bank', 'mint', {}), 'APP_UNKNOWN_METHOD');
    assertCode(callWith('vault', 'open', {}), 'APP_UNKNOWN_METHOD');
    assertCode(callWith('bank', 'constructor', {}), 'APP_UNKNOWN_METHOD');
    assertCode(callWith('bank', 'transfer', { to: 'zz', amount: '1' }), 'BANK_BAD_ARGS');
    assertCode(callWith('bank', 'transfer', { ...transferArgs, amount: '0' }), 'BANK_BAD_ARGS');
    assertCode(callWith('bank', 'transfer', { ...transferArgs, memo: 'x' }), 'BANK_BAD_ARGS');
    assertCode(callWith('bank', 'transfer', transferArgs, -1), 'APP_BAD_ARGS');
    assertCode(callWith('gov', 'vote', { id: 'one' }), 'GOV_BAD_ARGS');
    assertCode(
      callWith('org', 'addMember', { account: toHex(to), roles: ['king'] }),
      'ORG_BAD_ARGS',
    );
    assertCode(
      callWith('freeze', 'impose', { kind: 'account', id: toHex(to), reason: 'x' }),
      'FREEZE_NO_LEGAL_BASIS',
    );
    assertCode(
      batchOf([
        { call: 'bank.transfer', args: transferArgs },
        { call: 'bank.transfer', args: { to: toHex(to) } },
      ]),
      'BANK_BAD_ARGS',
      /^op 1: /,
    );
    assertCode(batchOf([{ call: 'bank' }]), 'APP_UNKNOWN_METHOD', /^op 0: /);
    assertCode(batchOf([{ call: 'bank.transfer.now', args: {} }]), 'APP_UNKNOWN_METHOD');
    assertCode(batchOf([{ call: 'bank.transfer', args: {}, rev: 1 }]), 'APP_BAD_ARGS');
    assertCode(batchOf([{ call: 'bank.transfer' }]), 'BANK_BAD_ARGS', /^op 0: /);
    assertCode(batchOf(['bank.transfer']), 'APP_BAD_ARGS');
    assertCode(batchOf({ call: 'bank.transfer' }), 'APP_BAD_ARGS');
    assertCode(batchOf([]), 'TX_BAD_OP_COUNT');
    assertCode(
      batchOf(Array.from({ length: 9 }, () => ({ call: 'bank.transfer', args: transferArgs }))),
      'TX_BAD_OP_COUNT',
    );
    assertCode(
      () =>
        call({
          ...envelope,
          module: 'bank',
          method: 'transfer',
          args: transferArgs,
          cosigners: [sender.publicKey],
        }),
      'TX_COSIGNER_IS_SENDER',
    );
  });
});

describe('sign and cosign', () => {
  const unsigned = call({
    ...envelope,
    module: 'bank',
    method: 'transfer',
    args: { to: toHex(to), amount: '3' },
    cosigners: [cosigner.publicKey],
  });

  test('signed together or apart, the same tx; every signature over the signing hash', () => {
    const together = sign(unsigned, sender, [cosigner]);
    const message = txSigningHash(unsigned);
    assert.ok(verifyNative(together.signature, message, sender.publicKey));
    assert.ok(verifyNative(together.cosignatures[0]!, message, cosigner.publicKey));
    // The cosigner signs the bytes it was sent, elsewhere; the sender assembles.
    const received = decodeUnsignedTx(encodeUnsignedTx(unsigned));
    const apart = assembleTx(unsigned, sign(unsigned, sender, [cosigner]).signature, [
      cosign(received, cosigner),
    ]);
    assert.deepEqual(encodeTx(apart), encodeTx(together));
  });

  test('a key that is not the one the tx names is refused before signing', () => {
    const other = generateKeyPair();
    assertCode(() => sign(unsigned, other, [cosigner]), 'CLIENT_WRONG_KEY');
    assertCode(() => sign(unsigned, sender, [other]), 'CLIENT_WRONG_KEY');
    assertCode(() => cosign(unsigned, other), 'CLIENT_WRONG_KEY');
    assertCode(() => sign(unsigned, sender), 'TX_BAD_COSIGNATURE_COUNT');
  });

  test('what the builders make, the executor runs: all or nothing, the failing op named', async () => {
    const alice = party();
    const bob = party();
    const chain = new AppChain(
      genesisWith({
        accounts: [
          { who: alice, balance: 100n },
          { who: bob, balance: 0n },
        ],
      }),
    );
    const tx = (nonce: number, ops: Parameters<typeof batch>[0]['ops']) =>
      sign(
        batch({ chainId: CHAIN_ID, keys: alice.keys, nonce, expiryHeight: 1_000, ops }),
        alice.keys,
      );
    const [ok] = await chain.block([
      tx(0, [
        { call: 'bank.transfer', args: { to: bob.hex, amount: '10' } },
        { call: 'bank.transfer', args: { to: bob.hex, amount: '5' } },
      ]),
    ]);
    assert.deepEqual([ok!.code, ok!.failedOp, ok!.events.length], ['OK', null, 2]);
    const [failed] = await chain.block([
      tx(1, [
        { call: 'bank.transfer', args: { to: bob.hex, amount: '10' } },
        { call: 'bank.transfer', args: { to: bob.hex, amount: '1000' } },
      ]),
    ]);
    assert.deepEqual([failed!.code, failed!.failedOp], ['BANK_INSUFFICIENT_FUNDS', 1]);
    assert.deepEqual([chain.balance(alice), chain.balance(bob)], [85n, 15n]);
  });
});
