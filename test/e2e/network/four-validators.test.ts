/**
 * Four validators as real processes: 1,000 transfers from 20 senders, each sender's
 * consecutive nonces POSTed to different nodes (so most txs reach the proposer only by
 * gossip, often ahead of their predecessors), all commit with an ok receipt, and every node
 * ends with the same block at every height.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNodeTimings } from '../../../bench/cluster/run.ts';
import { CivitasClient } from '../../../src/client/index.ts';
import { mapLimit, TestNetwork, waitFor } from './helpers/test-network.ts';
import { loadAccounts, submitTx, transferWave } from './helpers/transfers.ts';

const VALIDATORS = 4;
const SENDERS = 20;
const PER_SENDER = 50;

test('4 validators commit 1,000 transfers submitted to different nodes and agree on every block', {
  timeout: 150_000,
}, async (t) => {
  const t0 = Date.now();
  const network = await TestNetwork.start(t, { validators: VALIDATORS, accounts: SENDERS });
  const started = Date.now() - t0;
  await network.explain(async () => {
    const all = [0, 1, 2, 3];
    const accounts = await loadAccounts(network.summary);
    const { height: start } = (await network.status(0))!;
    const txs = transferWave(network.chainId, accounts, {
      perSender: PER_SENDER,
      expiryHeight: start + 10_000,
    });
    assert.equal(txs.length, 1_000);
    const clients = network.summary.nodes.map(
      (n) => new CivitasClient(n.rpc, { timeoutMs: 30_000 }),
    );

    // Sender s's nonce n goes to node (s + n) mod 4: consecutive nonces of one sender always
    // land on different nodes. Batched, without waiting for commit.
    await mapLimit(txs, 16, (tx) => submitTx(clients[(tx.sender + tx.nonce) % VALIDATORS]!, tx));

    const submitted = Date.now() - t0;
    // Follow the chain on node 0 until every tx is in a block.
    const pending = new Set(txs.map((tx) => tx.hash));
    let scanned = start;
    const last = await waitFor(
      async () => {
        const { height } = (await network.status(0))!;
        for (; scanned < height; scanned++) {
          const block = await network.block(0, scanned + 1);
          for (const h of block.txHashes) pending.delete(h);
        }
        return pending.size === 0 ? height : undefined;
      },
      `all 1,000 txs to commit (${pending.size} still pending)`,
      90_000,
      250,
    );

    const committed = Date.now() - t0;
    // Every tx is committed with an ok receipt, asked of each node in turn.
    await mapLimit(txs, 16, async (tx, k) => {
      const node = k % VALIDATORS;
      const res = await network.get<{ status: string; receipt: { status: string; code: string } }>(
        node,
        `/txs/${tx.hash}`,
      );
      assert.ok(res !== undefined, `node${node} answers GET /txs`);
      assert.equal(res.status, 200, `node${node} knows tx ${tx.hash}`);
      assert.equal(res.body.status, 'committed');
      assert.equal(res.body.receipt.status, 'ok', `tx ${tx.hash}: ${res.body.receipt.code}`);
    });

    const receipts = Date.now() - t0;
    // Each sender's nonce advanced by exactly its 50 transfers, on every node.
    await network.waitForHeight(all, last);
    for (const i of all) {
      for (const account of accounts) {
        const res = await network.get<{ nonce: number; balance: string }>(
          i,
          `/accounts/${account.addressHex}`,
        );
        assert.equal(res?.body.nonce, PER_SENDER, `node${i}: nonce of ${account.addressHex}`);
        // Every account sent 50 units and received 50 from its neighbour.
        assert.equal(res?.body.balance, network.summary.accounts[0]!.balance);
      }
    }

    // Identical block hashes at every height, on every node.
    await network.assertSameChain(all, 1, last);

    // What compact proposals did (txs the primary admitted < 500 ms ago travel inline).
    const timings = await Promise.all(
      network.summary.nodes.map(async (n) =>
        parseNodeTimings(await (await fetch(`${n.rpc}/metrics`)).text()),
      ),
    );
    const sum = (f: (x: (typeof timings)[number]) => number | undefined) =>
      timings.reduce((s, x) => s + (f(x) ?? 0), 0);
    const received = sum((x) => x.compactProposals?.received);
    const wire = sum((x) => x.consensusBytes?.wire);
    const v1 = sum((x) => x.consensusBytes?.v1);
    // Compaction never costs bytes: a message goes compact only when that is smaller.
    assert.ok(wire <= v1, `consensus bytes published: ${wire} vs ${v1} in v1 form`);
    t.diagnostic(
      `compact proposals: ${received} received, ${sum((x) => x.compactProposals?.local)} rebuilt ` +
        `from the pool, ${sum((x) => x.compactProposals?.txs_fetched)} txs and ` +
        `${sum((x) => x.compactProposals?.blocks_fetched)} blocks fetched, ` +
        `${sum((x) => x.compactProposals?.dropped)} dropped; consensus bytes published ${wire} ` +
        `(v1 form: ${v1})`,
    );
    t.diagnostic(
      `1,000 txs committed in blocks ${start + 1}..${last}; ms since test start: nodes up ` +
        `${started}, all submitted ${submitted}, all committed ${committed}, receipts checked ${receipts}`,
    );
  });
});
