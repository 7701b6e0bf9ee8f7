/**
 * The SDK packages as people get them, for the tests in test/e2e/sdk/: `npm pack` of a copy of
 * the package's files (prepack compiles src/client to dist/), the tarball installed in a
 * scratch project, the README's example to run there, the machine's own `node` to run it on,
 * and a real one-validator node to point it at (and one the installed package runs itself, to
 * serve its explorer). test/e2e/sdk/helpers/client-package.ts packs
 * the client-only package with the same pieces.
 *
 * The package is packed from a copy of its files, not from the checkout: the build-identity
 * test packs the checkout at the same time, and two prepacks writing one dist/ would race.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { delimiter, join, sep } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { httpJson } from '../../../helpers/http.ts';
import { NODE_BIN, REPO_ROOT, randomBasePort, startChild } from '../../../helpers/process.ts';
import { type InitSummary, startSingleNode } from '../../../helpers/single-node.ts';
import { type CleanupScope, suiteScope, tempDir } from '../../../helpers/temp.ts';

export { type InitSummary, suiteScope };

export const run = promisify(execFile);

const PATH_WITH_REPO_BIN = `${join(REPO_ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH}`;

/** The README example's node URL and recipient, which the tests swap for their own. */
const README_RPC = 'http://127.0.0.1:26601';
const README_RECIPIENT = 'd3067aa4cb46efe27ea3721c6d1e4c8c53e224fe';

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

/**
 * Writes `example` (the README's) to `project`/consumer.mjs, pointed at `rpc` and sending to
 * `recipient`; returns the file.
 */
export async function writeConsumer(
  project: string,
  example: string,
  rpc: string,
  recipient: string,
): Promise<string> {
  const file = join(project, 'consumer.mjs');
  await writeFile(
    file,
    replaceOnce(replaceOnce(example, README_RPC, rpc), README_RECIPIENT, recipient),
  );
  return file;
}

/**
 * Runs `project`/consumer.mjs (see writeConsumer) in `cwd` (the init dir, where the genesis
 * file it reads is) on the machine's Node, then on Node 24: one after the other, as each run
 * reads the sender's nonce the previous one left. Each prints its tx's line; both transfers
 * of 10 reach the recipient.
 */
export async function runConsumerOnEachNode(
  t: Pick<TestContext, 'diagnostic'>,
  opts: { project: string; cwd: string; rpc: string; recipient: string },
): Promise<void> {
  const balance = async (): Promise<bigint> =>
    BigInt(
      (await httpJson<{ balance: string }>(`${opts.rpc}/accounts/${opts.recipient}`)).body.balance,
    );
  const before = await balance();
  for (const binary of [systemNode(), NODE_BIN]) {
    const { stdout: version } = await run(binary, ['--version']);
    const { stdout } = await run(binary, [join(opts.project, 'consumer.mjs')], {
      cwd: opts.cwd,
      timeout: 30_000,
    });
    const line = stdout.trim();
    assert.match(line, /^tx [0-9a-f]{64}: ok at height \d+$/);
    t.diagnostic(`${binary} ${version.trim()}: ${line}`);
  }
  assert.equal(await balance(), before + 20n, 'both transfers of 10 committed');
}

/**
 * tsc (the repository's) on `code` as consumer.ts in the scratch project `project`, strict,
 * against what is installed there; its output ('' when it found no errors).
 */
export async function typecheckConsumer(
  project: string,
  code: string,
  skipLibCheck: boolean,
): Promise<string> {
  await writeFile(join(project, 'consumer.ts'), code);
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        lib: ['es2022'],
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        skipLibCheck,
        types: ['node'],
        typeRoots: [join(REPO_ROOT, 'node_modules/@types')],
      },
      files: ['consumer.ts'],
    }),
  );
  return run(NODE_BIN, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], {
    cwd: project,
    timeout: 60_000,
  }).then(
    () => '',
    (err: { stdout?: string; message: string }) => err.stdout || err.message,
  );
}

/** What `npm pack --json` says of the one tarball it made. */
export interface PackInfo {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

/** `npm pack --json` in `cwd`, the tarball written to `destination`; and what prepack printed. */
export async function npmPack(
  cwd: string,
  destination: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ info: PackInfo; tarball: string; stderr: string }> {
  const packed = await run('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd,
    env,
    timeout: 120_000,
  });
  const [info] = JSON.parse(packed.stdout) as PackInfo[];
  return { info: info!, tarball: join(destination, info!.filename), stderr: packed.stderr };
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
  const { info, tarball } = await npmPack(stage, dir, { ...process.env, PATH: PATH_WITH_REPO_BIN });
  return { tarball, files: info.files.map((f) => f.path) };
}

/**
 * A scratch ESM project named `name` with the tarball installed (from npm's cache when it has
 * it all); without the package's dev dependencies unless `omitDev` is false.
 */
export async function install(
  scope: CleanupScope,
  tarball: string,
  { name = 'sdk-consumer', omitDev = true }: { name?: string; omitDev?: boolean } = {},
): Promise<string> {
  const project = await tempDir(scope, `civitas-${name}-`);
  await writeFile(
    join(project, 'package.json'),
    `${JSON.stringify({ name, private: true, type: 'module' }, null, 2)}\n`,
  );
  const args = ['install', tarball, ...(omitDev ? ['--omit=dev'] : []), '--no-audit', '--no-fund'];
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
export const startNetwork = (scope: CleanupScope) =>
  startSingleNode(scope, { prefix: 'civitas-sdk-net-' });

/**
 * A one-validator node of the installed package's own compiled CLI (`civitas init` and
 * `civitas node start` from node_modules/civitas), so what it serves — the explorer too — is
 * the installed copy's; killed when `scope` ends. Retries a port taken meanwhile.
 */
export async function startInstalledNode(
  scope: CleanupScope,
  project: string,
): Promise<{ rpc: string }> {
  const main = join(project, 'node_modules/civitas/dist/node/src/cli/main.js');
  const dir = await tempDir(scope, 'civitas-installed-net-');
  for (let attempt = 0; ; attempt++) {
    const init = await run(NODE_BIN, [
      main,
      'init',
      '--validators',
      '1',
      '--accounts',
      '0',
      '--dir',
      join(dir, `net${attempt}`),
      '--base-port',
      String(randomBasePort()),
      '--plaintext',
      '--json',
    ]);
    const node = (JSON.parse(init.stdout) as InitSummary).nodes[0]!;
    const child = startChild(scope, main, ['node', 'start', '--home', node.home]);
    try {
      await child.waitFor((_out, err) => err.includes('"node started"'), 'the installed node');
      return { rpc: node.rpc };
    } catch (err) {
      await child.kill();
      if (attempt < 3 && /RPC_LISTEN_FAILED|P2P_LISTEN_FAILED|EADDRINUSE/.test(String(err))) {
        continue;
      }
      throw err;
    }
  }
}
