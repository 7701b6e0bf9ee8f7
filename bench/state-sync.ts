/**
 * A node joining a long chain by state sync, against the same node joining by replay
 * (docs/BENCHMARKS.md, "State sync"; docs/STATE-SYNC.md).
 *
 * 1. A local network of `--validators` homes is initialised (real keys, ports, configs), and a
 *    chain of `--txs` signed transfers in blocks of `--block-size` is produced with the
 *    validators' own keys (bench/chain-generator.ts: a real Ledger, quorum certificates) into
 *    one database, whose genesis bounds tx lifetimes (`maxTxLifetime` = `--lifetime`; every tx
 *    expires that many heights above its block). A state snapshot of the tip is taken there
 *    the way a node takes it (timed, with the event loop's longest wait).
 * 2. Every validator gets that genesis and a copy of the database, and the network starts: the
 *    validators go on from the generated tip and serve their snapshot.
 * 3. A fifth node (its own key, listed in the validators' bootstrap) starts with an empty
 *    database and `state.sync: true`. Measured from its process start: when it logs "joined
 *    by state sync" (height, bytes, chunks fetched), and when it first serves a state proof
 *    of a sender's account, at or above the generated tip, that verifies here against the
 *    genesis validator set (`trustedChainFromGenesis`, as `civitas verify account --genesis`).
 * 4. The same node again, database wiped and `state.sync: false`: it replays every block by
 *    block sync; measured the same way.
 *
 * Prints a table and one JSON object on stdout (progress on stderr).
 *
 *   node bench/state-sync.ts --txs 1000000 [--block-size 1000] [--lifetime 100] [--out DIR --keep]
 *   node bench/state-sync.ts --txs 1000000 --out DIR --reuse    (the joins again, same chain)
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { accountStateKey } from '../src/app/bank/account.ts';
import { addressOf, formatAddress } from '../src/chain/address.ts';
import { genesisToJson } from '../src/chain/genesis.ts';
import { CivitasClient } from '../src/client/client.ts';
import { trustedChainFromGenesis } from '../src/client/index.ts';
import { verifyAccountProof } from '../src/client/verify.ts';
import { loadKeyFile } from '../src/crypto/keyfile.ts';
import { LocalNetwork } from '../src/localnet/index.ts';
import { loadGenesisFile } from '../src/node/genesis-file.ts';
import { DEFAULT_MEMORY_BUDGET_MIB, heapFlags, NODE_ENV } from '../src/node/memory-budget.ts';
import { stateKeyHash } from '../src/state/smt/index.ts';
import { benchKey, generateChain, type TipSnapshot } from './chain-generator.ts';
import { parseVmRss } from './cluster/proc-stats.ts';

const { values: args } = parseArgs({
  options: {
    txs: { type: 'string', default: '1000000' },
    'block-size': { type: 'string', default: '1000' },
    validators: { type: 'string', default: '4' },
    lifetime: { type: 'string', default: '100' },
    'skip-replay': { type: 'boolean', default: false },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'usage: node bench/state-sync.ts [--txs N] [--block-size N] [--validators N] [--lifetime H]\n' +
      '                               [--skip-replay] [--out DIR] [--keep] [--reuse]\n' +
      'A fifth node joins a generated chain by state sync, then by replay (see the file header).\n' +
      '--keep leaves DIR in place; --reuse (with --out DIR) runs the joins again on the chain\n' +
      'and network an earlier --keep run prepared there, skipping the generation.\n',
  );
  process.exit(0);
}
const txs = Number(args.txs);
const blockSize = Number(args['block-size']);
const validators = Number(args.validators);
const lifetime = Number(args.lifetime);
for (const [name, value] of Object.entries({ txs, blockSize, validators, lifetime })) {
  if (!Number.isSafeInteger(value) || value < 1) {
    process.stderr.write(`BENCH_BAD_ARGS: --${name} must be a positive integer\n`);
    process.exit(2);
  }
}
const dir = args.out ?? join(tmpdir(), `civitas-state-sync-${process.pid}`);
const CLI_MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const started = performance.now();
const progress = (line: string) =>
  process.stderr.write(
    `${((performance.now() - started) / 1000).toFixed(1).padStart(7)}s ${line}\n`,
  );
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

type Config = Record<string, unknown> & {
  moniker: string;
  rpc: Record<string, unknown>;
  p2p: Record<string, unknown> & { listen: string[]; bootstrap: string[] };
  state: Record<string, unknown>;
  log: Record<string, unknown>;
};
const readConfig = async (home: string) =>
  JSON.parse(await readFile(join(home, 'config.json'), 'utf8')) as Config;
const writeConfig = (home: string, config: Config) =>
  writeFile(join(home, 'config.json'), JSON.stringify(config, null, 2));

interface JoinResult {
  readonly mode: 'state-sync' | 'replay';
  /** Process start → the first verified state proof at or above the generated tip. */
  readonly provenMs: number;
  readonly provenHeight: number;
  /** State sync only: what the node logged when it had joined. */
  readonly joined?: { height: number; bytes: number; chunks: number; ms: number };
  /** Process start → "joined by state sync" logged. */
  readonly joinedLoggedMs?: number;
  readonly peakRssMiB: number;
}

/** Starts the joiner and waits until it serves a verified proof at or above `tip`. */
async function measureJoin(
  mode: JoinResult['mode'],
  home: string,
  url: string,
  tip: number,
  prove: (client: CivitasClient) => Promise<number | undefined>,
): Promise<JoinResult> {
  await rm(join(home, 'data'), { recursive: true, force: true });
  const config = await readConfig(home);
  config.state.sync = mode === 'state-sync';
  await writeConfig(home, config);
  const t0 = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [...heapFlags(DEFAULT_MEMORY_BUDGET_MIB), CLI_MAIN, 'node', 'start', '--home', home],
    {
      env: { ...process.env, ...NODE_ENV, CIVITAS_DEBUG: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let joined: JoinResult['joined'];
  let joinedLoggedMs: number | undefined;
  let exited = false;
  let tail = '';
  let buffered = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    buffered += chunk;
    tail = (tail + chunk).slice(-4000);
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.includes('joined by state sync')) {
        joinedLoggedMs = performance.now() - t0;
        const { height, bytes, chunks, ms } = JSON.parse(line) as NonNullable<JoinResult['joined']>;
        joined = { height, bytes, chunks, ms };
        progress(`${mode}: joined at ${joined!.height}, ${joined!.bytes} bytes`);
      }
      nl = buffered.indexOf('\n');
    }
  });
  child.once('exit', () => {
    exited = true;
  });
  const client = new CivitasClient(url, { timeoutMs: 5_000 });
  let peakRss = 0;
  let lastReport = 0;
  try {
    for (;;) {
      if (exited) throw new Error(`the joiner exited (${mode}):\n${tail}`);
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
      if (status !== '') peakRss = Math.max(peakRss, parseVmRss(status));
      const proven = await prove(client).catch(() => undefined);
      if (proven !== undefined && proven >= tip) {
        const provenMs = performance.now() - t0;
        progress(
          `${mode}: proof verified at height ${proven} after ${(provenMs / 1000).toFixed(1)} s`,
        );
        return {
          mode,
          provenMs,
          provenHeight: proven,
          ...(joined === undefined ? {} : { joined, joinedLoggedMs }),
          peakRssMiB: Math.round(peakRss / 1024 / 1024),
        };
      }
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        const height = await client.status().then(
          (s) => s.height,
          () => undefined,
        );
        progress(`${mode}: joiner at height ${height ?? '(not serving yet)'} of ${tip}`);
      }
      await sleep(250);
    }
  } finally {
    child.kill('SIGTERM');
    if (!exited) await new Promise((r) => child.once('exit', r));
  }
}

/** What the preparation made, saved in `<dir>/prepared.json` so that `--reuse` can skip it. */
interface Prepared {
  readonly txs: number;
  readonly blockSize: number;
  readonly validators: number;
  readonly maxTxLifetime: number;
  readonly senders: number;
  readonly chainBytes: number;
  readonly generateMs: number;
  readonly snapshot: TipSnapshot;
  readonly joinerUrl: string;
}

/** A network whose validators hold a generated chain, and a joiner's home beside it. */
async function prepare(network: LocalNetwork): Promise<Prepared> {
  const homes = network.summary.nodes.map((n) => n.home);
  const seeds = await Promise.all(
    homes.map(async (h) =>
      (await loadKeyFile(join(h, 'validator-key.json'))).secretKey.subarray(0, 32),
    ),
  );
  const producerDir = join(dir, 'producer');
  progress(`generating ${txs.toLocaleString('en-US')} txs in blocks of ${blockSize}`);
  const genStarted = performance.now();
  let lastPct = -1;
  const chain = await generateChain({
    txs,
    blockSize,
    chainId: network.chainId,
    validatorSeeds: seeds,
    params: { maxTxLifetime: lifetime },
    txLifetime: lifetime,
    dir: producerDir,
    keepBlocks: false,
    snapshotAtTip: true,
    onBlock: (height, blocks) => {
      const pct = Math.floor((100 * height) / blocks / 10) * 10;
      if (pct > lastPct) {
        lastPct = pct;
        progress(`generated ${height} of ${blocks} blocks`);
      }
    },
  });
  const generateMs = performance.now() - genStarted;
  const snapshot = chain.snapshot!;
  progress(
    `chain at ${snapshot.height} in ${(generateMs / 1000).toFixed(0)} s; snapshot ` +
      `${snapshot.chunks} chunks, ${snapshot.bytes} bytes in ${snapshot.ms.toFixed(0)} ms`,
  );

  // The validators: the generated genesis and a copy of the database each.
  const genesisText = JSON.stringify(genesisToJson(chain.genesis));
  await writeFile(genesisFile, genesisText);
  for (const home of homes) {
    await writeFile(join(home, 'genesis.json'), genesisText);
    await rm(join(home, 'data'), { recursive: true, force: true });
    await cp(producerDir, join(home, 'data'), { recursive: true });
  }
  await rm(producerDir, { recursive: true, force: true });

  // The joiner: its own key, every validator as bootstrap, and in every validator's bootstrap.
  await mkdir(joinerHome, { recursive: true });
  await writeFile(join(joinerHome, 'genesis.json'), genesisText);
  const { stdout } = await promisify(execFile)(process.execPath, [
    CLI_MAIN,
    'keys',
    'generate',
    '--out',
    join(joinerHome, 'validator-key.json'),
    '--json',
  ]);
  const { peerId } = JSON.parse(stdout) as { peerId: string };
  const [p2pPort, rpcPort] = [await freePort(), await freePort()];
  const joinerP2p = `/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${peerId}`;
  for (const home of homes) {
    const config = await readConfig(home);
    config.p2p.bootstrap = [...config.p2p.bootstrap, joinerP2p];
    await writeConfig(home, config);
  }
  const joinerConfig = await readConfig(homes[0]!);
  joinerConfig.moniker = 'joiner';
  joinerConfig.rpc.listen = `127.0.0.1:${rpcPort}`;
  joinerConfig.p2p.listen = [`/ip4/127.0.0.1/tcp/${p2pPort}`];
  joinerConfig.p2p.bootstrap = network.summary.nodes.map((n) => n.p2p);
  joinerConfig.log.level = 'info';
  await writeConfig(joinerHome, joinerConfig);
  const prepared: Prepared = {
    txs,
    blockSize,
    validators,
    maxTxLifetime: lifetime,
    senders: chain.senders,
    chainBytes: chain.chainBytes,
    generateMs: Math.round(generateMs),
    snapshot: { ...snapshot, ms: Math.round(snapshot.ms) },
    joinerUrl: `http://127.0.0.1:${rpcPort}`,
  };
  await writeFile(preparedFile, JSON.stringify(prepared, null, 2));
  return prepared;
}

const genesisFile = join(dir, 'genesis.json');
const joinerHome = join(dir, 'joiner');
const preparedFile = join(dir, 'prepared.json');
await mkdir(dir, { recursive: true });
const reused = args.reuse
  ? await readFile(preparedFile, 'utf8').then(
      (text) => JSON.parse(text) as Prepared,
      () => undefined,
    )
  : undefined;
if (reused !== undefined) {
  for (const [name, mine, theirs] of [
    ['txs', txs, reused.txs],
    ['block-size', blockSize, reused.blockSize],
    ['validators', validators, reused.validators],
    ['lifetime', lifetime, reused.maxTxLifetime],
  ] as const) {
    if (mine !== theirs) {
      process.stderr.write(
        `BENCH_BAD_ARGS: --reuse: ${dir} holds --${name} ${theirs}, not ${mine}\n`,
      );
      process.exit(2);
    }
  }
  progress(`reusing the chain and network in ${dir}`);
} else {
  progress(`init ${validators} validators in ${dir}`);
}
const network = await LocalNetwork.create({
  dir: join(dir, 'network'),
  validators,
  accounts: 1,
  chainId: 'civitas-bench',
  permissioned: false,
  logLevel: 'warn',
  env: { CIVITAS_DEBUG: '' },
  init: reused === undefined ? 'reset' : 'reuse',
});
const prepared = reused ?? (await prepare(network));
const { snapshot, joinerUrl } = prepared;
const tip = snapshot.height;
const keep = args.keep || args.reuse;

const results: JoinResult[] = [];
try {
  progress('starting the validators');
  await network.start({ waitForPeers: true, timeoutMs: 120_000 });
  for (;;) {
    const height = (await network.status(0))?.height ?? 0;
    if (height > tip) break; // the validators go on from the generated chain
    await sleep(500);
  }
  progress('the validators committed past the generated tip');
  // What `civitas verify account --genesis` trusts: the genesis file, changes checked from it.
  const trusted = await trustedChainFromGenesis(
    new CivitasClient(network.urls[0]!),
    await loadGenesisFile(genesisFile),
  );
  const sender = benchKey(2, 7).publicKey;
  const address = formatAddress(addressOf(sender));
  const keyHash = stateKeyHash(accountStateKey(addressOf(sender)));
  const prove = async (client: CivitasClient) => {
    const { proof } = await client.account(address, { proof: true });
    if (proof === undefined) return undefined;
    const verified = verifyAccountProof(keyHash, proof, trusted);
    return verified.present ? verified.height : undefined;
  };
  results.push(await measureJoin('state-sync', joinerHome, joinerUrl, tip, prove));
  if (!args['skip-replay'])
    results.push(await measureJoin('replay', joinerHome, joinerUrl, tip, prove));
} finally {
  await network.stop({ signal: 'SIGTERM', graceMs: 30_000 });
  if (!keep) await rm(dir, { recursive: true, force: true });
}

const sync = results.find((r) => r.mode === 'state-sync')!;
const replay = results.find((r) => r.mode === 'replay');
const report = {
  benchmark: 'state-sync',
  txs,
  blockSize,
  blocks: tip,
  validators,
  maxTxLifetime: lifetime,
  senders: prepared.senders,
  chainBytes: prepared.chainBytes,
  generateMs: prepared.generateMs,
  reused: reused !== undefined,
  snapshot,
  stateSync: { ...sync, provenMs: Math.round(sync.provenMs) },
  ...(replay === undefined ? {} : { replay: { ...replay, provenMs: Math.round(replay.provenMs) } }),
  ...(replay === undefined
    ? {}
    : { replayOverStateSync: +(replay.provenMs / sync.provenMs).toFixed(1) }),
};
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rows = [
  ['', 'to a verified proof', 'bytes fetched', 'peak RSS'],
  [
    'state sync',
    s(sync.provenMs),
    `${sync.joined?.bytes ?? '?'} (snapshot + window + 64 blocks)`,
    `${sync.peakRssMiB} MiB`,
  ],
  ...(replay === undefined
    ? []
    : [
        [
          'replay',
          s(replay.provenMs),
          `≥ ${prepared.chainBytes} (the blocks)`,
          `${replay.peakRssMiB} MiB`,
        ],
      ]),
];
process.stderr.write(
  `\n${txs.toLocaleString('en-US')} txs in ${tip} blocks, ${prepared.senders} senders; ` +
    `snapshot ${snapshot.chunks} chunks, ${snapshot.bytes} bytes, taken in ${s(snapshot.ms)} ` +
    `(longest event-loop wait ${snapshot.maxEventLoopDelayMs.toFixed(0)} ms)\n` +
    rows.map((r) => r.map((c, i) => c.padEnd([12, 22, 50, 10][i]!)).join('')).join('\n') +
    '\n',
);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
