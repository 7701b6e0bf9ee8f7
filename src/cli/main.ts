/** The `civitas` command line. */
import { Command, CommanderError } from 'commander';
import { buildInfo } from '../node/build-info.ts';
import { registerBenchCommand } from './commands/bench.ts';
import { registerBenchClusterCommand } from './commands/bench-cluster.ts';
import {
  registerQueryCommand,
  registerTxCommand,
  registerVerifyCommand,
} from './commands/client.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerDevnetCommand } from './commands/devnet.ts';
import { registerDocCommand } from './commands/doc.ts';
import { registerGenesisCommand } from './commands/genesis.ts';
import { registerInitCommand } from './commands/init.ts';
import { registerKeysCommand } from './commands/keys.ts';
import { registerLabCommand } from './commands/lab.ts';
import { registerNodeCommand } from './commands/node.ts';
import { registerSimCommand } from './commands/sim.ts';

const program = new Command();
program
  .name('civitas')
  .description(
    'Civitas: a PBFT consortium blockchain node — run validators, send and verify transactions',
  )
  .option('-V, --version', 'print the version and the git commit of this build')
  .exitOverride();

// Read only when asked: finding the commit runs git, which no other command needs.
program.on('option:version', () => {
  const { version, commit } = buildInfo();
  console.log(`civitas ${version} (commit ${commit}, node ${process.version})`);
  process.exit(0);
});

registerKeysCommand(program);
registerInitCommand(program);
registerGenesisCommand(program);
registerNodeCommand(program);
registerDevnetCommand(program);
registerDemoCommand(program);
registerTxCommand(program);
registerQueryCommand(program);
registerVerifyCommand(program);
registerDocCommand(program);
registerSimCommand(program);
registerLabCommand(program);
registerBenchCommand(program);
registerBenchClusterCommand(program.commands.find((c) => c.name() === 'bench')!);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander already printed its one-line message; help and version exit 0.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    throw err;
  }
}
