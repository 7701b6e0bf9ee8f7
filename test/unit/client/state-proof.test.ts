/**
 * verifyStateProof on a real ledger with organisations and params in its genesis: objects of
 * every module prove present or absent against a certified header (and at height 0 against
 * the genesis file), the key always derived from module and id by the client; a tampered
 * value, proof, header or certificate, or another object's proof, fails with a VERIFY_* code.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StateObjectProof } from '../../../src/api/types.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import {
  decodeHeader,
  encodeCertificate,
  encodeHeader,
  genesisValidatorSet,
  makeValidatorSet,
} from '../../../src/chain/index.ts';
import { appModule } from '../../../src/client/calls.ts';
import {
  addressOf,
  call,
  fromHex,
  generateKeyPair,
  genesisStateRoot,
  type KeyPair,
  sign,
  toHex,
  verifyStateProof,
} from '../../../src/client/index.ts';
import { CivitasError } from '../../../src/errors/index.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import {
  decodeStateProof,
  encodeStateProof,
  stateProofToJson,
} from '../../../src/state/smt/index.ts';
import { certify, commitNext, makeTestChain, type TestChain } from '../../helpers/chain.ts';

function assertFails(fn: () => unknown, code: string | RegExp, what: string): void {
  assert.throws(
    fn,
    (err: unknown) => {
      assert.ok(err instanceof CivitasError, `${what}: expected CivitasError, got ${String(err)}`);
      if (typeof code === 'string') assert.equal(err.code, code, `${what}: ${err.message}`);
      else assert.match(err.code, code, `${what}: ${err.message}`);
      return true;
    },
    what,
  );
}

function flip(hex: string, at: number): string {
  const bytes = fromHex(hex);
  bytes[at % bytes.length]! ^= 1;
  return toHex(bytes);
}

describe('verifyStateProof', () => {
  let chain: TestChain;
  let ledger: Ledger;
  let dir: string;
  let trusted: Parameters<typeof verifyStateProof>[3];
  let admin: KeyPair;
  let newcomer: Uint8Array;
  const hex = (key: KeyPair) => toHex(addressOf(key.publicKey));

  /** What GET /state/:module/:id?proof=true answers (src/node/rpc-server.ts). */
  async function answer(module: string, id: string, height = ledger.height) {
    const key = appModule(module).objects.key(id);
    const p = await ledger.prove(key, height);
    const block = height > 0 ? await ledger.store.getBlock(height) : undefined;
    const certificate = height > 0 ? await ledger.store.getCertificateBytes(height) : undefined;
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

  after(async () => {
    await ledger?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'civitas-state-proof-'));
    chain = makeTestChain({ validators: 1, accounts: 3 });
    admin = chain.accountKeys[0]!;
    const newcomerKeys = generateKeyPair();
    newcomer = addressOf(newcomerKeys.publicKey);
    const genesis = {
      ...chain.genesis,
      app: {
        params: { permissioned: true, freezeThreshold: 1 },
        org: [
          { id: 'acme', name: 'Acme', admins: [hex(admin)] },
          {
            id: 'regulator',
            name: 'Regulator',
            committee: false,
            members: [{ account: hex(chain.accountKeys[1]!), roles: ['member', 'regulator'] }],
          },
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
    // Block 1: the admin adds a member (who consents by cosigning), so an object changes after
    // the genesis.
    const addMember = sign(
      call({
        chainId: genesis.chainId,
        keys: admin,
        nonce: 0,
        expiryHeight: 100,
        module: 'org',
        method: 'addMember',
        args: { account: toHex(newcomer), roles: ['member'] },
        cosigners: [newcomerKeys.publicKey],
      }),
      admin,
      [newcomerKeys],
    );
    await commitNext(ledger, chain, [addMember]);
    const receipt = await ledger.store.getReceipt({ height: 1, index: 0 });
    assert.equal(receipt?.code, 'OK');
  });

  test('objects of every module prove present or absent at a certified height', async () => {
    const cases: Array<[string, string, Record<string, unknown> | null]> = [
      ['params', 'current', { permissioned: true, freezeThreshold: 1 }],
      ['org', 'acme', { name: 'Acme', active: true, committee: true }],
      ['org', `member/${toHex(newcomer)}`, { org: 'acme', roles: ['member'], active: true }],
      ['org', 'nobody', null],
      ['bank', hex(admin), { nonce: 1 }],
      ['bank', toHex(newcomer), null],
      ['gov', '1', null],
      ['freeze', `account/${toHex(newcomer)}`, null],
    ];
    for (const [module, id, expected] of cases) {
      const v = verifyStateProof(module, id, await answer(module, id), trusted);
      assert.equal(v.height, 1, `${module} ${id}`);
      assert.equal(v.present, expected !== null, `${module} ${id}`);
      if (expected === null) {
        assert.equal(v.value, undefined);
        assert.equal(v.json, null);
      } else {
        assert.ok(v.value instanceof Uint8Array);
        for (const [field, value] of Object.entries(expected)) {
          assert.deepEqual(v.json![field], value, `${module} ${id} ${field}`);
        }
      }
    }
  });

  test('at height 0 the proof is checked against the genesis file', async () => {
    const member = `member/${toHex(newcomer)}`;
    const before = verifyStateProof('org', member, await answer('org', member, 0), trusted);
    assert.deepEqual([before.height, before.present], [0, false], 'not a member at genesis');
    const acme = verifyStateProof('org', 'acme', await answer('org', 'acme', 0), trusted);
    assert.deepEqual([acme.height, acme.present], [0, true]);
    const { genesisStateRoot: _, ...withoutGenesis } = trusted;
    const genesisAnswer = await answer('org', 'acme', 0);
    assertFails(
      () => verifyStateProof('org', 'acme', genesisAnswer, withoutGenesis),
      'VERIFY_NO_HEADER',
      'no genesis file',
    );
  });

  test('a tampered value, proof, header or certificate fails with a VERIFY_* code', async () => {
    const id = `member/${toHex(newcomer)}`;
    const good = (await answer('org', id)).proof;
    const absent = (await answer('org', 'nobody')).proof;
    const header = decodeHeader(fromHex(good.headerBytes!));
    const proof = decodeStateProof(fromHex(good.proofBytes));
    const otherSibling = proof.siblings.map((s, i) => (i === 0 ? fromHex(flip(toHex(s), 3)) : s));
    const acme = (await answer('org', 'acme')).proof;
    const otherSet = { ...trusted, validators: makeValidatorSet([generateKeyPair().publicKey]) };
    const cases: Array<[string, string, StateObjectProof, string, typeof trusted?]> = [
      ['value changed', id, { ...good, value: flip(good.value!, 2) }, 'VERIFY_STATE_PROOF'],
      ['value dropped', id, { ...good, value: null }, 'VERIFY_STATE_PROOF'],
      ['absent claimed present', 'nobody', { ...absent, value: good.value }, 'VERIFY_STATE_PROOF'],
      ['value not hex', id, { ...good, value: 'zz' }, 'VERIFY_STATE_PROOF'],
      [
        'proof sibling',
        id,
        {
          ...good,
          proofBytes: toHex(encodeStateProof({ ...proof, siblings: otherSibling })),
        },
        'VERIFY_STATE_PROOF',
      ],
      ['proof bytes', id, { ...good, proofBytes: flip(good.proofBytes, 0) }, 'VERIFY_STATE_PROOF'],
      [
        'header stateRoot',
        id,
        { ...good, headerBytes: toHex(encodeHeader({ ...header, stateRoot: new Uint8Array(32) })) },
        'VERIFY_STATE_PROOF',
      ],
      [
        'header timestamp',
        id,
        {
          ...good,
          headerBytes: toHex(encodeHeader({ ...header, timestamp: header.timestamp + 1 })),
        },
        'VERIFY_CERTIFICATE',
      ],
      ['header bytes', id, { ...good, headerBytes: flip(good.headerBytes!, 0) }, 'VERIFY_HEADER'],
      ['claimed height', id, { ...good, height: 2 }, 'VERIFY_HEIGHT'],
      [
        'certificate of another block',
        id,
        {
          ...good,
          certificateBytes: toHex(
            encodeCertificate(certify(chain, { header: { height: 1 }, hash: new Uint8Array(32) })),
          ),
        },
        'VERIFY_CERTIFICATE',
      ],
      [
        'certificate bytes',
        id,
        { ...good, certificateBytes: flip(good.certificateBytes!, 0) },
        'VERIFY_CERTIFICATE',
      ],
      ['another object', id, acme, 'VERIFY_KEY'],
      ['another key claimed', id, { ...good, keyHash: acme.keyHash }, 'VERIFY_KEY'],
      // The header names the set that signed it, not the one this client trusts.
      ['untrusted validators', id, good, 'VERIFY_VALIDATOR_SET', otherSet],
      ['another chain', id, good, 'VERIFY_WRONG_CHAIN', { ...trusted, chainId: 'other' }],
    ];
    for (const [what, objectId, tampered, code, trust] of cases) {
      assertFails(
        () => verifyStateProof('org', objectId, { proof: tampered }, trust ?? trusted),
        code,
        what,
      );
    }
    // The node's `key` field is never read: a wrong one changes nothing.
    const relabelled = { ...good, key: acme.key };
    assert.equal(verifyStateProof('org', id, { proof: relabelled }, trusted).present, true);
  });

  test('mistakes of the caller: an unknown module, a bad id, an answer without a proof', async () => {
    const good = await answer('params', 'current');
    assertFails(
      () => verifyStateProof('vault', 'x', good, trusted),
      'APP_UNKNOWN_MODULE',
      'module',
    );
    assertFails(() => verifyStateProof('params', 'latest', good, trusted), 'PARAMS_BAD_ID', 'id');
    assertFails(() => verifyStateProof('org', 'member/zz', good, trusted), 'ORG_BAD_ID', 'id');
    assertFails(
      () => verifyStateProof('params', 'current', {}, trusted),
      'CLIENT_BAD_RESPONSE',
      'no proof',
    );
  });
});
