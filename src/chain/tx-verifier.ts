/**
 * Verifies tx signatures once per tx: a bounded cache of tx hashes already verified is shared
 * by mempool admission and block validation, so a tx gossiped, admitted and then proposed is
 * checked a single time. A tx is valid only if its sender's signature and every cosignature
 * verify. The tx hash covers all of them, so a cached hash can only ever stand for the exact
 * bytes that were verified. Only successes are cached. Misses go to a batch verifier (the
 * worker pool) when one is given, one item per signature, else to the native path.
 *
 * A caller may pass a tally to learn what its own calls cost (the node keeps one per path:
 * admission, proposal, sync): txs asked about, txs the cache answered, signatures checked.
 */
import { toHex } from '../crypto/bytes.ts';
import { SIGNATURE_LENGTH, verifyNative } from '../crypto/ed25519.ts';
import { DomainTag, taggedHash } from '../crypto/hash.ts';
import { type Tx, txSigningHash, type UnsignedTx } from './tx.ts';

/**
 * txSigningHash from a tx's canonical encoding, without re-encoding it: the signed encoding
 * is the unsigned one followed by the sender's signature and one per cosigner (tx.ts), so the
 * signed-over bytes are all but the last 64 × (1 + cosigners). The encoding alone does not say
 * how many cosigners a v2 tx has, so `tx` is the decoded tx. Only valid for the exact bytes of
 * `tx` (strictly decoded or encoded).
 */
export function txSigningHashOfEncoded(
  encoded: Uint8Array,
  tx: Pick<UnsignedTx, 'cosigners'>,
): Uint8Array {
  const signaturesLength = SIGNATURE_LENGTH * (1 + tx.cosigners.length);
  return taggedHash(DomainTag.txSigning, encoded.subarray(0, encoded.length - signaturesLength));
}

export interface SignatureItem {
  readonly signature: Uint8Array;
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface BatchSignatureVerifier {
  verifyBatch(items: readonly SignatureItem[]): Promise<boolean[]>;
}

/** What calls to `TxVerifier.verify` cost, added up by the caller that passes it. */
export interface VerifyTally {
  /** Txs asked about. */
  txs: number;
  /** Txs answered from the verified-tx cache (no signature checked). */
  cacheHits: number;
  /** Signatures checked: a sender's and one per cosigner, of each tx not in the cache. */
  signatures: number;
  /** Txs found invalid (a signature failed, or the tx lacks cosignatures). */
  invalid: number;
}

export function emptyVerifyTally(): VerifyTally {
  return { txs: 0, cacheHits: 0, signatures: 0, invalid: 0 };
}

export class TxVerifier {
  private readonly verified = new Set<string>();
  private readonly maxEntries: number;
  private readonly batch: BatchSignatureVerifier | undefined;
  hits = 0;
  misses = 0;
  /** Signatures checked since creation (every caller). */
  signatures = 0;

  constructor(opts: { maxEntries?: number; batch?: BatchSignatureVerifier } = {}) {
    this.maxEntries = opts.maxEntries ?? 200_000;
    this.batch = opts.batch;
  }

  /**
   * `encodedTxs`, when given, must be the canonical encodings of `txs` (a SealedBlock's
   * encodedTxs): the signing hashes are then taken from them rather than re-encoded.
   * `tally`, when given, is added what this call cost.
   */
  async verify(
    txs: readonly Tx[],
    txHashes: readonly Uint8Array[],
    encodedTxs?: readonly Uint8Array[],
    tally?: VerifyTally,
  ): Promise<boolean[]> {
    const verdicts = new Array<boolean>(txs.length);
    const todo: number[] = [];
    const keys = txHashes.map((h) => toHex(h));
    for (let i = 0; i < txs.length; i++) {
      if (this.verified.has(keys[i]!)) {
        verdicts[i] = true;
        this.hits++;
      } else {
        todo.push(i);
      }
    }
    this.misses += todo.length;
    if (tally !== undefined) {
      tally.txs += txs.length;
      tally.cacheHits += txs.length - todo.length;
    }
    if (todo.length > 0) {
      // The items of todo[k] are items[first[k]] .. items[first[k + 1] - 1]: the sender's
      // signature, then one per cosigner.
      const items: SignatureItem[] = [];
      const first: number[] = [];
      for (const i of todo) {
        const tx = txs[i]!;
        first.push(items.length);
        // A tx object not from the codec may lack cosignatures: it cannot be valid.
        if (tx.cosignatures.length !== tx.cosigners.length) continue;
        const message =
          encodedTxs !== undefined ? txSigningHashOfEncoded(encodedTxs[i]!, tx) : txSigningHash(tx);
        items.push({ signature: tx.signature, message, publicKey: tx.sender });
        for (let c = 0; c < tx.cosigners.length; c++) {
          items.push({ signature: tx.cosignatures[c]!, message, publicKey: tx.cosigners[c]! });
        }
      }
      first.push(items.length);
      this.signatures += items.length;
      if (tally !== undefined) tally.signatures += items.length;
      const results =
        this.batch !== undefined
          ? await this.batch.verifyBatch(items)
          : items.map((it) => verifyNative(it.signature, it.message, it.publicKey));
      todo.forEach((i, k) => {
        const from = first[k]!;
        const to = first[k + 1]!;
        let valid = to > from;
        for (let j = from; valid && j < to; j++) valid = results[j] === true;
        verdicts[i] = valid;
        if (valid) this.remember(keys[i]!);
        else if (tally !== undefined) tally.invalid++;
      });
    }
    return verdicts;
  }

  /** Tx hashes remembered as verified. */
  get cached(): number {
    return this.verified.size;
  }

  private remember(key: string): void {
    if (this.verified.size >= this.maxEntries)
      this.verified.delete(this.verified.values().next().value!);
    this.verified.add(key);
  }
}
