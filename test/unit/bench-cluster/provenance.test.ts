/**
 * What a cluster run records about where its figures come from: the git commit and whether
 * the tree was dirty (real git on a scratch repository and on this one), the machine, and
 * the crypto backends parsed from a node's Prometheus text.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  describeBackends,
  describeProcessBackends,
  gitInfo,
  harnessBackends,
  machineAtEnd,
  machineAtStart,
  parseBackendMetrics,
  REPO_ROOT,
} from '../../../bench/cluster/provenance.ts';
import { parseNodeTimings } from '../../../bench/cluster/run.ts';
import { cryptoBackends } from '../../../src/crypto/index.ts';
import { NodeMetrics } from '../../../src/node/metrics.ts';
import type { VerificationStats } from '../../../src/node/verification.ts';
import { tempDir } from '../../helpers/temp.ts';

function git(dir: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=bench test', '-c', 'user.email=bench@test.invalid', ...args],
    { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

describe('gitInfo', () => {
  test('a clean tree, then a modified, an untracked and a deleted file', async (t) => {
    const dir = await tempDir(t, 'civitas-bench-git-');
    git(dir, 'init', '-q');
    await writeFile(join(dir, 'a.txt'), 'one\n');
    await writeFile(join(dir, 'b.txt'), 'two\n');
    await writeFile(join(dir, '.gitignore'), 'results/\n');
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '--no-verify', '-m', 'first');
    const head = git(dir, 'rev-parse', '--short', 'HEAD').trim();

    const clean = gitInfo(dir);
    assert.deepEqual(clean, { commit: head, dirty: false, changedFiles: 0, changes: [] });

    // Ignored files (a benchmark's own --out) do not make the tree dirty.
    await mkdir(join(dir, 'results'));
    await writeFile(join(dir, 'results', 'results.json'), '{}');
    assert.equal(gitInfo(dir).dirty, false);

    await writeFile(join(dir, 'a.txt'), 'changed\n');
    await writeFile(join(dir, 'new.txt'), 'new\n');
    await rm(join(dir, 'b.txt'));
    const dirty = gitInfo(dir);
    assert.equal(dirty.commit, head);
    assert.equal(dirty.dirty, true);
    assert.equal(dirty.changedFiles, 3);
    assert.deepEqual([...dirty.changes].sort(), [' D b.txt', ' M a.txt', '?? new.txt']);
  });

  test('not a repository: commit and dirty are null, with git’s reason', async (t) => {
    const dir = await tempDir(t, 'civitas-bench-nogit-');
    const info = gitInfo(dir);
    assert.equal(info.commit, null);
    assert.equal(info.dirty, null);
    assert.match(info.error!, /not a git repository/i);
  });

  test('this repository: the commit the harness records is HEAD', () => {
    const info = gitInfo();
    assert.equal(info.commit, git(REPO_ROOT, 'rev-parse', '--short', 'HEAD').trim());
    const status = git(REPO_ROOT, 'status', '--porcelain=v1', '--untracked-files=all');
    // Other work may change the tree between the two calls; the count is what can be pinned.
    assert.equal(typeof info.dirty, 'boolean');
    assert.ok(info.changes.length <= 50 && info.changes.length <= info.changedFiles);
    if (status.length === 0) assert.equal(info.changedFiles, 0);
  });
});

describe('machine', () => {
  test('cores, model, memory and the load average at the start, then at the end', () => {
    const start = machineAtStart();
    assert.equal(start.cpus, availableParallelism());
    assert.ok(start.model.length > 0);
    assert.ok(start.memoryGiB > 0 && start.freeMemoryGiBAtStart <= start.memoryGiB);
    assert.match(start.node, /^v\d+\./);
    assert.equal(start.loadAverageStart.length, 3);
    assert.equal(start.loadAverageEnd, null);
    const end = machineAtEnd(start);
    assert.deepEqual(end.loadAverageStart, start.loadAverageStart);
    assert.equal(end.loadAverageEnd!.length, 3);
    for (const x of end.loadAverageEnd!)
      assert.ok(x >= 0 && Number(x.toFixed(2)) === x, `rounded: ${x}`);
  });
});

describe('crypto backends from GET /metrics', () => {
  const text = [
    '# HELP civitas_crypto_backend_info The crypto backends in use (value 1)',
    '# TYPE civitas_crypto_backend_info gauge',
    'civitas_crypto_backend_info{ed25519="sodium",sha256="sodium+node:crypto"} 1',
    'civitas_old_backend_info{ed25519="node:crypto"} 0',
    'civitas_tx_signatures_verified_total{path="admission"} 1200',
    'civitas_signatures_total{path="sync",backend="sodium"} 7',
    'civitas_signatures_total{path="sync",backend="sodium"} 7',
    'civitas_signatures_total{path="proposal",backend="noble"} 0',
    'civitas_chain_height 12',
    '',
  ].join('\n');

  test('an info gauge’s labels, and series with a backend label, above zero, once each', () => {
    assert.deepEqual(parseBackendMetrics(text), [
      { metric: 'civitas_crypto_backend_info', labels: { op: 'ed25519' }, backend: 'sodium' },
      {
        metric: 'civitas_crypto_backend_info',
        labels: { op: 'sha256' },
        backend: 'sodium+node:crypto',
      },
      { metric: 'civitas_signatures_total', labels: { path: 'sync' }, backend: 'sodium' },
    ]);
    assert.deepEqual(parseBackendMetrics('civitas_chain_height 3\n'), []);
  });

  test('what a node’s GET /metrics says: backends, and the signature counters per path and thread', async () => {
    const tally = (signatures: number) => ({
      txs: signatures,
      cacheHits: 0,
      signatures,
      invalid: 0,
    });
    const stats: VerificationStats = {
      backend: 'sodium',
      hashBackend: 'sodium+node:crypto',
      workers: 2,
      paths: { admission: tally(10), proposal: tally(3), sync: tally(0) },
      onWorkers: 8,
      onCallingThread: 5,
      admissionBatches: 2,
      admissionRequests: 10,
    };
    const metrics = new NodeMetrics(
      {
        height: () => 1,
        view: () => 0,
        viewChanges: () => 0,
        mempoolSize: () => 0,
        mempoolQueued: () => 0,
        peers: () => 0,
        gossip: () => undefined,
        verification: () => stats,
      },
      { processMetrics: false },
    );
    const scraped = await metrics.text();
    assert.equal(
      describeBackends(parseBackendMetrics(scraped)),
      'ed25519=sodium sha256=sodium+node:crypto',
    );
    assert.deepEqual(parseNodeTimings(scraped).signatures, {
      'verified/admission': 10,
      'verified/proposal': 3,
      'verified/sync': 0,
      'by_thread/workers': 8,
      'by_thread/calling': 5,
    });
  });

  test('described short for the table', () => {
    assert.equal(
      describeBackends(parseBackendMetrics(text)),
      'ed25519=sodium sha256=sodium+node:crypto sync=sodium',
    );
    assert.equal(describeBackends([]), 'none reported');
    assert.equal(describeBackends(null), 'not reported');
  });
});

describe('the harness process’s own backends', () => {
  test('what src/crypto says this process uses, described short', () => {
    const { backends } = harnessBackends();
    assert.deepEqual(backends, cryptoBackends());
    assert.match(describeProcessBackends(backends), /^ed25519=(sodium|node:crypto) sha256=\S+/);
    assert.equal(describeProcessBackends(null), 'not recorded');
    const forced = { ...backends!, choice: 'node' as const, ed25519: 'node:crypto' as const };
    assert.match(describeProcessBackends(forced), /^ed25519=node:crypto .*\(node:crypto forced\)$/);
  });
});
