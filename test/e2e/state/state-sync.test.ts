/**
 * State sync end to end, with real node processes: a one-validator chain whose genesis sets
 * maxTxLifetime takes a state snapshot every 20 heights (empty blocks every 20 ms, a transfer
 * at the start); a second node with an empty database and `state.sync: true` (an observer the
 * validator lists in its bootstrap) joins from the validator's newest snapshot, logs where it
 * landed and what it fetched, then follows the chain by block sync. Its state proof for the
 * transfer's recipient verifies with the CLI; below the snapshot it has no state
 * (410 STATE_VERSION_PRUNED): it never replayed.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StatusResponse } from '../../../src/api/types.ts';
import { httpJson, waitUntil } from '../../helpers/http.ts';
import { CLI_MAIN, runCli, startChild } from '../../helpers/process.ts';
import { editJson, initNet, startNode, transfer } from '../../helpers/single-node.ts';

type Json = Record<string, unknown> & {
  consensus: Record<string, unknown>;
  state: Record<string, unknown>;
  p2p: Record<string, unknown> & { bootstrap: string[]; listen: string[] };
  rpc: Record<string, unknown>;
};

test('a new node joins by state sync and follows the chain', { timeout: 240_000 }, async (t) => {
  const { dir, base, home: validatorHome, summary: network } = await initNet(t);
  const joinerHome = join(dir, 'joiner');
  await mkdir(joinerHome);

  // The genesis bounds tx lifetimes (the CLI's txs expire 1,000 heights ahead).
  const genesisFile = join(validatorHome, 'genesis.json');
  await editJson<{ params: Record<string, unknown> }>(genesisFile, (genesis) => {
    genesis.params.maxTxLifetime = 2_000;
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
  const joinerConfig: Json = structuredClone(validatorConfig);
  joinerConfig.moniker = 'joiner';
  joinerConfig.rpc.listen = `127.0.0.1:${base + 3}`;
  joinerConfig.p2p.listen = [`/ip4/127.0.0.1/tcp/${base + 2}`];
  joinerConfig.p2p.bootstrap = [network.nodes[0]!.p2p];
  joinerConfig.state.sync = true;
  await writeFile(join(joinerHome, 'config.json'), JSON.stringify(joinerConfig, null, 2));

  const api = network.nodes[0]!.rpc;
  const joinerApi = `http://127.0.0.1:${base + 3}`;
  await startNode(t, validatorHome);
  const to = network.accounts[1]!.address;
  await transfer(api, network.accounts[0]!.file, to, '7', { timeoutMs: 60_000 });
  await waitUntil(
    async () =>
      (await httpJson<StatusResponse>(`${api}/status`)).body.height >= 65 ? true : undefined,
    'the chain to pass height 65',
    120_000,
  );

  const joiner = startChild(t, CLI_MAIN, ['node', 'start', '--home', joinerHome], {
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
  assert.ok(
    joined.height >= 60 && joined.height % 20 === 0,
    `a snapshot height (${joined.height})`,
  );
  assert.ok(joined.bytes > 0);

  // It follows the chain by block sync, and proves the recipient's state.
  await waitUntil(
    async () => {
      const [mine, theirs] = await Promise.all([
        httpJson<StatusResponse>(`${joinerApi}/status`).catch(() => undefined),
        httpJson<StatusResponse>(`${api}/status`),
      ]);
      return mine !== undefined &&
        mine.body.height >= joined.height + 5 &&
        mine.body.height + 40 >= theirs.body.height
        ? true
        : undefined;
    },
    'the joiner to follow the chain',
    60_000,
  );
  const verified = await runCli(['verify', 'account', to, '--rpc', joinerApi]);
  assert.equal(verified.code, 0, verified.stderr);
  const below = await httpJson<{ error: { code: string } }>(
    `${joinerApi}/state/bank/${to}?height=${joined.height - 1}&proof=true`,
  );
  assert.equal(below.status, 410);
  assert.equal(below.body.error.code, 'STATE_VERSION_PRUNED');
});
