import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  latencyCdfSpec,
  renderSvg,
  sweepSpec,
  throughputSpec,
} from '../../../bench/cluster/plots.ts';

/** Well-formed XML with an <svg> root: every tag closed in order, attributes quoted. */
function assertWellFormedSvg(svg: string): void {
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const stack: string[] = [];
  const tags = svg.replace(/<!--[\s\S]*?-->/g, '').match(/<[^>]+>/g) ?? [];
  for (const tag of tags) {
    if (tag.startsWith('<?')) continue;
    const close = /^<\/([\w:-]+)\s*>$/.exec(tag);
    if (close !== null) {
      assert.equal(stack.pop(), close[1], `</${close[1]}> closes the open element`);
      continue;
    }
    const open = /^<([\w:-]+)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>$/.exec(tag);
    assert.ok(open !== null, `malformed tag: ${tag.slice(0, 120)}`);
    if (open[3] !== '/') stack.push(open[1]!);
  }
  assert.deepEqual(stack, [], 'every element is closed');
  // No text outside the root and no raw '<' or '&' in text.
  assert.ok(svg.trim().endsWith('</svg>'));
  assert.doesNotMatch(svg.replace(/<[^>]+>/g, ''), /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i);
}

describe('plots render to valid SVG with vega-lite → vega', () => {
  test('throughput over time with fault windows and the offered rate', async () => {
    const series = Array.from({ length: 20 }, (_, t) => ({
      t,
      txPerSec: t >= 8 && t < 12 ? 50 : 400,
    }));
    const svg = await renderSvg(
      throughputSpec({
        title: 'Committed tx/s & faults',
        series,
        offeredTxPerSec: 400,
        durationS: 20,
        faults: [
          { label: 'crash:1@8-12', startS: 8, endS: 12 },
          { label: 'delay:*=50ms@15', startS: 15 },
        ],
      }),
    );
    assertWellFormedSvg(svg);
    assert.ok(svg.includes('Committed tx/s &amp; faults'), 'the title, escaped');
    assert.ok(svg.includes('crash:1@8-12') && svg.includes('delay:*=50ms@15'), 'fault labels');
    assert.ok(
      svg.includes('committed tx/s') && svg.includes('time since load start (s)'),
      'axis titles',
    );
    assert.ok((svg.match(/<path /g) ?? []).length > 5, 'marks drawn');
  });

  test('latency CDF with two runs', async () => {
    const points = (scale: number) =>
      Array.from({ length: 11 }, (_, i) => ({ latencyMs: scale * (1 + i * i), fraction: i / 10 }));
    const svg = await renderSvg(
      latencyCdfSpec({
        title: 'CDF',
        series: [
          { label: 'at max', points: points(10) },
          { label: 'half max', points: points(3) },
        ],
      }),
    );
    assertWellFormedSvg(svg);
    assert.ok(svg.includes('at max') && svg.includes('half max'), 'legend entries');
  });

  test('sweep plots against N and against block size', async () => {
    const points = [4, 7, 10, 13].flatMap((validators) =>
      [100, 1000].map((blockSize) => ({
        validators,
        blockSize,
        txPerSec: 4000 / validators + blockSize / 100,
        p50Ms: 100 * validators,
        p99Ms: 300 * validators,
      })),
    );
    for (const x of ['validators', 'blockSize'] as const) {
      for (const y of ['txPerSec', 'p99Ms'] as const) {
        const svg = await renderSvg(sweepSpec({ title: `${y} vs ${x}`, points, x, y }));
        assertWellFormedSvg(svg);
        assert.ok(svg.includes(`${y} vs ${x}`));
      }
    }
  });

  test('the checker itself rejects broken SVG', () => {
    assert.throws(() => assertWellFormedSvg('<svg xmlns="http://www.w3.org/2000/svg"><g></svg>'));
    assert.throws(() =>
      assertWellFormedSvg('<svg xmlns="http://www.w3.org/2000/svg"><g a=1></g></svg>'),
    );
    assert.throws(() => assertWellFormedSvg('<html></html>'));
  });
});
