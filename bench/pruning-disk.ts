/**
 * Disk growth of a validator's LevelDB under steady load, for one pruning setting
 * (docs/BENCHMARKS.md, "Disk growth and pruning"). A local network of `--validators` processes
 * (the cluster benchmark's setup: a permissioned chain, transfers from many funded senders,
 * quiet logs), every node's config given `state.keepVersions` and `state.retainBlocks`; an
 * open-loop load of `--rate` tx/s for `--duration` s (bench/cluster/load.ts); every
 * `--sample` s the size of each node's data directory (the sum of its files' sizes) and the
 * txs committed. Prints one JSON object: the samples and, per node, bytes per committed tx and
 * per minute over the whole load and over its second half (steady state, once a pruning
 * window has filled), and the size after the load and a settle pause. LevelDB frees deleted
 * and overwritten entries only when it compacts, so the size over time is a saw; at the end
 * node 0's database is compacted whole (what it converges to) and its buckets are measured:
 * entries and bytes of keys and values as stored (before compression).
 *
 * Every version of the state tree rewrites the nodes near the root, so what the tree costs
 * per tx depends on txs per block: `--block-interval` (consensus.blockIntervalMs, 50 ms as
 * the node's default) fixes the pace so that runs compare.
 *
 *   node bench/pruning-disk.ts --keep-versions null --rate 150 --duration 600 --block-interval 200
 *   node bench/pruning-disk.ts --keep-versions 1000 --retain-blocks 1000 --rate 150 --duration 600 --block-interval 200
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAddress } from '../src/chain/address.ts';
import { LocalNetwork } from '../src/localnet/index.ts';
import { ChainStore } from '../src/state/store.ts';
import { loadSenders, OpenLoopGenerator, TxFactory } from './cluster/load.ts';

const { values: args } = parseArgs({
  options: {
    'keep-versions': { type: 'string', default: 'null' },
    'retain-blocks': { type: 'string', default: 'null' },
    rate: { type: 'string', default: '150' },
    duration: { type: 'string', default: '300' },
    validators: { type: 'string', default: '4' },
    senders: { type: 'string', default: '300' },
    'block-interval': { type: 'string', default: '50' },
    sample: { type: 'string', default: '10' },
    settle: { type: 'string', default: '20' },
    out: { type: 'string' },
  },
});
const nullable = (s: string): number | null => (s === 'null' ? null : Number(s));
const keepVersions = nullable(args['keep-versions']!);
const retainBlocks = nullable(args['retain-blocks']!);
const rate = Number(args.rate);
const durationS = Number(args.duration);
const validators = Number(args.validators);
const senders = Number(args.senders);
const blockIntervalMs = Number(args['block-interval']);
const sampleS = Number(args.sample);
const settleS = Number(args.settle);
const dir = args.out ?? join(tmpdir(), `civitas-pruning-disk-${process.pid}`);
const progress = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

async function dirBytes(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) total += await dirBytes(p);
    // A table a compaction just removed is no longer there: it counts for nothing.
    else total += (await stat(p).catch(() => undefined))?.size ?? 0;
  }
  return total;
}

async function committedTxs(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('civitas_txs_committed_total '));
  return Number(line?.split(' ')[1] ?? 0);
}

interface Sample {
  t: number;
  txs: number;
  height: number;
  bytes: number[];
}

/** Node 0's database compacted whole: its size, and each bucket's entries and raw bytes. */
async function compacted(dataDir: string) {
  const store = await ChainStore.open(dataDir);
  try {
    // classic-level's, which `level` is in Node (its types name only the browser-safe API).
    const db = store.db as unknown as {
      compactRange(start: Uint8Array, end: Uint8Array): Promise<void>;
    };
    await db.compactRange(new Uint8Array([0]), new Uint8Array(64).fill(0xff));
    const buckets: Record<string, { entries: number; bytes: number }> = {};
    for await (const [key, value] of store.db.iterator()) {
      const name = new TextDecoder().decode(key.subarray(1, key.indexOf(0x21, 1)));
      buckets[name] ??= { entries: 0, bytes: 0 };
      const b = buckets[name];
      b.entries++;
      b.bytes += key.length + value.length;
    }
    return { buckets };
  } finally {
    await store.close();
  }
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

progress(`init ${validators} validators, ${senders} senders in ${dir}`);
const network = await LocalNetwork.create({
  dir,
  validators,
  accounts: senders + 1,
  chainId: 'civitas-bench',
  consensus: { emptyBlockIntervalMs: 10_000, blockIntervalMs },
  mempool: { maxTxs: 100_000, maxTxsPerSender: 1_000, maxNonceGap: 1_000 },
  logLevel: 'warn',
  env: { CIVITAS_DEBUG: '' },
});
for (let i = 0; i < validators; i++) {
  const file = join(network.home(i), 'config.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  config.state = { keepVersions, retainBlocks };
  await writeFile(file, JSON.stringify(config, null, 2));
}
const dataDirs = network.summary.nodes.map((n) => join(n.home, 'data'));
const accounts = network.summary.accounts;
const factory = new TxFactory({
  chainId: network.chainId,
  senders: (await loadSenders(accounts.slice(0, senders).map((a) => a.file))).slice(),
  sink: parseAddress(accounts[senders]!.address),
});
try {
  await network.start({ waitForPeers: true });
  progress(`signing ${(rate * durationS).toLocaleString('en-US')} txs`);
  const txs = factory.batch(rate * durationS);
  const generator = new OpenLoopGenerator({ urls: network.urls, isUp: (i) => network.isUp(i) });
  const samples: Sample[] = [];
  const origin = performance.now();
  const take = async () => {
    const status = await network.status(0);
    samples.push({
      t: Math.round((performance.now() - origin) / 100) / 10,
      txs: await committedTxs(network.urls[0]!),
      height: status?.height ?? 0,
      bytes: await Promise.all(dataDirs.map(dirBytes)),
    });
    const s = samples.at(-1)!;
    progress(`t=${s.t}s height ${s.height} txs ${s.txs} bytes ${s.bytes.join(' ')}`);
  };
  await take();
  const sampler = setInterval(() => {
    take().catch((err: unknown) => progress(`sample failed: ${(err as Error).message}`));
  }, sampleS * 1000);
  await generator.run(txs, rate, performance.now(), () => {});
  clearInterval(sampler);
  await take();
  const endOfLoad = samples.at(-1)!;
  generator.close();
  progress(`load done (${generator.counters.accepted} accepted); settling ${settleS}s`);
  await new Promise((r) => setTimeout(r, settleS * 1000));
  await take();
  await network.stop({ signal: 'SIGTERM', graceMs: 30_000 });
  const stopped = await Promise.all(dataDirs.map(dirBytes));
  progress('compacting node 0');
  const { buckets } = await compacted(dataDirs[0]!);
  const compactedBytes = await dirBytes(dataDirs[0]!);
  const first = samples[0]!;
  const loadSamples = samples.filter((s) => s.t <= endOfLoad.t);
  const secondHalf = loadSamples.filter((s) => s.t >= endOfLoad.t / 2);
  const perNode = dataDirs.map((_, i) => {
    const total = endOfLoad.bytes[i]! - first.bytes[i]!;
    const txsDone = endOfLoad.txs - first.txs;
    const perSecond = slope(
      secondHalf.map((s) => s.t),
      secondHalf.map((s) => s.bytes[i]!),
    );
    const txsPerSecond = slope(
      secondHalf.map((s) => s.t),
      secondHalf.map((s) => s.txs),
    );
    return {
      node: i,
      startBytes: first.bytes[i],
      endOfLoadBytes: endOfLoad.bytes[i],
      stoppedBytes: stopped[i],
      bytesPerTx: Math.round(total / txsDone),
      bytesPerMinute: Math.round((total / (endOfLoad.t - first.t)) * 60),
      steadyBytesPerTx: Math.round(perSecond / txsPerSecond),
      steadyBytesPerMinute: Math.round(perSecond * 60),
    };
  });
  const result = {
    keepVersions,
    retainBlocks,
    rate,
    durationS,
    validators,
    senders,
    blockIntervalMs,
    txsCommitted: endOfLoad.txs - first.txs,
    heights: [first.height, endOfLoad.height],
    accepted: generator.counters.accepted,
    failed: generator.counters.failed,
    perNode,
    node0Compacted: {
      bytes: compactedBytes,
      bytesPerTx: Math.round(compactedBytes / (endOfLoad.txs - first.txs)),
      buckets,
    },
    samples,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await network.stop({ signal: 'SIGKILL' });
}
