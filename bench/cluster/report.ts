/** results.json, the SVG plots and the human table of a cluster benchmark. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterBenchResults, ProbeResult } from './bench.ts';
import { latencyCdfSpec, renderSvg, sweepSpec, throughputSpec } from './plots.ts';
import { describeBackends, describeProcessBackends } from './provenance.ts';
import type { RecoveryComparison } from './recovery.ts';
import type { RunResult } from './run.ts';

function throughputPlot(run: RunResult, title: string): Promise<string> {
  return renderSvg(
    throughputSpec({
      title,
      series: run.throughput.overTime,
      offeredTxPerSec: run.rate,
      durationS: run.durationS,
      faults: run.faults.map((f) => ({
        label:
          f.resolvedNode !== undefined && f.spec.includes('primary')
            ? `${f.spec} (node${f.resolvedNode})`
            : f.spec,
        startS: f.startS,
        ...(f.endS !== null ? { endS: f.endS } : {}),
      })),
    }),
  );
}

/** Writes results.json and the plots into `dir`; returns the files written. */
export async function writeResults(results: ClusterBenchResults, dir: string): Promise<string[]> {
  const files: string[] = [];
  const write = async (name: string, text: string): Promise<void> => {
    await writeFile(join(dir, name), text);
    files.push(join(dir, name));
  };
  await write('results.json', `${JSON.stringify(results, null, 2)}\n`);
  const { run, halfRateRun: half } = results;
  if (run !== null) {
    await write(
      'throughput.svg',
      await throughputPlot(
        run,
        `Committed tx/s, ${run.validators} validators, ${run.rate} tx/s offered`,
      ),
    );
    const series = [{ label: `${run.rate} tx/s`, points: run.latency.cdf }];
    if (half !== null)
      series.push({ label: `${half.rate} tx/s (half max)`, points: half.latency.cdf });
    await write(
      'latency-cdf.svg',
      await renderSvg(
        latencyCdfSpec({ title: `Submit → commit latency, ${run.validators} validators`, series }),
      ),
    );
  }
  if (half !== null) {
    await write(
      'throughput-half-max.svg',
      await throughputPlot(half, `Committed tx/s at half the max rate (${half.rate} tx/s)`),
    );
  }
  if (results.sweep !== null && results.sweep.length > 0) {
    const points = results.sweep.filter((p) => p.error === undefined);
    for (const [name, x, y, title] of [
      ['sweep-throughput-vs-n.svg', 'validators', 'txPerSec', 'Committed tx/s against validators'],
      ['sweep-p99-vs-n.svg', 'validators', 'p99Ms', 'p99 latency against validators'],
      [
        'sweep-throughput-vs-block.svg',
        'blockSize',
        'txPerSec',
        'Committed tx/s against block size',
      ],
      ['sweep-p99-vs-block.svg', 'blockSize', 'p99Ms', 'p99 latency against block size'],
    ] as const) {
      await write(name, await renderSvg(sweepSpec({ title, points, x, y })));
    }
  }
  return files;
}

function fmt(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** Signatures the node verified on its pool's workers / on its event loop (from /metrics). */
function signatureCell(signatures: Record<string, number> | undefined): string {
  const workers = signatures?.['by_thread/workers'];
  const calling = signatures?.['by_thread/calling'];
  if (workers === undefined && calling === undefined) return '-';
  return `${fmt(workers)}/${fmt(calling)}`;
}

/** The node's estimate of its own clock offset: "+60,012", with ✗ past the drift bound. */
function clockCell(clock: RunResult['nodes'][number]['clock']): string {
  if (clock === null || clock.offsetMs === null) return '-';
  const sign = clock.offsetMs > 0 ? '+' : '';
  return `${sign}${fmt(clock.offsetMs)}${clock.ok ? '' : ' ✗'}`;
}

function runLines(run: RunResult): string[] {
  const l = run.latency;
  const lines = [
    `${run.label}: ${run.validators} validators, blocks ≤ ${fmt(run.blockSize)} txs, ${run.durationS}s, ${run.load.senders} senders`,
    `  committed ${fmt(run.throughput.meanTxPerSec)} tx/s (mean after warm-up; offered ${fmt(run.rate)}), ${fmt(run.committedLoadTxs)} txs in ${fmt(run.blocks.count)} blocks (mean ${fmt(run.blocks.meanTxs, 1)} txs/block)`,
    l.count === 0
      ? '  latency: none — no load tx committed'
      : `  latency ms  p50 ${fmt(l.p50Ms)}  p90 ${fmt(l.p90Ms)}  p99 ${fmt(l.p99Ms)}  max ${fmt(l.maxMs)}  (${fmt(l.count)} txs)`,
    `  submissions: ${fmt(run.load.accepted)} accepted, ${fmt(run.load.retries)} retried, ${fmt(run.load.failed)} failed; ${fmt(run.uncommitted)} uncommitted after the drain; generator lag max ${fmt(run.load.maxSendLagMs)} ms`,
    `  view changes: ${fmt(run.viewChanges.total)} (max ${fmt(run.viewChanges.maxPerNode)} on one node)`,
  ];
  if (run.faults.length > 0) {
    lines.push(
      ...table(
        [
          '  fault',
          'node',
          'first commit after (ms)',
          'longest stall (ms)',
          'tx/s during',
          'recovered after end (ms)',
        ],
        run.faults.map((f) => [
          `  ${f.spec}`,
          f.resolvedNode === undefined ? '' : String(f.resolvedNode),
          fmt(f.recovery.firstCommitAfterStartMs),
          fmt(f.recovery.maxCommitGapMs),
          fmt(f.recovery.txPerSecDuring),
          fmt(f.recovery.throughputRecoveredMs),
        ]),
      ),
    );
  }
  lines.push(
    ...table(
      [
        '  node',
        'CPU % mean',
        'CPU % peak',
        'RSS MiB mean',
        'RSS MiB peak',
        'restarts',
        'view changes',
        'clock offset ms',
      ],
      [
        ...run.nodes.map((n) => [
          `  node${n.index}`,
          fmt(n.usage.cpuPercentMean),
          fmt(n.usage.cpuPercentPeak),
          fmt(n.usage.rssMiBMean),
          fmt(n.usage.rssMiBPeak),
          String(n.restarts),
          String(n.viewChanges),
          clockCell(n.clock),
        ]),
        [
          '  harness',
          fmt(run.harness.cpuPercentMean),
          fmt(run.harness.cpuPercentPeak),
          fmt(run.harness.rssMiBMean),
          fmt(run.harness.rssMiBPeak),
          '',
          '',
          '',
        ],
      ],
    ),
  );
  const stage = (n: RunResult['nodes'][number], name: string): string => {
    const st = n.timings?.stages[name];
    return st === undefined ? '-' : `${fmt(st.meanMs, 1)} ×${fmt(st.count)}`;
  };
  lines.push(
    ...table(
      [
        '  node (from /metrics)',
        'admit ms',
        'build ms',
        'validate ms',
        'commit ms',
        'sync ms',
        'proposal→commit ms',
        'loop lag p99 ms',
        'signatures workers/calling',
      ],
      run.nodes.map((n) => [
        `  node${n.index}`,
        stage(n, 'mempool_admit'),
        stage(n, 'proposal_build'),
        stage(n, 'proposal_validate'),
        stage(n, 'block_commit'),
        stage(n, 'sync_validate'),
        fmt(n.timings?.blockCommitLatencyMeanMs, 0),
        fmt(n.timings?.eventLoopLagP99Ms, 0),
        signatureCell(n.timings?.signatures),
      ]),
    ),
  );
  // A long run's memory curve: each node's mean RSS per minute (MiB).
  if (run.nodes.some((n) => n.usage.rssMiBByMinute.length >= 3)) {
    lines.push('  RSS MiB by minute (mean of each minute of the run):');
    for (const n of run.nodes) {
      lines.push(`    node${n.index}  ${n.usage.rssMiBByMinute.map((v) => fmt(v)).join(' ')}`);
    }
  }
  return lines;
}

/** "96% of 1,600 (same rate) ✓": a measurement after an overload against before it. */
function comparisonCell(c: RecoveryComparison | null): string {
  if (c === null) return '';
  const at =
    c.referenceRate === null ? 'offered' : c.sameRate ? 'same rate' : `@${fmt(c.referenceRate)}`;
  const verdict = c.recovered === null ? '?' : c.recovered ? '✓' : '✗';
  return `${fmt(c.ratio * 100)}% of ${fmt(c.expectedTxPerSec)} (${at}) ${verdict}`;
}

function recoveredCell(p: ProbeResult): string {
  if (p.sustainable) return '';
  return p.recoveredAfter === null ? '?' : p.recoveredAfter ? 'yes' : 'NO';
}

/** Where the figures come from: the code, the machine, the crypto backends. */
function provenanceLines(results: ClusterBenchResults): string[] {
  const { git, machine: m, crypto } = results;
  const code =
    git.commit === null
      ? `git: unknown (${git.error ?? 'no repository'})`
      : `git ${git.commit}${git.dirty === null ? ' (dirty: unknown)' : git.dirty ? ` + uncommitted changes in ${git.changedFiles} files` : ' (clean)'}`;
  const load = `load average ${m.loadAverageStart.join(' ')} at start, ${m.loadAverageEnd?.join(' ') ?? '-'} at end`;
  const nodeBackends = crypto.nodes.map((n) => describeBackends(n.backends));
  const distinct = [...new Set(nodeBackends)];
  const nodes =
    crypto.nodes.length === 0
      ? 'not asked'
      : distinct.length === 1
        ? `${distinct[0]} (all ${crypto.nodes.length})`
        : crypto.nodes.map((n, i) => `node${n.index} ${nodeBackends[i]}`).join('; ');
  const lines = [
    `Cluster benchmark${results.config.protocol === 'hotstuff' ? ' (HotStuff, experimental)' : ''} — ${code}, ${results.date}`,
    `machine: ${m.cpus} cores (${m.model}), ${m.memoryGiB} GiB (${m.freeMemoryGiBAtStart} free at start), node ${m.node}, ${load}`,
    `crypto backends: nodes ${nodes}; harness ${describeProcessBackends(crypto.harness)}`,
  ];
  if (crypto.note.startsWith('NOT RECORDED')) lines.push(`  ${crypto.note}`);
  return lines;
}

function searchLines(search: NonNullable<ClusterBenchResults['search']>): string[] {
  const overloaded = search.probes.some((p) => !p.sustainable);
  const recovered =
    search.recovered === null
      ? overloaded
        ? 'cannot be told (see "vs before the overload")'
        : 'no probe overloaded the cluster'
      : search.recovered
        ? 'yes: every probe and run after an overload committed ≥ 90% of before it'
        : 'NO: a probe or run after an overload committed < 90% of before it';
  return [
    '',
    'max-rate search:',
    ...table(
      [
        '  offered tx/s',
        'committed tx/s',
        'committed txs',
        'p99 ms',
        'blocks',
        'view changes',
        'verdict',
        'vs before the overload',
        'recovered after',
      ],
      search.probes.map((p) => [
        `  ${fmt(p.rate)}`,
        fmt(p.txPerSec),
        fmt(p.committedTxs),
        fmt(p.p99Ms),
        fmt(p.blocks),
        fmt(p.viewChanges),
        p.sustainable ? 'sustainable' : p.why,
        comparisonCell(p.afterOverload),
        recoveredCell(p),
      ]),
    ),
    `  max sustainable: ${fmt(search.maxSustainableTxPerSec)} tx/s`,
    ...(search.afterSearch.run === null
      ? []
      : [`  run at the max rate vs before the overload: ${search.afterSearch.run.reason}`]),
    ...(search.afterSearch.halfRateRun === null
      ? []
      : [`  run at half the max vs before the overload: ${search.afterSearch.halfRateRun.reason}`]),
    `  recovered after overloads: ${recovered}`,
  ];
}

export function formatResults(
  results: ClusterBenchResults,
  files: readonly string[] = [],
): string[] {
  const lines = provenanceLines(results);
  const c = results.ceiling;
  if (c !== null) {
    lines.push(
      `validation ceiling (single process, same run): ${fmt(c.txPerSec)} tx/s [${c.method}${c.chain === null ? '' : `, ${c.chain} chain, ${fmt(c.blockSize)}-tx blocks`}]; verifyNative (${c.verifyBackend}) ${fmt(c.verifyPerSecPerCore)}/s/core × ${c.cores} = ${fmt(c.verifyCeilingTxPerSec)}`,
    );
    if (c.signatureCeilings.length > 0) {
      const each = c.signatureCeilings.map(
        (s) =>
          `${s.backend} ${fmt(s.verifyPerSecPerCore)}/s/core × ${c.cores} = ${fmt(s.ceilingTxPerSec)} (validation at ${fmt(s.ratio, 2)} of it)`,
      );
      lines.push(`  signature ceilings, same run: ${each.join('; ')}`);
    }
  }
  const e = results.efficiency;
  if (e !== null) {
    lines.push(
      `efficiency (${e.run === 'max' ? 'run at the max rate' : 'fixed-rate run'}): ${fmt(e.committedTxPerSec)} committed tx/s × ${e.validators} validators ÷ ${fmt(e.ceilingTxPerSec)} tx/s = ${fmt(e.ratio * 100, 1)}% (over ${fmt(e.committedTxs)} committed txs)`,
    );
  }
  if (results.search !== null) lines.push(...searchLines(results.search));
  if (results.run !== null) lines.push('', ...runLines(results.run));
  if (results.halfRateRun !== null) lines.push('', ...runLines(results.halfRateRun));
  if (results.sweep !== null) {
    lines.push('', 'sweep:');
    lines.push(
      ...table(
        [
          '  validators',
          'block size',
          'offered tx/s',
          'committed tx/s',
          'p50 ms',
          'p99 ms',
          'view changes',
          'error',
        ],
        results.sweep.map((p) => [
          `  ${p.validators}`,
          fmt(p.blockSize),
          fmt(p.rate),
          fmt(p.txPerSec),
          fmt(p.p50Ms),
          fmt(p.p99Ms),
          fmt(p.viewChanges),
          p.error ?? '',
        ]),
      ),
    );
  }
  if (results.goals.length > 0) {
    lines.push('', 'goals:');
    for (const g of results.goals) {
      const verdict = g.met === null ? 'not judged' : g.met ? 'met' : 'NOT met';
      lines.push(
        `  ${g.name}: ${fmt(g.value, g.unit === '%' ? 1 : 0)} ${g.unit} (target ${g.target}) — ${verdict}`,
        `    ${g.detail}`,
      );
      if (g.reason !== null && g.met !== true) lines.push(`    why: ${g.reason}`);
    }
  }
  if (files.length > 0) lines.push('', ...files.map((f) => `wrote ${f}`));
  return lines;
}
