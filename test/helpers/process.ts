/**
 * Real processes for CLI and crash tests: run the `civitas` CLI, start a node as a child
 * process (and SIGKILL it), all through the pinned Node binary. Every child started here is
 * killed when the test that started it ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NODE_BIN = join(REPO_ROOT, 'node_modules/.bin/node');
export const CLI_MAIN = join(REPO_ROOT, 'src/cli/main.ts');

/**
 * Children share V8's on-disk compile cache: a CLI process loads the whole node graph
 * (libp2p included), and the cache cuts its start-up CPU by about 40% on this machine.
 */
const CHILD_ENV = {
  ...process.env,
  CIVITAS_DEBUG: '',
  NODE_COMPILE_CACHE: join(REPO_ROOT, 'node_modules/.cache/civitas-test-compile'),
};

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `civitas <args>` to completion (killed after `timeoutMs`, so a hang fails the test). */
export function runCli(
  args: readonly string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return runScript(CLI_MAIN, args, opts);
}

export function runScript(
  script: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE_BIN, [script, ...args], {
      cwd: REPO_ROOT,
      env: { ...CHILD_ENV, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A long-running child whose output is collected and which can be awaited or killed. */
export interface Child {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when `predicate(stdout, stderr)` holds; rejects if the child exits first. */
  waitFor(predicate: (stdout: string, stderr: string) => boolean, what: string): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startChild(
  t: Pick<TestContext, 'after'>,
  script: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Child {
  const child = spawn(NODE_BIN, [script, ...args], {
    cwd: REPO_ROOT,
    env: { ...CHILD_ENV, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of listeners) l();
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    notify();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    notify();
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true;
      notify();
      resolve({ code, signal });
    }),
  );
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (!done) child.kill(signal);
    await exited;
  };
  t.after(() => kill('SIGKILL'));
  const timeoutMs = opts.timeoutMs ?? 20_000;
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill,
    waitFor: (predicate, what) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (predicate(out, err)) finish();
          else if (done) finish(new Error(`child exited before ${what}; stderr:\n${err}`));
        };
        const timer = setTimeout(
          () => finish(new Error(`timed out waiting for ${what}; stderr:\n${err}`)),
          timeoutMs,
        );
        const finish = (e?: Error): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (e) reject(e);
          else resolve();
        };
        listeners.add(check);
        check();
      }),
  };
}

/** Ports in one reserved block: enough for a 16-node network (node i uses base+2i, base+2i+1). */
const PORT_BLOCK = 32;
/** Reserved blocks lie in 10000..19999: below the range LocalNetwork picks from (20000+) and
 * Linux's ephemeral range (32768+), where outgoing connections take their ports. */
const PORT_LOW = 10_000;
const PORT_BLOCKS = Math.floor((20_000 - PORT_LOW) / PORT_BLOCK);
const PORT_LOCKS = join(tmpdir(), 'civitas-test-ports');
const heldPortLocks: string[] = [];

/**
 * A base port whose block of 32 ports no other test process holds: test files run in
 * parallel processes, and two of them once drew overlapping random ports (EADDRINUSE at
 * start). Each block is claimed by a lock file created exclusively, holding this process's
 * pid; a lock whose process is gone is taken over; this process's locks go when it exits.
 */
export function randomBasePort(): number {
  mkdirSync(PORT_LOCKS, { recursive: true });
  for (let attempt = 0; attempt < 4 * PORT_BLOCKS; attempt++) {
    const block = Math.floor(Math.random() * PORT_BLOCKS);
    const lock = join(PORT_LOCKS, String(block));
    if (!claim(lock)) continue;
    if (heldPortLocks.length === 0) process.on('exit', releasePortLocks);
    heldPortLocks.push(lock);
    return PORT_LOW + block * PORT_BLOCK;
  }
  throw new Error(`no free block of ${PORT_BLOCK} test ports under ${PORT_LOCKS}`);
}

function claim(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const owner = Number(readFileSync(lock, 'utf8'));
  // An empty lock is one another process has created and not yet written its pid into.
  if (!(owner > 0) || owner === process.pid || alive(owner)) return false;
  rmSync(lock, { force: true });
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    return false; // another process took it over first
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releasePortLocks(): void {
  for (const lock of heldPortLocks) rmSync(lock, { force: true });
}

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
