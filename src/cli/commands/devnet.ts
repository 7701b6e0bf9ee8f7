/**
 * `civitas devnet`: what `npm start` runs. Initialises a local network on loopback if there is
 * none yet (a permissioned consortium: an organisation per validator, a regulator), starts one
 * child process per validator (logs to <home>/node.log), prints each node's API URL, the admin
 * and regulator key files, then one line per committed block, and stops every node on Ctrl-C.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CivitasClient } from '../../client/client.ts';
import { CivitasError, isCivitasError } from '../../errors/index.ts';
import { LocalNetwork } from '../../localnet/index.ts';
import { basePortOption, intOption } from '../options.ts';
import { action, printLines } from '../output.ts';

interface DevnetOptions {
  validators: number;
  accounts: number;
  dir: string;
  reset?: boolean;
  basePort: number;
}

async function openNetwork(opts: DevnetOptions): Promise<LocalNetwork> {
  try {
    return await LocalNetwork.create({
      dir: resolve(opts.dir),
      validators: opts.validators,
      accounts: opts.accounts,
      basePort: opts.basePort,
      init: opts.reset ? 'reset' : 'reuse',
    });
  } catch (err) {
    if (!isCivitasError(err, 'LOCALNET_MISMATCH')) throw err;
    throw new CivitasError(
      err.code,
      `${err.message}; pass --reset to recreate it with ${opts.validators}`,
    );
  }
}

/**
 * Follows a node's block stream and prints one line per committed block; when that node goes
 * away (killed to try a fault), the next one that is up takes over.
 */
async function followBlocks(network: LocalNetwork, signal: AbortSignal): Promise<void> {
  let last = 0;
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 1_000));
  for (let i = 0; !signal.aborted; i = (i + 1) % network.size) {
    if (!network.isUp(i)) {
      await pause();
      continue;
    }
    try {
      for await (const b of await new CivitasClient(network.rpc(i)).openBlockEvents(signal)) {
        if (b.height <= last) continue;
        last = b.height;
        printLines([
          `block ${String(b.height).padStart(6)}  ${String(b.txs).padStart(5)} txs  ${b.hash.slice(0, 16)}  ${new Date(b.timestamp).toISOString()}`,
        ]);
      }
    } catch {
      if (signal.aborted) return;
      await pause();
    }
  }
}

export function registerDevnetCommand(program: Command): void {
  program
    .command('devnet')
    .description('run a local validator network on loopback (initialises it on first use)')
    .option('--validators <n>', 'number of validators', intOption(1, 32), 4)
    .option('--accounts <k>', 'funded accounts to create on first init', intOption(0, 10_000), 4)
    .option('--dir <dir>', 'network directory', '.civitas/devnet')
    .addOption(basePortOption())
    .option('--reset', 'delete the directory and start a fresh chain')
    .action(
      action(async (opts: DevnetOptions) => {
        const network = await openNetwork(opts);
        const { summary } = network;
        process.stderr.write(
          network.reused
            ? `devnet: reusing ${summary.dir} (pass --reset to start over)\n`
            : `devnet: initialised ${opts.validators} validators in ${summary.dir}\n`,
        );
        const abort = new AbortController();
        let stopping = false;
        // First Ctrl-C: every node shuts down cleanly; a second one kills what is left.
        const stopAll = (code: number): void => {
          if (stopping) {
            void network.stop({ signal: 'SIGKILL' }).then(() => process.exit(130));
            return;
          }
          stopping = true;
          abort.abort();
          process.stderr.write('devnet: stopping all nodes…\n');
          void network.stop({ graceMs: Number.POSITIVE_INFINITY }).then(() => process.exit(code));
        };
        process.on('SIGINT', () => stopAll(0));
        process.on('SIGTERM', () => stopAll(0));
        // A node that dies (kill -9 to try a fault) is reported; the others carry on, and the
        // node can be started again by hand. Only when every node is gone does the devnet end.
        network.onExit((i, exit) => {
          if (stopping || exit.expected) return;
          process.stderr.write(
            `devnet: ${summary.nodes[i]!.name} exited (${exit.signal ?? exit.code}); the others carry on. Restart it with: npx civitas node start --home ${network.home(i)}\n`,
          );
          if (summary.nodes.every((_, j) => !network.isUp(j))) stopAll(1);
        });

        await network.start({ timeoutMs: 30_000 });
        printLines([
          `devnet ${summary.chainId}: ${summary.nodes.length} validators running (Ctrl-C stops them)`,
          ...summary.nodes.map((n, i) => `  ${n.name}  ${n.rpc}  log ${network.logPath(i)}`),
          summary.permissioned
            ? 'permissioned: only members of organisations may transact'
            : 'open: anyone may transact',
          ...summary.organisations.map(
            (o) => `  organisation ${o.id} (${o.validator})  admin key ${o.admin.file}`,
          ),
          `  organisation ${summary.regulator.org}  regulator key ${summary.regulator.file}`,
          ...summary.accounts
            .slice(0, 4)
            .map((a) => `  funded account ${a.address}  member of ${a.org}  key ${a.file}`),
          `try: npx civitas tx transfer --rpc ${summary.nodes[0]!.rpc} --key ${summary.accounts[0]?.file ?? '<key>'} --to <address> --amount 10 --wait`,
          `explorer: ${summary.nodes[0]!.rpc}/explorer/ (every node serves it; it verifies what it shows)`,
        ]);
        await followBlocks(network, abort.signal);
      }),
    );
}
