/**
 * The history index on a real Ledger: every change of a tracked object by a tx that
 * succeeded is indexed under (key hash, rev) with its block, tx, op and governance action, in
 * the same batch as the block; a failed tx (or a failed op of a batch) leaves none; entries
 * come back in rev order, page by page; they survive a close and reopen; and a node that
 * syncs the same blocks through BlockPipeline builds the same index. Replaying the indexed
 * calls gives each object's stored hist.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { proposalCodec } from '../../../src/app/gov/state.ts';
import {
  type History,
  historyRecordHash,
  NO_HISTORY,
  nextHistory,
} from '../../../src/app/history.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { encodeCertificate, TxVerifier } from '../../../src/chain/index.ts';
import { appModule, toHex } from '../../../src/client/index.ts';
import { BlockPipeline } from '../../../src/state/block-pipeline.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import type { HistoryEntry } from '../../../src/state/store.ts';
import { type HistoryChain, historyChain, runHistoryScenario } from './history-chain.ts';

/** An entry as plain values, to compare. */
function plain(e: HistoryEntry) {
  return [e.rev, e.height, e.txIndex, e.opIndex, e.action, toHex(e.txHash)];
}

/** Replays the calls the index names, from the committed blocks (proposals for actions). */
async function replay(ledger: Ledger, entries: readonly HistoryEntry[]): Promise<History> {
  let h = NO_HISTORY;
  for (const e of entries) {
    const block = await ledger.store.getBlock(e.height);
    assert.ok(block);
    assert.equal(toHex(block.txHashes[e.txIndex]!), toHex(e.txHash));
    const op = block.txs[e.txIndex]!.ops[e.opIndex]!;
    let call = { module: op.module, method: op.method, args: op.args };
    if (e.action !== null) {
      assert.equal(`${op.module}.${op.method}`, 'gov.vote');
      const { id } = appModule('gov').methods.vote!.args.decode(op.args) as { id: number };
      const proven = await ledger.prove(appModule('gov').objects.key(String(id)), e.height);
      call = proposalCodec.decode(proven.value!).actions[e.action]!;
    }
    h = nextHistory(h, e.txHash, e.opIndex, historyRecordHash(call.module, call.method, call.args));
    assert.equal(h.rev, e.rev);
  }
  return h;
}

/** rev and hist of the stored object, from its JSON view (as a client reads them). */
async function stored(ledger: Ledger, module: string, id: string): Promise<[number, string]> {
  const objects = appModule(module).objects;
  const value = await ledger.getValue(objects.key(id));
  assert.ok(value, `${module} ${id} is stored`);
  const json = objects.toJson(value, id);
  return [json.rev as number, json.hist as string];
}

describe('history index', () => {
  let dir: string;
  let hc: HistoryChain;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'civitas-history-index-'));
    hc = await historyChain(dir);
    await runHistoryScenario(hc);
  });
  after(async () => {
    await hc?.ledger.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('each change by a tx that succeeded, by rev, with its block, tx, op and action', async () => {
    const { ledger, keys, blocks } = hc;
    const tx = (height: number, index: number) => blocks[height - 1]!.txs[index]!;
    assert.deepEqual((await ledger.history(keys.freezeOrder)).map(plain), [
      [1, 1, 0, 0, null, tx(1, 0)],
      [2, 6, 0, 0, null, tx(6, 0)],
    ]);
    // The governance action: the deciding vote's tx and op, the action's index. Then two
    // changes by one 2-op tx. Block 7's batch changed the member in op 0 but failed: nothing.
    assert.deepEqual((await ledger.history(keys.newcomer)).map(plain), [
      [1, 2, 0, 0, null, tx(2, 0)],
      [2, 5, 0, 0, 0, tx(5, 0)],
      [3, 6, 1, 0, null, tx(6, 1)],
      [4, 6, 1, 1, null, tx(6, 1)],
    ]);
    // Each vote changes the proposal itself (as a plain op, not an action).
    assert.deepEqual((await ledger.history(keys.proposal)).map(plain), [
      [1, 3, 0, 0, null, tx(3, 0)],
      [2, 4, 0, 0, null, tx(4, 0)],
      [3, 5, 0, 0, null, tx(5, 0)],
    ]);
    assert.equal(blocks[1]!.receipts[1]!.status, 'failed');
    assert.deepEqual(await ledger.history(keys.neverFrozen), [], 'the failed impose: no entry');
    assert.equal(blocks[6]!.receipts[0]!.status, 'failed');
  });

  test("replaying the indexed calls gives each object's stored rev and hist", async () => {
    const { ledger, keys, hex } = hc;
    const cases: Array<[Uint8Array, string, string]> = [
      [keys.freezeOrder, 'freeze', `account/${hex(hc.member)}`],
      [keys.newcomer, 'org', `member/${hex(hc.newcomer)}`],
      [keys.proposal, 'gov', '1'],
    ];
    for (const [key, module, id] of cases) {
      const h = await replay(ledger, await ledger.history(key));
      assert.deepEqual([h.rev, toHex(h.hist)], await stored(ledger, module, id), `${module} ${id}`);
    }
  });

  test('pages: from a rev, at most a limit, in rev order', async () => {
    const { ledger, keys } = hc;
    const revs = async (opts: { fromRev?: number; limit?: number }) =>
      (await ledger.history(keys.newcomer, opts)).map((e) => e.rev);
    assert.deepEqual(await revs({}), [1, 2, 3, 4]);
    assert.deepEqual(await revs({ fromRev: 0 }), [1, 2, 3, 4]);
    assert.deepEqual(await revs({ fromRev: 2, limit: 2 }), [2, 3]);
    assert.deepEqual(await revs({ fromRev: 4, limit: 10 }), [4]);
    assert.deepEqual(await revs({ fromRev: 5 }), []);
    assert.deepEqual(await revs({ limit: 1 }), [1]);
    // Another object's entries never leak into a page (keys share no prefix past the hash).
    assert.deepEqual(
      (await ledger.history(keys.proposal, { fromRev: 1, limit: 100 })).map((e) => e.rev),
      [1, 2, 3],
    );
  });

  test('entries survive a close and reopen', async () => {
    const before = await Promise.all(Object.values(hc.keys).map((k) => hc.ledger.history(k)));
    await hc.ledger.close();
    const reopened = await Ledger.open(hc.dir, hc.chain.genesis, civitasStateMachine());
    try {
      const after = await Promise.all(Object.values(hc.keys).map((k) => reopened.history(k)));
      assert.deepEqual(
        after.map((l) => l.map(plain)),
        before.map((l) => l.map(plain)),
      );
      assert.equal(after[1]!.length, 4);
    } finally {
      await reopened.close();
      hc = { ...hc, ledger: await Ledger.open(hc.dir, hc.chain.genesis, civitasStateMachine()) };
    }
  });

  test('a node syncing the blocks through BlockPipeline builds the same index', async () => {
    const synced = await Ledger.open(join(dir, 'synced'), hc.chain.genesis, civitasStateMachine());
    try {
      const source = [];
      for (let h = 1; h <= hc.ledger.height; h++) {
        const block = await hc.ledger.store.getBlockBytes(h);
        const certificate = await hc.ledger.store.getCertificate(h);
        assert.ok(block && certificate);
        source.push({ block, certificate: encodeCertificate(certificate) });
      }
      const result = await new BlockPipeline(
        {},
        { ledger: synced, txVerifier: new TxVerifier() },
      ).run(source);
      assert.equal(result.height, hc.ledger.height);
      for (const key of Object.values(hc.keys)) {
        assert.deepEqual(
          (await synced.history(key)).map(plain),
          (await hc.ledger.history(key)).map(plain),
        );
      }
    } finally {
      await synced.close();
    }
  });
});
