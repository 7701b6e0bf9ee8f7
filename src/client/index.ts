/**
 * The Civitas client SDK: keys, building and signing txs, talking to a node, and verifying
 * its answers locally. `import { CivitasClient, transfer } from 'civitas/client'`.
 */
import { addressOf } from '../chain/address.ts';
import { signTx, type Tx, unsignedTxV1 } from '../chain/tx.ts';
import type { KeyPair } from '../crypto/ed25519.ts';
import { transferOp } from '../state/accounts.ts';

export type * from '../api/types.ts';
export { addressOf, formatAddress, parseAddress } from '../chain/address.ts';
export { genesisFromJson, genesisValidatorSet } from '../chain/genesis.ts';
export {
  assembleTx,
  cosignTx,
  decodeTx,
  decodeUnsignedTx,
  encodeTx,
  encodeUnsignedTx,
  makeTx,
  signTx,
  type Tx,
  type TxOp,
  txHash,
  type UnsignedTx,
  unsignedTx,
} from '../chain/tx.ts';
export { makeValidatorSet } from '../chain/validator-set.ts';
export { fromHex, toHex } from '../crypto/bytes.ts';
export { generateKeyPair, type KeyPair } from '../crypto/ed25519.ts';
export { loadKeyFile, saveKeyFile } from '../crypto/keyfile.ts';
export { accountStateKey } from '../state/accounts.ts';
export { genesisStateRoot } from '../state/genesis-state.ts';
export { stateKeyHash } from '../state/smt/index.ts';
export { CivitasClient } from './client.ts';
export {
  type AccountProofResponse,
  type TxProofResponse,
  type VerifiedTx,
  verifyAccountProof,
  verifyTxProof,
} from './verify.ts';

/** How long a tx stays valid by default: this many blocks past the current height. */
export const DEFAULT_EXPIRY_BLOCKS = 1_000;

/** Builds and signs a bank transfer: a v1 tx, byte for byte what it was before v2. */
export function transfer(opts: {
  chainId: string;
  keys: KeyPair;
  to: Uint8Array;
  amount: bigint;
  nonce: number;
  expiryHeight: number;
}): Tx {
  return signTx(
    unsignedTxV1({
      chainId: opts.chainId,
      sender: opts.keys.publicKey,
      nonce: opts.nonce,
      expiryHeight: opts.expiryHeight,
      op: transferOp(opts.to, opts.amount),
    }),
    opts.keys.secretKey,
  );
}

export function senderAddress(keys: KeyPair): Uint8Array {
  return addressOf(keys.publicKey);
}
