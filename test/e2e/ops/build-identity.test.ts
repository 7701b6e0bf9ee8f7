/**
 * One build identity everywhere: `civitas --version`, GET /status and the civitas_build_info
 * metric of a running node agree with each other and with git, asked independently; and an
 * `npm pack` tarball ships src/, bin/, bench/ (civitas bench imports it), deploy/, docs/,
 * README, LICENSE, CHANGELOG and a build-info.json naming the commit (never test/), whose
 * `civitas --version` outside any checkout reads that file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { StatusResponse } from '../../../src/api/types.ts';
import { httpJson, waitUntil } from '../../helpers/http.ts';
import { NODE_BIN, REPO_ROOT, runCli } from '../../helpers/process.ts';
import { startSingleNode } from '../../helpers/single-node.ts';
import { tempDir } from '../../helpers/temp.ts';

const run = promisify(execFile);

/** What git says about this checkout, asked here without src/node/build-info.ts. */
async function expectedCommit(): Promise<string> {
  const head = (await run('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD'])).stdout.trim();
  const changes = (
    await run('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no'])
  ).stdout.trim();
  return changes === '' ? head : `${head}-dirty`;
}

const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};

test('civitas --version, GET /status and civitas_build_info agree with git', async (t) => {
  const version = await runCli(['--version']);
  assert.equal(version.code, 0, version.stderr);
  const m = /^civitas (\S+) \(commit (\S+), node (v[\d.]+)\)\n$/.exec(version.stdout);
  assert.ok(m, `one line: ${JSON.stringify(version.stdout)}`);
  assert.equal(m[1], pkg.version);
  assert.equal(m[3], (await run(NODE_BIN, ['--version'])).stdout.trim(), 'the Node that ran it');
  const commit = m[2]!;
  const fromGit = await expectedCommit();
  // The working tree may change between the two reads (other work in progress): compare HEAD.
  assert.equal(commit.replace(/-dirty$/, ''), fromGit.replace(/-dirty$/, ''));
  assert.match(commit, /^[0-9a-f]{40}(-dirty)?$/);
  assert.equal((await runCli(['-V'])).stdout, version.stdout);

  const { rpc: api } = await startSingleNode(t, { accounts: 0 });
  const status = await waitUntil(
    async () => (await httpJson<StatusResponse>(`${api}/status`).catch(() => undefined))?.body,
    'GET /status',
    20_000,
  );
  assert.equal(status.version, pkg.version);
  assert.equal(status.commit.replace(/-dirty$/, ''), commit.replace(/-dirty$/, ''));
  const metrics = await (await fetch(`${api}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith('civitas_build_info{'));
  assert.equal(
    line,
    `civitas_build_info{version="${status.version}",commit="${status.commit}",node="${m[3]}"} 1`,
  );
});

test('npm pack ships the sources, docs and build-info.json, not the tests; --version reads the file', async (t) => {
  const out = await tempDir(t);
  const packed = await run('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: REPO_ROOT,
    env: { ...process.env, PATH: `${join(REPO_ROOT, 'node_modules/.bin')}:${process.env.PATH}` },
  });
  const [info] = JSON.parse(packed.stdout) as Array<{
    filename: string;
    files: { path: string }[];
  }>;
  const files = info!.files.map((f) => f.path);
  for (const f of [
    'package.json',
    'bin/civitas.js',
    'src/cli/main.ts',
    'src/node/node.ts',
    'bench/validate.ts',
    'deploy/Dockerfile',
    'deploy/civitas.service',
    'docs/OPERATIONS.md',
    'README.md',
    'LICENSE',
    'CHANGELOG.md',
    'build-info.json',
  ]) {
    assert.ok(files.includes(f), `the package has ${f}`);
  }
  for (const f of files) {
    assert.ok(!/^(test|node_modules|\.ci|\.civitas|scripts)\//.test(f), `not shipped: ${f}`);
  }
  assert.ok(!existsSync(join(REPO_ROOT, 'build-info.json')), 'postpack removed build-info.json');

  // The tarball unpacked outside any checkout (dependencies linked in, as an install has them).
  await run('tar', ['-C', out, '-xzf', join(out, info!.filename)]);
  const root = join(out, 'package');
  await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  const written = JSON.parse(await readFile(join(root, 'build-info.json'), 'utf8')) as {
    version: string;
    commit: string;
  };
  assert.equal(written.version, pkg.version);
  assert.equal(
    written.commit.replace(/-dirty$/, ''),
    (await expectedCommit()).replace(/-dirty$/, ''),
  );
  const v = await run(NODE_BIN, [join(root, 'bin/civitas.js'), '--version'], { cwd: out });
  assert.match(v.stdout, new RegExp(`^civitas ${pkg.version} \\(commit ${written.commit}, node `));
});
