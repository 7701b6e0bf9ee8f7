/**
 * State sync end to end, with real node processes: a one-validator chain whose genesis sets
 * maxTxLifetime (40 heights) takes a state snapshot every 20 heights (empty blocks every
 * 20 ms); at the start a transfer and a freeze order are committed (sent through the SDK:
 * the CLI's txs expire 1,000 heights ahead, beyond the lifetime). A second node with an empty
 * database, started with `--state-sync` (an observer the validator lists in its bootstrap),
 * joins from the validator's newest snapshot S, logs where it landed and what it fetched,
 * then follows the chain by block sync. Its state proof for the transfer's recipient
 * verifies with the CLI. It says what it holds and how it joined (GET /status), and below S
 * it answers with codes, never as if complete: no state (410 STATE_VERSION_PRUNED), no tx
 * index below S − 63 (404 naming where it starts), no history of the freeze's first revision
 * (410 HISTORY_NOT_INDEXED) while the revision made after S is listed. Its metrics count the
 * join; the validator's its snapshots.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HistoryResponse, StatusResponse, TxResponse } from '../../../src/api/types.ts';
import {
  CivitasClient,
  call,
  loadKeyFile,
  senderAddress,
  sign,
  toHex,
} from '../../../src/client/index.ts';
import { httpJson, waitUntil } from '../../helpers/http.ts';
import { CLI_MAIN, runCli, startChild } from '../../helpers/process.ts';
import { editJson, initNet, startNode } from '../../helpers/single-node.ts';

type Json = Record<string, unknown> & {
  consensus: Record<string, unknown>;
  state: Record<string, unknown>;
  p2p: Record<string, unknown> & { bootstrap: string[]; listen: string[] };
  rpc: Record<string, unknown>;
};

interface ErrorBody {
  error: { code: string; message: string };
}

const MAX_TX_LIFETIME = 40;

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** One call signed with `keyFile`, expiring within the chain's tx lifetime; waits for its commit. */
async function send(
  api: string,
  keyFile: string,
  module: string,
  method: string,
  args: unknown,
): Promise<{ hash: string; height: number }> {
  const client = new CivitasClient(api);
  const keys = await loadKeyFile(keyFile);
  const status = await client.status();
  const { nonce } = await client.account(toHex(senderAddress(keys)));
  const tx = call({
    chainId: status.chainId,
    keys,
    nonce,
    expiryHeight: status.height + MAX_TX_LIFETIME / 2,
    module,
    method,
    args,
  });
  const res = await client.submit(sign(tx, keys), { wait: true });
  assert.equal(res.status, 'committed');
  assert.equal(res.receipt?.status, 'ok', JSON.stringify(res.receipt));
  return { hash: res.hash, height: res.height! };
}

test('a new node joins by state sync and follows the chain', { timeout: 240_000 }, async (t) => {
  const { dir, base, home: validatorHome, summary: network } = await initNet(t);
  const joinerHome = join(dir, 'joiner');
  await mkdir(joinerHome);

  const genesisFile = join(validatorHome, 'genesis.json');
  await editJson<{ params: Record<string, unknown> }>(genesisFile, (genesis) => {
    genesis.params.maxTxLifetime = MAX_TX_LIFETIME;
  });
  await copyFile(genesisFile, join(joinerHome, 'genesis.json'));

  const key = JSON.parse(
    (await runCli(['keys', 'generate', '--out', join(joinerHome, 'validator-key.json'), '--json']))
      .stdout,
  ) as { peerId: string };
  const joinerP2p = `/ip4/127.0.0.1/tcp/${base + 2}/p2p/${key.peerId}`;
  const validatorConfig = JSON.parse(
    await readFile(join(validatorHome, 'config.json'), 'utf8'),
  ) as Json;
  validatorConfig.consensus.emptyBlockIntervalMs = 20;
  validatorConfig.state.snapshotInterval = 20;
  validatorConfig.p2p.bootstrap = [joinerP2p];
  await writeFile(join(validatorHome, 'config.json'), JSON.stringify(validatorConfig, null, 2));
  // The joiner's config asks for no state sync: the flag does, for this start.
  const joinerConfig: Json = structuredClone(validatorConfig);
  joinerConfig.moniker = 'joiner';
  joinerConfig.rpc.listen = `127.0.0.1:${base + 3}`;
  joinerConfig.p2p.listen = [`/ip4/127.0.0.1/tcp/${base + 2}`];
  joinerConfig.p2p.bootstrap = [network.nodes[0]!.p2p];
  assert.notEqual(joinerConfig.state.sync, true);
  await writeFile(join(joinerHome, 'config.json'), JSON.stringify(joinerConfig, null, 2));

  const api = network.nodes[0]!.rpc;
  const joinerApi = `http://127.0.0.1:${base + 3}`;
  await startNode(t, validatorHome);
  const to = network.accounts[1]!.address;
  const order = { kind: 'account', id: to };
  const transferred = await send(api, network.accounts[0]!.file, 'bank', 'transfer', {
    to,
    amount: '7',
  });
  const imposed = await send(api, network.regulator.file, 'freeze', 'impose', {
    ...order,
    legalBasis: 'ab'.repeat(32),
    reason: 'state sync test',
  });
  await waitUntil(
    async () =>
      (await httpJson<StatusResponse>(`${api}/status`)).body.height >= 105 ? true : undefined,
    'the chain to pass height 105',
    120_000,
  );

  const joiner = startChild(t, CLI_MAIN, ['node', 'start', '--home', joinerHome, '--state-sync'], {
    timeoutMs: 120_000,
  });
  await joiner.waitFor((_out, err) => err.includes('joined by state sync'), 'the state sync');
  // The log goes to stderr, one JSON object a line.
  const line = joiner
    .stderr()
    .split('\n')
    .find((l) => l.includes('joined by state sync'))!;
  const joined = JSON.parse(line) as { height: number; bytes: number; chunks: number; ms: number };
  t.diagnostic(
    `joined at ${joined.height}: ${joined.bytes} bytes, ${joined.chunks} chunks, ${joined.ms} ms`,
  );
  const S = joined.height;
  assert.ok(S >= 100 && S % 20 === 0, `a snapshot height (${S})`);
  assert.ok(joined.bytes > 0);

  // It follows the chain by block sync, and proves the recipient's state.
  await waitUntil(
    async () => {
      const [mine, theirs] = await Promise.all([
        httpJson<StatusResponse>(`${joinerApi}/status`).catch(() => undefined),
        httpJson<StatusResponse>(`${api}/status`),
      ]);
      return mine !== undefined &&
        mine.body.height >= S + 5 &&
        mine.body.height + 40 >= theirs.body.height
        ? true
        : undefined;
    },
    'the joiner to follow the chain',
    60_000,
  );
  const verified = await runCli(['verify', 'account', to, '--rpc', joinerApi]);
  assert.equal(verified.code, 0, verified.stderr);

  // What each node holds, and how it joined.
  const mine = (await httpJson<StatusResponse>(`${joinerApi}/status`)).body;
  assert.deepEqual(mine.stateSync, { height: S });
  assert.deepEqual(mine.retained, {
    stateFrom: S,
    blocksFrom: S + 1,
    txsFrom: S - 63, // the 64 blocks up to S come whole; the lifetime window is inside them
    historyFrom: S + 1,
  });
  const theirs = (await httpJson<StatusResponse>(`${api}/status`)).body;
  assert.equal(theirs.stateSync, null);
  assert.deepEqual(theirs.retained, { stateFrom: 0, blocksFrom: 0, txsFrom: 0, historyFrom: 0 });
  const held = await runCli(['query', 'status', '--rpc', joinerApi]);
  assert.match(held.stdout, new RegExp(`joined by state sync at ${S}`));

  // Below S: no state.
  const below = await httpJson<ErrorBody>(
    `${joinerApi}/state/bank/${to}?height=${S - 1}&proof=true`,
  );
  assert.equal(below.status, 410);
  assert.equal(below.body.error.code, 'STATE_VERSION_PRUNED');
  // No tx index below S − 63: not found, and the answer says where the index starts.
  assert.ok(transferred.height < S - 63, `the transfer (${transferred.height}) is below it`);
  const oldTx = await httpJson<ErrorBody>(`${joinerApi}/txs/${transferred.hash}`);
  assert.equal(oldTx.status, 404);
  assert.equal(oldTx.body.error.code, 'RPC_TX_NOT_FOUND');
  assert.match(oldTx.body.error.message, new RegExp(`tx index starts at height ${S - 63}`));
  const sourceTx = await httpJson<TxResponse>(`${api}/txs/${transferred.hash}`);
  assert.equal(sourceTx.status, 200);
  assert.equal(sourceTx.body.status === 'committed' && sourceTx.body.height, transferred.height);

  // History: the freeze's first revision was made below S, its second after the join.
  const lifted = await send(api, network.regulator.file, 'freeze', 'lift', order);
  assert.ok(imposed.height <= S && lifted.height > S);
  await waitUntil(
    async () =>
      (await httpJson<StatusResponse>(`${joinerApi}/status`)).body.height >= lifted.height
        ? true
        : undefined,
    'the joiner to commit the lift',
    60_000,
  );
  const history = `history/freeze/account/${to}`;
  const unindexed = await httpJson<ErrorBody>(`${joinerApi}/${history}`);
  assert.equal(unindexed.status, 410, JSON.stringify(unindexed.body));
  assert.equal(unindexed.body.error.code, 'HISTORY_NOT_INDEXED');
  assert.match(unindexed.body.error.message, new RegExp(`before height ${S + 1}`));
  const rest = await httpJson<HistoryResponse>(`${joinerApi}/${history}?from=2`);
  assert.equal(rest.status, 200);
  assert.deepEqual(
    rest.body.entries.map((e) => [e.rev, e.height, e.txHash]),
    [[2, lifted.height, lifted.hash]],
  );
  const whole = await httpJson<HistoryResponse>(`${api}/${history}`);
  assert.deepEqual(
    whole.body.entries.map((e) => e.rev),
    [1, 2],
  );
  // A client verifying the history is told why, not handed a gap.
  const proving = await runCli([
    'verify',
    'history',
    'freeze',
    `account/${to}`,
    '--genesis',
    genesisFile,
    '--rpc',
    joinerApi,
  ]);
  assert.notEqual(proving.code, 0);
  assert.match(proving.stderr, /HISTORY_NOT_INDEXED/);

  // Metrics: the joiner's join, the validator's snapshots.
  const joinerMetrics = await (await fetch(`${joinerApi}/metrics`)).text();
  assert.equal(metric(joinerMetrics, 'civitas_state_sync_bytes_total'), joined.bytes);
  const seconds = metric(joinerMetrics, 'civitas_state_sync_seconds')!;
  assert.ok(Math.abs(seconds * 1000 - joined.ms) <= 1, `${seconds} s for ${joined.ms} ms`);
  const validatorMetrics = await (await fetch(`${api}/metrics`)).text();
  assert.equal(metric(validatorMetrics, 'civitas_state_sync_bytes_total'), 0);
  assert.equal(metric(validatorMetrics, 'civitas_state_sync_seconds'), 0);
  assert.ok(metric(validatorMetrics, 'civitas_snapshots_taken_total')! >= S / 20);
  const newest = metric(validatorMetrics, 'civitas_snapshot_height')!;
  assert.ok(newest >= S && newest % 20 === 0, `newest snapshot ${newest}`);
});
