/**
 * Validates and commits a sequence of blocks (block sync, the validation benchmark), with
 * the signature checks of the next blocks overlapping the execution and commit of the
 * current one:
 *
 *   block h     decode → [signatures] → Ledger.validateBlock → certificate → commit
 *   block h+1           decode → signatures (worker pool, via the TxVerifier) ─┐
 *   block h+2                   decode → signatures ───────────────────────────┤ overlap
 *
 * Only the signatures run ahead. Everything else is Ledger.validateBlock itself, called for
 * one block at a time on top of the committed tip, so the pipeline has exactly its rules
 * and its errors; the look-ahead only fills the TxVerifier's verified-tx cache (and keeps
 * the verdicts, so validation does not look them up again). A bad signature found ahead is
 * reported when its block's turn comes, as BLOCK_BAD_TX_SIGNATURE from validateBlock.
 *
 * Bounded: at most `lookAhead` blocks are decoded and being verified beyond the one being
 * executed, and the source is only pulled when there is room (backpressure on the peer or
 * generator behind it). The first failure stops the pipeline: blocks before it are
 * committed, nothing after it is, and the error is rethrown unchanged.
 *
 * Another committer may share the ledger (a node's consensus commits while block sync runs):
 * a block the ledger already holds at its height by the time its turn comes is skipped, not
 * an error; a different block there fails validation as any block that does not link.
 */
import {
  type CommitCertificate,
  decodeBlock,
  decodeCertificate,
  type SealedBlock,
  type SignatureCheck,
  type Tx,
  verifyCertificate,
} from '../chain/index.ts';
import { equalBytes, latin1Key } from '../crypto/bytes.ts';
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, verifyNative } from '../crypto/ed25519.ts';
import { CivitasError } from '../errors/index.ts';
import type { ExecutedBlock, Ledger } from './ledger.ts';

/** One block and the certificate that committed it, encoded (as received) or decoded. */
export interface PipelineInput {
  readonly block: Uint8Array | SealedBlock;
  readonly certificate: Uint8Array | CommitCertificate;
}

/** Main-thread time (ms) spent on one block, by stage. */
export interface BlockStageTimes {
  /** decodeBlock + decodeCertificate (0 for inputs already decoded). */
  decodeMs: number;
  /** Handing the txs to the TxVerifier (signing hashes, cache look-ups, packing). */
  signatureSubmitMs: number;
  /** Waiting at the head of the pipeline for this block's signatures to finish. */
  signatureWaitMs: number;
  /** Wall time from submitting the signatures until their verdicts (overlapped). */
  signatureWallMs: number;
  /** validateBlock up to the signature step: parent, last commit, sizes, txRoot. */
  checksMs: number;
  /**
   * validateBlock after the signature step, without the state-tree update: the tx-index
   * check, execution (account reads, transfers, receipts) and the roots compared.
   */
  executionMs: number;
  /** The state-tree update inside validateBlock (the ledger's own stage timer). */
  stateTreeMs: number;
  /** Checking the block's own commit certificate. */
  certificateMs: number;
  /** The atomic, synced commit. */
  commitMs: number;
}

export interface CommittedBlockInfo {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly txs: number;
  readonly times: BlockStageTimes;
}

export interface BlockPipelineOptions {
  /** Blocks decoded and signature-checked ahead of the one being executed; default 2. */
  lookAhead?: number;
  /** Signature check for commit certificates; default verifyNative. */
  checkSignature?: SignatureCheck;
  /** Called after each block is committed. */
  onCommitted?: (info: CommittedBlockInfo) => void;
}

export type CommitBlock = (
  block: SealedBlock,
  certificate: CommitCertificate,
  executed: ExecutedBlock,
) => Promise<void>;

/** Tx signature verdicts through a verified-tx cache (a TxVerifier, or one path of it). */
export interface PipelineTxVerifier {
  verify(
    txs: readonly Tx[],
    txHashes: readonly Uint8Array[],
    encodedTxs?: readonly Uint8Array[],
  ): Promise<boolean[]>;
}

export interface BlockPipelineModules {
  readonly ledger: Ledger;
  readonly txVerifier: PipelineTxVerifier;
  /** How a validated block is committed; default ledger.commit (the node adds its hooks). */
  readonly commit?: CommitBlock;
}

export interface PipelineResult {
  /** Blocks committed by this run. */
  readonly blocks: number;
  readonly txs: number;
  /** Blocks skipped because the ledger already held them (committed by someone else). */
  readonly skipped: number;
  /** The ledger height afterwards. */
  readonly height: number;
}

interface Prepared {
  readonly block?: SealedBlock;
  readonly certificate?: CommitCertificate;
  readonly error?: unknown;
  readonly times: BlockStageTimes;
  /** Settles (never rejects) when the look-ahead signature check is over. */
  readonly signatures: Promise<void>;
  verdicts?: boolean[];
}

const NO_SIGNATURES = Promise.resolve();
const VERIFIED_SIGNATURES_MAX = 4_096;

/**
 * Certificate signatures already verified, successes only, keyed by the exact (signature,
 * message, key) bytes: block h's certificate and block h+1's lastCommit (usually the same
 * signatures) are then verified once. Bounded; the oldest entries go first.
 */
class VerifiedSignatures {
  private readonly seen = new Set<string>();
  readonly check: SignatureCheck;

  constructor(inner: SignatureCheck) {
    this.check = (signature, message, publicKey) => {
      // Fixed-width fields make the key unambiguous; other lengths never verify anyway.
      if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBLIC_KEY_LENGTH) {
        return inner(signature, message, publicKey);
      }
      const id = latin1Key(signature) + latin1Key(publicKey) + latin1Key(message);
      if (this.seen.has(id)) return true;
      const valid = inner(signature, message, publicKey);
      if (valid) {
        if (this.seen.size >= VERIFIED_SIGNATURES_MAX) {
          this.seen.delete(this.seen.values().next().value!);
        }
        this.seen.add(id);
      }
      return valid;
    };
  }
}

function stageTimes(): BlockStageTimes {
  return {
    decodeMs: 0,
    signatureSubmitMs: 0,
    signatureWaitMs: 0,
    signatureWallMs: 0,
    checksMs: 0,
    executionMs: 0,
    stateTreeMs: 0,
    certificateMs: 0,
    commitMs: 0,
  };
}

export class BlockPipeline {
  private readonly ledger: Ledger;
  private readonly txVerifier: PipelineTxVerifier;
  private readonly commitBlock: CommitBlock;
  private readonly lookAhead: number;
  private readonly checkSignature: SignatureCheck;
  private readonly onCommitted: ((info: CommittedBlockInfo) => void) | undefined;
  private running = false;

  constructor(opts: BlockPipelineOptions, modules: BlockPipelineModules) {
    const lookAhead = opts.lookAhead ?? 2;
    if (!Number.isInteger(lookAhead) || lookAhead < 0 || lookAhead > 64) {
      throw new CivitasError('PIPELINE_BAD_OPTION', 'lookAhead must be an integer 0..64', {
        lookAhead,
      });
    }
    this.lookAhead = lookAhead;
    this.ledger = modules.ledger;
    this.txVerifier = modules.txVerifier;
    this.commitBlock =
      modules.commit ??
      ((block, certificate, executed) => this.ledger.commit(block, certificate, executed));
    this.checkSignature = new VerifiedSignatures(opts.checkSignature ?? verifyNative).check;
    this.onCommitted = opts.onCommitted;
  }

  /**
   * Validates and commits every block of `source`, in order, on top of the ledger's tip.
   * Resolves when the source is exhausted; rejects with the first error (a block's
   * validation error, a certificate error, a decode error or the source's own), after the
   * blocks before it are committed and all look-ahead work has settled.
   */
  async run(
    source: Iterable<PipelineInput> | AsyncIterable<PipelineInput>,
  ): Promise<PipelineResult> {
    if (this.running) {
      throw new CivitasError('PIPELINE_BUSY', 'this pipeline is already running');
    }
    this.running = true;
    const window: Prepared[] = [];
    let sourceDone = false;
    let stopped = false;
    // Blocks held by the run: the window plus the head while it executes.
    let headBusy = false;
    // One waiter each way: the feeder waits for room, the consumer for a block.
    let wakeFeeder: (() => void) | undefined;
    let wakeConsumer: (() => void) | undefined;
    const wakeUpFeeder = () => {
      const fn = wakeFeeder;
      wakeFeeder = undefined;
      fn?.();
    };
    const wakeUpConsumer = () => {
      const fn = wakeConsumer;
      wakeConsumer = undefined;
      fn?.();
    };
    // The block the next prepared one must follow, to skip look-ahead work on a block that
    // cannot link (validateBlock still reports it properly when its turn comes).
    let previousHash: Uint8Array | null = this.ledger.tip.hash;
    let previousHeight = this.ledger.tip.height;

    // Never rejects. Not awaited on a stop: an async source may take long to yield again,
    // and nothing new is started once `stopped` is set.
    const iterator =
      Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : (source as Iterable<PipelineInput>)[Symbol.iterator]();
    void (async () => {
      let exhausted = false;
      try {
        for (;;) {
          // Room first, then pull: the source is never read further than the window allows.
          while (window.length + (headBusy ? 1 : 0) > this.lookAhead && !stopped) {
            await new Promise<void>((resolve) => {
              wakeFeeder = resolve;
            });
          }
          if (stopped) break;
          const next = await iterator.next();
          if (next.done === true) {
            exhausted = true;
            break;
          }
          if (stopped) break;
          const prepared = this.prepare(next.value, previousHash, previousHeight + 1);
          previousHash = prepared.block?.hash ?? null;
          previousHeight++;
          window.push(prepared);
          wakeUpConsumer();
          if (prepared.error !== undefined) break;
        }
      } catch (error) {
        exhausted = true;
        if (!stopped) window.push({ error, times: stageTimes(), signatures: NO_SIGNATURES });
      } finally {
        sourceDone = true;
        wakeUpConsumer();
      }
      if (!exhausted) {
        try {
          await iterator.return?.();
        } catch {
          // The run's outcome is already decided; a source that fails to close changes nothing.
        }
      }
    })();

    let blocks = 0;
    let txs = 0;
    let skipped = 0;
    try {
      for (;;) {
        while (window.length === 0 && !sourceDone) {
          await new Promise<void>((resolve) => {
            wakeConsumer = resolve;
          });
        }
        const head = window.shift();
        if (head === undefined) break;
        headBusy = true;
        let committed: boolean;
        try {
          committed = await this.validateAndCommit(head);
        } finally {
          headBusy = false;
        }
        wakeUpFeeder();
        if (!committed) {
          skipped++;
          continue;
        }
        blocks++;
        txs += head.block!.txs.length;
      }
    } finally {
      stopped = true;
      wakeUpFeeder();
      // Look-ahead batches still in the pool must not outlive the run (the caller may close
      // the pool next).
      await Promise.all(window.map((p) => p.signatures));
      this.running = false;
    }
    return { blocks, txs, skipped, height: this.ledger.height };
  }

  /** Decodes an input and starts checking its signatures in the background. */
  private prepare(
    input: PipelineInput,
    previousHash: Uint8Array | null,
    expectedHeight: number,
  ): Prepared {
    const times = stageTimes();
    let t = performance.now();
    let block: SealedBlock;
    let certificate: CommitCertificate;
    try {
      block = input.block instanceof Uint8Array ? decodeBlock(input.block) : input.block;
      certificate =
        input.certificate instanceof Uint8Array
          ? decodeCertificate(input.certificate)
          : input.certificate;
    } catch (error) {
      return { error, times, signatures: NO_SIGNATURES };
    }
    times.decodeMs = performance.now() - t;
    // Spend pool time only on a block that can follow its predecessor.
    const linked =
      previousHash !== null &&
      block.header.height === expectedHeight &&
      equalBytes(block.header.parentHash, previousHash);
    if (!linked) return { block, certificate, times, signatures: NO_SIGNATURES };
    t = performance.now();
    const prepared: Prepared = { block, certificate, times, signatures: NO_SIGNATURES };
    const started = t;
    const txSignatures =
      block.txs.length === 0
        ? NO_SIGNATURES
        : this.txVerifier.verify(block.txs, block.txHashes, block.encodedTxs).then(
            (verdicts) => {
              prepared.verdicts = verdicts;
            },
            // A pool failure is not the block's fault: validateBlock asks again and reports it.
            () => {},
          );
    const signatures = txSignatures.then(() => {
      times.signatureWallMs = performance.now() - started;
    });
    times.signatureSubmitMs = performance.now() - t;
    return Object.assign(prepared, { signatures });
  }

  /** False when the block was skipped: the ledger already held it. */
  private async validateAndCommit(head: Prepared): Promise<boolean> {
    if (head.error !== undefined) throw head.error;
    const block = head.block!;
    const certificate = head.certificate!;
    const times = head.times;
    let t = performance.now();
    await head.signatures;
    times.signatureWaitMs = performance.now() - t;
    if (await this.alreadyCommitted(block)) return false;

    // Rule: a block is committed only with a certificate from the validator set in force at
    // its height (cheap, so before re-execution).
    t = performance.now();
    verifyCertificate(
      certificate,
      {
        chainId: this.ledger.chainId,
        height: block.header.height,
        blockHash: block.hash,
        validators: this.ledger.validatorsAt(block.header.height),
      },
      this.checkSignature,
    );
    times.certificateMs = performance.now() - t;

    t = performance.now();
    let signaturesAt = t;
    let signaturesDone = t;
    const verifySignatures = async (
      txs: readonly Tx[],
      txHashes: readonly Uint8Array[],
    ): Promise<boolean[]> => {
      signaturesAt = performance.now();
      const verdicts =
        txs === block.txs && head.verdicts !== undefined
          ? head.verdicts
          : await this.txVerifier.verify(txs, txHashes);
      signaturesDone = performance.now();
      return verdicts;
    };
    const ledgerStages = { stateTreeMs: 0 };
    const executed = await this.ledger.validateBlock(block, {
      verifySignatures,
      checkSignature: this.checkSignature,
      stages: ledgerStages,
    });
    const validated = performance.now();
    times.checksMs = signaturesAt - t;
    times.signatureWaitMs += signaturesDone - signaturesAt;
    times.stateTreeMs = ledgerStages.stateTreeMs;
    times.executionMs = validated - signaturesDone - ledgerStages.stateTreeMs;

    t = performance.now();
    await this.commitBlock(block, certificate, executed);
    times.commitMs = performance.now() - t;
    this.onCommitted?.({
      height: block.header.height,
      hash: block.hash,
      txs: block.txs.length,
      times,
    });
    return true;
  }

  /** Whether the ledger already holds this very block at its height (committed meanwhile). */
  private async alreadyCommitted(block: SealedBlock): Promise<boolean> {
    const height = block.header.height;
    if (height > this.ledger.height) return false;
    return (await this.ledger.store.getHeightOfHash(block.hash)) === height;
  }
}
