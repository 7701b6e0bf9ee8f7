/**
 * Builds a chain of signed transfer blocks for the validation benchmark (and the pipeline
 * tests): a genesis with validators and funded senders, blocks produced by a real Ledger in a
 * temp dir (so every root is what validation must recompute), each with a quorum COMMIT
 * certificate. Only the encoded blocks and certificates are kept, so a long chain costs its
 * wire size in memory, and the validator under test starts from bytes, as block sync does.
 *
 * Signing 100k txs with @noble/curves (~1.4k/s) would dominate a run, so txs are signed with
 * node:crypto (OpenSSL). Ed25519 signing is deterministic (RFC 8032), so both produce the same
 * bytes; `assertSameSignatures` checks that on a sample before anything is built.
 *
 * Load shape: one sender per `txsPerSender` txs (default 10); tx i is sent by sender
 * i mod S with nonce ⌊i / S⌋, so each block has many distinct senders and nonces follow in
 * order; recipients are drawn (seeded) from the same accounts, amounts 1..1000. What each tx
 * does and the genesis it runs on follow the workload (bench/workloads.ts): transfers on the
 * open chain by default, asset records and mixes on the devnet's permissioned consortium.
 * Every tx must succeed: a failed receipt aborts the generation with the receipt's code.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign as nodeSign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { transferOp } from '../src/app/bank/transfer.ts';
import { civitasStateMachine } from '../src/app/index.ts';
import {
  addressOf,
  assembleTx,
  type ChainParams,
  type CommitCertificate,
  DEFAULT_PARAMS,
  encodeCertificate,
  type Genesis,
  genesisValidatorSet,
  Limits,
  type SealedBlock,
  type Tx,
  txSigningHash,
  type UnsignedTx,
  unsignedTx,
  unsignedTxV1,
  voteSigningHash,
} from '../src/chain/index.ts';
import { equalBytes } from '../src/crypto/bytes.ts';
import { sign as nobleSign } from '../src/crypto/ed25519.ts';
import { Ledger } from '../src/state/ledger.ts';
import { readSnapshotManifest } from '../src/state/snapshot-store.ts';
import {
  assertReceiptsOk,
  type ChainKind,
  type ConsortiumKeys,
  chainKindFor,
  consortiumApp,
  consortiumOrgCount,
  emptyMix,
  OpBuilder,
  type TxMix,
  txKindOf,
  type WorkloadName,
} from './workloads.ts';

export interface ChainSpec {
  /** Total txs over the whole chain. */
  readonly txs: number;
  /** Txs per block (the last block may hold fewer). */
  readonly blockSize: number;
  /** One sender per this many txs; default 10. */
  readonly txsPerSender?: number;
  /** Validators in genesis (certificates carry a quorum of them); default 4. */
  readonly validators?: number;
  /** Seed for recipients and amounts; default 1. */
  readonly seed?: number;
  readonly chainId?: string;
  /** What the txs do; default 'transfers'. */
  readonly workload?: WorkloadName;
  /** The genesis: default open for transfers, the consortium otherwise (bench/workloads.ts). */
  readonly chain?: ChainKind;
  /** Each sender's genesis balance; default 10^15. */
  readonly senderBalance?: bigint;
  /** Called after each produced block. */
  readonly onBlock?: (height: number, blocks: number) => void;
  /** The validators' signing seeds (32 bytes each); default deterministic bench keys. */
  readonly validatorSeeds?: readonly Uint8Array[];
  /** Chain parameters over the generator's (e.g. maxTxLifetime). */
  readonly params?: Partial<ChainParams>;
  /** Each tx expires this many heights above its block; default never (height 10^9). */
  readonly txLifetime?: number;
  /** Produce the chain in this (empty) directory and keep it; default a temp dir, removed. */
  readonly dir?: string;
  /** Return the encoded blocks (default true); false for a chain only kept in `dir`. */
  readonly keepBlocks?: boolean;
  /** After the last block, take a state snapshot of the tip into the store (needs `dir`). */
  readonly snapshotAtTip?: boolean;
}

export interface EncodedChainBlock {
  readonly block: Uint8Array;
  readonly certificate: Uint8Array;
}

export interface SignerKey {
  readonly publicKey: Uint8Array;
  readonly seed: Uint8Array;
  readonly privateKey: KeyObject;
}

export interface GeneratedChain {
  readonly genesis: Genesis;
  readonly blocks: readonly EncodedChainBlock[];
  readonly txCount: number;
  readonly senders: number;
  readonly workload: WorkloadName;
  readonly chain: ChainKind;
  /** Txs of each kind (transfer, record, 2-op batch). */
  readonly mix: TxMix;
  readonly validatorKeys: readonly SignerKey[];
  /** Bytes of all encoded blocks. */
  readonly chainBytes: number;
  /** The snapshot of the tip (`snapshotAtTip`). */
  readonly snapshot?: TipSnapshot;
}

/** A snapshot taken the way a node takes it (Snapshotter), alone on the event loop. */
export interface TipSnapshot {
  readonly height: number;
  readonly chunks: number;
  readonly bytes: number;
  readonly ms: number;
  /** The longest the event loop waited while it ran (what a node's commits would wait). */
  readonly maxEventLoopDelayMs: number;
}

const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

/** A deterministic key from (domain, index): reproducible chains without key files. */
export function benchKey(domain: number, index: number): SignerKey {
  const seed = new Uint8Array(32);
  const view = new DataView(seed.buffer);
  view.setUint32(0, 0x63697669); // "civi"
  view.setUint32(4, domain);
  view.setUint32(8, index);
  return signerKey(seed);
}

/** The signer of a 32-byte ed25519 seed. */
export function signerKey(seed: Uint8Array): SignerKey {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { publicKey: new Uint8Array(spki.subarray(spki.length - 32)), seed, privateKey };
}

export function signFast(message: Uint8Array, key: SignerKey): Uint8Array {
  return new Uint8Array(nodeSign(null, message, key.privateKey));
}

/** OpenSSL and @noble/curves must produce identical (deterministic) signatures. */
export function assertSameSignatures(keys: readonly SignerKey[], samples = 8): void {
  for (let i = 0; i < samples; i++) {
    const key = keys[i % keys.length]!;
    const message = new Uint8Array(32).fill(i);
    if (!equalBytes(signFast(message, key), nobleSign(message, key.seed))) {
      throw new Error('node:crypto and @noble/curves ed25519 signatures differ');
    }
  }
}

/** Small, fast, seeded PRNG (mulberry32): the same seed gives the same chain. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function certifyFast(
  genesis: Genesis,
  validatorKeys: readonly SignerKey[],
  block: SealedBlock,
  view = 0,
): CommitCertificate {
  const quorum = genesisValidatorSet(genesis).quorum;
  // Votes 1 ms after the block: the next block's time (their median) moves 1 ms per block.
  const timestamp = block.header.timestamp + 1;
  const message = voteSigningHash(
    'commit',
    genesis.chainId,
    block.header.height,
    view,
    block.hash,
    timestamp,
  );
  return {
    height: block.header.height,
    view,
    blockHash: block.hash,
    signatures: Array.from({ length: quorum }, (_, i) => ({
      validatorIndex: i,
      signature: signFast(message, validatorKeys[i]!),
      timestamp,
    })),
  };
}

export function benchGenesis(
  chainId: string,
  validatorKeys: readonly SignerKey[],
  senderKeys: readonly SignerKey[],
  blockSize: number,
  opts: { consortium?: ConsortiumKeys; senderBalance?: bigint; params?: Partial<ChainParams> } = {},
): Genesis {
  const balance = opts.senderBalance ?? 10n ** 15n;
  const consortium = opts.consortium;
  const funded = [
    ...senderKeys.map((k) => ({ address: addressOf(k.publicKey), balance })),
    // The devnet funds its admins and regulator too.
    ...(consortium === undefined ? [] : [...consortium.admins, consortium.regulator]).map(
      (key) => ({ address: addressOf(key), balance: 10n ** 15n }),
    ),
  ];
  return {
    chainId,
    // Far enough back that every block timestamp (genesis + height ms) is in the past.
    genesisTime: Date.now() - 24 * 3600_000,
    validators: validatorKeys.map((k, i) => ({ name: `v${i}`, publicKey: k.publicKey })),
    accounts: funded,
    params: {
      ...DEFAULT_PARAMS,
      maxBlockTxs: Math.max(DEFAULT_PARAMS.maxBlockTxs, Math.min(blockSize, Limits.blockTxs)),
      maxBlockBytes: Limits.blockBytes,
      ...opts.params,
    },
    ...(consortium === undefined
      ? {}
      : {
          app: consortiumApp(
            validatorKeys.length,
            senderKeys.map((k) => k.publicKey),
            consortium,
          ),
        }),
  };
}

/**
 * Produces the chain on a scratch Ledger (removed afterwards) and returns it encoded. The
 * validator under test replays it from genesis into its own, fresh store.
 */
export async function generateChain(spec: ChainSpec): Promise<GeneratedChain> {
  const { txs: txCount, blockSize } = spec;
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > Limits.blockTxs) {
    throw new Error(`block size must be 1..${Limits.blockTxs}`);
  }
  const workload = spec.workload ?? 'transfers';
  const chain = chainKindFor([workload], spec.chain);
  const chainId = spec.chainId ?? 'civitas-bench';
  const senders = Math.max(1, Math.ceil(txCount / (spec.txsPerSender ?? 10)));
  const validatorKeys =
    spec.validatorSeeds?.map(signerKey) ??
    Array.from({ length: spec.validators ?? 4 }, (_, i) => benchKey(1, i));
  const senderKeys = Array.from({ length: senders }, (_, i) => benchKey(2, i));
  assertSameSignatures([...validatorKeys, ...senderKeys.slice(0, 4)]);
  const addresses = senderKeys.map((k) => addressOf(k.publicKey));
  const consortium: ConsortiumKeys | undefined =
    chain === 'open'
      ? undefined
      : {
          admins: Array.from(
            { length: consortiumOrgCount(validatorKeys.length, senders) },
            (_, i) => benchKey(4, i).publicKey,
          ),
          regulator: benchKey(5, 0).publicKey,
        };
  const genesis = benchGenesis(chainId, validatorKeys, senderKeys, blockSize, {
    consortium,
    senderBalance: spec.senderBalance,
    params: spec.params,
  });
  const random = prng(spec.seed ?? 1);
  const ops = new OpBuilder();
  const mix = emptyMix();
  const transfer = () =>
    transferOp(addresses[Math.floor(random() * senders)]!, BigInt(1 + Math.floor(random() * 1000)));

  if (spec.snapshotAtTip && spec.dir === undefined) throw new Error('snapshotAtTip needs dir');
  const dir = spec.dir ?? (await mkdtemp(join(tmpdir(), 'civitas-bench-producer-')));
  const blockCount = Math.ceil(txCount / blockSize);
  const producer = await Ledger.open(
    dir,
    genesis,
    civitasStateMachine(),
    spec.snapshotAtTip ? { snapshots: { interval: blockCount, kept: 1 } } : {},
  );
  const blocks: EncodedChainBlock[] = [];
  let chainBytes = 0;
  let snapshot: TipSnapshot | undefined;
  try {
    for (let b = 0; b < blockCount; b++) {
      const first = b * blockSize;
      const last = Math.min(txCount, first + blockSize);
      const txs: Tx[] = [];
      for (let i = first; i < last; i++) {
        const s = i % senders;
        const head = {
          chainId,
          sender: senderKeys[s]!.publicKey,
          nonce: Math.floor(i / senders),
          expiryHeight: spec.txLifetime === undefined ? 1_000_000_000 : b + 1 + spec.txLifetime,
        };
        const kind = txKindOf(workload, random);
        mix[kind]++;
        // Transfers stay v1, as a client that only transfers builds them; module calls are v2.
        let unsigned: UnsignedTx;
        if (kind === 'transfer') unsigned = unsignedTxV1({ ...head, op: transfer() });
        else if (kind === 'record')
          unsigned = unsignedTx({ ...head, ops: [ops.record(s, random)] });
        else unsigned = unsignedTx({ ...head, ops: [ops.record(s, random), transfer()] });
        txs.push(assembleTx(unsigned, signFast(txSigningHash(unsigned), senderKeys[s]!)));
      }
      const { block, executed } = await producer.buildBlock({
        txs,
        proposer: validatorKeys[0]!.publicKey,
        lastCommit: producer.tip.certificate,
      });
      assertReceiptsOk(block.header.height, txs, executed.receipts);
      const certificate = certifyFast(genesis, validatorKeys, block);
      await producer.commit(block, certificate, executed);
      if (spec.keepBlocks ?? true) {
        blocks.push({ block: block.encoded, certificate: encodeCertificate(certificate) });
      }
      chainBytes += block.encoded.length;
      spec.onBlock?.(block.header.height, blockCount);
    }
    if (spec.snapshotAtTip) snapshot = await snapshotTip(producer);
  } finally {
    await producer.close();
    if (spec.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
  return {
    genesis,
    blocks,
    txCount,
    senders,
    workload,
    chain,
    mix,
    validatorKeys,
    chainBytes,
    ...(snapshot === undefined ? {} : { snapshot }),
  };
}

/**
 * Waits for the snapshot the ledger started after its last commit (its interval is the tip's
 * height), timing it and the event loop's longest wait meanwhile, and reads its manifest.
 */
async function snapshotTip(ledger: Ledger): Promise<TipSnapshot> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  await ledger.snapshotsSettled();
  const ms = performance.now() - started;
  delay.disable();
  const height = ledger.tip.height;
  const { manifest } = await readSnapshotManifest(ledger.store, height);
  return {
    height,
    chunks: manifest.chunks.length,
    bytes: manifest.chunks.reduce((sum, c) => sum + c.byteLength, 0),
    ms,
    maxEventLoopDelayMs: delay.max / 1e6,
  };
}
