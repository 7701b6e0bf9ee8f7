/**
 * Encrypted key files through the `civitas` CLI as real processes: `keys generate --out` with
 * CIVITAS_PASSPHRASE writes no secret in clear and `keys show` reads it without one; a wrong
 * passphrase, or none in a script, is one coded line; `keys encrypt` / `keys decrypt` convert
 * in place; an encrypted `init` home runs a node with the passphrase in the environment and
 * signs a `tx transfer` with `--passphrase-file`; `init --observer` copies an encrypted key as
 * it is; plaintext keys written without a passphrase warn; and on a terminal (driven through
 * util-linux `script`) the passphrase is asked for, hidden, twice for a new key.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadKeyFile, saveKeyFile, toHex } from '../../../src/client/index.ts';
import { generateKeyPair } from '../../../src/crypto/ed25519.ts';
import type { InitSummary, ObserverInitSummary } from '../../../src/node/home.ts';
import { CLI_MAIN, closedPort, NODE_BIN, REPO_ROOT, runCli } from '../../helpers/process.ts';
import { startSingleNode } from '../../helpers/single-node.ts';
import { suiteScope, tempDir } from '../../helpers/temp.ts';

const PASSPHRASE = 'a long passphrase, not hunter2';

/** The environment of a child with no passphrase of its own (the test runner's is dropped). */
function envWith(extra: Record<string, string> = {}): Record<string, string> {
  return { CIVITAS_PASSPHRASE: '', ...extra };
}

function stderrLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim().length > 0);
}

/**
 * Runs `args` on a pseudo-terminal (util-linux `script`), answering each passphrase prompt
 * with the next of `answers`; resolves with the exit code and everything the terminal showed.
 */
function onTerminal(
  args: readonly string[],
  answers: readonly string[],
): Promise<{ code: number | null; screen: string }> {
  const command = [NODE_BIN, CLI_MAIN, ...args].map((a) => `'${a}'`).join(' ');
  const env: Record<string, string | undefined> = { ...process.env, CIVITAS_DEBUG: '' };
  delete env.CIVITAS_PASSPHRASE;
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  let answered = 0;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    screen += d;
    const prompts = screen.match(/passphrase[^\n]*: /g)?.length ?? 0;
    while (answered < prompts && answered < answers.length) {
      child.stdin.write(`${answers[answered]}\r`);
      answered++;
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.end();
      resolve({ code, screen });
    });
  });
}

describe('encrypted key files through the CLI', () => {
  const scope = suiteScope();
  let dir: string;
  let passphraseFile: string;

  before(async () => {
    dir = await tempDir(scope, 'civitas-keys-');
    passphraseFile = join(dir, 'passphrase.txt');
    await writeFile(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  });
  after(() => scope.run());

  test('keys generate --out with CIVITAS_PASSPHRASE: no secret in the file; keys show needs no passphrase', async () => {
    const file = join(dir, 'generated.json');
    const made = await runCli(['keys', 'generate', '--out', file, '--json'], {
      env: envWith({ CIVITAS_PASSPHRASE: PASSPHRASE }),
    });
    assert.equal(made.code, 0, made.stderr);
    assert.equal(made.stderr, '');
    const summary = JSON.parse(made.stdout) as { publicKey: string; encrypted: boolean };
    assert.equal(summary.encrypted, true);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const keys = await loadKeyFile(file, { passphrase: PASSPHRASE });
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(toHex(keys.secretKey)), 'the secret is not in the file in clear');
    assert.equal(toHex(keys.publicKey), summary.publicKey);

    const [shown, shownJson] = await Promise.all([
      runCli(['keys', 'show', '--key', file], { env: envWith() }),
      runCli(['keys', 'show', '--key', file, '--json'], { env: envWith() }),
    ]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stderr, '');
    assert.match(shown.stdout, new RegExp(`^public key ${summary.publicKey}\\n`));
    assert.match(shown.stdout, /\nfile {7}encrypted \(scrypt, aes-256-gcm\)\n$/);
    assert.deepEqual(
      { ...(JSON.parse(shownJson.stdout) as object), peerId: '', address: '' },
      { publicKey: summary.publicKey, address: '', peerId: '', encrypted: true },
    );
  });

  test('a wrong passphrase, or none in a script, is one coded line and a non-zero exit', async () => {
    const file = join(dir, 'locked.json');
    await saveKeyFile(file, generateKeyPair(), { passphrase: PASSPHRASE });
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const transfer = ['tx', 'transfer', '--to', '00'.repeat(20), '--amount', '1', '--key', file];
    const wrongFile = join(dir, 'wrong.txt');
    await writeFile(wrongFile, 'not it\n', { mode: 0o600 });
    const [wrongEnv, wrongOption, none, noneDecrypt] = await Promise.all([
      runCli([...transfer, '--rpc', closed], { env: envWith({ CIVITAS_PASSPHRASE: 'not it' }) }),
      runCli(['keys', 'decrypt', '--key', file, '--passphrase-file', wrongFile], {
        env: envWith({ CIVITAS_PASSPHRASE: PASSPHRASE }),
      }),
      runCli([...transfer, '--rpc', closed], { env: envWith() }),
      runCli(['keys', 'decrypt', '--key', file, '--json'], { env: envWith() }),
    ]);
    for (const [what, r] of [
      ['wrong CIVITAS_PASSPHRASE', wrongEnv],
      ['a wrong --passphrase-file beats a right CIVITAS_PASSPHRASE', wrongOption],
    ] as const) {
      assert.equal(r.code, 1, what);
      assert.match(
        r.stderr,
        /^civitas: .*locked\.json: wrong passphrase .*\[KEYS_BAD_PASSPHRASE\]\n$/,
        what,
      );
      assert.equal(r.stdout, '', what);
    }
    assert.equal(none.code, 1);
    assert.equal(stderrLines(none.stderr).length, 1, none.stderr);
    assert.match(
      none.stderr,
      /locked\.json is encrypted .*--passphrase-file FILE.*CIVITAS_PASSPHRASE.*terminal.*\[KEYS_PASSPHRASE_NEEDED\]\n$/,
    );
    assert.equal(noneDecrypt.code, 1);
    assert.equal(
      (JSON.parse(noneDecrypt.stdout) as { error: { code: string } }).error.code,
      'KEYS_PASSPHRASE_NEEDED',
    );
    assert.deepEqual(
      (await loadKeyFile(file, { passphrase: PASSPHRASE })).publicKey.length,
      32,
      'the file is untouched',
    );
  });

  test('keys encrypt converts a plaintext file in place (0600, no temp left); keys decrypt converts back', async () => {
    const file = join(dir, 'convert.json');
    const kp = generateKeyPair();
    await saveKeyFile(file, kp);
    const encrypted = await runCli(
      ['keys', 'encrypt', '--key', file, '--passphrase-file', passphraseFile],
      { env: envWith() },
    );
    assert.equal(encrypted.code, 0, encrypted.stderr);
    assert.match(encrypted.stdout, /^wrote .*convert\.json, encrypted \(scrypt, aes-256-gcm\)\n/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok(!(await readFile(file, 'utf8')).includes(toHex(kp.secretKey)));
    assert.deepEqual((await loadKeyFile(file, { passphrase: PASSPHRASE })).secretKey, kp.secretKey);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith('convert.json.tmp')),
      [],
      'no temp file left',
    );

    const again = await runCli(
      ['keys', 'encrypt', '--key', file, '--passphrase-file', passphraseFile],
      { env: envWith() },
    );
    assert.equal(again.code, 1);
    assert.match(again.stderr, /\[KEYS_ALREADY_ENCRYPTED\]\n$/);

    const plainCopy = join(dir, 'convert-plain.json');
    const decrypted = await runCli(['keys', 'decrypt', '--key', file, '--out', plainCopy], {
      env: envWith({ CIVITAS_PASSPHRASE: PASSPHRASE }),
    });
    assert.equal(decrypted.code, 0, decrypted.stderr);
    const plain = JSON.parse(await readFile(plainCopy, 'utf8')) as {
      secretKey: string;
      encryption: string;
    };
    assert.deepEqual([plain.secretKey, plain.encryption], [toHex(kp.secretKey), 'none']);
    assert.equal((await stat(plainCopy)).mode & 0o777, 0o600);
    assert.deepEqual((await loadKeyFile(file, { passphrase: PASSPHRASE })).secretKey, kp.secretKey);

    const notEncrypted = await runCli(['keys', 'decrypt', '--key', plainCopy], { env: envWith() });
    assert.equal(notEncrypted.code, 1);
    assert.match(notEncrypted.stderr, /\[KEYS_NOT_ENCRYPTED\]\n$/);
  });

  test('plaintext keys: written without a passphrase with one warning line; read with a process warning unless marked "none"', async () => {
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const [undeclared, declared] = [join(dir, 'undeclared.json'), join(dir, 'declared.json')];
    const [made, madeOnPurpose] = await Promise.all([
      runCli(['keys', 'generate', '--out', undeclared], { env: envWith() }),
      runCli(['keys', 'generate', '--out', declared, '--plaintext'], { env: envWith() }),
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(stderrLines(made.stderr).length, 1, made.stderr);
    assert.match(made.stderr, /civitas keys encrypt --key .*undeclared\.json/);
    assert.equal(madeOnPurpose.code, 0, madeOnPurpose.stderr);
    assert.equal(madeOnPurpose.stderr, '');

    const transfer = (key: string) =>
      runCli(
        ['tx', 'transfer', '--to', '00'.repeat(20), '--amount', '1', '--key', key, '--rpc', closed],
        {
          env: envWith(),
        },
      );
    const [warned, quiet] = await Promise.all([transfer(undeclared), transfer(declared)]);
    assert.match(
      warned.stderr,
      /\[CIVITAS_KEY_FILE_PLAINTEXT\] Warning: key file .*undeclared\.json holds its secret key unencrypted: civitas keys encrypt --key /,
    );
    assert.match(warned.stderr, /\[CLIENT_UNREACHABLE\]/, 'the key was used');
    assert.deepEqual(stderrLines(quiet.stderr).length, 1, quiet.stderr);
    assert.match(quiet.stderr, /\[CLIENT_UNREACHABLE\]\n$/);
  });

  test('an encrypted init home: the node starts with CIVITAS_PASSPHRASE, tx transfer signs with --passphrase-file', {
    timeout: 120_000,
  }, async () => {
    const {
      summary: net,
      init,
      node,
    } = await startSingleNode(scope, { env: envWith({ CIVITAS_PASSPHRASE: PASSPHRASE }) });
    assert.equal(init.stderr, '', 'encrypted: no warning');
    assert.equal(net.encryptedKeys, true);
    const validatorKey = join(net.nodes[0]!.home, 'validator-key.json');
    for (const file of [validatorKey, net.accounts[0]!.file, net.regulator.file]) {
      const text = await readFile(file, 'utf8');
      assert.equal(typeof JSON.parse(text).encryption, 'object', file);
      assert.ok(!text.includes('secretKey'), file);
    }
    assert.doesNotMatch(node.stderr(), /CIVITAS_KEY_FILE/, 'no key warning from the node');

    // Without the passphrase, or with a wrong one, the same home does not start.
    const [without, wrong] = await Promise.all([
      runCli(['node', 'start', '--home', net.nodes[0]!.home], { env: envWith() }),
      runCli(['node', 'start', '--home', net.nodes[0]!.home], {
        env: envWith({ CIVITAS_PASSPHRASE: 'not it' }),
      }),
    ]);
    assert.equal(without.code, 1);
    assert.match(
      without.stderr,
      /validator-key\.json is encrypted .*\[KEYS_PASSPHRASE_NEEDED\]\n$/,
    );
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr,
      /validator-key\.json: wrong passphrase .*\[KEYS_BAD_PASSPHRASE\]\n$/,
    );

    const sent = await runCli(
      [
        'tx',
        'transfer',
        '--to',
        net.accounts[1]!.address,
        '--amount',
        '7',
        '--key',
        net.accounts[0]!.file,
        '--passphrase-file',
        passphraseFile,
        '--wait',
        '--rpc',
        net.nodes[0]!.rpc,
      ],
      { env: envWith() },
    );
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.stderr, '');
    assert.match(sent.stdout, /^committed [0-9a-f]{64} at height \d+\nreceipt {3}ok \(OK\)\n$/);
  });

  test('init --observer copies an encrypted key as it is, without its passphrase', async () => {
    const key = join(dir, 'observer-key.json');
    await saveKeyFile(key, generateKeyPair(), { passphrase: PASSPHRASE });
    const net = join(dir, 'observed');
    const init = await runCli(
      ['init', '--validators', '1', '--accounts', '0', '--dir', net, '--json', '--plaintext'],
      {
        env: envWith(),
      },
    );
    assert.equal(init.code, 0, init.stderr);
    const { genesis, nodes } = JSON.parse(init.stdout) as InitSummary;
    const r = await runCli(
      [
        'init',
        '--observer',
        '--genesis',
        genesis,
        '--key',
        key,
        '--bootstrap',
        nodes[0]!.p2p,
        '--dir',
        join(dir, 'observer'),
        '--json',
      ],
      { env: envWith() },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const summary = JSON.parse(r.stdout) as ObserverInitSummary;
    assert.equal(summary.encryptedKey, true);
    assert.equal(await readFile(summary.keyFile, 'utf8'), await readFile(key, 'utf8'));
    assert.equal((await stat(summary.keyFile)).mode & 0o777, 0o600);
  });

  test('on a terminal: asked twice for a new key (hidden), once to open one; a mismatch writes nothing', async () => {
    const file = join(dir, 'typed.json');
    const made = await onTerminal(['keys', 'generate', '--out', file], [PASSPHRASE, PASSPHRASE]);
    assert.equal(made.code, 0, made.screen);
    assert.match(made.screen, /passphrase for .*typed\.json: \r\nthe same passphrase again: \r\n/);
    assert.match(made.screen, /wrote .*typed\.json, encrypted/);
    assert.ok(!made.screen.includes(PASSPHRASE), 'the typed passphrase is not echoed');
    const keys = await loadKeyFile(file, { passphrase: PASSPHRASE });

    const opened = await onTerminal(
      ['keys', 'decrypt', '--key', file, '--out', join(dir, 'typed-plain.json')],
      [PASSPHRASE],
    );
    assert.equal(opened.code, 0, opened.screen);
    assert.equal(opened.screen.match(/passphrase for/g)?.length, 1, opened.screen);
    assert.ok(!opened.screen.includes(PASSPHRASE));
    assert.deepEqual((await loadKeyFile(join(dir, 'typed-plain.json'))).secretKey, keys.secretKey);

    const mismatch = join(dir, 'mismatch.json');
    const differ = await onTerminal(['keys', 'generate', '--out', mismatch], [PASSPHRASE, 'other']);
    assert.equal(differ.code, 1, differ.screen);
    assert.match(differ.screen, /\[KEYS_PASSPHRASE_MISMATCH\]/);
    await assert.rejects(stat(mismatch), { code: 'ENOENT' });
  });
});
