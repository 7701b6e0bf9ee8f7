import type { Command } from 'commander';
import {
  type GenesisSummary,
  loadMembersManifest,
  writeConsortiumFromMembers,
} from '../../node/members.ts';
import { action, printJson, printLines } from '../output.ts';

/** What `civitas genesis` and `civitas init --from-members` both run. */
export async function genesisFromMembers(file: string, out: string, option: string) {
  return writeConsortiumFromMembers(await loadMembersManifest(file), out, option);
}

export function printGenesisSummary(summary: GenesisSummary): void {
  printLines([
    `wrote the genesis of chain ${summary.chainId} to ${summary.genesis} (${summary.permissioned ? 'permissioned: only members transact' : 'open: anyone transacts'})`,
    `  sha256 ${summary.genesisSha256}  (every member checks its copy against this)`,
    ...summary.members.map((m) => `  ${m.name}  home ${m.home}  p2p ${m.p2p}`),
    ...(summary.regulator
      ? [`  organisation ${summary.regulator.org}  regulator ${summary.regulator.address}`]
      : []),
    ...summary.accounts.map((a) => `  account ${a.address}  member of ${a.org}`),
    'send each member its folder; it adds its own validator-key.json and runs, in the folder:',
    '  civitas node start --home .   (see NEXT_STEPS.txt there)',
  ]);
}

export function registerGenesisCommand(program: Command): void {
  program
    .command('genesis')
    .description(
      "found a consortium from its members' public keys: write DIR/genesis.json and one home per member " +
        '(DIR/<name>/: config.json, genesis.json, NEXT_STEPS.txt), never a secret key; each member ' +
        'adds its own validator-key.json. FILE is JSON: {"chainId", "genesisTime"?, "permissioned"?, ' +
        '"params"?, "members": [{"name", "validatorKey", "adminKey", "host", "p2pPort", "rpcPort", ' +
        '"rpcListen"?, "adminBalance"?}], "regulator"?: {"name", "adminKey", "adminBalance"?}, ' +
        '"accounts"?: [{"publicKey", "org", "balance"?}]} (README: "Founding a consortium across machines")',
    )
    .requiredOption('--members <file>', 'the members manifest (JSON)')
    .requiredOption('--out <dir>', 'directory to create (must be empty or absent)')
    .option('--json', 'print the genesis, its sha256, every home, peer id and multiaddr as JSON')
    .action(
      action(async (opts: { members: string; out: string; json?: boolean }) => {
        const summary = await genesisFromMembers(opts.members, opts.out, '--out');
        if (opts.json) return printJson(summary);
        printGenesisSummary(summary);
      }),
    );
}
