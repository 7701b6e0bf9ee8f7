/**
 * The cluster benchmark's /proc sampler: CPU and resident memory of a process, and the
 * per-minute RSS curve a long run reports (bench/cluster/proc-stats.ts), read from this
 * test's own process.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageTracker } from '../../../bench/cluster/proc-stats.ts';

test('RSS is averaged per minute from the first sample', () => {
  const tracker = new UsageTracker();
  const t0 = 1_000_000;
  // Minutes 0, 0, 1, 3: minute 2 had no sample and reports 0 rather than a made-up figure.
  for (const at of [t0, t0 + 30_000, t0 + 61_000, t0 + 185_000]) tracker.sample(process.pid, at);
  const usage = tracker.usage();
  assert.equal(usage.samples, 4);
  assert.equal(usage.rssMiBByMinute.length, 4);
  const [m0, m1, m2, m3] = usage.rssMiBByMinute;
  for (const m of [m0, m1, m3]) {
    assert.ok(m! > 10 && m! < 4096, `a process's RSS in MiB (${m})`);
  }
  assert.equal(m2, 0);
  assert.ok(
    usage.rssMiBPeak + 0.05 >= Math.max(m0!, m1!, m3!),
    "no minute above the peak (to the curve's 0.1 MiB)",
  );
});

test('a process that is gone adds no sample', () => {
  const tracker = new UsageTracker();
  tracker.sample(2 ** 22 + 12_345, 0); // above Linux's pid limit: no such process
  assert.equal(tracker.usage().samples, 0);
  assert.deepEqual(tracker.usage().rssMiBByMinute, []);
});
