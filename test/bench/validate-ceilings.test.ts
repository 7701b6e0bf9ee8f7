/**
 * `civitas bench validate` measures what the node runs and against which ceilings: its runs
 * verify through the node's own factory (src/node/verification.ts) on the sync path, on the
 * node's backend (libsodium where its addon loads); every native run reports its ratio to the
 * libsodium and the node:crypto ceilings measured in the same minutes, whichever backend the
 * node uses (CIVITAS_CRYPTO_BACKEND=node included); the noble run to its own. Tiny runs: the
 * figures' consistency is checked, never how fast.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  formatValidateReport,
  nativeCeilingBackends,
  runValidateBench,
  type ValidateBenchReport,
  type ValidateRun,
} from '../../bench/validate.ts';
import { nativeVerifier } from '../../src/crypto/ed25519.ts';
import { hashBackend } from '../../src/crypto/hash.ts';
import { sodiumStatus } from '../../src/crypto/sodium.ts';

const CLI = fileURLToPath(new URL('../../bin/civitas.js', import.meta.url));

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

/** Every ceiling of a run is consistent with the run and with the others. */
function checkCeilings(run: ValidateRun, expected: readonly string[]): void {
  assert.deepEqual(
    run.ceilings.map((c) => c.backend),
    expected,
  );
  for (const c of run.ceilings) {
    assert.ok(c.verifyPerSecPerCore > 0 && c.cpuUsPerVerify > 0, c.backend);
    assert.ok(close(c.ceilingTxPerSec, c.verifyPerSecPerCore * run.cores), c.backend);
    assert.ok(close(c.ratio, run.txPerSec / c.ceilingTxPerSec), c.backend);
    // Both CPU ratios share the process CPU of the run: they scale with one verify's CPU.
    assert.ok(
      close(c.cpuRatio / run.cpuRatio, c.cpuUsPerVerify / run.cpuUsPerTx.verify),
      c.backend,
    );
  }
  // The run's headline figures are those of its own backend's ceiling.
  const own = run.ceilings.find((c) => c.backend === run.verifyBackend);
  assert.ok(own !== undefined, `a ceiling of ${run.verifyBackend}`);
  assert.equal(own.verifyPerSecPerCore, run.verifyPerSecPerCore);
  assert.equal(own.ceilingTxPerSec, run.ceilingTxPerSec);
  assert.equal(own.ratio, run.ratio);
  assert.equal(own.cpuUsPerVerify, run.cpuUsPerTx.verify);
}

/**
 * The run verified its txs once each, on the sync path of the node's verifier; where they ran
 * is known for the node's pool (not for the noble run's injected verifier).
 */
function checkVerification(run: ValidateRun, backend: string, pool = true): void {
  assert.equal(run.verification.backend, backend);
  assert.equal(run.verification.signatures, run.txs);
  const threads = run.verification.onWorkers + run.verification.onCallingThread;
  assert.equal(threads, pool ? run.txs : 0);
}

describe('bench validate: the node path and both ceilings', () => {
  test('in process: native runs on the node backend against libsodium and node:crypto, noble against itself', {
    timeout: 120_000,
  }, async () => {
    const report = await runValidateBench({
      txs: 60,
      blockSizes: [20],
      workers: 2,
      nobleTxs: 20,
      ceilingSeconds: 0.05,
    });
    assert.deepEqual(report.crypto, {
      ed25519: nativeVerifier(),
      sha256: hashBackend(),
      sodium: sodiumStatus(),
    });
    const [native, noble] = report.runs;
    assert.equal(native!.backend, 'native');
    assert.equal(native!.verifyBackend, nativeVerifier());
    const backends = nativeCeilingBackends();
    // Where the addon loads (this machine), both ceilings; else node:crypto's alone.
    assert.deepEqual(backends, sodiumStatus().loaded ? ['sodium', 'node:crypto'] : ['node:crypto']);
    checkCeilings(native!, backends);
    checkVerification(native!, nativeVerifier());
    // 20-tx blocks are sent to the workers (the pool's threshold is 16 signatures).
    assert.equal(native!.verification.onWorkers, 60);

    assert.equal(noble!.backend, 'noble');
    assert.equal(noble!.verifyBackend, 'noble');
    checkCeilings(noble!, ['noble']);
    checkVerification(noble!, 'noble', false);

    const text = formatValidateReport(report).join('\n');
    assert.match(text, new RegExp(`crypto: ed25519 on ${nativeVerifier()} `));
    assert.match(text, /Ratio to each ceiling/);
    for (const b of backends) assert.match(text, new RegExp(`^native 20 +${b} `, 'm'));
    assert.match(text, /^noble 20 +noble /m);
  });

  test('CIVITAS_CRYPTO_BACKEND=node: the node runs on node:crypto, still measured against both', {
    timeout: 120_000,
  }, async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        CLI,
        'bench',
        'validate',
        '--txs',
        '40',
        '--block-size',
        '20',
        '--workers',
        '1',
        '--noble-txs',
        '0',
        '--json',
      ],
      { maxBuffer: 16 << 20, env: { ...process.env, CIVITAS_CRYPTO_BACKEND: 'node' } },
    );
    const report = JSON.parse(stdout) as ValidateBenchReport;
    assert.equal(report.crypto.ed25519, 'node:crypto');
    assert.equal(report.crypto.sha256, 'node:crypto');
    const [run] = report.runs;
    assert.equal(run!.verifyBackend, 'node:crypto');
    checkCeilings(run!, nativeCeilingBackends());
    checkVerification(run!, 'node:crypto');
  });
});
