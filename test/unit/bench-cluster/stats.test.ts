import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseProcStat, parseVmRss } from '../../../bench/cluster/proc-stats.ts';
import {
  type CommitEvent,
  faultRecovery,
  LatencyRecorder,
  meanThroughput,
  nearestRank,
  throughputSeries,
} from '../../../bench/cluster/stats.ts';

const commit = (atMs: number, loadTxs: number, height = 0): CommitEvent => ({
  height,
  atMs,
  txs: loadTxs,
  loadTxs,
});

describe('latency percentiles', () => {
  test('known data: 1..1000 ms', () => {
    const r = new LatencyRecorder();
    for (let ms = 1; ms <= 1000; ms++) r.record(ms);
    const s = r.summary();
    assert.equal(s.count, 1000);
    assert.ok(Math.abs(s.p50Ms - 500) <= 0.5, `p50 ${s.p50Ms}`);
    assert.ok(Math.abs(s.p90Ms - 900) <= 0.9, `p90 ${s.p90Ms}`);
    assert.ok(Math.abs(s.p99Ms - 990) <= 1, `p99 ${s.p99Ms}`);
    assert.ok(Math.abs(s.maxMs - 1000) <= 1, `max ${s.maxMs}`);
    assert.ok(Math.abs(s.meanMs - 500.5) <= 0.5, `mean ${s.meanMs}`);
    const cdf = r.cdf(10);
    assert.equal(cdf.at(-1)!.fraction, 1);
    for (let i = 1; i < cdf.length; i++) {
      assert.ok(cdf[i]!.latencyMs >= cdf[i - 1]!.latencyMs, 'the CDF never decreases');
      assert.ok(cdf[i]!.fraction > cdf[i - 1]!.fraction);
    }
    r.destroy();
  });

  test('an empty recorder reports zeros, not NaN', () => {
    const r = new LatencyRecorder();
    assert.deepEqual(r.summary(), {
      count: 0,
      meanMs: 0,
      p50Ms: 0,
      p90Ms: 0,
      p99Ms: 0,
      p999Ms: 0,
      maxMs: 0,
    });
    assert.deepEqual(r.cdf(), []);
    r.destroy();
  });

  test('property: every percentile is within 0.1% of the exact nearest-rank value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 120_000, noNaN: true }), {
          minLength: 1,
          maxLength: 400,
        }),
        fc.constantFrom(50, 90, 99, 99.9, 100),
        (values, p) => {
          const r = new LatencyRecorder();
          for (const v of values) r.record(v);
          // The recorder keeps µs, at least 1 µs.
          const exact = nearestRank(
            values.map((v) => Math.max(1, Math.round(v * 1000)) / 1000).sort((a, b) => a - b),
            p,
          );
          const got = r.percentileMs(p);
          r.destroy();
          assert.ok(Math.abs(got - exact) <= exact * 0.001 + 0.001, `p${p}: ${got} vs ${exact}`);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('throughput over time', () => {
  test('commits fall into 1 s buckets; a partial last bucket is scaled by its length', () => {
    const commits = [
      commit(0, 10),
      commit(999, 5),
      commit(1000, 7),
      commit(2400, 4),
      commit(2600, 100),
    ];
    assert.deepEqual(throughputSeries(commits, 2500), [
      { t: 0, txPerSec: 15 },
      { t: 1, txPerSec: 7 },
      { t: 2, txPerSec: 8 },
    ]);
    assert.equal(meanThroughput(commits, 0, 2000), 11);
    assert.equal(meanThroughput(commits, 1000, 1000), 0);
  });

  test('property: the buckets add up to every commit inside the window', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.integer({ min: -500, max: 12_000 }),
            n: fc.integer({ min: 0, max: 500 }),
          }),
        ),
        fc.integer({ min: 1, max: 11_000 }),
        (raw, duration) => {
          const commits = raw.map((c) => commit(c.at, c.n));
          const series = throughputSeries(commits, duration);
          const total = series.reduce(
            (a, b, k) => a + (b.txPerSec * Math.min(1000, duration - k * 1000)) / 1000,
            0,
          );
          const expected = commits
            .filter((c) => c.atMs >= 0 && c.atMs < duration)
            .reduce((a, c) => a + c.loadTxs, 0);
          assert.ok(Math.abs(total - expected) < 1e-6, `${total} vs ${expected}`);
          assert.equal(series.length, Math.ceil(duration / 1000));
        },
      ),
    );
  });
});

describe('fault recovery', () => {
  // Healthy: a block every 100 ms with 10 txs (100 tx/s); a stall from 5.0 s to 7.3 s.
  const healthy = Array.from({ length: 50 }, (_, i) => commit(i * 100 + 100, 10, i + 1));
  const after = Array.from({ length: 27 }, (_, i) => commit(7300 + i * 100, 10, 51 + i));
  const commits = [...healthy, ...after];

  test('a crash window: first commit, longest stall, tx/s during, recovery after the end', () => {
    const r = faultRecovery({ atMs: 4950, untilMs: 8000 }, commits, 10_000, 100);
    assert.equal(r.firstCommitAfterStartMs, 50);
    assert.equal(r.maxCommitGapMs, 2300);
    // One commit at 5.0 s, then 7.3..7.9 s: 8 blocks of 10 txs in 3.05 s.
    assert.ok(Math.abs(r.txPerSecDuring - ((1 + 7) * 10) / 3.05) < 1e-9, String(r.txPerSecDuring));
    assert.equal(r.firstCommitAfterEndMs, 100);
    // Bucket [8 s, 9 s) holds 100 tx/s ≥ 90% of 100: recovered at its end.
    assert.equal(r.throughputRecoveredMs, 1000);
  });

  test('a stall that outlasts the window is measured up to the next commit', () => {
    const r = faultRecovery({ atMs: 5000, untilMs: 6000 }, commits, 10_000, 100);
    assert.equal(r.maxCommitGapMs, 2300);
    assert.equal(r.firstCommitAfterStartMs, 2300);
  });

  test('no commit after the fault: the stall lasts to the end of the run; nothing recovers', () => {
    const r = faultRecovery({ atMs: 5050 }, healthy, 10_000, 100);
    assert.equal(r.firstCommitAfterStartMs, null);
    assert.equal(r.maxCommitGapMs, 4950);
    assert.equal(r.firstCommitAfterEndMs, null);
    assert.equal(r.throughputRecoveredMs, null);
    assert.equal(r.txPerSecDuring, 0);
  });
});

describe('/proc parsing', () => {
  test('utime + stime after a command name with spaces and parentheses', () => {
    const stat =
      '1234 (node (x) y) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 50 0 0 20 0 11 0 100 0 0';
    assert.equal(parseProcStat(stat, 100), 3);
    assert.equal(parseVmRss('Name:\tnode\nVmRSS:\t  204800 kB\nThreads: 11\n'), 204800 * 1024);
    assert.equal(parseVmRss('Name: x\n'), 0);
  });
});
