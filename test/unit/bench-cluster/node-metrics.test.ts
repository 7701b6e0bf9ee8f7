/**
 * The node side of the cluster benchmark: Prometheus metrics (unit and through a real
 * one-validator node's GET /metrics), fault-injection request parsing, and the admin route
 * refusing requests when fault injection is not enabled.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeTx } from '../../../src/chain/index.ts';
import { addressOf, generateKeyPair, loadKeyFile, transfer } from '../../../src/client/index.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { parseFaultSettings } from '../../../src/node/fault-injection.ts';
import { initNetwork } from '../../../src/node/home.ts';
import { silentLogger } from '../../../src/node/logger.ts';
import { NodeMetrics } from '../../../src/node/metrics.ts';
import { CivitasNode } from '../../../src/node/node.ts';
import { peerIdFromValidatorKey } from '../../../src/p2p/index.ts';
import { waitUntil } from '../../helpers/http.ts';
import { randomBasePort } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('node metrics', () => {
  const source = {
    height: () => 7,
    view: () => 1,
    viewChanges: () => 3,
    mempoolSize: () => 42,
    mempoolQueued: () => 0,
    peers: () => 3,
    gossip: () => ({
      txs: {
        published: 5,
        accepted: 10,
        ignored: 2,
        rejected: 1,
        faultDropped: 0,
        handlerErrors: 0,
      },
      consensus: {
        published: 8,
        accepted: 20,
        ignored: 0,
        rejected: 0,
        faultDropped: 4,
        handlerErrors: 0,
      },
    }),
  };

  test('gauges and mirrored counters read the node when scraped', async () => {
    const m = new NodeMetrics(source, { processMetrics: false });
    const text = await m.text();
    assert.equal(metricValue(text, 'civitas_chain_height'), 7);
    assert.equal(metricValue(text, 'civitas_consensus_view'), 1);
    assert.equal(metricValue(text, 'civitas_consensus_view_changes_total'), 3);
    assert.equal(metricValue(text, 'civitas_mempool_txs'), 42);
    assert.equal(metricValue(text, 'civitas_p2p_peers'), 3);
    assert.equal(
      metricValue(text, 'civitas_gossip_messages_total{topic="txs",result="accepted"}'),
      10,
    );
    assert.equal(
      metricValue(text, 'civitas_gossip_messages_total{topic="consensus",result="fault_dropped"}'),
      4,
    );
    // A second scrape does not count the same cumulative values twice.
    const again = await m.text();
    assert.equal(metricValue(again, 'civitas_consensus_view_changes_total'), 3);
    assert.equal(
      metricValue(again, 'civitas_gossip_messages_total{topic="txs",result="accepted"}'),
      10,
    );
  });

  test('commit latency of blocks and of txs this node admitted; stage timings; reasons', async () => {
    const m = new NodeMetrics(source, { processMetrics: false });
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(2);
    m.txAdmitted(a, 1_000);
    await m.time('proposal_validate', async () => {});
    await assert.rejects(m.time('block_commit', async () => Promise.reject(new Error('x'))));
    m.blockCommitted({ header: { timestamp: 1_500 }, txHashes: [a, b] }, 2_000);
    m.txNotAccepted('MEMPOOL_DUPLICATE');
    m.txNotAccepted('SOMETHING_NEW');
    const text = await m.text();
    assert.equal(metricValue(text, 'civitas_blocks_committed_total'), 1);
    assert.equal(metricValue(text, 'civitas_txs_committed_total'), 2);
    assert.equal(metricValue(text, 'civitas_block_commit_latency_seconds_sum'), 0.5);
    // Only the tx this node admitted has an admit→commit latency.
    assert.equal(metricValue(text, 'civitas_tx_commit_latency_seconds_count'), 1);
    assert.equal(metricValue(text, 'civitas_tx_commit_latency_seconds_sum'), 1);
    assert.equal(
      metricValue(text, 'civitas_validation_stage_seconds_count{stage="proposal_validate"}'),
      1,
    );
    assert.equal(
      metricValue(text, 'civitas_validation_stage_seconds_count{stage="block_commit"}'),
      1,
    );
    assert.equal(
      metricValue(text, 'civitas_validation_stage_seconds_count{stage="mempool_admit"}'),
      0,
    );
    assert.equal(metricValue(text, 'civitas_gossip_tx_not_accepted_total{reason="duplicate"}'), 1);
    assert.equal(metricValue(text, 'civitas_gossip_tx_not_accepted_total{reason="other"}'), 1);
  });

  test('consensus rejects are counted by reason and evidence once per record', async () => {
    const m = new NodeMetrics(source, { processMetrics: false });
    m.evidenceRecorded();
    m.consensusRejected('bad-signature');
    m.consensusRejected('bad-signature');
    m.consensusRejected('not-primary');
    const text = await m.text();
    assert.equal(metricValue(text, 'civitas_consensus_evidence_total'), 1);
    assert.equal(
      metricValue(text, 'civitas_consensus_messages_rejected_total{reason="bad-signature"}'),
      2,
    );
    assert.equal(
      metricValue(text, 'civitas_consensus_messages_rejected_total{reason="not-primary"}'),
      1,
    );
  });
});

describe('fault injection requests', () => {
  const validators = [0, 1, 2, 3].map(() => generateKeyPair().publicKey);
  const self = validators[0]!;
  const peer = (i: number) => peerIdFromValidatorKey(validators[i]!);

  test('links by validator index or peer id, and a byzantine mode', () => {
    const s = parseFaultSettings(
      {
        links: { 1: { delayMs: 50 }, [peer(2)]: { blocked: true, lossRate: 0.5 } },
        byzantine: 'silent',
      },
      validators,
      self,
    );
    assert.deepEqual(s, {
      links: { [peer(1)]: { delayMs: 50 }, [peer(2)]: { blocked: true, lossRate: 0.5 } },
      byzantine: 'silent',
    });
    assert.deepEqual(parseFaultSettings({}, validators, self), { links: {}, byzantine: 'none' });
  });

  test('bad requests are FAULT_BAD_REQUEST with the reason', () => {
    const cases: Array<[unknown, RegExp]> = [
      [[], /JSON object/],
      [{ extra: 1 }, /unknown field "extra"/],
      [{ byzantine: 'evil' }, /byzantine must be one of none, equivocate, silent/],
      [{ links: { 9: {} } }, /no validator 9/],
      [{ links: { 0: {} } }, /is this node/],
      [{ links: { nobody: {} } }, /neither a validator index nor a member peer id/],
      [{ links: { 1: { delayMs: -1 } } }, /delayMs/],
      [{ links: { 1: { delayMs: 60_001 } } }, /delayMs/],
      [{ links: { 1: { lossRate: 2 } } }, /lossRate/],
      [{ links: { 1: { blocked: 'yes' } } }, /blocked must be a boolean/],
      [{ links: { 1: { jitter: 5 } } }, /unknown field "jitter"/],
      [{ links: [1] }, /links must be an object/],
    ];
    for (const [body, pattern] of cases) {
      assert.throws(
        () => parseFaultSettings(body, validators, self),
        (err: unknown) =>
          isCivitasError(err) && err.code === 'FAULT_BAD_REQUEST' && pattern.test(err.message),
        JSON.stringify(body),
      );
    }
  });
});

describe('a real node serves /metrics and refuses /admin/faults unless enabled', () => {
  test('one-validator node', async (t) => {
    const dir = await tempDir(t, 'civitas-metrics-');
    const summary = await initNetwork({
      dir: `${dir}/net`,
      validators: 1,
      accounts: 1,
      basePort: randomBasePort(),
      configOverrides: {
        consensus: { timeoutMs: 1_000, blockIntervalMs: 10, emptyBlockIntervalMs: 0 },
      },
    });
    const node = await CivitasNode.start(summary.nodes[0]!.home, {
      logger: silentLogger,
      rpcListen: '127.0.0.1:0',
    });
    t.after(() => node.stop());
    const keys = await loadKeyFile(summary.accounts[0]!.file);
    const tx = transfer({
      chainId: summary.chainId,
      keys,
      to: addressOf(generateKeyPair().publicKey),
      amount: 1n,
      nonce: 0,
      expiryHeight: 100,
    });
    const res = await fetch(`${node.rpcUrl}/txs?wait=commit`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: encodeTx(tx),
    });
    assert.equal(res.status, 200);

    const text = await waitUntil(async () => {
      const r = await fetch(`${node.rpcUrl}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      const body = await r.text();
      return metricValue(body, 'civitas_txs_committed_total') === 1 ? body : undefined;
    }, 'the committed tx in /metrics');
    assert.equal(metricValue(text, 'civitas_chain_height'), 1);
    assert.equal(metricValue(text, 'civitas_tx_commit_latency_seconds_count'), 1);
    assert.equal(
      metricValue(text, 'civitas_validation_stage_seconds_count{stage="mempool_admit"}'),
      1,
    );
    assert.match(text, /^process_cpu_seconds_total /m, 'process metrics');
    assert.match(text, /# TYPE civitas_consensus_view_changes_total counter/);

    for (const method of ['GET', 'POST']) {
      const r = await fetch(`${node.rpcUrl}/admin/faults`, {
        method,
        ...(method === 'POST' ? { body: JSON.stringify({ byzantine: 'silent' }) } : {}),
      });
      assert.equal(r.status, 403, method);
      const body = (await r.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'RPC_FAULT_INJECTION_DISABLED');
    }
    assert.equal((await fetch(`${node.rpcUrl}/admin/other`)).status, 404);
  });
});
