import type { Command } from 'commander';
import { initNetwork } from '../../node/home.ts';
import { basePortOption, intOption } from '../options.ts';
import { action, printJson, printLines } from '../output.ts';

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('create a genesis, one home per validator and funded account key files')
    .requiredOption('--dir <dir>', 'directory to create (must be empty or absent)')
    .option('--validators <n>', 'number of validators', intOption(1, 100), 4)
    .option('--accounts <k>', 'number of funded accounts', intOption(0, 100_000), 2)
    .option('--chain-id <id>', 'chain id', 'civitas-devnet')
    .addOption(basePortOption())
    .option('--json', 'print every home, RPC URL, p2p address and account file as JSON')
    .action(
      action(
        async (opts: {
          dir: string;
          validators: number;
          accounts: number;
          chainId: string;
          basePort: number;
          json?: boolean;
        }) => {
          const summary = await initNetwork({
            dir: opts.dir,
            validators: opts.validators,
            accounts: opts.accounts,
            chainId: opts.chainId,
            basePort: opts.basePort,
          });
          if (opts.json) return printJson(summary);
          printLines([
            `initialised chain ${summary.chainId} in ${summary.dir}`,
            ...summary.nodes.map((n) => `  ${n.name}  home ${n.home}  rpc ${n.rpc}`),
            ...summary.accounts.map((a) => `  account ${a.address}  ${a.file}`),
            `start a node: civitas node start --home ${summary.nodes[0]!.home}`,
          ]);
        },
      ),
    );
}
