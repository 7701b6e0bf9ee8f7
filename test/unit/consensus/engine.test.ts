import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyCertificate } from '../../../src/chain/certificate.ts';
import { voteSigningHash } from '../../../src/chain/vote.ts';
import { ConsensusEngine } from '../../../src/consensus/engine.ts';
import type { ConsensusAction } from '../../../src/consensus/events.ts';
import { verifyEvidence } from '../../../src/consensus/evidence.ts';
import {
  type ConsensusMessage,
  encodeMessage,
  type NewView,
  newViewSigningHash,
  type PrePrepare,
  prePrepareSigningHash,
  type ViewChange,
  type Vote,
  viewChangeSigningHash,
} from '../../../src/consensus/messages.ts';
import { primaryIndex } from '../../../src/consensus/proofs.ts';
import { equalBytes, toHex } from '../../../src/crypto/bytes.ts';
import { CHAIN_ID, Cluster } from './harness.ts';

function broadcasts(actions: readonly ConsensusAction[], type?: string): ConsensusMessage[] {
  return actions
    .filter((a): a is Extract<ConsensusAction, { type: 'broadcast' }> => a.type === 'broadcast')
    .map((a) => a.message)
    .filter((m) => type === undefined || m.type === type);
}

function allSameChain(c: Cluster, replicas: number[], height: number): void {
  for (const i of replicas)
    assert.ok(c.chains[i]!.length >= height, `replica ${i} reached ${height}`);
  for (let h = 0; h < height; h++) {
    const first = toHex(c.chains[replicas[0]!]![h]!.block.hash);
    for (const i of replicas) assert.equal(toHex(c.chains[i]![h]!.block.hash), first);
  }
}

function vote(
  c: Cluster,
  from: number,
  kind: 'prepare' | 'commit',
  height: number,
  view: number,
  blockHash: Uint8Array,
): Vote {
  const time = kind === 'commit' ? 1 : null;
  return {
    type: kind,
    height,
    view,
    blockHash,
    validatorIndex: from,
    signature: c.keys[from]!.sign(voteSigningHash(kind, CHAIN_ID, height, view, blockHash, time)),
    timestamp: time ?? 0,
  };
}

describe('engine: normal case', () => {
  it('four replicas commit the same blocks and certificates verify as chain certificates (ed25519)', () => {
    const c = new Cluster(4, { scheme: 'ed25519' });
    c.startAll();
    c.run(20_000, 3);
    assert.ok(Math.min(...c.heights()) >= 3, `heights ${c.heights()}`);
    allSameChain(c, [0, 1, 2, 3], 3);
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
      assert.equal(certificate.view, 0);
    }
    // Blocks carry the parent's certificate.
    assert.equal(c.chains[0]![1]!.block.lastCommit?.height, 1);
    // The primary rotates with the height: block h is proposed by validator h mod n.
    for (const { block } of c.chains[0]!) {
      assert.ok(equalBytes(block.header.proposer, c.keys[block.header.height % 4]!.publicKey));
    }
  });

  it('a single validator commits on its own (quorum 1)', () => {
    const c = new Cluster(1);
    c.startAll();
    c.run(100, 3);
    assert.ok(c.chains[0]!.length >= 3);
  });

  it('the primary never sends PREPARE; backups persist each vote before broadcasting it', () => {
    const c = new Cluster(4);
    c.startAll();
    c.run(200);
    const primary = primaryIndex(1, 0, 4);
    assert.equal(c.sent[primary]!.filter((m) => m.type === 'prepare' && m.height === 1).length, 0);
    for (let i = 0; i < 4; i++) {
      const actions = c.actions[i]!;
      actions.forEach((a, k) => {
        if (a.type !== 'broadcast') return;
        const persisted = actions
          .slice(0, k)
          .some(
            (p) =>
              p.type === 'persist' && p.entry.kind === 'signed' && p.entry.message === a.message,
          );
        assert.ok(persisted, `replica ${i} sent ${a.message.type} before persisting it`);
      });
    }
  });
});

describe('engine: view change', () => {
  it('replaces a silent primary: view 1 commits a fresh block', () => {
    const silent = primaryIndex(1, 0, 4);
    const c = new Cluster(4, { silent: new Set([silent]) });
    c.startAll();
    c.run();
    assert.deepEqual(c.heights(), [0, 0, 0, 0]);
    c.fireAll('view', new Set([silent]));
    c.run();
    const honest = [0, 1, 2, 3].filter((i) => i !== silent);
    for (const i of honest) assert.ok(c.chains[i]!.length >= 1);
    const { block, certificate } = c.chains[honest[0]!]![0]!;
    assert.equal(certificate.view, 1);
    assert.ok(equalBytes(block.header.proposer, c.keys[primaryIndex(1, 1, 4)]!.publicKey));
    allSameChain(c, honest, 1);
    assert.ok(c.engines[honest[0]!]!.status().viewChanges >= 1);
    // Each timed out itself: the reason the node logs.
    for (const i of honest) {
      assert.deepEqual(c.engines[i]!.status().lastViewChange, {
        height: 1,
        view: 1,
        reason: 'timeout',
      });
    }
  });

  it('joins a view change after f+1 VIEW-CHANGEs for higher views (without its own timeout)', () => {
    const c = new Cluster(4);
    const silent = primaryIndex(1, 0, 4);
    c.filter = (from) => from !== silent;
    c.startAll();
    c.run();
    // Two replicas (f+1 = 2) time out; the others follow them.
    const late = [0, 2, 3].filter((i) => i !== silent);
    c.fire(late[0]!);
    c.fire(late[1]!);
    c.run();
    const third = [0, 2, 3].find((i) => !late.slice(0, 2).includes(i))!;
    assert.ok(c.engines[third]!.status().viewChanges >= 1, 'the third replica joined');
    assert.equal(c.engines[third]!.status().lastViewChange?.reason, 'joined');
    assert.equal(c.engines[late[0]!]!.status().lastViewChange?.reason, 'timeout');
    assert.equal(
      c.actions[third]!.filter((a) => a.type === 'set-timer' && a.view === 0 && a.height === 1)
        .length,
      1,
    );
    assert.ok(c.chains[late[0]!]!.length >= 1);
  });

  it('starts a view-change timer only once a quorum of VIEW-CHANGEs is in (no running ahead)', () => {
    // Regression (sweep seeds 170, 228): a replica that timed out alone kept moving to the
    // next view just before the others arrived, forever, once timeouts hit their cap.
    const c = new Cluster(4);
    c.filter = () => false;
    c.startAll();
    c.run();
    const alone = c.fire(0);
    assert.ok(broadcasts(alone, 'view-change').length === 1);
    assert.ok(!alone.some((a) => a.type === 'set-timer' && a.kind === 'view'));
    c.fire(1);
    const peer = c.sent[1]!.find((m): m is ViewChange => m.type === 'view-change')!;
    const withOne = c.inject(0, peer);
    assert.ok(!withOne.some((a) => a.type === 'set-timer' && a.kind === 'view'));
    c.fire(2);
    const third = c.sent[2]!.find((m): m is ViewChange => m.type === 'view-change')!;
    const withQuorum = c.inject(0, third);
    const timer = withQuorum.find((a) => a.type === 'set-timer' && a.kind === 'view');
    assert.ok(timer !== undefined && timer.type === 'set-timer' && timer.view === 1);
  });

  it('NEW-VIEW re-proposes the block prepared in the earlier view', () => {
    const c = new Cluster(4);
    // All COMMITs of view 0 are lost: every replica prepares block A but none commits it.
    c.filter = (_from, _to, m) => !(m.type === 'commit' && m.view === 0);
    c.startAll();
    c.run();
    assert.deepEqual(c.heights(), [0, 0, 0, 0]);
    const prepared = c.wal[0]!.find((e) => e.kind === 'prepared');
    assert.ok(prepared !== undefined && prepared.kind === 'prepared');
    const blockA = prepared.block.hash;
    c.filter = () => true;
    c.fireAll();
    c.run();
    const nv = c.sent[primaryIndex(1, 1, 4)]!.find((m): m is NewView => m.type === 'new-view');
    assert.ok(nv !== undefined, 'the new primary sent NEW-VIEW');
    assert.ok(equalBytes(nv.blockHash, blockA), 'NEW-VIEW re-proposes the prepared block');
    assert.ok(
      nv.viewChanges.every(
        (vc) => vc.prepared !== null && equalBytes(vc.prepared.blockHash, blockA),
      ),
    );
    for (let i = 0; i < 4; i++) {
      assert.ok(equalBytes(c.chains[i]![0]!.block.hash, blockA), `replica ${i} committed A`);
      assert.equal(c.chains[i]![0]!.certificate.view, 1);
    }
  });

  describe('rejects a bad NEW-VIEW', () => {
    // Set-up: everyone prepared A in view 0 and timed out; we hold the VIEW-CHANGEs and play
    // a Byzantine new primary against replica 0.
    function setup() {
      const c = new Cluster(4);
      c.filter = (_from, _to, m) => !(m.type === 'commit' && m.view === 0);
      c.startAll();
      c.run();
      c.filter = () => false;
      c.fireAll();
      c.run();
      const vcs = [0, 1, 2, 3].map(
        (i) => c.sent[i]!.find((m): m is ViewChange => m.type === 'view-change')!,
      );
      const primary = primaryIndex(1, 1, 4);
      const blockB = c.buildBlock(primary, null);
      const stripped = vcs.map((vc) => ({ ...vc, preparedBlock: null }));
      function newView(overrides: Partial<NewView>, signer = primary): NewView {
        const base: NewView = {
          type: 'new-view',
          height: 1,
          view: 1,
          validatorIndex: primary,
          viewChanges: stripped.filter((vc) => vc.validatorIndex !== 0).slice(0, 3),
          blockHash: blockB.hash,
          prePrepareSignature: c.keys[signer]!.sign(
            prePrepareSigningHash(CHAIN_ID, 1, 1, overrides.blockHash ?? blockB.hash),
          ),
          signature: new Uint8Array(64),
          block: blockB,
          ...overrides,
        };
        return { ...base, signature: c.keys[signer]!.sign(newViewSigningHash(CHAIN_ID, base)) };
      }
      const target = primary === 0 ? 1 : 0;
      return { c, vcs, stripped, newView, target, primary, blockB };
    }

    it('that ignores the prepared certificates', () => {
      const { c, newView, target } = setup();
      const actions = c.inject(target, encodeMessage(newView({})));
      assert.ok(
        actions.some(
          (a) =>
            a.type === 'reject' && a.reason === 'bad-new-view' && /highest prepared/.test(a.detail),
        ),
      );
      assert.equal(c.engines[target]!.status().phase, 'view-change');
      assert.equal(broadcasts(actions, 'prepare').length, 0);
    });

    it('from a validator that is not the new primary', () => {
      const { c, newView, target, primary } = setup();
      const other = [0, 1, 2, 3].find((i) => i !== primary && i !== target)!;
      const actions = c.inject(target, newView({ validatorIndex: other }, other));
      assert.ok(actions.some((a) => a.type === 'reject' && a.reason === 'not-primary'));
    });

    it('with fewer than a quorum of VIEW-CHANGEs', () => {
      const { c, newView, target, stripped } = setup();
      const actions = c.inject(target, newView({ viewChanges: stripped.slice(0, 2) }));
      assert.ok(actions.some((a) => a.type === 'reject' && a.reason === 'bad-new-view'));
    });

    it('carrying a VIEW-CHANGE with a forged signature or a forged prepared certificate', () => {
      const { c, newView, target, stripped, vcs } = setup();
      const blockA = vcs[0]!.preparedBlock!;
      const reproposeA = { blockHash: blockA.hash, block: blockA };
      const forged = stripped
        .slice(0, 3)
        .map((vc, k) => (k === 0 ? { ...vc, signature: new Uint8Array(64).fill(7) } : vc));
      const a1 = c.inject(target, newView({ viewChanges: forged, ...reproposeA }));
      assert.ok(
        a1.some(
          (a) => a.type === 'reject' && a.reason === 'bad-new-view' && /signature/.test(a.detail),
        ),
      );
      assert.equal(c.engines[target]!.status().phase, 'view-change');
      // A prepared certificate with a forged PREPARE, inside a VIEW-CHANGE that its
      // (Byzantine) sender re-signed: the outer signature is fine, the proof is not.
      const sender = stripped[1]!;
      const p = sender.prepared!;
      const prepares = p.prepares.map((s, k) =>
        k === 0 ? { ...s, signature: new Uint8Array(64) } : s,
      );
      const unsigned: ViewChange = { ...sender, prepared: { ...p, prepares } };
      const signature = c.keys[sender.validatorIndex]!.sign(
        viewChangeSigningHash(CHAIN_ID, unsigned),
      );
      const withBadCert = stripped
        .slice(0, 3)
        .map((vc) =>
          vc.validatorIndex === sender.validatorIndex ? { ...unsigned, signature } : vc,
        );
      const a2 = c.inject(target, newView({ viewChanges: withBadCert, ...reproposeA }));
      assert.ok(
        a2.some(
          (a) =>
            a.type === 'reject' &&
            a.reason === 'bad-new-view' &&
            /prepare signature/.test(a.detail),
        ),
      );
      assert.equal(c.engines[target]!.status().phase, 'view-change');
    });

    it('and accepts the correct one', () => {
      const { c, vcs, newView, target } = setup();
      const blockA = vcs[0]!.preparedBlock!;
      const actions = c.inject(target, newView({ blockHash: blockA.hash, block: blockA }));
      assert.equal(actions.filter((a) => a.type === 'reject').length, 0);
      assert.equal(c.engines[target]!.status().phase, 'normal');
      assert.equal(c.engines[target]!.status().view, 1);
    });
  });

  it('rejects a standalone VIEW-CHANGE whose prepared certificate is forged', () => {
    const c = new Cluster(4);
    c.filter = (_from, _to, m) => !(m.type === 'commit' && m.view === 0);
    c.startAll();
    c.run();
    c.filter = () => false;
    c.fire(1);
    const vc = c.sent[1]!.find((m): m is ViewChange => m.type === 'view-change')!;
    assert.ok(vc.prepared !== null);
    const badPrepares = vc.prepared.prepares.map((p, k) =>
      k === 0 ? { ...p, signature: new Uint8Array(64) } : p,
    );
    const unsigned: ViewChange = { ...vc, prepared: { ...vc.prepared, prepares: badPrepares } };
    // Re-signed by its sender: the outer signature is fine, the proof inside is not.
    const forged: ViewChange = {
      ...unsigned,
      signature: c.keys[1]!.sign(viewChangeSigningHash(CHAIN_ID, unsigned)),
    };
    const actions = c.inject(2, encodeMessage(forged));
    assert.ok(actions.some((a) => a.type === 'reject' && a.reason === 'bad-view-change'));
  });
});

describe('engine: WAL replay', () => {
  it('a restarted backup re-sends its PREPARE and never prepares a conflicting block', () => {
    const c = new Cluster(4);
    const primary = primaryIndex(1, 0, 4);
    const backup = (primary + 1) % 4;
    // Only the pre-prepare travels: every backup PREPAREs block A and stops there.
    c.filter = (_from, _to, m) => m.type === 'pre-prepare';
    c.startAll();
    c.run();
    const prepareA = c.sent[backup]!.find((m): m is Vote => m.type === 'prepare')!;
    assert.ok(prepareA !== undefined);
    const actions = c.restart(backup);
    // Replay re-sends the same bytes, and asks for no new proposal or signature.
    const again = broadcasts(actions, 'prepare') as Vote[];
    assert.equal(again.length, 1);
    assert.ok(equalBytes(again[0]!.signature, prepareA.signature));
    assert.equal(actions.filter((a) => a.type === 'persist').length, 0);
    // A Byzantine primary now offers a different block B for the same view.
    const blockB = c.buildBlock(primary, null);
    const pp: PrePrepare = {
      type: 'pre-prepare',
      height: 1,
      view: 0,
      validatorIndex: primary,
      block: blockB,
      signature: c.keys[primary]!.sign(prePrepareSigningHash(CHAIN_ID, 1, 0, blockB.hash)),
    };
    c.inject(backup, pp);
    c.filter = () => true;
    c.run();
    const prepares = c.sent[backup]!.filter(
      (m): m is Vote => m.type === 'prepare' && m.height === 1 && m.view === 0,
    );
    assert.ok(
      prepares.every((m) => equalBytes(m.blockHash, prepareA.blockHash)),
      'no PREPARE for B',
    );
  });

  it('the same replica WITHOUT its WAL signs the conflicting PREPARE (what the WAL prevents)', () => {
    const c = new Cluster(4);
    const primary = primaryIndex(1, 0, 4);
    const backup = (primary + 1) % 4;
    c.filter = (_from, _to, m) => m.type === 'pre-prepare';
    c.startAll();
    c.run();
    const prepareA = c.sent[backup]!.find((m): m is Vote => m.type === 'prepare')!;
    c.restart(backup, { forgetWal: true });
    const blockB = c.buildBlock(primary, null);
    c.inject(backup, {
      type: 'pre-prepare',
      height: 1,
      view: 0,
      validatorIndex: primary,
      block: blockB,
      signature: c.keys[primary]!.sign(prePrepareSigningHash(CHAIN_ID, 1, 0, blockB.hash)),
    });
    c.run();
    const prepares = c.sent[backup]!.filter((m): m is Vote => m.type === 'prepare' && m.view === 0);
    assert.ok(prepares.some((m) => !equalBytes(m.blockHash, prepareA.blockHash)));
  });

  it('a restarted primary re-sends its proposal instead of building another', () => {
    const c = new Cluster(4);
    const primary = primaryIndex(1, 0, 4);
    c.filter = () => false;
    c.startAll();
    c.run();
    const first = c.sent[primary]!.find((m): m is PrePrepare => m.type === 'pre-prepare')!;
    const actions = c.restart(primary);
    assert.equal(actions.filter((a) => a.type === 'build-proposal').length, 0);
    const resent = broadcasts(actions, 'pre-prepare') as PrePrepare[];
    assert.equal(resent.length, 1);
    assert.ok(equalBytes(resent[0]!.block.hash, first.block.hash));
  });

  it('restores the view and the prepared certificate: the next VIEW-CHANGE still carries it', () => {
    const c = new Cluster(4);
    c.filter = (_from, _to, m) => !(m.type === 'commit' && m.view === 0);
    c.startAll();
    c.run();
    c.filter = () => false;
    c.fire(0);
    assert.equal(c.engines[0]!.status().view, 1);
    c.restart(0);
    const status = c.engines[0]!.status();
    assert.equal(status.view, 1);
    assert.equal(status.phase, 'view-change');
    // Its view-change timer starts once a quorum of VIEW-CHANGEs for view 1 is here.
    assert.equal(c.fire(0).length, 0);
    c.fire(2);
    c.fire(3);
    for (const i of [2, 3]) {
      c.inject(0, c.sent[i]!.find((m): m is ViewChange => m.type === 'view-change')!);
    }
    assert.equal(c.timers[0]!.get('view')?.view, 1);
    c.fire(0);
    const vc2 = c.sent[0]!.filter((m): m is ViewChange => m.type === 'view-change').at(-1)!;
    assert.equal(vc2.view, 2);
    assert.ok(vc2.prepared !== null && vc2.prepared.view === 0, 'prepared certificate survived');
    assert.ok(vc2.preparedBlock !== null);
  });

  it('never signs two different messages for one (kind, height, view) across random crash points', () => {
    // Crash replica k after every prefix of its actions, restart from the WAL written so far,
    // and check that everything it ever signed is consistent.
    for (let cut = 0; cut < 40; cut++) {
      const c = new Cluster(4);
      c.startAll();
      c.run(cut * 3);
      const victim = cut % 4;
      c.restart(victim);
      c.run();
      c.fireAll();
      c.run();
      const seen = new Map<string, string>();
      for (const m of c.sent[victim]!) {
        const key = `${m.type}:${m.height}:${m.view}`;
        const digest = toHex(encodeMessage(m));
        const digestOfVote =
          m.type === 'prepare' || m.type === 'commit' ? toHex(m.blockHash) : digest;
        const prev = seen.get(key);
        if (prev === undefined) seen.set(key, digestOfVote);
        else
          assert.equal(prev, digestOfVote, `cut ${cut}: replica ${victim} equivocated on ${key}`);
      }
    }
  });
});

describe('engine: bounds, rejections and evidence', () => {
  it('buffers future-height messages only up to the per-validator cap', () => {
    const c = new Cluster(4, { engine: { windows: { futurePerValidator: 5, heights: 3 } } });
    c.start(0);
    for (let k = 0; k < 20; k++) {
      c.inject(0, vote(c, 2, 'prepare', 2 + (k % 2), k, new Uint8Array(32).fill(k)));
    }
    const mem = c.engines[0]!.memory();
    assert.equal(mem.futureMaxPerValidator, 5);
    assert.ok(c.rejections(0, 'cap-exceeded') >= 15);
    // Another validator still has its own slots.
    c.inject(0, vote(c, 3, 'prepare', 2, 0, new Uint8Array(32).fill(1)));
    assert.equal(c.engines[0]!.memory().futureTotal, 6);
  });

  it('drops far-future heights and views before checking signatures', () => {
    const c = new Cluster(4);
    c.start(0);
    const far = vote(c, 2, 'prepare', 1_000_000, 0, new Uint8Array(32));
    assert.ok(
      c
        .inject(0, { ...far, signature: new Uint8Array(64) })
        .some((a) => a.type === 'reject' && a.reason === 'future-height'),
    );
    const farView = vote(c, 2, 'commit', 1, 2 ** 40, new Uint8Array(32));
    assert.ok(c.inject(0, farView).some((a) => a.type === 'reject' && a.reason === 'future-view'));
    assert.equal(c.engines[0]!.memory().votes, 0);
  });

  it('keeps at most two votes per validator and view; a conflicting vote is evidence', () => {
    const c = new Cluster(4);
    c.start(0);
    const a = vote(c, 2, 'prepare', 1, 0, new Uint8Array(32).fill(1));
    const b = vote(c, 2, 'prepare', 1, 0, new Uint8Array(32).fill(2));
    const d = vote(c, 2, 'prepare', 1, 0, new Uint8Array(32).fill(3));
    c.inject(0, a);
    assert.ok(c.inject(0, a).length === 0, 'a duplicate is dropped silently');
    const actions = c.inject(0, b);
    const ev = actions.find((x) => x.type === 'evidence');
    assert.ok(ev !== undefined && ev.type === 'evidence');
    assert.equal(ev.evidence.validatorIndex, 2);
    assert.ok(verifyEvidence(ev.evidence, CHAIN_ID, c.validators, c.ctx.verify));
    assert.ok(c.inject(0, d).some((x) => x.type === 'reject' && x.reason === 'cap-exceeded'));
    assert.equal(c.engines[0]!.memory().votes, 2);
    assert.equal(c.engines[0]!.evidence().length, 1);
  });

  it('records an equivocating primary as evidence', () => {
    const c = new Cluster(4);
    c.filter = () => false;
    c.startAll();
    c.run();
    const primary = primaryIndex(1, 0, 4);
    const target = (primary + 1) % 4;
    const blockB = c.buildBlock(primary, null);
    const original = c.sent[primary]!.find((m): m is PrePrepare => m.type === 'pre-prepare')!;
    c.inject(target, original);
    const actions = c.inject(target, {
      ...original,
      block: blockB,
      signature: c.keys[primary]!.sign(prePrepareSigningHash(CHAIN_ID, 1, 0, blockB.hash)),
    });
    const ev = actions.find((x) => x.type === 'evidence');
    assert.ok(ev !== undefined && ev.type === 'evidence' && ev.evidence.kind === 'pre-prepare');
    assert.ok(verifyEvidence(ev.evidence, CHAIN_ID, c.validators, c.ctx.verify));
  });

  it('rejects non-validators, bad signatures and malformed bytes with reason codes', () => {
    const c = new Cluster(4);
    c.start(0);
    const good = vote(c, 2, 'prepare', 1, 0, new Uint8Array(32).fill(9));
    assert.ok(
      c
        .inject(0, { ...good, validatorIndex: 9 })
        .some((a) => a.type === 'reject' && a.reason === 'unknown-validator'),
    );
    assert.ok(
      c
        .inject(0, { ...good, signature: new Uint8Array(64).fill(1) })
        .some((a) => a.type === 'reject' && a.reason === 'bad-signature'),
    );
    assert.ok(
      c
        .inject(0, new Uint8Array([1, 2, 3]))
        .some((a) => a.type === 'reject' && a.reason === 'malformed'),
    );
    // Signed by validator 3 but claiming to be validator 2.
    const claimed = { ...vote(c, 3, 'prepare', 1, 0, new Uint8Array(32)), validatorIndex: 2 };
    assert.ok(
      c.inject(0, claimed).some((a) => a.type === 'reject' && a.reason === 'bad-signature'),
    );
    const counts = c.engines[0]!.rejections();
    assert.equal(counts['bad-signature'], 2);
  });

  it('a replica that sees a certificate for its height in a later message commits or asks to sync', () => {
    const c = new Cluster(4);
    const laggard = 3;
    c.filter = (_from, to) => to !== laggard;
    c.startAll();
    c.run();
    assert.ok(c.chains[0]!.length >= 1);
    assert.equal(c.chains[laggard]!.length, 0);
    // The laggard hears a later PRE-PREPARE, whose block carries the certificate of height 1.
    const later = c.sent
      .flat()
      .find((m): m is PrePrepare => m.type === 'pre-prepare' && m.height === 2)!;
    const actions = c.inject(laggard, later);
    // It never saw block 1, so it must ask for it.
    assert.ok(actions.some((a) => a.type === 'need-sync' && a.targetHeight === 1));
    assert.ok(c.engines[laggard]!.status().syncTarget >= 1);
  });

  it('is deterministic: the same events give the same actions, byte for byte', () => {
    const run = () => {
      const c = new Cluster(4);
      c.startAll();
      c.run(300);
      return c.actions.map((list) =>
        list.map((a) => (a.type === 'broadcast' ? toHex(a.bytes) : a.type)).join('|'),
      );
    };
    assert.deepEqual(run(), run());
  });

  it('a non-validator (observer) follows the chain from the messages it hears, signing nothing', () => {
    const c = new Cluster(4);
    c.startAll();
    c.run(20_000, 3);
    const outsider = new Cluster(5).keys[4]!;
    const observer = new ConsensusEngine({
      chainId: CHAIN_ID,
      publicKey: outsider.publicKey,
      validatorsAt: () => c.validators,
      sign: () => assert.fail('an observer never signs'),
      verify: c.ctx.verify,
      clock: () => 0,
    });
    const out = observer.step({ type: 'start', height: 1, lastCommit: null, wal: [] });
    assert.equal(observer.status().validatorIndex, -1);
    const committed: string[] = [];
    const feed = (actions: ConsensusAction[]) => {
      for (const a of actions) {
        assert.notEqual(a.type, 'broadcast');
        assert.notEqual(a.type, 'persist');
        if (a.type === 'commit') committed.push(toHex(a.block.hash));
        if (a.type === 'validate-proposal') {
          feed(
            observer.step({
              type: 'proposal-validated',
              height: a.height,
              blockHash: a.block.hash,
              valid: true,
            }),
          );
        }
      }
    };
    feed(out);
    for (const m of c.sent.flat()) feed(observer.step({ type: 'message', message: m }));
    assert.ok(committed.length >= 2);
    for (const [h, hash] of committed.entries()) {
      assert.equal(hash, toHex(c.chains[0]![h]!.block.hash));
    }
  });

  it('ignores everything before start', () => {
    const c = new Cluster(4);
    const engine = new ConsensusEngine({
      chainId: CHAIN_ID,
      publicKey: c.keys[0]!.publicKey,
      validatorsAt: () => c.validators,
      sign: c.keys[0]!.sign,
      verify: c.ctx.verify,
      clock: () => 0,
    });
    assert.deepEqual(engine.step({ type: 'timer', kind: 'view', height: 1, view: 0 }), []);
    assert.equal(engine.status().started, false);
  });
});
