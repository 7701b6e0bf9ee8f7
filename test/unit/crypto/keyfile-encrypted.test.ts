/**
 * Encrypted key files (src/crypto/keyfile-format.ts, keyfile-crypto.ts): the secret sealed
 * with scrypt + AES-256-GCM, the public key and the KDF parameters authenticated with it,
 * hostile parameters refused before any KDF runs, and plaintext files still loading.
 */
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { toHex } from '../../../src/crypto/bytes.ts';
import { generateKeyPair, keyPairFromSecret } from '../../../src/crypto/ed25519.ts';
import {
  decodeKeyFile,
  type EncryptedKeyFileJson,
  keyFileJson,
  keyFileSealer,
  loadKeyFile,
  loadKeyFilePublicKey,
  parseKeyFile,
  readKeyFile,
  saveKeyFile,
} from '../../../src/crypto/keyfile.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { tempDir } from '../../helpers/temp.ts';

function hasCode(code: string) {
  return (err: unknown) => isCivitasError(err) && err.code === code;
}

const PASSPHRASE = 'correct horse battery staple';

/** One encrypted key file, made once: each scrypt run costs about 0.1 s. */
const keys = keyPairFromSecret(new Uint8Array(32).fill(7));
const sealed: EncryptedKeyFileJson = (await keyFileSealer(PASSPHRASE)).seal(keys);

/** `sealed` with `change` applied to a deep copy, as file text. */
function altered(change: (j: EncryptedKeyFileJson) => void): string {
  const copy = structuredClone(sealed);
  change(copy);
  return JSON.stringify(copy);
}

/** A hex string with its first byte flipped. */
function flipFirstByte(hex: string): string {
  const first = (Number.parseInt(hex.slice(0, 2), 16) ^ 0x01).toString(16).padStart(2, '0');
  return first + hex.slice(2);
}

test('round trip: saved with a passphrase, loaded with it; the file holds no secret in clear', async (t) => {
  const dir = await tempDir(t, 'civitas-keyenc-');
  const path = join(dir, 'key.json');
  const kp = generateKeyPair();
  await saveKeyFile(path, kp, { passphrase: PASSPHRASE });
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const text = await readFile(path, 'utf8');
  assert.ok(!text.includes(toHex(kp.secretKey)), 'no secret hex in the file');
  assert.ok(text.includes(toHex(kp.publicKey)), 'the public key in clear');
  const j = JSON.parse(text) as EncryptedKeyFileJson;
  assert.deepEqual(
    { ...j.encryption, salt: '', nonce: '', ciphertext: '' },
    {
      version: 1,
      kdf: 'scrypt',
      n: 2 ** 15,
      r: 8,
      p: 1,
      salt: '',
      cipher: 'aes-256-gcm',
      nonce: '',
      ciphertext: '',
    },
  );
  const loaded = await readKeyFile(path, { passphrase: PASSPHRASE });
  assert.deepEqual(loaded.keys.secretKey, kp.secretKey);
  assert.deepEqual(loaded.keys.publicKey, kp.publicKey);
  assert.equal(loaded.encrypted, true);
  assert.deepEqual(await loadKeyFilePublicKey(path), kp.publicKey, 'public key without passphrase');
  // A function is asked only for an encrypted file, and told which.
  const asked: string[] = [];
  const ask = (p: string) => {
    asked.push(p);
    return PASSPHRASE;
  };
  assert.deepEqual((await loadKeyFile(path, { passphrase: ask })).secretKey, kp.secretKey);
  const plain = join(dir, 'plain.json');
  await saveKeyFile(plain, generateKeyPair());
  await loadKeyFile(plain, { passphrase: ask });
  assert.deepEqual(asked, [path]);
});

test('a wrong passphrase is KEYS_BAD_PASSPHRASE; none at all is KEYS_PASSPHRASE_NEEDED', async (t) => {
  const dir = await tempDir(t, 'civitas-keyenc-');
  const path = join(dir, 'key.json');
  await writeFile(path, JSON.stringify(sealed), { mode: 0o600 });
  await assert.rejects(loadKeyFile(path, { passphrase: 'wrong' }), hasCode('KEYS_BAD_PASSPHRASE'));
  await assert.rejects(loadKeyFile(path), hasCode('KEYS_PASSPHRASE_NEEDED'));
  await assert.rejects(loadKeyFile(path, { passphrase: '' }), hasCode('KEYS_PASSPHRASE_EMPTY'));
  assert.throws(() => parseKeyFile(JSON.stringify(sealed)), hasCode('KEYS_PASSPHRASE_NEEDED'));
  assert.deepEqual((await loadKeyFile(path, { passphrase: PASSPHRASE })).secretKey, keys.secretKey);
});

test('one passphrase typed either way of composing an accent opens the file (NFC)', async (t) => {
  const dir = await tempDir(t, 'civitas-keyenc-');
  const path = join(dir, 'key.json');
  await saveKeyFile(path, keys, { passphrase: 'caf\u00e9' });
  assert.deepEqual(
    (await loadKeyFile(path, { passphrase: 'cafe\u0301' })).secretKey,
    keys.secretKey,
  );
});

test('an altered ciphertext, public key, nonce or KDF parameter does not open', async (t) => {
  const dir = await tempDir(t, 'civitas-keyenc-');
  const other = keyPairFromSecret(new Uint8Array(32).fill(8));
  const cases: Record<string, string> = {
    ciphertext: altered((j) => {
      j.encryption.ciphertext = flipFirstByte(j.encryption.ciphertext);
    }),
    tag: altered((j) => {
      const c = j.encryption.ciphertext;
      j.encryption.ciphertext = c.slice(0, 64) + flipFirstByte(c.slice(64));
    }),
    publicKey: altered((j) => {
      j.publicKey = toHex(other.publicKey);
    }),
    nonce: altered((j) => {
      j.encryption.nonce = flipFirstByte(j.encryption.nonce);
    }),
    salt: altered((j) => {
      j.encryption.salt = flipFirstByte(j.encryption.salt);
    }),
    n: altered((j) => {
      j.encryption.n = 2 ** 14;
    }),
    r: altered((j) => {
      j.encryption.r = 4;
    }),
    p: altered((j) => {
      j.encryption.p = 2;
    }),
  };
  for (const [what, text] of Object.entries(cases)) {
    assert.doesNotThrow(() => decodeKeyFile(text), `${what}: still well-formed`);
    const path = join(dir, `${what}.json`);
    await writeFile(path, text, { mode: 0o600 });
    await assert.rejects(
      loadKeyFile(path, { passphrase: PASSPHRASE }),
      hasCode('KEYS_BAD_PASSPHRASE'),
      what,
    );
  }
});

test('hostile or unknown encryption parameters are KEYS_BAD_FILE before any KDF runs', () => {
  const bad: Record<string, string> = {
    'n 2^30 (128 GiB)': altered((j) => {
      j.encryption.n = 2 ** 30;
    }),
    'n 2^20 with r 8 (1 GiB)': altered((j) => {
      j.encryption.n = 2 ** 20;
    }),
    'n not a power of two': altered((j) => {
      j.encryption.n = 30_000;
    }),
    'n below 2^14': altered((j) => {
      j.encryption.n = 2 ** 10;
    }),
    'n a string': altered((j) => {
      (j.encryption as unknown as Record<string, unknown>).n = '32768';
    }),
    'r 1000': altered((j) => {
      j.encryption.r = 1_000;
    }),
    'r 0': altered((j) => {
      j.encryption.r = 0;
    }),
    'p 1000': altered((j) => {
      j.encryption.p = 1_000;
    }),
    'p 16 at n 2^17 (work)': altered((j) => {
      j.encryption.n = 2 ** 17;
      j.encryption.p = 16;
    }),
    'p 1.5': altered((j) => {
      j.encryption.p = 1.5;
    }),
    'version 2': altered((j) => {
      (j.encryption as unknown as Record<string, unknown>).version = 2;
    }),
    'kdf argon2id': altered((j) => {
      (j.encryption as unknown as Record<string, unknown>).kdf = 'argon2id';
    }),
    'cipher aes-128-gcm': altered((j) => {
      (j.encryption as unknown as Record<string, unknown>).cipher = 'aes-128-gcm';
    }),
    'an unknown field': altered((j) => {
      (j.encryption as unknown as Record<string, unknown>).maxmem = 1;
    }),
    'a short salt': altered((j) => {
      j.encryption.salt = j.encryption.salt.slice(2);
    }),
    'a short nonce': altered((j) => {
      j.encryption.nonce = j.encryption.nonce.slice(2);
    }),
    'a short ciphertext': altered((j) => {
      j.encryption.ciphertext = j.encryption.ciphertext.slice(2);
    }),
    'a secretKey beside the encryption': altered((j) => {
      (j as unknown as Record<string, unknown>).secretKey = toHex(keys.secretKey);
    }),
    'encryption null': altered((j) => {
      (j as unknown as Record<string, unknown>).encryption = null;
    }),
    'encryption "aes"': altered((j) => {
      (j as unknown as Record<string, unknown>).encryption = 'aes';
    }),
    'a bad public key': altered((j) => {
      j.publicKey = 'zz';
    }),
  };
  for (const [what, text] of Object.entries(bad)) {
    assert.throws(() => decodeKeyFile(text), hasCode('KEYS_BAD_FILE'), what);
  }
});

test("a sealed secret that is not the public key's is KEYS_MISMATCH once opened", async (t) => {
  const dir = await tempDir(t, 'civitas-keyenc-');
  const other = keyPairFromSecret(new Uint8Array(32).fill(9));
  // Only a faulty writer makes this: the cipher authenticates the public key it was given.
  const mixed = (await keyFileSealer(PASSPHRASE)).seal({
    publicKey: other.publicKey,
    secretKey: keys.secretKey,
  });
  const path = join(dir, 'mixed.json');
  await writeFile(path, JSON.stringify(mixed), { mode: 0o600 });
  await assert.rejects(loadKeyFile(path, { passphrase: PASSPHRASE }), hasCode('KEYS_MISMATCH'));
});

test('a sealer runs scrypt once: its files share the salt, each has its own nonce', async () => {
  const sealer = await keyFileSealer(PASSPHRASE);
  const [a, b] = [sealer.seal(generateKeyPair()), sealer.seal(generateKeyPair())];
  assert.equal(a.encryption.salt, b.encryption.salt);
  assert.notEqual(a.encryption.nonce, b.encryption.nonce);
  assert.notEqual(sealed.encryption.salt, a.encryption.salt, 'a new sealer, a new salt');
  await assert.rejects(keyFileSealer(''), hasCode('KEYS_PASSPHRASE_EMPTY'));
});

test('plaintext files still load: the older shape and "encryption": "none"', async (t) => {
  const dir = await tempDir(t, 'civitas-keyenc-');
  const older = join(dir, 'older.json');
  const declared = join(dir, 'declared.json');
  await writeFile(older, JSON.stringify(keyFileJson(keys)), { mode: 0o600 });
  await saveKeyFile(declared, keys, { declaredPlaintext: true });
  assert.equal(JSON.parse(await readFile(declared, 'utf8')).encryption, 'none');
  for (const [path, declaredPlaintext] of [
    [older, false],
    [declared, true],
  ] as const) {
    const loaded = await readKeyFile(path);
    assert.deepEqual(loaded.keys.secretKey, keys.secretKey, path);
    assert.equal(loaded.encrypted, false);
    assert.equal(loaded.declaredPlaintext, declaredPlaintext, path);
  }
});
