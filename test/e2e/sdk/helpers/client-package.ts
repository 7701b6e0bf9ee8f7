/**
 * The client-only package, @civitas/client, as people get it, for
 * test/e2e/sdk/client-package.test.ts: `npm pack` of packages/client from a copy of what its
 * build reads (src/, the tsconfigs, LICENSE), the tarball installed in a scratch project, what
 * that install holds, and a real one-validator node to point it at.
 *
 * The copy keeps the checkout's layout (packages/client next to ../../src) so the package's
 * tsconfig works unchanged, and lets tests pack at the same time without two prepacks
 * writing one dist/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { cp, lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { delimiter, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
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

export const CLIENT_PACKAGE_DIR = join(REPO_ROOT, 'packages/client');

/** What `civitas init --json` prints. */
export interface InitSummary {
  dir: string;
  genesis: string;
  nodes: Array<{ home: string; rpc: string }>;
  accounts: Array<{ file: string; address: string; balance: string }>;
}

/** Cleanups registered from suite hooks, run last-first. */
export function suiteScope(): CleanupScope & { run(): Promise<void> } {
  const fns: Array<() => unknown> = [];
  return {
    after: (fn) => {
      fns.push(fn);
    },
    run: async () => {
      for (const fn of fns.reverse()) await fn();
    },
  };
}

/** The machine's own `node`: the first on PATH outside any node_modules/.bin (npm puts the
 * pinned Node 24 first), else /usr/bin/node. */
export function systemNode(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || dir.includes(`${sep}node_modules${sep}`)) continue;
    const candidate = join(dir, 'node');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return '/usr/bin/node';
}

/** The ```ts block of the README's "Client SDK" section that imports from civitas/client. */
export async function readmeExample(): Promise<string> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Client SDK'));
  const start = section.indexOf("```ts\nimport { readFile } from 'node:fs/promises';");
  assert.ok(start >= 0, 'the README has the SDK example');
  const body = section.slice(start + '```ts\n'.length);
  const code = body.slice(0, body.indexOf('```'));
  assert.match(code, /from 'civitas\/client'/);
  return code;
}

export function replaceOnce(text: string, from: string, to: string): string {
  const parts = text.split(from);
  assert.equal(parts.length, 2, `the text has ${from} exactly once`);
  return parts.join(to);
}

export interface PackedClient {
  tarball: string;
  /** Paths inside the tarball, relative to its package/ folder. */
  files: string[];
  /** The tarball's size and the sum of its files' sizes, in bytes. */
  size: number;
  unpackedSize: number;
  /** What prepack printed (the build's summary line). */
  buildLog: string;
}

/** npm pack of packages/client, from a copy of what its build reads. */
export async function packClient(scope: CleanupScope): Promise<PackedClient> {
  const dir = await tempDir(scope, 'civitas-client-pack-');
  const stage = join(dir, 'repo');
  const packageDir = join(stage, 'packages/client');
  await mkdir(packageDir, { recursive: true });
  await Promise.all([
    // package.json for its "type": "module", which makes tsc read src/ as ES modules.
    ...['package.json', 'src', 'tsconfig.json', 'tsconfig.build.json', 'LICENSE'].map((f) =>
      cp(join(REPO_ROOT, f), join(stage, f), { recursive: true }),
    ),
    // The package's own files, not what a build in the checkout left (dist/, LICENSE).
    cp(CLIENT_PACKAGE_DIR, packageDir, {
      recursive: true,
      filter: (source) => {
        const path = relative(CLIENT_PACKAGE_DIR, source).split(sep);
        return !['dist', 'LICENSE', 'node_modules'].includes(path[0]!) && !/\.tgz$/.test(source);
      },
    }),
    symlink(join(REPO_ROOT, 'node_modules'), join(stage, 'node_modules')),
  ]);
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: packageDir,
    timeout: 120_000,
  });
  const [info] = JSON.parse(packed.stdout) as Array<{
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }>;
  return {
    tarball: join(dir, info!.filename),
    files: info!.files.map((f) => f.path),
    size: info!.size,
    unpackedSize: info!.unpackedSize,
    buildLog: packed.stderr,
  };
}

/** A scratch ESM project with the tarball installed (from npm's cache when it has it all). */
export async function installTarball(scope: CleanupScope, tarball: string): Promise<string> {
  const project = await tempDir(scope, 'civitas-client-consumer-');
  await writeFile(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'client-consumer', private: true, type: 'module' }, null, 2)}\n`,
  );
  const args = ['install', tarball, '--no-audit', '--no-fund'];
  const opts = { cwd: project, timeout: 180_000 };
  try {
    await run('npm', [...args, '--offline'], opts);
  } catch {
    // Not everything cached yet (a fresh machine): the registry fills the gaps.
    await run('npm', [...args, '--prefer-offline'], opts);
  }
  return project;
}

/** Every package under `nodeModules` (nested ones too), as `name@version`, sorted. */
export async function installedPackages(nodeModules: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.') || !entry.isDirectory()) continue;
      if (entry.name.startsWith('@')) {
        await visit(join(dir, entry.name));
        continue;
      }
      const packageDir = join(dir, entry.name);
      const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
        name: string;
        version: string;
      };
      found.push(`${manifest.name}@${manifest.version}`);
      await visit(join(packageDir, 'node_modules'));
    }
  };
  await visit(nodeModules);
  return found.sort();
}

/** The bytes of every file under `dir` (links not followed). */
export async function treeSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await lstat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** Each JavaScript file's imports under `dir`: static (import/export … from) and import(). */
export async function importsUnder(
  dir: string,
): Promise<Array<{ file: string; static: string[]; dynamic: string[] }>> {
  const files = (await readdir(dir, { withFileTypes: true, recursive: true }))
    .filter((entry) => entry.isFile() && /\.[cm]?js$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
  return Promise.all(
    files.map(async (file) => {
      const source = ts.createSourceFile(
        file,
        await readFile(file, 'utf8'),
        ts.ScriptTarget.Latest,
        true,
        ts.ScriptKind.JS,
      );
      const found = { file: relative(dir, file), static: [] as string[], dynamic: [] as string[] };
      for (const statement of source.statements) {
        if (
          (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
          statement.moduleSpecifier &&
          ts.isStringLiteral(statement.moduleSpecifier)
        ) {
          found.static.push(statement.moduleSpecifier.text);
        }
      }
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
          const [target] = node.arguments;
          found.dynamic.push(
            target && ts.isStringLiteralLike(target)
              ? target.text
              : `<computed: ${target?.getText(source)}>`,
          );
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
      return found;
    }),
  );
}

/** `civitas init` (one validator, two accounts) and `node start`; retries a taken port. */
export async function startNetwork(
  scope: CleanupScope,
): Promise<{ summary: InitSummary; rpc: string; node: Child }> {
  const parent = await tempDir(scope, 'civitas-client-net-');
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
