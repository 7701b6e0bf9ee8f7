/**
 * Splits the pipeline's per-block times one step further than the pipeline reports them: the
 * signature check passed to validation is wrapped (on one Ledger instance only), and time in
 * it while validateBlock runs is the last-commit certificate check, so it moves from the
 * stateless-checks stage to "parent + certificates". The state-tree stage comes from the
 * ledger's own stage timer (BlockStageTimes.stateTreeMs).
 */
import type { SignatureCheck } from '../src/chain/index.ts';
import type { BlockStageTimes } from '../src/state/block-pipeline.ts';
import type { Ledger } from '../src/state/ledger.ts';

/** Main-thread time per stage, ms (the figures the benchmark reports). */
export interface StageTotals {
  decode: number;
  signatures: number;
  txRoot: number;
  parentCertificate: number;
  execution: number;
  stateTree: number;
  commit: number;
}

export const STAGE_NAMES: ReadonlyArray<keyof StageTotals> = [
  'decode',
  'signatures',
  'txRoot',
  'parentCertificate',
  'execution',
  'stateTree',
  'commit',
];

export const STAGE_LABELS: Record<keyof StageTotals, string> = {
  decode: 'decode',
  signatures: 'signatures (submit + wait)',
  txRoot: 'txRoot + stateless checks',
  parentCertificate: 'parent + certificates',
  execution: 'execution',
  stateTree: 'state tree',
  commit: 'commit (synced batch)',
};

export function emptyStageTotals(): StageTotals {
  return {
    decode: 0,
    signatures: 0,
    txRoot: 0,
    parentCertificate: 0,
    execution: 0,
    stateTree: 0,
    commit: 0,
  };
}

export class StageProbe {
  readonly totals = emptyStageTotals();
  private inValidate = false;
  private lastCommitMs = 0;
  readonly checkSignature: SignatureCheck;

  constructor(ledger: Ledger, inner: SignatureCheck) {
    this.checkSignature = (signature, message, publicKey) => {
      if (!this.inValidate) return inner(signature, message, publicKey);
      const t = performance.now();
      try {
        return inner(signature, message, publicKey);
      } finally {
        this.lastCommitMs += performance.now() - t;
      }
    };
    const validate = ledger.validateBlock.bind(ledger);
    ledger.validateBlock = async (block, opts) => {
      this.inValidate = true;
      this.lastCommitMs = 0;
      try {
        return await validate(block, opts);
      } finally {
        this.inValidate = false;
      }
    };
  }

  /** Adds one committed block's times (call from the pipeline's onCommitted). */
  record(times: BlockStageTimes): void {
    const t = this.totals;
    t.decode += times.decodeMs;
    t.signatures += times.signatureSubmitMs + times.signatureWaitMs;
    t.txRoot += Math.max(0, times.checksMs - this.lastCommitMs);
    t.parentCertificate += this.lastCommitMs + times.certificateMs;
    t.execution += times.executionMs;
    t.stateTree += times.stateTreeMs;
    t.commit += times.commitMs;
  }
}
