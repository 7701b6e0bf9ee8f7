/**
 * A permissioned chain as `civitas init` makes it, on a real one-validator node: a stranger's
 * tx is refused at POST /txs with 403 ORG_NOT_A_MEMBER and never reaches a block; the funded
 * accounts, the organisation's admin and the regulator transact; a member an admin adds is
 * admitted as soon as the block adding it commits.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { civitasApp } from '../../../src/app/registry.ts';
import { addressOf, encodeTx, makeTx, type Tx, type TxOpInput } from '../../../src/chain/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { generateKeyPair, type KeyPair } from '../../../src/crypto/ed25519.ts';
import { loadKeyFile } from '../../../src/crypto/keyfile.ts';
import { type InitSummary, initNetwork } from '../../../src/node/home.ts';
import { silentLogger } from '../../../src/node/logger.ts';
import { CivitasNode } from '../../../src/node/node.ts';
import { httpJson } from '../../helpers/http.ts';
import { randomBasePort } from '../../helpers/process.ts';

function op(module: string, method: string, args: unknown): TxOpInput {
  const impl = civitasApp().method(module, method)!;
  return { module, method, args: impl.args.encode(impl.args.fromJson(args)) };
}

describe('a permissioned chain at the HTTP API', () => {
  let dir: string;
  let node: CivitasNode;
  let summary: InitSummary;
  let account0: KeyPair;
  const stranger = generateKeyPair();
  const nonces = new Map<string, number>();

  const tx = (from: KeyPair, ops: TxOpInput[], cosigners: KeyPair[] = []): Tx => {
    const hex = toHex(from.publicKey);
    const nonce = nonces.get(hex) ?? 0;
    nonces.set(hex, nonce + 1);
    return makeTx(
      {
        chainId: summary.chainId,
        sender: from.publicKey,
        nonce,
        expiryHeight: 1_000_000,
        ops,
        cosigners: cosigners.map((c) => c.publicKey),
      },
      from.secretKey,
      cosigners.map((c) => c.secretKey),
    );
  };
  const transfer = (from: KeyPair, to: Uint8Array, amount: number): Tx =>
    tx(from, [op('bank', 'transfer', { to: toHex(to), amount: String(amount) })]);
  const post = (t: Tx, query = '?wait=commit&timeoutMs=20000') =>
    httpJson<{ status?: string; receipt?: { code: string }; error?: { code: string } }>(
      `${node.rpcUrl}/txs${query}`,
      {
        method: 'POST',
        body: JSON.stringify({ tx: toHex(encodeTx(t)) }),
        headers: { 'content-type': 'application/json' },
      },
    );
  const committedOk = async (t: Tx, what: string): Promise<void> => {
    const res = await post(t);
    assert.equal(res.status, 200, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.receipt?.code, 'OK', what);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'civitas-permissioned-'));
    summary = await initNetwork({
      dir: join(dir, 'net'),
      validators: 1,
      accounts: 2,
      basePort: randomBasePort(),
      configOverrides: {
        consensus: { timeoutMs: 2_000, blockIntervalMs: 10, emptyBlockIntervalMs: 0 },
      },
    });
    node = await CivitasNode.start(summary.nodes[0]!.home, {
      rpcListen: '127.0.0.1:0',
      logger: silentLogger,
    });
    account0 = await loadKeyFile(summary.accounts[0]!.file);
  });

  after(async () => {
    await node?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('init made a permissioned consortium', () => {
    assert.equal(summary.permissioned, true);
    assert.deepEqual(
      summary.organisations.map((o) => [o.id, o.name, o.committee, o.validator]),
      [['org0', 'node0', true, 'node0']],
    );
    assert.equal(summary.regulator.org, 'regulator');
    assert.deepEqual(
      summary.accounts.map((a) => a.org),
      ['org0', 'org0'],
    );
  });

  test('a stranger is refused with 403 ORG_NOT_A_MEMBER, even when funded, and nothing is committed', async () => {
    await committedOk(transfer(account0, addressOf(stranger.publicKey), 1_000), 'funding');
    const height = node.ledger.height;
    const res = await post(transfer(stranger, addressOf(account0.publicKey), 1));
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error?.code, 'ORG_NOT_A_MEMBER');
    assert.equal(node.mempool.size, 0);
    assert.equal(node.ledger.height, height, 'no block for it');
    nonces.delete(toHex(stranger.publicKey));
  });

  test('the funded accounts, the admin and the regulator transact', async () => {
    const to = addressOf(stranger.publicKey);
    await committedOk(transfer(account0, to, 1), 'account0');
    const account1 = await loadKeyFile(summary.accounts[1]!.file);
    await committedOk(transfer(account1, to, 1), 'account1');
    const admin = await loadKeyFile(summary.organisations[0]!.admin.file);
    await committedOk(transfer(admin, to, 1), 'admin');
    const regulator = await loadKeyFile(summary.regulator.file);
    await committedOk(transfer(regulator, to, 1), 'regulator');
  });

  test('a member the admin adds is admitted once the block adding it commits', async () => {
    const admin = await loadKeyFile(summary.organisations[0]!.admin.file);
    const account = toHex(addressOf(stranger.publicKey));
    // The joining account consents by cosigning.
    await committedOk(tx(admin, [op('org', 'addMember', { account })], [stranger]), 'addMember');
    await committedOk(transfer(stranger, addressOf(account0.publicKey), 5), 'the new member');
  });
});
