import type { Command } from 'commander';
import { addressOf } from '../../chain/address.ts';
import { toHex } from '../../crypto/bytes.ts';
import { generateKeyPair } from '../../crypto/ed25519.ts';
import { keyFileJson, loadKeyFile, saveKeyFile } from '../../crypto/keyfile.ts';
import { peerIdFromValidatorKey } from '../../p2p/identity.ts';
import { action, printJson, printLines } from '../output.ts';

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('manage ed25519 keys');
  keys
    .command('generate')
    .description('generate a new ed25519 key pair (written to --out with mode 0600, or printed)')
    .option('--out <file>', 'write the key file here (refuses to overwrite)')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { out?: string; json?: boolean }) => {
        const kp = generateKeyPair();
        const summary = {
          publicKey: toHex(kp.publicKey),
          address: toHex(addressOf(kp.publicKey)),
          file: opts.out ?? null,
        };
        if (opts.out) await saveKeyFile(opts.out, kp);
        if (opts.json) printJson(opts.out ? summary : { ...summary, ...keyFileJson(kp) });
        else if (opts.out)
          printLines([
            `wrote ${opts.out}`,
            `public key ${summary.publicKey}`,
            `address    ${summary.address}`,
          ]);
        else printJson(keyFileJson(kp));
      }),
    );
  keys
    .command('show')
    .description('the public key, address and libp2p peer id of a key file (never its secret)')
    .requiredOption('--key <file>', 'key file')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { key: string; json?: boolean }) => {
        const kp = await loadKeyFile(opts.key);
        const summary = {
          publicKey: toHex(kp.publicKey),
          address: toHex(addressOf(kp.publicKey)),
          peerId: peerIdFromValidatorKey(kp.publicKey),
        };
        if (opts.json) return printJson(summary);
        printLines([
          `public key ${summary.publicKey}`,
          `address    ${summary.address}`,
          `peer id    ${summary.peerId}`,
        ]);
      }),
    );
}
