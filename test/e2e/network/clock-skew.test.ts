/**
 * Four validator processes, one with its clock 60 s slow and one 60 s fast (fault injection's
 * CIVITAS_FAULT_CLOCK_OFFSET_MS). Block time comes from the quorum's signed vote times, so:
 * both skewed nodes commit every height with the others; the skewed proposers cause no view
 * changes (a proposer no longer picks the time, and no replica refuses a block for its own
 * clock); every block time lies within the honest clocks (the test process's); each node's
 * clock health names its own offset, /ready says so; and the slow node, killed and
 * restarted, catches up by block sync, whose certified blocks no local clock can refuse.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReadyResponse, StatusResponse } from '../../../src/api/types.ts';
import { CLOCK_OFFSET_ENV } from '../../../src/node/fault-injection.ts';
import { TestNetwork, waitFor } from './helpers/test-network.ts';

const ALL = [0, 1, 2, 3];
const SLOW = 2;
const FAST = 3;
const SKEW_MS = 60_000;
/** Heights watched for view changes: with skewed proposers refused, half would need one. */
const WINDOW = 12;

test('a validator 60 s slow and one 60 s fast stay in step; block time stays within the honest clocks', async (t) => {
  const network = await TestNetwork.start(t, {
    validators: 4,
    accounts: 0,
    faultInjection: true,
    nodes: {
      [SLOW]: { env: { [CLOCK_OFFSET_ENV]: String(-SKEW_MS) } },
      [FAST]: { env: { [CLOCK_OFFSET_ENV]: String(SKEW_MS) } },
    },
  });
  await network.explain(async () => {
    // Past start-up (nodes coming up one by one may cost a view change), then a window.
    await network.waitForHeight(ALL, 3, 60_000);
    const before = await network.statuses(ALL);
    const from = Math.max(...before.map((s) => s.height));
    const windowStart = Date.now();
    await network.waitForHeight(ALL, from + WINDOW, 90_000);
    const windowEnd = Date.now();
    const after = await network.statuses(ALL);

    // Every node, skewed or not, committed every height of the window, the same blocks.
    const to = Math.min(...after.map((s) => s.height));
    await network.assertSameChain(ALL, 1, to);

    // No extra view changes: before the fix every skewed proposer's height needed one.
    const viewChanges = Math.max(
      ...after.map((s, i) => s.consensus.viewChanges - before[i]!.consensus.viewChanges),
    );
    assert.ok(
      viewChanges < WINDOW / 4,
      `${viewChanges} view changes over ${WINDOW} heights with two skewed proposers`,
    );

    // Block times are within the honest clocks (this process's), never 60 s off.
    for (let h = from + 1; h <= from + WINDOW; h++) {
      const { header } = await network.block(0, h);
      assert.ok(
        header.timestamp >= windowStart - 5_000 && header.timestamp <= windowEnd + 1_000,
        `block ${h} time ${header.timestamp} outside the honest clocks [${windowStart}, ${windowEnd}]`,
      );
      const parent = await network.block(0, h - 1);
      assert.ok(header.timestamp > parent.header.timestamp, `block ${h} time moves forward`);
    }

    // Clock health: each node knows its own offset; /ready fails only on the clock check.
    const offsetOf = (s: StatusResponse) => s.clock.offsetMs;
    const status = await network.statuses(ALL);
    for (const i of ALL) {
      const offset = offsetOf(status[i]!);
      assert.ok(offset !== null, `node${i} has a clock estimate`);
      const expected = i === SLOW ? -SKEW_MS : i === FAST ? SKEW_MS : 0;
      assert.ok(
        Math.abs(offset - expected) < 5_000,
        `node${i} estimates its clock offset at ${offset} ms, expected about ${expected}`,
      );
    }
    for (const i of ALL) {
      const ready = await network.get<ReadyResponse>(i, '/ready');
      assert.ok(ready !== undefined, `node${i} answers /ready`);
      const skewed = i === SLOW || i === FAST;
      assert.equal(ready.status, skewed ? 503 : 200, `node${i} /ready`);
      assert.equal(ready.body.checks.clock.ok, !skewed);
      assert.ok(ready.body.checks.peers.ok && ready.body.checks.sync.ok);
    }
    const warnings = await network.logLines(SLOW, 'warn');
    assert.ok(
      warnings.some((l) => l.includes('clock is off')),
      'the slow node warns about its clock',
    );

    // The slow node, killed and restarted behind the chain, catches up by sync.
    await network.stopNode(SLOW, 'SIGKILL');
    const [survivor] = await network.heights([0]);
    await network.waitForHeight([0, 1, FAST], survivor! + 5, 60_000);
    await network.startNode(SLOW);
    const [target] = await network.heights([0]);
    await network.waitForHeight([SLOW], target! + 2, 60_000);
    const [caughtUp] = await network.heights([SLOW]);
    await network.assertSameChain(ALL, 1, caughtUp!);
    const synced = await waitFor(
      async () => {
        const s = await network.status(SLOW);
        return s !== undefined && s.height >= caughtUp! ? s : undefined;
      },
      'the restarted slow node to answer',
      10_000,
    );
    assert.ok(synced.height >= target!);
  });
});
