/**
 * Real processes for CLI and crash tests: run the `civitas` CLI, start a node as a child
 * process (and SIGKILL it), all through the pinned Node binary. Every child started here is
 * killed when the test that started it ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
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

/**
 * A random even base port in 20000..31998 (node i uses base+2i and base+2i+1): below Linux's
 * ephemeral range (32768+), where outgoing connections take their ports and once took one a
 * test had picked (EADDRINUSE at start).
 */
export function randomBasePort(): number {
  return 20_000 + 2 * Math.floor(Math.random() * 6_000);
}

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
