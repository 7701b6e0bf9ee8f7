/**
 * kill -9 durability of the store: a child process commits blocks in a loop and prints each
 * committed height; it is SIGKILLed at random moments, several rounds on one database. After
 * each kill the store must reopen at (at least) the last printed height with every block,
 * certificate, receipt and tx-index entry present and consistent, the flat values matching
 * the state tree, the tip's state root equal to the header's, and the chain able to go on.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeAccount, getAccount, proveAccount } from '../../../src/app/bank/account.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import {
  genesisHash,
  genesisValidatorSet,
  merkleRoot,
  receiptRoot,
  verifyCertificate,
} from '../../../src/chain/index.ts';
import { equalBytes, toHex } from '../../../src/crypto/bytes.ts';
import { verifyNative } from '../../../src/crypto/ed25519.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import {
  accountAddress,
  commitNext,
  makeTestChain,
  type TestChain,
  transferTx,
  writeChainFile,
} from '../../helpers/chain.ts';
import { startChild } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';

const COMMIT_LOOP = fileURLToPath(new URL('../../helpers/commit-loop.ts', import.meta.url));
const ROUNDS = 5;

function printedHeights(stdout: string): number[] {
  return stdout
    .split('\n')
    .filter((l) => /^[0-9]+$/.test(l))
    .map(Number);
}

/** Every invariant a crash must not break, checked from the reopened database alone. */
async function checkStore(ledger: Ledger, chain: TestChain): Promise<void> {
  const validators = genesisValidatorSet(chain.genesis);
  const height = ledger.height;
  let parent = genesisHash(chain.genesis);
  for (let h = 1; h <= height; h++) {
    const block = await ledger.store.getBlock(h);
    assert.ok(block, `block ${h} present`);
    assert.equal(block.header.height, h);
    assert.ok(equalBytes(block.header.parentHash, parent), `block ${h} links to its parent`);
    assert.equal(await ledger.store.getHeightOfHash(block.hash), h);
    const cert = await ledger.store.getCertificate(h);
    assert.ok(cert, `certificate ${h} present`);
    verifyCertificate(
      cert,
      { chainId: chain.genesis.chainId, height: h, blockHash: block.hash, validators },
      verifyNative,
    );
    assert.ok(equalBytes(merkleRoot(block.txHashes), block.header.txRoot));
    const receipts = await ledger.store.getReceipts(h, block.txs.length);
    assert.equal(receipts.length, block.txs.length, `receipts of block ${h}`);
    assert.ok(equalBytes(receiptRoot(receipts), block.header.receiptRoot));
    for (let i = 0; i < block.txHashes.length; i++) {
      assert.deepEqual(await ledger.store.getTxLocation(block.txHashes[i]!), {
        height: h,
        index: i,
      });
    }
    parent = block.hash;
  }
  assert.equal(await ledger.store.getBlock(height + 1), undefined, 'nothing beyond the tip');
  assert.equal(await ledger.store.getCertificate(height + 1), undefined);
  if (height > 0) {
    const tip = (await ledger.store.getBlock(height))!;
    assert.equal(toHex(ledger.tip.stateRoot), toHex(tip.header.stateRoot), 'state root at the tip');
    assert.equal(toHex(ledger.tip.hash), toHex(tip.hash));
  }
  // The flat values (fast reads) and the state tree (proofs) were written in one batch.
  let total = 0n;
  for (let i = 0; i < chain.accountKeys.length; i++) {
    const address = accountAddress(chain, i);
    const flat = await getAccount(ledger, address);
    const proven = await proveAccount(ledger, address);
    assert.ok(proven.value, `account ${i} in the tree`);
    assert.deepEqual(decodeAccount(proven.value), flat, `account ${i}: flat value = tree value`);
    total += flat.balance;
  }
  const supply = chain.genesis.accounts.reduce((s, a) => s + a.balance, 0n);
  assert.equal(total, supply, 'transfers conserve the supply');
}

test('SIGKILL during a commit loop never loses or tears a committed block', async (t) => {
  const dir = await tempDir(t);
  const db = join(dir, 'db');
  const chainFile = join(dir, 'chain.json');
  const chain = makeTestChain({ validators: 4, accounts: 3 });
  await writeChainFile(chainFile, chain);
  let lastPrinted = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const child = startChild(t, COMMIT_LOOP, [db, chainFile]);
    await child.waitFor((out) => /^open \d+$/m.test(out), 'the child to open the store');
    const opened = Number(/^open (\d+)$/m.exec(child.stdout())![1]);
    assert.ok(opened >= lastPrinted, `round ${round}: reopened at ${opened} < ${lastPrinted}`);
    const wantLines = 1 + Math.floor(Math.random() * 12);
    await child.waitFor(
      (out) => printedHeights(out).length >= wantLines,
      `${wantLines} commits in round ${round}`,
    );
    // Kill at a random moment, usually while a batch is being built or written.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
    await child.kill('SIGKILL');
    const { signal } = await child.exited;
    assert.equal(signal, 'SIGKILL');
    const printed = printedHeights(child.stdout());
    lastPrinted = Math.max(lastPrinted, ...printed);

    const ledger = await Ledger.open(db, chain.genesis, civitasStateMachine());
    try {
      assert.ok(
        ledger.height >= lastPrinted,
        `round ${round}: height ${ledger.height} < last printed ${lastPrinted}`,
      );
      assert.ok(ledger.height <= lastPrinted + 1, 'at most the one unprinted commit is extra');
      await checkStore(ledger, chain);
    } finally {
      await ledger.close();
    }
  }

  // The chain goes on after the last crash.
  const ledger = await Ledger.open(db, chain.genesis, civitasStateMachine());
  t.after(() => ledger.close());
  const before = ledger.height;
  assert.ok(before >= ROUNDS, 'every round committed something');
  const nonce = (await getAccount(ledger, accountAddress(chain, 0))).nonce;
  const { block } = await commitNext(
    ledger,
    chain,
    [transferTx(chain, 0, accountAddress(chain, 2), 1n, nonce)],
    Date.now(),
  );
  assert.equal(block.header.height, before + 1);
  const receipts = await ledger.store.getReceipts(before + 1, 1);
  assert.equal(receipts[0]!.code, 'OK');
  await checkStore(ledger, chain);
});
