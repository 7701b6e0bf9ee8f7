/**
 * `civitas bench idle`: a validator network left without txs (issue #19, "quiet when idle").
 * Real node processes on loopback with the node's default consensus settings: for the idle
 * period, the blocks made and the view changes (from every node's /status) and the disk the
 * nodes' LevelDB directories grew by; then txs sent one at a time at random moments of further
 * idle periods, each timed from submission to commit as the client sees it (POST /txs
 * ?wait=commit), the first being "the first tx after the idle period".
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAddress } from '../src/chain/address.ts';
import { CivitasClient } from '../src/client/client.ts';
import { transfer } from '../src/client/index.ts';
import { loadKeyFile } from '../src/crypto/keyfile.ts';
import { LocalNetwork } from '../src/localnet/index.ts';
import { DEFAULT_CONFIG } from '../src/node/config.ts';

export interface IdleBenchOptions {
  readonly dir: string;
  readonly validators: number;
  readonly idleS: number;
  readonly emptyBlockIntervalMs: number;
  /** Txs sent after the idle period, one at a time, each after a random 1–5 s pause. */
  readonly txs: number;
  readonly progress?: (line: string) => void;
}

export interface IdleBenchReport {
  readonly validators: number;
  readonly idleS: number;
  readonly emptyBlockIntervalMs: number;
  readonly viewTimeoutMs: number;
  /** Blocks committed during the idle period (the lowest node's height gain). */
  readonly blocks: number;
  /** The most blocks the interval allows: one per interval, plus one in flight. */
  readonly maxBlocks: number;
  /** View changes during the idle period, summed over the nodes. */
  readonly viewChanges: number;
  /** LevelDB bytes the nodes grew by during the idle period, summed. */
  readonly diskBytes: number;
  /** Submission to commit, ms, in the order sent; the first is the first tx after idling. */
  readonly txLatencyMs: readonly number[];
  readonly goals: {
    readonly blocks: { readonly limit: number; readonly value: number; readonly met: boolean };
    readonly viewChanges: { readonly limit: 0; readonly value: number; readonly met: boolean };
    readonly firstTxMs: { readonly limit: 1000; readonly value: number; readonly met: boolean };
  };
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runIdleBench(opts: IdleBenchOptions): Promise<IdleBenchReport> {
  const say = opts.progress ?? (() => {});
  const viewTimeoutMs = DEFAULT_CONFIG.consensus.timeoutMs;
  say(`init: ${opts.validators} validators in ${opts.dir}`);
  const network = await LocalNetwork.launch(
    {
      dir: opts.dir,
      validators: opts.validators,
      accounts: 1,
      init: 'reset',
      chainId: 'civitas-idle',
      consensus: { emptyBlockIntervalMs: opts.emptyBlockIntervalMs },
      logLevel: 'warn',
    },
    { waitForPeers: true },
  );
  try {
    const clients = network.urls.map((url) => new CivitasClient(url, { timeoutMs: 60_000 }));
    const statuses = () => Promise.all(clients.map((c) => c.status()));
    const dataDirs = network.summary.nodes.map((n) => join(n.home, 'data'));
    const disk = async () => (await Promise.all(dataDirs.map(dirBytes))).reduce((a, b) => a + b);
    // Past start-up: connections made, the first blocks committed.
    while (Math.min(...(await statuses()).map((s) => s.height)) < 2) await sleep(200);
    const before = await statuses();
    const diskBefore = await disk();
    say(`idle for ${opts.idleS} s from height ${before[0]!.height}`);
    const start = Date.now();
    for (let next = 60; Date.now() - start < opts.idleS * 1000; next += 60) {
      await sleep(Math.min(next * 1000, opts.idleS * 1000) - (Date.now() - start));
      const s = await statuses();
      say(
        `  ${Math.round((Date.now() - start) / 1000)} s: height ${s[0]!.height}, view changes ${s.map((x) => x.consensus.viewChanges).join('/')}`,
      );
    }
    const after = await statuses();
    const diskAfter = await disk();
    const blocks =
      Math.min(...after.map((s) => s.height)) - Math.max(...before.map((s) => s.height));
    const viewChanges = after.reduce(
      (sum, s, i) => sum + s.consensus.viewChanges - before[i]!.consensus.viewChanges,
      0,
    );

    const account = network.summary.accounts[0]!;
    const keys = await loadKeyFile(account.file);
    const latencies: number[] = [];
    let { nonce } = await clients[0]!.account(account.address);
    for (let i = 0; i < opts.txs; i++) {
      if (i > 0) await sleep(1_000 + Math.random() * 4_000);
      const client = clients[i % clients.length]!;
      const { height } = await client.status();
      const tx = transfer({
        chainId: network.chainId,
        keys,
        to: parseAddress(account.address),
        amount: 1n,
        nonce: nonce++,
        expiryHeight: height + 1_000,
      });
      const t0 = performance.now();
      await client.submit(tx, { wait: true });
      latencies.push(Math.round(performance.now() - t0));
      say(`  tx ${i + 1}/${opts.txs}: committed in ${latencies.at(-1)} ms`);
    }
    const maxBlocks = Math.floor((opts.idleS * 1000) / Math.max(1, opts.emptyBlockIntervalMs)) + 1;
    const first = latencies[0] ?? Number.NaN;
    return {
      validators: opts.validators,
      idleS: opts.idleS,
      emptyBlockIntervalMs: opts.emptyBlockIntervalMs,
      viewTimeoutMs,
      blocks,
      maxBlocks,
      viewChanges,
      diskBytes: diskAfter - diskBefore,
      txLatencyMs: latencies,
      goals: {
        blocks: { limit: maxBlocks, value: blocks, met: blocks <= maxBlocks },
        viewChanges: { limit: 0, value: viewChanges, met: viewChanges === 0 },
        firstTxMs: { limit: 1000, value: first, met: first < 1000 },
      },
    };
  } finally {
    await network.stop();
  }
}

export function formatIdleReport(r: IdleBenchReport): string[] {
  const yes = (met: boolean) => (met ? 'met' : 'NOT met');
  const sorted = [...r.txLatencyMs].sort((a, b) => a - b);
  return [
    `idle ${r.validators}-validator network, ${r.idleS} s, empty blocks every ${r.emptyBlockIntervalMs} ms (view timeout ${r.viewTimeoutMs} ms)`,
    `  blocks           ${r.blocks} (≤ ${r.maxBlocks}: ${yes(r.goals.blocks.met)})`,
    `  view changes     ${r.viewChanges} (0: ${yes(r.goals.viewChanges.met)})`,
    `  disk growth      ${(r.diskBytes / 1024).toFixed(1)} KiB over all nodes (${r.blocks > 0 ? Math.round(r.diskBytes / r.blocks / r.validators) : 0} B per block per node)`,
    `  first tx         ${r.goals.firstTxMs.value} ms to commit (< 1000: ${yes(r.goals.firstTxMs.met)})`,
    `  all ${r.txLatencyMs.length} txs      median ${sorted[Math.floor(sorted.length / 2)] ?? '-'} ms, max ${sorted.at(-1) ?? '-'} ms`,
  ];
}
