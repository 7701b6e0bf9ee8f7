/**
 * `civitas devnet`: what `npm start` runs. Initialises a local network on loopback if there is
 * none yet, starts one child process per validator (logs to <home>/node.log), prints each
 * node's API URL and then one line per committed block, and stops every node on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CivitasClient } from '../../client/client.ts';
import { CivitasError } from '../../errors.ts';
import { type InitSummary, initNetwork } from '../../node/home.ts';
import { basePortOption, intOption } from '../options.ts';
import { action, printLines } from '../output.ts';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

interface DevnetOptions {
  validators: number;
  accounts: number;
  dir: string;
  reset?: boolean;
  basePort: number;
}

async function ensureNetwork(opts: DevnetOptions): Promise<InitSummary> {
  const dir = resolve(opts.dir);
  const summaryPath = join(dir, 'network.json');
  if (opts.reset) await rm(dir, { recursive: true, force: true });
  if (existsSync(summaryPath)) {
    const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as InitSummary;
    if (summary.nodes.length !== opts.validators) {
      throw new CivitasError(
        'DEVNET_MISMATCH',
        `${dir} holds a ${summary.nodes.length}-validator devnet; pass --reset to recreate it with ${opts.validators}`,
      );
    }
    process.stderr.write(`devnet: reusing ${dir} (pass --reset to start over)\n`);
    return summary;
  }
  process.stderr.write(`devnet: initialising ${opts.validators} validators in ${dir}\n`);
  return initNetwork({
    dir,
    validators: opts.validators,
    accounts: opts.accounts,
    basePort: opts.basePort,
  });
}

async function waitForApi(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new CivitasError('DEVNET_NODE_EXITED', `node behind ${url} exited (see its node.log)`);
    try {
      const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new CivitasError(
    'DEVNET_START_TIMEOUT',
    `node behind ${url} did not answer within ${timeoutMs} ms`,
  );
}

/** Follows node0's block stream and prints one line per committed block. */
async function followBlocks(url: string, signal: AbortSignal): Promise<void> {
  const client = new CivitasClient(url);
  while (!signal.aborted) {
    try {
      for await (const b of await client.openBlockEvents(signal)) {
        printLines([
          `block ${String(b.height).padStart(6)}  ${String(b.txs).padStart(5)} txs  ${b.hash.slice(0, 16)}  ${new Date(b.timestamp).toISOString()}`,
        ]);
      }
    } catch {
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

export function registerDevnetCommand(program: Command): void {
  program
    .command('devnet')
    .description('run a local validator network on loopback (initialises it on first use)')
    .option('--validators <n>', 'number of validators', intOption(1, 32), 4)
    .option('--accounts <k>', 'funded accounts to create on first init', intOption(0, 10_000), 4)
    .option('--dir <dir>', 'network directory', '.civitas/devnet')
    .addOption(basePortOption())
    .option('--reset', 'delete the directory and start a fresh chain')
    .action(
      action(async (opts: DevnetOptions) => {
        const summary = await ensureNetwork(opts);
        const children: ChildProcess[] = [];
        const abort = new AbortController();
        let stopping = false;
        const stopAll = (code: number): void => {
          if (stopping) {
            for (const c of children) c.kill('SIGKILL');
            process.exit(130);
          }
          stopping = true;
          abort.abort();
          process.stderr.write('devnet: stopping all nodes…\n');
          for (const c of children) c.kill('SIGTERM');
          let left = children.filter((c) => c.exitCode === null).length;
          if (left === 0) process.exit(code);
          for (const c of children) {
            c.once('exit', () => {
              left--;
              if (left === 0) process.exit(code);
            });
          }
        };
        process.on('SIGINT', () => stopAll(0));
        process.on('SIGTERM', () => stopAll(0));

        for (const node of summary.nodes) {
          const log = createWriteStream(join(node.home, 'node.log'), { flags: 'a' });
          const child = spawn(process.execPath, [MAIN, 'node', 'start', '--home', node.home], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          child.stdout?.pipe(log);
          child.stderr?.pipe(log);
          child.on('exit', (code, signal) => {
            if (!stopping) {
              process.stderr.write(
                `devnet: ${node.name} exited (${signal ?? code}); see ${join(node.home, 'node.log')}\n`,
              );
              stopAll(1);
            }
          });
          children.push(child);
        }
        await Promise.all(summary.nodes.map((n, i) => waitForApi(n.rpc, children[i]!, 30_000)));
        printLines([
          `devnet ${summary.chainId}: ${summary.nodes.length} validators running (Ctrl-C stops them)`,
          ...summary.nodes.map((n) => `  ${n.name}  ${n.rpc}  log ${join(n.home, 'node.log')}`),
          ...summary.accounts
            .slice(0, 4)
            .map((a) => `  funded account ${a.address}  key ${a.file}`),
          `try: npx civitas tx transfer --rpc ${summary.nodes[0]!.rpc} --key ${summary.accounts[0]?.file ?? '<key>'} --to <address> --amount 10 --wait`,
        ]);
        await followBlocks(summary.nodes[0]!.rpc, abort.signal);
      }),
    );
}
