/**
 * The Civitas client SDK: keys, building and signing txs, talking to a node, and verifying
 * its answers locally. `import { CivitasClient, transfer } from 'civitas/client'`.
 */
import { genesisStateRoot as appGenesisStateRoot } from '../app/genesis.ts';
import { addressOf } from '../chain/address.ts';
import { type Genesis, genesisValidatorSet } from '../chain/genesis.ts';
import { signTx, type Tx, unsignedTxV1 } from '../chain/tx.ts';
import type { KeyPair } from '../crypto/ed25519.ts';
import { clientApp } from './calls.ts';
import type { CivitasClient } from './client.ts';
import { verifyValidatorChanges } from './validator-changes.ts';
import type { TrustedChain } from './verify.ts';

export type * from '../api/types.ts';
export { accountStateKey } from '../app/bank/account.ts';
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
  type TxOpInput,
  txHash,
  type UnsignedTx,
  unsignedTx,
} from '../chain/tx.ts';
export { makeValidatorSet } from '../chain/validator-set.ts';
export { fromHex, toHex } from '../crypto/bytes.ts';
export { generateKeyPair, type KeyPair } from '../crypto/ed25519.ts';
// loadKeyFile and saveKeyFile import node:fs only when called (Node); parseKeyFile and
// keyFileJson work anywhere.
export {
  type KeyFileJson,
  keyFileJson,
  loadKeyFile,
  parseKeyFile,
  saveKeyFile,
} from '../crypto/keyfile.ts';
export { stateKeyHash } from '../state/smt/index.ts';
export {
  appModule,
  appOp,
  appOps,
  type BatchOp,
  batch,
  call,
  clientApp,
  cosign,
  parseCall,
  sign,
  type TxEnvelope,
} from './calls.ts';
export { CivitasClient, type EventStream, type EventStreamOptions } from './client.ts';
export {
  type DisclosedField,
  type Disclosure,
  type DocumentTree,
  discloseFields,
  disclosureHash,
  documentRoot,
  fieldLeaf,
  SALT_LENGTH,
  type VerifiedDocumentDisclosure,
  verifyDisclosure,
  verifyDocumentDisclosure,
} from './disclosure.ts';
export {
  type HistoryClient,
  type VerifiedHistory,
  type VerifiedHistoryEntry,
  type VerifyHistoryOptions,
  verifyHistory,
} from './history.ts';
export {
  type TrustedValidatorChanges,
  trustedSetAt,
  verifyValidatorChanges,
} from './validator-changes.ts';
export {
  type AccountProofResponse,
  type StateProofResponse,
  type TrustedChain,
  type TxProofResponse,
  type VerifiedState,
  type VerifiedTx,
  verifyAccountProof,
  verifyProvenValue,
  verifyStateProof,
  verifyTxProof,
} from './verify.ts';

import { transferOp } from '../app/bank/transfer.ts';

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

/** The state root a genesis file defines (height 0), computed locally from the file alone. */
export function genesisStateRoot(genesis: Genesis): Promise<Uint8Array> {
  return appGenesisStateRoot(clientApp(), genesis);
}

/**
 * What a client trusts when it starts from a genesis file it holds: its chain id, validator
 * set and state root, and every validator-set change since, fetched from `client` and each
 * checked against the set before it (verifyValidatorChanges).
 */
export async function trustedChainFromGenesis(
  client: CivitasClient,
  genesis: Genesis,
): Promise<TrustedChain> {
  const base = {
    chainId: genesis.chainId,
    validators: genesisValidatorSet(genesis),
    genesisStateRoot: await genesisStateRoot(genesis),
  };
  return { ...base, changes: verifyValidatorChanges(base, await client.validatorChanges()) };
}

export function senderAddress(keys: KeyPair): Uint8Array {
  return addressOf(keys.publicKey);
}
