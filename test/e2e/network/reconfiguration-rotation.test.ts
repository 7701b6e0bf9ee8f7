/**
 * Validator-set changes where other chains broke (docs: CONSENSUS-NOTES "Reconfiguration"), on
 * real node processes on loopback with real kill -9, one network through three scenarios in
 * order (each a subtest, starting from the set the one before left):
 *
 *  - a removal that would leave the new set without a live quorum is refused
 *    (VALIDATORS_WOULD_HALT), not executed into a halt (FISCO BCOS issue 3876);
 *  - evicted while down, re-added with its old data dir and WAL (Fabric issue 3992): validator
 *    1 is removed while it is down, comes back on its old home — whose WAL and tip still say
 *    it is validator 1 — and is voted in again at index 3, with index 1 now another's key: it
 *    never signs with the stale index, and the chain keeps agreement;
 *  - offline across a full rotation (Tendermint issue 1623, fast sync stalled across set
 *    changes): validator 2 is killed, then every original key is replaced by a new node's
 *    (validators.replace, four changes); restarted, it catches up from its old tip, learning
 *    each new set from the certified chain before it trusts certificates signed by that set.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProposalJson } from '../../../src/api/types.ts';
import { type KeyPair, loadKeyFile } from '../../../src/client/index.ts';
import {
  Consortium,
  counter,
  ExtraNode,
  event,
  lightClientChanges,
  validatorsOf,
} from './helpers/reconfig.ts';
import { TestNetwork, waitFor } from './helpers/test-network.ts';

/** Blocks between changes: small, so each scenario takes seconds. */
const SPACING = 8;

test('reconfiguration: removal refused without a live quorum, evicted while down and re-added, offline across a full rotation', {
  timeout: 300_000,
}, async (t) => {
  const network = await TestNetwork.start(t, {
    validators: 4,
    accounts: 1,
    genesis: { validatorChangeSpacing: SPACING },
  });
  const keys = network.summary.nodes.map((n) => n.publicKey);
  const c = await Consortium.open(network);
  let lastChange = 0;
  let node1OldTip = 0;

  await t.test(
    'a removal that would leave no live quorum is refused with VALIDATORS_WOULD_HALT',
    async () => {
      await network.explain(async () => {
        // Validator 1 goes down and stays down beyond S blocks: it is no longer seen live. (Two
        // of four down would stop the chain, and with it any vote: one down of four is the most
        // a live chain can show.) Removing a live validator, 0, would leave {1, 2, 3}, whose
        // quorum (3) counts only two live members.
        // It is killed while it votes, so its data dir and WAL hold a chain and votes as
        // validator 1 (the next scenario restarts it on them).
        await network.waitForHeight([0, 1, 2, 3], 5);
        node1OldTip = (await network.heights([1]))[0]!;
        await network.stopNode(1, 'SIGKILL');
        const [downAt] = await network.heights([0]);
        await network.waitForHeight([0, 2, 3], downAt! + SPACING + 2);
        const refused = await c.decide({
          call: 'validators.remove',
          args: { publicKey: keys[0] },
        });
        assert.deepEqual(event(refused, 'gov.failed'), {
          id: event(refused, 'gov.voted')?.id,
          action: '0',
          code: 'VALIDATORS_WOULD_HALT',
        });
        const id = Number(event(refused, 'gov.voted')?.id);
        const proposal: ProposalJson = (await c.client().proposal(id)).proposal;
        assert.equal(proposal.status, 'failed');
        assert.deepEqual(proposal.failure, { index: 0, code: 'VALIDATORS_WOULD_HALT' });
        // Nothing changed, and the chain goes on.
        assert.deepEqual(await validatorsOf(network, 0), keys);
        await network.waitForHeight([0, 2, 3], refused.height + 3);
        await network.assertSameChain([0, 2, 3], 1, refused.height + 3);
      });
    },
  );

  await t.test(
    'evicted while down, re-added with its old WAL: it never signs with a stale index',
    async () => {
      await network.explain(async () => {
        // Validator 1, still down, is removed: {0, 2, 3}, three live of quorum 3. Validator 2's
        // index becomes 1.
        const removedFrom = await c.change(
          { call: 'validators.remove', args: { publicKey: keys[1] } },
          'validators.removed',
        );
        assert.deepEqual(await validatorsOf(network, 0), [keys[0], keys[2], keys[3]]);
        // It may come back as a candidate: governance registers it as an observer.
        const observer = await c.decide({
          call: 'validators.addObserver',
          args: { publicKey: keys[1], name: 'node1 again' },
        });
        assert.ok(event(observer, 'gov.passed'), JSON.stringify(observer.receipt));

        // A signature by node 1 under its old index would be node 2's index now: the others
        // would reject it as a bad signature (and two conflicting votes as evidence).
        const others = [0, 2, 3];
        const badSignatures = () =>
          Promise.all(
            others.map((i) =>
              counter(network, i, 'civitas_consensus_messages_rejected_total', 'bad-signature'),
            ),
          );
        const evidence = () =>
          Promise.all(others.map((i) => counter(network, i, 'civitas_consensus_evidence_total')));
        const badBefore = await badSignatures();
        const evidenceBefore = await evidence();

        // It restarts on its old home: its tip is before the removal, its WAL holds votes as
        // validator 1. It syncs, learns it was removed and follows as an observer.
        assert.ok(node1OldTip >= 5, 'node 1 had a chain when it went down');
        assert.ok(node1OldTip < removedFrom - 1, 'and its tip is before its removal');
        const [tip] = await network.heights([0]);
        await network.startNode(1);
        await network.waitForHeight([1], tip!);
        assert.deepEqual(await validatorsOf(network, 1), [keys[0], keys[2], keys[3]]);

        // Ready, then voted in: it joins at the end, index 3.
        await c.waitSpacing(removedFrom, SPACING, [0]);
        await c.ready(await loadNodeKey(network, 1));
        const addedFrom = await c.change(
          { call: 'validators.add', args: { publicKey: keys[1], name: 'node1 again' } },
          'validators.added',
        );
        lastChange = addedFrom;
        assert.deepEqual(await validatorsOf(network, 0), [keys[0], keys[2], keys[3], keys[1]]);
        const signedAt = await waitFor(
          async () => {
            const [h] = await network.heights([0]);
            for (let x = addedFrom; x <= h!; x++) {
              const b = await network.block(0, x);
              if (b.certificate?.signers.includes(3)) return x;
            }
            return undefined;
          },
          'a certificate signed by the re-added validator (index 3)',
          60_000,
          500,
        );
        await network.waitForHeight([0, 1, 2, 3], signedAt + 3);
        network.assertAlive([0, 1, 2, 3]);
        assert.deepEqual(await badSignatures(), badBefore, 'a signature under a stale index');
        assert.deepEqual(await evidence(), evidenceBefore, 'equivocation evidence');
        const fatal = (await network.logLines(1, 'error')).filter((l) => l.includes('consensus'));
        assert.deepEqual(fatal, []);
        await network.assertSameChain([0, 1, 2, 3], 1, signedAt + 3);
      });
    },
  );

  await t.test('offline across a full rotation, a node catches up from its old tip', async () => {
    await network.explain(async () => {
      assert.ok(lastChange > 0, 'node 1 was re-added');
      // The set is [0, 2, 3, 1]. Four new nodes, each registered as an observer (so the
      // validators admit them), each bootstrapping to the genesis nodes and to the new nodes
      // made before it, so they reach each other before the old nodes are gone from the set.
      const fresh: ExtraNode[] = [];
      for (const i of [0, 1, 2, 3]) {
        fresh.push(
          await ExtraNode.create(t, network, {
            name: `new${i}`,
            bootstrap: [...network.summary.nodes.map((n) => n.p2p), ...fresh.map((n) => n.p2p)],
          }),
        );
      }
      const registered = await c.propose(
        fresh.map((n) => ({
          call: 'validators.addObserver',
          args: { publicKey: n.publicKey, name: n.name },
        })),
      );
      const passed = await c.approve(registered.id);
      assert.ok(event(passed, 'gov.passed'), JSON.stringify(passed.receipt));
      await Promise.all(fresh.map((n) => n.start()));
      await Promise.all(fresh.map((n) => n.waitForHeight(passed.height)));
      // Txs go to a validator that stays through the next change: it is never behind.
      c.via = 3;

      // Validator 2 goes down at its tip; it misses all four replacements.
      const [oldTip] = await network.heights([2]);
      await network.stopNode(2, 'SIGKILL');
      for (const i of [2, 0, 3, 1]) {
        await c.waitSpacing(lastChange, SPACING, [0]);
        const newcomer = fresh[i]!;
        await newcomer.waitForHeight((await network.heights([0]))[0]! - 2);
        await c.ready(newcomer.keys);
        lastChange = await c.change(
          {
            call: 'validators.replace',
            args: { old: keys[i], new: newcomer.publicKey, name: newcomer.name },
          },
          'validators.replaced',
        );
        if (i === 2) c.via = fresh[2]!.rpc;
      }
      const rotated = [fresh[0]!, fresh[2]!, fresh[3]!, fresh[1]!].map((n) => n.publicKey);
      await Promise.all(fresh.map((n) => n.waitForHeight(lastChange + 3)));
      assert.deepEqual(await validatorsOf(network, 0), rotated);
      assert.ok(!rotated.some((k) => keys.includes(k)), 'no original key is left');

      // Why register node 2 as an observer: the new validators and the old nodes (now
      // observers) admit a removed validator only for 64 blocks after its removal; node 2
      // dials its own bootstrap list (the genesis nodes, which follow as observers), and they
      // — and the new validators — must admit it however long it was away.
      await c.decide({
        call: 'validators.addObserver',
        args: { publicKey: keys[2], name: 'node2 observer' },
      });
      const tip = await c.height();
      await network.startNode(2);
      await network.waitForHeight([2], tip + 2, 90_000);
      const status = (await network.statuses([2]))[0]!;
      assert.ok(status.height > oldTip! + 4 * SPACING);

      // It learned every set from the certified chain: its change log is the new nodes', and
      // a light client from the genesis verifies it (six changes, ending with the rotation).
      // (Each node keeps the certificate it decided or synced: signer subsets may differ.)
      const changesOn = async (url: string) =>
        (
          (await (await fetch(`${url}/validators/changes`)).json()) as {
            changes: Array<{ fromHeight: number; validators: string[]; headerBytes: string }>;
          }
        ).changes.map((ch) => [ch.fromHeight, ch.validators, ch.headerBytes]);
      const onTwo = await changesOn(network.local.rpc(2));
      assert.deepEqual(onTwo, await changesOn(fresh[0]!.rpc));
      assert.equal(onTwo.length, 6);
      assert.deepEqual(onTwo.at(-1)![1], rotated);
      const light = await lightClientChanges(network, network.local.rpc(2));
      assert.equal(light.changes.changes.length, 6);
      assert.deepEqual(await validatorsOf(network, 2), rotated);
      const errors = await network.logLines(2, 'error');
      assert.deepEqual(errors, []);

      // Agreement: the old nodes that follow and the new validators hold the same chain,
      // which goes on.
      const end = status.height;
      await network.assertSameChain([0, 1, 2, 3], 1, end);
      for (const n of fresh) {
        await n.waitForHeight(end);
        for (let h = oldTip!; h <= end; h++) {
          assert.equal(
            await n.blockHash(h),
            await network.blockHash(2, h),
            `block ${h} on ${n.name}`,
          );
        }
      }
      await Promise.all(fresh.map((n) => n.waitForHeight(end + 3)));
    });
  });
});

/** Node i's validator key, from its home (the test plays its operator). */
async function loadNodeKey(network: TestNetwork, i: number): Promise<KeyPair> {
  const home = network.summary.nodes[i]!.home;
  const config = JSON.parse(await readFile(join(home, 'config.json'), 'utf8')) as {
    keyFile: string;
  };
  return loadKeyFile(join(home, config.keyFile));
}
