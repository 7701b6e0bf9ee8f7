/**
 * One short real run of bench/state-sync.ts: a generated chain of 3,000 txs in 30 blocks whose
 * tx lifetime (10 heights) is shorter than the chain, so the joiner fetches a window of tx
 * hashes and not the whole index; 4 validator processes on copies of it; a fifth node joins
 * by state sync, then by replay. Checks that the figures are consistent with each other and
 * with the chain, not how fast they are.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { NODE_BIN, REPO_ROOT } from '../helpers/process.ts';

interface Report {
  txs: number;
  blocks: number;
  maxTxLifetime: number;
  senders: number;
  chainBytes: number;
  snapshot: { height: number; chunks: number; bytes: number; ms: number };
  stateSync: {
    provenHeight: number;
    provenMs: number;
    joined: { height: number; bytes: number; chunks: number; ms: number };
    joinedLoggedMs: number;
  };
  replay: { provenHeight: number; provenMs: number; joined?: unknown };
  replayOverStateSync: number;
}

test('a fifth node joins a generated chain by state sync, then by replay', {
  timeout: 240_000,
}, async () => {
  const { stdout } = await promisify(execFile)(
    NODE_BIN,
    [
      join(REPO_ROOT, 'bench/state-sync.ts'),
      '--txs',
      '3000',
      '--block-size',
      '100',
      '--lifetime',
      '10',
    ],
    { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, CIVITAS_DEBUG: '' } },
  );
  const report = JSON.parse(stdout) as Report;
  assert.equal(report.txs, 3000);
  assert.equal(report.blocks, 30);
  assert.equal(report.snapshot.height, 30, 'the snapshot is of the generated tip');
  assert.ok(report.snapshot.chunks >= 1 && report.snapshot.bytes > 0);

  const { joined } = report.stateSync;
  assert.equal(joined.height, 30, 'the joiner took the snapshot of the tip');
  assert.equal(joined.chunks, report.snapshot.chunks);
  // It fetched the snapshot and at most the 64 blocks up to it with their tx hashes: never
  // more than the snapshot and the whole chain (and far more than nothing).
  assert.ok(joined.bytes > report.snapshot.bytes, `${joined.bytes} bytes`);
  assert.ok(joined.bytes < report.snapshot.bytes + 2 * report.chainBytes, `${joined.bytes} bytes`);
  assert.ok(report.stateSync.provenHeight >= 30, 'a verified proof at or above the tip');
  assert.ok(report.stateSync.provenMs >= report.stateSync.joinedLoggedMs);

  assert.ok(report.replay.provenHeight >= 30, 'the replayed node proves at or above the tip');
  assert.equal(report.replay.joined, undefined, 'replay logs no state sync');
  assert.ok(report.replayOverStateSync > 0);
});
