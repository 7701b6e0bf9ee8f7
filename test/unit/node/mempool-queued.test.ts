/**
 * Ready and queued txs (src/node/mempool.ts): only txs contiguous from the sender's committed
 * nonce are ready — reaped into blocks and counted toward the backlog; txs behind a nonce gap
 * are queued until the gap fills (by the missing tx arriving, or by a commit), are dropped at
 * the end of their lifetime, are held under per-sender and global caps, and are the first to
 * go when the pool is full. Most tests drive the mempool over a modelled chain (committed
 * nonces in a map, a clock the test moves) with real signatures; the gap a failed tx opens is
 * shown on a real Ledger. The last part shows that queued txs never make TxIntake refuse a
 * client's submission: the wedge of issue #11 at unit scale.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { getAccount } from '../../../src/app/bank/account.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { addressOf } from '../../../src/chain/address.ts';
import { encodeTx, type Tx, TxVerifier, txHashOfBytes } from '../../../src/chain/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { httpStatusOf, isCivitasError } from '../../../src/errors/index.ts';
import { BlockWorkGate } from '../../../src/node/block-work-gate.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/node/config.ts';
import { DEFAULT_MEMPOOL, Mempool, type MempoolOptions } from '../../../src/node/mempool.ts';
import { TxIntake, type TxIntakeModules } from '../../../src/node/tx-intake.ts';
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

const START = 1_700_000_000_000;

/** A mempool over a modelled chain: committed nonces in a map, the test's clock. */
function modelPool(opts: Partial<MempoolOptions> = {}, accounts = 8) {
  const chain = makeTestChain({ accounts });
  const nonces = new Map<string, number>();
  const clock = { now: START };
  const counts = { verified: 0 };
  let height = 1;
  const verifier = new TxVerifier();
  const mempool = new Mempool(opts, {
    chainId: chain.genesis.chainId,
    nextHeight: () => height + 1,
    accountNonce: (sender) => nonces.get(toHex(sender)) ?? 0,
    recentlyCommitted: () => false,
    committed: async (hashes) => hashes.map(() => false),
    verify: (txs, hashes) => {
      counts.verified += txs.length;
      return verifier.verify(txs, hashes);
    },
    senderRefusal: () => undefined,
    now: () => clock.now,
  });
  const tx = (from: number, nonce: number, amount = 1n): Tx =>
    transferTx(chain, from, accountAddress(chain, (from + 1) % accounts), amount, nonce);
  /** Admits a tx; 'admitted' or the refusal's code. */
  const add = async (t: Tx, backlogged = false): Promise<string> => {
    try {
      await mempool.add(encodeTx(t), { backlogged });
      return 'admitted';
    } catch (err) {
      if (!isCivitasError(err)) throw err;
      return err.code;
    }
  };
  /** A block with these txs committed (in this pool or not): each sender's nonce moves on. */
  const commit = async (txs: readonly Tx[]): Promise<void> => {
    height++;
    for (const t of txs) {
      const hex = toHex(t.sender);
      nonces.set(hex, Math.max(nonces.get(hex) ?? 0, t.nonce + 1));
    }
    await mempool.onCommit(txs, txs.map(hashOf));
  };
  /** The reaped block as `sender:nonce` labels, in block order. */
  const reaped = async (max = 1_000): Promise<string[]> =>
    (await mempool.reap(max, 1 << 20)).map((e) => label(chain, e.tx));
  return { chain, mempool, clock, counts, tx, add, commit, reaped };
}

function hashOf(tx: Tx): Uint8Array {
  return txHashOfBytes(encodeTx(tx));
}

function label(chain: TestChain, tx: Tx): string {
  const from = chain.accountKeys.findIndex((k) => toHex(k.publicKey) === toHex(tx.sender));
  return `${from}:${tx.nonce}`;
}

describe('ready and queued txs', () => {
  test('txs behind a nonce gap are queued: not reaped, not counted as ready', async () => {
    const p = modelPool();
    for (const nonce of [0, 2, 3]) assert.equal(await p.add(p.tx(0, nonce)), 'admitted');
    assert.equal(await p.add(p.tx(1, 1)), 'admitted', 'a sender whose first tx is missing');
    assert.equal(p.mempool.size, 4);
    assert.equal(p.mempool.readyCount, 1);
    assert.equal(p.mempool.queuedCount, 3);
    assert.equal(p.mempool.isQueued(hashOf(p.tx(0, 0))), false);
    assert.equal(p.mempool.isQueued(hashOf(p.tx(0, 2))), true);
    assert.equal(p.mempool.isQueued(hashOf(p.tx(1, 1))), true);
    assert.deepEqual(await p.reaped(), ['0:0']);
  });

  test('the missing tx arriving makes the txs behind it ready', async () => {
    const p = modelPool();
    for (const nonce of [3, 1, 2]) await p.add(p.tx(0, nonce));
    assert.equal(p.mempool.readyCount, 0);
    assert.equal(await p.add(p.tx(0, 0)), 'admitted');
    assert.equal(p.mempool.readyCount, 4);
    assert.equal(p.mempool.queuedCount, 0);
    assert.deepEqual(await p.reaped(), ['0:0', '0:1', '0:2', '0:3']);
  });

  test('a commit that fills the gap makes them ready (the missing tx never was here)', async () => {
    const p = modelPool();
    await p.add(p.tx(0, 2));
    await p.add(p.tx(0, 3));
    await p.add(p.tx(0, 5));
    assert.equal(p.mempool.readyCount, 0);
    // Nonces 0 and 1 reached another validator and were committed from its proposal.
    await p.commit([p.tx(0, 0), p.tx(0, 1)]);
    assert.equal(p.mempool.readyCount, 2);
    assert.equal(p.mempool.queuedCount, 1, 'nonce 5 still waits for 4');
    assert.deepEqual(await p.reaped(), ['0:2', '0:3']);
    await p.commit([p.tx(0, 2), p.tx(0, 3), p.tx(0, 4)]);
    assert.deepEqual(await p.reaped(), ['0:5']);
  });

  test('a sender’s txs are reaped only up to the gap, others’ in arrival order', async () => {
    const p = modelPool();
    await p.add(p.tx(0, 0));
    await p.add(p.tx(1, 0));
    await p.add(p.tx(0, 1));
    await p.add(p.tx(0, 3));
    await p.add(p.tx(1, 1));
    assert.deepEqual(await p.reaped(), ['0:0', '0:1', '1:0', '1:1']);
    assert.deepEqual(await p.reaped(3), ['0:0', '0:1', '1:0'], 'the block cap');
  });
});

describe('a gap that opens below ready txs', () => {
  test('a tx failing in a block leaves its nonce unused: the txs after it become queued, and ready again once the nonce is filled', async () => {
    const chain = makeTestChain({ accounts: 3 });
    const ledger = await Ledger.open(
      await tempDir({ after }),
      chain.genesis,
      civitasStateMachine(),
    );
    after(() => ledger.close());
    const verifier = new TxVerifier();
    const mempool = new Mempool(
      {},
      {
        chainId: chain.genesis.chainId,
        nextHeight: () => ledger.height + 1,
        accountNonce: async (s) => (await getAccount(ledger, addressOf(s))).nonce,
        recentlyCommitted: () => false,
        committed: (hashes) => ledger.store.hasTxs(hashes),
        verify: (txs, hashes) => verifier.verify(txs, hashes),
        senderRefusal: () => undefined,
      },
    );
    const commitReaped = async (maxTxs: number): Promise<string[]> => {
      const txs = (await mempool.reap(maxTxs, 1 << 20)).map((e) => e.tx);
      const { block, executed } = await ledger.buildBlock({
        txs,
        proposer: chain.validatorKeys[0]!.publicKey,
        lastCommit: ledger.tip.certificate,
      });
      await ledger.commit(block, certify(chain, block), executed);
      await mempool.onCommit(block.txs, block.txHashes);
      return executed.receipts.map((r) => r.code);
    };
    const to = accountAddress(chain, 2);
    const tooMuch = transferTx(chain, 0, to, DEFAULT_BALANCE + 1n, 0);
    for (const t of [tooMuch, transferTx(chain, 0, to, 1n, 1), transferTx(chain, 0, to, 1n, 2)])
      await mempool.add(encodeTx(t));
    assert.equal(mempool.readyCount, 3);
    assert.deepEqual(await commitReaped(1), ['BANK_INSUFFICIENT_FUNDS']);
    assert.equal((await getAccount(ledger, accountAddress(chain, 0))).nonce, 0, 'nonce unused');
    assert.equal(mempool.readyCount, 0, 'nonces 1 and 2 now wait behind the gap');
    assert.equal(mempool.queuedCount, 2);
    assert.deepEqual(await mempool.reap(100, 1 << 20), [], 'nothing to propose');
    await mempool.add(encodeTx(transferTx(chain, 0, to, 5n, 0)));
    assert.equal(mempool.readyCount, 3);
    assert.deepEqual(await commitReaped(100), ['OK', 'OK', 'OK']);
    assert.equal(mempool.size, 0);
    assert.equal((await getAccount(ledger, accountAddress(chain, 0))).nonce, 3);
  });

  test('a ready tx expiring by height leaves the txs after it queued', async () => {
    const p = modelPool();
    const short = transferTx(p.chain, 0, accountAddress(p.chain, 1), 1n, 0, { expiryHeight: 3 });
    await p.add(short);
    await p.add(p.tx(0, 1));
    assert.equal(p.mempool.readyCount, 2);
    await p.commit([]);
    await p.commit([]); // next height 4: the tx with expiry 3 can no longer be included
    assert.equal(p.mempool.has(hashOf(short)), false);
    assert.equal(p.mempool.readyCount, 0);
    assert.equal(p.mempool.queuedCount, 1);
  });
});

describe('queued lifetime', () => {
  test('a queued tx is dropped once it has waited queuedLifetimeMs; ready txs stay', async () => {
    const p = modelPool({ queuedLifetimeMs: 60_000 });
    await p.add(p.tx(0, 0));
    await p.add(p.tx(1, 4));
    p.clock.now += 30_000;
    await p.add(p.tx(2, 7));
    p.clock.now += 29_999;
    await p.commit([]);
    assert.equal(p.mempool.queuedCount, 2, 'not yet');
    p.clock.now += 1;
    await p.commit([]);
    assert.equal(p.mempool.has(hashOf(p.tx(1, 4))), false, 'the first queued tx expired');
    assert.equal(p.mempool.has(hashOf(p.tx(2, 7))), true, 'the later one has time left');
    assert.equal(p.mempool.has(hashOf(p.tx(0, 0))), true, 'a ready tx has no lifetime');
    assert.equal(p.mempool.expiredQueued, 1);
    // Expiry also runs on admission, with no commit in between.
    p.clock.now += 30_000;
    assert.equal(await p.add(p.tx(3, 0)), 'admitted');
    assert.equal(p.mempool.has(hashOf(p.tx(2, 7))), false);
    assert.equal(p.mempool.expiredQueued, 2);
    assert.equal(p.mempool.queuedCount, 0);
    assert.deepEqual(await p.reaped(), ['0:0', '3:0']);
  });

  test('the lifetime counts from when a tx became queued; a ready tx has none', async () => {
    const p = modelPool({ queuedLifetimeMs: 60_000 });
    await p.add(p.tx(0, 1));
    p.clock.now += 50_000;
    // Fills the gap, but can be included up to height 3 only.
    await p.add(transferTx(p.chain, 0, accountAddress(p.chain, 1), 1n, 0, { expiryHeight: 3 }));
    assert.equal(p.mempool.readyCount, 2);
    p.clock.now += 50_000;
    await p.commit([]);
    assert.equal(p.mempool.readyCount, 2, 'a ready tx does not expire, whenever it came');
    await p.commit([]); // nonce 0 expired by height: the gap reopens
    assert.equal(p.mempool.queuedCount, 1, 'nonce 1 is queued again');
    p.clock.now += 59_999;
    await p.commit([]);
    assert.equal(p.mempool.queuedCount, 1, 'its lifetime started when it was queued again');
    p.clock.now += 1;
    await p.commit([]);
    assert.equal(p.mempool.size, 0);
    assert.equal(p.mempool.expiredQueued, 1);
  });
});

describe('caps and eviction', () => {
  test('per-sender queued cap: a higher nonce is refused before its signature is checked, a lower one evicts the sender’s highest queued tx', async () => {
    const p = modelPool({ maxQueuedPerSender: 3 });
    for (const nonce of [2, 3, 4]) assert.equal(await p.add(p.tx(0, nonce)), 'admitted');
    const verified = p.counts.verified;
    assert.equal(await p.add(p.tx(0, 5)), 'MEMPOOL_SENDER_FULL');
    assert.equal(p.counts.verified, verified, 'refused before the signature check');
    assert.equal(httpStatusOf('MEMPOOL_SENDER_FULL'), 429);
    assert.equal(await p.add(p.tx(1, 3)), 'admitted', 'another sender has its own cap');
    assert.equal(await p.add(p.tx(0, 1)), 'admitted', 'nearer the committed nonce');
    assert.equal(p.mempool.has(hashOf(p.tx(0, 4))), false, 'the highest queued nonce made way');
    assert.equal(p.mempool.evictedQueued, 1);
    assert.equal(await p.add(p.tx(0, 0)), 'admitted', 'a ready tx is not held to the queued cap');
    assert.deepEqual(await p.reaped(), ['0:0', '0:1', '0:2', '0:3']);
  });

  test('per-sender cap: a ready tx evicts the sender’s highest queued tx; with none queued it is refused', async () => {
    const p = modelPool({ maxTxsPerSender: 3 });
    for (const nonce of [0, 1, 5]) await p.add(p.tx(0, nonce));
    assert.equal(await p.add(p.tx(0, 6)), 'MEMPOOL_SENDER_FULL', 'not for a higher nonce');
    assert.equal(await p.add(p.tx(0, 2)), 'admitted');
    assert.equal(p.mempool.has(hashOf(p.tx(0, 5))), false);
    assert.equal(await p.add(p.tx(0, 3)), 'MEMPOOL_SENDER_FULL', 'all three are ready');
    assert.equal(p.mempool.readyCount, 3);
  });

  test('global queued cap: a new queued tx evicts the oldest queued tx', async () => {
    const p = modelPool({ maxQueuedTxs: 3 });
    for (const from of [0, 1, 2]) await p.add(p.tx(from, 1));
    await p.add(p.tx(3, 0));
    assert.equal(await p.add(p.tx(4, 1)), 'admitted');
    assert.equal(p.mempool.has(hashOf(p.tx(0, 1))), false, 'the oldest queued tx went');
    assert.equal(p.mempool.queuedCount, 3);
    assert.equal(await p.add(p.tx(5, 0)), 'admitted', 'a ready tx evicts nothing');
    assert.equal(p.mempool.queuedCount, 3);
    assert.equal(p.mempool.size, 5);
    assert.equal(p.mempool.evictedQueued, 1);
  });

  test('a full pool evicts queued txs, oldest first, for any new tx; full of ready txs it refuses', async () => {
    const p = modelPool({ maxTxs: 4 });
    await p.add(p.tx(0, 0));
    await p.add(p.tx(1, 1)); // queued first
    await p.add(p.tx(2, 1)); // queued second
    await p.add(p.tx(3, 0));
    assert.equal(p.mempool.size, 4);
    assert.equal(await p.add(p.tx(4, 0)), 'admitted', 'a ready tx');
    assert.equal(p.mempool.has(hashOf(p.tx(1, 1))), false, 'the oldest queued tx made way');
    assert.equal(await p.add(p.tx(5, 2)), 'admitted', 'a queued tx too');
    assert.equal(p.mempool.has(hashOf(p.tx(2, 1))), false, 'the next oldest');
    assert.equal(p.mempool.has(hashOf(p.tx(5, 2))), true);
    assert.equal(await p.add(p.tx(6, 0)), 'admitted', 'the newcomer of a moment ago goes too');
    assert.equal(p.mempool.queuedCount, 0);
    assert.equal(await p.add(p.tx(7, 0)), 'MEMPOOL_FULL', 'every tx held is ready');
    assert.equal(p.mempool.evictedQueued, 3);
    assert.deepEqual(await p.reaped(), ['0:0', '3:0', '4:0', '6:0']);
  });

  test('a tx with a bad signature evicts nothing', async () => {
    const p = modelPool({ maxTxs: 2 });
    await p.add(p.tx(0, 0));
    await p.add(p.tx(1, 1));
    const good = p.tx(2, 0);
    const forged: Tx = { ...good, signature: good.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    assert.equal(await p.add(forged), 'TX_BAD_SIGNATURE');
    assert.equal(p.mempool.has(hashOf(p.tx(1, 1))), true);
    assert.equal(p.mempool.evictedQueued, 0);
  });

  test('config: the queued settings default as documented and must be positive integers', () => {
    assert.equal(DEFAULT_CONFIG.mempool.queuedLifetimeMs, DEFAULT_MEMPOOL.queuedLifetimeMs);
    assert.deepEqual(
      {
        maxQueuedTxs: DEFAULT_MEMPOOL.maxQueuedTxs,
        maxQueuedPerSender: DEFAULT_MEMPOOL.maxQueuedPerSender,
        queuedLifetimeMs: DEFAULT_MEMPOOL.queuedLifetimeMs,
      },
      { maxQueuedTxs: 10_000, maxQueuedPerSender: 256, queuedLifetimeMs: 180_000 },
    );
    const parsed = parseConfig({ mempool: { queuedLifetimeMs: 5_000, maxQueuedTxs: 7 } });
    assert.equal(parsed.mempool.queuedLifetimeMs, 5_000);
    assert.equal(parsed.mempool.maxQueuedTxs, 7);
    assert.equal(parsed.mempool.maxQueuedPerSender, 256);
    for (const field of ['maxQueuedTxs', 'maxQueuedPerSender', 'queuedLifetimeMs']) {
      for (const value of [0, -1, 1.5, '10']) {
        assert.throws(
          () => parseConfig({ mempool: { [field]: value } }),
          (err: unknown) =>
            isCivitasError(err, 'CONFIG_INVALID') && err.message.includes(`mempool.${field}`),
          `${field} = ${JSON.stringify(value)}`,
        );
      }
    }
  });
});

describe('backpressure counts ready txs only (the wedge of issue #11)', () => {
  function intakeOver(p: ReturnType<typeof modelPool>) {
    const refused = { busy: 0 };
    const metrics: TxIntakeModules['metrics'] = {
      time: (_stage, fn) => fn(),
      txAdmitted: () => {},
      submitRefusedBusy: () => {
        refused.busy++;
      },
      txNotAccepted: () => {},
    };
    const intake = new TxIntake(
      { backlogBlocks: 2, maxBlockTxs: 5 },
      {
        mempool: p.mempool,
        gate: new BlockWorkGate(),
        metrics,
        gossipQueued: () => 0,
        onAdmitted: () => {},
        relay: () => {},
      },
    );
    const submit = async (t: Tx): Promise<string> => {
      try {
        await intake.submit(encodeTx(t));
        return 'admitted';
      } catch (err) {
        if (!isCivitasError(err)) throw err;
        return err.code;
      }
    };
    return { intake, refused, submit };
  }

  test('a pool full of txs behind gaps refuses no one; ready txs past the backlog do', async () => {
    const p = modelPool({}, 40);
    const { intake, refused, submit } = intakeOver(p);
    // Thirty senders whose first tx was refused or lost: each holds nonces 1 and 2 only.
    for (let from = 0; from < 30; from++) {
      for (const nonce of [1, 2]) assert.equal(await submit(p.tx(from, nonce)), 'admitted');
    }
    assert.equal(p.mempool.size, 60, 'six times the backlog limit (2 blocks of 5)');
    assert.equal(p.mempool.readyCount, 0);
    assert.equal(intake.backlogged(), false);
    // Fresh transfers from other senders are admitted.
    for (let from = 30; from < 39; from++) {
      assert.equal(await submit(p.tx(from, 0)), 'admitted', `sender ${from}`);
    }
    assert.equal(p.mempool.readyCount, 9);
    assert.equal(intake.backlogged(), false, '9 ready txs: under the 10 of the backlog');
    assert.equal(await submit(p.tx(0, 0)), 'admitted', 'the gap filler: 10 ready');
    assert.equal(p.mempool.readyCount, 12, 'sender 0’s nonces 1 and 2 became ready');
    assert.equal(intake.backlogged(), true);
    assert.equal(await submit(p.tx(39, 0)), 'MEMPOOL_BUSY', 'ready txs past the backlog');
    assert.equal(await submit(p.tx(1, 0)), 'admitted', 'a gap filler is let through');
    assert.equal(refused.busy, 1);
    const block = await p.mempool.reap(100, 1 << 20);
    assert.equal(block.length, 15, '9 fresh senders, and nonces 0..2 of senders 0 and 1');
    await p.commit(block.map((e) => e.tx));
    assert.equal(intake.backlogged(), false, 'the block cleared the backlog');
    assert.equal(await submit(p.tx(39, 0)), 'admitted');
  });
});

describe('pooled txs for compact proposals', () => {
  test('entryOf gives the exact bytes and decode; admittedWithin tells recent admissions', async () => {
    const p = modelPool();
    const t = p.tx(0, 0);
    await p.add(t);
    const entry = p.mempool.entryOf(hashOf(t));
    assert.ok(entry !== undefined);
    assert.deepEqual(entry.encoded, encodeTx(t));
    assert.equal(entry.tx.nonce, 0);
    assert.equal(p.mempool.admittedWithin(hashOf(t), 500), true);
    p.clock.now += 500;
    assert.equal(p.mempool.admittedWithin(hashOf(t), 500), false);
    // A tx the pool does not hold counts as recent: its peers may not hold it either.
    assert.equal(p.mempool.entryOf(hashOf(p.tx(1, 0))), undefined);
    assert.equal(p.mempool.admittedWithin(hashOf(p.tx(1, 0)), 500), true);
  });
});
