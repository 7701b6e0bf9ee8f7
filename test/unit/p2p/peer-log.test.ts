import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../../../src/p2p/logger.ts';
import { PeerLog } from '../../../src/p2p/peer-log.ts';

function recorder(): Logger & { lines: Array<[string, string]> } {
  const lines: Array<[string, string]> = [];
  const at = (level: string) => (msg: string) => void lines.push([level, msg]);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

test('connects and disconnects are logged; no peer for the limit warns, once per limit, until one comes', () => {
  const logger = recorder();
  let now = 0;
  let peers = 0;
  let members = 3;
  const log = new PeerLog(
    { lonelyAfterMs: 30_000, checkEveryMs: 5_000 },
    {
      logger,
      connectedPeers: () => peers,
      otherMembers: () => members,
      isMember: () => true,
      now: () => now,
    },
  );
  log.start();
  log.stop();
  now = 29_999;
  log.check();
  assert.equal(logger.lines.length, 0, 'not yet');
  now = 30_000;
  log.check();
  assert.deepEqual(logger.lines, [['warn', 'no peers']]);
  now = 45_000;
  log.check();
  assert.equal(logger.lines.length, 1, 'not again within the limit');
  now = 61_000;
  log.check();
  assert.equal(logger.lines.length, 2, 'again after it');
  peers = 1;
  log.connected('12D3KooWabcdefgh');
  assert.deepEqual(logger.lines.slice(2), [
    ['info', 'peer connected'],
    ['info', 'connected again after a time without peers'],
  ]);
  now = 200_000;
  log.check();
  assert.equal(logger.lines.length, 4, 'a peer: no warning');
  peers = 0;
  log.disconnected('12D3KooWabcdefgh');
  now = 229_000;
  log.check();
  assert.equal(logger.lines.at(-1)![1], 'peer disconnected');
  now = 230_001;
  log.check();
  assert.deepEqual(logger.lines.at(-1), ['warn', 'no peers']);
  // A network of one: nobody to reach, nothing to warn about.
  members = 0;
  now = 900_000;
  log.check();
  assert.deepEqual(logger.lines.at(-1), ['warn', 'no peers']);
  assert.equal(logger.lines.filter(([l]) => l === 'warn').length, 3);
});
