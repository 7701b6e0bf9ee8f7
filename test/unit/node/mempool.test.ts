/**
 * Mempool admission with the in-memory commit cache, on a real Ledger: no database read per
 * admitted tx of a known sender, and a committed tx is never proposed again — recent ones are
 * refused at admission, old successful ones by their nonce, old failed ones (which leave no
 * trace in state) when the proposer reaps.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getAccount } from '../../../src/app/bank/account.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { addressOf } from '../../../src/chain/address.ts';
import { encodeTx, type Tx, TxVerifier, txHashOfBytes } from '../../../src/chain/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { CommitCache } from '../../../src/node/commit-cache.ts';
import { Mempool } from '../../../src/node/mempool.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import {
  accountAddress,
  certify,
  DEFAULT_BALANCE,
  makeTestChain,
  type TestChain,
  transferTx,
} from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

describe('mempool with the commit cache', () => {
  let chain: TestChain;
  let ledger: Ledger;
  let cache: CommitCache;
  let mempool: Mempool;
  let nonceReads = 0;
  let indexReads = 0;

  async function commit(txs: readonly Tx[]): Promise<void> {
    const { block, executed } = await ledger.buildBlock({
      txs,
      proposer: chain.validatorKeys[0]!.publicKey,
      timestamp: ledger.tip.timestamp + 1_000,
      lastCommit: ledger.tip.certificate,
    });
    await ledger.commit(block, certify(chain, block), executed);
    cache.onCommit(block, executed);
    await mempool.onCommit(block.txs, block.txHashes);
  }

  async function refusal(tx: Tx): Promise<string> {
    try {
      await mempool.add(encodeTx(tx));
    } catch (err) {
      if (!isCivitasError(err)) throw err;
      return err.code;
    }
    return 'admitted';
  }

  before(async () => {
    chain = makeTestChain({ accounts: 3 });
    ledger = await Ledger.open(await tempDir({ after }), chain.genesis, civitasStateMachine());
    const verifier = new TxVerifier();
    // Two recent tx hashes only, so a test can push a committed tx out of the recent set.
    cache = new CommitCache(
      { maxRecentTxs: 2 },
      {
        readNonce: async (sender) => {
          nonceReads++;
          return (await getAccount(ledger, addressOf(sender))).nonce;
        },
      },
    );
    mempool = new Mempool(
      {},
      {
        chainId: chain.genesis.chainId,
        nextHeight: () => ledger.height + 1,
        accountNonce: (sender) => cache.nonceOf(sender),
        recentlyCommitted: (hex) => cache.isRecentlyCommitted(hex),
        committed: (hashes) => {
          indexReads++;
          return ledger.store.hasTxs(hashes);
        },
        verify: (txs, hashes) => verifier.verify(txs, hashes),
      },
    );
  });
  after(() => ledger.close());

  test('a sender’s nonce is read once, then follows the commits from memory', async () => {
    const to = accountAddress(chain, 2);
    await mempool.add(encodeTx(transferTx(chain, 0, to, 1n, 0)));
    assert.equal(nonceReads, 1);
    await commit((await mempool.reap(100, 1 << 20)).map((e) => e.tx));
    assert.equal(mempool.size, 0);
    // Nonce 1 is next: known without a read, although the sender has nothing queued.
    await mempool.add(encodeTx(transferTx(chain, 0, to, 1n, 1)));
    await mempool.add(encodeTx(transferTx(chain, 0, to, 1n, 2)));
    assert.equal(nonceReads, 1, 'no further nonce read');
    await commit((await mempool.reap(100, 1 << 20)).map((e) => e.tx));
    assert.equal((await getAccount(ledger, accountAddress(chain, 0))).nonce, 3);
    assert.equal(await refusal(transferTx(chain, 0, to, 1n, 2)), 'TX_ALREADY_COMMITTED');
    assert.equal(await refusal(transferTx(chain, 0, to, 5n, 2)), 'TX_NONCE_TOO_LOW');
    assert.equal(nonceReads, 1);
  });

  test('an old committed tx that succeeded is refused by its nonce', async () => {
    const first = transferTx(chain, 0, accountAddress(chain, 2), 1n, 0);
    // Three commits since: the recent set (2 hashes) no longer holds it.
    assert.equal(cache.isRecentlyCommitted(toHex(txHash(first))), false);
    assert.equal(await refusal(first), 'TX_NONCE_TOO_LOW');
  });

  test('an old committed tx that failed is admitted again, but never reaped', async () => {
    const poor = transferTx(chain, 1, accountAddress(chain, 2), DEFAULT_BALANCE + 1n, 0);
    await mempool.add(encodeTx(poor));
    await commit((await mempool.reap(100, 1 << 20)).map((e) => e.tx));
    assert.equal((await getAccount(ledger, accountAddress(chain, 1))).nonce, 0, 'failed: no nonce');
    assert.equal(await refusal(poor), 'TX_ALREADY_COMMITTED');
    // Push it out of the recent set with two more committed txs.
    const to = accountAddress(chain, 1);
    await mempool.add(encodeTx(transferTx(chain, 2, to, 1n, 0)));
    await mempool.add(encodeTx(transferTx(chain, 2, to, 1n, 1)));
    await commit((await mempool.reap(100, 1 << 20)).map((e) => e.tx));
    assert.equal(await refusal(poor), 'admitted', 'nothing in memory remembers it');
    const good = transferTx(chain, 2, to, 1n, 2);
    await mempool.add(encodeTx(good));
    const reads = indexReads;
    const reaped = await mempool.reap(100, 1 << 20);
    assert.deepEqual(
      reaped.map((e) => toHex(e.hash)),
      [toHex(txHash(good))],
      'the replay is dropped, the good tx stays',
    );
    assert.equal(indexReads - reads, 2, 'one tx-index read per reap attempt, not per tx');
    assert.equal(mempool.has(txHash(poor)), false, 'the replay left the pool');
  });
});

describe('mempool under backpressure (a backlogged node)', () => {
  let chain: TestChain;
  let mempool: Mempool;
  let ledger: Ledger;
  let verified = 0;

  after(() => ledger.close());
  before(async () => {
    chain = makeTestChain({ accounts: 2 });
    ledger = await Ledger.open(await tempDir({ after }), chain.genesis, civitasStateMachine());
    const verifier = new TxVerifier();
    mempool = new Mempool(
      {},
      {
        chainId: chain.genesis.chainId,
        nextHeight: () => ledger.height + 1,
        accountNonce: () => 0,
        recentlyCommitted: () => false,
        committed: (hashes) => ledger.store.hasTxs(hashes),
        verify: (txs, hashes) => {
          verified += txs.length;
          return verifier.verify(txs, hashes);
        },
      },
    );
  });

  async function add(from: number, nonce: number, backlogged: boolean): Promise<string> {
    const tx = transferTx(chain, from, accountAddress(chain, 1), 1n, nonce);
    try {
      await mempool.add(encodeTx(tx), { backlogged });
      return 'admitted';
    } catch (err) {
      if (!isCivitasError(err)) throw err;
      return err.code;
    }
  }

  test('new work is refused before its signature is checked; a tx filling a nonce gap is not', async () => {
    assert.equal(await add(0, 0, false), 'admitted');
    assert.equal(await add(0, 2, false), 'admitted');
    const before = verified;
    assert.equal(await add(0, 3, true), 'MEMPOOL_BUSY', 'above what the sender has queued');
    assert.equal(await add(1, 0, true), 'MEMPOOL_BUSY', 'a sender with nothing queued');
    assert.equal(verified, before, 'refused without a signature check');
    // Nonce 2 cannot be reaped until 1 is in: refusing 1 could leave the pool stuck full.
    assert.equal(await add(0, 1, true), 'admitted');
    const reaped = await mempool.reap(100, 1 << 20);
    assert.deepEqual(
      reaped.map((e) => e.tx.nonce),
      [0, 1, 2],
    );
  });
});

function txHash(tx: Tx): Uint8Array {
  return txHashOfBytes(encodeTx(tx));
}
