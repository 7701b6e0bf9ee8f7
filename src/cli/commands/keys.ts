import type { Command } from 'commander';
import { addressOf } from '../../chain/address.ts';
import { toHex } from '../../crypto/bytes.ts';
import { generateKeyPair } from '../../crypto/ed25519.ts';
import { keyFileJson, loadKeyFile, saveKeyFile } from '../../crypto/keyfile.ts';
import { peerIdFromValidatorKey } from '../../p2p/identity.ts';
import { action, printJson, printLines } from '../output.ts';

/** What `keys generate` and `keys show` say about a key: never its secret. */
function publicSummary(publicKey: Uint8Array): {
  publicKey: string;
  address: string;
  peerId: string;
} {
  return {
    publicKey: toHex(publicKey),
    address: toHex(addressOf(publicKey)),
    peerId: peerIdFromValidatorKey(publicKey),
  };
}

function summaryLines(summary: ReturnType<typeof publicSummary>): string[] {
  return [
    `public key ${summary.publicKey}`,
    `address    ${summary.address}`,
    `peer id    ${summary.peerId}`,
  ];
}

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('manage ed25519 keys');
  keys
    .command('generate')
    .description(
      'generate a new ed25519 key pair and print its public key, address and libp2p peer id; ' +
        'written to --out with mode 0600, or (without --out) the key file is printed, secret included. ' +
        'Make a validator or admin key with --out on the machine that will use it, and hand over only its public key',
    )
    .option('--out <file>', 'write the key file here (mode 0600; refuses to overwrite)')
    .option('--json', 'print JSON (with the secret only when there is no --out)')
    .action(
      action(async (opts: { out?: string; json?: boolean }) => {
        const kp = generateKeyPair();
        const summary = { ...publicSummary(kp.publicKey), file: opts.out ?? null };
        if (opts.out) await saveKeyFile(opts.out, kp);
        if (opts.json) return printJson(opts.out ? summary : { ...summary, ...keyFileJson(kp) });
        if (opts.out) return printLines([`wrote ${opts.out}`, ...summaryLines(summary)]);
        // stdout stays a key file (`> key.json` works as before); the rest goes to stderr.
        printJson(keyFileJson(kp));
        process.stderr.write(
          `${[
            ...summaryLines(summary),
            'stdout holds the secret key: make a validator key with --out on its own machine instead',
          ].join('\n')}\n`,
        );
      }),
    );
  keys
    .command('show')
    .description('the public key, address and libp2p peer id of a key file (never its secret)')
    .requiredOption('--key <file>', 'key file')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { key: string; json?: boolean }) => {
        const summary = publicSummary((await loadKeyFile(opts.key)).publicKey);
        if (opts.json) return printJson(summary);
        printLines(summaryLines(summary));
      }),
    );
}
