/**
 * The local-network manifest without processes: defaults and refusals, what it becomes for
 * initNetwork and for each node's command line, when a network found on disk may be reused,
 * and the port choices.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCivitasError } from '../../../src/errors/index.ts';
import {
  initOptionsFor,
  isPortClash,
  nodeCommand,
  randomBasePort,
  resolveManifest,
  reuseMismatch,
} from '../../../src/localnet/manifest.ts';
import { DEFAULT_CONFIG } from '../../../src/node/config.ts';
import { FAULT_INJECTION_ENV } from '../../../src/node/fault-injection.ts';
import { DEFAULT_MEMORY_BUDGET_MIB, heapFlags } from '../../../src/node/memory-budget.ts';

const base = { dir: '/tmp/net', validators: 4 };

test('defaults: no accounts, a fresh directory, random ports', () => {
  const m = resolveManifest(base);
  assert.equal(m.accounts, 0);
  assert.equal(m.init, 'fresh');
  assert.equal(m.basePort, 'random');
  assert.equal(resolveManifest({ ...base, basePort: 26600, init: 'reuse' }).basePort, 26600);
});

test('refuses manifests that cannot work, before anything is written', () => {
  const refused = [
    { ...base, validators: 0 },
    { ...base, validators: 101 },
    { ...base, validators: 2.5 },
    { ...base, accounts: -1 },
    { ...base, basePort: 80 },
    { ...base, nodes: { 4: { cpuProfile: true } } },
    { ...base, genesis: { maxBlockTxs: 0 } },
  ];
  for (const m of refused) {
    assert.throws(
      () => resolveManifest(m),
      (err) => isCivitasError(err, 'INIT_BAD_ARGS'),
      JSON.stringify(m),
    );
  }
});

test('initNetwork options: config sections merged over the defaults, ports from the base', () => {
  const m = resolveManifest({
    ...base,
    accounts: 3,
    chainId: 'civitas-bench',
    consensus: { timeoutMs: 1_000 },
    mempool: { maxTxs: 100_000 },
    logLevel: 'warn',
  });
  const opts = initOptionsFor(m, 30_000);
  assert.equal(opts.basePort, 30_000);
  assert.equal(opts.accounts, 3);
  assert.equal(opts.chainId, 'civitas-bench');
  const overrides = opts.configOverrides!;
  assert.deepEqual(overrides.consensus, { ...DEFAULT_CONFIG.consensus, timeoutMs: 1_000 });
  assert.deepEqual(overrides.mempool, { ...DEFAULT_CONFIG.mempool, maxTxs: 100_000 });
  assert.deepEqual(overrides.log, { ...DEFAULT_CONFIG.log, level: 'warn' });
  // Without settings every section is the default and initNetwork picks the chain id.
  const plain = initOptionsFor(resolveManifest(base), 30_000);
  assert.equal(plain.chainId, undefined);
  assert.deepEqual(plain.configOverrides?.log, DEFAULT_CONFIG.log);
});

test('node command: node start on its home with the heap flags, profiling and env only where asked', () => {
  const m = resolveManifest({
    ...base,
    faultInjection: true,
    env: { CIVITAS_DEBUG: '', A: 'network' },
    nodes: { 2: { cpuProfile: true, env: { A: 'node2' } } },
  });
  const plain = nodeCommand(m, 0, '/tmp/net/node0', 'main.ts');
  const heap = heapFlags(DEFAULT_MEMORY_BUDGET_MIB);
  assert.deepEqual(plain.args, [...heap, 'main.ts', 'node', 'start', '--home', '/tmp/net/node0']);
  assert.deepEqual(plain.env, {
    MALLOC_ARENA_MAX: '2',
    MALLOC_TRIM_THRESHOLD_: '131072',
    [FAULT_INJECTION_ENV]: '1',
    CIVITAS_DEBUG: '',
    A: 'network',
  });
  const profiled = nodeCommand(m, 2, '/tmp/net/node2', 'main.ts');
  assert.deepEqual(profiled.args, [
    ...heap,
    '--cpu-prof',
    '--cpu-prof-dir',
    '/tmp/net/node2/profile',
    'main.ts',
    'node',
    'start',
    '--home',
    '/tmp/net/node2',
  ]);
  assert.equal(profiled.env.A, 'node2', 'per-node env wins over the network env');
  const quiet = nodeCommand(resolveManifest(base), 0, '/h', 'main.ts');
  assert.deepEqual(
    quiet.env,
    { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072' },
    'no fault injection unless asked for',
  );
});

test('reuse: only the validator count and an explicit chain id must match', () => {
  const nodes = Array.from({ length: 4 }, () => ({}) as never);
  const summary = { chainId: 'civitas-devnet', nodes };
  assert.equal(reuseMismatch(resolveManifest(base), summary), undefined);
  assert.match(
    reuseMismatch(resolveManifest({ ...base, validators: 3 }), summary) ?? '',
    /holds a 4-validator network, not 3/,
  );
  assert.match(
    reuseMismatch(resolveManifest({ ...base, chainId: 'other' }), summary) ?? '',
    /holds chain civitas-devnet, not other/,
  );
});

test('ports: even bases below the ephemeral range; a taken port is recognised in the log', () => {
  for (const r of [0, 0.5, 0.999999]) {
    const port = randomBasePort(200, () => r);
    assert.equal(port % 2, 0);
    assert.ok(port >= 20_000 && port + 200 <= 32_768, String(port));
  }
  assert.ok(isPortClash('{"level":"error","msg":"listen EADDRINUSE: address already in use"}'));
  assert.ok(isPortClash('civitas: cannot listen on 127.0.0.1:20001 [RPC_LISTEN_FAILED]'));
  assert.ok(!isPortClash('{"level":"error","msg":"GENESIS_INVALID"}'));
});
