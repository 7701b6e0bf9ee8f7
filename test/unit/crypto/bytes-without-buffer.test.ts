/**
 * The SDK runs in browsers, where there is no Buffer: the byte helpers and the ed25519 checks
 * then take their plain paths. A child process without Buffer must give the same answers.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fromHex, latin1Key, toHex } from '../../../src/crypto/bytes.ts';

test('toHex, fromHex, latin1Key and signature checks agree with and without Buffer', () => {
  const script = `
    delete globalThis.Buffer;
    const bytes = await import(${JSON.stringify(new URL('../../../src/crypto/bytes.ts', import.meta.url).href)});
    const ed = await import(${JSON.stringify(new URL('../../../src/crypto/ed25519.ts', import.meta.url).href)});
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const kp = ed.generateKeyPair();
    const msg = new Uint8Array(32).fill(7);
    const sig = ed.sign(msg, kp.secretKey);
    process.stdout.write(JSON.stringify({
      buffer: typeof globalThis.Buffer,
      hex: bytes.toHex(all),
      back: bytes.toHex(bytes.fromHex(bytes.toHex(all))),
      latin1: [...bytes.latin1Key(all)].map((c) => c.charCodeAt(0)),
      verifies: ed.verifyNoble(sig, msg, kp.publicKey),
      smallOrder: ed.isSmallOrderEncoding(new Uint8Array(32)),
    }));
  `;
  const out = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
  ) as Record<string, unknown>;
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(out.buffer, 'undefined');
  assert.equal(out.hex, toHex(all));
  assert.equal(out.back, toHex(fromHex(toHex(all))));
  assert.deepEqual(
    out.latin1,
    [...latin1Key(all)].map((c) => c.charCodeAt(0)),
  );
  assert.equal(out.verifies, true);
  assert.equal(out.smallOrder, true);
});
