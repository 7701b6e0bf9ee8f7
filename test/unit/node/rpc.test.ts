/**
 * The HTTP API of a real one-validator node (CivitasNode.start on a home made by
 * initNetwork, API on an ephemeral port): every endpoint's happy path; every client mistake
 * is a 4xx with {error:{code,message}} and never a 500; tx, account and state object proofs
 * from the API verify locally against the genesis validator set and fail when tampered with.
 * The governance routes over a state with proposals run on a server of their own, its chain
 * a map of state values.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ProposalJson, ProposalsResponse, StateResponse } from '../../../src/api/types.ts';
import {
  NEXT_KEY,
  nextIdCodec,
  type Proposal,
  proposalCodec,
  proposalKey,
} from '../../../src/app/gov/state.ts';
import { civitasApp } from '../../../src/app/registry.ts';
import {
  decodeBlock,
  decodeCertificate,
  decodeHeader,
  encodeHeader,
  type Genesis,
  genesisValidatorSet,
  headerHash,
  Limits,
  makeValidatorSet,
  type Tx,
  type ValidatorSet,
} from '../../../src/chain/index.ts';
import {
  accountStateKey,
  addressOf,
  batch,
  encodeTx,
  fromHex,
  generateKeyPair,
  type KeyPair,
  loadKeyFile,
  sign,
  stateKeyHash,
  toHex,
  transfer,
  txHash,
  verifyAccountProof,
  verifyStateProof,
  verifyTxProof,
} from '../../../src/client/index.ts';
import type { AccountProofResponse, TxProofResponse } from '../../../src/client/verify.ts';
import { CivitasError } from '../../../src/errors/index.ts';
import { loadGenesisFile } from '../../../src/node/genesis-file.ts';
import { initNetwork } from '../../../src/node/home.ts';
import { silentLogger } from '../../../src/node/logger.ts';
import { CivitasNode } from '../../../src/node/node.ts';
import { type RpcChain, RpcServer } from '../../../src/node/rpc-server.ts';
import { httpJson, waitUntil } from '../../helpers/http.ts';
import { randomBasePort } from '../../helpers/process.ts';

const MAX_BODY = 64 * 1024;

interface ErrorBody {
  error: { code: string; message: string };
}

function assertVerifyFails(fn: () => unknown, code: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CivitasError, `expected CivitasError, got ${String(err)}`);
    if (typeof code === 'string') assert.equal(err.code, code, err.message);
    else assert.match(err.code, code, err.message);
    return true;
  });
}

describe('HTTP API', () => {
  let dir: string;
  let node: CivitasNode;
  let url: string;
  let chainId: string;
  let trusted: { chainId: string; validators: ValidatorSet };
  let genesis: Genesis;
  let keys: KeyPair[];
  const nonces = [0, 0, 0];
  const stranger = addressOf(generateKeyPair().publicKey);

  const addr = (i: number): Uint8Array => addressOf(keys[i]!.publicKey);
  const makeTx = (
    from: number,
    to: Uint8Array,
    amount: bigint,
    opts: { nonce?: number; chainId?: string; expiryHeight?: number } = {},
  ): Tx =>
    transfer({
      chainId: opts.chainId ?? chainId,
      keys: keys[from]!,
      to,
      amount,
      nonce: opts.nonce ?? nonces[from]!++,
      expiryHeight: opts.expiryHeight ?? 1_000_000,
    });
  const post = (tx: Tx | Uint8Array, query = '') =>
    httpJson(`${url}/txs${query}`, {
      method: 'POST',
      body: JSON.stringify({ tx: toHex(tx instanceof Uint8Array ? tx : encodeTx(tx)) }),
      headers: { 'content-type': 'application/json' },
    });
  const get = <T = Record<string, unknown>>(path: string) => httpJson<T>(`${url}${path}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'civitas-rpc-'));
    const summary = await initNetwork({
      dir: join(dir, 'net'),
      validators: 1,
      accounts: 3,
      basePort: randomBasePort(),
      configOverrides: {
        consensus: { timeoutMs: 2_000, blockIntervalMs: 10, emptyBlockIntervalMs: 0 },
      },
    });
    const home = summary.nodes[0]!.home;
    const configPath = join(home, 'config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8'));
    config.rpc.maxBodyBytes = MAX_BODY;
    await writeFile(configPath, JSON.stringify(config));
    node = await CivitasNode.start(home, { rpcListen: '127.0.0.1:0', logger: silentLogger });
    url = node.rpcUrl;
    genesis = await loadGenesisFile(summary.genesis);
    chainId = genesis.chainId;
    trusted = { chainId, validators: genesisValidatorSet(genesis) };
    keys = await Promise.all(summary.accounts.map((a) => loadKeyFile(a.file)));
  });

  after(async () => {
    await node?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('GET /status and GET /validators', async () => {
    const status = await get('/status');
    assert.equal(status.status, 200);
    assert.match(status.contentType, /application\/json/);
    assert.equal(status.body.chainId, chainId);
    assert.equal(status.body.height, 0);
    assert.equal(status.body.validator, toHex(trusted.validators.validators[0]!));
    assert.equal((status.body.consensus as { engine: string }).engine, 'solo');
    assert.deepEqual(status.body.mempool, { size: 0, queued: 0 });
    const v = await get<{ hash: string; quorum: number; validators: Array<{ publicKey: string }> }>(
      '/validators',
    );
    assert.equal(v.status, 200);
    assert.equal(v.body.hash, toHex(trusted.validators.hash));
    assert.equal(v.body.quorum, 1);
    assert.deepEqual(
      v.body.validators.map((x) => x.publicKey),
      trusted.validators.validators.map(toHex),
    );
  });

  test('POST /txs?wait=commit returns the committed receipt', async () => {
    const tx = makeTx(0, addr(1), 250n);
    const res = await post(tx, '?wait=commit&timeoutMs=20000');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const body = res.body as {
      hash: string;
      status: string;
      height: number;
      index: number;
      receipt: { status: string; code: string; txHash: string; events: unknown[] };
    };
    assert.equal(body.status, 'committed');
    assert.equal(body.height, 1);
    assert.equal(body.index, 0);
    assert.equal(body.receipt.status, 'ok');
    assert.equal(body.receipt.code, 'OK');
    assert.equal(body.receipt.txHash, body.hash);
    assert.deepEqual(body.receipt.events, [
      { type: 'transfer', attributes: { from: toHex(addr(0)), to: toHex(addr(1)), amount: '250' } },
    ]);
  });

  test('POST /txs without waiting (JSON and raw bytes), then GET /txs/:hash once committed', async () => {
    const jsonTx = makeTx(1, addr(2), 7n);
    const rawTx = makeTx(2, stranger, 3n);
    const a = await post(jsonTx);
    assert.equal(a.status, 200);
    assert.deepEqual(Object.keys(a.body).sort(), ['hash', 'status']);
    assert.equal(a.body.status, 'pending');
    const b = await httpJson(`${url}/txs`, {
      method: 'POST',
      body: encodeTx(rawTx),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(b.status, 200, JSON.stringify(b.body));
    for (const hash of [a.body.hash, b.body.hash] as string[]) {
      const committed = await waitUntil(async () => {
        const r = await get(`/txs/${hash}`);
        return r.body.status === 'committed' ? r : undefined;
      }, `tx ${hash} to commit`);
      assert.equal(committed.status, 200);
      assert.equal((committed.body.receipt as { code: string }).code, 'OK');
    }
  });

  test('a failing tx commits with a failed receipt', async () => {
    const res = await post(makeTx(2, addr(0), 10n ** 20n), '?wait=commit');
    assert.equal(res.status, 200);
    const receipt = res.body.receipt as { status: string; code: string };
    assert.deepEqual([receipt.status, receipt.code], ['failed', 'BANK_INSUFFICIENT_FUNDS']);
    nonces[2]--; // a failed tx does not consume its nonce
  });

  test('GET /txs/:hash: the tx proof verifies, and fails when tampered with', async () => {
    const tx = makeTx(0, addr(2), 11n);
    const sent = await post(tx, '?wait=commit');
    const hash = fromHex(sent.body.hash as string, 32);
    const res = await get<TxProofResponse & Record<string, unknown>>(`/txs/${toHex(hash)}`);
    assert.equal(res.status, 200);
    const r = res.body;
    assert.equal(r.status, 'committed');
    assert.equal(r.txBytes, toHex(encodeTx(tx)));
    assert.equal((r.tx as { nonce: number }).nonce, tx.nonce);
    const verified = verifyTxProof(hash, r, trusted);
    assert.equal(verified.height, r.height);
    assert.equal(verified.status, 'ok');
    assert.equal(verified.signers, 1);
    assert.equal(verified.blockHash, toHex(headerHash(decodeHeader(fromHex(r.headerBytes)))));

    const flipHex = (hex: string, at = 0): string => {
      const b = fromHex(hex);
      b[at % b.length]! ^= 1;
      return toHex(b);
    };
    const header = decodeHeader(fromHex(r.headerBytes));
    const tampered: Array<[string, TxProofResponse, string | RegExp]> = [
      ['tx bytes', { ...r, txBytes: flipHex(r.txBytes, 40) }, 'VERIFY_TX_HASH'],
      [
        'receipt bytes',
        { ...r, receiptBytes: flipHex(r.receiptBytes, 34) },
        /^(VERIFY_RECEIPT_PROOF|CODEC_)/,
      ],
      [
        'certificate',
        { ...r, certificateBytes: flipHex(r.certificateBytes, 60) },
        /^(VERIFY_CERTIFICATE|CODEC_)/,
      ],
      ['claimed height', { ...r, height: r.height + 1 }, 'VERIFY_HEIGHT'],
      ['proof index', { ...r, proof: { ...r.proof, index: r.proof.index + 1 } }, 'VERIFY_TX_PROOF'],
      [
        'receipt proof index',
        { ...r, receiptProof: { ...r.receiptProof, index: r.receiptProof.index + 1 } },
        'VERIFY_RECEIPT_PROOF',
      ],
    ];
    // A header with another state root (still decodable) is not what the validators signed.
    tampered.push([
      'header',
      { ...r, headerBytes: toHex(encodeHeader({ ...header, stateRoot: new Uint8Array(32) })) },
      'VERIFY_CERTIFICATE',
    ]);
    if (r.proof.siblings.length > 0) {
      tampered.push([
        'sibling',
        {
          ...r,
          proof: {
            ...r.proof,
            siblings: [flipHex(r.proof.siblings[0]!), ...r.proof.siblings.slice(1)],
          },
        },
        'VERIFY_TX_PROOF',
      ]);
    }
    for (const [what, response, code] of tampered) {
      assertVerifyFails(() => verifyTxProof(hash, response, trusted), code);
      assert.ok(what);
    }
    // Another tx's hash, and a validator set the client does not trust.
    assertVerifyFails(() => verifyTxProof(new Uint8Array(32), r, trusted), 'VERIFY_TX_HASH');
    const otherSet = makeValidatorSet([generateKeyPair().publicKey]);
    assertVerifyFails(
      () => verifyTxProof(hash, r, { chainId, validators: otherSet }),
      'VERIFY_VALIDATOR_SET',
    );
    assertVerifyFails(
      () => verifyTxProof(hash, r, { chainId: 'other', validators: trusted.validators }),
      'VERIFY_WRONG_CHAIN',
    );
  });

  test('GET /blocks/:height and /blocks/latest', async () => {
    const latest = await get<{
      hash: string;
      header: { height: number; stateRoot: string };
      txHashes: string[];
      certificate: { signers: number[]; blockHash: string };
      lastCommit: unknown;
      blockBytes: string;
    }>('/blocks/latest');
    assert.equal(latest.status, 200);
    const tip = latest.body.header.height;
    assert.ok(tip >= 3);
    const decoded = decodeBlock(fromHex(latest.body.blockBytes));
    assert.equal(toHex(decoded.hash), latest.body.hash);
    assert.deepEqual(decoded.txHashes.map(toHex), latest.body.txHashes);
    assert.equal(toHex(decoded.header.stateRoot), latest.body.header.stateRoot);
    assert.deepEqual(latest.body.certificate.signers, [0]);
    assert.equal(latest.body.certificate.blockHash, latest.body.hash);
    const byHeight = await get(`/blocks/${tip}`);
    assert.deepEqual(byHeight.body, latest.body);
    const first = await get<{ lastCommit: unknown; header: { height: number } }>('/blocks/1');
    assert.equal(first.body.header.height, 1);
    assert.equal(first.body.lastCommit, null);
    const second = await get<{ lastCommit: { height: number; signers: number[] } }>('/blocks/2');
    assert.deepEqual(second.body.lastCommit.signers, [0]);
    assert.equal(second.body.lastCommit.height, 1);
  });

  test('GET /accounts/:address with proofs for a present and an absent address', async () => {
    const plain = await get<{ balance: string; nonce: number; height: number; address: string }>(
      `/accounts/${toHex(addr(0))}`,
    );
    assert.equal(plain.status, 200);
    assert.equal(plain.body.nonce, nonces[0]);
    assert.equal(plain.body.balance, (1_000_000_000n - 250n - 11n).toString());
    assert.equal(plain.body.address, toHex(addr(0)));
    const upper = await get(`/accounts/0x${toHex(addr(0)).toUpperCase()}`);
    assert.equal(upper.status, 200);
    assert.equal(upper.body.balance, plain.body.balance);

    for (const [address, present] of [
      [addr(0), true],
      [stranger, true],
      [addressOf(generateKeyPair().publicKey), false],
    ] as const) {
      const res = await get<{ balance: string; nonce: number; proof: AccountProofResponse }>(
        `/accounts/${toHex(address)}?proof=true`,
      );
      assert.equal(res.status, 200);
      const keyHash = stateKeyHash(accountStateKey(address));
      const v = verifyAccountProof(keyHash, res.body.proof, trusted);
      assert.equal(v.present, present);
      assert.equal(v.balance.toString(), res.body.balance);
      assert.equal(v.nonce, res.body.nonce);
      // Lies: another value, another key, a forged certificate.
      const lie = present ? null : toHex(Uint8Array.of(5, 0));
      assertVerifyFails(
        () => verifyAccountProof(keyHash, { ...res.body.proof, value: lie }, trusted),
        'VERIFY_STATE_PROOF',
      );
      assertVerifyFails(
        () =>
          verifyAccountProof(
            stateKeyHash(accountStateKey(new Uint8Array(20))),
            res.body.proof,
            trusted,
          ),
        'VERIFY_KEY',
      );
      const cert = decodeCertificate(fromHex(res.body.proof.certificateBytes!));
      assert.equal(cert.height, res.body.proof.height);
      assertVerifyFails(
        () =>
          verifyAccountProof(keyHash, res.body.proof, {
            chainId,
            validators: makeValidatorSet([generateKeyPair().publicKey]),
          }),
        'VERIFY_VALIDATOR_SET',
      );
    }
  });

  test('GET /state/:module/:id: objects as JSON, absent ones, and proofs that verify', async () => {
    const account = await get<StateResponse>(`/state/bank/${toHex(addr(0))}`);
    assert.equal(account.status, 200, JSON.stringify(account.body));
    const plain = await get<{ balance: string; nonce: number; height: number }>(
      `/accounts/${toHex(addr(0))}`,
    );
    assert.deepEqual(account.body, {
      module: 'bank',
      id: toHex(addr(0)),
      height: plain.body.height,
      present: true,
      value: { balance: plain.body.balance, nonce: plain.body.nonce },
    });
    const nobody = toHex(addressOf(generateKeyPair().publicKey));
    const absentIds: Array<[string, string]> = [
      ['org', 'acme'],
      ['org', `member/${nobody}`],
      ['gov', '1'],
      ['freeze', `account/${toHex(addr(2))}`],
      ['bank', nobody],
    ];
    // What the genesis's app sections (if any) put in the state.
    const sections = (genesis.app ?? {}) as { params?: unknown; org?: Array<{ id: string }> };
    const presentIds: Array<[string, string]> = (sections.org ?? []).map((o) => ['org', o.id]);
    (sections.params === undefined ? absentIds : presentIds).push(['params', 'current']);
    for (const [module, id] of presentIds) {
      const res = await get<StateResponse>(`/state/${module}/${id}`);
      assert.equal(res.status, 200, `${module}/${id}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.present, true, `${module}/${id}`);
    }
    for (const [module, id] of absentIds) {
      const res = await get<StateResponse>(`/state/${module}/${id}`);
      assert.equal(res.status, 200, `${module}/${id}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.present, false, `${module}/${id}`);
      assert.equal(res.body.value, null, `${module}/${id}`);
      assert.equal(res.body.id, id);
    }
    // An id with a slash may come URL-encoded as one segment.
    const encoded = await get<StateResponse>(`/state/freeze/account%2F${toHex(addr(2))}`);
    assert.equal(encoded.status, 200);
    assert.equal(encoded.body.id, `account/${toHex(addr(2))}`);

    for (const [module, id, present] of [
      ['bank', toHex(addr(0)), true] as const,
      ...presentIds.map(([m, i]) => [m, i, true] as const),
      ...absentIds.map(([m, i]) => [m, i, false] as const),
    ]) {
      const res = await get<StateResponse>(`/state/${module}/${id}?proof=true`);
      assert.equal(res.status, 200);
      const proof = res.body.proof!;
      assert.equal(proof.height, res.body.height);
      assert.equal(proof.value === null, !present);
      const key = civitasApp().modules.get(module)!.objects.key(id);
      assert.equal(proof.key, toHex(key));
      assert.equal(proof.keyHash, toHex(stateKeyHash(key)));
      const v = verifyStateProof(module, id, res.body, trusted);
      assert.equal(v.height, res.body.height, `${module}/${id}`);
      assert.equal(v.present, present, `${module}/${id}`);
      assert.deepEqual(v.json, res.body.value, `${module}/${id}`);
      // Another object's proof is not this one's.
      if (module === 'bank' && present) {
        assertVerifyFails(
          () => verifyStateProof('bank', toHex(addr(1)), res.body, trusted),
          'VERIFY_KEY',
        );
      }
    }
  });

  test('GET /gov/proposals on a chain without proposals', async () => {
    const list = await get<ProposalsResponse>('/gov/proposals');
    assert.equal(list.status, 200);
    assert.deepEqual(Object.keys(list.body).sort(), ['height', 'proposals', 'total']);
    assert.deepEqual([list.body.total, list.body.proposals], [0, []]);
    const one = await get<ErrorBody>('/gov/proposals/1');
    assert.equal(one.status, 404);
    assert.equal(one.body.error.code, 'GOV_UNKNOWN_PROPOSAL');
  });

  test('GET /txs/:hash of v2 txs: the ops, the events, and the op that failed', async () => {
    const send = async (ops: Parameters<typeof batch>[0]['ops'], cosigner?: number) => {
      const unsigned = batch({
        chainId,
        keys: keys[0]!,
        nonce: nonces[0]!,
        expiryHeight: 1_000_000,
        ops,
        cosigners: cosigner === undefined ? [] : [keys[cosigner]!.publicKey],
      });
      const tx = sign(unsigned, keys[0]!, cosigner === undefined ? [] : [keys[cosigner]!]);
      const sent = await post(tx, '?wait=commit');
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      const res = await get<{
        tx: {
          version: number;
          ops: Array<{ module: string; method: string }>;
          cosigners: string[];
        };
        receipt: {
          status: string;
          code: string;
          failedOp: number | null;
          events: Array<{ type: string; attributes: Record<string, string> }>;
        };
      }>(`/txs/${sent.body.hash}`);
      assert.equal(res.status, 200);
      if (res.body.receipt.status === 'ok') nonces[0]!++;
      return res.body;
    };
    const transferTo = (to: Uint8Array, amount: string) => ({
      call: 'bank.transfer',
      args: { to: toHex(to), amount },
    });
    const ok = await send([transferTo(stranger, '5'), transferTo(addr(1), '6')], 2);
    assert.equal(ok.tx.version, 2);
    assert.deepEqual(
      ok.tx.ops.map((o) => `${o.module}.${o.method}`),
      ['bank.transfer', 'bank.transfer'],
    );
    assert.deepEqual(ok.tx.cosigners, [toHex(keys[2]!.publicKey)]);
    assert.deepEqual([ok.receipt.status, ok.receipt.code, ok.receipt.failedOp], ['ok', 'OK', null]);
    assert.deepEqual(
      ok.receipt.events.map((e) => [e.type, e.attributes.amount]),
      [
        ['transfer', '5'],
        ['transfer', '6'],
      ],
    );
    // A method reserved to governance fails its op, and the transfer before it is undone.
    const governed = await send([
      transferTo(stranger, '1'),
      { call: 'params.set', args: { permissioned: true } },
    ]);
    assert.deepEqual(
      [governed.receipt.status, governed.receipt.code, governed.receipt.failedOp],
      ['failed', 'GOV_ONLY', 1],
    );
    assert.deepEqual(governed.receipt.events, []);
    const stale = await send([{ ...transferTo(stranger, '1'), expectRev: 0 }]);
    assert.deepEqual([stale.receipt.code, stale.receipt.failedOp], ['APP_NO_REVISION', 0]);
  });

  test('GET /events delivers a block event', async () => {
    const events: string[] = [];
    let onData: () => void = () => {};
    const req = request(`${url}/events`);
    const opened = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /text\/event-stream/);
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          events.push(d);
          onData();
        });
        resolve();
      });
      req.on('error', reject);
    });
    req.end();
    try {
      await opened;
      const tx = makeTx(1, addr(0), 1n);
      const gotBlock = new Promise<string>((resolve) => {
        onData = () => {
          const text = events.join('');
          const m = /event: block\ndata: (.*)\n\n/.exec(text);
          if (m) resolve(m[1]!);
        };
      });
      const sent = await post(tx, '?wait=commit');
      const data = JSON.parse(await gotBlock) as { height: number; hash: string; txs: number };
      assert.equal(data.height, sent.body.height);
      assert.equal(data.txs, 1);
      const block = await get<{ hash: string }>(`/blocks/${data.height}`);
      assert.equal(block.body.hash, data.hash);
    } finally {
      req.destroy();
    }
  });

  test('a node with a backlog refuses new txs with 503, Retry-After and MEMPOOL_BUSY', async () => {
    // Stands in for a mempool holding `mempool.backlogBlocks` blocks' worth of txs.
    const original = node.intake.backlogged;
    node.intake.backlogged = () => true;
    try {
      const tx = makeTx(2, addr(1), 1n, { nonce: nonces[2] });
      const res = await fetch(`${url}/txs`, {
        method: 'POST',
        body: JSON.stringify({ tx: toHex(encodeTx(tx)) }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '1');
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'MEMPOOL_BUSY');
      assert.doesNotMatch(body.error.message, /\n/, 'one line');
    } finally {
      node.intake.backlogged = original;
    }
    const accepted = await post(makeTx(2, addr(1), 1n), '?wait=commit');
    assert.equal(accepted.status, 200, 'admitted again once the backlog is gone');
  });

  test('client mistakes are 4xx with {error:{code,message}}', async () => {
    const committed = makeTx(0, addr(1), 1n);
    await post(committed, '?wait=commit');
    const unknownHash = toHex(new Uint8Array(32).fill(0xab));
    const foreign = makeTx(0, addr(1), 1n, { chainId: 'another-chain', nonce: nonces[0] });
    const good = makeTx(0, addr(1), 1n, { nonce: nonces[0] });
    const badSig = {
      ...good,
      signature: Uint8Array.from(good.signature, (b, i) => (i === 0 ? b ^ 1 : b)),
    };
    const stale = makeTx(0, addr(1), 2n, { nonce: 0 });
    const expired = makeTx(0, addr(1), 1n, { nonce: nonces[0], expiryHeight: 1 });
    const tooFar = makeTx(0, addr(1), 1n, { nonce: nonces[0]! + 5_000 });
    const txJson = (bytes: Uint8Array) => JSON.stringify({ tx: toHex(bytes) });
    const cases: Array<{
      what: string;
      method?: string;
      path: string;
      body?: string | Uint8Array;
      status: number;
      code: string | RegExp;
    }> = [
      { what: 'bad hex hash', path: '/txs/zz', status: 400, code: 'RPC_BAD_HASH' },
      { what: 'short hash', path: '/txs/abcd', status: 400, code: 'RPC_BAD_HASH' },
      { what: 'long hash', path: `/txs/${unknownHash}00`, status: 400, code: 'RPC_BAD_HASH' },
      { what: 'unknown tx', path: `/txs/${unknownHash}`, status: 404, code: 'RPC_TX_NOT_FOUND' },
      { what: 'bad height', path: '/blocks/abc', status: 400, code: 'RPC_BAD_HEIGHT' },
      { what: 'negative height', path: '/blocks/-1', status: 400, code: 'RPC_BAD_HEIGHT' },
      { what: 'exponent height', path: '/blocks/1e3', status: 400, code: 'RPC_BAD_HEIGHT' },
      {
        what: 'huge height',
        path: '/blocks/99999999999999999999',
        status: 400,
        code: 'RPC_BAD_HEIGHT',
      },
      { what: 'height 0', path: '/blocks/0', status: 404, code: 'RPC_BLOCK_NOT_FOUND' },
      {
        what: 'height beyond tip',
        path: '/blocks/999999',
        status: 404,
        code: 'RPC_BLOCK_NOT_FOUND',
      },
      { what: 'bad address', path: '/accounts/xyz', status: 400, code: 'ADDRESS_INVALID' },
      {
        what: 'short address',
        path: `/accounts/${'ab'.repeat(19)}`,
        status: 400,
        code: 'ADDRESS_INVALID',
      },
      {
        what: 'invalid JSON body',
        method: 'POST',
        path: '/txs',
        body: '{"tx": ',
        status: 400,
        code: 'RPC_BAD_JSON',
      },
      {
        what: 'JSON without tx',
        method: 'POST',
        path: '/txs',
        body: '{"nope": 1}',
        status: 400,
        code: 'RPC_BAD_REQUEST',
      },
      {
        what: 'JSON null',
        method: 'POST',
        path: '/txs',
        body: 'null',
        status: 400,
        code: 'RPC_BAD_REQUEST',
      },
      {
        what: 'tx not hex',
        method: 'POST',
        path: '/txs',
        body: '{"tx": "xyz"}',
        status: 400,
        code: 'BYTES_BAD_HEX',
      },
      {
        what: 'tx bytes garbage',
        method: 'POST',
        path: '/txs',
        body: '{"tx": "0102"}',
        status: 400,
        code: /^CODEC_/,
      },
      {
        what: 'empty tx',
        method: 'POST',
        path: '/txs',
        body: '{"tx": ""}',
        status: 400,
        code: /^CODEC_/,
      },
      {
        what: 'tx over the size limit',
        method: 'POST',
        path: '/txs',
        body: txJson(new Uint8Array(Limits.txBytes + 1).fill(1)),
        status: 400,
        code: 'CODEC_TOO_LARGE',
      },
      {
        what: 'body too large',
        method: 'POST',
        path: '/txs',
        body: JSON.stringify({ tx: '00'.repeat(MAX_BODY) }),
        status: 413,
        code: 'RPC_BODY_TOO_LARGE',
      },
      {
        what: 'wrong chain id',
        method: 'POST',
        path: '/txs',
        body: txJson(encodeTx(foreign)),
        status: 400,
        code: 'TX_WRONG_CHAIN',
      },
      {
        what: 'bad signature',
        method: 'POST',
        path: '/txs',
        body: txJson(encodeTx(badSig)),
        status: 400,
        code: 'TX_BAD_SIGNATURE',
      },
      {
        what: 'nonce too low',
        method: 'POST',
        path: '/txs',
        body: txJson(encodeTx(stale)),
        status: 400,
        code: 'TX_NONCE_TOO_LOW',
      },
      {
        what: 'nonce too high',
        method: 'POST',
        path: '/txs',
        body: txJson(encodeTx(tooFar)),
        status: 400,
        code: 'TX_NONCE_TOO_HIGH',
      },
      {
        what: 'expired',
        method: 'POST',
        path: '/txs',
        body: txJson(encodeTx(expired)),
        status: 400,
        code: 'TX_EXPIRED',
      },
      {
        what: 'bad wait',
        method: 'POST',
        path: '/txs?wait=forever',
        body: txJson(encodeTx(good)),
        status: 400,
        code: 'RPC_BAD_REQUEST',
      },
      {
        what: 'bad timeout',
        method: 'POST',
        path: '/txs?wait=commit&timeoutMs=0',
        body: txJson(encodeTx(good)),
        status: 400,
        code: 'RPC_BAD_TIMEOUT',
      },
      {
        what: 'unknown module',
        path: '/state/nope/1',
        status: 404,
        code: 'APP_UNKNOWN_MODULE',
      },
      { what: 'bad account id', path: '/state/bank/xyz', status: 400, code: 'BANK_BAD_ID' },
      {
        what: 'bad freeze kind',
        path: `/state/freeze/vault/${toHex(addr(0))}`,
        status: 400,
        code: 'FREEZE_BAD_ID',
      },
      {
        what: 'freeze id without kind',
        path: `/state/freeze/${toHex(addr(0))}`,
        status: 400,
        code: 'FREEZE_BAD_ID',
      },
      {
        what: 'bad member id',
        path: '/state/org/member/zz',
        status: 400,
        code: 'ORG_BAD_ID',
      },
      { what: 'bad org id', path: '/state/org/Not%20An%20Id', status: 400, code: 'ORG_BAD_ID' },
      { what: 'bad proposal id', path: '/state/gov/0', status: 400, code: 'GOV_BAD_ID' },
      { what: 'bad params id', path: '/state/params/latest', status: 400, code: 'PARAMS_BAD_ID' },
      { what: 'state without id', path: '/state/bank', status: 404, code: 'RPC_NOT_FOUND' },
      { what: 'bare /state', path: '/state', status: 404, code: 'RPC_NOT_FOUND' },
      { what: 'bad escape', path: '/state/bank/%zz', status: 400, code: 'RPC_BAD_REQUEST' },
      {
        what: 'POST a state object',
        method: 'POST',
        path: `/state/bank/${toHex(addr(0))}`,
        body: '{}',
        status: 405,
        code: 'RPC_METHOD_NOT_ALLOWED',
      },
      { what: 'proposal id', path: '/gov/proposals/abc', status: 400, code: 'GOV_BAD_ID' },
      { what: 'proposal 0', path: '/gov/proposals/0', status: 400, code: 'GOV_BAD_ID' },
      {
        what: 'unknown proposal',
        path: '/gov/proposals/99',
        status: 404,
        code: 'GOV_UNKNOWN_PROPOSAL',
      },
      { what: 'gov other', path: '/gov/votes', status: 404, code: 'RPC_NOT_FOUND' },
      { what: 'bare /gov', path: '/gov', status: 404, code: 'RPC_NOT_FOUND' },
      { what: 'deeper gov', path: '/gov/proposals/1/x', status: 404, code: 'RPC_NOT_FOUND' },
      {
        what: 'POST proposals',
        method: 'POST',
        path: '/gov/proposals',
        body: '{}',
        status: 405,
        code: 'RPC_METHOD_NOT_ALLOWED',
      },
      { what: 'unknown route', path: '/nope', status: 404, code: 'RPC_NOT_FOUND' },
      { what: 'root', path: '/', status: 404, code: 'RPC_NOT_FOUND' },
      {
        what: 'wrong method',
        method: 'POST',
        path: '/status',
        body: '{}',
        status: 405,
        code: 'RPC_METHOD_NOT_ALLOWED',
      },
      { what: 'GET /txs', path: '/txs', status: 405, code: 'RPC_METHOD_NOT_ALLOWED' },
      {
        what: 'DELETE a block',
        method: 'DELETE',
        path: '/blocks/1',
        status: 405,
        code: 'RPC_METHOD_NOT_ALLOWED',
      },
    ];
    for (const c of cases) {
      const res = await httpJson<ErrorBody>(`${url}${c.path}`, {
        method: c.method ?? 'GET',
        body: c.body,
        headers: c.body === undefined ? {} : { 'content-type': 'application/json' },
      });
      assert.equal(res.status, c.status, `${c.what}: ${JSON.stringify(res.body)}`);
      assert.equal(typeof res.body.error?.message, 'string', c.what);
      if (typeof c.code === 'string') assert.equal(res.body.error.code, c.code, c.what);
      else assert.match(res.body.error.code, c.code, c.what);
    }
    // None of the rejected txs got in; the good one is still admissible.
    const ok = await post(good, '?wait=commit');
    assert.equal(ok.status, 200);
    nonces[0]!++;
  });

  test('submission is idempotent: the same tx again answers where it is, also concurrently', async () => {
    // A nonce gap keeps the tx pending, so the second submission meets it in the mempool.
    const gapped = makeTx(1, addr(0), 1n, { nonce: nonces[1]! + 3 });
    const first = await post(gapped);
    assert.equal(first.status, 200);
    const again = await post(gapped);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { hash: first.body.hash, status: 'pending' });
    const pending = await get(`/txs/${first.body.hash}`);
    assert.deepEqual(pending.body, { hash: first.body.hash, status: 'pending' });
    const another = makeTx(1, addr(0), 2n, { nonce: nonces[1]! + 4 });
    const racing = await Promise.all([post(another), post(another), post(another)]);
    assert.deepEqual(
      racing.map((r) => [r.status, r.body.hash, r.body.status]),
      Array(3).fill([200, toHex(txHash(another)), 'pending']),
    );
    // A committed tx sent again answers committed, where it is, with or without a wait.
    const done = makeTx(0, addr(1), 1n);
    const committed = await post(done, '?wait=commit');
    assert.equal(committed.body.status, 'committed');
    for (const query of ['', '?wait=commit']) {
      const resent = await post(done, query);
      assert.equal(resent.status, 200);
      assert.deepEqual(resent.body, committed.body);
    }
    // Another tx with a pending tx's nonce is still refused.
    const sameNonce = makeTx(1, addr(0), 3n, { nonce: nonces[1]! + 3 });
    const taken = await post(sameNonce);
    assert.equal(taken.status, 409);
    assert.equal((taken.body as unknown as ErrorBody).error.code, 'MEMPOOL_NONCE_TAKEN');
  });

  test('wait=commit for a tx that cannot commit yet times out with 504 TX_WAIT_TIMEOUT', async () => {
    const gapped = makeTx(2, addr(0), 1n, { nonce: nonces[2]! + 2 });
    const res = await post(gapped, '?wait=commit&timeoutMs=200');
    assert.equal(res.status, 504);
    assert.equal((res.body as unknown as ErrorBody).error.code, 'TX_WAIT_TIMEOUT');
  });
  test('wait=commit does not miss a commit that lands while it reads the store', {}, async () => {
    const store = node.ledger.store;
    const ledger = node.ledger;
    const originalRead = store.getTxLocation;
    const originalCommit = ledger.commit;
    const tx = makeTx(1, addr(2), 1n);
    const hashHex = toHex(txHash(tx));
    // Force the interleaving: the block with the tx commits only once the tx-index read has
    // started (so the read sees "not committed"), and the read's answer is delivered only
    // after that commit notified its waiters, as a slow LevelDB read would be.
    let readStarted: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      readStarted = resolve;
    });
    ledger.commit = async (block, certificate, executed) => {
      if (block.txHashes.some((h) => toHex(h) === hashHex)) await gate;
      return originalCommit.call(ledger, block, certificate, executed);
    };
    store.getTxLocation = async (hash: Uint8Array) => {
      if (toHex(hash) !== hashHex) return originalRead.call(store, hash);
      store.getTxLocation = originalRead;
      const found = await originalRead.call(store, hash);
      const committed = new Promise((resolve) => node.events.once('block', resolve));
      readStarted();
      await committed;
      return found;
    };
    try {
      const res = await post(tx, '?wait=commit&timeoutMs=1500');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.status, 'committed');
    } finally {
      store.getTxLocation = originalRead;
      ledger.commit = originalCommit;
    }
  });

  test('the tx from the missed wait did commit', async () => {
    const res = await get<{ nonce: number }>(`/accounts/${toHex(addr(1))}`);
    assert.equal(res.body.nonce, nonces[1], 'account 1 used every nonce handed out');
  });

  test('paths with extra segments are 404, not served as their prefix', {}, async () => {
    for (const path of ['/txs/a/b', '/blocks/1/extra', `/accounts/${'00'.repeat(20)}/x`]) {
      const res = await get<ErrorBody>(path);
      assert.equal(res.status, 404, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'RPC_NOT_FOUND');
    }
  });

  test('a chunked body over the limit is refused with 413', {}, async () => {
    const result = await new Promise<{ status: number | undefined; body: string; error?: string }>(
      (resolve) => {
        const req = request(`${url}/txs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        });
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('error', (err) =>
          resolve({ status: undefined, body: '', error: (err as NodeJS.ErrnoException).code }),
        );
        const chunk = Buffer.alloc(1024, 0x30);
        let sent = 0;
        const pump = (): void => {
          while (sent < MAX_BODY * 2) {
            sent += chunk.length;
            if (!req.write(chunk)) {
              req.once('drain', pump);
              return;
            }
          }
          req.end();
        };
        pump();
      },
    );
    assert.equal(result.status, 413, `got ${result.status ?? result.error}`);
    assert.equal((JSON.parse(result.body) as ErrorBody).error.code, 'RPC_BODY_TOO_LARGE');
  });

  test('odd requests never get a 500', async () => {
    const paths = [
      '/status/x',
      '/blocks/',
      '/blocks/latest/x',
      '/blocks/%00',
      '/txs/%zz',
      `/txs/0x${'00'.repeat(32)}`,
      '/accounts/',
      `/accounts/0x${'00'.repeat(20)}?proof=maybe`,
      '/events/x',
      '/state/%00/%00',
      `/state/bank/${'0'.repeat(5000)}`,
      '/state/freeze/account/',
      '/state/org/member/',
      '/gov/proposals/99999999999999999999',
      '//status',
      '/status?x=%zz',
      `/${'a'.repeat(5000)}`,
    ];
    for (const path of paths) {
      const res = await fetch(`${url}${path}`);
      assert.ok(res.status < 500, `${path} → ${res.status}`);
      await res.body?.cancel();
    }
    for (const body of ['', '[]', '"tx"', '{"tx": 5}', '{"tx": null}', '\u0000', '{"tx":"0x"}']) {
      const res = await fetch(`${url}/txs`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body)} → ${res.status}`);
      const json = (await res.json()) as ErrorBody;
      assert.equal(typeof json.error.code, 'string');
    }
    // The node still serves normally.
    assert.equal((await get('/status')).status, 200);
  });
});

describe('HTTP API: governance proposals over a state with proposals', () => {
  const app = civitasApp();
  const HEIGHT = 60;
  const values = new Map<string, Uint8Array>();
  let server: RpcServer;

  const proposer = addressOf(generateKeyPair().publicKey);
  const setParams = app.method('params', 'set')!;
  const base: Proposal = {
    id: 0,
    proposer,
    actions: [
      {
        module: 'params',
        method: 'set',
        args: setParams.args.encode(setParams.args.fromJson({ permissioned: true })),
      },
    ],
    createdAt: 10,
    expiresAtHeight: 1_000,
    committee: ['a', 'b', 'c', 'd'],
    threshold: 3,
    votes: [],
    status: 'open',
    failure: null,
    closedAt: 0,
    history: { rev: 1, hist: new Uint8Array(32) },
  };
  const TOTAL = 105;
  const proposals: Record<number, Partial<Proposal>> = {
    105: { expiresAtHeight: 50 }, // open on chain, past its expiry at HEIGHT
    104: { votes: [{ org: 'a', voter: proposer, approve: true }] },
    103: { status: 'failed', failure: { index: 0, code: 'GOV_ONLY' }, closedAt: 40 },
    102: { expiresAtHeight: HEIGHT + 1 }, // a vote may still land in block HEIGHT + 1: open
    101: { expiresAtHeight: HEIGHT }, // the next block is past its expiry: no vote can land
  };

  before(async () => {
    for (let id = 1; id <= TOTAL; id++) {
      const closed = { status: 'rejected' as const, closedAt: 20 };
      const p = { ...base, id, ...(proposals[id] === undefined ? closed : proposals[id]) };
      values.set(toHex(proposalKey(id)), proposalCodec.encode(p));
    }
    values.set(toHex(NEXT_KEY), nextIdCodec.encode(TOTAL + 1));
    const chain = {
      height: HEIGHT,
      getValue: async (key: Uint8Array) => values.get(toHex(key)),
    } as unknown as RpcChain;
    const unused = () => {
      throw new Error('not used by these routes');
    };
    server = new RpcServer(
      { listen: '127.0.0.1:0', maxBodyBytes: MAX_BODY },
      {
        chain,
        app,
        info: unused as never,
        txs: { submit: unused, waitFor: unused, isPending: unused },
        events: new EventEmitter() as never,
        metrics: { text: async () => '', contentType: 'text/plain' },
        faults: undefined,
        logger: silentLogger,
      },
    );
    await server.start();
  });
  after(() => server?.stop());

  test('GET /gov/proposals: the last 100, newest first, status at the current height', async () => {
    const res = await httpJson<ProposalsResponse>(`${server.url}/gov/proposals`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.height, HEIGHT);
    assert.equal(res.body.total, TOTAL);
    assert.equal(res.body.proposals.length, 100);
    assert.deepEqual(
      res.body.proposals.map((p) => p.id),
      Array.from({ length: 100 }, (_, i) => TOTAL - i),
    );
    const byId = new Map(res.body.proposals.map((p) => [p.id, p]));
    assert.equal(byId.get(105)!.status, 'expired');
    assert.equal(byId.get(104)!.status, 'open');
    assert.equal(byId.get(103)!.status, 'failed');
    assert.deepEqual(byId.get(103)!.failure, { index: 0, code: 'GOV_ONLY' });
    assert.equal(byId.get(102)!.status, 'open');
    assert.equal(byId.get(101)!.status, 'expired');
    assert.equal(byId.get(6)!.status, 'rejected');
  });

  test('GET /gov/proposals/:id: one proposal, actions in JSON form', async () => {
    const res = await httpJson<{ height: number; proposal: ProposalJson }>(
      `${server.url}/gov/proposals/104`,
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.height, HEIGHT);
    assert.deepEqual(res.body.proposal, {
      id: 104,
      proposer: toHex(proposer),
      actions: [{ call: 'params.set', args: { permissioned: true } }],
      createdAt: 10,
      expiresAtHeight: 1_000,
      committee: ['a', 'b', 'c', 'd'],
      threshold: 3,
      votes: [{ org: 'a', voter: toHex(proposer), approve: true }],
      status: 'open',
      failure: null,
      closedAt: 0,
      rev: 1,
      hist: toHex(new Uint8Array(32)),
    });
    const expired = await httpJson<{ proposal: ProposalJson }>(`${server.url}/gov/proposals/105`);
    assert.equal(expired.body.proposal.status, 'expired');
    const missing = await httpJson<ErrorBody>(`${server.url}/gov/proposals/${TOTAL + 1}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'GOV_UNKNOWN_PROPOSAL');
    // The same object through the generic state route.
    const state = await httpJson<StateResponse>(`${server.url}/state/gov/104`);
    assert.equal(state.status, 200);
    assert.equal(state.body.present, true);
    assert.deepEqual({ ...state.body.value, status: 'open' }, res.body.proposal);
  });
});
