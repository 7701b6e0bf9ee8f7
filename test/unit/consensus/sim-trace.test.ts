/**
 * The simulator's structured trace and its figures: a seed replays its trace byte for byte,
 * every line is one JSON object {t, node, event, ...} with message summaries as fields, and
 * the report carries commit latencies, bytes sent and rejections split into benign and other.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  latencySummary,
  percentile,
  rejectionBreakdown,
  runSimulation,
  runSweep,
  seedRow,
  TRACE_EVENTS,
  traceJsonLine,
} from '../../../src/consensus/sim/index.ts';
import { testDuration } from './sim-helpers.ts';

const jsonl = (seed: number): string => {
  const report = runSimulation({
    validators: 4,
    seed,
    faults: ['crash', 'loss', 'equivocate'],
    durationMs: testDuration(4),
    trace: true,
  });
  return report.traceEvents!.map(traceJsonLine).join('\n');
};

describe('structured trace', () => {
  it('a seed replays its JSON-lines trace byte for byte; another seed differs', () => {
    const a = jsonl(41);
    assert.equal(a, jsonl(41));
    assert.notEqual(a, jsonl(42));
  });

  it('every line parses to {t, node, event, ...fields} with messages as fields', () => {
    const lines = jsonl(41).split('\n');
    assert.ok(lines.length > 500, `${lines.length} lines`);
    let last = 0;
    const seen = new Set<string>();
    for (const line of lines) {
      const e = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(e).slice(0, 3), ['t', 'node', 'event'], line);
      assert.equal(typeof e.t, 'number');
      assert.ok((e.t as number) >= last, 'time never goes back');
      last = e.t as number;
      assert.ok(e.node === null || Number.isInteger(e.node), line);
      assert.ok((TRACE_EVENTS as readonly string[]).includes(e.event as string), line);
      for (const v of Object.values(e))
        assert.ok(v === null || typeof v !== 'object', `flat: ${line}`);
      seen.add(e.event as string);
      if (e.event === 'receive' || e.event === 'send') {
        assert.match(String(e.kind), /^(pre-prepare|prepare|commit|view-change|new-view)$/);
        assert.ok(Number.isInteger(e.height) && Number.isInteger(e.view), line);
        assert.ok(Number.isInteger(e.signer), line);
        assert.match(String(e.digest), /^[0-9a-f]{8}$/);
      }
      if (e.event === 'receive') assert.ok(Number.isInteger(e.from), line);
    }
    for (const kind of ['start', 'send', 'receive', 'commit', 'crash', 'gst']) {
      assert.ok(seen.has(kind), `has ${kind} events`);
    }
  });

  it('the text trace is a rendering of the same events', () => {
    const r = runSimulation({
      validators: 4,
      seed: 5,
      faults: [],
      durationMs: 12_000,
      trace: true,
    });
    assert.equal(r.trace!.length, r.traceEvents!.length);
    const commit = r.traceEvents!.findIndex((e) => e.event === 'commit');
    assert.match(r.trace![commit]!, /ms r\d COMMITS h=1 [0-9a-f]{8} \(view 0, by consensus\)$/);
  });
});

describe('report figures', () => {
  it('a fault-free run: latencies per height, bytes, only benign rejections', () => {
    const r = runSimulation({ validators: 4, seed: 9, faults: [], durationMs: 12_000 });
    assert.equal(r.commitLatenciesMs.length, r.committedMax);
    assert.ok(r.commitLatenciesMs.every((l) => l > 0 && l < 1_000));
    assert.equal(r.commitLatencyMs.count, r.committedMax);
    assert.ok(r.commitLatencyMs.p50! <= r.commitLatencyMs.p99!);
    assert.ok(r.messages.bytesSent > r.messages.sent * 50, 'bytes counted per message');
    const rejected = rejectionBreakdown(r.rejections);
    assert.ok(rejected.total > 0, 'late votes after a decision are refused');
    assert.equal(rejected.other, 0, JSON.stringify(rejected.byReason));
    const row = seedRow(r);
    assert.equal(row.seed, 9);
    assert.equal(
      row.messagesPerBlock,
      Math.round((r.messages.sent / r.committedMax) * 1000) / 1000,
    );
    assert.equal(row.rejectedBenign, rejected.total);
  });

  it('a sweep keeps one row per seed and rejections by reason', () => {
    const s = runSweep({
      validators: [4],
      seeds: { first: 1, count: 3 },
      faultMixes: [['crash']],
      durationMs: testDuration(4),
      keepRows: true,
    });
    assert.deepEqual(
      s.rows.map((r) => r.seed),
      [1, 2, 3],
    );
    const total = Object.values(s.groups[0]!.rejections).reduce((a, b) => a + b, 0);
    assert.equal(total, s.groups[0]!.rejected);
    assert.equal(
      runSweep({ validators: [4], seeds: { first: 1, count: 1 }, durationMs: testDuration(4) }).rows
        .length,
      0,
    );
  });

  it('percentiles are nearest-rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(
      percentile(
        [...values].sort((a, b) => a - b),
        50,
      ),
      50,
    );
    const s = latencySummary(values);
    assert.deepEqual([s.p50, s.p90, s.p99, s.max, s.count], [50, 90, 99, 100, 100]);
    assert.equal(latencySummary([]).p99, null);
  });
});
