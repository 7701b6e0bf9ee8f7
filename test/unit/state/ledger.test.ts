/**
 * The ledger on a real LevelDB: genesis state, commits, and a close/reopen that must give
 * back the same height, tip hash, state root, balances, receipts, tx index and proofs; a
 * store from another genesis is refused; commits out of order are refused.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  accountStateKey,
  decodeAccount,
  encodeAccount,
  getAccount,
  proveAccount,
} from '../../../src/app/bank/account.ts';
import { civitasApp, civitasStateMachine, genesisValues } from '../../../src/app/index.ts';
import {
  certificateTime,
  encodeCertificate,
  encodeReceipt,
  genesisHash,
  genesisValidatorSet,
  merkleRoot,
  receiptRoot,
  type SealedBlock,
  verifyCertificate,
} from '../../../src/chain/index.ts';
import { fromHex, toHex } from '../../../src/crypto/bytes.ts';
import { verifyNative } from '../../../src/crypto/ed25519.ts';
import { CivitasError } from '../../../src/errors/index.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import {
  encodeStateProof,
  MemoryNodeReader,
  StateTree,
  stateKeyHash,
  verifyStateProof,
} from '../../../src/state/smt/index.ts';
import {
  accountAddress,
  certify,
  commitNext,
  makeTestChain,
  type TestChain,
  transferTx,
} from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

/** Byte equality that ignores Buffer-vs-Uint8Array (decoded store values are Buffers). */
function assertBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.equal(toHex(actual), toHex(expected), message);
}

async function snapshot(ledger: Ledger, chain: TestChain, blocks: SealedBlock[]) {
  const accounts = await Promise.all(
    chain.accountKeys.map((_, i) => getAccount(ledger, accountAddress(chain, i))),
  );
  const receipts = await Promise.all(
    blocks.map((b) => ledger.store.getReceipts(b.header.height, b.txs.length)),
  );
  const locations = await Promise.all(
    blocks.flatMap((b) => b.txHashes.map((h) => ledger.store.getTxLocation(h))),
  );
  return {
    height: ledger.height,
    tipHash: ledger.tip.hash,
    stateRoot: ledger.tip.stateRoot,
    timestamp: ledger.tip.timestamp,
    // Compared as canonical bytes.
    certificate: toHex(encodeCertificate(ledger.tip.certificate!)),
    accounts,
    receipts: receipts.map((rs) => rs.map((r) => toHex(encodeReceipt(r)))),
    locations,
  };
}

describe('ledger', () => {
  test('a fresh ledger holds the genesis state at height 0', async (t) => {
    const chain = makeTestChain({ accounts: 2, balance: 777n });
    // A genesis listing one address twice sums the balances.
    const doubled = {
      ...chain,
      genesis: {
        ...chain.genesis,
        accounts: [...chain.genesis.accounts, chain.genesis.accounts[0]!],
      },
    };
    const ledger = await Ledger.open(
      join(await tempDir(t), 'db'),
      doubled.genesis,
      civitasStateMachine(),
    );
    t.after(() => ledger.close());
    assert.equal(ledger.height, 0);
    assert.deepEqual(ledger.tip.hash, genesisHash(doubled.genesis));
    assert.equal(ledger.tip.timestamp, chain.genesis.genesisTime);
    assert.equal(ledger.tip.certificate, null);
    assert.deepEqual(await getAccount(ledger, accountAddress(chain, 0)), {
      balance: 1554n,
      nonce: 0,
    });
    assert.deepEqual(await getAccount(ledger, accountAddress(chain, 1)), {
      balance: 777n,
      nonce: 0,
    });
    assert.deepEqual(await getAccount(ledger, new Uint8Array(20)), { balance: 0n, nonce: 0 });
    assert.equal(await ledger.store.getBlock(1), undefined);
  });

  test('commit, close, reopen: same tip, state, receipts, tx index and proofs', async (t) => {
    const dir = join(await tempDir(t), 'db');
    const chain = makeTestChain({ validators: 4, accounts: 3, balance: 1_000n });
    const to = (i: number) => accountAddress(chain, i);
    let ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine());
    let open = true;
    t.after(() => (open ? ledger.close() : undefined));
    const blocks: SealedBlock[] = [];
    blocks.push((await commitNext(ledger, chain, [transferTx(chain, 0, to(1), 10n, 0)])).block);
    blocks.push((await commitNext(ledger, chain, [])).block);
    blocks.push(
      (
        await commitNext(ledger, chain, [
          transferTx(chain, 1, to(2), 500n, 0),
          transferTx(chain, 2, to(0), 2_000n, 0), // fails: insufficient
          transferTx(chain, 0, to(2), 1n, 1),
        ])
      ).block,
    );
    const before = await snapshot(ledger, chain, blocks);
    assert.equal(before.height, 3);
    assert.deepEqual(
      before.accounts.map((a) => [a.balance, a.nonce]),
      [
        [989n, 2],
        [510n, 1],
        [1501n, 0],
      ],
    );
    assert.deepEqual(before.locations, [
      { height: 1, index: 0 },
      { height: 3, index: 0 },
      { height: 3, index: 1 },
      { height: 3, index: 2 },
    ]);
    const historicProof = await proveAccount(ledger, to(0), 1);

    await ledger.close();
    open = false;
    ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine());
    open = true;
    const reopened = await snapshot(ledger, chain, blocks);
    assert.deepEqual(reopened, before);

    // Stored blocks are byte-identical, linked, and carry verifiable certificates and roots.
    const validators = genesisValidatorSet(chain.genesis);
    let parent = genesisHash(chain.genesis);
    for (const b of blocks) {
      const h = b.header.height;
      const stored = (await ledger.store.getBlock(h))!;
      assertBytes(stored.encoded, b.encoded);
      assertBytes(stored.header.parentHash, parent);
      assert.equal(await ledger.store.getHeightOfHash(b.hash), h);
      const cert = (await ledger.store.getCertificate(h))!;
      verifyCertificate(
        cert,
        { chainId: chain.genesis.chainId, height: h, blockHash: b.hash, validators },
        verifyNative,
      );
      const receipts = await ledger.store.getReceipts(h, b.txs.length);
      assert.deepEqual(receiptRoot(receipts), b.header.receiptRoot);
      assert.deepEqual(merkleRoot(stored.txHashes), b.header.txRoot);
      parent = b.hash;
    }
    assert.deepEqual(ledger.tip.stateRoot, blocks[2]!.header.stateRoot);
    assert.equal(await ledger.store.getBlock(4), undefined);

    // Account proofs against the header state roots, current and historic, present and absent.
    for (const [address, height] of [
      [to(0), 3],
      [to(2), 3],
      [new Uint8Array(20).fill(9), 3],
      [to(0), 1],
    ] as const) {
      const p = await proveAccount(ledger, address, height);
      const keyHash = stateKeyHash(accountStateKey(address));
      assert.deepEqual(p.keyHash, keyHash);
      assert.deepEqual(p.stateRoot, blocks[height - 1]!.header.stateRoot);
      assert.ok(verifyStateProof(p.stateRoot, keyHash, p.value, p.proof));
      // The same proof does not vouch for another value.
      const lie = p.value === undefined ? Uint8Array.of(1, 2) : undefined;
      assert.ok(!verifyStateProof(p.stateRoot, keyHash, lie, p.proof));
    }
    const p1 = await proveAccount(ledger, to(0), 1);
    assertBytes(
      encodeStateProof(p1.proof),
      encodeStateProof(historicProof.proof),
      'historic proofs survive reopen',
    );
    assertBytes(p1.stateRoot, historicProof.stateRoot);
    assert.deepEqual(decodeAccount(p1.value!), { balance: 990n, nonce: 1 });

    // The chain continues after reopen.
    const { block } = await commitNext(ledger, chain, [transferTx(chain, 2, to(1), 1n, 0)]);
    assert.equal(block.header.height, 4);
    assert.deepEqual(block.header.parentHash, blocks[2]!.hash);
    assert.deepEqual(block.header.lastCommitHash.length, 32);
  });

  test('a block built and abandoned leaves no trace in the state the next blocks see', async (t) => {
    const dir = join(await tempDir(t), 'db');
    const chain = makeTestChain({ validators: 4, accounts: 3, balance: 1_000n });
    const to = (i: number) => accountAddress(chain, i);
    let ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine());
    let open = true;
    t.after(() => (open ? ledger.close() : undefined));
    await commitNext(ledger, chain, [transferTx(chain, 0, to(1), 10n, 0)]);
    // Built (as a losing proposal would be) at height 2, with its own tree nodes, never
    // committed: the block that does commit at height 2 writes other nodes under the same keys.
    await ledger.buildBlock({
      txs: [transferTx(chain, 1, to(2), 300n, 0), transferTx(chain, 2, to(0), 7n, 0)],
      proposer: chain.validatorKeys[0]!.publicKey,
      lastCommit: ledger.tip.certificate,
    });
    await commitNext(ledger, chain, [transferTx(chain, 0, to(2), 5n, 1)]);
    // Height 3 executes over height 2's nodes, served from memory where the cache has them.
    await commitNext(ledger, chain, [transferTx(chain, 1, to(0), 1n, 0)]);
    const balances = async (l: Ledger) =>
      (await Promise.all([0, 1, 2].map((i) => getAccount(l, to(i))))).map((a) => a.balance);
    assert.deepEqual(await balances(ledger), [986n, 1_009n, 1_005n]);
    // The root equals that of a tree built from scratch from the state as it is: the genesis
    // values (the validator set among them) with the accounts as they are now.
    const accounts = await Promise.all([0, 1, 2].map((i) => getAccount(ledger, to(i))));
    const state = new Map(
      genesisValues(civitasApp(), chain.genesis).map(([k, v]) => [toHex(stateKeyHash(k)), v]),
    );
    accounts.forEach((a, i) => {
      state.set(toHex(stateKeyHash(accountStateKey(to(i)))), encodeAccount(a));
    });
    const fresh = await new StateTree(new MemoryNodeReader()).update(
      null,
      0,
      [...state].map(([k, v]) => [fromHex(k), v] as const),
    );
    assert.deepEqual(ledger.tip.stateRoot, fresh.rootHash);
    const warm = await proveAccount(ledger, to(2));
    // A reopened ledger reads everything from LevelDB: the same root and proofs.
    await ledger.close();
    open = false;
    ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine());
    open = true;
    assert.deepEqual(ledger.tip.stateRoot, warm.stateRoot);
    const cold = await proveAccount(ledger, to(2));
    assert.equal(toHex(encodeStateProof(cold.proof)), toHex(encodeStateProof(warm.proof)));
    assert.ok(verifyStateProof(warm.stateRoot, warm.keyHash, warm.value, warm.proof));
  });

  test('a database from another genesis is refused with LEDGER_GENESIS_MISMATCH', async (t) => {
    const dir = join(await tempDir(t), 'db');
    const chain = makeTestChain({ accounts: 1 });
    const ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine());
    await commitNext(ledger, chain, []);
    await ledger.close();
    const variants = [
      { ...chain.genesis, chainId: 'another-chain' },
      { ...chain.genesis, genesisTime: chain.genesis.genesisTime + 1 },
      { ...chain.genesis, accounts: [] },
      { ...chain.genesis, params: { ...chain.genesis.params, maxBlockTxs: 7 } },
    ];
    for (const genesis of variants) {
      await assert.rejects(Ledger.open(dir, genesis, civitasStateMachine()), (err: unknown) => {
        assert.ok(err instanceof CivitasError);
        assert.equal(err.code, 'LEDGER_GENESIS_MISMATCH');
        return true;
      });
    }
    // The refused opens released the database: the right genesis still opens it.
    const again = await Ledger.open(dir, chain.genesis, civitasStateMachine());
    t.after(() => again.close());
    assert.equal(again.height, 1);
  });

  test('commits must be tip+1 with a matching execution result', async (t) => {
    const chain = makeTestChain({ accounts: 1 });
    const ledger = await Ledger.open(
      join(await tempDir(t), 'db'),
      chain.genesis,
      civitasStateMachine(),
    );
    t.after(() => ledger.close());
    const one = await ledger.buildBlock({
      txs: [],
      proposer: chain.validatorKeys[0]!.publicKey,
      lastCommit: null,
    });
    await ledger.commit(one.block, certify(chain, one.block), one.executed);
    // The same block again, and a result for another height, are refused.
    await assert.rejects(
      ledger.commit(one.block, certify(chain, one.block), one.executed),
      (err: unknown) => err instanceof CivitasError && err.code === 'LEDGER_BAD_COMMIT_HEIGHT',
    );
    const two = await ledger.buildBlock({
      txs: [],
      proposer: chain.validatorKeys[0]!.publicKey,
      lastCommit: ledger.tip.certificate,
    });
    await assert.rejects(
      ledger.commit(two.block, certify(chain, two.block), one.executed),
      (err: unknown) => err instanceof CivitasError && err.code === 'LEDGER_BAD_COMMIT_HEIGHT',
    );
    // Two racing commits of the same height: exactly one wins.
    const results = await Promise.allSettled([
      ledger.commit(two.block, certify(chain, two.block), two.executed),
      ledger.commit(two.block, certify(chain, two.block), two.executed),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected'],
    );
    assert.equal(ledger.height, 2);
  });

  test('objects decoded from the store are plain Uint8Array copies, not views of LevelDB Buffers', {}, async (t) => {
    const chain = makeTestChain({ accounts: 1 });
    const ledger = await Ledger.open(
      join(await tempDir(t), 'db'),
      chain.genesis,
      civitasStateMachine(),
    );
    t.after(() => ledger.close());
    await commitNext(ledger, chain, []);
    const cert = (await ledger.store.getCertificate(1))!;
    assert.equal(Buffer.isBuffer(cert.blockHash), false);
    assert.equal(Object.getPrototypeOf(cert.blockHash), Uint8Array.prototype);
    const block = (await ledger.store.getBlock(1))!;
    assert.equal(Object.getPrototypeOf(block.header.stateRoot), Uint8Array.prototype);
  });

  test('buildBlock takes the quorum time: genesis + 1 ms, then the median of the last commit', async (t) => {
    const chain = makeTestChain({ accounts: 1 });
    const ledger = await Ledger.open(
      join(await tempDir(t), 'db'),
      chain.genesis,
      civitasStateMachine(),
    );
    t.after(() => ledger.close());
    // Votes timed before the block are lifted to block time + 1 s by certify's floor.
    const { block } = await commitNext(ledger, chain, [], 5);
    assert.equal(block.header.timestamp, chain.genesis.genesisTime + 1);
    const next = await commitNext(ledger, chain, [], 5);
    assert.equal(next.block.header.timestamp, certificateTime(next.block.lastCommit!));
    assert.equal(next.block.header.timestamp, block.header.timestamp + 1_000);
  });
});
