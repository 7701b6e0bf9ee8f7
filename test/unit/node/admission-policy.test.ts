/**
 * The node's admission policy on its own, over an in-memory committed state: verdicts are
 * cached per sender with the keys they read, a commit drops exactly the verdicts whose keys it
 * wrote, concurrent checks of one sender read once, a check that straddles a commit is
 * answered but not cached, and the cache is bounded.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { genesisValues } from '../../../src/app/genesis.ts';
import { memberCodec, memberKey } from '../../../src/app/org/state.ts';
import { PARAMS_KEY, paramsCodec } from '../../../src/app/params/state.ts';
import { civitasApp } from '../../../src/app/registry.ts';
import { keyId } from '../../../src/app/state-view.ts';
import { addressOf } from '../../../src/chain/address.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { generateKeyPair } from '../../../src/crypto/ed25519.ts';
import { AdmissionPolicy } from '../../../src/node/admission-policy.ts';
import { stateKeyHash } from '../../../src/state/smt/index.ts';
import { makeTestChain } from '../../helpers/chain.ts';

/** Committed state as a map, with a commit that reports its writes as the ledger does. */
function committedState(permissioned: boolean) {
  const admin = generateKeyPair().publicKey;
  const member = generateKeyPair().publicKey;
  const { genesis } = makeTestChain({ accounts: 0 });
  const values = new Map<string, Uint8Array>();
  const app = {
    params: { permissioned },
    org: [
      {
        id: 'acme',
        name: 'Acme',
        admins: [toHex(addressOf(admin))],
        members: [{ account: toHex(addressOf(member)) }],
      },
    ],
  };
  for (const [key, value] of genesisValues(civitasApp(), { ...genesis, app })) {
    values.set(keyId(key), value);
  }
  let reads = 0;
  let gate: Promise<void> | undefined;
  const policy = (maxSenders?: number) =>
    new AdmissionPolicy(maxSenders === undefined ? {} : { maxSenders }, {
      readValue: async (key) => {
        reads++;
        await gate;
        return values.get(keyId(key));
      },
    });
  /** Writes values and returns what ExecutedBlock.values would hold for them. */
  const write = (changes: Array<[Uint8Array, Uint8Array]>) => {
    for (const [key, value] of changes) values.set(keyId(key), value);
    return { values: changes.map(([key, value]) => [stateKeyHash(key), value] as const) };
  };
  return {
    admin,
    member,
    policy,
    write,
    reads: () => reads,
    holdReads: (until: Promise<void>) => {
      gate = until;
    },
  };
}

describe('admission policy', () => {
  test('a verdict is read once and then answered from memory', async () => {
    const s = committedState(true);
    const policy = s.policy();
    const stranger = generateKeyPair().publicKey;
    assert.equal(await policy.check(s.member), undefined);
    assert.equal(await policy.check(stranger), 'ORG_NOT_A_MEMBER');
    const reads = s.reads();
    assert.equal(policy.check(s.member), undefined, 'synchronous from memory');
    assert.equal(policy.check(stranger), 'ORG_NOT_A_MEMBER');
    assert.equal(s.reads(), reads);
    assert.equal(policy.hits, 2);
  });

  test('a commit drops the verdicts that read a key it wrote, and only those', async () => {
    const s = committedState(true);
    const policy = s.policy();
    const stranger = generateKeyPair().publicKey;
    await policy.check(s.member);
    await policy.check(stranger);
    // The stranger becomes a member: its own record changes, the member's verdict stays.
    const record = memberCodec.encode({
      org: 'acme',
      roles: ['member'],
      active: true,
      history: { rev: 1, hist: new Uint8Array(32) },
    });
    policy.onCommit(s.write([[memberKey(addressOf(stranger)), record]]));
    assert.equal(policy.size, 1);
    assert.equal(policy.check(s.member), undefined, 'still cached');
    assert.equal(await policy.check(stranger), undefined, 'read again: now a member');
    // Opening the chain rewrites the params every verdict read.
    const open = paramsCodec.encode({
      permissioned: false,
      freezeThreshold: 1,
      history: { rev: 1, hist: new Uint8Array(32) },
    });
    policy.onCommit(s.write([[PARAMS_KEY, open]]));
    assert.equal(policy.size, 0);
    assert.equal(await policy.check(generateKeyPair().publicKey), undefined, 'open chain');
  });

  test('concurrent checks of one sender read once; a check straddling a commit is not cached', async () => {
    const s = committedState(true);
    const policy = s.policy();
    let release!: () => void;
    s.holdReads(new Promise((r) => (release = r)));
    const a = policy.check(s.member);
    const b = policy.check(s.member);
    assert.ok(a instanceof Promise && b instanceof Promise);
    policy.onCommit({ values: [] });
    release();
    assert.deepEqual(await Promise.all([a, b]), [undefined, undefined]);
    assert.equal(s.reads(), 3, 'params, member record, organisation: once for both checks');
    assert.equal(policy.size, 0, 'a commit came in between: not cached');
    assert.equal(await policy.check(s.member), undefined);
    assert.equal(policy.size, 1);
  });

  test('the cache is bounded: the oldest sender is dropped first', async () => {
    const s = committedState(false);
    const policy = s.policy(2);
    const senders = [1, 2, 3].map(() => generateKeyPair().publicKey);
    for (const sender of senders) await policy.check(sender);
    assert.equal(policy.size, 2);
    const reads = s.reads();
    assert.equal(policy.check(senders[2]!), undefined);
    assert.equal(policy.check(senders[1]!), undefined);
    assert.ok(policy.check(senders[0]!) instanceof Promise, 'dropped: read again');
    assert.equal(s.reads(), reads + 1, 'an open chain reads only the params');
  });
});
