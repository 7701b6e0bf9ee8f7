/**
 * `civitas sim`: run the deterministic consensus simulator (src/consensus/sim) over many seeds
 * and report what the checker found. Every violation is printed with the command that
 * replays it; `--seed X --trace` replays one run as a readable event log, or as JSON lines
 * (`--json` / `--trace-format jsonl`) a notebook loads. `--json` carries one row per seed and
 * the git commit that ran.
 */
import { type Command, InvalidArgumentError } from 'commander';
import {
  BENIGN_REJECTS_NOTE,
  describeRejections,
  FAULTS,
  type FaultName,
  isFaultName,
  isReconfigScenario,
  type LatencySummary,
  latencySummary,
  livenessBound,
  RECONFIG_SCENARIOS,
  type ReconfigScenario,
  rejectionBreakdown,
  runSimulation,
  runSweep,
  SIM_TIMEOUTS,
  type SimulationReport,
  type SweepViolation,
  seedRow,
  traceJsonLine,
  type Violation,
} from '../../consensus/sim/index.ts';
import { isProtocolName, PROTOCOLS, type ProtocolName } from '../../consensus/sim/protocols.ts';
import { buildInfo } from '../../node/build-info.ts';
import { intOption } from '../options.ts';
import { printJson, printLines, reportError } from '../output.ts';

interface SimFlags {
  validators: number;
  seeds: number;
  seed?: number;
  faults: FaultName[];
  byzantine?: number;
  duration?: number;
  signatures: 'fake' | 'ed25519';
  json?: boolean;
  trace?: boolean;
  traceFormat?: 'text' | 'jsonl';
  reconfig?: ReconfigScenario;
  protocol: ProtocolName;
}

/** What produced the figures: the code (git commit, `-dirty` for a changed tree) and the call. */
function provenance(): { commit: string; version: string; node: string; command: string } {
  const { commit, version } = buildInfo();
  return {
    commit,
    version,
    node: process.version,
    command: ['civitas', ...process.argv.slice(2)].join(' '),
  };
}

function traceFormatOption(value: string): 'text' | 'jsonl' {
  if (value !== 'text' && value !== 'jsonl')
    throw new InvalidArgumentError('expected text or jsonl');
  return value;
}

function ms(x: number | null): string {
  return x === null ? '-' : `${x.toFixed(x < 10 ? 1 : 0)} ms`;
}

function latencyLine(l: LatencySummary): string {
  return l.count === 0
    ? 'no committed blocks'
    : `p50 ${ms(l.p50)}, p90 ${ms(l.p90)}, p99 ${ms(l.p99)}, max ${ms(l.max)} over ${l.count} blocks`;
}

function scenarioOption(value: string): ReconfigScenario {
  if (!isReconfigScenario(value)) {
    throw new InvalidArgumentError(`choose from ${RECONFIG_SCENARIOS.join(', ')}`);
  }
  return value;
}

function faultList(value: string): FaultName[] {
  if (value === 'all') return [...FAULTS];
  if (value === 'none') return [];
  const names = value.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !isFaultName(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(
      `unknown fault "${unknown.join(',')}"; choose from ${FAULTS.join(', ')}, or all / none`,
    );
  }
  return [...new Set(names)] as FaultName[];
}

/** "20s", "1500ms", "2m" or plain milliseconds. */
function durationOption(value: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(value.trim());
  if (m === null)
    throw new InvalidArgumentError(`expected a duration like 20s or 1500ms, got "${value}"`);
  const scale = m[2] === 's' ? 1_000 : m[2] === 'm' ? 60_000 : 1;
  const ms = Math.round(Number(m[1]) * scale);
  if (ms <= 0 || ms > 24 * 3_600_000)
    throw new InvalidArgumentError('must be between 1 ms and 24 h');
  return ms;
}

function signaturesOption(value: string): 'fake' | 'ed25519' {
  if (value !== 'fake' && value !== 'ed25519') {
    throw new InvalidArgumentError('expected fake or ed25519');
  }
  return value;
}

function protocolOption(value: string): ProtocolName {
  if (!isProtocolName(value)) throw new InvalidArgumentError(`expected ${PROTOCOLS.join(' or ')}`);
  return value;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}

function replayCommand(flags: SimFlags, seed: number, durationMs: number): string {
  const parts = [
    'civitas sim',
    `--validators ${flags.validators}`,
    `--seed ${seed}`,
    `--faults ${flags.faults.length === 0 ? 'none' : flags.faults.length === FAULTS.length ? 'all' : flags.faults.join(',')}`,
    `--duration ${durationMs}ms`,
  ];
  if (flags.protocol !== 'pbft') parts.push(`--protocol ${flags.protocol}`);
  if (flags.byzantine !== undefined) parts.push(`--byzantine ${flags.byzantine}`);
  if (flags.reconfig !== undefined) parts.push(`--reconfig ${flags.reconfig}`);
  if (flags.signatures !== 'fake') parts.push(`--signatures ${flags.signatures}`);
  parts.push('--trace');
  return parts.join(' ');
}

function violationLines(v: Violation, replay: string): string[] {
  const where = [
    v.replica !== null ? `replica ${v.replica}` : null,
    v.height !== null ? `height ${v.height}` : null,
  ]
    .filter((s) => s !== null)
    .join(', ');
  return [
    `VIOLATION ${v.kind} (seed ${v.seed}, t=${v.atMs.toFixed(1)} ms${where ? `, ${where}` : ''}): ${v.detail}`,
    `  replay: ${replay}`,
  ];
}

function runOne(flags: SimFlags, seed: number): void {
  const report: SimulationReport = runSimulation({
    validators: flags.validators,
    seed,
    faults: flags.faults,
    signatures: flags.signatures,
    trace: flags.trace === true,
    protocol: flags.protocol,
    ...(flags.reconfig !== undefined ? { reconfig: flags.reconfig } : {}),
    ...(flags.byzantine !== undefined ? { byzantine: flags.byzantine } : {}),
    ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
  });
  const { trace, traceEvents, commitLatenciesMs, ...summary } = report;
  const jsonl =
    flags.trace === true && (flags.traceFormat ?? (flags.json ? 'jsonl' : 'text')) === 'jsonl';
  if (jsonl) {
    // One event per line, then the run's report as the last line (event "report").
    const out = (traceEvents ?? []).map(traceJsonLine);
    out.push(
      JSON.stringify({
        t: report.durationMs,
        node: null,
        event: 'report',
        report: { ...summary, row: seedRow(report), provenance: provenance() },
      }),
    );
    printLines(out);
  } else if (flags.json) {
    printJson({
      ...summary,
      row: seedRow(report),
      commitLatenciesMs,
      ...(trace !== undefined ? { trace } : {}),
      provenance: provenance(),
    });
  } else {
    if (trace) printLines([...trace]);
    const rejected = rejectionBreakdown(report.rejections);
    const byz = report.byzantine.map((b) => `r${b.replica}:${b.behaviours}`).join(' ') || 'none';
    printLines([
      `seed ${seed}: ${report.validators} validators, faults ${report.faults.join(',') || 'none'}, byzantine ${byz}`,
      `  ${seconds(report.durationMs)} virtual, GST at ${seconds(report.gstMs)}, liveness window ${seconds(report.livenessBoundMs)}`,
      `  committed heights ${report.committedMin}..${report.committedMax}, view changes ${report.viewChanges}, crashes ${report.crashes}, syncs ${report.syncs}, evidence ${report.evidence}`,
      `  messages sent ${report.messages.sent} (${report.messages.bytesSent} bytes), delivered ${report.messages.delivered}, lost ${report.messages.lost}`,
      `  block commit latency (first build → first honest commit, simulated): ${latencyLine(report.commitLatencyMs)}`,
      `  rejected messages ${rejected.total}: ${describeRejections(rejected)}`,
      ...(rejected.benign > 0 ? [`    (${BENIGN_REJECTS_NOTE})`] : []),
      ...(report.reconfiguration === null
        ? []
        : [
            `  reconfig ${report.reconfiguration.scenario}: planned ${report.reconfiguration.planned.join(', ') || 'nothing'}${report.reconfiguration.refused === null ? '' : ` (refused: ${report.reconfiguration.refused})`}; executed ${report.reconfiguration.executed.map((c) => `h=${c.height} → ${c.validators} validators`).join(', ') || 'none'}`,
          ]),
      `  recovery after GST ${report.recoveryAfterGstMs === null ? '-' : `${report.recoveryAfterGstMs.toFixed(0)} ms`}`,
      `violations: ${report.violations.length}`,
      ...report.violations.flatMap((v) =>
        violationLines(v, replayCommand(flags, seed, report.durationMs)),
      ),
    ]);
  }
  if (report.violations.length > 0) process.exitCode = 1;
}

function runMany(flags: SimFlags): void {
  const started = performance.now();
  const latencies: number[] = [];
  const report = runSweep({
    keepRows: flags.json === true,
    onRun: (run) => {
      for (const l of run.commitLatenciesMs) latencies.push(l);
    },
    validators: [flags.validators],
    seeds: { first: 1, count: flags.seeds },
    faultMixes: [flags.faults],
    ed25519Every: flags.signatures === 'ed25519' ? 1 : 0,
    clock: () => performance.now(),
    extra: {
      protocol: flags.protocol,
      ...(flags.reconfig !== undefined ? { reconfig: flags.reconfig } : {}),
    },
    ...(flags.byzantine !== undefined ? { byzantine: flags.byzantine } : {}),
    ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
  });
  const g = report.groups[0]!;
  const durationMs = flags.duration ?? 10_000 + livenessBound(flags.validators, SIM_TIMEOUTS);
  const replay = (v: SweepViolation) => replayCommand(flags, v.seed, v.durationMs);
  const latency = latencySummary(latencies);
  const rejected = rejectionBreakdown(g.rejections);
  const sent = report.rows.reduce((s, r) => s + r.messagesSent, 0);
  const bytes = report.rows.reduce((s, r) => s + r.bytesSent, 0);
  if (flags.json) {
    printJson({
      validators: flags.validators,
      faults: flags.faults,
      byzantine: flags.byzantine ?? null,
      seeds: { first: 1, count: flags.seeds },
      durationMs,
      summary: {
        ...g,
        rejectionsBenign: rejected.benign,
        rejectionsOther: rejected.other,
        messagesSent: sent,
        bytesSent: bytes,
        commitLatencyMs: latency,
      },
      rows: report.rows,
      violations: report.violations.map((v) => ({ ...v, replay: replay(v) })),
      provenance: provenance(),
    });
  } else {
    printLines([
      `civitas sim: ${flags.validators} validators, faults ${flags.faults.join(',') || 'none'}, seeds 1..${flags.seeds}, ${seconds(durationMs)} virtual per run (liveness window ${seconds(livenessBound(flags.validators, SIM_TIMEOUTS))})`,
      `runs ${g.runs}, committed blocks ${g.committedBlocks} (fewest in one run ${g.minCommitted}), view changes ${g.viewChanges}, crashes ${g.crashes}, syncs ${g.syncs}, evidence ${g.evidence}`,
      `block commit latency (simulated): ${latencyLine(latency)}`,
      `rejected messages ${rejected.total}: ${describeRejections(rejected)}`,
      ...(rejected.benign > 0 ? [`  (${BENIGN_REJECTS_NOTE})`] : []),
      ...(flags.faults.includes('reconfig')
        ? [
            `validator-set changes executed ${g.setChanges}, scenarios ${Object.entries(g.scenarios)
              .map(([k, v]) => `${k} ${v}`)
              .join(
                ', ',
              )}${g.refusedChanges > 0 ? `, refused by the guard in ${g.refusedChanges} runs` : ''}`,
          ]
        : []),
      `slowest recovery after GST ${g.maxRecoveryAfterGstMs === null ? '-' : `${g.maxRecoveryAfterGstMs.toFixed(0)} ms`}, wall time ${((performance.now() - started) / 1000).toFixed(1)} s`,
      `violations: ${report.violations.length}`,
      ...report.violations.flatMap((v) => violationLines(v, replay(v))),
    ]);
  }
  if (report.violations.length > 0) process.exitCode = 1;
}

export function registerSimCommand(program: Command): void {
  const cmd = program
    .command('sim')
    .description(
      'run the deterministic consensus simulator (PBFT, or HotStuff with --protocol) over many seeds and check agreement, validity, liveness and bounded memory',
    )
    .option('--validators <n>', 'number of validators (1..64)', intOption(1, 64), 4)
    .option('--seeds <s>', 'run seeds 1..S', intOption(1, 1_000_000), 10)
    .option('--seed <x>', 'run (replay) exactly this seed', intOption(0, 2 ** 32 - 1))
    .option(
      '--faults <list>',
      `comma-separated faults, or all / none (${FAULTS.join(', ')})`,
      faultList,
      [...FAULTS],
    )
    .option(
      '--byzantine <k>',
      'Byzantine replicas (default f when a Byzantine fault is listed)',
      intOption(0, 64),
    )
    .option(
      '--duration <t>',
      'virtual time per run, e.g. 30s (default: 10 s of faults + the liveness window)',
      durationOption,
    )
    .option('--signatures <scheme>', 'fake (fast, default) or ed25519', signaturesOption, 'fake')
    .option(
      '--protocol <name>',
      'pbft (default) or hotstuff (docs/HOTSTUFF.md; simulator only)',
      protocolOption,
      'pbft',
    )
    .option(
      '--reconfig <scenario>',
      `with the reconfig fault, this validator-set change instead of a seeded one (${RECONFIG_SCENARIOS.join(', ')})`,
      scenarioOption,
    )
    .option(
      '--json',
      'print JSON: the report with one row per seed (latency p50/p90/p99/max, messages, bytes) and the git commit',
    )
    .option(
      '--trace',
      'with --seed: print the run as an event log (with --json: JSON lines {t, node, event, ...})',
    )
    .option(
      '--trace-format <format>',
      'text (default) or jsonl: one JSON object per event, the report last (docs/LAB.md)',
      traceFormatOption,
    );
  cmd.action((flags: SimFlags) => {
    const bad = (message: string) =>
      cmd.error(`error: ${message}`, { exitCode: 2, code: 'civitas.simBadFlags' });
    const explicit = (name: string) => cmd.getOptionValueSource(name) === 'cli';
    if (flags.seed !== undefined && explicit('seeds'))
      bad('use --seed to replay one run or --seeds for a sweep, not both');
    if (flags.trace && flags.seed === undefined) bad('--trace replays one run: give it --seed');
    if (flags.traceFormat !== undefined && !flags.trace) bad('--trace-format needs --trace');
    if (flags.reconfig !== undefined && !flags.faults.includes('reconfig')) {
      bad('--reconfig needs the reconfig fault (--faults ...,reconfig or all)');
    }
    if (flags.byzantine !== undefined && flags.byzantine >= flags.validators) {
      bad(`--byzantine must be below --validators (${flags.validators})`);
    }
    const window = livenessBound(flags.validators, SIM_TIMEOUTS);
    if (flags.duration !== undefined && flags.duration <= window) {
      bad(
        `--duration must exceed the liveness window of ${seconds(window)} for ${flags.validators} validators`,
      );
    }
    const f = Math.floor((flags.validators - 1) / 3);
    if (flags.byzantine !== undefined && flags.byzantine > f) {
      process.stderr.write(
        `civitas sim: note: ${flags.byzantine} Byzantine replicas exceed f = ${f}; safety is not guaranteed\n`,
      );
    }
    try {
      if (flags.seed !== undefined) runOne(flags, flags.seed);
      else runMany(flags);
    } catch (err) {
      reportError(err);
    }
  });
}
