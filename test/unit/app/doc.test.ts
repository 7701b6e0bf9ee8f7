/**
 * The doc module on the in-memory chain: the tax office anchors a record (only the root of
 * its salted fields), another agency attests it, the police are granted some fields until a
 * height, log each access and are refused after expiry; grants, revocation, supersession,
 * freeze orders, owners acting as cosigners, rollback of a failed batch, and the document's
 * history replayed from the txs that changed it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { docModule } from '../../../src/app/doc/index.ts';
import { type Document, docKey, documentCodec } from '../../../src/app/doc/state.ts';
import { freezeKey, freezeOrderCodec } from '../../../src/app/freeze/state.ts';
import { objectIdBytes } from '../../../src/app/object-id.ts';
import { keyId } from '../../../src/app/state-view.ts';
import type { Receipt } from '../../../src/chain/receipt.ts';
import type { TxOpInput } from '../../../src/chain/tx.ts';
import { discloseFields, disclosureHash, documentRoot } from '../../../src/client/disclosure.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { CivitasError } from '../../../src/errors/index.ts';
import { AppChain, genesisWith, op, type Party, party } from './harness.ts';

const ok = (r: Receipt | undefined, what = ''): void =>
  assert.equal(r?.code, 'OK', `${what}: ${r?.code}`);

const SCHEMA = '5c'.repeat(32);
const PURPOSE = '9a'.repeat(32);
const LEGAL_BASIS = 'ab'.repeat(32);

/** The record the tax office keeps off chain. */
const RECORD = {
  name: 'Ada Example',
  taxId: 'DE-1234567',
  income2025: '48200',
  address: '1 Harbour Road',
};

/**
 * Agencies: the tax office (an admin and a clerk), the police (an admin and an officer),
 * the health agency (an admin), an archive, a regulator outside the committee.
 */
function agencies(opts: { permissioned?: boolean; extraOrgs?: number } = {}) {
  const taxAdmin = party();
  const clerk = party();
  const policeAdmin = party();
  const officer = party();
  const healthAdmin = party();
  const archiveAdmin = party();
  const regulator = party();
  const stranger = party();
  const extra = Array.from({ length: opts.extraOrgs ?? 0 }, () => party());
  const everyone = [
    taxAdmin,
    clerk,
    policeAdmin,
    officer,
    healthAdmin,
    archiveAdmin,
    regulator,
    stranger,
    ...extra,
  ];
  const chain = new AppChain(
    genesisWith({
      accounts: everyone.map((who) => ({ who, balance: 1_000n })),
      app: {
        params: { permissioned: opts.permissioned ?? true, freezeThreshold: 1 },
        org: [
          {
            id: 'tax-office',
            name: 'Tax office',
            admins: [taxAdmin.hex],
            members: [{ account: clerk.hex, roles: ['member'] }],
          },
          {
            id: 'police',
            name: 'Police',
            admins: [policeAdmin.hex],
            members: [{ account: officer.hex, roles: ['member'] }],
          },
          { id: 'health', name: 'Health agency', admins: [healthAdmin.hex] },
          { id: 'archive', name: 'Archive', admins: [archiveAdmin.hex] },
          {
            id: 'regulator',
            name: 'Regulator',
            committee: false,
            members: [{ account: regulator.hex, roles: ['member', 'regulator'] }],
          },
          ...extra.map((a, i) => ({
            id: `agency${i}`,
            name: `Agency ${i}`,
            committee: false,
            admins: [a.hex],
          })),
        ],
      },
    }),
  );
  return {
    chain,
    taxAdmin,
    clerk,
    policeAdmin,
    officer,
    healthAdmin,
    archiveAdmin,
    regulator,
    stranger,
    extra,
  };
}

/**
 * Runs txs as the next block and checks that every key they read was named by keys(): the
 * block took exactly two reads (block keys, named keys), no retry round.
 */
async function block(chain: AppChain, txs: ReturnType<AppChain['tx']>[]): Promise<Receipt[]> {
  const receipts = await chain.block(txs);
  assert.equal(chain.reads.at(-1), 2, 'every key read was named by keys()');
  return receipts;
}

async function one(chain: AppChain, from: Party, ops: TxOpInput[], cosigners: Party[] = []) {
  const [r] = await block(chain, [chain.tx(from, ops, { cosigners })]);
  return r!;
}

function doc(chain: AppChain, id: string): Document {
  const d = chain.get(docKey(id), documentCodec);
  assert.ok(d !== undefined, `document ${id} exists`);
  return d;
}

function attrs(r: Receipt, type: string): Record<string, string> {
  const e = r.events.find((x) => x.type === type);
  assert.ok(e !== undefined, `event ${type} in ${r.events.map((x) => x.type).join(',')}`);
  return Object.fromEntries(e.attributes);
}

const anchorOp = (id: string, root = 'ee'.repeat(32)) =>
  op('doc', 'anchor', { id, root, schemaHash: SCHEMA });
const grantOp = (id: string, org: string, untilHeight: number, fields = ['name', 'taxId']) =>
  op('doc', 'grant', { id, org, fields, purposeHash: PURPOSE, untilHeight });
const accessOp = (id: string, hash = '11'.repeat(32)) =>
  op('doc', 'logAccess', { id, disclosureHash: hash });

describe('doc: the tax office shares a record with the police', () => {
  test('anchor, attest, grant, disclose, log accesses, refused after expiry, history replays', async () => {
    const { chain, taxAdmin, clerk, policeAdmin, officer, healthAdmin } = agencies();
    const id = 'tax-2026-0001';
    const key = docKey(id);
    const tree = documentRoot(RECORD);

    // The clerk anchors the record's root: the data stays with the tax office.
    const anchored = await one(chain, clerk, [
      op('doc', 'anchor', { id, root: toHex(tree.root), schemaHash: SCHEMA }),
    ]);
    ok(anchored, 'anchor');
    assert.deepEqual(attrs(anchored, 'doc.anchored'), {
      doc: id,
      org: 'tax-office',
      account: clerk.hex,
      root: toHex(tree.root),
      schemaHash: SCHEMA,
      rev: '1',
    });
    let d = doc(chain, id);
    assert.equal(d.org, 'tax-office');
    assert.deepEqual(d.anchoredBy, clerk.address);
    assert.deepEqual(d.root, tree.root);
    assert.equal(d.status, 'active');
    assert.equal(d.history.rev, 1);
    assert.equal((await one(chain, taxAdmin, [anchorOp(id)])).code, 'DOC_EXISTS');

    // The health agency's admin witnesses it; once per organisation, never the owner.
    const attested = await one(chain, healthAdmin, [op('doc', 'attest', { id })]);
    ok(attested, 'attest');
    assert.deepEqual(attrs(attested, 'doc.attested'), {
      doc: id,
      org: 'health',
      account: healthAdmin.hex,
      rev: '2',
    });
    assert.equal(
      (await one(chain, healthAdmin, [op('doc', 'attest', { id })])).code,
      'DOC_ALREADY_ATTESTED',
    );
    assert.equal(
      (await one(chain, taxAdmin, [op('doc', 'attest', { id })])).code,
      'DOC_OWN_ORGANISATION',
    );
    assert.equal(
      (await one(chain, officer, [op('doc', 'attest', { id })])).code,
      'ORG_NOT_ADMIN',
      'a plain member does not attest',
    );
    assert.equal(
      (await one(chain, healthAdmin, [op('doc', 'attest', { id: 'missing' })])).code,
      'DOC_NOT_FOUND',
    );

    // No grant yet: the police cannot log an access; a police member cannot grant itself one.
    assert.equal((await one(chain, officer, [accessOp(id)])).code, 'DOC_NO_GRANT');
    const until = chain.height + 8;
    assert.equal(
      (await one(chain, policeAdmin, [grantOp(id, 'police', until)])).code,
      'DOC_NOT_OWNER',
    );

    // The anchoring clerk grants the police two fields for a purpose until `until`.
    const granted = await one(chain, clerk, [
      op('doc', 'grant', {
        id,
        org: 'police',
        fields: ['taxId', 'name'],
        purposeHash: PURPOSE,
        untilHeight: until,
      }),
    ]);
    ok(granted, 'grant');
    const grantHeight = chain.height;
    assert.deepEqual(attrs(granted, 'doc.granted'), {
      doc: id,
      org: 'police',
      fields: '2',
      purposeHash: PURPOSE,
      untilHeight: String(until),
      account: clerk.hex,
      rev: '3',
    });
    d = doc(chain, id);
    assert.deepEqual(
      d.grants.map((g) => [g.org, g.fields, g.untilHeight, g.since]),
      [['police', ['name', 'taxId'], until, grantHeight]],
      'fields stored sorted',
    );

    // The tax office discloses the granted fields; the officer logs what it received.
    const disclosure = discloseFields(RECORD, tree.salts, ['name', 'taxId']);
    const received = toHex(disclosureHash(disclosure));
    const accessed = await one(chain, officer, [accessOp(id, received)]);
    ok(accessed, 'logAccess');
    const accessHeight = chain.height;
    assert.deepEqual(attrs(accessed, 'doc.accessed'), {
      doc: id,
      org: 'police',
      account: officer.hex,
      disclosureHash: received,
      accesses: '1',
      rev: '4',
    });
    d = doc(chain, id);
    assert.equal(d.accesses, 1);
    assert.deepEqual(d.lastAccess, {
      org: 'police',
      disclosureHash: disclosureHash(disclosure),
      height: accessHeight,
    });

    // Another agency, without a grant, is refused.
    assert.equal((await one(chain, healthAdmin, [accessOp(id)])).code, 'DOC_NO_GRANT');

    // At untilHeight the grant still holds; one block later it has expired.
    await chain.advanceTo(until - 1);
    ok(await one(chain, officer, [accessOp(id)]), 'access at untilHeight');
    assert.equal(chain.height, until);
    const late = await one(chain, officer, [accessOp(id)]);
    assert.equal(late.code, 'DOC_GRANT_EXPIRED');
    assert.equal(late.failedOp, 0);

    d = doc(chain, id);
    assert.equal(d.accesses, 2);
    assert.equal(d.history.rev, 5);
    // Every change (anchor, attest, grant, two accesses) was reported, in order, and the hash
    // chain replays from those txs to the stored history: the accesses are provable.
    assert.deepEqual(
      chain.historyOf(key).map((c) => [c.rev, c.tx.ops[c.opIndex]!.method]),
      [
        [1, 'anchor'],
        [2, 'attest'],
        [3, 'grant'],
        [4, 'logAccess'],
        [5, 'logAccess'],
      ],
    );
    assert.deepEqual(chain.replayHistory(key), d.history);

    // GET /state/doc/<id> renders the document.
    const json = docModule.objects.toJson(chain.values.get(keyId(key))!, id);
    assert.deepEqual(json, {
      id,
      org: 'tax-office',
      anchoredBy: clerk.hex,
      root: toHex(tree.root),
      schemaHash: SCHEMA,
      status: 'active',
      supersededBy: null,
      attestations: ['health'],
      grants: [
        {
          org: 'police',
          fields: ['name', 'taxId'],
          purposeHash: PURPOSE,
          untilHeight: until,
          since: grantHeight,
        },
      ],
      accesses: 2,
      lastAccess: { org: 'police', disclosureHash: '11'.repeat(32), height: until },
      rev: 5,
      hist: toHex(d.history.hist),
    });
  });
});

describe('doc: grants', () => {
  test('who may grant: the owning admin, the anchoring account while a member, as cosigners too', async () => {
    const { chain, taxAdmin, clerk, officer, policeAdmin } = agencies();
    ok(await one(chain, clerk, [anchorOp('d1')]));
    const until = chain.height + 50;
    // The owning organisation's admin (not the anchoring account) grants.
    ok(await one(chain, taxAdmin, [grantOp('d1', 'health', until)]), 'admin grants');
    // One multi-party tx: the officer sends, the clerk cosigns the grant, the access follows.
    const both = await one(
      chain,
      officer,
      [grantOp('d1', 'police', until), accessOp('d1')],
      [clerk],
    );
    ok(both, 'grant and access in one tx');
    assert.equal(doc(chain, 'd1').accesses, 1);
    // A plain member of the owning organisation that did not anchor the document is no owner.
    ok(await one(chain, taxAdmin, [anchorOp('d2')]));
    assert.equal((await one(chain, clerk, [grantOp('d2', 'police', until)])).code, 'DOC_NOT_OWNER');
    // The clerk leaves the tax office: as anchoring account it no longer acts, cosigning or not.
    const [removed] = await chain.block([
      chain.tx(taxAdmin, [op('org', 'removeMember', { account: clerk.hex })]),
    ]);
    ok(removed, 'removeMember');
    const refused = await one(chain, officer, [grantOp('d1', 'police', until + 1)], [clerk]);
    assert.equal(refused.code, 'DOC_NOT_OWNER');
    // A cosigning admin of another organisation is no owner either.
    assert.equal(
      (await one(chain, officer, [grantOp('d1', 'police', until + 1)], [policeAdmin])).code,
      'DOC_NOT_OWNER',
    );
    assert.equal(
      (await one(chain, taxAdmin, [grantOp('nope', 'police', until)])).code,
      'DOC_NOT_FOUND',
    );
  });

  test('grantee and expiry rules; a new grant replaces the old; ungrant', async () => {
    const { chain, taxAdmin, clerk, officer, policeAdmin, healthAdmin, archiveAdmin } = agencies();
    ok(await one(chain, clerk, [anchorOp('d1')]));
    const until = chain.height + 50;
    assert.equal((await one(chain, clerk, [grantOp('d1', 'nobody', until)])).code, 'ORG_UNKNOWN');
    assert.equal(
      (await one(chain, clerk, [grantOp('d1', 'tax-office', until)])).code,
      'DOC_OWN_ORGANISATION',
    );
    // untilHeight must lie after the block that grants (the next block is height + 1).
    assert.equal(
      (await one(chain, clerk, [grantOp('d1', 'police', chain.height + 1)])).code,
      'DOC_BAD_EXPIRY',
    );
    ok(await one(chain, clerk, [grantOp('d1', 'police', chain.height + 2)]), 'ends next block');

    // The archive is suspended by governance (tax, police, health, archive: 3 of 4 votes).
    const [proposed] = await chain.block([
      chain.tx(taxAdmin, [
        op('gov', 'propose', {
          actions: [{ call: 'org.suspend', args: { id: 'archive' } }],
          expiresAtHeight: chain.height + 20,
        }),
      ]),
    ]);
    ok(proposed, 'propose');
    const pid = Number(attrs(proposed!, 'gov.proposed').id);
    for (const admin of [taxAdmin, policeAdmin, healthAdmin]) {
      ok(
        (await chain.block([chain.tx(admin, [op('gov', 'vote', { id: pid, approve: true })])]))[0],
      );
    }
    assert.equal(archiveAdmin.hex.length, 40);
    assert.equal(
      (await one(chain, clerk, [grantOp('d1', 'archive', until)])).code,
      'ORG_SUSPENDED',
    );

    // Replacing the police's grant: other fields, a later end, one grant still.
    ok(await one(chain, taxAdmin, [grantOp('d1', 'police', until, ['address'])]), 'replace');
    const grants = doc(chain, 'd1').grants;
    assert.deepEqual(
      grants.map((g) => [g.org, g.fields, g.untilHeight, g.since]),
      [['police', ['address'], until, chain.height]],
    );
    ok(await one(chain, officer, [accessOp('d1')]), 'access under the new grant');

    // Ungrant: only an existing grant, by the owner; the police are refused after it.
    assert.equal(
      (await one(chain, clerk, [op('doc', 'ungrant', { id: 'd1', org: 'health' })])).code,
      'DOC_NO_GRANT',
    );
    assert.equal(
      (await one(chain, policeAdmin, [op('doc', 'ungrant', { id: 'd1', org: 'police' })])).code,
      'DOC_NOT_OWNER',
    );
    const ungranted = await one(chain, clerk, [op('doc', 'ungrant', { id: 'd1', org: 'police' })]);
    ok(ungranted, 'ungrant');
    assert.deepEqual(attrs(ungranted, 'doc.ungranted'), {
      doc: 'd1',
      org: 'police',
      account: clerk.hex,
      rev: String(doc(chain, 'd1').history.rev),
    });
    assert.deepEqual(doc(chain, 'd1').grants, []);
    assert.equal((await one(chain, officer, [accessOp('d1')])).code, 'DOC_NO_GRANT');
    assert.deepEqual(chain.replayHistory(docKey('d1')), doc(chain, 'd1').history);
  });

  test('at most 32 grants and 32 attestations', async () => {
    const { chain, clerk, extra } = agencies({ extraOrgs: 33 });
    ok(await one(chain, clerk, [anchorOp('d1')]));
    const until = chain.height + 100;
    // 32 grants in 4 txs of 8 ops, one block.
    const txs = [0, 1, 2, 3].map((t) =>
      chain.tx(
        clerk,
        Array.from({ length: 8 }, (_, i) => grantOp('d1', `agency${t * 8 + i}`, until)),
      ),
    );
    for (const r of await block(chain, txs)) ok(r, 'grants');
    assert.equal(doc(chain, 'd1').grants.length, 32);
    assert.equal(
      (await one(chain, clerk, [grantOp('d1', 'agency32', until)])).code,
      'DOC_TOO_MANY_GRANTS',
    );
    ok(await one(chain, clerk, [grantOp('d1', 'agency5', until + 1)]), 'a replacement fits');
    ok(await one(chain, clerk, [op('doc', 'ungrant', { id: 'd1', org: 'agency0' })]));
    ok(await one(chain, clerk, [grantOp('d1', 'agency32', until)]), 'room again');
    assert.deepEqual(
      doc(chain, 'd1').grants.map((g) => g.org),
      Array.from({ length: 32 }, (_, i) => `agency${i + 1}`).sort(),
      'sorted by organisation',
    );

    // 32 organisations attest in one block; the 33rd is refused.
    const attests = extra.slice(0, 32).map((a) => chain.tx(a, [op('doc', 'attest', { id: 'd1' })]));
    for (const r of await block(chain, attests)) ok(r, 'attest');
    assert.equal(
      (await one(chain, extra[32]!, [op('doc', 'attest', { id: 'd1' })])).code,
      'DOC_TOO_MANY_ATTESTATIONS',
    );
    assert.deepEqual(
      doc(chain, 'd1').attestations,
      extra.slice(0, 32).map((_, i) => `agency${i}`),
    );
    assert.deepEqual(chain.replayHistory(docKey('d1')), doc(chain, 'd1').history);
  });
});

describe('doc: revocation and supersession', () => {
  test('an ended document refuses grants and accesses, keeps its record, may still be attested', async () => {
    const { chain, clerk, taxAdmin, officer, healthAdmin } = agencies();
    for (const id of ['a', 'b', 'c']) ok(await one(chain, clerk, [anchorOp(id)]), id);
    ok(await one(chain, healthAdmin, [anchorOp('h')]), 'health anchors its own');
    const until = chain.height + 50;
    ok(await one(chain, clerk, [grantOp('a', 'police', until)]));

    assert.equal(
      (await one(chain, clerk, [op('doc', 'supersede', { id: 'a', by: 'h' })])).code,
      'DOC_BAD_SUCCESSOR',
      'another organisation',
    );
    assert.equal(
      (await one(chain, clerk, [op('doc', 'supersede', { id: 'a', by: 'zz' })])).code,
      'DOC_BAD_SUCCESSOR',
      'absent',
    );
    assert.equal(
      (await one(chain, officer, [op('doc', 'supersede', { id: 'a', by: 'b' })])).code,
      'DOC_NOT_OWNER',
    );
    const superseded = await one(chain, clerk, [op('doc', 'supersede', { id: 'a', by: 'b' })]);
    ok(superseded, 'supersede');
    assert.deepEqual(attrs(superseded, 'doc.superseded'), {
      doc: 'a',
      supersededBy: 'b',
      account: clerk.hex,
      rev: '3',
    });
    const a = doc(chain, 'a');
    assert.equal(a.status, 'superseded');
    assert.equal(a.supersededBy, 'b');
    assert.equal(doc(chain, 'b').history.rev, 1, 'the successor does not change');

    assert.equal((await one(chain, clerk, [grantOp('a', 'health', until)])).code, 'DOC_NOT_ACTIVE');
    assert.equal((await one(chain, officer, [accessOp('a')])).code, 'DOC_NOT_ACTIVE');
    assert.equal(
      (await one(chain, taxAdmin, [op('doc', 'revoke', { id: 'a' })])).code,
      'DOC_NOT_ACTIVE',
    );
    assert.equal(
      (await one(chain, clerk, [op('doc', 'supersede', { id: 'a', by: 'c' })])).code,
      'DOC_NOT_ACTIVE',
    );

    // Revoking b: the admin may; then b supersedes nothing.
    assert.equal(
      (await one(chain, officer, [op('doc', 'revoke', { id: 'b' })])).code,
      'DOC_NOT_OWNER',
    );
    const revoked = await one(chain, taxAdmin, [op('doc', 'revoke', { id: 'b' })]);
    ok(revoked, 'revoke');
    assert.deepEqual(attrs(revoked, 'doc.revoked'), { doc: 'b', account: taxAdmin.hex, rev: '2' });
    assert.equal(doc(chain, 'b').status, 'revoked');
    assert.equal(
      (await one(chain, clerk, [op('doc', 'supersede', { id: 'c', by: 'b' })])).code,
      'DOC_BAD_SUCCESSOR',
      'not active',
    );
    assert.equal(
      (await one(chain, clerk, [op('doc', 'revoke', { id: 'zz' })])).code,
      'DOC_NOT_FOUND',
    );

    // Observation goes on: an ended document is still witnessed; its grant can be withdrawn.
    ok(await one(chain, healthAdmin, [op('doc', 'attest', { id: 'b' })]), 'attest revoked');
    ok(await one(chain, clerk, [op('doc', 'ungrant', { id: 'a', org: 'police' })]), 'ungrant');
    for (const id of ['a', 'b']) {
      assert.deepEqual(chain.replayHistory(docKey(id)), doc(chain, id).history, id);
    }
  });
});

describe('doc: freeze orders', () => {
  test('a frozen document is neither granted nor accessed, but attested; the lift restores it', async () => {
    const { chain, clerk, officer, regulator, healthAdmin } = agencies();
    ok(await one(chain, clerk, [anchorOp('d1')]));
    const until = chain.height + 50;
    ok(await one(chain, clerk, [grantOp('d1', 'police', until)]));
    const target = { kind: 'doc', id: 'd1' };
    ok(
      await one(chain, regulator, [
        op('freeze', 'impose', { ...target, legalBasis: LEGAL_BASIS, reason: 'court order' }),
      ]),
      'impose',
    );
    const order = chain.get(freezeKey('doc', objectIdBytes('d1')), freezeOrderCodec);
    assert.equal(order?.active, true);
    // The order key was named by keys() (an order of kind doc is active): no retry round.
    assert.equal((await one(chain, officer, [accessOp('d1')])).code, 'FREEZE_ACTIVE');
    assert.equal((await one(chain, clerk, [grantOp('d1', 'health', until)])).code, 'FREEZE_ACTIVE');
    ok(await one(chain, healthAdmin, [op('doc', 'attest', { id: 'd1' })]), 'attest while frozen');
    // Another document is not frozen.
    ok(await one(chain, clerk, [anchorOp('d2')]));
    ok(await one(chain, clerk, [grantOp('d2', 'police', until)]), 'another document');
    ok(await one(chain, regulator, [op('freeze', 'lift', target)]), 'lift');
    ok(await one(chain, officer, [accessOp('d1')]), 'access after the lift');
    assert.equal(doc(chain, 'd1').accesses, 1);
  });
});

describe('doc: all or nothing, revisions, membership', () => {
  test('a batch whose second op fails changes no document and reports no history', async () => {
    const { chain, clerk, officer } = agencies();
    ok(await one(chain, clerk, [anchorOp('d1')]));
    const before = new Map(chain.values);
    const changes = chain.changed.length;
    const until = chain.height + 50;
    const r = await one(chain, officer, [grantOp('d1', 'police', until), accessOp('d2')], [clerk]);
    assert.equal(r.code, 'DOC_NOT_FOUND');
    assert.equal(r.failedOp, 1);
    assert.deepEqual(r.events, []);
    assert.deepEqual(chain.values, before, 'state unchanged');
    assert.equal(chain.changed.length, changes, 'no history reported');
    assert.deepEqual(doc(chain, 'd1').grants, []);
  });

  test('an op expecting another revision fails with STALE_REV', async () => {
    const { chain, clerk, officer } = agencies();
    ok(await one(chain, clerk, [{ ...anchorOp('d1'), expectRev: 0 }]), 'create at rev 0');
    const until = chain.height + 50;
    const grant = grantOp('d1', 'police', until);
    assert.equal((await one(chain, clerk, [{ ...grant, expectRev: 0 }])).code, 'STALE_REV');
    ok(await one(chain, clerk, [{ ...grant, expectRev: 1 }]));
    assert.equal(
      (await one(chain, officer, [{ ...accessOp('d1'), expectRev: 1 }])).code,
      'STALE_REV',
    );
    ok(await one(chain, officer, [{ ...accessOp('d1'), expectRev: 2 }]));
    assert.equal(
      (await one(chain, clerk, [{ ...anchorOp('d2'), expectRev: 3 }])).code,
      'STALE_REV',
      'a new document is at rev 0',
    );
  });

  test('on an open chain, non-members neither anchor nor log accesses', async () => {
    const { chain, clerk, stranger } = agencies({ permissioned: false });
    assert.equal((await one(chain, stranger, [anchorOp('s1')])).code, 'ORG_NOT_A_MEMBER');
    ok(await one(chain, clerk, [anchorOp('d1')]));
    ok(await one(chain, clerk, [grantOp('d1', 'police', chain.height + 9)]));
    assert.equal((await one(chain, stranger, [accessOp('d1')])).code, 'ORG_NOT_A_MEMBER');
  });
});

describe('doc: args and ids', () => {
  const grant = docModule.methods.grant!.args;

  function badArgs(fn: () => unknown, what: string): void {
    assert.throws(
      fn,
      (err: unknown) => err instanceof CivitasError && err.code === 'DOC_BAD_ARGS',
      what,
    );
  }

  test('JSON args are checked and fields are sorted; canonical bytes round-trip', () => {
    const base = { id: 'd1', org: 'police', purposeHash: PURPOSE, untilHeight: 9 };
    const parsed = grant.fromJson({ ...base, fields: ['taxId', 'address', 'name'] });
    assert.deepEqual(parsed.fields, ['address', 'name', 'taxId']);
    assert.deepEqual(grant.decode(grant.encode(parsed)), parsed);
    assert.deepEqual(grant.toJson(parsed), { ...base, fields: ['address', 'name', 'taxId'] });
    badArgs(() => grant.fromJson({ ...base, fields: [] }), 'no fields');
    badArgs(() => grant.fromJson({ ...base, fields: ['a', 'a'] }), 'a field twice');
    badArgs(() => grant.fromJson({ ...base, fields: ['x'.repeat(65)] }), 'a long name');
    badArgs(() => grant.fromJson({ ...base, fields: [''] }), 'an empty name');
    badArgs(() => grant.fromJson({ ...base, fields: ['\ud800'] }), 'a lone surrogate');
    badArgs(
      () => grant.fromJson({ ...base, fields: Array.from({ length: 33 }, (_, i) => `f${i}`) }),
      '33 fields',
    );
    badArgs(() => grant.fromJson({ ...base, org: 'Police', fields: ['a'] }), 'an org id');
    badArgs(() => grant.fromJson({ ...base, id: 'a/b', fields: ['a'] }), 'an object id');
    badArgs(() => grant.fromJson({ ...base, fields: ['a'], extra: 1 }), 'an unknown field');
    const anchor = docModule.methods.anchor!.args;
    badArgs(() => anchor.fromJson({ id: 'd1', root: 'ee', schemaHash: SCHEMA }), 'a short root');
    const supersede = docModule.methods.supersede!.args;
    badArgs(() => supersede.fromJson({ id: 'd1', by: 'd1' }), 'superseded by itself');
  });

  test('non-canonical bytes fail the op with DOC_BAD_ARGS', async () => {
    const { chain, clerk } = agencies();
    ok(await one(chain, clerk, [anchorOp('d1')]));
    const parsed = grant.fromJson({
      id: 'd1',
      org: 'police',
      fields: ['a', 'b'],
      purposeHash: PURPOSE,
      untilHeight: chain.height + 9,
    });
    // The same grant with its fields out of order: a second encoding, refused.
    const unsorted = grant.encode({ ...parsed, fields: ['b', 'a'] });
    const r = await one(chain, clerk, [{ module: 'doc', method: 'grant', args: unsorted }]);
    assert.equal(r.code, 'DOC_BAD_ARGS');
    const supersede = docModule.methods.supersede!.args;
    const self = supersede.encode({ id: 'd1', by: 'd1' });
    const s = await one(chain, clerk, [{ module: 'doc', method: 'supersede', args: self }]);
    assert.equal(s.code, 'DOC_BAD_ARGS');
  });

  test('GET /state/doc/<id>: a malformed id is DOC_BAD_ID', () => {
    assert.deepEqual(docModule.objects.key('tax-1'), docKey('tax-1'));
    for (const id of ['', 'a/b', '-x', 'x'.repeat(65)]) {
      assert.throws(
        () => docModule.objects.key(id),
        (err: unknown) => err instanceof CivitasError && err.code === 'DOC_BAD_ID',
        id,
      );
    }
  });
});
