/**
 * Selective disclosure (src/client/disclosure.ts): the root of a record's salted fields
 * against an independent computation, fields disclosed and verified for documents of many
 * sizes, every kind of tampering refused, and a disclosure verified end to end against a
 * document anchored on a real ledger and proven by a state proof under a commit certificate.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StateObjectProof } from '../../../src/api/types.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { encodeHeader, genesisValidatorSet } from '../../../src/chain/index.ts';
import { appModule } from '../../../src/client/calls.ts';
import {
  type Disclosure,
  discloseFields,
  disclosureHash,
  documentRoot,
  fieldLeaf,
  verifyDisclosure,
  verifyDocumentDisclosure,
} from '../../../src/client/disclosure.ts';
import {
  addressOf,
  call,
  fromHex,
  genesisStateRoot,
  type KeyPair,
  sign,
  toHex,
} from '../../../src/client/index.ts';
import { CivitasError } from '../../../src/errors/index.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { encodeStateProof, stateProofToJson } from '../../../src/state/smt/index.ts';
import { commitNext, makeTestChain, type TestChain } from '../../helpers/chain.ts';

const RECORD = {
  name: 'Ada Example',
  taxId: 'DE-1234567',
  income2025: '48200',
  address: '1 Harbour Road',
  'note ü': 'non-ASCII names and values: ✓',
};

/** Fixed salts, so roots are reproducible: salt i is 16 bytes of value i + 1. */
function fixedSalts(names: readonly string[]): Record<string, Uint8Array> {
  return Object.fromEntries(names.map((n, i) => [n, new Uint8Array(16).fill(i + 1)]));
}

function assertRefused(fn: () => unknown, code: string, reason: string | null, what: string) {
  assert.throws(
    fn,
    (err: unknown) => {
      assert.ok(err instanceof CivitasError, `${what}: ${String(err)}`);
      assert.equal(err.code, code, `${what}: ${err.message}`);
      if (reason !== null) assert.equal(err.context.reason, reason, `${what}: ${err.message}`);
      return true;
    },
    what,
  );
}

const clone = (d: Disclosure): Disclosure => structuredClone(d);

function flipHex(hex: string, at = 0): string {
  const b = fromHex(hex);
  b[at % b.length]! ^= 1;
  return toHex(b);
}

// Independent definitions (node:crypto): SHA-256(SHA-256(tag) || data), varint-prefixed strings.
function tagged(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256').update(createHash('sha256').update(tag).digest());
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function lengthPrefixed(s: string): Uint8Array {
  const bytes = new TextEncoder().encode(s);
  assert.ok(bytes.length < 128, 'one-byte varint in this reference');
  return new Uint8Array([bytes.length, ...bytes]);
}

describe('documentRoot', () => {
  test('leaves and root match an independent computation (two fields)', () => {
    const salts = { b: new Uint8Array(16).fill(7), a: new Uint8Array(16).fill(9) };
    const tree = documentRoot({ b: 'second', a: 'first' }, salts);
    assert.deepEqual(tree.names, ['a', 'b']);
    const leaf = (name: string, salt: Uint8Array, value: string) =>
      tagged('civitas/doc-field/v1', lengthPrefixed(name), salt, lengthPrefixed(value));
    const la = leaf('a', salts.a, 'first');
    const lb = leaf('b', salts.b, 'second');
    assert.deepEqual(fieldLeaf('a', salts.a, 'first'), la);
    const merkleLeaf = (d: Uint8Array) => tagged('civitas/merkle-leaf/v1', d);
    const expected = tagged('civitas/merkle-inner/v1', merkleLeaf(la), merkleLeaf(lb));
    assert.equal(toHex(tree.root), toHex(expected));
    assert.deepEqual(tree.salts, { a: salts.a, b: salts.b });
  });

  test('names sort by UTF-8 bytes; fresh salts are random, given ones reproduce the root', () => {
    const tree = documentRoot(RECORD);
    assert.deepEqual(tree.names, ['address', 'income2025', 'name', 'note ü', 'taxId']);
    assert.deepEqual(Object.keys(tree.salts).sort(), [...tree.names].sort());
    for (const salt of Object.values(tree.salts)) assert.equal(salt.length, 16);
    assert.deepEqual(documentRoot(RECORD, tree.salts).root, tree.root);
    assert.notDeepEqual(documentRoot(RECORD).root, tree.root, 'new salts, new root');
    // By UTF-8 bytes (code points): "ｚ" (U+FF5A, ef bd 9a) before "😀" (U+1F600, f0 9f 98 80);
    // JavaScript's default sort (UTF-16 code units: d83d < ff5a) would put "😀" first.
    const names = documentRoot({ a: '1', Z: '2', é: '3', '😀': '4', ｚ: '5' }).names;
    assert.deepEqual(names, ['Z', 'a', 'é', 'ｚ', '😀']);
  });

  test('a record that breaks a rule is DOC_BAD_ARGS', () => {
    const bad = (fn: () => unknown, what: string) => assertRefused(fn, 'DOC_BAD_ARGS', null, what);
    bad(() => documentRoot({}), 'no field');
    bad(() => documentRoot({ ['x'.repeat(65)]: 'v' }), 'a long name');
    bad(() => documentRoot({ '': 'v' }), 'an empty name');
    bad(() => documentRoot({ a: 5 as unknown as string }), 'a value that is not a string');
    bad(() => documentRoot({ a: '\ud800' }), 'a lone surrogate');
    bad(() => documentRoot({ a: 'v' }, { a: new Uint8Array(15) }), 'a short salt');
  });
});

describe('discloseFields and verifyDisclosure', () => {
  test('every field of documents of 1..9 fields verifies alone, and subsets verify together', () => {
    for (let n = 1; n <= 9; n++) {
      const record = Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, `v${i}`]));
      const tree = documentRoot(record);
      for (const name of tree.names) {
        const d = discloseFields(record, tree.salts, [name]);
        assert.equal(d.count, n);
        assert.deepEqual(verifyDisclosure(d, { root: tree.root }), { [name]: record[name] });
      }
      const some = tree.names.filter((_, i) => i % 2 === 0);
      const d = discloseFields(record, tree.salts, [...some].reverse());
      assert.deepEqual(
        d.fields.map((f) => f.name),
        some,
        'listed by index',
      );
      assert.deepEqual(
        verifyDisclosure(JSON.parse(JSON.stringify(d)), { root: tree.root, status: 'active' }),
        Object.fromEntries(some.map((k) => [k, record[k]])),
      );
    }
  });

  test('a field named like an Object.prototype member is an ordinary field', () => {
    const record = { constructor: 'c', toString: 't', other: 'o' };
    const tree = documentRoot(record);
    const d = discloseFields(record, tree.salts, ['constructor']);
    assert.deepEqual(verifyDisclosure(d, { root: tree.root }), { constructor: 'c' });
    assertRefused(
      () => discloseFields({ other: 'o' }, fixedSalts(['other']), ['constructor']),
      'DOC_BAD_ARGS',
      null,
      'not a field',
    );
  });

  test('a tampered value, salt, proof, index, count, name or root is refused', () => {
    const tree = documentRoot(RECORD, fixedSalts(Object.keys(RECORD)));
    const good = discloseFields(RECORD, tree.salts, ['income2025', 'taxId']);
    const anchored = { root: tree.root };
    assert.deepEqual(verifyDisclosure(good, anchored), {
      income2025: '48200',
      taxId: 'DE-1234567',
    });
    /** The good disclosure with field `i` changed. */
    const field = (i: number, change: Record<string, unknown>): Disclosure => {
      const d = clone(good);
      Object.assign(d.fields[i]!, change);
      return d;
    };
    const proof = good.fields[1]!.proof;
    const bad = 'VERIFY_DISCLOSURE';
    const malformed = 'CLIENT_BAD_RESPONSE';
    const cases: Array<[string, Disclosure, string, string | null]> = [
      ['value', field(0, { value: '99999' }), bad, 'field_proof'],
      ['salt', field(0, { salt: flipHex(good.fields[0]!.salt) }), bad, 'field_proof'],
      [
        'proof sibling',
        field(1, { proof: [flipHex(proof[0]!, 5), ...proof.slice(1)] }),
        bad,
        'field_proof',
      ],
      ['proof shortened', field(1, { proof: proof.slice(0, -1) }), bad, 'field_proof'],
      ['index', field(1, { index: 3 }), bad, 'field_proof'],
      ['count', { ...clone(good), count: 8 }, bad, 'field_proof'],
      ['name', field(1, { name: 'taxID' }), bad, 'field_proof'],
      ['root', { ...clone(good), root: flipHex(good.root) }, bad, 'root'],
      ['order', { ...clone(good), fields: clone(good).fields.reverse() }, bad, 'order'],
      [
        'a field twice',
        { ...clone(good), fields: [...clone(good).fields, clone(good).fields[1]!] },
        bad,
        'order',
      ],
      ['salt not hex', field(0, { salt: 'zz' }), malformed, null],
      ['salt short', field(0, { salt: '00'.repeat(15) }), malformed, null],
      ['root short', { ...clone(good), root: '00' }, malformed, null],
      ['index beyond count', field(1, { index: 5 }), malformed, null],
      ['no fields', { ...clone(good), fields: [] }, malformed, null],
      ['value not a string', field(0, { value: 1 }), malformed, null],
      ['proof not a list', field(0, { proof: 'ab' }), malformed, null],
    ];
    for (const [what, d, code, reason] of cases) {
      assertRefused(() => verifyDisclosure(d, anchored), code, reason, what);
    }
    // A disclosure of another document (its own root, consistent) is not of the anchored one.
    const other = documentRoot({ ...RECORD, income2025: '1' }, tree.salts);
    const forged = discloseFields({ ...RECORD, income2025: '1' }, other.salts, ['income2025']);
    assertRefused(() => verifyDisclosure(forged, anchored), 'VERIFY_DISCLOSURE', 'root', 'forged');
    for (const status of ['revoked', 'superseded']) {
      assertRefused(
        () => verifyDisclosure(good, { root: tree.root, status }),
        'VERIFY_DOC_NOT_ACTIVE',
        'not_active',
        status,
      );
    }
    assertRefused(
      () => verifyDisclosure(null as unknown as Disclosure, anchored),
      'CLIENT_BAD_RESPONSE',
      null,
      'null',
    );
  });

  test('disclosureHash is the root of the disclosed fields alone, and changes with them', () => {
    const tree = documentRoot(RECORD);
    const d = discloseFields(RECORD, tree.salts, ['name', 'taxId']);
    const alone = documentRoot({ name: RECORD.name, taxId: RECORD.taxId }, tree.salts);
    assert.deepEqual(disclosureHash(d), alone.root);
    const changed = clone(d);
    changed.fields[0]!.value = 'Bob';
    assert.notDeepEqual(disclosureHash(changed), disclosureHash(d));
    const all = discloseFields(RECORD, tree.salts, tree.names);
    assert.deepEqual(disclosureHash(all), tree.root, 'everything disclosed: the document root');
  });

  test('disclosing needs every salt, and names that are fields, once each', () => {
    const tree = documentRoot(RECORD);
    const { name: _, ...fewer } = tree.salts;
    const bad = (fn: () => unknown, what: string) => assertRefused(fn, 'DOC_BAD_ARGS', null, what);
    bad(() => discloseFields(RECORD, fewer, ['taxId']), 'a salt missing');
    bad(() => discloseFields(RECORD, tree.salts, ['nope']), 'not a field');
    bad(() => discloseFields(RECORD, tree.salts, ['name', 'name']), 'named twice');
    bad(() => discloseFields(RECORD, tree.salts, []), 'nothing');
  });
});

describe('verifyDocumentDisclosure against a ledger', () => {
  let chain: TestChain;
  let ledger: Ledger;
  let dir: string;
  let trusted: Parameters<typeof verifyDocumentDisclosure>[3];
  let clerk: KeyPair;
  const tree = documentRoot(RECORD);
  const disclosure = discloseFields(RECORD, tree.salts, ['name', 'income2025']);
  const hex = (key: KeyPair) => toHex(addressOf(key.publicKey));

  /** What GET /state/doc/:id?proof=true answers (src/node/rpc-server.ts). */
  async function answer(id: string, height = ledger.height) {
    const key = appModule('doc').objects.key(id);
    const p = await ledger.prove(key, height);
    const block = await ledger.store.getBlock(height);
    const certificate = await ledger.store.getCertificateBytes(height);
    const proof: StateObjectProof = {
      height,
      stateRoot: toHex(p.stateRoot),
      key: toHex(key),
      keyHash: toHex(p.keyHash),
      value: p.value === undefined ? null : toHex(p.value),
      proof: stateProofToJson(p.proof),
      proofBytes: toHex(encodeStateProof(p.proof)),
      headerBytes: block ? toHex(encodeHeader(block.header)) : null,
      certificateBytes: certificate ? toHex(certificate) : null,
    };
    return { proof };
  }

  async function commit(method: string, args: unknown, nonce: number) {
    const tx = sign(
      call({
        chainId: chain.genesis.chainId,
        keys: clerk,
        nonce,
        expiryHeight: 100,
        module: 'doc',
        method,
        args,
      }),
      clerk,
    );
    await commitNext(ledger, chain, [tx]);
    const receipt = await ledger.store.getReceipt({ height: ledger.height, index: 0 });
    assert.equal(receipt?.code, 'OK', `${method}: ${receipt?.code}`);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'civitas-disclosure-'));
    chain = makeTestChain({ validators: 1, accounts: 2 });
    clerk = chain.accountKeys[0]!;
    const genesis = {
      ...chain.genesis,
      app: {
        params: { permissioned: true, freezeThreshold: 1 },
        org: [
          { id: 'tax-office', name: 'Tax office', admins: [hex(clerk)] },
          { id: 'police', name: 'Police', admins: [hex(chain.accountKeys[1]!)] },
        ],
      },
    };
    chain = { ...chain, genesis };
    ledger = await Ledger.open(join(dir, 'db'), genesis, civitasStateMachine());
    trusted = {
      chainId: genesis.chainId,
      validators: genesisValidatorSet(genesis),
      genesisStateRoot: await genesisStateRoot(genesis),
    };
    const schemaHash = '5c'.repeat(32);
    await commit('anchor', { id: 'tax-1', root: toHex(tree.root), schemaHash }, 0);
    await commit('anchor', { id: 'tax-2', root: '77'.repeat(32), schemaHash }, 1);
  });

  after(async () => {
    await ledger?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a disclosed field verifies against the proven anchored root', async () => {
    const v = verifyDocumentDisclosure(disclosure, 'tax-1', await answer('tax-1'), trusted);
    assert.equal(v.height, 2);
    assert.deepEqual(v.fields, { income2025: '48200', name: 'Ada Example' });
    assert.equal(v.document.org, 'tax-office');
    assert.equal(v.document.root, toHex(tree.root));
    assert.equal(v.document.status, 'active');
  });

  test('another document, an absent one, a tampered proof or disclosure are refused', async () => {
    const good = await answer('tax-1');
    const other = await answer('tax-2');
    const absent = await answer('nobody');
    assertRefused(
      () => verifyDocumentDisclosure(disclosure, 'tax-2', good, trusted),
      'VERIFY_KEY',
      null,
      'the proof of tax-1 offered for tax-2',
    );
    assertRefused(
      () => verifyDocumentDisclosure(disclosure, 'tax-2', other, trusted),
      'VERIFY_DISCLOSURE',
      'root',
      'tax-2 anchors another root',
    );
    assertRefused(
      () => verifyDocumentDisclosure(disclosure, 'nobody', absent, trusted),
      'VERIFY_DOC_NOT_ACTIVE',
      'absent',
      'proven absent',
    );
    const value = flipHex(good.proof.value!, 40);
    assertRefused(
      () =>
        verifyDocumentDisclosure(disclosure, 'tax-1', { proof: { ...good.proof, value } }, trusted),
      'VERIFY_STATE_PROOF',
      null,
      'the proven value changed',
    );
    const tampered = clone(disclosure);
    tampered.fields[0]!.value = '1';
    assertRefused(
      () => verifyDocumentDisclosure(tampered, 'tax-1', good, trusted),
      'VERIFY_DISCLOSURE',
      'field_proof',
      'a disclosed value changed',
    );
  });

  test('once the document is revoked, a proof at the new height refuses the disclosure', async () => {
    const atAnchor = await answer('tax-1');
    await commit('revoke', { id: 'tax-1' }, 2);
    const revoked = await answer('tax-1');
    assertRefused(
      () => verifyDocumentDisclosure(disclosure, 'tax-1', revoked, trusted),
      'VERIFY_DOC_NOT_ACTIVE',
      'not_active',
      'revoked',
    );
    // The older proof still shows what held at its height.
    assert.equal(verifyDocumentDisclosure(disclosure, 'tax-1', atAnchor, trusted).height, 2);
  });
});
