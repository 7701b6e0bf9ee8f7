/**
 * State tree benchmark on a real LevelDB directory.
 *
 *   node_modules/.bin/node bench/state-tree.ts [--keys 10000,100000,1000000] [--json]
 *     [--build-block 10000] [--block 1000] [--rounds 5] [--proofs 2000] [--insert-ratio 0.1]
 *     [--cache-mib 64]
 *
 * For each tree size N: build the tree in blocks of --build-block inserts (one version and
 * one LevelDB batch per block), then run --rounds blocks of --block random changes (existing
 * keys get new values; --insert-ratio of them are new keys) and measure, per changed key:
 * tree update time (hashing, node reads, encoding), commit time (one synced batch), hashes,
 * node reads and node writes. Then prove --proofs random keys (half present, half absent)
 * and measure proof size and verify time. Keys are stateKeyHash(i), values 48-byte records.
 * Committed nodes go to a CommittedNodeCache of --cache-mib MiB (0: no cache), as the ledger's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Level } from 'level';
import {
  CommittedNodeCache,
  encodeStateProof,
  LevelNodeReader,
  NODE_SUBLEVEL_OPTIONS,
  type NodeWrite,
  StateTree,
  stateKeyHash,
  verifyStateProof,
} from '../src/state/smt/index.ts';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '10000,100000,1000000' },
    json: { type: 'boolean', default: false },
    'build-block': { type: 'string', default: '10000' },
    block: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    proofs: { type: 'string', default: '2000' },
    'insert-ratio': { type: 'string', default: '0.1' },
    'cache-mib': { type: 'string', default: '64' },
  },
});

const sizes = args.keys.split(',').map((s) => Number(s.trim()));
const buildBlock = Number(args['build-block']);
const blockSize = Number(args.block);
const rounds = Number(args.rounds);
const proofCount = Number(args.proofs);
const insertRatio = Number(args['insert-ratio']);
const cacheMib = Number(args['cache-mib']);
for (const [name, n] of [
  ['keys', Math.min(...sizes)],
  ['build-block', buildBlock],
  ['block', blockSize],
  ['rounds', rounds],
  ['proofs', proofCount],
] as const) {
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.error(`--${name} must be a positive integer`);
    process.exit(2);
  }
}

/** Deterministic PRNG (mulberry32) so runs pick the same keys. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function appKey(i: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, i);
  return b;
}

function record(i: number, round: number): Uint8Array {
  const v = new Uint8Array(48);
  const view = new DataView(v.buffer);
  view.setFloat64(0, i);
  view.setFloat64(8, round);
  v.fill(0x5a, 16);
  return v;
}

function progress(msg: string): void {
  process.stderr.write(`[state-tree] ${msg}\n`);
}

function openStore(dir: string) {
  const db = new Level<Uint8Array, Uint8Array>(dir, NODE_SUBLEVEL_OPTIONS);
  const sublevel = db.sublevel<Uint8Array, Uint8Array>('state-nodes', NODE_SUBLEVEL_OPTIONS);
  return { db, sublevel };
}
type Store = ReturnType<typeof openStore>;

async function commit({ db, sublevel }: Store, nodes: NodeWrite[], sync: boolean): Promise<void> {
  await db.batch(
    nodes.map(([key, value]) => ({ type: 'put' as const, sublevel, key, value })),
    { sync },
  );
}

interface SizeResult {
  keys: number;
  buildSeconds: number;
  buildKeysPerSecond: number;
  block: number;
  updatesPerSecond: number;
  updatesPerSecondWithCommit: number;
  updateMsPerBlock: number;
  /** Main-thread CPU of tree.update per changed key (LevelDB's own threads excluded). */
  updateCpuMicros: number;
  commitMsPerBlock: number;
  hashesPerUpdate: number;
  nodeReadsPerUpdate: number;
  cacheHitsPerUpdate: number;
  nodeWritesPerUpdate: number;
  bytesWrittenPerUpdate: number;
  proofBytesMean: number;
  proofBytesMax: number;
  proofSiblingsMean: number;
  proveMicros: number;
  verifyMicros: number;
}

async function runSize(n: number): Promise<SizeResult> {
  const dir = await mkdtemp(join(tmpdir(), 'civitas-bench-smt-'));
  const store = openStore(dir);
  const cache = cacheMib > 0 ? new CommittedNodeCache({ maxBytes: cacheMib * 2 ** 20 }) : undefined;
  const tree = new StateTree(new LevelNodeReader(store.sublevel), { cache });
  try {
    const keys: Uint8Array[] = [];
    let version: number | null = null;
    const buildStart = performance.now();
    let lastReport = buildStart;
    for (let start = 0; start < n; start += buildBlock) {
      const end = Math.min(n, start + buildBlock);
      const changes: Array<[Uint8Array, Uint8Array]> = [];
      for (let i = start; i < end; i++) {
        const k = stateKeyHash(appKey(i));
        keys.push(k);
        changes.push([k, record(i, 0)]);
      }
      const next: number = version === null ? 0 : version + 1;
      const { nodes } = await tree.update(version, next, changes);
      await commit(store, nodes, false);
      tree.noteCommitted(nodes);
      version = next;
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        const secs = (lastReport - buildStart) / 1000;
        progress(`N=${n}: built ${end} keys in ${secs.toFixed(1)} s`);
      }
    }
    const buildSeconds = (performance.now() - buildStart) / 1000;
    progress(
      `N=${n}: built in ${buildSeconds.toFixed(1)} s; measuring ${rounds} blocks of ${blockSize}`,
    );

    const rand = prng(n);
    let nextNew = n;
    let updateMs = 0;
    let updateCpuMicros = 0;
    let commitMs = 0;
    let bytesWritten = 0;
    let nodesWritten = 0;
    const before = { ...tree.stats };
    for (let r = 1; r <= rounds; r++) {
      const changes: Array<[Uint8Array, Uint8Array]> = [];
      for (let c = 0; c < blockSize; c++) {
        if (rand() < insertRatio) {
          const k = stateKeyHash(appKey(nextNew));
          changes.push([k, record(nextNew++, r)]);
          keys.push(k);
        } else {
          const i = Math.floor(rand() * n);
          changes.push([keys[i]!, record(i, r)]);
        }
      }
      const next: number = version! + 1;
      const t0 = performance.now();
      const cpu0 = process.threadCpuUsage();
      const { nodes } = await tree.update(version, next, changes);
      const cpu1 = process.threadCpuUsage(cpu0);
      const t1 = performance.now();
      updateCpuMicros += cpu1.user + cpu1.system;
      await commit(store, nodes, true);
      tree.noteCommitted(nodes);
      const t2 = performance.now();
      updateMs += t1 - t0;
      commitMs += t2 - t1;
      nodesWritten += nodes.length;
      for (const [k, v] of nodes) bytesWritten += k.length + v.length;
      version = next;
    }
    const updates = rounds * blockSize;
    const hashesPerUpdate = (tree.stats.hashes - before.hashes) / updates;
    const nodeReadsPerUpdate = (tree.stats.nodeReads - before.nodeReads) / updates;
    const cacheHitsPerUpdate = (tree.stats.nodeCacheHits - before.nodeCacheHits) / updates;

    progress(`N=${n}: proving ${proofCount} keys`);
    const root = await tree.rootHash(version!);
    let proofBytes = 0;
    let proofMax = 0;
    let siblings = 0;
    let proveMs = 0;
    let verifyMs = 0;
    for (let p = 0; p < proofCount; p++) {
      const present = p % 2 === 0;
      const k = present ? keys[Math.floor(rand() * keys.length)]! : stateKeyHash(appKey(-1 - p));
      const t0 = performance.now();
      const { value, proof } = await tree.getWithProof(version!, k);
      const t1 = performance.now();
      const ok = verifyStateProof(root, k, value, proof);
      const t2 = performance.now();
      if (!ok || (value !== undefined) !== present) throw new Error('proof failed to verify');
      proveMs += t1 - t0;
      verifyMs += t2 - t1;
      const size = encodeStateProof(proof).length;
      proofBytes += size;
      proofMax = Math.max(proofMax, size);
      siblings += proof.siblings.length;
    }
    return {
      keys: n,
      buildSeconds,
      buildKeysPerSecond: n / buildSeconds,
      block: blockSize,
      updatesPerSecond: updates / (updateMs / 1000),
      updatesPerSecondWithCommit: updates / ((updateMs + commitMs) / 1000),
      updateMsPerBlock: updateMs / rounds,
      updateCpuMicros: updateCpuMicros / updates,
      commitMsPerBlock: commitMs / rounds,
      hashesPerUpdate,
      nodeReadsPerUpdate,
      cacheHitsPerUpdate,
      nodeWritesPerUpdate: nodesWritten / updates,
      bytesWrittenPerUpdate: bytesWritten / updates,
      proofBytesMean: proofBytes / proofCount,
      proofBytesMax: proofMax,
      proofSiblingsMean: siblings / proofCount,
      proveMicros: (proveMs * 1000) / proofCount,
      verifyMicros: (verifyMs * 1000) / proofCount,
    };
  } finally {
    await store.db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const results: SizeResult[] = [];
for (const n of sizes) results.push(await runSize(n));

if (args.json) {
  console.log(
    JSON.stringify(
      {
        benchmark: 'state-tree',
        node: process.version,
        options: {
          buildBlock,
          block: blockSize,
          rounds,
          proofs: proofCount,
          insertRatio,
          cacheMib,
        },
        results,
      },
      null,
      2,
    ),
  );
} else {
  const f = (x: number, d = 1) => x.toFixed(d);
  const rows: Array<[string, (r: SizeResult) => string]> = [
    ['build (s)', (r) => f(r.buildSeconds)],
    ['build keys/s', (r) => f(r.buildKeysPerSecond, 0)],
    [`update ms / block of ${blockSize}`, (r) => f(r.updateMsPerBlock)],
    ['update CPU µs / key (main thread)', (r) => f(r.updateCpuMicros)],
    ['commit ms / block (synced batch)', (r) => f(r.commitMsPerBlock)],
    ['updates/s (tree only)', (r) => f(r.updatesPerSecond, 0)],
    ['updates/s (with commit)', (r) => f(r.updatesPerSecondWithCommit, 0)],
    ['hashes / update', (r) => f(r.hashesPerUpdate)],
    ['node reads / update', (r) => f(r.nodeReadsPerUpdate, 2)],
    ['  of which from memory', (r) => f(r.cacheHitsPerUpdate, 2)],
    ['node writes / update', (r) => f(r.nodeWritesPerUpdate, 2)],
    ['bytes written / update', (r) => f(r.bytesWrittenPerUpdate, 0)],
    ['proof bytes mean', (r) => f(r.proofBytesMean)],
    ['proof bytes max', (r) => f(r.proofBytesMax, 0)],
    ['proof siblings mean', (r) => f(r.proofSiblingsMean)],
    ['prove µs (LevelDB walk)', (r) => f(r.proveMicros)],
    ['verify µs', (r) => f(r.verifyMicros)],
  ];
  const header = ['keys', ...results.map((r) => String(r.keys))];
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log([header[0]!.padEnd(width), ...header.slice(1).map((h) => h.padStart(12))].join('  '));
  for (const [name, cell] of rows) {
    console.log([name.padEnd(width), ...results.map((r) => cell(r).padStart(12))].join('  '));
  }
}
