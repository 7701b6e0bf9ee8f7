/**
 * Growing from one validator to two (Besu halted there, issue 8425), on real processes: a
 * one-validator chain decides alone but still serves observers; governance registers a
 * second node, which follows the chain, proves it is ready and is voted in; from the next
 * height both sign every certificate (a two-validator quorum is both), the first node having
 * handed its heights from solo to PBFT, and the chain goes on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertSameBlocks,
  Consortium,
  ExtraNode,
  event,
  validatorsOf,
} from './helpers/reconfig.ts';
import { TestNetwork } from './helpers/test-network.ts';

const SPACING = 4;

test('a one-validator chain grows to two without a halt', { timeout: 180_000 }, async (t) => {
  const network = await TestNetwork.start(t, {
    validators: 1,
    accounts: 0,
    genesis: { validatorChangeSpacing: SPACING },
  });
  const c = await Consortium.open(network);
  const second = await ExtraNode.create(t, network, { name: 'second' });

  await network.explain(async () => {
    const registered = await c.propose([
      { call: 'validators.addObserver', args: { publicKey: second.publicKey, name: 'second' } },
    ]);
    assert.equal(registered.receipt.status, 'ok', JSON.stringify(registered.receipt));
    // One organisation: its own vote is the threshold.
    assert.ok(event(await c.approve(registered.id, [0]), 'gov.passed'));
    await second.start();
    await second.waitForHeight(registered.height);
    assert.equal((await network.status(0))?.consensus.engine, 'solo');

    await c.ready(second.keys);
    const add = await c.propose([
      { call: 'validators.add', args: { publicKey: second.publicKey, name: 'second' } },
    ]);
    const decided = await c.approve(add.id, [0]);
    assert.ok(event(decided, 'gov.passed'), JSON.stringify(decided.receipt));
    const from = Number(event(decided, 'validators.added')?.fromHeight);
    assert.equal(from, decided.height + 1);

    // Both sign from the next height on, and the chain keeps going.
    await network.waitForHeight([0], from + 5, 60_000);
    await second.waitForHeight(from + 5);
    assert.equal((await network.status(0))?.consensus.engine, 'pbft');
    assert.equal((await validatorsOf(network, 0)).length, 2);
    for (let h = from; h <= from + 5; h++) {
      const block = await network.block(0, h);
      assert.deepEqual(block.certificate?.signers, [0, 1], `certificate of ${h}`);
    }
    // Before the change, one signature was the quorum.
    assert.deepEqual((await network.block(0, from - 1)).certificate?.signers, [0]);
    await assertSameBlocks(network, 0, second, 1, from + 5);
  });
});
