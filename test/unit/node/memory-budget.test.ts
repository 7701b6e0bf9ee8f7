/**
 * The memory budget: what it sizes, the heap flags (checked in a real child process: a Node
 * started with them reports a heap limit near the budget, one started without them does not,
 * and the node's warning says which), and the config field's rule.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseConfig } from '../../../src/node/config.ts';
import {
  DEFAULT_MEMORY_BUDGET_MIB,
  heapFlags,
  heapLimitWarning,
  memoryPlan,
} from '../../../src/node/memory-budget.ts';
import { NODE_BIN } from '../../helpers/process.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;

async function heapLimitWith(flags: readonly string[]): Promise<number> {
  const { stdout } = await run(NODE_BIN, [
    ...flags,
    '-e',
    "process.stdout.write(String(require('node:v8').getHeapStatistics().heap_size_limit))",
  ]);
  return Number(stdout);
}

test('the default budget: 256 MiB, an eighth of it for the caches, split as documented', () => {
  assert.equal(DEFAULT_MEMORY_BUDGET_MIB, 256);
  const plan = memoryPlan(256);
  assert.equal(plan.budgetBytes, 256 * MiB);
  assert.deepEqual(plan.heapFlags, ['--max-old-space-size=256', '--max-semi-space-size=2']);
  const cacheBytes =
    (plan.verifiedTxs + plan.recentTxs + plan.trackedTxs) * 128 +
    plan.senders * 192 +
    plan.stateNodeBytes +
    plan.stateValues * 256;
  assert.ok(cacheBytes <= 32 * MiB && cacheBytes > 31 * MiB, `${cacheBytes / MiB} MiB`);
  assert.equal(plan.leveldbWriteBufferBytes, 4 * MiB);
  assert.equal(plan.leveldbMaxOpenFiles, 64, 'mapped tables bounded (LevelDB: 1,000)');
  // Twice the budget, twice every cache.
  const double = memoryPlan(512);
  assert.ok(Math.abs(double.stateNodeBytes - 2 * plan.stateNodeBytes) <= 1);
  assert.ok(Math.abs(double.verifiedTxs - 2 * plan.verifiedTxs) <= 1);
});

test('a Node started with the flags has a heap limit near the budget; without, the node warns', async () => {
  const sized = await heapLimitWith(heapFlags(256));
  assert.ok(sized <= 1.5 * 256 * MiB, `${sized / MiB} MiB`);
  assert.equal(heapLimitWarning(256, sized), undefined);
  // V8 sizes its default heap from the machine's memory (here: gigabytes).
  const unsized = await heapLimitWith([]);
  const warning = heapLimitWarning(256, unsized);
  assert.ok(unsized > 1.5 * 256 * MiB, 'this machine gives Node a larger default heap');
  assert.match(warning!, /--max-old-space-size=256 --max-semi-space-size=2/);
});

test('config: memory.budgetMiB defaults to 256, at least 128, an integer', () => {
  assert.equal(parseConfig({}).memory.budgetMiB, 256);
  assert.equal(parseConfig({ memory: { budgetMiB: 1024 } }).memory.budgetMiB, 1024);
  for (const budgetMiB of [64, 127, 256.5, '256', null]) {
    assert.throws(
      () => parseConfig({ memory: { budgetMiB } }),
      /memory\.budgetMiB/,
      String(budgetMiB),
    );
  }
  assert.throws(() => parseConfig({ memory: { heapMiB: 1 } }), /unknown field "memory.heapMiB"/);
});
