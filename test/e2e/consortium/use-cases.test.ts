/**
 * The consortium's business, end to end: four validators (one organisation each; their
 * admins are issuers) and a regulator, as `civitas init` makes them, driven only through the
 * CLI, each scenario ending with client-side verification against the genesis file:
 *
 * 1. a battery minted, leased by maker A to carmaker B with both signatures, B's gateway
 *    appending condition records under a grant, frozen by the regulator (A's sale refused,
 *    records continue), the freeze lifted, the lease ended, the complete history verified;
 * 2. a receivable of 1,000 issued to S1, 400 split off to S2, S1's piece financed by a bank
 *    in one atomic batch, a frozen piece that cannot be settled, the bank's piece settled and
 *    paid, over-split and double settle refused with their codes;
 * 3. the tax agency anchors a record and grants the police three fields until height h; the
 *    police verify a disclosed field against the root and the anchor's proof, log the access,
 *    and are refused after h.
 *
 * One network serves the three scenarios (they touch different objects and keys).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StateResponse } from '../../../src/api/types.ts';
import { httpJson } from '../../helpers/http.ts';
import { type CliResult, runCli } from '../../helpers/process.ts';
import { TestNetwork } from '../network/helpers/test-network.ts';

const hash = (byte: string) => byte.repeat(32);

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface Receipt {
  /** The height the tx was committed at (from the submit answer). */
  height: number;
  status: string;
  code: string;
  events: Array<{ type: string; attributes: Record<string, string> }>;
}

test('use cases: battery lease, receivables, records shared between agencies', {
  timeout: 420_000,
}, async (t) => {
  const network = await TestNetwork.start(t, { validators: 4, accounts: 4 });
  const { summary } = network;
  const rpc = summary.nodes[0]!.rpc;
  const genesis = summary.genesis;
  const admin = (i: number) => summary.organisations[i]!.admin;
  const memberOf = (org: string) => summary.accounts.find((a) => a.org === org)!;
  const regulator = summary.regulator.file;
  const cli = (...args: string[]) => runCli([...args, '--rpc', rpc]);
  /** A call that must end with `expect` (OK by default); returns its receipt. */
  const call = async (
    method: string,
    args: unknown,
    key: string,
    opts: { cosign?: string[]; expect?: string } = {},
  ): Promise<Receipt> => {
    const r = await cli(
      'tx',
      'call',
      method,
      '--args',
      JSON.stringify(args),
      '--key',
      key,
      ...(opts.cosign ?? []).flatMap((c) => ['--cosign', c]),
      '--wait',
      '--json',
    );
    const expect = opts.expect ?? 'OK';
    assert.equal(
      r.code,
      expect === 'OK' ? 0 : 3,
      `${method}: exit ${r.code}\n${r.stdout}\n${r.stderr}`,
    );
    const answer = JSON.parse(r.stdout) as { receipt: Receipt; height: number };
    assert.equal(answer.receipt.code, expect, `${method} ${JSON.stringify(args)}`);
    return { ...answer.receipt, height: answer.height };
  };
  const height = async () => (await httpJson<{ height: number }>(`${rpc}/status`)).body.height;
  const state = async (module: string, id: string) =>
    (await httpJson<StateResponse>(`${rpc}/state/${module}/${id}`)).body;
  const balance = async (address: string) =>
    BigInt((await httpJson<{ balance: string }>(`${rpc}/accounts/${address}`)).body.balance);
  const verified = async (...args: string[]) =>
    JSON.parse(
      ok(await cli('verify', ...args, '--genesis', genesis, '--json'), `verify ${args.join(' ')}`),
    ) as Record<string, unknown>;
  const waitForHeight = async (h: number) => {
    while ((await height()) < h) await new Promise((r) => setTimeout(r, 200));
  };

  await t.test(
    '1. a battery leased, monitored, frozen and returned; its history verifies',
    async () => {
      const makerA = admin(0);
      const carmakerB = admin(1);
      const carmakerC = admin(2);
      const gateway = memberOf('org1');
      const target = { class: 'battery', id: 'BAT-1' };
      await call(
        'asset.defineClass',
        { id: 'battery', leasable: true, transferNeedsAcceptance: false, schemaHash: hash('0a') },
        makerA.file,
      );
      const minted = await call('asset.mint', { ...target, metaHash: hash('0b') }, makerA.file);
      // Far enough that the owner's early end is refused however slow the machine; the lessee
      // ends the lease before it.
      const endHeight = (await height()) + 10_000;
      const lease = { ...target, lessee: carmakerB.address, endHeight, termsHash: hash('0c') };
      await call('asset.leaseStart', lease, makerA.file, { expect: 'ASSET_CONSENT_REQUIRED' });
      await call('asset.leaseStart', lease, makerA.file, { cosign: [carmakerB.file] });
      await call(
        'asset.grant',
        { ...target, grantee: gateway.address, kinds: ['soc'], untilHeight: endHeight },
        carmakerB.file,
      );
      await call('asset.record', { ...target, kind: 'soc', dataHash: hash('01') }, gateway.file);
      await call('asset.record', { ...target, kind: 'temp', dataHash: hash('02') }, gateway.file, {
        expect: 'ASSET_NOT_AUTHORIZED',
      });
      const order = { kind: 'asset', id: 'battery/BAT-1' };
      await call(
        'freeze.impose',
        { ...order, legalBasis: hash('c0'), reason: 'illegal trade inquiry' },
        regulator,
      );
      await call('asset.transfer', { ...target, to: carmakerC.address }, makerA.file, {
        expect: 'FREEZE_ACTIVE',
      });
      await call('asset.record', { ...target, kind: 'soc', dataHash: hash('03') }, gateway.file);
      await call('freeze.lift', order, regulator);
      await call('asset.leaseEnd', target, makerA.file, { expect: 'ASSET_LEASE_NOT_ENDED' });
      await call('asset.leaseEnd', target, carmakerB.file);
      await call('asset.record', { ...target, kind: 'soc', dataHash: hash('04') }, gateway.file, {
        expect: 'ASSET_NOT_AUTHORIZED',
      });

      const proven = await verified('state', 'asset', 'battery/BAT-1');
      const asset = proven.json as Record<string, unknown>;
      assert.equal(asset.owner, makerA.address);
      assert.equal(asset.lease, null);
      const freeze = (await verified('state', 'freeze', 'asset/battery/BAT-1')).json as Record<
        string,
        unknown
      >;
      assert.equal(freeze.active, false);
      // "Not frozen" at the mint's height: the order's absence, proven by non-inclusion.
      const before = await verified(
        'state',
        'freeze',
        'asset/battery/BAT-1',
        '--height',
        String(minted.height),
      );
      assert.equal(before.height, minted.height);
      assert.equal(before.present, false);
      const history = await verified('history', 'asset', 'battery/BAT-1');
      const entries = history.entries as Array<{ rev: number; method: string }>;
      assert.equal(entries.length, asset.rev);
      assert.deepEqual(
        entries.map((e) => e.method),
        ['mint', 'leaseStart', 'grant', 'record', 'record', 'leaseEnd'],
      );
    },
  );

  await t.test('2. a receivable split, financed, frozen, settled', async () => {
    const debtor = admin(2);
    const bank = admin(3);
    const s1 = memberOf('org0');
    const s2 = memberOf('org1');
    const due = (await height()) + 500;
    await call(
      'recv.issue',
      { id: 'R1', to: s1.address, amount: '1000', dueHeight: due },
      debtor.file,
      { expect: 'RECV_CONSENT_REQUIRED' },
    );
    await call(
      'recv.issue',
      { id: 'R1', to: s1.address, amount: '1000', dueHeight: due },
      debtor.file,
      { cosign: [s1.file] },
    );
    const split = await call(
      'recv.split',
      { id: 'R1', newId: 'R1-a', amount: '400', to: s2.address },
      s1.file,
    );
    await call(
      'recv.split',
      { id: 'R1-a', newId: 'R1-b', amount: '500', to: s1.address },
      s2.file,
      { expect: 'RECV_OVER_SPLIT' },
    );

    // Financing: the bank buys S1's piece (600) for 570, one tx both sign, all or nothing.
    const opsFile = join(summary.dir, 'financing.json');
    await writeFile(
      opsFile,
      JSON.stringify([
        { call: 'recv.transfer', args: { id: 'R1', to: bank.address } },
        { call: 'bank.transfer', args: { to: s1.address, amount: '570' } },
      ]),
    );
    const s1Before = await balance(s1.address);
    const r = await cli(
      'tx',
      'batch',
      '--ops',
      opsFile,
      '--key',
      bank.file,
      '--cosign',
      s1.file,
      '--wait',
      '--json',
    );
    assert.equal((JSON.parse(ok(r, 'financing batch')) as { receipt: Receipt }).receipt.code, 'OK');
    assert.equal(await balance(s1.address), s1Before + 570n);
    assert.equal((await state('recv', 'R1')).value?.holder, bank.address);

    await call(
      'freeze.impose',
      { kind: 'recv', id: 'R1-a', legalBasis: hash('c1'), reason: 'disputed delivery' },
      regulator,
    );
    await call('recv.settle', { id: 'R1-a' }, debtor.file, { expect: 'FREEZE_ACTIVE' });
    const bankBefore = await balance(bank.address);
    await call('recv.settle', { id: 'R1' }, debtor.file);
    assert.equal(await balance(bank.address), bankBefore + 600n, 'the bank was paid its piece');
    await call('recv.settle', { id: 'R1' }, debtor.file, { expect: 'RECV_SETTLED' });

    // Not yet financed when it was split: S1 held R1 at that height, proven.
    const atSplit = await verified('state', 'recv', 'R1', '--height', String(split.height));
    assert.equal((atSplit.json as Record<string, unknown>).holder, s1.address);
    const root = (await verified('state', 'recv', 'R1')).json as Record<string, unknown>;
    assert.equal(root.status, 'settled');
    assert.equal(
      root.outstanding,
      '400',
      'the live pieces (R1-a) add up to the outstanding amount',
    );
    const piece = (await verified('state', 'recv', 'R1-a')).json as Record<string, unknown>;
    assert.equal(piece.status, 'live');
    assert.equal(piece.amount, '400');
    await verified('history', 'recv', 'R1');
    await verified('history', 'recv', 'R1-a');
  });

  await t.test(
    '3. a tax record shared with the police, verified field by field, until h',
    async () => {
      const tax = admin(0);
      const police = admin(1);
      const fieldsFile = join(summary.dir, 'record-fields.json');
      const recordFile = join(summary.dir, 'record.json');
      const disclosureFile = join(summary.dir, 'disclosure.json');
      await writeFile(
        fieldsFile,
        JSON.stringify({
          name: 'Ada Example',
          taxId: 'TX-4471',
          address: '1 Main St',
          income: '52000',
          employer: 'Acme',
        }),
      );
      const root = (
        JSON.parse(
          ok(await runCli(['doc', 'root', fieldsFile, '--out', recordFile, '--json']), 'doc root'),
        ) as { root: string }
      ).root;
      await call('doc.anchor', { id: 'TAX-1', root, schemaHash: hash('5c') }, tax.file);
      // Room for the steps before the access is logged, on a loaded machine too (blocks come
      // every ~200 ms when idle); the test then waits for h to pass.
      const h = (await height()) + 60;
      await call(
        'doc.grant',
        {
          id: 'TAX-1',
          org: 'org1',
          fields: ['name', 'taxId', 'address'],
          purposeHash: hash('9a'),
          untilHeight: h,
        },
        tax.file,
      );

      ok(
        await runCli(['doc', 'disclose', recordFile, '--fields', 'taxId', '--out', disclosureFile]),
        'doc disclose',
      );
      const disclosure = await verified('disclosure', disclosureFile, '--doc', 'TAX-1');
      assert.deepEqual(disclosure.fields, { taxId: 'TX-4471' });
      // A field altered on the way fails verification.
      const tampered = JSON.parse(await readFile(disclosureFile, 'utf8')) as {
        fields: Array<{ value: string }>;
      };
      tampered.fields[0]!.value = 'TX-0000';
      const tamperedFile = join(summary.dir, 'tampered.json');
      await writeFile(tamperedFile, JSON.stringify(tampered));
      const refused = await cli(
        'verify',
        'disclosure',
        tamperedFile,
        '--doc',
        'TAX-1',
        '--genesis',
        genesis,
      );
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /^civitas: .* \[(VERIFY|CLIENT)_[A-Z_]+\]$/m);

      const disclosureHash = (disclosure.disclosureHash as string) ?? hash('d1');
      await call('doc.logAccess', { id: 'TAX-1', disclosureHash }, police.file);
      await waitForHeight(h + 1);
      await call('doc.logAccess', { id: 'TAX-1', disclosureHash }, police.file, {
        expect: 'DOC_GRANT_EXPIRED',
      });
      const doc = (await verified('state', 'doc', 'TAX-1')).json as Record<string, unknown>;
      assert.equal(doc.accesses, 1);
      await verified('history', 'doc', 'TAX-1');
    },
  );
});
