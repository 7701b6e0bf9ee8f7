/**
 * Splits the pipeline's per-block times further than the pipeline itself can see, by wrapping
 * (on one Ledger instance only) the places where one stage hands over to the next:
 *
 *   - the signature check passed to validation: time in it while validateBlock runs is the
 *     last-commit certificate check (the "parent/certificate" stage, with the pipeline's own
 *     certificate check);
 *   - the state tree's node reads: the first one inside validateBlock marks the end of
 *     execution and the start of the state-tree update (execution includes the prefetch of
 *     accounts; the tree stage includes sorting the changes and loading nodes).
 *
 * A benchmark instrument only: Ledger.validateBlock has no stage hook yet (proposed in
 * docs/BENCHMARKS.md), so this is the least intrusive way to see inside it.
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

type Reader = {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
};

export class StageProbe {
  readonly totals = emptyStageTotals();
  private inValidate = false;
  private lastCommitMs = 0;
  private treeStart: number | undefined;
  private validateEnd = 0;
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
      this.treeStart = undefined;
      try {
        return await validate(block, opts);
      } finally {
        this.inValidate = false;
        this.validateEnd = performance.now();
      }
    };
    const tree = ledger.store.tree as unknown as Reader;
    const get = tree.get.bind(tree);
    const getMany = tree.getMany.bind(tree);
    const mark = () => {
      if (this.inValidate && this.treeStart === undefined) this.treeStart = performance.now();
    };
    tree.get = (key) => {
      mark();
      return get(key);
    };
    tree.getMany = (keys) => {
      mark();
      return getMany(keys);
    };
  }

  /** Adds one committed block's times (call from the pipeline's onCommitted). */
  record(times: BlockStageTimes): void {
    const stateTree = this.treeStart === undefined ? 0 : this.validateEnd - this.treeStart;
    const t = this.totals;
    t.decode += times.decodeMs;
    t.signatures += times.signatureSubmitMs + times.signatureWaitMs;
    t.txRoot += Math.max(0, times.checksMs - this.lastCommitMs);
    t.parentCertificate += this.lastCommitMs + times.certificateMs;
    t.execution += Math.max(0, times.executionMs - stateTree);
    t.stateTree += stateTree;
    t.commit += times.commitMs;
  }
}
