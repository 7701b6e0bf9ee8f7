/**
 * docs/OPERATIONS.md names only metrics the node declares (src/node/metrics.ts, or
 * prom-client's process metrics it turns on), and the files and sections it points to exist.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NodeMetrics } from '../../../src/node/metrics.ts';
import { REPO_ROOT } from '../../helpers/process.ts';

const doc = readFileSync(join(REPO_ROOT, 'docs/OPERATIONS.md'), 'utf8');

test('every metric OPERATIONS.md cites exists', async () => {
  const source = readFileSync(join(REPO_ROOT, 'src/node/metrics.ts'), 'utf8');
  const declared = new Set([...source.matchAll(/['"](civitas_[a-z0-9_]+)['"]/g)].map((m) => m[1]!));
  // prom-client's default metrics, as this node registers them.
  const metrics = new NodeMetrics({
    height: () => 0,
    view: () => 0,
    viewChanges: () => 0,
    mempoolSize: () => 0,
    mempoolQueued: () => 0,
    peers: () => 0,
    gossip: () => undefined,
  });
  const exported = new Set(
    [...(await metrics.text()).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!),
  );
  const cited = new Set(
    [...doc.matchAll(/`[^`]*`/g)].flatMap((m) =>
      [...m[0].matchAll(/\b((?:civitas|process|nodejs)_[a-z0-9_]+)/g)].map((n) => n[1]!),
    ),
  );
  assert.ok(cited.size >= 10, `cites the metrics (${cited.size})`);
  for (const name of cited) {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(
      declared.has(name) || declared.has(base) || exported.has(name) || exported.has(base),
      `OPERATIONS.md cites ${name}, which the node does not declare`,
    );
  }
  for (const must of [
    'civitas_clock_offset_ms',
    'civitas_consensus_view_changes_total',
    'civitas_p2p_peers',
    'civitas_chain_height',
    'civitas_mempool_queued_txs',
    'civitas_build_info',
  ]) {
    assert.ok(cited.has(must), `OPERATIONS.md covers ${must}`);
  }
});

test('OPERATIONS.md points at files and README sections that exist', () => {
  for (const m of doc.matchAll(/`((?:deploy|test|src|docs)\/[\w./-]+)`/g)) {
    assert.ok(existsSync(join(REPO_ROOT, m[1]!)), `${m[1]} exists`);
  }
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  for (const m of doc.matchAll(/README, "([^"]+)"/g)) {
    const section = m[1]!.replace(/\s+/g, ' ');
    assert.ok(readme.includes(`# ${section}`), `README has a section "${section}"`);
  }
  assert.ok(readme.includes('docs/OPERATIONS.md'), 'README links OPERATIONS.md');
  assert.match(doc, /NODE_OLD_CHAIN_FORMAT/);
  assert.ok(
    readFileSync(join(REPO_ROOT, 'src/errors/node.ts'), 'utf8').includes('NODE_OLD_CHAIN_FORMAT'),
  );
});
