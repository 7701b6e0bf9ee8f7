/**
 * Runs the cluster benchmark without the rest of the CLI:
 *   node_modules/.bin/node bench/cluster/main.ts [civitas bench cluster options]
 */
import { Command, CommanderError } from 'commander';
import { registerBenchClusterCommand } from '../../src/cli/commands/bench-cluster.ts';

const program = new Command().name('civitas').exitOverride();
registerBenchClusterCommand(program.command('bench').exitOverride());
try {
  await program.parseAsync([
    process.argv[0]!,
    'civitas',
    'bench',
    'cluster',
    ...process.argv.slice(2),
  ]);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else throw err;
}
