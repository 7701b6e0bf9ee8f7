/**
 * `civitas bench validate`: block-validation throughput against the signature ceilings
 * (libsodium and node:crypto) measured in the same run, for one or more workloads
 * (transfers, asset records, a mix) and each one's ratio to transfers (bench/validate.ts,
 * bench/workloads.ts; docs/BENCHMARKS.md explains every figure).
 */
import { type Command, Option } from 'commander';
import { Limits } from '../../chain/limits.ts';
import { intOption } from '../options.ts';
import { action, printJson, printLines } from '../output.ts';

interface ValidateCommandOptions {
  workload: string[];
  chain?: 'open' | 'consortium';
  txs?: number;
  blockSize?: number;
  workers?: number;
  nobleTxs: number;
  lookAhead: number;
  txsPerSender: number;
  json?: boolean;
  progress?: boolean;
}

export function registerBenchCommand(program: Command): void {
  const bench = program.command('bench').description('benchmarks of this machine');
  bench
    .command('validate')
    .description(
      "validate and commit chains of signed blocks (100, 1,000 and 10,000 txs per block by default) through the node's own verification components, and compare with the ed25519 verify ceilings of libsodium and node:crypto measured in the same run",
    )
    .option(
      '--workload <names>',
      'transfers, records (asset.record by each asset owner), mixed (50% transfer, 30% record, 20% record+transfer batch); repeatable or comma-separated',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .addOption(
      new Option(
        '--chain <kind>',
        'genesis: open, or the permissioned consortium the devnet runs (default: open for transfers alone, else consortium)',
      ).choices(['open', 'consortium']),
    )
    .option(
      '--txs <n>',
      'txs per block size (default 20,000 / 30,000 / 50,000)',
      intOption(1, 10_000_000),
    )
    .option('--block-size <n>', 'run this block size only', intOption(1, Limits.blockTxs))
    .option(
      '--workers <n>',
      'signature verification threads (default: all cores; 0 = main thread)',
      intOption(0, 256),
    )
    .option(
      '--noble-txs <n>',
      'txs for the @noble/curves comparison run (0 skips it)',
      intOption(0, 1_000_000),
      2_000,
    )
    .option(
      '--look-ahead <n>',
      'blocks signature-checked ahead of the one executing',
      intOption(0, 64),
      2,
    )
    .option(
      '--txs-per-sender <n>',
      'one sender account per this many txs',
      intOption(1, 1_000_000),
      10,
    )
    .option('--json', 'print JSON')
    .option('--progress', 'print progress to stderr')
    .action(
      action(async (opts: ValidateCommandOptions) => {
        // Loaded on demand, like every command's heavy part: other commands never need it.
        const { formatValidateReport, runValidateBench } = await import(
          '../../../bench/validate.ts'
        );
        const { chainKindFor, parseWorkloads } = await import('../../../bench/workloads.ts');
        const workloads = parseWorkloads(opts.workload);
        // Refuses an open chain for the asset workloads before anything is generated.
        chainKindFor(workloads, opts.chain);
        const report = await runValidateBench({
          workloads,
          chain: opts.chain,
          txs: opts.txs,
          blockSizes: opts.blockSize === undefined ? undefined : [opts.blockSize],
          workers: opts.workers,
          nobleTxs: opts.nobleTxs,
          lookAhead: opts.lookAhead,
          txsPerSender: opts.txsPerSender,
          progress: opts.progress ? (line) => process.stderr.write(`${line}\n`) : undefined,
        });
        if (opts.json) printJson(report);
        else printLines(formatValidateReport(report));
      }),
    );
  bench
    .command('idle')
    .description(
      'leave a local validator network without txs and count its blocks, view changes and disk growth; then time txs sent at random moments from submission to commit (docs/BENCHMARKS.md, "Idle")',
    )
    .option('--validators <n>', 'validator processes', intOption(1, 16), 4)
    .option('--duration <s>', 'idle period, seconds', intOption(1, 86_400), 600)
    .option(
      '--empty-block-interval <ms>',
      "consensus.emptyBlockIntervalMs (default: the node's)",
      intOption(0, 3_600_000),
    )
    .option('--txs <n>', 'txs sent after the idle period, one at a time', intOption(1, 1_000), 10)
    .option('--dir <dir>', 'network directory (reset)', 'bench-idle')
    .option('--json', 'print JSON')
    .option('--progress', 'print progress to stderr')
    .action(
      action(
        async (opts: {
          validators: number;
          duration: number;
          emptyBlockInterval?: number;
          txs: number;
          dir: string;
          json?: boolean;
          progress?: boolean;
        }) => {
          const { formatIdleReport, runIdleBench } = await import('../../../bench/idle.ts');
          const { DEFAULT_CONFIG } = await import('../../node/config.ts');
          const report = await runIdleBench({
            dir: opts.dir,
            validators: opts.validators,
            idleS: opts.duration,
            emptyBlockIntervalMs:
              opts.emptyBlockInterval ?? DEFAULT_CONFIG.consensus.emptyBlockIntervalMs,
            txs: opts.txs,
            progress: opts.progress ? (line) => process.stderr.write(`${line}\n`) : undefined,
          });
          if (opts.json) printJson(report);
          else printLines(formatIdleReport(report));
        },
      ),
    );
}
