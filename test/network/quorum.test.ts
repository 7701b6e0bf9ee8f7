/**
 * Quorum in a 4-validator network (f = 1, quorum 3): with one validator stopped the chain
 * commits; with two stopped it halts safely (no new height over many view timeouts, no
 * divergent blocks, while the survivors keep trying view changes); when one returns the
 * chain resumes and all three running nodes agree.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusResponse } from '../../src/client/index.ts';
import { Cluster, sleep, waitFor } from './helpers/cluster.ts';

/** The halted chain is watched for this many base view timeouts. */
const HALT_TIMEOUTS = 4;

test('1 of 4 down: commits; 2 of 4 down: halts safely; one back: resumes', {
  timeout: 200_000,
}, async (t) => {
  const cluster = await Cluster.start(t, { validators: 4, accounts: 0 });
  await cluster.explain(async () => {
    const { timeoutMs } = cluster.consensus;
    await cluster.waitForHeight([0, 1, 2, 3], 2);

    // One down (graceful stop): the other three still form a quorum.
    const stop3 = await cluster.stopNode(3, 'SIGTERM');
    assert.equal(stop3.code, 0, 'SIGTERM stops the node cleanly');
    const [h1] = await cluster.heights([0]);
    await cluster.waitForHeight([0, 1, 2], h1! + 4);

    // Two down (kill -9): two of four cannot commit anything.
    await cluster.stopNode(2, 'SIGKILL');
    // A block whose COMMITs were already in flight may still land on one survivor; the other
    // fetches it by sync. Wait until both agree on one tip that stays put for a timeout.
    let candidate: StatusResponse | undefined;
    const halted = await waitFor(
      async () => {
        const [a, b] = await cluster.statuses([0, 1]);
        const settled =
          candidate !== undefined &&
          a!.latestBlockHash === candidate.latestBlockHash &&
          b!.latestBlockHash === candidate.latestBlockHash;
        if (settled) return candidate;
        candidate = a!.latestBlockHash === b!.latestBlockHash ? a : undefined;
        return undefined;
      },
      'the two survivors to settle on one tip',
      30_000,
      timeoutMs,
    );
    const viewChangesAtHalt = halted.consensus.viewChanges;
    const watchUntil = Date.now() + HALT_TIMEOUTS * timeoutMs;
    while (Date.now() < watchUntil) {
      const [a, b] = await cluster.statuses([0, 1]);
      assert.equal(a!.height, halted.height, 'node0 committed nothing without a quorum');
      assert.equal(b!.height, halted.height, 'node1 committed nothing without a quorum');
      assert.equal(a!.latestBlockHash, halted.latestBlockHash);
      assert.equal(b!.latestBlockHash, halted.latestBlockHash);
      await sleep(200);
    }
    const [a] = await cluster.statuses([0]);
    assert.ok(
      a!.consensus.viewChanges > viewChangesAtHalt || a!.consensus.view > 0,
      'the survivors kept trying: their view moved on while halted',
    );
    await cluster.assertSameChain([0, 1], 1, halted.height);

    // One returns: three of four again, so the chain resumes (after the survivors' doubled
    // view timeouts run out and the returning node joins their view).
    const resumeFrom = Date.now();
    await cluster.startNode(2);
    await cluster.waitForHeight([0, 1, 2], halted.height + 3, 90_000);
    t.diagnostic(
      `halted at height ${halted.height}; resumed ${Date.now() - resumeFrom} ms after node2 was restarted`,
    );
    const top = Math.min(...(await cluster.heights([0, 1, 2])));
    await cluster.assertSameChain([0, 1, 2], 1, top);
    cluster.assertAlive([0, 1, 2]);
  });
});
