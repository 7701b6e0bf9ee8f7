/**
 * A tx is committed at most once. A failed tx changes no state, not even its sender's nonce,
 * so without the tx-index rule its signed bytes would be valid again later — and could succeed
 * once the sender can pay. A proposer must not be able to replay it, and an honest one must
 * not build such a block.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { getAccount } from '../../../src/app/bank/account.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import {
  computeTxRoot,
  encodeTx,
  lastCommitHashOf,
  sealBlock,
  txHashOfBytes,
} from '../../../src/chain/index.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import {
  accountAddress,
  commitNext,
  makeTestChain,
  plainValidation,
  transferTx,
} from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

test('a failed tx cannot be committed again, by a replaying or an honest proposer', async (t) => {
  const chain = makeTestChain({ accounts: 2, balance: 100n });
  const ledger = await Ledger.open(
    join(await tempDir(t), 'db'),
    chain.genesis,
    civitasStateMachine(),
  );
  t.after(() => ledger.close());
  const to = accountAddress(chain, 1);

  // Block 1: account 0 cannot pay 500 — the tx fails and its nonce stays 0.
  const tooBig = transferTx(chain, 0, to, 500n, 0);
  const hash = txHashOfBytes(encodeTx(tooBig));
  await commitNext(ledger, chain, [tooBig]);
  const [receipt] = await ledger.store.getReceipts(1, 1);
  assert.equal(receipt!.status, 'failed');
  assert.equal((await getAccount(ledger, accountAddress(chain, 0))).nonce, 0);

  // Block 2: account 1 funds account 0, so the same signed bytes would now succeed.
  await commitNext(ledger, chain, [transferTx(chain, 1, accountAddress(chain, 0), 90n, 0)]);

  // An honest proposer refuses to build the replay.
  await assert.rejects(
    ledger.buildBlock({
      txs: [tooBig],
      proposer: chain.validatorKeys[0]!.publicKey,
      lastCommit: ledger.tip.certificate,
    }),
    (e: unknown) => isCivitasError(e, 'BLOCK_TX_ALREADY_COMMITTED'),
  );

  // A Byzantine proposer seals it by hand, with roots from honest execution: replicas refuse.
  const tip = ledger.tip;
  const executed = await ledger.execute([tooBig], [hash], { lastCommit: tip.certificate });
  const replay = sealBlock({
    header: {
      chainId: chain.genesis.chainId,
      height: tip.height + 1,
      parentHash: tip.hash,
      timestamp: tip.timestamp + 1_000,
      proposer: chain.validatorKeys[0]!.publicKey,
      txRoot: computeTxRoot([hash]),
      receiptRoot: executed.receiptRoot,
      stateRoot: executed.stateRoot,
      validatorSetHash: ledger.validatorsAt(tip.height + 1).hash,
      nextValidatorSetHash: executed.nextValidatorSetHash,
      lastCommitHash: lastCommitHashOf(tip.certificate),
    },
    txs: [tooBig],
    lastCommit: tip.certificate,
  });
  await assert.rejects(
    ledger.validateBlock(replay, plainValidation(tip.timestamp + 1_000)),
    (e: unknown) => isCivitasError(e, 'BLOCK_TX_ALREADY_COMMITTED'),
  );

  // A fresh tx with the same nonce (new bytes) is what the sender signs instead, and succeeds.
  const retry = transferTx(chain, 0, to, 150n, 0);
  const { block } = await commitNext(ledger, chain, [retry]);
  const [ok] = await ledger.store.getReceipts(block.header.height, 1);
  assert.equal(ok!.status, 'ok');
});
