/**
 * Quorum in a 4-validator network (f = 1, quorum 3): with one validator stopped the chain
 * commits; with two stopped it halts safely (no new height over several view timeouts, no
 * divergent blocks, while the survivors keep trying view changes); when one returns the
 * chain resumes and all three running nodes agree. The first one is stopped gracefully
 * (SIGTERM) while it is the primary, and must shut down cleanly.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { StatusResponse } from '../../../src/client/index.ts';
import { sleep, TestNetwork, waitFor } from './helpers/test-network.ts';

/** The halted chain is watched for this many base view timeouts. */
const HALT_TIMEOUTS = 4;

test('quorum: 1 of 4 down commits, 2 of 4 down halts safely, one back resumes', {
  timeout: 200_000,
}, async (t) => {
  const network = await TestNetwork.start(t, { validators: 4, accounts: 0 });
  const { timeoutMs } = network.consensus;
  await network.explain(() => network.waitForHeight([0, 1, 2, 3], 2));

  await t.test('with 1 of 4 stopped (SIGTERM, as the primary) the chain commits', () =>
    network.explain(async () => {
      // Stopped while it is the primary of the next height, i.e. while building a proposal.
      await waitFor(
        async () => {
          const s = await network.status(3);
          return s?.consensus.primary === 3 ? true : undefined;
        },
        'node3 to be the primary',
        30_000,
        10,
      );
      const stop3 = await network.stopNode(3, 'SIGTERM');
      assert.equal(stop3.code, 0, 'SIGTERM stops the node with exit code 0');
      const [h1] = await network.heights([0]);
      await network.waitForHeight([0, 1, 2], h1! + 4);
    }),
  );

  await t.test(
    'a graceful stop waits for work in flight (no failures logged while stopping)',
    async () => {
      // Stopped while it built a proposal, node3 used to close its database under that work
      // ("building a proposal failed: Database is not open").
      const lines = (await readFile(network.logPath(3), 'utf8')).split('\n');
      const stopping = lines.findLastIndex((l) => l.includes('"msg":"stopping"'));
      assert.ok(stopping >= 0, 'node3 logged that it was stopping');
      const failures = lines
        .slice(stopping)
        .filter((l) => l.includes('"level":"warn"') || l.includes('"level":"error"'));
      assert.deepEqual(failures, []);
    },
  );

  let halted: StatusResponse | undefined;
  await t.test('with 2 of 4 stopped (kill -9) it halts safely', () =>
    network.explain(async () => {
      await network.stopNode(2, 'SIGKILL');
      // A block whose COMMITs were already in flight may still land on one survivor; the
      // other fetches it by sync. Wait until both agree on one tip that stays put a timeout.
      let candidate: StatusResponse | undefined;
      halted = await waitFor(
        async () => {
          const [a, b] = await network.statuses([0, 1]);
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
      const tip = halted;
      const watchUntil = Date.now() + HALT_TIMEOUTS * timeoutMs;
      while (Date.now() < watchUntil) {
        const [a, b] = await network.statuses([0, 1]);
        assert.equal(a!.height, tip.height, 'node0 committed nothing without a quorum');
        assert.equal(b!.height, tip.height, 'node1 committed nothing without a quorum');
        assert.equal(a!.latestBlockHash, tip.latestBlockHash);
        assert.equal(b!.latestBlockHash, tip.latestBlockHash);
        await sleep(200);
      }
      const [a] = await network.statuses([0]);
      assert.ok(
        a!.consensus.viewChanges > tip.consensus.viewChanges || a!.consensus.view > 0,
        'the survivors kept trying: their view moved on while halted',
      );
      await network.assertSameChain([0, 1], 1, tip.height);
    }),
  );

  await t.test('when one returns the chain resumes', (t) =>
    network.explain(async () => {
      assert.ok(halted !== undefined, 'the halt was observed');
      // Three of four again: the chain resumes once the survivors' doubled view timeouts run
      // out and the returning node joins their view.
      const resumeFrom = Date.now();
      await network.startNode(2);
      await network.waitForHeight([0, 1, 2], halted.height + 3, 90_000);
      t.diagnostic(
        `halted at height ${halted.height}; resumed ${Date.now() - resumeFrom} ms after node2 was restarted`,
      );
      const top = Math.min(...(await network.heights([0, 1, 2])));
      await network.assertSameChain([0, 1, 2], 1, top);
      network.assertAlive([0, 1, 2]);
    }),
  );
});
