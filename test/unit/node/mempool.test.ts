/**
 * Mempool admission with the in-memory commit cache, on a real Ledger: no database read per
 * admitted tx of a known sender, and a committed tx is never proposed again — recent ones are
 * refused at admission, old successful ones by their nonce, old failed ones (which leave no
 * trace in state) when the proposer reaps. On a permissioned chain a stranger is refused at
 * admission, and membership verdicts follow the committed blocks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getAccount } from '../../../src/app/bank/account.ts';
import { transferOp } from '../../../src/app/bank/transfer.ts';
import { civitasApp, civitasStateMachine } from '../../../src/app/index.ts';
import { addressOf } from '../../../src/chain/address.ts';
import {
  encodeTx,
  type Genesis,
  makeTx,
  type Tx,
  TxVerifier,
  txHashOfBytes,
} from '../../../src/chain/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { generateKeyPair } from '../../../src/crypto/ed25519.ts';
import { gossipVerdictOf, httpStatusOf, isCivitasError } from '../../../src/errors/index.ts';
import { AdmissionPolicy } from '../../../src/node/admission-policy.ts';
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
        senderRefusal: () => undefined,
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
        senderRefusal: () => undefined,
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

/** A mempool over a real ledger with the node's admission policy and commit cache. */
async function permissionedPool(genesis: Genesis) {
  const ledger = await Ledger.open(await tempDir({ after }), genesis, civitasStateMachine());
  const verifier = new TxVerifier();
  const counts = { valueReads: 0, verified: 0 };
  const policy = new AdmissionPolicy(
    {},
    {
      readValue: (key) => {
        counts.valueReads++;
        return ledger.getValue(key);
      },
    },
  );
  const cache = new CommitCache(
    {},
    { readNonce: async (sender) => (await getAccount(ledger, addressOf(sender))).nonce },
  );
  const mempool = new Mempool(
    {},
    {
      chainId: genesis.chainId,
      nextHeight: () => ledger.height + 1,
      accountNonce: (sender) => cache.nonceOf(sender),
      recentlyCommitted: (hex) => cache.isRecentlyCommitted(hex),
      committed: (hashes) => ledger.store.hasTxs(hashes),
      verify: (txs, hashes) => {
        counts.verified += txs.length;
        return verifier.verify(txs, hashes);
      },
      senderRefusal: (sender, hex) => policy.check(sender, hex),
    },
  );
  /** Commits the pool's txs as the next block, as the node's commit path does; receipt codes. */
  const commitPool = async (chain: TestChain): Promise<string[]> => {
    const txs = (await mempool.reap(100, 1 << 20)).map((e) => e.tx);
    const { block, executed } = await ledger.buildBlock({
      txs,
      proposer: chain.validatorKeys[0]!.publicKey,
      lastCommit: ledger.tip.certificate,
    });
    await ledger.commit(block, certify(chain, block), executed);
    cache.onCommit(block, executed);
    policy.onCommit(executed);
    await mempool.onCommit(block.txs, block.txHashes);
    return executed.receipts.map((r) => r.code);
  };
  after(() => ledger.close());
  return { ledger, policy, mempool, counts, commitPool };
}

/** Account 0 administers acme, account 1 is its member, accounts 2 and 3 are strangers. */
function consortium(permissioned: boolean): TestChain {
  const chain = makeTestChain({ accounts: 4 });
  const hex = (i: number) => toHex(accountAddress(chain, i));
  const genesis: Genesis = {
    ...chain.genesis,
    app: {
      params: { permissioned },
      org: [{ id: 'acme', name: 'Acme', admins: [hex(0)], members: [{ account: hex(1) }] }],
    },
  };
  return { ...chain, genesis };
}

function opTx(
  chain: TestChain,
  from: number,
  module: string,
  method: string,
  args: unknown,
  nonce: number,
  cosigners: number[] = [],
): Tx {
  const impl = civitasApp().method(module, method)!;
  return makeTx(
    {
      chainId: chain.genesis.chainId,
      sender: chain.accountKeys[from]!.publicKey,
      nonce,
      expiryHeight: 1_000_000,
      ops: [{ module, method, args: impl.args.encode(impl.args.fromJson(args)) }],
      cosigners: cosigners.map((i) => chain.accountKeys[i]!.publicKey),
    },
    chain.accountKeys[from]!.secretKey,
    cosigners.map((i) => chain.accountKeys[i]!.secretKey),
  );
}

async function admission(mempool: Mempool, tx: Tx): Promise<string> {
  try {
    await mempool.add(encodeTx(tx));
    return 'admitted';
  } catch (err) {
    if (!isCivitasError(err)) throw err;
    return err.code;
  }
}

describe('mempool on a permissioned chain: only members are admitted', () => {
  test('a stranger is refused with ORG_NOT_A_MEMBER (403, gossip ignore) before its signature is checked; members are admitted', async () => {
    const chain = consortium(true);
    const { mempool, counts } = await permissionedPool(chain.genesis);
    const to = accountAddress(chain, 3);
    assert.equal(await admission(mempool, transferTx(chain, 2, to, 1n, 0)), 'ORG_NOT_A_MEMBER');
    assert.equal(counts.verified, 0, 'refused before the signature check');
    assert.equal(mempool.size, 0);
    assert.equal(httpStatusOf('ORG_NOT_A_MEMBER'), 403);
    assert.equal(gossipVerdictOf('ORG_NOT_A_MEMBER'), 'ignore', 'a peer relaying it did no wrong');
    assert.equal(await admission(mempool, transferTx(chain, 0, to, 1n, 0)), 'admitted', 'admin');
    assert.equal(await admission(mempool, transferTx(chain, 1, to, 1n, 0)), 'admitted', 'member');
    try {
      await mempool.add(encodeTx(transferTx(chain, 3, to, 1n, 0)));
      assert.fail('admitted a stranger');
    } catch (err) {
      assert.ok(isCivitasError(err, 'ORG_NOT_A_MEMBER'));
      assert.match(err.message, new RegExp(toHex(to)), 'the message names the sender');
    }
  });

  test('verdicts come from memory: a sender is read once, and blocks that leave membership alone keep it', async () => {
    const chain = consortium(true);
    const { mempool, counts, commitPool } = await permissionedPool(chain.genesis);
    const to = accountAddress(chain, 3);
    await mempool.add(encodeTx(transferTx(chain, 1, to, 1n, 0)));
    const reads = counts.valueReads;
    assert.ok(reads > 0, 'the first tx of a sender reads its membership');
    await mempool.add(encodeTx(transferTx(chain, 1, to, 1n, 1)));
    assert.equal(await admission(mempool, transferTx(chain, 2, to, 1n, 0)), 'ORG_NOT_A_MEMBER');
    const afterStranger = counts.valueReads;
    assert.equal(await admission(mempool, transferTx(chain, 2, to, 1n, 1)), 'ORG_NOT_A_MEMBER');
    assert.deepEqual(await commitPool(chain), ['OK', 'OK']);
    await mempool.add(encodeTx(transferTx(chain, 1, to, 1n, 2)));
    assert.equal(await admission(mempool, transferTx(chain, 2, to, 1n, 2)), 'ORG_NOT_A_MEMBER');
    assert.equal(
      counts.valueReads,
      afterStranger,
      'no read: the transfers wrote no membership key',
    );
  });

  test('a member added by a committed block is admitted from the next tx on; a removed one is refused', async () => {
    const chain = consortium(true);
    const { mempool, commitPool } = await permissionedPool(chain.genesis);
    const to = accountAddress(chain, 3);
    const newcomer = toHex(accountAddress(chain, 2));
    assert.equal(await admission(mempool, transferTx(chain, 2, to, 1n, 0)), 'ORG_NOT_A_MEMBER');
    // The joining account consents by cosigning.
    await mempool.add(encodeTx(opTx(chain, 0, 'org', 'addMember', { account: newcomer }, 0, [2])));
    assert.equal(
      await admission(mempool, transferTx(chain, 2, to, 1n, 0)),
      'ORG_NOT_A_MEMBER',
      'not before the block commits',
    );
    assert.deepEqual(await commitPool(chain), ['OK'], 'addMember');
    assert.equal(await admission(mempool, transferTx(chain, 2, to, 1n, 0)), 'admitted');
    assert.equal(await admission(mempool, transferTx(chain, 1, to, 1n, 0)), 'admitted');
    await mempool.add(
      encodeTx(
        opTx(chain, 0, 'org', 'removeMember', { account: toHex(accountAddress(chain, 1)) }, 1),
      ),
    );
    // Reaped in arrival order: both transfers run before the removal.
    assert.deepEqual(await commitPool(chain), ['OK', 'OK', 'OK']);
    assert.equal(await admission(mempool, transferTx(chain, 1, to, 1n, 1)), 'ORG_NOT_A_MEMBER');
    assert.equal(await admission(mempool, transferTx(chain, 2, to, 1n, 1)), 'admitted');
  });

  test('on an open chain anyone is admitted, organisations or not', async () => {
    for (const chain of [consortium(false), makeTestChain({ accounts: 4 })]) {
      const { mempool, policy } = await permissionedPool(chain.genesis);
      const to = accountAddress(chain, 0);
      assert.equal(await admission(mempool, transferTx(chain, 2, to, 1n, 0)), 'admitted');
      const outsider = generateKeyPair();
      const unfunded = makeTx(
        {
          chainId: chain.genesis.chainId,
          sender: outsider.publicKey,
          nonce: 0,
          expiryHeight: 1_000_000,
          ops: [transferOp(to, 1n)],
        },
        outsider.secretKey,
      );
      assert.equal(await admission(mempool, unfunded), 'admitted', 'not even an account needed');
      assert.equal(policy.size, 2);
    }
  });
});

function txHash(tx: Tx): Uint8Array {
  return txHashOfBytes(encodeTx(tx));
}
