/** `civitas bench cluster` argument mistakes: one clear line and a non-zero exit, no cluster started. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../helpers/process.ts';

test('bench cluster refuses bad arguments with one line each', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--duration', '5'], /give --rate R \(tx\/s\) or --max.*\[BENCH_BAD_ARGS\]/],
    [['--rate', '10', '--max'], /--rate or --max, not both/],
    [
      ['--rate', '10', '--faults', 'crash:1@soon'],
      /fault "crash:1@soon": "@soon" is not a window.*\[BENCH_BAD_FAULT\]/,
    ],
    [['--rate', '10', '--faults', 'crash:9@1'], /there is no validator 9.*\[BENCH_BAD_FAULT\]/],
    [
      ['--rate', '10', '--faults', 'skew:3=60s@5'],
      /fault "skew:3=60s@5": skew "60s" must be a signed duration with a unit, e\.g\. \+60s or -1500ms \[BENCH_BAD_FAULT\]/,
    ],
    [['--rate', '10', '--faults', 'skew:7=+1s@1'], /skew:7=\+1s@1: there is no validator 7/],
    [['--rate', '10', '--duration', '5', '--faults', 'crash:1@6'], /after the run ends/],
    [['--rate', '10', '--faults', '/nonexistent/faults.json'], /cannot read fault manifest/],
    [['--rate', '10', '--node-log-level', 'loud'], /--node-log-level must be/],
  ];
  await Promise.all(
    cases.map(async ([args, pattern]) => {
      const r = await runCli(['bench', 'cluster', ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, pattern, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.equal(r.stdout, '');
    }),
  );
});
