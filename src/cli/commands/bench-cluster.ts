/**
 * `civitas bench cluster`: N validator processes on loopback under open-loop load, with
 * optional faults; results.json (with the git commit, the machine and the crypto backends),
 * SVG plots and a table (bench/cluster/, docs/BENCHMARKS.md).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { CLUSTER_DEFAULTS } from '../../../bench/cluster/defaults.ts';
import {
  FAULT_GRAMMAR,
  type Fault,
  parseFaultManifest,
  parseFaultSpec,
} from '../../../bench/cluster/fault-spec.ts';
import type { ConsensusProtocol } from '../../chain/genesis.ts';
import { Limits } from '../../chain/limits.ts';
import { CivitasError } from '../../errors/index.ts';
import { intOption } from '../options.ts';
import { action, printJson, printLines } from '../output.ts';
import { consensusProtocolOption } from './init.ts';

interface ClusterCommandOptions {
  validators: number;
  protocol: ConsensusProtocol;
  duration: number;
  rate?: number;
  max?: boolean;
  blockSize: number;
  faults: string[];
  out?: string;
  json?: boolean;
  progress?: boolean;
  sweep?: boolean;
  faultsInSearch?: boolean;
  sweepValidators: number[];
  sweepBlockSizes: number[];
  viewTimeout: number;
  compact: boolean;
  blockInterval: number;
  senders?: number;
  open?: boolean;
  probeDuration: number;
  maxP99: number;
  startRate: number;
  maxRate: number;
  ceilingTxs: number;
  drain: number;
  basePort?: number;
  nodeLogLevel: 'debug' | 'info' | 'warn' | 'error';
  profileNode?: number;
}

function listOption(min: number, max: number): (value: string) => number[] {
  const one = intOption(min, max);
  return (value: string) => {
    const items = value.split(',').map((v) => one(v.trim()));
    if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
    return items;
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Each --faults value is a SPEC, or the path of a JSON manifest. */
async function loadFaults(values: readonly string[]): Promise<Fault[]> {
  const faults: Fault[] = [];
  for (const value of values) {
    if (value.endsWith('.json') || existsSync(value)) {
      let json: unknown;
      try {
        json = JSON.parse(await readFile(value, 'utf8'));
      } catch (err) {
        throw new CivitasError(
          'BENCH_BAD_FAULT',
          `cannot read fault manifest ${value}: ${(err as Error).message}`,
        );
      }
      faults.push(...parseFaultManifest(json));
    } else {
      faults.push(...parseFaultSpec(value));
    }
  }
  return faults;
}

/** A progress bar on stderr for sweeps: one line, redrawn. */
function sweepBar(done: number, total: number, label: string): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}`;
  process.stderr.write(process.stderr.isTTY ? `\r${line.padEnd(80)}` : `${line}\n`);
  if (done === total && process.stderr.isTTY) process.stderr.write('\n');
}

export function registerBenchClusterCommand(benchCommand: Command): void {
  benchCommand
    .command('cluster')
    .description(
      'run N validator processes on loopback under open-loop load (fixed rate or max search), with optional faults; writes results.json and SVG plots',
    )
    .option('--validators <n>', 'validators', intOption(1, 64), CLUSTER_DEFAULTS.validators)
    .option(
      '--protocol <name>',
      'consensus protocol of the bench chain: pbft (default) or hotstuff (experimental, docs/HOTSTUFF.md)',
      consensusProtocolOption,
      'pbft',
    )
    .option(
      '--duration <s>',
      'seconds of load per run',
      intOption(1, 3_600),
      CLUSTER_DEFAULTS.durationS,
    )
    .option('--rate <tx/s>', 'offered load, txs per second (open loop)', intOption(1, 1_000_000))
    .option('--max', 'search for the max sustainable rate, then run at it and at half of it')
    .option(
      '--block-size <n>',
      'max txs per block',
      intOption(1, Limits.blockTxs),
      CLUSTER_DEFAULTS.blockSize,
    )
    .option(
      '--faults <spec>',
      `faults (repeatable; or a JSON manifest file):\n${FAULT_GRAMMAR}`,
      collect,
      [],
    )
    .option(
      '--out <dir>',
      'write results.json, plots and node homes/logs here (default: a temp dir, removed)',
    )
    .option('--json', 'print results.json')
    .option('--progress', 'print progress to stderr')
    .option(
      '--faults-in-search',
      'apply --faults in every --max probe as well (their times must fit the probe duration)',
    )
    .option('--sweep', 'sweep validators × block sizes (fresh cluster per point)')
    .option('--sweep-validators <list>', 'validator counts to sweep', listOption(1, 64), [
      ...CLUSTER_DEFAULTS.sweepValidators,
    ])
    .option('--sweep-block-sizes <list>', 'block sizes to sweep', listOption(1, Limits.blockTxs), [
      ...CLUSTER_DEFAULTS.sweepBlockSizes,
    ])
    .option(
      '--view-timeout <ms>',
      'base view timeout of every node',
      intOption(100, 600_000),
      CLUSTER_DEFAULTS.viewTimeoutMs,
    )
    .option('--no-compact', 'nodes send full blocks, not compact proposals (for comparison)')
    .option(
      '--block-interval <ms>',
      'minimum time between blocks',
      intOption(0, 60_000),
      CLUSTER_DEFAULTS.blockIntervalMs,
    )
    .option(
      '--senders <n>',
      'funded sender accounts (default scales with the rate)',
      intOption(1, 20_000),
    )
    .option(
      '--open',
      'run an open chain (no membership check) instead of the permissioned one the devnet runs',
    )
    .option(
      '--probe-duration <s>',
      'seconds per max-search probe',
      intOption(2, 600),
      CLUSTER_DEFAULTS.probeDurationS,
    )
    .option(
      '--max-p99 <ms>',
      'a probe with a higher p99 is unsustainable',
      intOption(1, 600_000),
      CLUSTER_DEFAULTS.maxP99Ms,
    )
    .option(
      '--start-rate <tx/s>',
      'first max-search probe',
      intOption(1, 1_000_000),
      CLUSTER_DEFAULTS.startRate,
    )
    .option(
      '--max-rate <tx/s>',
      'max-search upper bound',
      intOption(1, 1_000_000),
      CLUSTER_DEFAULTS.maxRate,
    )
    .option(
      '--ceiling-txs <n>',
      "txs for the single-process validation ceiling, the efficiency figure's denominator (0 skips both)",
      intOption(0, 1_000_000),
      CLUSTER_DEFAULTS.ceilingTxs,
    )
    .option(
      '--drain <s>',
      'longest wait for submitted txs to commit after the load',
      intOption(0, 600),
      CLUSTER_DEFAULTS.drainS,
    )
    .option(
      '--base-port <port>',
      'node i uses base+2i (p2p) and base+2i+1 (API); default random free ports',
      intOption(1024, 65_000),
    )
    .option(
      '--node-log-level <level>',
      'log level of the nodes (logs in <out>/network/nodeI/node.log)',
      'warn',
    )
    .option(
      '--profile-node <i>',
      'run validator i under the V8 CPU profiler (<out>/network/nodeI/profile/*.cpuprofile; summarise with bench/cluster/profile-summary.ts)',
      intOption(0, 63),
    )
    .action(
      action(async (opts: ClusterCommandOptions) => {
        if (!['debug', 'info', 'warn', 'error'].includes(opts.nodeLogLevel)) {
          throw new CivitasError(
            'BENCH_BAD_ARGS',
            '--node-log-level must be debug, info, warn or error',
          );
        }
        if (opts.rate !== undefined && opts.max) {
          throw new CivitasError('BENCH_BAD_ARGS', 'give --rate or --max, not both');
        }
        const faults = await loadFaults(opts.faults);
        if (opts.sweep && faults.length > 0) {
          throw new CivitasError('BENCH_BAD_ARGS', '--sweep runs without faults; drop --faults');
        }
        const progress = opts.progress
          ? (line: string) => process.stderr.write(`${line}\n`)
          : undefined;
        // The harness (and vega for its plots) loads only when the command runs.
        const { formatResults, runClusterBench, writeResults } = await import(
          '../../../bench/cluster/index.ts'
        );
        const results = await runClusterBench({
          validators: opts.validators,
          durationS: opts.duration,
          rate: opts.rate,
          max: opts.max,
          blockSize: opts.blockSize,
          faults,
          out: opts.out,
          sweep: opts.sweep,
          faultsInSearch: opts.faultsInSearch,
          sweepValidators: opts.sweepValidators,
          sweepBlockSizes: opts.sweepBlockSizes,
          viewTimeoutMs: opts.viewTimeout,
          blockIntervalMs: opts.blockInterval,
          compactProposals: opts.compact,
          protocol: opts.protocol,
          senders: opts.senders,
          open: opts.open,
          probeDurationS: opts.probeDuration,
          maxP99Ms: opts.maxP99,
          startRate: opts.startRate,
          maxRate: opts.maxRate,
          ceilingTxs: opts.ceilingTxs,
          drainS: opts.drain,
          basePort: opts.basePort,
          nodeLogLevel: opts.nodeLogLevel,
          profileNode: opts.profileNode,
          progress,
          onSweepPoint: opts.sweep ? sweepBar : undefined,
        });
        const files = results.outDir === null ? [] : await writeResults(results, results.outDir);
        if (opts.json) printJson(results);
        else printLines(formatResults(results, files));
      }),
    );
}
