/**
 * `civitas lab`: experiments as files (docs/LAB.md). `lab run FILE` runs a declared
 * experiment in the simulator or on a local cluster and writes results.json (every run, with
 * provenance), runs.csv (one row per run) and SVG plots into a folder; a folder that already
 * holds some runs resumes with the rest. `lab check FILE` checks the file and lists the runs.
 * The logic lives in bench/lab/, loaded only when a lab command runs (vega is heavy).
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { intOption } from '../options.ts';
import { action, printJson, printLines } from '../output.ts';

/** Where results go without --out: bench-results/ is the benchmarks' (git-ignored) folder. */
const DEFAULT_OUT = 'bench-results/lab';

interface RunFlags {
  out?: string;
  maxRuns?: number;
  json?: boolean;
  progress: boolean;
}

async function load(file: string) {
  const { parseExperiment } = await import('../../../bench/lab/index.ts');
  return parseExperiment(await readFile(file, 'utf8'), file);
}

export function registerLabCommand(program: Command): void {
  const lab = program
    .command('lab')
    .description(
      'run consensus experiments declared in a file: simulator or local cluster, results.json, CSV, plots (docs/LAB.md)',
    );

  lab
    .command('run')
    .description('run an experiment file; resumes: runs already in the output folder are skipped')
    .argument('<experiment>', 'the experiment file (JSON; see experiments/ and docs/LAB.md)')
    .option('--out <dir>', `output folder (default ${DEFAULT_OUT}/<name>)`)
    .option(
      '--max-runs <n>',
      'stop after this many runs; the next call runs the rest',
      intOption(1, 1_000_000),
    )
    .option('--json', 'print the summary as JSON')
    .option('--no-progress', 'no [i/N] progress lines on stderr')
    .addHelpText(
      'after',
      `
Writes into the output folder:
  results.json   every run with its parameters and figures, and each session's provenance
                 (git commit, machine, crypto backends, the exact command)
  runs.csv       one row per run (tidy: one column per parameter or figure)
  *.svg          throughput vs n, latency CDF, p99 vs n, messages per block vs n,
                 view changes vs loss rate, recovery after GST vs n (as the metrics ask);
                 recovery after GST and view changes vs view timeout (sim, when the file
                 varies viewTimeoutMs); throughput, p99, recovery and view changes by
                 fault mix (cluster)
  runs/<key>/    cluster: each run's own bench results, plots and node logs

Examples (docs/LAB.md's three experiments):
  civitas lab run experiments/pbft-vs-hotstuff.json
  civitas lab run experiments/cluster-faults.json
  civitas lab run experiments/recovery-vs-view-timeout.json --out bench-results/lab/timeouts`,
    )
    .action(
      action(async (file: string, flags: RunFlags) => {
        const experiment = await load(file);
        const { runLab } = await import('../../../bench/lab/index.ts');
        const outDir = flags.out ?? join(DEFAULT_OUT, experiment.name);
        const summary = await runLab({
          experiment,
          experimentFile: file,
          outDir,
          command: ['civitas', ...process.argv.slice(2)].join(' '),
          ...(flags.maxRuns !== undefined ? { maxRuns: flags.maxRuns } : {}),
          ...(flags.progress
            ? { progress: (line: string) => process.stderr.write(`${line}\n`) }
            : {}),
        });
        if (summary.violations > 0) process.exitCode = 1;
        if (flags.json) {
          const { results: _results, ...rest } = summary;
          printJson(rest);
          return;
        }
        printLines([
          `lab ${experiment.name}: ${summary.ran.length} runs now, ${summary.skipped} were already done, ${summary.remaining} still to run${summary.remaining > 0 ? ' (run the same command again)' : ''}`,
          ...(summary.violations > 0
            ? [`VIOLATIONS in ${summary.violations} runs: see "problems" in results.json`]
            : []),
          'wrote:',
          ...summary.files.map((f) => `  ${relative(process.cwd(), f) || f}`),
        ]);
      }),
    );

  lab
    .command('check')
    .description('check an experiment file and list its runs, running nothing')
    .argument('<experiment>', 'the experiment file')
    .option('--json', 'print the runs as JSON')
    .action(
      action(async (file: string, flags: { json?: boolean }) => {
        const experiment = await load(file);
        const { planRuns } = await import('../../../bench/lab/index.ts');
        const runs = planRuns(experiment);
        if (flags.json) {
          printJson({ experiment, runs });
          return;
        }
        printLines([
          `${file}: ${experiment.kind} experiment "${experiment.name}", ${runs.length} runs`,
          ...runs.map((r) => `  ${r.key}`),
        ]);
      }),
    );
}
