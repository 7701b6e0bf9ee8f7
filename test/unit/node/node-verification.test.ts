/**
 * A running node verifies through its worker pool: a real one-validator node (2 verify
 * workers) admits a burst of txs, its GET /metrics shows the signatures each path verified,
 * where they ran and the backends (libsodium where its addon loads), and stopping the node
 * closes the pool. The metrics' own
 * series are checked against a stand-in source as well.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeTx } from '../../../src/chain/index.ts';
import { addressOf, generateKeyPair, loadKeyFile, transfer } from '../../../src/client/index.ts';
import { cryptoBackends } from '../../../src/crypto/backends.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { initNetwork } from '../../../src/node/home.ts';
import { silentLogger } from '../../../src/node/logger.ts';
import { NodeMetrics } from '../../../src/node/metrics.ts';
import { CivitasNode } from '../../../src/node/node.ts';
import type { VerificationStats } from '../../../src/node/verification.ts';
import { waitUntil } from '../../helpers/http.ts';
import { randomBasePort } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const signatures = (path: string) => `civitas_tx_signatures_verified_total{path="${path}"}`;
const cacheHits = (path: string) => `civitas_tx_signature_cache_hits_total{path="${path}"}`;
const byThread = (thread: string) => `civitas_tx_signatures_by_thread_total{thread="${thread}"}`;

describe('verification metrics', () => {
  const tally = (signatures: number, cacheHits: number) => ({
    txs: signatures + cacheHits,
    cacheHits,
    signatures,
    invalid: 0,
  });
  let stats: VerificationStats = {
    backend: 'sodium',
    hashBackend: 'sodium+node:crypto',
    workers: 2,
    paths: { admission: tally(10, 0), proposal: tally(3, 50), sync: tally(0, 0) },
    onWorkers: 8,
    onCallingThread: 5,
    admissionBatches: 2,
    admissionRequests: 10,
  };
  const source = {
    height: () => 1,
    view: () => 0,
    viewChanges: () => 0,
    mempoolSize: () => 0,
    mempoolQueued: () => 0,
    peers: () => 0,
    gossip: () => undefined,
    verification: () => stats,
  };

  test('each path, each thread and the backend, following the verifier across scrapes', async () => {
    const m = new NodeMetrics(source, { processMetrics: false });
    let text = await m.text();
    assert.equal(metricValue(text, signatures('admission')), 10);
    assert.equal(metricValue(text, signatures('proposal')), 3);
    assert.equal(metricValue(text, signatures('sync')), 0);
    assert.equal(metricValue(text, cacheHits('proposal')), 50);
    assert.equal(metricValue(text, byThread('workers')), 8);
    assert.equal(metricValue(text, byThread('calling')), 5);
    assert.equal(metricValue(text, 'civitas_verify_workers'), 2);
    assert.equal(metricValue(text, 'civitas_verify_workers_running'), 0);
    assert.equal(
      metricValue(
        text,
        'civitas_crypto_backend_info{ed25519="sodium",sha256="sodium+node:crypto"}',
      ),
      1,
    );
    stats = {
      ...stats,
      backend: 'node:crypto',
      hashBackend: 'node:crypto',
      paths: { ...stats.paths, sync: tally(400, 0) },
      onWorkers: 408,
    };
    text = await m.text();
    // One series for the backends in use: the pair before is gone.
    assert.deepEqual(
      text.split('\n').filter((l) => l.startsWith('civitas_crypto_backend_info{')),
      ['civitas_crypto_backend_info{ed25519="node:crypto",sha256="node:crypto"} 1'],
    );
    assert.equal(metricValue(text, signatures('sync')), 400);
    assert.equal(metricValue(text, signatures('admission')), 10, 'not counted twice');
    assert.equal(metricValue(text, byThread('workers')), 408);
  });

  test('a node without a verifier still exposes every path at 0', async () => {
    const { verification: _, ...withoutVerifier } = source;
    const text = await new NodeMetrics(withoutVerifier, { processMetrics: false }).text();
    for (const path of ['admission', 'proposal', 'sync']) {
      assert.equal(metricValue(text, signatures(path)), 0, path);
    }
  });
});

test('a running node admits a burst of txs through its verify pool; stop closes it', async (t) => {
  const dir = await tempDir(t, 'civitas-node-verification-');
  const summary = await initNetwork({
    dir: `${dir}/net`,
    validators: 1,
    accounts: 1,
    basePort: randomBasePort(),
    configOverrides: {
      consensus: { timeoutMs: 2_000, blockIntervalMs: 10, emptyBlockIntervalMs: 0 },
    },
  });
  const node = await CivitasNode.start(summary.nodes[0]!.home, {
    logger: silentLogger,
    rpcListen: '127.0.0.1:0',
    verifyWorkers: 2,
  });
  t.after(() => node.stop());
  const keys = await loadKeyFile(summary.accounts[0]!.file);
  const to = addressOf(generateKeyPair().publicKey);
  const txs = Array.from({ length: 41 }, (_, nonce) =>
    transfer({ chainId: summary.chainId, keys, to, amount: 1n, nonce, expiryHeight: 1_000 }),
  );
  // One tx first, committed: the sender's nonce and membership are then known in memory.
  const first = await fetch(`${node.rpcUrl}/txs?wait=commit`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: encodeTx(txs[0]!),
  });
  assert.equal(first.status, 200);
  assert.equal(node.verification.stats().paths.admission.signatures, 1);

  // A burst in one turn, as a slice of a gossiped batch arrives: verified as few batches.
  const before = node.verification.stats();
  await Promise.all(txs.slice(1).map((tx) => node.intake.submit(encodeTx(tx))));
  const after = node.verification.stats();
  assert.equal(after.paths.admission.signatures - before.paths.admission.signatures, 40);
  assert.ok(
    after.admissionBatches - before.admissionBatches <= 2,
    `${after.admissionBatches - before.admissionBatches} admission batches for 40 txs`,
  );
  // Through the pool, on the event loop: a burst of 40 starts no worker (256 would).
  assert.equal(after.onCallingThread - before.onCallingThread, 40);
  assert.equal(after.onWorkers, 0);
  assert.equal(after.pool?.liveWorkers, 0);

  const text = await waitUntil(async () => {
    const body = await (await fetch(`${node.rpcUrl}/metrics`)).text();
    return metricValue(body, 'civitas_txs_committed_total') === 41 ? body : undefined;
  }, 'all 41 txs committed');
  assert.equal(metricValue(text, signatures('admission')), 41);
  // A solo validator commits the blocks it built: no proposal to validate, nothing to sync.
  assert.equal(metricValue(text, signatures('proposal')), 0);
  assert.equal(metricValue(text, signatures('sync')), 0);
  assert.equal(metricValue(text, byThread('workers')), after.onWorkers);
  assert.equal(
    (metricValue(text, byThread('workers')) ?? 0) + (metricValue(text, byThread('calling')) ?? 0),
    41,
  );
  assert.equal(metricValue(text, 'civitas_verify_workers'), 2);
  assert.equal(metricValue(text, 'civitas_verify_workers_running'), 0);
  // The fastest native backend this machine has (libsodium when its addon loads).
  assert.equal(after.backend, cryptoBackends().ed25519);
  assert.equal(
    metricValue(
      text,
      `civitas_crypto_backend_info{ed25519="${after.backend}",sha256="${after.hashBackend}"}`,
    ),
    1,
  );

  await node.stop();
  await assert.rejects(node.verification.admit([txs[1]!], [new Uint8Array(32)]), (err) => {
    assert.ok(isCivitasError(err));
    assert.equal(err.code, 'CRYPTO_VERIFY_POOL_CLOSED');
    return true;
  });
});
