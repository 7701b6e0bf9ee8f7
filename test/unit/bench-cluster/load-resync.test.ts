/**
 * The load's senders resume at the chain's next nonce between runs: a tx given up on in an
 * overload must not leave a gap that queues the sender's later txs. A re-made tx for a nonce
 * still pending is byte-identical to the first (the node answers "duplicate").
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSenders, TxFactory } from '../../../bench/cluster/load.ts';
import { equalBytes } from '../../../src/crypto/bytes.ts';
import { generateKeyPair } from '../../../src/crypto/ed25519.ts';
import { saveKeyFile } from '../../../src/crypto/keyfile.ts';
import { tempDir } from '../../helpers/temp.ts';

test('resync moves senders back to the committed nonce and re-makes the same txs', async (t) => {
  const dir = await tempDir(t);
  const files = [join(dir, 'a.json'), join(dir, 'b.json')];
  const pairs = [generateKeyPair(), generateKeyPair()];
  await Promise.all(files.map((f, i) => saveKeyFile(f, pairs[i]!)));
  const senders = await loadSenders(files);
  const factory = new TxFactory({ chainId: 'resync', senders, sink: new Uint8Array(20) });
  const first = factory.batch(6); // nonces 0, 1, 2 for each sender, interleaved
  assert.deepEqual(
    senders.map((s) => s.nextNonce),
    [3, 3],
  );
  // The chain committed sender a's nonces 0 and sender b's 0..2: a's 2 was lost in an overload.
  const committed = new Map([
    [pairs[0]!.publicKey, 2],
    [pairs[1]!.publicKey, 3],
  ]);
  const moved = await factory.resync(
    async (pk) => committed.get(pairs.find((p) => equalBytes(p.publicKey, pk))!.publicKey)!,
  );
  assert.equal(moved, 1);
  assert.deepEqual(
    senders.map((s) => s.nextNonce),
    [2, 3],
  );
  const [again] = factory.batch(1);
  const lost = first.find((tx) => tx.sender === 0 && first.indexOf(tx) === 4)!; // a's nonce 2
  assert.equal(again!.sender, 0);
  assert.equal(again!.hash, lost.hash, 'the re-made tx is the same tx');
});
