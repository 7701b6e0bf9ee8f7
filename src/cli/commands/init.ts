import type { Command } from 'commander';
import { initNetwork } from '../../node/home.ts';
import { basePortOption, intOption } from '../options.ts';
import { action, printJson, printLines } from '../output.ts';

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(
      'create a consortium: a genesis, one home and one organisation (with an admin key) per validator, a regulator key and funded member account keys',
    )
    .requiredOption('--dir <dir>', 'directory to create (must be empty or absent)')
    .option('--validators <n>', 'number of validators', intOption(1, 100), 4)
    .option('--accounts <k>', 'number of funded accounts', intOption(0, 100_000), 2)
    .option('--chain-id <id>', 'chain id', 'civitas-devnet')
    .addOption(basePortOption())
    .option('--open', 'let anyone transact (default: only members of organisations)')
    .option(
      '--json',
      'print every home, RPC URL, p2p address, organisation, admin, regulator and account file as JSON',
    )
    .action(
      action(
        async (opts: {
          dir: string;
          validators: number;
          accounts: number;
          chainId: string;
          basePort: number;
          open?: boolean;
          json?: boolean;
        }) => {
          const summary = await initNetwork({
            dir: opts.dir,
            validators: opts.validators,
            accounts: opts.accounts,
            chainId: opts.chainId,
            basePort: opts.basePort,
            permissioned: opts.open !== true,
          });
          if (opts.json) return printJson(summary);
          const { regulator } = summary;
          printLines([
            `initialised chain ${summary.chainId} in ${summary.dir} (${summary.permissioned ? 'permissioned: only members transact' : 'open: anyone transacts'})`,
            ...summary.nodes.map((n) => `  ${n.name}  home ${n.home}  rpc ${n.rpc}`),
            ...summary.organisations.map(
              (o) => `  organisation ${o.id}  admin ${o.admin.address}  ${o.admin.file}`,
            ),
            `  organisation ${regulator.org}  regulator ${regulator.address}  ${regulator.file}`,
            ...summary.accounts.map((a) => `  account ${a.address}  member of ${a.org}  ${a.file}`),
            `start a node: civitas node start --home ${summary.nodes[0]!.home}`,
          ]);
        },
      ),
    );
}
