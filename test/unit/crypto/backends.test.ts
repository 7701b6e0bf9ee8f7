/**
 * Backend choice: which backend verifyNative and the hashes use, the CIVITAS_CRYPTO_BACKEND
 * override, what happens when libsodium cannot load, and that the client SDK never loads the
 * addon. Each case that depends on the process's start (environment, module loading) runs in
 * a child process of its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { cryptoBackends } from '../../../src/crypto/backends.ts';
import { keyPairFromSecret, nativeVerifier, sign } from '../../../src/crypto/ed25519.ts';
import { hashBackend } from '../../../src/crypto/hash.ts';
import { type NativeCryptoChoice, setNativeCrypto } from '../../../src/crypto/sodium.ts';
import { VerifyPool } from '../../../src/crypto/verify-pool.ts';
import { isCivitasError } from '../../../src/errors/index.ts';

const SRC = new URL('../../../src/', import.meta.url).href;

/** Runs an ES module script in a fresh Node; returns its last stdout line as JSON. */
function child(
  script: string,
  env: Record<string, string | undefined> = {},
): { status: number | null; stdout: string; stderr: string; result: unknown } {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) {
    if (v !== undefined) childEnv[k] = v;
  }
  const run = spawnSync(
    process.execPath,
    ['--no-warnings', '--input-type=module', '-e', script.replaceAll('SRC/', SRC)],
    { env: childEnv, encoding: 'utf8', timeout: 60_000 },
  );
  const last = run.stdout.trim().split('\n').at(-1) ?? '';
  let result: unknown;
  try {
    result = JSON.parse(last);
  } catch {
    result = undefined;
  }
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, result };
}

// Whether sodium-native's module is in the CommonJS cache: what loading the addon leaves.
const ADDON_LOADED = `
import { createRequire } from 'node:module';
const addonLoaded = () =>
  Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/sodium-native/'));
`;

const SIGNED = `
import { keyPairFromSecret, sign } from 'SRC/crypto/ed25519.ts';
const keys = keyPairFromSecret(new Uint8Array(32).fill(3));
const msg = new TextEncoder().encode('backend');
const sig = sign(msg, keys.secretKey);
`;

describe('the backend in use', () => {
  test('default: libsodium for verifyNative and short hashes, reported by cryptoBackends()', () => {
    const b = cryptoBackends();
    assert.equal(b.ed25519, 'sodium');
    assert.equal(b.sha256, 'sodium+node:crypto');
    assert.equal(b.choice, 'auto');
    assert.equal(b.sodium.loaded, true);
    assert.match(b.sodium.version ?? '', /^\d+\.\d+\.\d+$/);
    assert.equal(b.sodium.error, null);
    assert.equal(JSON.parse(JSON.stringify(b)).ed25519, 'sodium', 'JSON-safe for the bench');
  });

  test('setNativeCrypto("node") switches signatures and hashes to node:crypto, and back', () => {
    const previous = setNativeCrypto('node');
    try {
      assert.equal(nativeVerifier(), 'node:crypto');
      assert.equal(hashBackend(), 'node:crypto');
      assert.equal(cryptoBackends().choice, 'node');
    } finally {
      setNativeCrypto(previous);
    }
    assert.equal(nativeVerifier(), 'sodium');
    assert.equal(hashBackend(), 'sodium+node:crypto');
  });

  test('a choice that names no backend is a typed error and changes nothing', () => {
    assert.throws(
      () => setNativeCrypto('sodium' as NativeCryptoChoice),
      (err: unknown) => isCivitasError(err) && err.code === 'CRYPTO_BAD_BACKEND',
    );
    assert.equal(cryptoBackends().choice, 'auto');
  });

  test('CIVITAS_CRYPTO_BACKEND=node: node:crypto everywhere, the addon never loaded', () => {
    const run = child(
      `${ADDON_LOADED}${SIGNED}
      import { verifyNative } from 'SRC/crypto/ed25519.ts';
      import { taggedHash } from 'SRC/crypto/hash.ts';
      import { cryptoBackends } from 'SRC/crypto/backends.ts';
      import { VerifyPool } from 'SRC/crypto/verify-pool.ts';
      const ok = verifyNative(sig, msg, keys.publicKey);
      taggedHash('t', msg);
      const pool = VerifyPool.create({ workers: 1, mainThreadBelow: 0 });
      const pooled = await pool.verifyBatch([{ signature: sig, message: msg, publicKey: keys.publicKey }]);
      const poolBackend = pool.stats().backend;
      await pool.close();
      const b = cryptoBackends();
      console.log(JSON.stringify({ ok, pooled, poolBackend, ed25519: b.ed25519, sha256: b.sha256,
        choice: b.choice, attempted: b.sodium.attempted, addon: addonLoaded() }));`,
      { CIVITAS_CRYPTO_BACKEND: 'node' },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.result, {
      ok: true,
      pooled: [true],
      poolBackend: 'node:crypto',
      ed25519: 'node:crypto',
      sha256: 'node:crypto',
      choice: 'node',
      attempted: false,
      addon: false,
    });
  });

  test('an unknown CIVITAS_CRYPTO_BACKEND stops the process at start-up', () => {
    const run = child(`import 'SRC/crypto/ed25519.ts'; console.log('"started"');`, {
      CIVITAS_CRYPTO_BACKEND: 'openssl',
    });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /CRYPTO_BAD_BACKEND/);
    assert.equal(run.result, undefined);
  });
});

describe('libsodium cannot load', () => {
  // A resolve hook refuses sodium-native, as a platform without a prebuilt binary would.
  const BLOCKED = `
    import { registerHooks } from 'node:module';
    registerHooks({
      resolve(specifier, context, next) {
        if (specifier.startsWith('sodium-native')) throw new Error('no prebuilt binary here');
        return next(specifier, context);
      },
    });
  `;

  test('verifyNative falls back to node:crypto with the same verdicts; naming sodium fails', () => {
    const run = child(
      `${BLOCKED}
      const { keyPairFromSecret, sign, verifyNative, verifySodium, verifierOf } =
        await import('SRC/crypto/ed25519.ts');
      const { sha256With, taggedHash } = await import('SRC/crypto/hash.ts');
      const { cryptoBackends } = await import('SRC/crypto/backends.ts');
      const { VerifyPool } = await import('SRC/crypto/verify-pool.ts');
      const keys = keyPairFromSecret(new Uint8Array(32).fill(3));
      const msg = new TextEncoder().encode('backend');
      const sig = sign(msg, keys.secretKey);
      const codeOf = (f) => { try { f(); return null; } catch (e) { return e.code; } };
      const verdicts = [verifyNative(sig, msg, keys.publicKey),
        verifyNative(sig, msg.subarray(1), keys.publicKey)];
      taggedHash('t', msg);
      const pool = VerifyPool.create({ workers: 1, mainThreadBelow: 0 });
      const pooled = await pool.verifyBatch([
        { signature: sig, message: msg, publicKey: keys.publicKey },
        { signature: sig, message: msg.subarray(1), publicKey: keys.publicKey },
      ]);
      const poolBackend = pool.stats().backend;
      await pool.close();
      const b = cryptoBackends();
      console.log(JSON.stringify({ verdicts, pooled, poolBackend, ed25519: b.ed25519, sha256: b.sha256,
        loaded: b.sodium.loaded, error: b.sodium.error,
        verifySodium: codeOf(() => verifySodium(sig, msg, keys.publicKey)),
        verifierOf: codeOf(() => verifierOf('sodium')),
        sha256With: codeOf(() => sha256With('sodium', msg)),
        pool: codeOf(() => VerifyPool.create({ workers: 0, backend: 'sodium' })) }));`,
    );
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.result, {
      verdicts: [true, false],
      pooled: [true, false],
      poolBackend: 'node:crypto',
      ed25519: 'node:crypto',
      sha256: 'node:crypto',
      loaded: false,
      error: 'no prebuilt binary here',
      verifySodium: 'CRYPTO_BACKEND_UNAVAILABLE',
      verifierOf: 'CRYPTO_BACKEND_UNAVAILABLE',
      sha256With: 'CRYPTO_BACKEND_UNAVAILABLE',
      pool: 'CRYPTO_BACKEND_UNAVAILABLE',
    });
  });
});

describe('the client SDK', () => {
  test('never loads the addon; a node path does', () => {
    const run = child(
      `${ADDON_LOADED}
      import * as client from 'SRC/client/index.ts';
      import { keyPairFromSecret, sign, verifyNoble, verifyNative } from 'SRC/crypto/ed25519.ts';
      import { DomainTag, sha256, taggedHash, hashBackend } from 'SRC/crypto/hash.ts';
      // What the SDK does: keys, signing, hashing, verifying with verifyNoble.
      const keys = client.generateKeyPair();
      const msg = taggedHash(DomainTag.txSigning, new Uint8Array(200));
      sha256(msg);
      const sig = sign(msg, keys.secretKey);
      const noble = verifyNoble(sig, msg, keys.publicKey);
      const before = { addon: addonLoaded(), hash: hashBackend() };
      const native = verifyNative(sig, msg, keys.publicKey);
      const after = { addon: addonLoaded(), hash: hashBackend() };
      console.log(JSON.stringify({ noble, native, before, after }));`,
    );
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.result, {
      noble: true,
      native: true,
      before: { addon: false, hash: 'node:crypto' },
      after: { addon: true, hash: 'sodium+node:crypto' },
    });
  });
});

describe('VerifyPool backends', () => {
  const keys = keyPairFromSecret(new Uint8Array(32).fill(11));
  const items = Array.from({ length: 40 }, (_, i) => {
    const message = new Uint8Array([i, 1, 2, 3]);
    const signature = sign(message, keys.secretKey);
    if (i % 4 === 1) signature[i % 64]! ^= 1;
    return { signature, message, publicKey: keys.publicKey };
  });
  const expected = items.map((_, i) => i % 4 !== 1);

  test('default is the creating thread backend; each named backend gives the same verdicts', async () => {
    const pools = [
      VerifyPool.create({ workers: 1, mainThreadBelow: 0, chunkSize: 8 }),
      VerifyPool.create({ workers: 1, mainThreadBelow: 0, chunkSize: 8, backend: 'sodium' }),
      VerifyPool.create({ workers: 1, mainThreadBelow: 0, chunkSize: 8, backend: 'node:crypto' }),
      VerifyPool.create({ workers: 0, backend: 'node:crypto' }),
    ];
    try {
      assert.deepEqual(
        pools.map((p) => p.stats().backend),
        ['sodium', 'sodium', 'node:crypto', 'node:crypto'],
      );
      for (const pool of pools) assert.deepEqual(await pool.verifyBatch(items), expected);
      assert.ok(pools[1]!.stats().itemsOnWorkers === items.length);
      assert.ok(pools[3]!.stats().itemsOnMainThread === items.length);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  test('a backend option that names no native backend is a typed error', () => {
    for (const backend of ['noble', 'native', 'openssl']) {
      assert.throws(
        () => VerifyPool.create({ workers: 0, backend: backend as 'sodium' }),
        (err: unknown) => isCivitasError(err) && err.code === 'CRYPTO_VERIFY_POOL_BAD_OPTION',
        backend,
      );
    }
  });
});
