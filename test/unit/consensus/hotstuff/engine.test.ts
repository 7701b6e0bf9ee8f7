import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyCertificate } from '../../../../src/chain/certificate.ts';
import {
  type HotStuffMessage,
  type Proposal,
  proposalSigningHash,
} from '../../../../src/consensus/hotstuff/messages.ts';
import { leaderIndex } from '../../../../src/consensus/hotstuff/pacemaker.ts';
import { toHex } from '../../../../src/crypto/bytes.ts';
import { CHAIN_ID, HotStuffCluster } from './harness.ts';

function heights(c: HotStuffCluster, i: number): string[] {
  return c.chains[i]!.map((e) => toHex(e.block.hash));
}

/** Every pair of replicas agrees on every height both committed. */
function assertAgreement(c: HotStuffCluster): void {
  for (let i = 0; i < c.n; i++) {
    for (let j = 0; j < c.n; j++) {
      const a = heights(c, i);
      const b = heights(c, j);
      for (let h = 0; h < Math.min(a.length, b.length); h++) {
        assert.equal(a[h], b[h], `replicas ${i} and ${j} differ at height ${h + 1}`);
      }
    }
  }
}

describe('HotStuff engine', () => {
  it('commits on the happy path with certificates chain code accepts, votes going to the leader only', () => {
    const c = new HotStuffCluster(4);
    c.startAll();
    c.run(5_000);
    // The run stops when the queue drains: it never does while blocks keep coming, so cap it.
    const committed = Math.min(...c.chains.map((chain) => chain.length));
    assert.ok(committed >= 5, `committed ${committed}`);
    assertAgreement(c);
    for (const { block, certificate } of c.chains[0]!) {
      verifyCertificate(
        certificate,
        {
          chainId: CHAIN_ID,
          height: block.header.height,
          blockHash: block.hash,
          validators: c.validators,
        },
        c.ctx.verify,
      );
    }
    // Linear: per height 4 broadcasts (proposal, 2 QCs, decide) to n − 1 and 3 votes from n − 1.
    const perHeight = c.delivered / committed;
    assert.ok(perHeight <= 7 * (c.n - 1) + 1, `${perHeight} messages per height`);
  });

  it('recovers from a silent leader by timeouts: a TC moves everyone to the next view', () => {
    const c = new HotStuffCluster(4);
    const leader = leaderIndex(1, 0, 4);
    c.silent.add(leader);
    c.startAll();
    c.run();
    assert.equal(c.chains[0]!.length + c.chains[2]!.length, 0);
    c.timeoutAll();
    const others = [0, 1, 2, 3].filter((i) => i !== leader);
    for (const i of others) {
      assert.ok(c.chains[i]!.length >= 1, `replica ${i} committed nothing`);
      assert.equal(c.engines[i]!.status().viewChanges >= 1, true);
    }
    assert.equal(c.chains[others[0]!]![0]!.certificate.view, 1);
    assertAgreement(c);
  });

  it('a lock forces the next leader to re-propose the block a replica may have committed', () => {
    const c = new HotStuffCluster(4);
    const leader = leaderIndex(1, 0, 4);
    // The PRE-COMMIT QC reaches one replica only, and no DECIDE leaves the leader: the
    // leader alone committed (it formed the certificate), one replica is locked.
    const locked = (leader + 1) % 4;
    c.filter = (from, to, m) =>
      !(from === leader && m.type === 'qc' && m.qc.phase === 'pre-commit' && to !== locked) &&
      !(from === leader && m.type === 'decide');
    c.startAll();
    c.run();
    // Only the locked replica votes COMMIT, so no certificate forms at all in view 0.
    assert.equal(c.chains[leader]!.length, 0);
    const first = c.engines[leader]!;
    assert.equal(first.status().height, 1);
    c.filter = () => true;
    c.timeoutAll();
    const committed = c.chains.map((chain) => chain[0]?.block.hash);
    const proposedInView0 = c.wal[leader]!.find(
      (e) => e.kind === 'signed' && e.message.type === 'proposal',
    );
    assert.ok(proposedInView0 !== undefined && proposedInView0.kind === 'signed');
    const original = (proposedInView0.message as Proposal).block.hash;
    for (let i = 0; i < 4; i++) {
      assert.ok(committed[i] !== undefined, `replica ${i} committed nothing`);
      assert.equal(toHex(committed[i]!), toHex(original), `replica ${i} committed another block`);
    }
  });

  it('a locked replica refuses a proposal for another block whose justify is not newer than its lock', () => {
    const c = new HotStuffCluster(4);
    const leader = leaderIndex(1, 0, 4);
    const locked = (leader + 1) % 4;
    c.filter = (from, to, m) =>
      !(from === leader && m.type === 'qc' && m.qc.phase === 'pre-commit' && to !== locked) &&
      !(from === leader && m.type === 'decide');
    c.startAll();
    c.run();
    // View 1's leader (Byzantine here) proposes a fresh block with no justify; the locked
    // replica must not even ask to validate it.
    c.filter = () => false;
    c.timeoutAll();
    const byzantine = leaderIndex(1, 1, 4);
    const status = c.engines[locked]!.status();
    assert.equal(status.view, 0, 'no TC was delivered');
    // Deliver the TIMEOUTs by hand to the locked replica so it enters view 1.
    for (let i = 0; i < 4; i++) {
      for (const e of c.wal[i]!) {
        if (e.kind === 'signed' && e.message.type === 'timeout' && i !== locked) {
          c.inject(locked, e.message);
        }
      }
    }
    assert.equal(c.engines[locked]!.status().view, 1);
    const tcFrom = c.wal[byzantine]!.find(
      (e) => e.kind === 'signed' && e.message.type === 'timeout',
    );
    assert.ok(tcFrom);
    const tc = (() => {
      // The locked replica formed the TC of view 0; take it from its next TIMEOUT.
      c.fire(locked, 'view');
      const own = c.wal[locked]!.filter((e) => e.kind === 'signed' && e.message.type === 'timeout');
      const last = own.at(-1);
      assert.ok(last?.kind === 'signed' && last.message.type === 'timeout');
      return last.message.tc;
    })();
    assert.ok(tc !== null);
    // A fresh engine for the locked replica, restarted from its WAL: the lock survives.
    c.restart(locked);
    const block = c.buildBlock(byzantine, null);
    const conflicting: HotStuffMessage = {
      type: 'proposal',
      height: 1,
      view: 1,
      validatorIndex: byzantine,
      justify: null,
      tc: { ...tc, signatures: tc.signatures.map((s) => ({ ...s, highQC: null })) },
      signature: c.keys[byzantine]!.sign(proposalSigningHash(CHAIN_ID, 1, 1, block.hash)),
      block,
    };
    const actions = c.inject(locked, conflicting);
    assert.equal(
      actions.some((a) => a.type === 'validate-proposal' || a.type === 'send'),
      false,
      'the locked replica voted for a conflicting block',
    );
  });

  it('an equivocating leader cannot split honest replicas', () => {
    const c = new HotStuffCluster(4);
    const leader = leaderIndex(1, 0, 4);
    const others = [0, 1, 2, 3].filter((i) => i !== leader);
    const groupB = new Set([others[0]!]);
    // The leader sends its proposal to group A and another valid block to group B, and
    // votes for whatever it is asked to.
    c.filter = (from, to, m) => !(from === leader && m.type === 'proposal' && groupB.has(to));
    c.startAll();
    c.run(1);
    c.run(1);
    const alt = c.buildBlock(leader, null);
    const fork: Proposal = {
      type: 'proposal',
      height: 1,
      view: 0,
      validatorIndex: leader,
      justify: null,
      tc: null,
      signature: c.keys[leader]!.sign(proposalSigningHash(CHAIN_ID, 1, 0, alt.hash)),
      block: alt,
    };
    for (const to of groupB) c.inject(to, fork);
    c.run(2_000);
    for (let round = 0; round < 6; round++) {
      c.timeoutAll();
    }
    assertAgreement(c);
    for (const i of others) assert.ok(c.chains[i]!.length >= 1, `replica ${i} is stuck`);
  });

  it('a restarted replica re-sends the vote it signed, never a new one', () => {
    const c = new HotStuffCluster(4);
    c.startAll();
    c.run(3);
    const voter = [0, 1, 2, 3].find((i) =>
      c.wal[i]!.some((e) => e.kind === 'signed' && e.message.type === 'vote'),
    );
    assert.ok(voter !== undefined);
    const before = c.wal[voter]!.filter((e) => e.kind === 'signed').length;
    c.restart(voter);
    c.run(2_000);
    const votes = c.wal[voter]!.filter(
      (e) => e.kind === 'signed' && e.message.type === 'vote' && e.message.height === 1,
    );
    const keys = votes.map((e) =>
      e.kind === 'signed' && e.message.type === 'vote'
        ? `${e.message.view}:${e.message.phase}`
        : '',
    );
    assert.equal(new Set(keys).size, keys.length, 'a vote was signed twice');
    assert.ok(c.wal[voter]!.length >= before);
    assertAgreement(c);
  });
});
