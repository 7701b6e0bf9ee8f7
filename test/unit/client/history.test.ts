/**
 * Object histories through the API of a real Ledger (LevelDB) served by the node's RpcServer:
 * GET /history pages the index (ids with "/", bad values 400) and GET /state?height= answers
 * and proves an object at a past height; verifyHistory proves a freeze order, a member changed
 * by a governance action and a 2-op tx, and a proposal, each to its proven rev and hist. A
 * node that drops, swaps, reorders or redirects an entry, points at a failed tx or a tx in
 * another place, lies about a governance action, or serves a wrong current value or a broken
 * proof fails with its code.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type {
  HistoryEntryJson,
  HistoryResponse,
  StateResponse,
  TxResponse,
} from '../../../src/api/types.ts';
import { civitasApp } from '../../../src/app/registry.ts';
import { genesisValidatorSet } from '../../../src/chain/index.ts';
import {
  CivitasClient,
  fromHex,
  genesisStateRoot,
  type HistoryClient,
  type TrustedChain,
  toHex,
  type VerifiedHistoryEntry,
  verifyHistory,
  verifyStateProof,
} from '../../../src/client/index.ts';
import { CivitasError } from '../../../src/errors/index.ts';
import { silentLogger } from '../../../src/node/logger.ts';
import { RpcServer } from '../../../src/node/rpc-server.ts';
import { httpJson } from '../../helpers/http.ts';
import {
  type HistoryChain,
  historyChain,
  objectKey,
  runHistoryScenario,
} from '../state/history-chain.ts';

async function rejectsWith(p: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(
    p,
    (err: unknown) => {
      assert.ok(err instanceof CivitasError, `${what}: expected CivitasError, got ${String(err)}`);
      assert.equal(err.code, code, `${what}: ${err.message}`);
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

/** A client whose answers pass through edits (a lying node). */
function lying(
  client: HistoryClient,
  edit: {
    history?: (r: HistoryResponse) => HistoryResponse;
    state?: (r: StateResponse, module: string, id: string) => StateResponse;
    tx?: (r: TxResponse) => TxResponse;
  },
): HistoryClient {
  return {
    history: async (m, id, o) => (edit.history ?? ((r) => r))(await client.history(m, id, o)),
    state: async (m, id, o) => (edit.state ?? ((r) => r))(await client.state(m, id, o), m, id),
    tx: async (hash) => (edit.tx ?? ((r) => r))(await client.tx(hash)),
  };
}

/** The index with its entries rewritten. */
function entries(edit: (e: HistoryEntryJson[]) => HistoryEntryJson[]) {
  return (r: HistoryResponse): HistoryResponse => ({ ...r, entries: edit(r.entries.slice()) });
}

describe('object histories over the API', () => {
  let dir: string;
  let hc: HistoryChain;
  let server: RpcServer;
  let client: CivitasClient;
  let trusted: TrustedChain;
  let freezeId: string;
  let memberId: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'civitas-history-client-'));
    hc = await historyChain(dir);
    await runHistoryScenario(hc);
    freezeId = `account/${hc.hex(hc.member)}`;
    memberId = `member/${hc.hex(hc.newcomer)}`;
    const unused = () => {
      throw new Error('not used by these routes');
    };
    server = new RpcServer(
      { listen: '127.0.0.1:0', maxBodyBytes: 64 * 1024 },
      {
        chain: hc.ledger,
        app: civitasApp(),
        info: unused as never,
        txs: { submit: unused, waitFor: unused, isPending: () => false },
        events: new EventEmitter() as never,
        metrics: { text: async () => '', contentType: 'text/plain' },
        faults: undefined,
        logger: silentLogger,
      },
    );
    await server.start();
    client = new CivitasClient(server.url);
    trusted = {
      chainId: hc.chain.genesis.chainId,
      validators: genesisValidatorSet(hc.chain.genesis),
      genesisStateRoot: await genesisStateRoot(hc.chain.genesis),
    };
  });
  after(async () => {
    await server?.stop();
    await hc?.ledger.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('GET /history: the index by rev, paged, ids with "/"', async () => {
    const all = await client.history('org', memberId);
    assert.equal(all.module, 'org');
    assert.equal(all.id, memberId);
    assert.equal(all.key, toHex(objectKey('org', memberId)));
    assert.equal(all.height, hc.ledger.height);
    assert.deepEqual(
      all.entries.map((e) => [e.rev, e.height, e.index, e.opIndex, e.action]),
      [
        [1, 2, 0, 0, null],
        [2, 5, 0, 0, 0],
        [3, 6, 1, 0, null],
        [4, 6, 1, 1, null],
      ],
    );
    assert.equal(all.entries[1]!.txHash, hc.blocks[4]!.txs[0]);
    assert.equal(all.next, null);
    const page = await client.history('org', memberId, { from: 2, limit: 2 });
    assert.deepEqual([page.entries.map((e) => e.rev), page.next], [[2, 3], 4]);
    const last = await client.history('org', memberId, { from: 4, limit: 1 });
    assert.deepEqual([last.entries.map((e) => e.rev), last.next], [[4], null]);
    assert.deepEqual((await client.history('freeze', freezeId)).entries.length, 2);
    const none = await client.history('freeze', `account/${hc.hex(hc.admin)}`);
    assert.deepEqual([none.entries, none.next], [[], null]);
  });

  test('GET /history: bad from, limit, module or id are 4xx with a code', async () => {
    const base = `${server.url}/history/org/${memberId}`;
    for (const [query, code] of [
      ['?limit=0', 'RPC_BAD_REQUEST'],
      ['?limit=1001', 'RPC_BAD_REQUEST'],
      ['?limit=ten', 'RPC_BAD_REQUEST'],
      ['?from=-1', 'RPC_BAD_REQUEST'],
      ['?from=4294967296', 'RPC_BAD_REQUEST'],
    ] as const) {
      const r = await httpJson<{ error: { code: string } }>(`${base}${query}`);
      assert.equal(r.status, 400, query);
      assert.equal(r.body.error.code, code, query);
    }
    const unknown = await httpJson<{ error: { code: string } }>(`${server.url}/history/nope/x`);
    assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'APP_UNKNOWN_MODULE']);
    const badId = await httpJson<{ error: { code: string } }>(`${server.url}/history/freeze/x`);
    assert.deepEqual([badId.status, badId.body.error.code], [400, 'FREEZE_BAD_ID']);
    const noId = await httpJson<{ error: { code: string } }>(`${server.url}/history/org`);
    assert.equal(noId.status, 404);
    const post = await httpJson<{ error: { code: string } }>(`${base}`, { method: 'POST' });
    assert.deepEqual([post.status, post.body.error.code], [405, 'RPC_METHOD_NOT_ALLOWED']);
  });

  test('GET /state?height=: the object as it was, proven at that height', async () => {
    const then = await client.state('org', memberId, { proof: true, height: 2 });
    assert.equal(then.height, 2);
    assert.deepEqual(then.value?.roles, ['member']);
    const proven = verifyStateProof('org', memberId, then, trusted);
    assert.deepEqual([proven.height, proven.json?.rev], [2, 1]);
    const unproven = await client.state('org', memberId, { height: 5 });
    assert.deepEqual([unproven.height, unproven.value?.rev, unproven.proof], [5, 2, undefined]);
    const before = await client.state('org', memberId, { height: 1 });
    assert.deepEqual([before.present, before.value], [false, null]);
    const genesis = await client.state('org', `member/${hc.hex(hc.member)}`, {
      proof: true,
      height: 0,
    });
    assert.equal(
      verifyStateProof('org', `member/${hc.hex(hc.member)}`, genesis, trusted).height,
      0,
    );
    for (const [height, status, code] of [
      ['99', 404, 'RPC_BLOCK_NOT_FOUND'],
      ['x', 400, 'RPC_BAD_HEIGHT'],
      ['-1', 400, 'RPC_BAD_HEIGHT'],
    ] as const) {
      const r = await httpJson<{ error: { code: string } }>(
        `${server.url}/state/org/${memberId}?proof=true&height=${height}`,
      );
      assert.deepEqual([r.status, r.body.error.code], [status, code], height);
    }
  });

  test('verifyHistory proves a freeze order imposed and lifted', async () => {
    const seen: VerifiedHistoryEntry[] = [];
    const v = await verifyHistory(client, 'freeze', freezeId, trusted, {
      onEntry: (e) => seen.push(e),
    });
    const current = (await client.state('freeze', freezeId)).value!;
    assert.deepEqual([v.rev, v.hist, v.present], [2, current.hist, true]);
    assert.deepEqual(
      v.entries.map((e) => [e.rev, e.height, `${e.module}.${e.method}`, e.proposal]),
      [
        [1, 1, 'freeze.impose', null],
        [2, 6, 'freeze.lift', null],
      ],
    );
    assert.deepEqual(v.entries[1]!.args, { kind: 'account', id: hc.hex(hc.member) });
    assert.equal(v.entries[1]!.hist, current.hist);
    assert.deepEqual(seen, v.entries, 'each step reported as it is proven');
  });

  test('verifyHistory proves a member changed by a governance action and a 2-op tx', async () => {
    const v = await verifyHistory(client, 'org', memberId, trusted);
    const current = (await client.state('org', memberId)).value!;
    assert.deepEqual([v.rev, v.hist], [4, current.hist]);
    assert.deepEqual(
      v.entries.map((e) => [e.rev, `${e.module}.${e.method}`, e.opIndex, e.action, e.proposal]),
      [
        [1, 'org.addMember', 0, null, null],
        [2, 'org.setRoles', 0, 0, 1],
        [3, 'org.setRoles', 0, null, null],
        [4, 'org.setRoles', 1, null, null],
      ],
    );
    assert.deepEqual(v.entries[1]!.args, {
      account: hc.hex(hc.newcomer),
      roles: ['member', 'regulator'],
    });
    assert.equal(v.entries[1]!.txHash, hc.blocks[4]!.txs[0], "the deciding vote's tx");
    const proposal = await verifyHistory(client, 'gov', '1', trusted);
    assert.deepEqual(
      proposal.entries.map((e) => `${e.module}.${e.method}`),
      ['gov.propose', 'gov.vote', 'gov.vote'],
    );
  });

  test('verifyHistory of an absent, an unchanged and an untracked object', async () => {
    const absent = await verifyHistory(client, 'freeze', `account/${hc.hex(hc.admin)}`, trusted);
    assert.deepEqual([absent.rev, absent.present, absent.entries], [0, false, []]);
    assert.equal(absent.hist, '00'.repeat(32));
    // A genesis member never changed: rev 0, nothing to replay.
    const unchanged = await verifyHistory(client, 'org', `member/${hc.hex(hc.member)}`, trusted);
    assert.deepEqual([unchanged.rev, unchanged.present, unchanged.entries], [0, true, []]);
    await rejectsWith(
      verifyHistory(client, 'bank', hc.hex(hc.admin), trusted),
      'VERIFY_NOT_TRACKED',
      'an account',
    );
  });

  test('verifyHistory reads every page of the index', async () => {
    let pages = 0;
    const onePerPage: HistoryClient = {
      ...lying(client, {}),
      history: async (m, id, o) => {
        pages++;
        return client.history(m, id, { ...o, limit: 1 });
      },
    };
    assert.equal((await verifyHistory(onePerPage, 'org', memberId, trusted)).rev, 4);
    assert.equal(pages, 4);
    const stuck = lying(client, { history: (r) => ({ ...r, next: 1 }) });
    const stuckOnePage: HistoryClient = {
      ...stuck,
      history: async (m, id, o) => ({ ...(await stuck.history(m, id, { ...o, limit: 1 })) }),
    };
    await rejectsWith(
      verifyHistory(stuckOnePage, 'org', memberId, trusted),
      'CLIENT_BAD_RESPONSE',
      'a next that does not move forward',
    );
  });

  test('a dropped, repeated or reordered entry fails: VERIFY_HISTORY_GAP', async () => {
    const cases: Array<[string, (e: HistoryEntryJson[]) => HistoryEntryJson[]]> = [
      ['dropped', (e) => e.filter((x) => x.rev !== 2)],
      ['the last dropped', (e) => e.slice(0, -1)],
      ['reordered', (e) => [e[1]!, e[0]!, ...e.slice(2)]],
      ['repeated', (e) => [e[0]!, e[0]!, ...e.slice(1)]],
      ['renumbered', (e) => e.filter((x) => x.rev !== 2).map((x, i) => ({ ...x, rev: i + 1 }))],
    ];
    for (const [what, edit] of cases) {
      await rejectsWith(
        verifyHistory(lying(client, { history: entries(edit) }), 'org', memberId, trusted),
        'VERIFY_HISTORY_GAP',
        what,
      );
    }
  });

  test('swapped, foreign or altered entries fail: VERIFY_HISTORY_MISMATCH', async () => {
    const swapCalls = (e: HistoryEntryJson[]) => {
      const [a, b] = [e[2]!, e[3]!];
      e[2] = { ...b, rev: a.rev };
      e[3] = { ...a, rev: b.rev };
      return e;
    };
    const freezeTx = (await client.history('freeze', freezeId)).entries[0]!;
    const foreign = (e: HistoryEntryJson[]) => {
      e[0] = { ...freezeTx, rev: 1 };
      return e;
    };
    const asPlainOp = (e: HistoryEntryJson[]) => {
      e[1] = { ...e[1]!, action: null };
      return e;
    };
    for (const [what, edit] of [
      ['two entries swapped, revs kept', swapCalls],
      ['a tx that changed another object', foreign],
      ['a governance action shown as the vote op itself', asPlainOp],
    ] as const) {
      await rejectsWith(
        verifyHistory(lying(client, { history: entries(edit) }), 'org', memberId, trusted),
        'VERIFY_HISTORY_MISMATCH',
        what,
      );
    }
  });

  test('an entry that does not match its proven tx fails: VERIFY_HISTORY_ENTRY', async () => {
    const failedTx = hc.blocks[1]!.txs[1]!;
    const cases: Array<[string, (e: HistoryEntryJson[]) => HistoryEntryJson[]]> = [
      ['another height', (e) => [{ ...e[0]!, height: 3 }, ...e.slice(1)]],
      ['another index', (e) => [{ ...e[0]!, index: 1 }, ...e.slice(1)]],
      ['a failed tx', (e) => [{ ...e[0]!, txHash: failedTx, index: 1 }, ...e.slice(1)]],
      ['an op the tx does not have', (e) => [{ ...e[0]!, opIndex: 5 }, ...e.slice(1)]],
      [
        'an action the proposal does not have',
        (e) => [e[0]!, { ...e[1]!, action: 1 }, ...e.slice(2)],
      ],
      ['an action on a tx that is no vote', (e) => [{ ...e[0]!, action: 0 }, ...e.slice(1)]],
      ['after the proven value', (e) => [{ ...e[0]!, height: 999 }, ...e.slice(1)]],
    ];
    for (const [what, edit] of cases) {
      await rejectsWith(
        verifyHistory(lying(client, { history: entries(edit) }), 'org', memberId, trusted),
        'VERIFY_HISTORY_ENTRY',
        what,
      );
    }
    // The action credited to the vote that did not decide (block 4): the proposal, proven
    // at that height, had not passed yet.
    const firstVote = lying(client, {
      history: entries((e) => [
        e[0]!,
        { ...e[1]!, height: 4, txHash: hc.blocks[3]!.txs[0]! },
        ...e.slice(2),
      ]),
    });
    await rejectsWith(
      verifyHistory(firstVote, 'org', memberId, trusted),
      'VERIFY_HISTORY_ENTRY',
      'the action credited to a vote that did not pass the proposal',
    );
  });

  test('a wrong current value or a broken proof fails with its VERIFY_* code', async () => {
    const alteredValue = lying(client, {
      state: (r) => ({ ...r, proof: { ...r.proof!, value: flip(r.proof!.value!, 40) } }),
    });
    await rejectsWith(
      verifyHistory(alteredValue, 'org', memberId, trusted),
      'VERIFY_STATE_PROOF',
      'an altered current value',
    );
    const otherObject = lying(client, {
      state: (r, module) =>
        module === 'org' ? { ...r, proof: { ...r.proof!, keyHash: flip(r.proof!.keyHash, 0) } } : r,
    });
    await rejectsWith(
      verifyHistory(otherObject, 'org', memberId, trusted),
      'VERIFY_KEY',
      "another object's proof",
    );
    // An older value, honestly proven: the index goes on past it, the replay stops there.
    const olderClient: HistoryClient = {
      ...lying(client, {}),
      state: (m, id, o) => client.state(m, id, { ...o, height: o?.height ?? 5 }),
    };
    const v = await verifyHistory(olderClient, 'org', memberId, trusted);
    assert.deepEqual([v.rev, v.height, v.entries.length], [2, 5, 2]);
    const forgedCertificate = lying(client, {
      tx: (r) =>
        r.status === 'committed' ? { ...r, certificateBytes: flip(r.certificateBytes, 60) } : r,
    });
    await rejectsWith(
      verifyHistory(forgedCertificate, 'org', memberId, trusted),
      'VERIFY_CERTIFICATE',
      'a forged certificate on a tx',
    );
    const otherTx = lying(client, {
      tx: (r) => (r.status === 'committed' ? { ...r, txBytes: flip(r.txBytes, 30) } : r),
    });
    await rejectsWith(
      verifyHistory(otherTx, 'org', memberId, trusted),
      'VERIFY_TX_HASH',
      'altered tx bytes',
    );
    const proposalProof = lying(client, {
      state: (r, module) =>
        module === 'gov' ? { ...r, proof: { ...r.proof!, value: flip(r.proof!.value!, 3) } } : r,
    });
    await rejectsWith(
      verifyHistory(proposalProof, 'org', memberId, trusted),
      'VERIFY_STATE_PROOF',
      'an altered proposal behind a governance action',
    );
  });
});
