/**
 * The asset registry on the in-memory chain: classes and minting by issuers, transfers,
 * leases signed by both parties, grants and condition records, freezes, burning, the
 * all-or-nothing batch, genesis, and the asset's provable history.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assetModule } from '../../../src/app/asset/index.ts';
import {
  type Asset,
  assetClassCodec,
  assetCodec,
  assetKey,
  classKey,
} from '../../../src/app/asset/state.ts';
import { NO_HISTORY } from '../../../src/app/history.ts';
import { keyId } from '../../../src/app/state-view.ts';
import type { Receipt } from '../../../src/chain/receipt.ts';
import type { TxOpInput } from '../../../src/chain/tx.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { AppChain, genesisWith, op, type Party, party } from './harness.ts';

const HASH = (byte: string): string => byte.repeat(32);
const SCHEMA = HASH('5c');
const META = HASH('3e');
const TERMS = HASH('7e');
const LEGAL_BASIS = HASH('ab');

const ok = (r: Receipt, what = ''): void => assert.equal(r.code, 'OK', `${what}: ${r.code}`);

const call = (method: string, args: unknown): TxOpInput => op('asset', method, args);

/**
 * Maker A (org maker-a: an issuer and a plain member), carmaker B and its IoT gateway (org
 * maker-b), an issuer of another organisation (maker-c), and a regulator.
 */
function registry(app: Record<string, unknown> = {}) {
  const makerA = party();
  const clerkA = party();
  const makerB = party();
  const gateway = party();
  const issuerC = party();
  const regulator = party();
  const everyone = [makerA, clerkA, makerB, gateway, issuerC, regulator];
  const chain = new AppChain(
    genesisWith({
      accounts: everyone.map((who) => ({ who, balance: 1_000n })),
      app: {
        params: { permissioned: true },
        org: [
          {
            id: 'maker-a',
            name: 'Maker A',
            members: [
              { account: makerA.hex, roles: ['member', 'issuer'] },
              { account: clerkA.hex, roles: ['member'] },
            ],
          },
          {
            id: 'maker-b',
            name: 'Carmaker B',
            members: [
              { account: makerB.hex, roles: ['member'] },
              { account: gateway.hex, roles: ['member'] },
            ],
          },
          {
            id: 'maker-c',
            name: 'Maker C',
            members: [{ account: issuerC.hex, roles: ['member', 'issuer'] }],
          },
          {
            id: 'regulator',
            name: 'The regulator',
            committee: false,
            members: [{ account: regulator.hex, roles: ['member', 'regulator'] }],
          },
        ],
        ...app,
      },
    }),
  );
  return { chain, makerA, clerkA, makerB, gateway, issuerC, regulator };
}

/** Runs one tx as a block; every call names its keys, so a block costs exactly two reads. */
async function send(
  chain: AppChain,
  from: Party,
  ops: TxOpInput | TxOpInput[],
  cosigners: Party[] = [],
): Promise<Receipt> {
  const [r] = await chain.block([chain.tx(from, Array.isArray(ops) ? ops : [ops], { cosigners })]);
  assert.equal(chain.reads.at(-1), 2, 'no read of a key the call did not name');
  return r!;
}

const attrs = (r: Receipt, type: string): Record<string, string> | undefined => {
  const e = r.events.find((x) => x.type === type);
  return e === undefined ? undefined : Object.fromEntries(e.attributes);
};

const BATTERY = { class: 'battery', id: 'B-001' };
const KEY = assetKey('battery', 'B-001');

function asset(chain: AppChain, key = KEY): Asset {
  return chain.get(key, assetCodec)!;
}

function assetJson(chain: AppChain, id = 'battery/B-001'): Record<string, unknown> {
  return assetModule.objects.toJson(chain.values.get(keyId(assetModule.objects.key(id)))!, id);
}

/** An assert.throws matcher: a CivitasError with exactly this code. */
const withCode =
  (code: string) =>
  (err: unknown): boolean =>
    isCivitasError(err) && err.code === code;

async function defineAndMint(
  chain: AppChain,
  issuer: Party,
  opts: { leasable?: boolean; transferNeedsAcceptance?: boolean; cls?: string } = {},
): Promise<void> {
  const cls = opts.cls ?? 'battery';
  ok(
    await send(chain, issuer, [
      call('defineClass', {
        id: cls,
        leasable: opts.leasable ?? true,
        transferNeedsAcceptance: opts.transferNeedsAcceptance ?? false,
        schemaHash: SCHEMA,
      }),
      call('mint', { class: cls, id: 'B-001', metaHash: META }),
    ]),
    'define and mint',
  );
}

const leaseArgs = (lessee: Party, endHeight: number) => ({
  ...BATTERY,
  lessee: lessee.hex,
  endHeight,
  termsHash: TERMS,
});

const soc = (n: number) => ({
  ...BATTERY,
  kind: 'soc',
  dataHash: HASH(n.toString(16).padStart(2, '0')),
});

describe('the battery story', () => {
  test('mint, lease with both signatures, gateway records, freeze, lift, lease end, history', async () => {
    const { chain, makerA, makerB, gateway, regulator, issuerC } = registry();

    const defined = await send(
      chain,
      makerA,
      call('defineClass', {
        id: 'battery',
        leasable: true,
        transferNeedsAcceptance: false,
        schemaHash: SCHEMA,
      }),
    );
    ok(defined, 'defineClass');
    assert.deepEqual(attrs(defined, 'asset.class_defined'), {
      class: 'battery',
      issuerOrg: 'maker-a',
      leasable: 'true',
      transferNeedsAcceptance: 'false',
      schemaHash: SCHEMA,
      rev: '1',
    });
    const minted = await send(chain, makerA, call('mint', { ...BATTERY, metaHash: META }));
    ok(minted, 'mint');
    assert.deepEqual(attrs(minted, 'asset.minted'), {
      asset: 'battery/B-001',
      owner: makerA.hex,
      metaHash: META,
      rev: '1',
    });

    // A lease needs both parties: the owner alone, or the lessee alone, is refused.
    const endHeight = chain.height + 20;
    const lease = call('leaseStart', leaseArgs(makerB, endHeight));
    assert.equal((await send(chain, makerA, lease)).code, 'ASSET_CONSENT_REQUIRED');
    assert.equal((await send(chain, makerB, lease)).code, 'ASSET_NOT_OWNER');
    const leased = await send(chain, makerA, lease, [makerB]);
    ok(leased, 'leaseStart signed by both');
    assert.deepEqual(attrs(leased, 'asset.lease_started'), {
      asset: 'battery/B-001',
      owner: makerA.hex,
      lessee: makerB.hex,
      endHeight: String(endHeight),
      termsHash: TERMS,
      rev: '2',
    });
    assert.equal(assetJson(chain).holder, makerB.hex);

    // B, the holder, lets its gateway append state-of-charge records.
    const granted = await send(
      chain,
      makerB,
      call('grant', { ...BATTERY, grantee: gateway.hex, kinds: ['soc'], untilHeight: 1_000 }),
    );
    ok(granted, 'grant');
    assert.equal(attrs(granted, 'asset.granted')?.grantor, makerB.hex);
    const first = await send(chain, gateway, call('record', { ...soc(1), uri: 'ipfs://soc/1' }));
    ok(first, 'record 1');
    assert.deepEqual(attrs(first, 'asset.recorded'), {
      asset: 'battery/B-001',
      kind: 'soc',
      dataHash: HASH('01'),
      uri: 'ipfs://soc/1',
      by: gateway.hex,
      record: '1',
      rev: '4',
    });
    ok(await send(chain, gateway, call('record', soc(2))), 'record 2');
    // The grant lists soc only.
    const temp = call('record', { ...BATTERY, kind: 'temp', dataHash: HASH('07') });
    assert.equal((await send(chain, gateway, temp)).code, 'ASSET_NOT_AUTHORIZED');

    // The regulator freezes the battery: A cannot dispose of it, monitoring goes on.
    ok(
      await send(
        chain,
        regulator,
        op('freeze', 'impose', {
          kind: 'asset',
          id: 'battery/B-001',
          legalBasis: LEGAL_BASIS,
          reason: 'illegal trade',
        }),
      ),
      'freeze',
    );
    const toC = call('transfer', { ...BATTERY, to: issuerC.hex });
    assert.equal((await send(chain, makerA, toC)).code, 'FREEZE_ACTIVE');
    ok(await send(chain, gateway, call('record', soc(3))), 'record while frozen');
    const lastRecordHeight = chain.height;
    ok(
      await send(chain, regulator, op('freeze', 'lift', { kind: 'asset', id: 'battery/B-001' })),
      'lift',
    );

    // The owner may end the lease only from its end height on.
    const end = call('leaseEnd', BATTERY);
    assert.ok(chain.height + 1 < endHeight);
    assert.equal((await send(chain, makerA, end)).code, 'ASSET_LEASE_NOT_ENDED');
    await chain.advanceTo(endHeight - 1);
    const ended = await send(chain, makerA, end);
    ok(ended, 'leaseEnd by the owner at endHeight');
    assert.deepEqual(attrs(ended, 'asset.lease_ended'), {
      asset: 'battery/B-001',
      owner: makerA.hex,
      lessee: makerB.hex,
      by: makerA.hex,
      grantsEnded: '1',
      rev: '7',
    });
    // B's grant to its gateway ended with the lease.
    assert.equal((await send(chain, gateway, call('record', soc(4)))).code, 'ASSET_NOT_AUTHORIZED');

    assert.deepEqual(assetJson(chain), {
      class: 'battery',
      id: 'B-001',
      owner: makerA.hex,
      holder: makerA.hex,
      lease: null,
      metaHash: META,
      status: 'active',
      grants: [],
      records: 3,
      lastRecord: { kind: 'soc', dataHash: HASH('03'), height: lastRecordHeight },
      rev: 7,
      hist: toHex(asset(chain).history.hist),
    });

    // mint, leaseStart, grant, 3 records, leaseEnd: 7 revisions, each replayed from its tx.
    const stored = asset(chain).history;
    assert.equal(stored.rev, 7);
    assert.equal(chain.historyOf(KEY).length, 7);
    assert.deepEqual(chain.replayHistory(KEY), stored);
    assert.deepEqual(
      chain.historyOf(KEY).map((c) => c.tx.ops[c.opIndex]!.method),
      ['mint', 'leaseStart', 'grant', 'record', 'record', 'record', 'leaseEnd'],
    );
    const cls = chain.get(classKey('battery'), assetClassCodec)!;
    assert.deepEqual(chain.replayHistory(classKey('battery')), cls.history);
    assert.equal(cls.history.rev, 1);
  });
});

describe('classes and minting', () => {
  test('only an issuer defines a class; its organisation mints in it', async () => {
    const { chain, makerA, clerkA, issuerC, makerB } = registry();
    const define = call('defineClass', {
      id: 'battery',
      leasable: false,
      transferNeedsAcceptance: true,
      schemaHash: SCHEMA,
    });
    assert.equal((await send(chain, clerkA, define)).code, 'ASSET_NOT_ISSUER');
    ok(await send(chain, makerA, define));
    assert.equal((await send(chain, issuerC, define)).code, 'ASSET_CLASS_EXISTS');
    assert.deepEqual(
      assetModule.objects.toJson(chain.values.get(keyId(classKey('battery')))!, 'battery'),
      {
        id: 'battery',
        issuerOrg: 'maker-a',
        leasable: false,
        transferNeedsAcceptance: true,
        schemaHash: SCHEMA,
        rev: 1,
        hist: toHex(chain.get(classKey('battery'), assetClassCodec)!.history.hist),
      },
    );

    const mint = call('mint', { ...BATTERY, owner: makerB.hex, metaHash: META });
    assert.equal(
      (await send(chain, makerA, call('mint', { class: 'car', id: 'X', metaHash: META }))).code,
      'ASSET_UNKNOWN_CLASS',
    );
    // An issuer of another organisation, and a plain member of the issuer's, may not mint.
    assert.equal((await send(chain, issuerC, mint)).code, 'ASSET_NOT_ISSUER');
    assert.equal((await send(chain, clerkA, mint)).code, 'ASSET_NOT_ISSUER');
    ok(await send(chain, makerA, mint), 'mint to B');
    assert.deepEqual(asset(chain).owner, makerB.address);
    assert.equal((await send(chain, makerA, mint)).code, 'ASSET_EXISTS');
    assert.equal(chain.get(assetKey('car', 'X'), assetCodec), undefined);
  });

  test('defineClass and mint check the revision of the new object (0)', async () => {
    const { chain, makerA } = registry();
    const define = call('defineClass', {
      id: 'battery',
      leasable: true,
      transferNeedsAcceptance: false,
      schemaHash: SCHEMA,
    });
    assert.equal((await send(chain, makerA, { ...define, expectRev: 1 })).code, 'STALE_REV');
    ok(await send(chain, makerA, { ...define, expectRev: 0 }));
    const mint = call('mint', { ...BATTERY, metaHash: META });
    assert.equal((await send(chain, makerA, { ...mint, expectRev: 1 })).code, 'STALE_REV');
    ok(await send(chain, makerA, { ...mint, expectRev: 0 }));
    assert.deepEqual(asset(chain).owner, makerA.address, 'owner defaults to the sender');
  });
});

describe('transfers', () => {
  test('the owner signs; grants the old owner gave end; a cosigning owner in a batch', async () => {
    const { chain, makerA, makerB, gateway, issuerC } = registry();
    await defineAndMint(chain, makerA);
    ok(
      await send(
        chain,
        makerA,
        call('grant', { ...BATTERY, grantee: gateway.hex, kinds: ['soc'], untilHeight: 500 }),
      ),
    );
    const toB = call('transfer', { ...BATTERY, to: makerB.hex });
    assert.equal((await send(chain, makerB, toB)).code, 'ASSET_NOT_OWNER');
    // B sends, A cosigns: the owner signed, so the transfer composes in B's tx.
    const moved = await send(chain, makerB, toB, [makerA]);
    ok(moved, 'transfer');
    assert.deepEqual(attrs(moved, 'asset.transferred'), {
      asset: 'battery/B-001',
      from: makerA.hex,
      to: makerB.hex,
      grantsEnded: '1',
      rev: '3',
    });
    assert.deepEqual(asset(chain).owner, makerB.address);
    assert.deepEqual(asset(chain).grants, []);
    assert.equal((await send(chain, gateway, call('record', soc(1)))).code, 'ASSET_NOT_AUTHORIZED');
    assert.equal(
      (await send(chain, makerA, call('transfer', { ...BATTERY, to: issuerC.hex }))).code,
      'ASSET_NOT_OWNER',
    );
    assert.equal(
      (
        await send(
          chain,
          makerA,
          call('transfer', { class: 'battery', id: 'nope', to: makerB.hex }),
        )
      ).code,
      'ASSET_UNKNOWN',
    );
    assert.deepEqual(chain.replayHistory(KEY), asset(chain).history);
  });

  test('a class that needs acceptance wants the recipient to sign', async () => {
    const { chain, makerA, makerB } = registry();
    await defineAndMint(chain, makerA, { transferNeedsAcceptance: true });
    const toB = call('transfer', { ...BATTERY, to: makerB.hex });
    assert.equal((await send(chain, makerA, toB)).code, 'ASSET_ACCEPTANCE_REQUIRED');
    ok(await send(chain, makerA, toB, [makerB]), 'accepted');
    assert.deepEqual(asset(chain).owner, makerB.address);
  });

  test('a leased asset is not transferred; an op at a stale revision fails', async () => {
    const { chain, makerA, makerB, issuerC } = registry();
    await defineAndMint(chain, makerA);
    ok(await send(chain, makerA, call('leaseStart', leaseArgs(makerB, 100)), [makerB]));
    const toC = call('transfer', { ...BATTERY, to: issuerC.hex });
    assert.equal((await send(chain, makerA, toC)).code, 'ASSET_LEASED');
    ok(await send(chain, makerB, call('leaseEnd', BATTERY)), 'the lessee ends it early');
    assert.equal(asset(chain).history.rev, 3);
    assert.equal((await send(chain, makerA, { ...toC, expectRev: 2 })).code, 'STALE_REV');
    ok(await send(chain, makerA, { ...toC, expectRev: 3 }));
  });
});

describe('leases', () => {
  test('lease rules: leasable class, not to the owner, end after now, one at a time', async () => {
    const { chain, makerA, makerB, gateway, clerkA } = registry();
    await defineAndMint(chain, makerA, { leasable: false, cls: 'fixed' });
    const fixed = { class: 'fixed', id: 'B-001' };
    assert.equal(
      (
        await send(chain, makerA, call('leaseStart', { ...leaseArgs(makerB, 100), ...fixed }), [
          makerB,
        ])
      ).code,
      'ASSET_NOT_LEASABLE',
    );
    await defineAndMint(chain, makerA);
    assert.equal(
      (await send(chain, makerA, call('leaseStart', leaseArgs(makerA, 100)))).code,
      'ASSET_LESSEE_IS_OWNER',
    );
    // The block executing it is at height + 1: an end at that height is not after it.
    assert.equal(
      (await send(chain, makerA, call('leaseStart', leaseArgs(makerB, chain.height + 1)), [makerB]))
        .code,
      'ASSET_BAD_LEASE_END',
    );
    ok(
      await send(chain, makerA, call('leaseStart', leaseArgs(makerB, chain.height + 2)), [makerB]),
    );
    assert.equal(
      (await send(chain, makerA, call('leaseStart', leaseArgs(gateway, 100)), [gateway])).code,
      'ASSET_LEASED',
    );
    // Neither owner nor lessee: refused; the lease stays in force after endHeight until ended.
    assert.equal(
      (await send(chain, clerkA, call('leaseEnd', BATTERY))).code,
      'ASSET_NOT_AUTHORIZED',
    );
    assert.deepEqual(asset(chain).lease?.lessee, makerB.address);
    ok(await send(chain, makerA, call('leaseEnd', BATTERY)), 'owner, after endHeight');
    assert.equal((await send(chain, makerA, call('leaseEnd', BATTERY))).code, 'ASSET_NOT_LEASED');
  });

  test("the owner's grants survive the lease, the lessee's end with it", async () => {
    const { chain, makerA, makerB, gateway, clerkA } = registry();
    await defineAndMint(chain, makerA);
    ok(await send(chain, makerA, call('leaseStart', leaseArgs(makerB, 100)), [makerB]));
    const grantTo = (who: Party) =>
      call('grant', { ...BATTERY, grantee: who.hex, kinds: ['soc', 'odo'], untilHeight: 500 });
    ok(await send(chain, makerA, grantTo(clerkA)), "owner's grant");
    ok(await send(chain, makerB, grantTo(gateway)), "lessee's grant");
    assert.deepEqual(
      asset(chain).grants.map((g) => [toHex(g.grantee), toHex(g.grantor)]),
      [
        [clerkA.hex, makerA.hex],
        [gateway.hex, makerB.hex],
      ],
    );
    // The owner records during the lease too.
    ok(await send(chain, makerA, call('record', soc(9))), 'owner records');
    ok(await send(chain, makerB, call('leaseEnd', BATTERY)), 'lessee ends');
    assert.deepEqual(
      asset(chain).grants.map((g) => toHex(g.grantee)),
      [clerkA.hex],
    );
    ok(
      await send(chain, clerkA, call('record', { ...BATTERY, kind: 'odo', dataHash: HASH('0d') })),
    );
    assert.equal((await send(chain, makerB, call('record', soc(1)))).code, 'ASSET_NOT_AUTHORIZED');
  });

  test('a frozen asset is not leased out; the lease still ends while frozen', async () => {
    const { chain, makerA, makerB, regulator } = registry();
    await defineAndMint(chain, makerA);
    const impose = op('freeze', 'impose', {
      kind: 'asset',
      id: 'battery/B-001',
      legalBasis: LEGAL_BASIS,
      reason: 'r',
    });
    // Lease and freeze in one block: the lease runs first, the freeze after it.
    const [leased, frozen] = await chain.block([
      chain.tx(makerA, [call('leaseStart', leaseArgs(makerB, 100))], { cosigners: [makerB] }),
      chain.tx(regulator, [impose]),
    ]);
    ok(leased!);
    ok(frozen!);
    ok(await send(chain, makerB, call('leaseEnd', BATTERY)), 'ended while frozen');
    assert.equal(
      (await send(chain, makerA, call('leaseStart', leaseArgs(makerB, 100)), [makerB])).code,
      'FREEZE_ACTIVE',
    );
    assert.equal(asset(chain).lease, null);
  });
});

describe('records and grants', () => {
  test('grant rules: who grants, until when, replacement, expiry, at most 16', async () => {
    const { chain, makerA, makerB, gateway } = registry();
    await defineAndMint(chain, makerA);
    const grant = (grantee: string, untilHeight: number, kinds = ['soc']) =>
      call('grant', { ...BATTERY, grantee, kinds, untilHeight });
    assert.equal((await send(chain, makerB, grant(gateway.hex, 500))).code, 'ASSET_NOT_AUTHORIZED');
    assert.equal(
      (await send(chain, makerA, grant(gateway.hex, chain.height))).code,
      'ASSET_BAD_GRANT_END',
    );
    // A grant until the block that gives it is valid in that block: the gateway sends the
    // grant (the owner cosigns, and is the grantor) and its record in one tx.
    const both = await send(
      chain,
      gateway,
      [grant(gateway.hex, chain.height + 1), call('record', soc(1))],
      [makerA],
    );
    ok(both);
    assert.equal(attrs(both, 'asset.granted')?.grantor, makerA.hex);
    assert.equal(attrs(both, 'asset.recorded')?.by, gateway.hex);
    assert.equal((await send(chain, gateway, call('record', soc(2)))).code, 'ASSET_NOT_AUTHORIZED');
    // A new grant to the same grantee replaces the old one.
    ok(await send(chain, makerA, grant(gateway.hex, 500, ['soc', 'temp'])));
    ok(await send(chain, makerA, grant(gateway.hex, 600, ['temp'])));
    assert.deepEqual(
      asset(chain).grants.map((g) => [g.kinds, g.untilHeight]),
      [[['temp'], 600]],
    );
    assert.equal((await send(chain, gateway, call('record', soc(3)))).code, 'ASSET_NOT_AUTHORIZED');

    // In one block, 8 short grants (expiring in it) and 7 long ones: 16 with the gateway's.
    const others = Array.from({ length: 16 }, () => party().hex);
    const h = chain.height + 1;
    const filled = await chain.block([
      chain.tx(
        makerA,
        others.slice(0, 8).map((g) => grant(g, h)),
      ),
      chain.tx(
        makerA,
        others.slice(8, 15).map((g) => grant(g, 900)),
      ),
    ]);
    assert.deepEqual(
      filled.map((r) => r.code),
      ['OK', 'OK'],
    );
    assert.equal(asset(chain).grants.length, 16);
    // Next block: the expired ones are dropped by the next grant.
    ok(await send(chain, makerA, grant(others[15]!, 900)));
    assert.equal(asset(chain).grants.length, 9);
    const more = Array.from({ length: 7 }, () => party().hex);
    ok(
      await send(
        chain,
        makerA,
        more.map((g) => grant(g, 900)),
      ),
    );
    assert.equal(asset(chain).grants.length, 16);
    assert.equal(
      (await send(chain, makerA, grant(party().hex, 900))).code,
      'ASSET_TOO_MANY_GRANTS',
    );
    // Replacing an existing grantee's grant is not one more.
    ok(await send(chain, makerA, grant(gateway.hex, 700, ['soc'])));
    assert.equal(asset(chain).grants.length, 16);
    assert.deepEqual(chain.replayHistory(KEY), asset(chain).history);
  });

  test('revoke: the grantor or the owner; a missing grant', async () => {
    const { chain, makerA, makerB, gateway, clerkA } = registry();
    await defineAndMint(chain, makerA);
    ok(await send(chain, makerA, call('leaseStart', leaseArgs(makerB, 100)), [makerB]));
    const grant = (who: Party) =>
      call('grant', { ...BATTERY, grantee: who.hex, kinds: ['soc'], untilHeight: 500 });
    ok(await send(chain, makerB, [grant(gateway), grant(clerkA)]));
    const revoke = (who: Party) => call('revoke', { ...BATTERY, grantee: who.hex });
    assert.equal((await send(chain, makerB, revoke(makerA))).code, 'ASSET_NO_GRANT');
    assert.equal((await send(chain, clerkA, revoke(gateway))).code, 'ASSET_NOT_AUTHORIZED');
    const byOwner = await send(chain, makerA, revoke(gateway));
    ok(byOwner, "the owner revokes the lessee's grant");
    assert.deepEqual(attrs(byOwner, 'asset.revoked'), {
      asset: 'battery/B-001',
      grantee: gateway.hex,
      grantor: makerB.hex,
      by: makerA.hex,
      rev: '5',
    });
    ok(await send(chain, makerB, revoke(clerkA)), 'the grantor revokes');
    assert.deepEqual(asset(chain).grants, []);
    assert.equal((await send(chain, gateway, call('record', soc(1)))).code, 'ASSET_NOT_AUTHORIZED');
  });

  test('a failed op rolls back the records and grants before it', async () => {
    const { chain, makerA, makerB, gateway } = registry();
    await defineAndMint(chain, makerA);
    const before = new Map(chain.values);
    const changes = chain.changed.length;
    const r = await send(chain, makerA, [
      call('record', soc(1)),
      call('grant', { ...BATTERY, grantee: gateway.hex, kinds: ['soc'], untilHeight: 500 }),
      call('leaseStart', leaseArgs(makerB, 100)),
    ]);
    assert.equal(r.code, 'ASSET_CONSENT_REQUIRED');
    assert.equal(r.failedOp, 2);
    assert.deepEqual(r.events, []);
    assert.deepEqual(chain.values, before, 'state unchanged, nonce included');
    assert.equal(chain.changed.length, changes, 'no history change reported');
    assert.equal(asset(chain).records, 0);
  });
});

describe('burning', () => {
  test('the owner burns an unleased, unfrozen asset; it stays, and nothing more happens', async () => {
    const { chain, makerA, makerB, regulator } = registry();
    await defineAndMint(chain, makerA);
    const burn = call('burn', BATTERY);
    assert.equal((await send(chain, makerB, burn)).code, 'ASSET_NOT_OWNER');
    ok(await send(chain, makerA, call('leaseStart', leaseArgs(makerB, 100)), [makerB]));
    assert.equal((await send(chain, makerA, burn)).code, 'ASSET_LEASED');
    ok(await send(chain, makerB, call('leaseEnd', BATTERY)));
    const impose = op('freeze', 'impose', {
      kind: 'asset',
      id: 'battery/B-001',
      legalBasis: LEGAL_BASIS,
      reason: 'r',
    });
    ok(await send(chain, regulator, impose));
    assert.equal((await send(chain, makerA, burn)).code, 'FREEZE_ACTIVE');
    ok(await send(chain, regulator, op('freeze', 'lift', { kind: 'asset', id: 'battery/B-001' })));
    ok(
      await send(
        chain,
        makerA,
        call('grant', { ...BATTERY, grantee: makerB.hex, kinds: ['soc'], untilHeight: 500 }),
      ),
    );
    const burned = await send(chain, makerA, burn);
    ok(burned, 'burn');
    assert.deepEqual(attrs(burned, 'asset.burned'), {
      asset: 'battery/B-001',
      owner: makerA.hex,
      rev: '5',
    });
    const json = assetJson(chain);
    assert.equal(json.status, 'burned');
    assert.deepEqual(json.grants, []);
    assert.equal(json.rev, 5);
    for (const [from, o, cosigners] of [
      [makerA, call('transfer', { ...BATTERY, to: makerB.hex }), []],
      [makerA, call('leaseStart', leaseArgs(makerB, 100)), [makerB]],
      [makerA, call('leaseEnd', BATTERY), []],
      [makerA, call('record', soc(1)), []],
      [
        makerA,
        call('grant', { ...BATTERY, grantee: makerB.hex, kinds: ['soc'], untilHeight: 500 }),
        [],
      ],
      [makerA, call('revoke', { ...BATTERY, grantee: makerB.hex }), []],
      [makerA, burn, []],
    ] as Array<[Party, TxOpInput, Party[]]>) {
      assert.equal((await send(chain, from, o, cosigners)).code, 'ASSET_BURNED', o.method);
    }
    assert.deepEqual(chain.replayHistory(KEY), asset(chain).history);
  });
});

describe('args and objects', () => {
  test('JSON args are checked, and canonical bytes round-trip', () => {
    const badArgs = (method: string, json: unknown): void =>
      assert.throws(
        () => call(method, json),
        withCode('ASSET_BAD_ARGS'),
        `${method} ${JSON.stringify(json)}`,
      );
    badArgs('defineClass', {
      id: 'x',
      leasable: 'yes',
      transferNeedsAcceptance: false,
      schemaHash: SCHEMA,
    });
    badArgs('defineClass', {
      id: 'a/b',
      leasable: true,
      transferNeedsAcceptance: false,
      schemaHash: SCHEMA,
    });
    badArgs('mint', { ...BATTERY, metaHash: 'ab' });
    badArgs('mint', { ...BATTERY, metaHash: META, extra: 1 });
    badArgs('record', { ...BATTERY, kind: 'SOC', dataHash: META });
    badArgs('record', { ...BATTERY, kind: 'x'.repeat(33), dataHash: META });
    badArgs('record', { ...BATTERY, kind: 'soc', dataHash: META, uri: 'u'.repeat(201) });
    badArgs('grant', { ...BATTERY, grantee: '00'.repeat(20), kinds: [], untilHeight: 9 });
    badArgs('grant', { ...BATTERY, grantee: '00'.repeat(20), kinds: ['a', 'a'], untilHeight: 9 });
    const nine = Array.from({ length: 9 }, (_, i) => `k${i}`);
    badArgs('grant', { ...BATTERY, grantee: '00'.repeat(20), kinds: nine, untilHeight: 9 });
    badArgs('leaseStart', { ...BATTERY, lessee: '00'.repeat(20), endHeight: -1, termsHash: TERMS });

    const samples: Array<[string, Record<string, unknown>]> = [
      [
        'defineClass',
        { id: 'car', leasable: true, transferNeedsAcceptance: false, schemaHash: SCHEMA },
      ],
      ['mint', { ...BATTERY, metaHash: META }],
      ['mint', { ...BATTERY, owner: '11'.repeat(20), metaHash: META }],
      ['transfer', { ...BATTERY, to: '11'.repeat(20) }],
      ['leaseStart', { ...BATTERY, lessee: '11'.repeat(20), endHeight: 77, termsHash: TERMS }],
      ['leaseEnd', BATTERY],
      ['record', { ...BATTERY, kind: 'soc.v2_x-1', dataHash: META }],
      ['record', { ...BATTERY, kind: 'soc', dataHash: META, uri: 'https://x/y' }],
      ['grant', { ...BATTERY, grantee: '11'.repeat(20), kinds: ['soc', 'odo'], untilHeight: 5 }],
      ['revoke', { ...BATTERY, grantee: '11'.repeat(20) }],
      ['burn', BATTERY],
    ];
    for (const [method, json] of samples) {
      const codec = assetModule.methods[method]!.args;
      const bytes = codec.encode(codec.fromJson(json));
      assert.deepEqual(codec.toJson(codec.decode(bytes)), json, method);
    }
  });

  test('undecodable args fail the op with ASSET_BAD_ARGS', async () => {
    const { chain, makerA } = registry();
    await defineAndMint(chain, makerA);
    // A class id with a slash, as canonical bytes: the decoder refuses it.
    const codec = assetModule.methods.leaseEnd!.args;
    const bad = codec.encode({ cls: 'bat/tery', id: 'B-001' });
    assert.throws(() => codec.decode(bad), withCode('ASSET_BAD_ARGS'));
    const r = await send(chain, makerA, { module: 'asset', method: 'leaseEnd', args: bad });
    assert.equal(r.code, 'ASSET_BAD_ARGS');
    assert.equal(r.failedOp, 0);
  });

  test('object ids: a class, CLASS/ID, and malformed ids', () => {
    assert.deepEqual(assetModule.objects.key('battery'), classKey('battery'));
    assert.deepEqual(assetModule.objects.key('battery/B-001'), KEY);
    for (const bad of ['', 'a/b/c', 'battery/', '/x', 'bat tery', `${'x'.repeat(65)}`]) {
      assert.throws(() => assetModule.objects.key(bad), withCode('ASSET_BAD_ID'), bad);
    }
  });
});

describe('genesis', () => {
  test('classes and assets at rev 0; a genesis asset then changes like any other', async () => {
    const owner = party();
    const { chain, makerA, makerB } = registry({
      asset: {
        classes: [
          {
            id: 'battery',
            issuerOrg: 'maker-a',
            leasable: true,
            transferNeedsAcceptance: false,
            schemaHash: SCHEMA,
          },
        ],
        assets: [{ ...BATTERY, owner: owner.hex, metaHash: META }],
      },
    });
    assert.equal(chain.get(classKey('battery'), assetClassCodec)?.issuerOrg, 'maker-a');
    const genesisAsset = asset(chain);
    assert.deepEqual(genesisAsset.history, NO_HISTORY);
    assert.deepEqual(genesisAsset.owner, owner.address);
    assert.equal(assetJson(chain).rev, 0);
    // maker-a's issuer mints more in the genesis class.
    ok(await send(chain, makerA, call('mint', { class: 'battery', id: 'B-002', metaHash: META })));
    assert.equal(
      (await send(chain, makerA, call('mint', { ...BATTERY, metaHash: META }))).code,
      'ASSET_EXISTS',
    );
    // The genesis owner (a stranger here) signs as a cosigner of a member's tx.
    ok(await send(chain, makerB, call('transfer', { ...BATTERY, to: makerB.hex }), [owner]));
    assert.deepEqual(chain.replayHistory(KEY), asset(chain).history);
    assert.equal(asset(chain).history.rev, 1);
  });

  test('a genesis section that breaks a rule is refused', () => {
    const cls = {
      id: 'battery',
      issuerOrg: 'maker-a',
      leasable: true,
      transferNeedsAcceptance: false,
      schemaHash: SCHEMA,
    };
    const a = { ...BATTERY, owner: '11'.repeat(20), metaHash: META };
    const cases: Array<[string, unknown]> = [
      ['unknown organisation', { classes: [{ ...cls, issuerOrg: 'nobody' }] }],
      ['class twice', { classes: [cls, cls] }],
      ['bad schema hash', { classes: [{ ...cls, schemaHash: 'ab' }] }],
      ['missing flag', { classes: [{ ...cls, leasable: undefined }] }],
      ['unknown class', { classes: [cls], assets: [{ ...a, class: 'car' }] }],
      ['asset twice', { classes: [cls], assets: [a, a] }],
      ['bad owner', { classes: [cls], assets: [{ ...a, owner: 'xyz' }] }],
      ['unknown field', { classes: [cls], owners: [] }],
    ];
    for (const [what, section] of cases) {
      assert.throws(() => registry({ asset: section }), withCode('GENESIS_INVALID'), what);
    }
  });
});
