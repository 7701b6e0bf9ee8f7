/**
 * `civitas bench validate --workload`: the records and mixed chains run on the devnet's
 * permissioned consortium and every tx of them succeeds (checked here independently of the
 * benchmark, on a replay and in the assets' state); tiny runs give the report its shape; a
 * failed receipt aborts the benchmark with the receipt's code.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  benchGenesis,
  benchKey,
  certifyFast,
  type GeneratedChain,
  generateChain,
  signFast,
} from '../../bench/chain-generator.ts';
import { type EncodedChain, generateChainInChild } from '../../bench/chain-generator-process.ts';
import {
  formatValidateReport,
  runValidateBench,
  type ValidateBenchReport,
  type ValidateRun,
  validateChain,
} from '../../bench/validate.ts';
import {
  assertReceiptsOk,
  BENCH_ASSET_CLASS,
  chainKindFor,
  parseWorkloads,
} from '../../bench/workloads.ts';
import { transferOp } from '../../src/app/bank/transfer.ts';
import { civitasStateMachine } from '../../src/app/index.ts';
import { civitasApp } from '../../src/app/registry.ts';
import { addressOf } from '../../src/chain/address.ts';
import {
  assembleTx,
  decodeBlock,
  encodeCertificate,
  TxVerifier,
  txSigningHash,
  unsignedTxV1,
} from '../../src/chain/index.ts';
import type { Receipt } from '../../src/chain/receipt.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { VerifyPool } from '../../src/crypto/verify-pool.ts';
import { CivitasError, isCivitasError } from '../../src/errors/index.ts';
import { BlockPipeline } from '../../src/state/block-pipeline.ts';
import { Ledger } from '../../src/state/ledger.ts';
import { tempDir } from '../helpers/temp.ts';

const CLI = fileURLToPath(new URL('../../bin/civitas.js', import.meta.url));

interface GenesisOrg {
  id: string;
  members: Array<{ account: string; roles: string[] }>;
}

/** Replays the chain into a fresh ledger; returns every receipt, block by block. */
async function replay(
  chain: GeneratedChain,
  scope: { after(fn: () => unknown): void },
): Promise<{ ledger: Ledger; receipts: Receipt[][] }> {
  const ledger = await Ledger.open(
    await tempDir(scope, 'civitas-bench-wl-'),
    chain.genesis,
    civitasStateMachine(),
  );
  scope.after(() => ledger.close());
  const pool = VerifyPool.create({ workers: 0 });
  try {
    const pipeline = new BlockPipeline(
      {},
      { ledger, txVerifier: new TxVerifier({ batch: pool, maxEntries: 10_000 }) },
    );
    await pipeline.run(chain.blocks);
  } finally {
    await pool.close();
  }
  const receipts: Receipt[][] = [];
  for (const b of chain.blocks) {
    const block = decodeBlock(b.block);
    receipts.push(await ledger.store.getReceipts(block.header.height, block.txs.length));
  }
  return { ledger, receipts };
}

/** asset.record ops per sender address (hex), counted from the blocks. */
function recordsBySender(chain: GeneratedChain): Map<string, number> {
  const counts = new Map<string, number>();
  for (const b of chain.blocks) {
    for (const tx of decodeBlock(b.block).txs) {
      const records = tx.ops.filter((o) => o.module === 'asset' && o.method === 'record').length;
      const who = toHex(addressOf(tx.sender));
      counts.set(who, (counts.get(who) ?? 0) + records);
    }
  }
  return counts;
}

describe('workload options', () => {
  test('--workload takes names and comma-separated lists, each once, in order', () => {
    assert.deepEqual(parseWorkloads(undefined), ['transfers']);
    assert.deepEqual(parseWorkloads([]), ['transfers']);
    assert.deepEqual(parseWorkloads(['records', 'transfers,mixed', 'records']), [
      'records',
      'transfers',
      'mixed',
    ]);
    assert.throws(
      () => parseWorkloads(['transfers,votes']),
      (e: unknown) => isCivitasError(e) && e.code === 'BENCH_BAD_ARGS' && /votes/.test(e.message),
    );
  });

  test('transfers alone stay on the open chain; records and mixed need the consortium', () => {
    assert.equal(chainKindFor(['transfers']), 'open');
    assert.equal(chainKindFor(['transfers'], 'consortium'), 'consortium');
    assert.equal(chainKindFor(['transfers', 'records']), 'consortium');
    assert.equal(chainKindFor(['mixed']), 'consortium');
    assert.throws(
      () => chainKindFor(['transfers', 'mixed'], 'open'),
      (e: unknown) => isCivitasError(e) && e.code === 'BENCH_BAD_ARGS',
    );
  });
});

describe('records and mixed chains', () => {
  for (const workload of ['records', 'mixed'] as const) {
    test(`${workload}: permissioned genesis, every tx OK, each asset holds its owner's records`, async (t) => {
      const chain = await generateChain({ txs: 90, blockSize: 30, txsPerSender: 3, workload });
      assert.equal(chain.chain, 'consortium');
      assert.equal(chain.senders, 30);
      const app = chain.genesis.app as {
        params: { permissioned: boolean };
        org: GenesisOrg[];
        asset: { assets: Array<{ class: string; id: string; owner: string }> };
      };
      assert.equal(app.params.permissioned, true);
      // Every sender is an active member of an organisation, as on the devnet.
      const members = new Set(app.org.flatMap((o) => o.members.map((m) => m.account)));
      const senders = new Set<string>();
      for (const b of chain.blocks) {
        for (const tx of decodeBlock(b.block).txs) senders.add(toHex(addressOf(tx.sender)));
      }
      assert.equal(senders.size, 30);
      for (const s of senders) assert.ok(members.has(s), `sender ${s} is a member`);

      const { ledger, receipts } = await replay(chain, t);
      const all = receipts.flat();
      assert.equal(all.length, 90);
      for (const r of all) assert.equal(r.code, 'OK');

      const mix = chain.mix;
      assert.equal(mix.transfer + mix.record + mix.batch, 90);
      if (workload === 'records') assert.deepEqual(mix, { transfer: 0, record: 90, batch: 0 });
      else assert.ok(mix.transfer > 0 && mix.record > 0 && mix.batch > 0, JSON.stringify(mix));

      // The records landed: each sender's asset counts exactly the records it sent.
      const asset = civitasApp().modules.get('asset')!;
      const expected = recordsBySender(chain);
      let total = 0;
      for (const a of app.asset.assets) {
        assert.equal(a.class, BENCH_ASSET_CLASS);
        const id = `${a.class}/${a.id}`;
        const value = await ledger.getValue(asset.objects!.key(id));
        assert.ok(value !== undefined, `asset ${id} exists`);
        const json = asset.objects!.toJson(value, id) as { records: number; rev: number };
        assert.equal(json.records, expected.get(a.owner) ?? 0, `records of ${id}`);
        assert.equal(json.rev, json.records, `one revision per record of ${id}`);
        total += json.records;
      }
      assert.equal(total, mix.record + mix.batch);
      assert.ok(total > 0);
    });
  }
});

function checkRun(run: ValidateRun, workload: string, txs: number): void {
  assert.equal(run.backend, 'native');
  assert.equal(run.workload, workload);
  assert.equal(run.txs, txs);
  assert.equal(run.mix.transfer + run.mix.record + run.mix.batch, txs);
  for (const field of ['seconds', 'txPerSec', 'ceilingTxPerSec', 'ratio', 'cpuRatio'] as const) {
    assert.ok(Number.isFinite(run[field]) && run[field] > 0, `${workload} ${field}`);
  }
  assert.ok(Math.abs(run.ratio - run.txPerSec / run.ceilingTxPerSec) < 1e-9);
}

describe('bench validate --workload', () => {
  test('CLI: --workload records --workload mixed --json', { timeout: 120_000 }, async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        CLI,
        'bench',
        'validate',
        '--workload',
        'records',
        '--workload',
        'mixed',
        '--txs',
        '60',
        '--block-size',
        '20',
        '--txs-per-sender',
        '3',
        '--workers',
        '1',
        '--noble-txs',
        '0',
        '--json',
      ],
      { maxBuffer: 16 << 20 },
    );
    const report = JSON.parse(stdout) as ValidateBenchReport;
    assert.equal(report.chain, 'consortium');
    assert.deepEqual(report.workloads, ['records', 'mixed']);
    assert.equal(report.runs.length, 2);
    const [records, mixed] = report.runs;
    checkRun(records!, 'records', 60);
    checkRun(mixed!, 'mixed', 60);
    assert.deepEqual(records!.mix, { transfer: 0, record: 60, batch: 0 });
    assert.equal(records!.blocks, 3);
    // No transfers run in this report: nothing to compare with.
    assert.equal(records!.vsTransfers, null);
    assert.equal(mixed!.vsTransfers, null);
  });

  test('ratios to the transfers run of the same report, and the table', {
    timeout: 120_000,
  }, async () => {
    const report = await runValidateBench({
      workloads: ['transfers', 'records', 'mixed'],
      txs: 60,
      blockSizes: [30],
      txsPerSender: 3,
      workers: 1,
      nobleTxs: 0,
      ceilingSeconds: 0.05,
    });
    assert.equal(report.chain, 'consortium', 'every workload of a run shares one genesis');
    const [transfers, records, mixed] = report.runs;
    checkRun(transfers!, 'transfers', 60);
    checkRun(records!, 'records', 60);
    checkRun(mixed!, 'mixed', 60);
    assert.deepEqual(transfers!.vsTransfers, { ratio: 1, cpuRatio: 1 });
    for (const run of [records!, mixed!]) {
      assert.ok(Math.abs(run.vsTransfers!.ratio - run.txPerSec / transfers!.txPerSec) < 1e-9);
      assert.ok(
        Math.abs(
          run.vsTransfers!.cpuRatio - transfers!.cpuUsPerTx.process / run.cpuUsPerTx.process,
        ) < 1e-9,
      );
    }
    const text = formatValidateReport(report).join('\n');
    assert.match(text, /consortium chain/);
    assert.match(text, /native 30 records/);
    assert.match(text, /native 30 mixed/);
    assert.match(text, /vs transfers/);
  });

  test('transfers alone on the open chain print as before workloads existed', {
    timeout: 60_000,
  }, async () => {
    const report = await runValidateBench({
      txs: 40,
      blockSizes: [20],
      workers: 1,
      nobleTxs: 0,
      ceilingSeconds: 0.05,
    });
    assert.equal(report.chain, 'open');
    assert.deepEqual(report.workloads, ['transfers']);
    const text = formatValidateReport(report).join('\n');
    assert.match(text, /^native 20 {2,}40 /m);
    assert.doesNotMatch(text, /vs transfers|transfers/);
  });
});

describe('a failed tx aborts the benchmark', () => {
  test('generation stops at the first failed receipt, with its code, across the process', async () => {
    await assert.rejects(
      generateChainInChild({ txs: 20, blockSize: 10, senderBalance: 1n }),
      (e: unknown) =>
        e instanceof CivitasError &&
        e.code === 'BANK_INSUFFICIENT_FUNDS' &&
        /failing txs measures nothing/.test(e.message) &&
        e.context.height === 1,
    );
  });

  test('validation aborts too when a block it commits holds a failed tx', async (t) => {
    // A chain the generator would refuse, built by hand: one unfunded sender's transfer.
    const validators = [0, 1, 2, 3].map((i) => benchKey(1, i));
    const sender = benchKey(2, 0);
    const genesis = benchGenesis('civitas-bench', validators, [sender], 10, { senderBalance: 1n });
    const producer = await Ledger.open(
      await tempDir(t, 'civitas-bench-wl-'),
      genesis,
      civitasStateMachine(),
    );
    const unsigned = unsignedTxV1({
      chainId: genesis.chainId,
      sender: sender.publicKey,
      nonce: 0,
      expiryHeight: 1_000,
      op: transferOp(addressOf(sender.publicKey), 5n),
    });
    const tx = assembleTx(unsigned, signFast(txSigningHash(unsigned), sender));
    const { block, executed } = await producer.buildBlock({
      txs: [tx],
      proposer: validators[0]!.publicKey,
      lastCommit: null,
    });
    await producer.close();
    assert.equal(executed.receipts[0]!.code, 'BANK_INSUFFICIENT_FUNDS');
    const chain: EncodedChain = {
      genesis,
      blocks: [
        {
          block: block.encoded,
          certificate: encodeCertificate(certifyFast(genesis, validators, block)),
        },
      ],
      txCount: 1,
      senders: 1,
      workload: 'transfers',
      chain: 'open',
      mix: { transfer: 1, record: 0, batch: 0 },
      chainBytes: block.encoded.length,
    };
    await assert.rejects(
      validateChain(chain, 10, 'native', {
        workers: 0,
        lookAhead: 2,
        ceilingSeconds: 0.01,
        generationSeconds: 0,
      }),
      (e: unknown) =>
        isCivitasError(e) && e.code === 'BANK_INSUFFICIENT_FUNDS' && e.context.height === 1,
    );
  });

  test('assertReceiptsOk names the tx, the failing op and its code', () => {
    const ok: Receipt = {
      txHash: new Uint8Array(32),
      status: 'ok',
      code: 'OK',
      events: [],
      failedOp: null,
    };
    const failed: Receipt = {
      ...ok,
      status: 'failed',
      code: 'BANK_INSUFFICIENT_FUNDS',
      failedOp: 1,
    };
    assertReceiptsOk(7, [], [ok, ok]);
    assert.throws(
      () => assertReceiptsOk(7, [], [ok, failed]),
      (e: unknown) =>
        isCivitasError(e) &&
        e.code === 'BANK_INSUFFICIENT_FUNDS' &&
        /tx 1 of block 7, op 1 \(tx\) failed/.test(e.message) &&
        e.context.height === 7 &&
        e.context.tx === 1 &&
        e.context.failedOp === 1,
    );
  });
});
