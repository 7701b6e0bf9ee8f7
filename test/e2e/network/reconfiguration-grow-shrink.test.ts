/**
 * Validator-set changes where other chains broke (docs: CONSENSUS-NOTES "Reconfiguration"), on
 * real node processes on loopback with real kill -9, one network through five scenarios in
 * order (each a subtest; a later one starts from the set the earlier left):
 *
 *  - concurrent proposals: a second validator-change proposal while one is open is refused
 *    (GOV_VALIDATOR_PROPOSAL_OPEN), and so is one proposal with two changes
 *    (GOV_ONE_VALIDATOR_CHANGE) — each change must be judged on the set the last one left;
 *  - grow while a node is down (Fabric's Raft, stuck growing 3 → 4 with a node down): a fifth
 *    validator is voted in while validator 3 is killed; 3 comes back, syncs across the change
 *    and signs again;
 *  - the new validator is a silent primary: its turns pass by view changes;
 *  - the removed node stops at once after its removal while another validator is down: the
 *    new set's remaining live quorum goes on;
 *  - the previous-commit signature of a removed node (Fabric PR 5024): the block after the
 *    removal carries the change block's certificate, signed by the removed node; it verifies
 *    against that height's set on every node (a node syncing it validates it) and in a light
 *    client holding only the genesis, and not against the next height's set.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BlockResponse, TxResponse } from '../../../src/api/types.ts';
import { decodeBlock, verifyCertificate } from '../../../src/chain/index.ts';
import { fromHex, loadKeyFile, trustedSetAt, verifyTxProof } from '../../../src/client/index.ts';
import { primaryIndex } from '../../../src/consensus/proofs.ts';
import { verifyNoble } from '../../../src/crypto/ed25519.ts';
import {
  assertSameBlocks,
  Consortium,
  ExtraNode,
  event,
  lightClientChanges,
  validatorsOf,
} from './helpers/reconfig.ts';
import { TestNetwork, waitFor } from './helpers/test-network.ts';

/** Blocks between changes: small, so each scenario takes seconds. */
const SPACING = 8;

test('reconfiguration: concurrent proposals, grow with a node down, silent new primary, removal with a node down', {
  timeout: 300_000,
}, async (t) => {
  const network = await TestNetwork.start(t, {
    validators: 4,
    accounts: 1,
    genesis: { validatorChangeSpacing: SPACING },
  });
  const keys = network.summary.nodes.map((n) => n.publicKey);
  const c = await Consortium.open(network);
  const fifth = await ExtraNode.create(t, network, { name: 'fifth', faultInjection: true });
  let addedFrom = 0;

  await network.explain(async () => {
    // The newcomer is registered, so the validators admit its node, and follows the chain.
    const observer = await c.decide({
      call: 'validators.addObserver',
      args: { publicKey: fifth.publicKey, name: 'fifth' },
    });
    assert.ok(event(observer, 'gov.passed'), JSON.stringify(observer.receipt));
    await fifth.start();
    await fifth.waitForHeight(observer.height);
  });

  const add = { call: 'validators.add', args: { publicKey: fifth.publicKey, name: 'fifth' } };
  let addProposal = 0;

  await t.test(
    'a second validator change while one is open, and two in one proposal, are refused',
    async () => {
      await network.explain(async () => {
        const first = await c.propose([add]);
        assert.equal(first.receipt.status, 'ok', JSON.stringify(first.receipt));
        addProposal = first.id;
        const remove = { call: 'validators.remove', args: { publicKey: keys[3] } };
        const second = await c.propose([remove], 1);
        assert.equal(second.receipt.status, 'failed');
        assert.equal(second.receipt.code, 'GOV_VALIDATOR_PROPOSAL_OPEN');
        const both = await c.propose([add, remove], 2);
        assert.equal(both.receipt.status, 'failed');
        assert.equal(both.receipt.code, 'GOV_ONE_VALIDATOR_CHANGE');
        // The rule is about set changes: another proposal may open meanwhile.
        const other = await c.propose(
          [{ call: 'validators.removeObserver', args: { publicKey: fifth.publicKey } }],
          3,
        );
        assert.equal(other.receipt.status, 'ok', JSON.stringify(other.receipt));
        const open = await c.client().proposal(first.id);
        assert.equal(open.proposal.status, 'open');
        assert.equal((await validatorsOf(network, 0)).length, 4, 'nothing changed');
      });
    },
  );

  await t.test(
    'a fifth validator joins while validator 3 is down; 3 syncs across and signs again',
    async () => {
      await network.explain(async () => {
        assert.ok(addProposal > 0, 'the add proposal is open');
        await network.stopNode(3, 'SIGKILL');
        // Readiness then the votes: the proof must be at most S blocks old when the add executes.
        await c.ready(fifth.keys);
        const decided = await c.approve(addProposal);
        assert.ok(event(decided, 'gov.passed'), JSON.stringify(decided.receipt));
        addedFrom = Number(event(decided, 'validators.added')?.fromHeight);
        assert.equal(addedFrom, decided.height + 1);
        // Five validators, four live: exactly the quorum (4) carries the chain.
        await network.waitForHeight([0, 1, 2], addedFrom + 3);
        await fifth.waitForHeight(addedFrom + 3);
        assert.deepEqual(await validatorsOf(network, 0), [...keys, fifth.publicKey]);
        assert.deepEqual(await validatorsOf(network, 0, addedFrom - 1), keys);

        const [tipBefore] = await network.heights([0]);
        await network.startNode(3);
        await network.waitForHeight([3], tipBefore! + 2);
        assert.deepEqual(await validatorsOf(network, 3), [...keys, fifth.publicKey]);
        // It signs again: a certificate after its return carries index 3 (of the five).
        const signedAt = await waitFor(
          async () => {
            const [tip] = await network.heights([0]);
            for (let h = tipBefore! + 1; h <= tip!; h++) {
              const b = await network.block(0, h);
              if (b.certificate?.signers.includes(3)) return h;
            }
            return undefined;
          },
          'a certificate signed by the returned validator 3',
          60_000,
          500,
        );
        assert.ok(signedAt > addedFrom);
        await network.assertSameChain([0, 1, 2, 3], 1, signedAt);
        await assertSameBlocks(network, 0, fifth, 1, signedAt);
      });
    },
  );

  await t.test(
    'the new validator as a silent primary: its turns pass by view changes',
    async () => {
      await network.explain(async () => {
        assert.ok(addedFrom > 0, 'the fifth validator was added');
        await fifth.setFaults({ byzantine: 'silent' });
        const [silentAt] = await network.heights([0]);
        const until = silentAt! + 12;
        await network.waitForHeight([0, 1, 2, 3], until, 90_000);
        // From silentAt + 2 on, the fifth validator was silent for the whole height.
        let turns = 0;
        for (let h = silentAt! + 2; h <= until; h++) {
          if (primaryIndex(h, 0, 5) !== 4) continue;
          turns++;
          const b = await network.block(0, h);
          assert.notEqual(
            b.header.proposer,
            fifth.publicKey,
            `block ${h} proposed by the silent node`,
          );
          assert.ok(
            (b.certificate?.view ?? 0) >= 1,
            `block ${h} decided in view 0: ${JSON.stringify(b.certificate)}`,
          );
        }
        assert.ok(turns >= 2, `the silent node's turn came ${turns} times`);
        const status = await fifth.setFaults({ byzantine: 'none' });
        assert.ok(Number(status.silenced) > 0, `nothing was silenced: ${JSON.stringify(status)}`);
        // It still followed the chain while silent.
        await fifth.waitForHeight(until);
        await network.assertSameChain([0, 1, 2, 3], addedFrom, until);
        await assertSameBlocks(network, 0, fifth, addedFrom, until);
      });
    },
  );

  await t.test(
    'a removed validator stops at once while another is down; its last signature verifies',
    async () => {
      await network.explain(async () => {
        assert.ok(addedFrom > 0, 'the fifth validator was added');
        await c.waitSpacing(addedFrom, SPACING, [0]);
        // Validator 2 goes down; 1 is voted out and stops as soon as the change is committed.
        await network.stopNode(2, 'SIGKILL');
        const removedFrom = await c.change(
          { call: 'validators.remove', args: { publicKey: keys[1] } },
          'validators.removed',
        );
        await network.stopNode(1, 'SIGTERM');
        const changeBlock = removedFrom - 1;
        const live = [0, 3];
        // The new set {0, 2, 3, fifth} (quorum 3) goes on with its three live members.
        await network.waitForHeight(live, removedFrom + 5);
        await fifth.waitForHeight(removedFrom + 5);
        const newSet = [keys[0]!, keys[2]!, keys[3]!, fifth.publicKey];
        assert.deepEqual(await validatorsOf(network, 0), newSet);

        // The block after the change carries the change block's certificate: with 2 down, the
        // five-set's quorum (4) needed every live member, the removed validator (index 1) too.
        const lastCommitOf = async (i: number) => {
          const b = await network.get<BlockResponse>(i, `/blocks/${removedFrom}`);
          assert.equal(b?.status, 200);
          return b!.body;
        };
        const after = await lastCommitOf(0);
        assert.equal(after.lastCommit?.height, changeBlock);
        assert.ok(after.lastCommit?.signers.includes(1), JSON.stringify(after.lastCommit));

        // A light client holding only the genesis follows the two changes and checks it against
        // the set of the change block's height — and it is no certificate of the next set.
        const light = await lightClientChanges(network, network.local.rpc(0));
        assert.equal(light.changes.changes.length, 2);
        const carried = decodeBlock(fromHex(after.blockBytes)).lastCommit!;
        const changeHash = fromHex((await network.block(0, changeBlock)).hash);
        const atChange = trustedSetAt(light.genesisSet, light.changes, changeBlock);
        verifyCertificate(
          carried,
          {
            chainId: light.chainId,
            height: changeBlock,
            blockHash: changeHash,
            validators: atChange,
          },
          verifyNoble,
        );
        assert.throws(() =>
          verifyCertificate(
            carried,
            {
              chainId: light.chainId,
              height: changeBlock,
              blockHash: changeHash,
              validators: trustedSetAt(light.genesisSet, light.changes, removedFrom),
            },
            verifyNoble,
          ),
        );
        // A tx committed after both changes verifies in the light client.
        const accountKeys = await loadKeyFile(network.summary.accounts[0]!.file);
        const sent = await c.tx(accountKeys, [
          {
            call: 'bank.transfer',
            args: { to: network.summary.organisations[0]!.admin.address, amount: '1' },
          },
        ]);
        assert.equal(sent.receipt.status, 'ok');
        const proof = await network.get<TxResponse>(0, `/txs/${sent.receipt.txHash}`);
        assert.ok(proof?.body.status === 'committed');
        const verified = verifyTxProof(fromHex(sent.receipt.txHash), proof.body, {
          chainId: light.chainId,
          validators: light.genesisSet,
          changes: await lightClientChanges(network, network.local.rpc(0)).then((l) => l.changes),
        });
        assert.equal(verified.height, sent.height);

        // Validator 2 comes back: it syncs the block carrying the removed node's signature,
        // validating that certificate against the set of its height, and the chain goes on.
        const [tip] = await network.heights([0]);
        await network.startNode(2);
        await network.waitForHeight([0, 2, 3], tip! + 3);
        const onTwo = await lastCommitOf(2);
        assert.equal(onTwo.hash, after.hash);
        assert.ok(onTwo.lastCommit?.signers.includes(1));
        for (const i of [0, 2, 3]) {
          assert.ok((await validatorsOf(network, i, changeBlock)).includes(keys[1]!));
          assert.ok(!(await validatorsOf(network, i, removedFrom)).includes(keys[1]!));
        }
        const [end] = await network.heights([2]);
        await network.assertSameChain([0, 2, 3], 1, end!);
        await assertSameBlocks(network, 0, fifth, removedFrom - 2, end!);
        assert.deepEqual(
          await network.get<{ height: number }>(1, '/status'),
          undefined,
          'the removed validator is stopped',
        );
      });
    },
  );
});
