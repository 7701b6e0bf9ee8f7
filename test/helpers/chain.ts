/**
 * Chain fixtures for ledger, validation and execution tests: a genesis with known validator
 * and account keys, signed transfers, quorum certificates, and "commit the next block" on a
 * real Ledger (LevelDB in a temp dir).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { transferOp } from '../../src/app/bank/transfer.ts';
import {
  addressOf,
  type ChainParams,
  type CommitCertificate,
  commitVoteTime,
  DEFAULT_PARAMS,
  type Genesis,
  genesisFromJson,
  genesisToJson,
  genesisValidatorSet,
  type SealedBlock,
  signTx,
  type Tx,
  type TxOp,
  txSigningHash,
  unsignedTxV1,
  voteSigningHash,
} from '../../src/chain/index.ts';
import { fromHex, toHex } from '../../src/crypto/bytes.ts';
import {
  generateKeyPair,
  type KeyPair,
  keyPairFromSecret,
  sign,
  verifyNative,
} from '../../src/crypto/ed25519.ts';
import type { Ledger } from '../../src/state/ledger.ts';

export const GENESIS_TIME = 1_700_000_000_000;
export const DEFAULT_BALANCE = 1_000_000n;

export interface TestChain {
  readonly genesis: Genesis;
  readonly validatorKeys: readonly KeyPair[];
  readonly accountKeys: readonly KeyPair[];
}

export function makeTestChain(
  opts: {
    validators?: number;
    accounts?: number;
    balance?: bigint;
    chainId?: string;
    params?: Partial<ChainParams>;
  } = {},
): TestChain {
  const validatorKeys = Array.from({ length: opts.validators ?? 1 }, () => generateKeyPair());
  const accountKeys = Array.from({ length: opts.accounts ?? 3 }, () => generateKeyPair());
  const genesis: Genesis = {
    chainId: opts.chainId ?? 'civitas-test',
    genesisTime: GENESIS_TIME,
    validators: validatorKeys.map((k, i) => ({ name: `v${i}`, publicKey: k.publicKey })),
    accounts: accountKeys.map((k) => ({
      address: addressOf(k.publicKey),
      balance: opts.balance ?? DEFAULT_BALANCE,
    })),
    params: { ...DEFAULT_PARAMS, ...opts.params },
  };
  return { genesis, validatorKeys, accountKeys };
}

export function accountAddress(chain: TestChain, i: number): Uint8Array {
  return addressOf(chain.accountKeys[i]!.publicKey);
}

export function signedTx(
  chain: TestChain,
  from: number,
  op: Omit<TxOp, 'expectRev'>,
  nonce: number,
  opts: { expiryHeight?: number; chainId?: string } = {},
): Tx {
  return signTx(
    unsignedTxV1({
      chainId: opts.chainId ?? chain.genesis.chainId,
      sender: chain.accountKeys[from]!.publicKey,
      nonce,
      expiryHeight: opts.expiryHeight ?? 1_000_000,
      op,
    }),
    chain.accountKeys[from]!.secretKey,
  );
}

export function transferTx(
  chain: TestChain,
  from: number,
  to: Uint8Array,
  amount: bigint,
  nonce: number,
  opts: { expiryHeight?: number; chainId?: string } = {},
): Tx {
  return signedTx(chain, from, transferOp(to, amount), nonce, opts);
}

/**
 * A COMMIT certificate for `block` signed by `signers` (default: a quorum, in index order),
 * every vote timed `voteTime` (default and floor: 1 s after the block, so the next block's
 * time, the median, is too), or each signer its own entry of `voteTimes`, as given.
 */
export function certify(
  chain: TestChain,
  block: { header: { height: number; timestamp?: number }; hash: Uint8Array },
  opts: {
    signers?: number[];
    view?: number;
    chainId?: string;
    voteTime?: number;
    voteTimes?: number[];
  } = {},
): CommitCertificate {
  const quorum = genesisValidatorSet(chain.genesis).quorum;
  const signers = opts.signers ?? Array.from({ length: quorum }, (_, i) => i);
  const view = opts.view ?? 0;
  const uniform = commitVoteTime(opts.voteTime ?? 0, (block.header.timestamp ?? 0) + 999);
  return {
    height: block.header.height,
    view,
    blockHash: block.hash,
    signatures: signers.map((validatorIndex, k) => {
      const timestamp = opts.voteTimes?.[k] ?? uniform;
      const message = voteSigningHash(
        'commit',
        opts.chainId ?? chain.genesis.chainId,
        block.header.height,
        view,
        block.hash,
        timestamp,
      );
      const signature = sign(message, chain.validatorKeys[validatorIndex]!.secretKey);
      return { validatorIndex, signature, timestamp };
    }),
  };
}

/**
 * Builds block tip+1 from `txs`, certifies it with a quorum (votes timed `voteTime`, see
 * certify) and commits it.
 */
export async function commitNext(
  ledger: Ledger,
  chain: TestChain,
  txs: readonly Tx[] = [],
  voteTime?: number,
): Promise<{ block: SealedBlock; certificate: CommitCertificate }> {
  const { block, executed } = await ledger.buildBlock({
    txs,
    proposer: chain.validatorKeys[0]!.publicKey,
    lastCommit: ledger.tip.certificate,
  });
  const certificate = certify(chain, block, voteTime === undefined ? {} : { voteTime });
  await ledger.commit(block, certificate, executed);
  return { block, certificate };
}

/** Validation options using the native backend and no cache. */
export function plainValidation(now = Date.now()): {
  verifySignatures: (txs: readonly Tx[]) => Promise<boolean[]>;
  checkSignature: typeof verifyNative;
  now: number;
} {
  return {
    verifySignatures: async (txs) =>
      txs.map((tx) => {
        const message = txSigningHash(tx);
        return (
          verifyNative(tx.signature, message, tx.sender) &&
          tx.cosigners.every((key, i) => verifyNative(tx.cosignatures[i]!, message, key))
        );
      }),
    checkSignature: verifyNative,
    now,
  };
}

/** A chain fixture as a file, so a child process can rebuild the same chain and keys. */
export async function writeChainFile(path: string, chain: TestChain): Promise<void> {
  await writeFile(
    path,
    JSON.stringify({
      genesis: genesisToJson(chain.genesis),
      validatorSecrets: chain.validatorKeys.map((k) => toHex(k.secretKey)),
      accountSecrets: chain.accountKeys.map((k) => toHex(k.secretKey)),
    }),
  );
}

export async function readChainFile(path: string): Promise<TestChain> {
  const j = JSON.parse(await readFile(path, 'utf8')) as {
    genesis: unknown;
    validatorSecrets: string[];
    accountSecrets: string[];
  };
  return {
    genesis: genesisFromJson(j.genesis),
    validatorKeys: j.validatorSecrets.map((s) => keyPairFromSecret(fromHex(s, 32))),
    accountKeys: j.accountSecrets.map((s) => keyPairFromSecret(fromHex(s, 32))),
  };
}
