import type { Command } from 'commander';
import { action } from '../output.ts';
import { keyPassphrase, type PassphraseOpts, passphraseFileOption } from '../passphrase.ts';

/** Runs a node until SIGINT/SIGTERM; a second signal forces exit. */
export function registerNodeCommand(program: Command): void {
  const node = program.command('node').description('run a validator node');
  node
    .command('start')
    .description(
      'start the node whose home is --home (config.json, genesis.json, validator key). ' +
        'An encrypted validator key is opened with --passphrase-file, env CIVITAS_PASSPHRASE or a terminal prompt (a service uses one of the first two)',
    )
    .requiredOption('--home <dir>', 'node home directory created by "civitas init"')
    .addOption(passphraseFileOption())
    .option(
      '--state-sync',
      'join from the newest state snapshot the members serve if the data dir holds no block ' +
        '(this start only, whatever state.sync says; the genesis must set maxTxLifetime); a data dir with blocks catches up by block sync',
    )
    .action(
      action(async (opts: PassphraseOpts & { home: string; stateSync?: boolean }) => {
        // Loaded on demand: the node pulls in libp2p and the engine, which other commands never need.
        const { CivitasNode } = await import('../../node/node.ts');
        const running = await CivitasNode.start(opts.home, {
          keyPassphrase: keyPassphrase(opts),
          stateSync: opts.stateSync === true,
        });
        let signals = 0;
        const shutdown = (signal: string): void => {
          signals++;
          if (signals > 1) {
            process.stderr.write(`civitas: second ${signal}, exiting now\n`);
            process.exit(130);
          }
          running.stop().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        };
        // A failed durable write leaves consensus unable to keep its promises: stop and let the
        // operator (or supervisor) restart the node, which recovers from LevelDB and the WAL.
        running.events.on('fatal', () => {
          process.exitCode = 1;
          running.stop().finally(() => process.exit(1));
        });
        process.on('SIGINT', () => shutdown('SIGINT'));
        process.on('SIGTERM', () => shutdown('SIGTERM'));
      }),
    );
}
