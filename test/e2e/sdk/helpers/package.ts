/**
 * The SDK package as people get it, for the tests in test/e2e/sdk/: `npm pack` of a copy of
 * the package's files (prepack compiles src/client to dist/), the tarball installed in a
 * scratch project, and a real one-validator node to point it at.
 *
 * The package is packed from a copy of its files, not from the checkout: the build-identity
 * test packs the checkout at the same time, and two prepacks writing one dist/ would race.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import {
  type Child,
  CLI_MAIN,
  REPO_ROOT,
  randomBasePort,
  runCli,
  startChild,
} from '../../../helpers/process.ts';
import { type CleanupScope, tempDir } from '../../../helpers/temp.ts';

export const run = promisify(execFile);

const PATH_WITH_REPO_BIN = `${join(REPO_ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH}`;

/** What `civitas init --json` prints. */
export interface InitSummary {
  dir: string;
  genesis: string;
  nodes: Array<{ home: string; rpc: string }>;
  accounts: Array<{ file: string; address: string; balance: string }>;
}

/**
 * Cleanups registered from suite hooks, run last-first. Every one runs even when another
 * throws (a node left running would keep the test process alive); then the errors are thrown.
 */
export function suiteScope(): CleanupScope & { run(): Promise<void> } {
  const fns: Array<() => unknown> = [];
  return {
    after: (fn) => {
      fns.push(fn);
    },
    run: async () => {
      const errors: unknown[] = [];
      for (const fn of fns.reverse()) {
        try {
          await fn();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, 'suite cleanups failed');
    },
  };
}

/** npm pack of a copy of the package's files; returns the tarball and its file list. */
export async function pack(scope: CleanupScope): Promise<{ tarball: string; files: string[] }> {
  const dir = await tempDir(scope, 'civitas-sdk-pack-');
  const stage = join(dir, 'package');
  await mkdir(stage);
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    files: string[];
  };
  const copied = [
    'package.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'tsconfig.cli.json',
    ...pkg.files,
  ].filter(
    (f) => f !== 'dist/' && f !== 'build-info.json', // both made by prepack
  );
  await Promise.all(copied.map((f) => cp(join(REPO_ROOT, f), join(stage, f), { recursive: true })));
  await symlink(join(REPO_ROOT, 'node_modules'), join(stage, 'node_modules'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: stage,
    env: { ...process.env, PATH: PATH_WITH_REPO_BIN },
    timeout: 120_000,
  });
  const [info] = JSON.parse(packed.stdout) as Array<{
    filename: string;
    files: { path: string }[];
  }>;
  return { tarball: join(dir, info!.filename), files: info!.files.map((f) => f.path) };
}

/** A scratch ESM project with the tarball installed (from npm's cache when it has it all). */
export async function install(scope: CleanupScope, tarball: string): Promise<string> {
  const project = await tempDir(scope, 'civitas-sdk-consumer-');
  await writeFile(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'sdk-consumer', private: true, type: 'module' }, null, 2)}\n`,
  );
  const args = ['install', tarball, '--omit=dev', '--no-audit', '--no-fund'];
  const opts = { cwd: project, timeout: 180_000 };
  try {
    await run('npm', [...args, '--offline'], opts);
  } catch {
    // Not everything cached yet (a fresh machine): the registry fills the gaps.
    await run('npm', [...args, '--prefer-offline'], opts);
  }
  return project;
}

/** `civitas init` (one validator, two accounts) and `node start`; retries a taken port. */
export async function startNetwork(
  scope: CleanupScope,
): Promise<{ summary: InitSummary; rpc: string; node: Child }> {
  const parent = await tempDir(scope, 'civitas-sdk-net-');
  for (let attempt = 0; ; attempt++) {
    const dir = join(parent, `net${attempt}`);
    const init = await runCli([
      'init',
      '--validators',
      '1',
      '--accounts',
      '2',
      '--dir',
      dir,
      '--base-port',
      String(randomBasePort()),
      '--json',
    ]);
    assert.equal(init.code, 0, init.stderr);
    const summary = JSON.parse(init.stdout) as InitSummary;
    const node = startChild(scope, CLI_MAIN, ['node', 'start', '--home', summary.nodes[0]!.home]);
    try {
      await node.waitFor((_out, err) => err.includes('"node started"'), 'the node to start');
      return { summary, rpc: summary.nodes[0]!.rpc, node };
    } catch (err) {
      await node.kill();
      if (attempt < 4 && /RPC_LISTEN_FAILED/.test(String(err))) continue;
      throw err;
    }
  }
}
