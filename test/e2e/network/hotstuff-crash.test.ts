/**
 * HotStuff in real processes (docs/HOTSTUFF.md, "In the node"): four validators of a chain
 * whose genesis names `consensus.protocol: "hotstuff"`, transfers flowing to three of them,
 * and `kill -9` of the fourth. The others keep committing blocks with txs (its turns as leader
 * pass by view change); restarted on its data, it catches up by block sync and takes part
 * again; every tx sent commits, and all four hold identical blocks at every height.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CivitasClient } from '../../../src/client/index.ts';
import { sleep, TestNetwork, waitFor } from './helpers/test-network.ts';
import {
  loadAccounts,
  type SignedTransfer,
  signedTransfer,
  submitTx,
} from './helpers/transfers.ts';

const ALL = [0, 1, 2, 3];
const VICTIM = 1;
const SURVIVORS = ALL.filter((i) => i !== VICTIM);
/** Enough heights that the victim's turn as leader comes round (every 4th height). */
const HEIGHTS_WHILE_DOWN = 8;

/** Names the protocol in every copy of the genesis before any node starts. */
async function useHotStuff(network: TestNetwork): Promise<void> {
  const { summary } = network;
  for (const path of [summary.genesis, ...summary.nodes.map((n) => join(n.home, 'genesis.json'))]) {
    const genesis = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    genesis.consensus = { protocol: 'hotstuff' };
    await writeFile(path, `${JSON.stringify(genesis, null, 2)}\n`);
  }
}

test('HotStuff: kill -9 of a replica while txs flow, the chain goes on, the node catches up', {
  timeout: 240_000,
}, async (t) => {
  const network = await TestNetwork.start(t, { validators: 4, accounts: 4, start: [] });
  await useHotStuff(network);
  await network.local.start({ waitForPeers: true });
  await network.explain(async () => {
    await network.waitForHeight(ALL, 2);
    for (const s of await network.statuses(ALL)) assert.equal(s.consensus.engine, 'hotstuff');

    // Transfers to the survivors, one every 40 ms, round robin over senders and nodes.
    const accounts = await loadAccounts(network.summary);
    const clients = network.summary.nodes.map(
      (n) => new CivitasClient(n.rpc, { timeoutMs: 30_000 }),
    );
    const sent: SignedTransfer[] = [];
    const nonces = accounts.map(() => 0);
    let flowing = true;
    const flow = (async () => {
      for (let k = 0; flowing; k++) {
        const sender = k % accounts.length;
        const tx = signedTransfer(network.chainId, accounts, {
          sender,
          to: (sender + 1) % accounts.length,
          nonce: nonces[sender]!++,
          expiryHeight: 1_000_000,
        });
        await submitTx(clients[SURVIVORS[k % SURVIVORS.length]!]!, tx);
        sent.push(tx);
        await sleep(40);
      }
    })();
    flow.catch(() => {}); // awaited below, where a failed POST fails the test

    await network.waitForHeight(ALL, 4);
    const viewChangesBefore = Math.max(
      ...(await network.statuses(SURVIVORS)).map((s) => s.consensus.viewChanges),
    );
    await network.stopNode(VICTIM, 'SIGKILL');
    const [killHeight] = await network.heights([SURVIVORS[0]!]);

    // The survivors go on, with txs in their blocks, past the victim's turns as leader.
    await network.waitForHeight(SURVIVORS, killHeight! + HEIGHTS_WHILE_DOWN, 90_000);
    let txsWhileDown = 0;
    for (let h = killHeight! + 1; h <= killHeight! + HEIGHTS_WHILE_DOWN; h++) {
      txsWhileDown += (await network.block(SURVIVORS[0]!, h)).txHashes.length;
    }
    assert.ok(txsWhileDown > 0, 'blocks committed while the victim was down carry txs');
    const after = await network.statuses(SURVIVORS);
    assert.ok(
      after.some((s) => s.consensus.viewChanges > viewChangesBefore),
      `the survivors changed view past the dead leader (before: ${viewChangesBefore})`,
    );

    // Restarted on its data: it catches up and keeps pace.
    await network.startNode(VICTIM);
    const [othersNow] = await network.heights([SURVIVORS[0]!]);
    await network.waitForHeight([VICTIM], othersNow!, 90_000);
    const rejoin = Math.max(...(await network.heights(ALL)));
    await network.waitForHeight(ALL, rejoin + 4, 90_000);

    flowing = false;
    await flow;
    // Every tx sent is committed (node 0 follows the chain until it holds them all).
    const pending = new Set(sent.map((tx) => tx.hash));
    let scanned = 0;
    await waitFor(
      async () => {
        const { height } = (await network.status(0))!;
        for (; scanned < height; scanned++) {
          for (const h of (await network.block(0, scanned + 1)).txHashes) pending.delete(h);
        }
        return pending.size === 0 ? true : undefined;
      },
      `all ${sent.length} txs to commit (${pending.size} pending)`,
      90_000,
      250,
    );

    const top = Math.min(...(await network.heights(ALL)));
    await network.assertSameChain(ALL, 1, top);
    network.assertAlive(ALL);
    t.diagnostic(
      `node${VICTIM} killed at height ${killHeight}; ${txsWhileDown} txs in the ${HEIGHTS_WHILE_DOWN} blocks after; ` +
        `restarted, caught up at ${othersNow}; ${sent.length} txs committed; chains identical up to ${top}`,
    );
  });
});
