import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { toHex } from '../../../src/crypto/bytes.ts';
import { generateKeyPair, keyPairFromSecret } from '../../../src/crypto/ed25519.ts';
import {
  keyFileJson,
  loadKeyFile,
  parseKeyFile,
  saveKeyFile,
} from '../../../src/crypto/keyfile.ts';
import { loadCheckedKeyFile } from '../../../src/crypto/keyfile-checked.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { tempDir } from '../../helpers/temp.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'civitas-keyfile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function hasCode(code: string) {
  return (err: unknown) => isCivitasError(err) && err.code === code;
}

test('save writes mode 0600 and load round-trips the key pair', async () => {
  const keys = generateKeyPair();
  const path = join(dir, 'roundtrip.json');
  await saveKeyFile(path, keys);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const loaded = await loadKeyFile(path);
  assert.deepEqual(loaded.publicKey, keys.publicKey);
  assert.deepEqual(loaded.secretKey, keys.secretKey);
  assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), keyFileJson(keys));
});

test('refuses to overwrite an existing file unless asked', async () => {
  const path = join(dir, 'existing.json');
  const original = generateKeyPair();
  await saveKeyFile(path, original);
  await assert.rejects(saveKeyFile(path, generateKeyPair()), hasCode('KEYS_FILE_EXISTS'));
  assert.deepEqual((await loadKeyFile(path)).secretKey, original.secretKey, 'file unchanged');
  const replacement = generateKeyPair();
  await saveKeyFile(path, replacement, true);
  assert.deepEqual((await loadKeyFile(path)).secretKey, replacement.secretKey);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
});

test('a refused save leaves no temp file holding the secret key behind', {}, async () => {
  const path = join(dir, 'leftover.json');
  await saveKeyFile(path, generateKeyPair());
  await assert.rejects(saveKeyFile(path, generateKeyPair()), hasCode('KEYS_FILE_EXISTS'));
  const leftovers = (await readdir(dir)).filter((f) => f.startsWith('leftover.json.tmp'));
  assert.deepEqual(leftovers, [], 'temp files left next to the key file');
});

test('a public key that does not match the secret key is KEYS_MISMATCH', async () => {
  const a = keyPairFromSecret(new Uint8Array(32).fill(1));
  const b = keyPairFromSecret(new Uint8Array(32).fill(2));
  const text = JSON.stringify({
    type: 'ed25519',
    publicKey: toHex(b.publicKey),
    secretKey: toHex(a.secretKey),
  });
  assert.throws(() => parseKeyFile(text), hasCode('KEYS_MISMATCH'));
  const path = join(dir, 'mismatch.json');
  await writeFile(path, text);
  await assert.rejects(loadKeyFile(path), hasCode('KEYS_MISMATCH'));
});

test('malformed files are KEYS_BAD_FILE', () => {
  const good = keyFileJson(keyPairFromSecret(new Uint8Array(32).fill(3)));
  for (const text of [
    '{not json',
    '',
    'null',
    '[]',
    JSON.stringify({ ...good, type: 'secp256k1' }),
    JSON.stringify({ ...good, secretKey: 'zz' }),
    JSON.stringify({ ...good, secretKey: good.secretKey.slice(2) }),
    JSON.stringify({ ...good, publicKey: `${good.publicKey}00` }),
    JSON.stringify({ type: 'ed25519' }),
  ]) {
    assert.throws(() => parseKeyFile(text), hasCode('KEYS_BAD_FILE'), text);
  }
  assert.doesNotThrow(() => parseKeyFile(JSON.stringify(good)));
});

test('a missing file is KEYS_NOT_FOUND', async () => {
  await assert.rejects(loadKeyFile(join(dir, 'absent.json')), hasCode('KEYS_NOT_FOUND'));
});

/** Collects the process warnings with these codes while a test runs. */
function collectWarnings(t: { after(fn: () => void): void }, codes: string[]): string[] {
  const warnings: string[] = [];
  const listen = (w: Error & { code?: string }) => {
    if (w.code !== undefined && codes.includes(w.code)) warnings.push(`${w.code} ${w.message}`);
  };
  process.on('warning', listen);
  t.after(() => process.off('warning', listen));
  return warnings;
}

const tick = () => new Promise((r) => setImmediate(r));

test('a key file others may read is used, with a warning naming the fix; a 0600 one without', async (t) => {
  const dir = await tempDir(t, 'civitas-keymode-');
  const path = join(dir, 'key.json');
  await saveKeyFile(path, generateKeyPair(), { declaredPlaintext: true });
  const warnings = collectWarnings(t, ['CIVITAS_KEY_FILE_MODE']);
  await loadCheckedKeyFile(path);
  await tick();
  assert.deepEqual(warnings, [], 'mode 0600: no warning');
  await chmod(path, 0o644);
  await loadCheckedKeyFile(path);
  await loadCheckedKeyFile(path);
  await tick();
  assert.equal(warnings.length, 1, 'once per file in a process');
  assert.match(warnings[0]!, /readable by other users \(mode 0644\): chmod 600/);
});

test('plaintext that does not say so is used with a warning; "encryption": "none" and encrypted files without', async (t) => {
  const dir = await tempDir(t, 'civitas-keyplain-');
  const [older, declared, encrypted] = ['older.json', 'declared.json', 'encrypted.json'].map((f) =>
    join(dir, f),
  ) as [string, string, string];
  await saveKeyFile(older, generateKeyPair());
  await saveKeyFile(declared, generateKeyPair(), { declaredPlaintext: true });
  await saveKeyFile(encrypted, generateKeyPair(), { passphrase: 'pass' });
  const warnings = collectWarnings(t, ['CIVITAS_KEY_FILE_PLAINTEXT']);
  await loadCheckedKeyFile(declared);
  await loadCheckedKeyFile(encrypted, { passphrase: 'pass' });
  await tick();
  assert.deepEqual(warnings, []);
  await loadCheckedKeyFile(older);
  await loadCheckedKeyFile(older);
  await tick();
  assert.equal(warnings.length, 1, 'once per file in a process');
  assert.match(
    warnings[0]!,
    /older\.json holds its secret key unencrypted: civitas keys encrypt --key /,
  );
});

test('the SDK loader never warns (careless mode, undeclared plaintext)', async (t) => {
  const dir = await tempDir(t, 'civitas-keysdk-');
  const path = join(dir, 'key.json');
  await saveKeyFile(path, generateKeyPair());
  await chmod(path, 0o644);
  const warnings = collectWarnings(t, ['CIVITAS_KEY_FILE_MODE', 'CIVITAS_KEY_FILE_PLAINTEXT']);
  await loadKeyFile(path);
  await tick();
  assert.deepEqual(warnings, []);
});
