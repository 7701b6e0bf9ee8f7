/**
 * Four validators as real processes, one of them started late: the late node catches up by
 * block sync, and its GET /metrics shows that sync went through the block pipeline (blocks
 * counted by it, every tx signature of the synced blocks verified on the sync path, where the
 * signatures ran) with the crypto backend; the nodes that were running show admission and
 * proposal validation on their own paths, proposals answered from the verified-tx cache.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CivitasClient } from '../../../src/client/index.ts';
import { cryptoBackends } from '../../../src/crypto/backends.ts';
import { mapLimit, TestNetwork, waitFor } from './helpers/test-network.ts';
import { loadAccounts, submitTx, transferWave } from './helpers/transfers.ts';

const SENDERS = 10;
const PER_SENDER = 20;

function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line !== undefined, `no series ${series}`);
  return Number(line.slice(series.length + 1));
}

const signatures = (path: string) => `civitas_tx_signatures_verified_total{path="${path}"}`;
const cacheHits = (path: string) => `civitas_tx_signature_cache_hits_total{path="${path}"}`;
const byThread = (thread: string) => `civitas_tx_signatures_by_thread_total{thread="${thread}"}`;

test('a late validator syncs through the block pipeline; every path shows in /metrics', {
  timeout: 150_000,
}, async (t) => {
  const network = await TestNetwork.start(t, {
    validators: 4,
    accounts: SENDERS,
    start: [0, 1, 2],
  });
  const metrics = async (i: number): Promise<string> => {
    const res = await fetch(`${network.local.rpc(i)}/metrics`, {
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(res.status, 200);
    return res.text();
  };
  await network.explain(async () => {
    const running = [0, 1, 2];
    const accounts = await loadAccounts(network.summary);
    const { height: start } = (await network.status(0))!;
    const txs = transferWave(network.chainId, accounts, {
      perSender: PER_SENDER,
      expiryHeight: start + 10_000,
    });
    const clients = network.summary.nodes.map(
      (n) => new CivitasClient(n.rpc, { timeoutMs: 30_000 }),
    );
    await mapLimit(txs, 16, (tx) => submitTx(clients[(tx.sender + tx.nonce) % 3]!, tx));
    const pending = new Set(txs.map((tx) => tx.hash));
    let scanned = start;
    const height = await waitFor(
      async () => {
        const { height } = (await network.status(0))!;
        for (; scanned < height; scanned++) {
          for (const h of (await network.block(0, scanned + 1)).txHashes) pending.delete(h);
        }
        return pending.size === 0 ? height : undefined;
      },
      `all ${txs.length} txs to commit`,
      90_000,
      250,
    );

    await network.startNode(3);
    await network.waitForHeight([3], height, 60_000);
    await network.assertSameChain([0, 3], 1, height);

    const late = await metrics(3);
    assert.ok(metricValue(late, 'civitas_sync_blocks_total') >= 1, 'blocks synced');
    // Every tx was committed before node 3 started: all its signatures came through sync.
    assert.equal(metricValue(late, signatures('sync')), txs.length);
    assert.equal(metricValue(late, cacheHits('sync')), 0);
    assert.equal(metricValue(late, signatures('admission')), 0);
    assert.ok(
      metricValue(late, 'civitas_validation_stage_seconds_count{stage="sync_validate"}') >= 1,
    );
    assert.equal(
      metricValue(late, byThread('workers')) + metricValue(late, byThread('calling')),
      metricValue(late, signatures('sync')) + metricValue(late, signatures('proposal')),
    );
    assert.ok(metricValue(late, 'civitas_verify_workers') >= 1);
    // The node verifies on the fastest backend this machine has (libsodium where it loads).
    const backend = /^civitas_crypto_backend_info\{ed25519="([^"]+)",sha256="[^"]+"\} 1$/m.exec(
      late,
    );
    assert.equal(backend?.[1], cryptoBackends().ed25519);

    // The running nodes admitted every tx (submitted or gossiped) on the admission path, and
    // the replicas found the proposals' txs in the verified-tx cache.
    const texts = await Promise.all(running.map(metrics));
    for (const [k, text] of texts.entries()) {
      assert.ok(
        metricValue(text, signatures('admission')) >= txs.length / 3,
        `node${running[k]}: admission`,
      );
      assert.equal(metricValue(text, signatures('sync')), 0, `node${running[k]}: nothing synced`);
    }
    const replicasWithHits = texts.filter((text) => metricValue(text, cacheHits('proposal')) > 0);
    assert.ok(replicasWithHits.length >= 2, 'proposals validated from the cache on the replicas');
  });
});
