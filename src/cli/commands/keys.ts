import { type Command, Option } from 'commander';
import { addressOf } from '../../chain/address.ts';
import { toHex } from '../../crypto/bytes.ts';
import { generateKeyPair } from '../../crypto/ed25519.ts';
import {
  keyFileJson,
  keyFileText,
  openKeyFileContent,
  readKeyFileContent,
  saveKeyFile,
  writeKeyFileText,
} from '../../crypto/keyfile.ts';
import { warnAboutKeyFileMode } from '../../crypto/keyfile-checked.ts';
import { CivitasError } from '../../errors/index.ts';
import { peerIdFromValidatorKey } from '../../p2p/identity.ts';
import { action, printJson, printLines } from '../output.ts';
import {
  keyPassphrase,
  keyProtection,
  type NewKeyOpts,
  newPassphrase,
  type PassphraseOpts,
  passphraseFileOption,
  plaintextOption,
  warnUnencrypted,
} from '../passphrase.ts';

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

const ENCRYPTED = 'encrypted (scrypt, aes-256-gcm)';
const DECLARED_PLAINTEXT = 'unencrypted on purpose ("encryption": "none")';
const PLAINTEXT = 'unencrypted';

interface GenerateOpts extends NewKeyOpts {
  out?: string;
  printSecret?: boolean;
  json?: boolean;
}

interface ConvertOpts extends PassphraseOpts {
  key: string;
  out?: string;
  json?: boolean;
}

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('manage ed25519 key files (encrypted with a passphrase, or plaintext)');
  keys
    .command('generate')
    .summary('new key pair into --out (encrypted with a passphrase)')
    .description(
      'generate a new ed25519 key pair into --out (mode 0600) and print its public key, address and libp2p peer id. ' +
        `The secret is encrypted with a passphrase from --passphrase-file, env CIVITAS_PASSPHRASE or a terminal prompt; with none of them (a script) the file is written unencrypted with a warning. ` +
        'Make a validator or admin key on the machine that will use it, and hand over only its public key',
    )
    .option('--out <file>', 'write the key file here (mode 0600; refuses to overwrite)')
    .addOption(passphraseFileOption())
    .addOption(plaintextOption())
    .addOption(
      new Option(
        '--print-secret',
        'no file: print the plaintext key file (secret included) on stdout, for piping; the summary goes to stderr',
      ).conflicts(['out', 'passphraseFile', 'plaintext']),
    )
    .option('--json', 'print JSON (with the secret only under --print-secret)')
    .action(
      action(async (opts: GenerateOpts) => {
        if (opts.printSecret) {
          const kp = generateKeyPair();
          const summary = { ...publicSummary(kp.publicKey), file: null };
          if (opts.json) return printJson({ ...summary, ...keyFileJson(kp) });
          // stdout stays a key file (`> key.json` works); the rest goes to stderr.
          printJson(keyFileJson(kp));
          process.stderr.write(
            `${[...summaryLines(summary), 'stdout holds the secret key unencrypted: civitas keys encrypt --key FILE once it is in a file'].join('\n')}\n`,
          );
          return;
        }
        if (opts.out === undefined) {
          throw new CivitasError(
            'KEYS_OUT_NEEDED',
            'keys generate needs --out FILE (the secret key is never printed; --print-secret prints it on purpose)',
          );
        }
        const { protection, unprotected } = await keyProtection(opts, opts.out);
        const kp = generateKeyPair();
        await saveKeyFile(opts.out, kp, protection);
        if (unprotected) warnUnencrypted(opts.out, `civitas keys encrypt --key ${opts.out}`);
        const encrypted = protection.passphrase !== undefined;
        const summary = { ...publicSummary(kp.publicKey), file: opts.out, encrypted };
        if (opts.json) return printJson(summary);
        const kept = encrypted ? ENCRYPTED : opts.plaintext ? DECLARED_PLAINTEXT : PLAINTEXT;
        printLines([`wrote ${opts.out}, ${kept}`, ...summaryLines(summary)]);
      }),
    );
  keys
    .command('show')
    .summary('public key, address, peer id; whether encrypted (no passphrase)')
    .description(
      'the public key, address and libp2p peer id of a key file, and whether it is encrypted (never its secret; no passphrase needed)',
    )
    .requiredOption('--key <file>', 'key file')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { key: string; json?: boolean }) => {
        const { content, mode } = await readKeyFileContent(opts.key);
        const declaredPlaintext = !content.encrypted && content.declaredPlaintext;
        // Only the mode: whether the secret is encrypted is what this command prints.
        warnAboutKeyFileMode(opts.key, mode);
        const summary = { ...publicSummary(content.publicKey), encrypted: content.encrypted };
        if (opts.json) return printJson(summary);
        printLines([
          ...summaryLines(summary),
          `file       ${content.encrypted ? ENCRYPTED : declaredPlaintext ? DECLARED_PLAINTEXT : PLAINTEXT}`,
        ]);
      }),
    );
  keys
    .command('encrypt')
    .summary('encrypt a plaintext key file in place (or into --out)')
    .description(
      'encrypt a plaintext key file with a passphrase (--passphrase-file, env CIVITAS_PASSPHRASE or asked twice on a terminal), in place (a temp file renamed over it, mode 0600) or into --out',
    )
    .requiredOption('--key <file>', 'the plaintext key file')
    .option('--out <file>', 'write the encrypted file here instead (refuses to overwrite)')
    .addOption(passphraseFileOption())
    .option('--json', 'print JSON')
    .action(
      action(async (opts: ConvertOpts) => {
        const { content } = await readKeyFileContent(opts.key);
        if (content.encrypted) {
          throw new CivitasError('KEYS_ALREADY_ENCRYPTED', `${opts.key} is encrypted already`, {
            path: opts.key,
          });
        }
        const target = opts.out ?? opts.key;
        const passphrase = await newPassphrase(opts, target);
        if (passphrase === undefined) {
          throw new CivitasError(
            'KEYS_PASSPHRASE_NEEDED',
            'keys encrypt needs a passphrase: use --passphrase-file FILE, set CIVITAS_PASSPHRASE, or run from a terminal to be asked',
          );
        }
        await writeKeyFileText(
          target,
          await keyFileText(content.keys, { passphrase }),
          opts.out === undefined,
        );
        const summary = { ...publicSummary(content.publicKey), file: target, encrypted: true };
        if (opts.json) return printJson(summary);
        printLines([`wrote ${target}, ${ENCRYPTED}`, ...summaryLines(summary)]);
      }),
    );
  keys
    .command('decrypt')
    .summary('write an encrypted key file back as plaintext (on purpose)')
    .description(
      'write an encrypted key file back as plaintext on purpose ("encryption": "none"), in place (mode 0600) or into --out; its passphrase from --passphrase-file, env CIVITAS_PASSPHRASE or a terminal',
    )
    .requiredOption('--key <file>', 'the encrypted key file')
    .option('--out <file>', 'write the plaintext file here instead (refuses to overwrite)')
    .addOption(passphraseFileOption())
    .option('--json', 'print JSON')
    .action(
      action(async (opts: ConvertOpts) => {
        const { content } = await readKeyFileContent(opts.key);
        if (!content.encrypted) {
          throw new CivitasError('KEYS_NOT_ENCRYPTED', `${opts.key} is not encrypted`, {
            path: opts.key,
          });
        }
        const kp = await openKeyFileContent(content, opts.key, keyPassphrase(opts));
        const target = opts.out ?? opts.key;
        await writeKeyFileText(
          target,
          await keyFileText(kp, { declaredPlaintext: true }),
          opts.out === undefined,
        );
        const summary = { ...publicSummary(kp.publicKey), file: target, encrypted: false };
        if (opts.json) return printJson(summary);
        printLines([`wrote ${target}, ${DECLARED_PLAINTEXT}`, ...summaryLines(summary)]);
      }),
    );
}
