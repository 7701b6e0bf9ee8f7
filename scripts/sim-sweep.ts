/**
 * The long simulator sweep: thousands of seeded runs across fault mixes and validator
 * counts, checked for agreement, validity, honest non-equivocation, liveness and bounded
 * memory. Prints one line per (validators, mix) group, every violation with its replay
 * command, and a JSON summary (stdout, or --out FILE).
 *
 *   node scripts/sim-sweep.ts --validators 4,7,10 --seeds 200 [--first 1]
 *     [--ed25519-every 50] [--duration-ms N] [--mixes 'a,b;c,d' | reconfig] [--out sweep.json]
 *   node scripts/sim-sweep.ts --help
 *
 * `--mixes reconfig` runs the validator-set change mixes (RECONFIG_MIXES, src/consensus/sim/sweep.ts) only.
 *
 * Exit code 1 if any violation was found.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ALL_SWEEP_MIXES,
  FAULTS,
  type FaultName,
  isFaultName,
  livenessBound,
  RECONFIG_MIXES,
  runSweep,
  SIM_TIMEOUTS,
  type SweepGroup,
  type SweepViolation,
} from '../src/consensus/sim/index.ts';
import { isProtocolName, PROTOCOLS, type ProtocolName } from '../src/consensus/sim/protocols.ts';
import { buildInfo } from '../src/node/build-info.ts';

function fail(message: string): never {
  process.stderr.write(`sim-sweep: ${message}\n`);
  process.exit(2);
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value)) fail(`--${name} must be a non-negative integer`);
  return Number(value);
}

const HELP = `Usage: node scripts/sim-sweep.ts [options]   (or: npx node scripts/sim-sweep.ts ...)

The long simulator sweep: every (validators, fault mix) pair over a range of seeds, each run
checked for agreement, validity, honest non-equivocation, liveness after GST and bounded
memory. One line per group, each violation with the command that replays it, then a JSON
summary (with the git commit) on stdout or in --out. Exit code 1 if any violation was found.

Options:
  --validators <list>    validator counts, comma-separated (1..64; default 4,7,10)
  --seeds <s>            seeds per group (default 100)
  --first <x>            first seed (default 1)
  --ed25519-every <k>    every k-th seed with real ed25519 signatures (0: never; default 50)
  --duration-ms <ms>     virtual time per run (default: 10 s of faults + the liveness window)
  --mixes <mixes>        fault mixes separated by ';', faults by ',' ('all' for every fault),
                         or 'reconfig' for the validator-set change mixes only
                         (default: the ${ALL_SWEEP_MIXES.length} built-in mixes)
  --protocol <name>      pbft (default) or hotstuff (docs/HOTSTUFF.md)
  --out <file>           write the JSON summary here instead of stdout
  -h, --help             print this help

Faults: ${FAULTS.join(', ')}

Example: node scripts/sim-sweep.ts --validators 4,7 --seeds 50 --mixes 'crash,loss;partition,delay'
`;

function parseFlags() {
  try {
    return parseArgs({
      options: {
        validators: { type: 'string', default: '4,7,10' },
        seeds: { type: 'string' },
        first: { type: 'string' },
        'ed25519-every': { type: 'string' },
        'duration-ms': { type: 'string' },
        mixes: { type: 'string' },
        protocol: { type: 'string', default: 'pbft' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message.split('\n')[0]} (see --help)`);
  }
}

const { values } = parseFlags();
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const validators = values.validators.split(',').map((v) => positiveInt(v, 'validators', 4));
if (validators.some((n) => n < 1 || n > 64)) fail('--validators must be 1..64');
const seeds = positiveInt(values.seeds, 'seeds', 100);
const first = positiveInt(values.first, 'first', 1);
const ed25519Every = positiveInt(values['ed25519-every'], 'ed25519-every', 50);
const durationMs =
  values['duration-ms'] === undefined
    ? undefined
    : positiveInt(values['duration-ms'], 'duration-ms', 0);
if (!isProtocolName(values.protocol)) fail(`--protocol must be ${PROTOCOLS.join(' or ')}`);
const protocol: ProtocolName = values.protocol;
const mixes: readonly (readonly FaultName[])[] =
  values.mixes === undefined
    ? ALL_SWEEP_MIXES
    : values.mixes === 'reconfig'
      ? RECONFIG_MIXES
      : values.mixes.split(';').map((mix) => {
          const names = mix === 'all' ? [...FAULTS] : mix.split(',');
          for (const name of names) if (!isFaultName(name)) fail(`unknown fault ${name}`);
          return names as FaultName[];
        });

const groups: Array<SweepGroup & { cpuMs: number; durationMs: number }> = [];
const violations: Array<SweepViolation & { replay: string }> = [];
const cpuStart = process.cpuUsage();
const wallStart = performance.now();

process.stdout.write(
  `sim-sweep: ${protocol}, validators ${validators.join(',')}, seeds ${first}..${first + seeds - 1} per mix, ${mixes.length} mixes, ed25519 every ${ed25519Every || '-'} seeds\n`,
);
process.stdout.write(
  'n   mix                                          runs  blocks    min  viewchg  crashes  syncs  evidence  rejected  recovery  setchg  viol  cpu-s\n',
);
for (const n of validators) {
  for (const mix of mixes) {
    const cpu0 = process.cpuUsage();
    let done = 0;
    const report = runSweep({
      validators: [n],
      seeds: { first, count: seeds },
      faultMixes: [mix],
      ed25519Every,
      extra: { protocol },
      clock: () => performance.now(),
      ...(durationMs !== undefined ? { durationMs } : {}),
      onRun: () => {
        done++;
        if (done % 25 === 0 && process.stderr.isTTY) process.stderr.write(`\r  ${done}/${seeds}`);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\r');
    const cpu = process.cpuUsage(cpu0);
    const g = report.groups[0]!;
    const runDuration = durationMs ?? 10_000 + livenessBound(n, SIM_TIMEOUTS);
    groups.push({
      ...g,
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      durationMs: runDuration,
    });
    const mixName = mix.length === FAULTS.length ? 'all' : mix.join(',');
    process.stdout.write(
      `${String(n).padEnd(4)}${mixName.padEnd(45)}${String(g.runs).padStart(5)}${String(g.committedBlocks).padStart(8)}${String(g.minCommitted).padStart(7)}${String(g.viewChanges).padStart(9)}${String(g.crashes).padStart(9)}${String(g.syncs).padStart(7)}${String(g.evidence).padStart(10)}${String(g.rejected).padStart(10)}${(g.maxRecoveryAfterGstMs === null ? '-' : `${Math.round(g.maxRecoveryAfterGstMs)}ms`).padStart(10)}${String(g.setChanges).padStart(8)}${String(g.violations).padStart(6)}${((cpu.user + cpu.system) / 1e6).toFixed(0).padStart(7)}\n`,
    );
    for (const v of report.violations) {
      const replay = `civitas sim --validators ${n} --seed ${v.seed} --faults ${mixName} --duration ${v.durationMs}ms${v.signatures === 'ed25519' ? ' --signatures ed25519' : ''}${protocol === 'pbft' ? '' : ` --protocol ${protocol}`} --trace`;
      violations.push({ ...v, replay });
      process.stdout.write(
        `  VIOLATION ${v.kind} seed ${v.seed}: ${v.detail}\n    replay: ${replay}\n`,
      );
    }
  }
}

const cpu = process.cpuUsage(cpuStart);
const summary = {
  commit: buildInfo().commit,
  command: ['node scripts/sim-sweep.ts', ...process.argv.slice(2)].join(' '),
  protocol,
  validators,
  seeds: { first, count: seeds },
  mixes: mixes.map((m) => m.join(',')),
  runs: groups.reduce((s, g) => s + g.runs, 0),
  ed25519Runs: groups.reduce((s, g) => s + g.ed25519Runs, 0),
  committedBlocks: groups.reduce((s, g) => s + g.committedBlocks, 0),
  viewChanges: groups.reduce((s, g) => s + g.viewChanges, 0),
  crashes: groups.reduce((s, g) => s + g.crashes, 0),
  evidence: groups.reduce((s, g) => s + g.evidence, 0),
  setChanges: groups.reduce((s, g) => s + g.setChanges, 0),
  reconfigRuns: groups.reduce(
    (s, g) => s + Object.values(g.scenarios).reduce((a, b) => a + b, 0),
    0,
  ),
  maxRecoveryAfterGstMs: Math.max(...groups.map((g) => g.maxRecoveryAfterGstMs ?? 0)),
  violations: violations.length,
  cpuSeconds: Math.round((cpu.user + cpu.system) / 1e6),
  wallSeconds: Math.round((performance.now() - wallStart) / 1000),
  groups,
  violationList: violations,
};
process.stdout.write(
  `total: ${summary.runs} runs (${summary.ed25519Runs} with ed25519), ${summary.committedBlocks} blocks, ${summary.viewChanges} view changes, ${summary.crashes} crashes, ${summary.evidence} evidence records, ${summary.reconfigRuns} runs with set changes (${summary.setChanges} executed), slowest recovery after GST ${Math.round(summary.maxRecoveryAfterGstMs)} ms, ${summary.violations} violations, ${summary.cpuSeconds} s CPU\n`,
);
const json = `${JSON.stringify(summary, null, 2)}\n`;
if (values.out !== undefined) writeFileSync(values.out, json);
else process.stdout.write(json);
if (violations.length > 0) process.exitCode = 1;
