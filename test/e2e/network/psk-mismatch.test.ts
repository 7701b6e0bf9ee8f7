/**
 * A node whose pre-shared key differs from the others' cannot connect (the handshake fails)
 * and falls behind — and says so in its log, instead of sitting silently at height 0: the
 * members it cannot reach are named in a warning with the hint to compare p2p.pskFile. The
 * other three, with the same key, commit as usual.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { TestNetwork, waitFor } from './helpers/test-network.ts';

test('a node with another pre-shared key warns that it cannot connect; the others go on', async (t) => {
  const network = await TestNetwork.start(t, { validators: 4, accounts: 0, start: [] });
  const shared = randomBytes(32).toString('hex');
  const other = randomBytes(32).toString('hex');
  for (const [i, node] of network.summary.nodes.entries()) {
    await writeFile(join(node.home, 'psk.key'), `${i === 3 ? other : shared}\n`, { mode: 0o600 });
    const path = join(node.home, 'config.json');
    const config = JSON.parse(await readFile(path, 'utf8')) as { p2p: Record<string, unknown> };
    config.p2p.pskFile = 'psk.key';
    await writeFile(path, `${JSON.stringify(config, null, 2)}\n`);
  }
  await network.explain(async () => {
    for (const i of [0, 1, 2, 3]) await network.startNode(i);
    await network.waitForHeight([0, 1, 2], 5, 60_000);
    const warning = await waitFor(
      async () =>
        (await network.logLines(3, 'warn')).find((l) => l.includes('cannot connect to a member')),
      'node3 to warn that it cannot connect',
      45_000,
      500,
    );
    assert.match(warning, /pskFile/);
    const [behind] = await network.heights([3]);
    assert.equal(behind, 0, 'the node with the other key has no peer to sync from');
    const [ahead] = await network.heights([0]);
    assert.ok(ahead! >= 5);
  });
});
