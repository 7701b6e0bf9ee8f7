/**
 * Quiet when idle, on four real validator processes: with no txs a block comes every
 * emptyBlockIntervalMs and no view ever times out (the primaries wait on purpose and the
 * others' view timers allow for it); a tx arriving on the idle chain is proposed at once, not at
 * the next empty block; with emptyBlockIntervalMs 0 an idle chain makes no block at all.
 * (How fast, measured: `civitas bench idle`, docs/BENCHMARKS.md.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CivitasClient } from '../../../src/client/index.ts';
import { sleep, TestNetwork, waitFor } from './helpers/test-network.ts';
import { loadAccounts, signedTransfer } from './helpers/transfers.ts';

const ALL = [0, 1, 2, 3];
/** Long against the view timeout (1 s): a primary waiting this long without the allowance
 * would be replaced by a view change at every height. */
const EMPTY_INTERVAL_MS = 4_000;
const IDLE_MS = 12_000;

async function viewChanges(network: TestNetwork): Promise<number[]> {
  return (await network.statuses(ALL)).map((s) => s.consensus.viewChanges);
}

test('an idle 4-validator chain makes a block per empty-block interval, with no view change', {
  timeout: 120_000,
}, async (t) => {
  const network = await TestNetwork.start(t, {
    validators: 4,
    accounts: 1,
    consensus: { emptyBlockIntervalMs: EMPTY_INTERVAL_MS },
  });
  await network.explain(async () => {
    await network.waitForHeight(ALL, 2);
    const before = await network.statuses(ALL);
    const changesBefore = before.map((s) => s.consensus.viewChanges);
    const from = Math.max(...before.map((s) => s.height));
    await sleep(IDLE_MS);
    const after = await network.statuses(ALL);
    const to = Math.min(...after.map((s) => s.height));
    // At most one block per interval (plus one in flight at each end).
    assert.ok(
      to - from <= Math.ceil(IDLE_MS / EMPTY_INTERVAL_MS) + 1,
      `${to - from} blocks in ${IDLE_MS} ms`,
    );
    assert.ok(to - from >= 1, 'empty blocks still come');
    assert.deepEqual(await viewChanges(network), changesBefore, 'no view change while idle');
    for (let h = from + 1; h <= to; h++) {
      const block = await network.block(0, h);
      assert.equal(block.txHashes.length, 0);
    }

    // A tx on the idle chain goes into the next block, not after the empty-block interval:
    // sent just after an empty block, it must make the block after it, which would otherwise
    // come 4 s later.
    const [account] = await loadAccounts(network.summary);
    const idleAt = (await network.status(1))!.height;
    const height = await waitFor(
      async () => {
        const h = (await network.status(1))!.height;
        return h > idleAt ? h : undefined;
      },
      'the next empty block',
      EMPTY_INTERVAL_MS * 3,
      20,
    );
    const tx = signedTransfer(network.chainId, [account!, account!], {
      sender: 0,
      to: 1,
      nonce: 0,
      expiryHeight: height + 100,
    });
    const client = new CivitasClient(network.summary.nodes[1]!.rpc, { timeoutMs: 30_000 });
    await client.submit(tx.tx, { wait: true });
    const answer = await client.tx(tx.hash);
    assert.equal(answer.status, 'committed');
    if (answer.status === 'committed') {
      assert.equal(answer.height, height + 1, 'committed in the block right after the idle one');
    }
    assert.deepEqual(await viewChanges(network), changesBefore);
  });
});

test('with emptyBlockIntervalMs 0, an idle chain makes no block, and a tx still commits', {
  timeout: 120_000,
}, async (t) => {
  const network = await TestNetwork.start(t, {
    validators: 4,
    accounts: 1,
    consensus: { emptyBlockIntervalMs: 0 },
  });
  await network.explain(async () => {
    // The first blocks may come while the nodes connect (a view with no peers times out).
    await sleep(3_000);
    const before = await network.statuses(ALL);
    await sleep(5_000);
    const after = await network.statuses(ALL);
    assert.deepEqual(
      after.map((s) => s.height),
      before.map((s) => s.height),
      'no block without txs',
    );
    assert.deepEqual(
      after.map((s) => s.consensus.viewChanges),
      before.map((s) => s.consensus.viewChanges),
      'an idle view has no timer to expire',
    );
    const [account] = await loadAccounts(network.summary);
    const height = Math.max(...after.map((s) => s.height));
    const tx = signedTransfer(network.chainId, [account!, account!], {
      sender: 0,
      to: 1,
      nonce: 0,
      expiryHeight: height + 100,
    });
    const client = new CivitasClient(network.summary.nodes[2]!.rpc, { timeoutMs: 30_000 });
    await client.submit(tx.tx, { wait: true });
    assert.equal((await client.tx(tx.hash)).status, 'committed');
  });
});
