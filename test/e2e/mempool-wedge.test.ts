/**
 * The wedge of issue #11, reproduced on four validator processes and shown gone. After an
 * overload, each node's mempool held thousands of txs behind nonce gaps (their predecessors
 * refused with 503 or lost with a reset connection); they counted toward the backlog, so every
 * later POST /txs was refused with 503 MEMPOOL_BUSY while the chain made empty blocks.
 *
 * Here 40 senders each submit nonces 1..10 without nonce 0 (400 txs, 4 blocks' worth at
 * maxBlockTxs 100, past the 3-block backlog), spread over the nodes, until every node holds
 * all of them. Then fresh transfers from 8 other senders are admitted (not 503) and committed
 * on every node while those 400 txs are still held; a gap filled by its missing tx makes the
 * 10 txs behind it committed everywhere; and the queued txs leave every pool at the end of
 * their lifetime. With the backlog counting every held tx, the flood itself would be refused
 * past 300 txs and the fresh transfers would be answered 503.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CivitasClient, type TxResponse } from '../../src/client/index.ts';
import { codeOf } from '../../src/errors/index.ts';
import { LocalNetwork } from '../../src/localnet/index.ts';
import { mapLimit, TEST_CONSENSUS, waitFor } from './network/helpers/test-network.ts';
import {
  loadAccounts,
  type SignedTransfer,
  signedTransfer,
  submitTx,
} from './network/helpers/transfers.ts';

const VALIDATORS = 4;
const GAPPED_SENDERS = 40;
const GAPPED_NONCES = 10;
const FRESH_SENDERS = 8;
const MAX_BLOCK_TXS = 100;
const BACKLOG_BLOCKS = 3;
const QUEUED_LIFETIME_MS = 30_000;

test('a mempool full of txs behind nonce gaps refuses no one: fresh transfers commit on every node, a filled gap commits, queued txs expire', {
  timeout: 240_000,
}, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'civitas-wedge-'));
  let network: LocalNetwork | undefined;
  t.after(async () => {
    await network?.stop({ signal: 'SIGKILL' });
    if (!process.env.CIVITAS_KEEP_TEST_DIRS) await rm(root, { recursive: true, force: true });
  });
  network = await LocalNetwork.launch(
    {
      dir: join(root, 'net'),
      validators: VALIDATORS,
      accounts: GAPPED_SENDERS + FRESH_SENDERS,
      consensus: TEST_CONSENSUS,
      genesis: { maxBlockTxs: MAX_BLOCK_TXS },
      mempool: { backlogBlocks: BACKLOG_BLOCKS, queuedLifetimeMs: QUEUED_LIFETIME_MS },
      env: { CIVITAS_DEBUG: '' },
    },
    { waitForPeers: true },
  );
  const net = network;
  const all = [0, 1, 2, 3];
  const clients = net.urls.map((url) => new CivitasClient(url, { timeoutMs: 30_000 }));
  const accounts = await loadAccounts(net.summary);
  const { height: start } = (await net.status(0))!;
  const expiryHeight = start + 10_000;
  const mempoolSizes = async () =>
    Promise.all(all.map(async (i) => (await net.status(i))?.mempool.size ?? -1));
  const txStatus = async (i: number, hash: string): Promise<TxResponse | undefined> => {
    try {
      return await clients[i]!.tx(hash);
    } catch {
      return undefined;
    }
  };
  /** Waits until each tx is committed with an ok receipt on every node. */
  const committedEverywhere = (txs: readonly SignedTransfer[], what: string) =>
    waitFor(
      async () => {
        for (const tx of txs) {
          for (const i of all) {
            const s = await txStatus(i, tx.hash);
            if (s?.status !== 'committed') return undefined;
            assert.equal(s.receipt.status, 'ok', `${what}: tx ${tx.hash} on node${i}`);
          }
        }
        return true;
      },
      what,
      60_000,
      250,
    );

  try {
    // The txs a refused or lost nonce 0 left behind, all queued. (Were they counted toward
    // the backlog, the node would refuse the flood itself past 300 txs: counted here, and
    // asserted only after the fresh transfers, where the wedge showed.)
    const gapped: SignedTransfer[] = [];
    for (let nonce = 1; nonce <= GAPPED_NONCES; nonce++) {
      for (let sender = 0; sender < GAPPED_SENDERS; sender++) {
        gapped.push(
          signedTransfer(net.chainId, accounts, { sender, to: sender + 1, nonce, expiryHeight }),
        );
      }
    }
    const backlog = BACKLOG_BLOCKS * MAX_BLOCK_TXS;
    assert.ok(gapped.length > backlog, 'more than the backlog');
    const floodRefused: string[] = [];
    await mapLimit(gapped, 16, (tx) =>
      submitTx(clients[tx.sender % VALIDATORS]!, tx).catch((err: unknown) => {
        floodRefused.push(codeOf(err) ?? String(err));
      }),
    );
    const flooded = Date.now();
    const held = await waitFor(
      async () => {
        const sizes = await mempoolSizes();
        const want = gapped.length - floodRefused.length;
        return sizes.every((s) => s >= want) ? sizes : undefined;
      },
      'every node to hold the gapped txs (gossip)',
      30_000,
      250,
    );
    // /status says they are queued: behind a gap, none of them is ready.
    for (const i of all) {
      const { mempool } = (await net.status(i))!;
      assert.equal(mempool.queued, mempool.size, `node${i} holds only queued txs`);
    }

    // Fresh transfers from other senders: admitted by every node and committed everywhere.
    const fresh = Array.from({ length: FRESH_SENDERS }, (_, k) =>
      signedTransfer(net.chainId, accounts, {
        sender: GAPPED_SENDERS + k,
        to: 0,
        nonce: 0,
        expiryHeight,
      }),
    );
    const sent = Date.now();
    await Promise.all(
      fresh.map((tx, k) =>
        submitTx(clients[k % VALIDATORS]!, tx).catch((err: unknown) => {
          assert.fail(`node${k % VALIDATORS} refused a fresh transfer: ${codeOf(err)} (${err})`);
        }),
      ),
    );
    await committedEverywhere(fresh, 'the fresh transfers to commit on every node');
    const freshMs = Date.now() - sent;
    assert.deepEqual(floodRefused, [], 'no gapped tx was refused either');
    const stillHeld = await mempoolSizes();
    assert.ok(
      stillHeld.every((s) => s >= gapped.length),
      `every node held all the gapped txs all along: ${stillHeld.join(', ')}`,
    );
    assert.ok(
      Date.now() - flooded < QUEUED_LIFETIME_MS,
      'checked before any gapped tx could expire',
    );
    for (const tx of gapped.slice(0, VALIDATORS)) {
      assert.equal((await txStatus(0, tx.hash))?.status, 'pending', 'a gapped tx never commits');
    }

    // Sender 0's missing nonce arrives at another node: its ten queued txs commit everywhere.
    const filler = signedTransfer(net.chainId, accounts, {
      sender: 0,
      to: 1,
      nonce: 0,
      expiryHeight,
    });
    await submitTx(clients[1]!, filler);
    const senderZero = [filler, ...gapped.filter((tx) => tx.sender === 0)];
    await committedEverywhere(senderZero, 'sender 0’s txs to commit once its gap is filled');
    const account = await clients[2]!.account(accounts[0]!.addressHex);
    assert.equal(account.nonce, GAPPED_NONCES + 1);

    // The rest never become ready: they leave every pool at the end of their lifetime.
    await waitFor(
      async () => ((await mempoolSizes()).every((s) => s === 0) ? true : undefined),
      'the queued txs to expire on every node',
      QUEUED_LIFETIME_MS + 60_000,
      500,
    );
    t.diagnostic(
      `mempools held ${held.join(', ')} gapped txs; ${FRESH_SENDERS} fresh transfers ` +
        `committed on all ${VALIDATORS} nodes ${freshMs} ms after submission`,
    );
  } catch (err) {
    const tails = await Promise.all(all.map((i) => net.logTail(i, 12).catch(() => '')));
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${message}\n${tails.map((l, i) => `--- node${i} ---\n${l}`).join('\n')}`, {
      cause: err,
    });
  }
});
