/**
 * The single-process validation ceiling, measured in the same run as the cluster so the two
 * numbers come from the same machine in the same state. Preferred: the block-validation
 * benchmark (bench/validate.ts: full validation + commit of signed transfer blocks through
 * the BlockPipeline with the verify worker pool, in the harness process) on a small chain of
 * the kind the cluster runs (the permissioned consortium genesis, or the open one with
 * --open) at the cluster's block size. If it fails, the fallback is the native verify rate of
 * one thread × cores, which is the upper bound the design names (DESIGN.md, "Performance
 * model"): it leaves out decode, execution and storage, so the cluster looks less efficient
 * against it.
 */
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { nativeVerifier, verifyNative } from '../../src/crypto/ed25519.ts';
import { type Ceiling, runValidateBench } from '../validate.ts';
import type { ChainKind } from '../workloads.ts';

export interface ValidationCeiling {
  /** 'validate-bench': bench/validate.ts pipeline throughput; 'verify-rate': verifyNative × cores. */
  readonly method: 'validate-bench' | 'verify-rate';
  /** Single-process validation throughput, tx/s (the figure the cluster is compared with). */
  readonly txPerSec: number;
  /** The ed25519 backend the validation (or the verify rate) ran on. */
  readonly verifyBackend: string;
  /** verifyNative per second on one thread, on that backend. */
  readonly verifyPerSecPerCore: number;
  /** verifyPerSecPerCore × cores. */
  readonly verifyCeilingTxPerSec: number;
  /**
   * Every signature ceiling bench/validate.ts measured in the same minutes (libsodium where
   * its addon loads, and node:crypto): verify/s on one thread × cores, and the validation
   * tx/s as a ratio to each. Empty for 'verify-rate'.
   */
  readonly signatureCeilings: readonly Ceiling[];
  readonly cores: number;
  readonly txs: number;
  readonly blockSize: number;
  /** The genesis the validated chain had (null for 'verify-rate'). */
  readonly chain: ChainKind | null;
  readonly seconds: number;
  readonly note: string;
}

/** Single-thread verifyNative rate over `seconds`. */
export function measureVerifyNativeRate(seconds: number): number {
  const items = Array.from({ length: 256 }, (_, i) => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const message = new Uint8Array(32).fill(i);
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    return {
      signature: new Uint8Array(nodeSign(null, message, privateKey)),
      message,
      publicKey: new Uint8Array(spki.subarray(spki.length - 32)),
    };
  });
  for (const it of items) verifyNative(it.signature, it.message, it.publicKey);
  let done = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    for (let k = 0; k < 64; k++) {
      const it = items[(done + k) % items.length]!;
      verifyNative(it.signature, it.message, it.publicKey);
    }
    done += 64;
  }
  return done / ((performance.now() - start) / 1000);
}

export async function measureValidationCeiling(opts: {
  txs: number;
  blockSize: number;
  /** The chain the cluster runs, so both sides validate the same work. */
  chain: ChainKind;
  progress?: (line: string) => void;
}): Promise<ValidationCeiling> {
  const cores = availableParallelism();
  try {
    opts.progress?.(`validation ceiling: bench/validate.ts on ${opts.txs} txs (${opts.chain})`);
    const report = await runValidateBench({
      txs: opts.txs,
      blockSizes: [Math.min(opts.blockSize, opts.txs)],
      chain: opts.chain,
      nobleTxs: 0,
      ceilingSeconds: 1,
    });
    const run = report.runs[0]!;
    return {
      method: 'validate-bench',
      txPerSec: run.txPerSec,
      verifyBackend: run.verifyBackend,
      verifyPerSecPerCore: run.verifyPerSecPerCore,
      verifyCeilingTxPerSec: run.ceilingTxPerSec,
      signatureCeilings: run.ceilings,
      cores: run.cores,
      txs: run.txs,
      blockSize: run.blockSize,
      chain: opts.chain,
      seconds: run.seconds,
      note: `bench/validate.ts: full validation + synced commit of signed transfer blocks (${opts.chain} chain), one process with its verify worker pool`,
    };
  } catch (err) {
    opts.progress?.(
      `validation ceiling: bench/validate.ts unavailable (${(err as Error).message}); using verifyNative × cores`,
    );
    const rate = measureVerifyNativeRate(1);
    return {
      method: 'verify-rate',
      txPerSec: rate * cores,
      verifyBackend: nativeVerifier(),
      verifyPerSecPerCore: rate,
      verifyCeilingTxPerSec: rate * cores,
      signatureCeilings: [],
      cores,
      txs: 0,
      blockSize: 0,
      chain: null,
      seconds: 1,
      note: 'bench/validate.ts was not usable; ceiling = single-thread verifyNative rate × cores (an upper bound: no decode, execution or storage)',
    };
  }
}
