/**
 * At height 0 there is no header or certificate to anchor a state proof: the client computes
 * the genesis state root from its own genesis file and checks the proof against that, so a
 * node cannot make up genesis balances either.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeAccount, proveAccount } from '../../../src/app/bank/account.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { addressOf } from '../../../src/chain/address.ts';
import { genesisValidatorSet } from '../../../src/chain/index.ts';
import {
  accountStateKey,
  genesisStateRoot,
  stateKeyHash,
  toHex,
  verifyAccountProof,
} from '../../../src/client/index.ts';
import { generateKeyPair } from '../../../src/crypto/ed25519.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { encodeStateProof } from '../../../src/state/smt/index.ts';
import { accountAddress, makeTestChain } from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

test('a height-0 account proof verifies against the genesis file, and only against it', async (t) => {
  const chain = makeTestChain({ accounts: 3, balance: 4_242n });
  const ledger = await Ledger.open(
    join(await tempDir(t), 'db'),
    chain.genesis,
    civitasStateMachine(),
  );
  t.after(() => ledger.close());
  const root = await genesisStateRoot(chain.genesis);
  assert.equal(toHex(root), toHex(ledger.tip.stateRoot), 'the client computes the ledger root');

  const answer = async (address: Uint8Array) => {
    const p = await proveAccount(ledger, address, 0);
    return {
      keyHash: p.keyHash,
      response: {
        height: 0,
        keyHash: toHex(p.keyHash),
        value: p.value === undefined ? null : toHex(p.value),
        proofBytes: toHex(encodeStateProof(p.proof)),
        headerBytes: null,
        certificateBytes: null,
      },
    };
  };
  const trusted = {
    chainId: chain.genesis.chainId,
    validators: genesisValidatorSet(chain.genesis),
    genesisStateRoot: root,
  };

  const present = await answer(accountAddress(chain, 1));
  assert.deepEqual(verifyAccountProof(present.keyHash, present.response, trusted), {
    height: 0,
    balance: 4_242n,
    nonce: 0,
    present: true,
  });
  const absentAddress = addressOf(generateKeyPair().publicKey);
  const absent = await answer(absentAddress);
  assert.equal(verifyAccountProof(absent.keyHash, absent.response, trusted).present, false);

  // A node inflating a genesis balance is caught.
  const forged = {
    ...present.response,
    value: toHex(encodeAccount({ balance: 1_000_000n, nonce: 0 })),
  };
  assert.throws(
    () => verifyAccountProof(present.keyHash, forged, trusted),
    (e: unknown) => isCivitasError(e, 'VERIFY_STATE_PROOF'),
  );
  // Without the genesis file's root there is nothing to check against.
  const { genesisStateRoot: _, ...noGenesis } = trusted;
  assert.throws(
    () => verifyAccountProof(present.keyHash, present.response, noGenesis),
    (e: unknown) => isCivitasError(e, 'VERIFY_NO_HEADER'),
  );
  // The key must be the one asked for.
  const otherKey = stateKeyHash(accountStateKey(absentAddress));
  assert.throws(
    () => verifyAccountProof(otherKey, present.response, trusted),
    (e: unknown) => isCivitasError(e, 'VERIFY_KEY'),
  );
});
