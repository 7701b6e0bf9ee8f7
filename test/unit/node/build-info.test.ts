/**
 * Build identity (src/node/build-info.ts) on real directories and real git: a checkout's
 * commit (with -dirty once a tracked file changes, not for untracked files), a package
 * inside someone else's repository never takes that repository's commit, build-info.json
 * when there is no checkout, `unknown` when nothing says; the writer; and the
 * civitas_build_info gauge carrying the same values.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  BUILD_INFO_FILE,
  buildInfo,
  gitCommit,
  readBuildInfo,
  writeBuildInfo,
} from '../../../src/node/build-info.ts';
import { NodeMetrics } from '../../../src/node/metrics.ts';
import { tempDir } from '../../helpers/temp.ts';

function git(dir: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args],
    { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } },
  ).trim();
}

async function pkg(dir: string, version = '1.2.3'): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'x', version }));
}

test('a git checkout: HEAD, and -dirty while a tracked file differs', async (t) => {
  const dir = await tempDir(t);
  await pkg(dir);
  git(dir, 'init', '-q');
  git(dir, 'add', 'package.json');
  git(dir, 'commit', '-q', '-m', 'one');
  const head = git(dir, 'rev-parse', 'HEAD');
  assert.deepEqual(readBuildInfo(dir), { version: '1.2.3', commit: head });

  await writeFile(join(dir, 'untracked.txt'), 'x');
  assert.equal(readBuildInfo(dir).commit, head, 'untracked files do not make it dirty');

  await pkg(dir, '1.2.4');
  assert.deepEqual(readBuildInfo(dir), { version: '1.2.4', commit: `${head}-dirty` });
  git(dir, 'commit', '-q', '-am', 'two');
  const head2 = git(dir, 'rev-parse', 'HEAD');
  assert.notEqual(head2, head);
  assert.equal(readBuildInfo(dir).commit, head2);

  // git wins over a stale build-info.json in a checkout.
  await writeFile(join(dir, BUILD_INFO_FILE), JSON.stringify({ commit: 'f'.repeat(40) }));
  assert.equal(readBuildInfo(dir).commit, head2);
});

test("a package inside another repository does not take that repository's commit", async (t) => {
  const outer = await tempDir(t);
  await writeFile(join(outer, 'README'), 'outer');
  git(outer, 'init', '-q');
  git(outer, 'add', 'README');
  git(outer, 'commit', '-q', '-m', 'outer');
  const inner = join(outer, 'node_modules', 'civitas');
  await pkg(inner);
  assert.equal(gitCommit(inner), undefined);
  assert.deepEqual(readBuildInfo(inner), { version: '1.2.3', commit: 'unknown' });
  await writeFile(join(inner, BUILD_INFO_FILE), JSON.stringify({ commit: 'a'.repeat(40) }));
  assert.equal(readBuildInfo(inner).commit, 'a'.repeat(40));
});

test('no checkout: build-info.json, else unknown; the writer records git or an override', async (t) => {
  const dir = await tempDir(t);
  assert.deepEqual(readBuildInfo(dir), { version: 'unknown', commit: 'unknown' });
  await pkg(dir);
  assert.deepEqual(readBuildInfo(dir), { version: '1.2.3', commit: 'unknown' });
  await writeFile(join(dir, BUILD_INFO_FILE), '{not json');
  assert.equal(readBuildInfo(dir).commit, 'unknown', 'a broken file says nothing');

  const written = writeBuildInfo(dir);
  assert.equal(written.commit, 'unknown', 'no git here: the writer does not invent one');
  const over = writeBuildInfo(dir, 'b'.repeat(40));
  assert.equal(over.commit, 'b'.repeat(40));
  const file = JSON.parse(await readFile(join(dir, BUILD_INFO_FILE), 'utf8')) as {
    version: string;
    commit: string;
    builtAt: string;
  };
  assert.equal(file.version, '1.2.3');
  assert.ok(!Number.isNaN(Date.parse(file.builtAt)));
  assert.deepEqual(readBuildInfo(dir), { version: '1.2.3', commit: 'b'.repeat(40) });

  // The writer in a checkout takes the checkout's commit.
  const repo = await tempDir(t);
  await pkg(repo);
  git(repo, 'init', '-q');
  git(repo, 'add', 'package.json');
  git(repo, 'commit', '-q', '-m', 'one');
  assert.equal(writeBuildInfo(repo).commit, git(repo, 'rev-parse', 'HEAD'));
});

test('civitas_build_info{version,commit,node} = 1 carries this build', async () => {
  const metrics = new NodeMetrics(
    {
      height: () => 0,
      view: () => 0,
      viewChanges: () => 0,
      mempoolSize: () => 0,
      mempoolQueued: () => 0,
      peers: () => 0,
      gossip: () => undefined,
    },
    { processMetrics: false },
  );
  const text = await metrics.text();
  const { version, commit } = buildInfo();
  const lines = text.split('\n').filter((l) => l.startsWith('civitas_build_info'));
  assert.deepEqual(lines, [
    `civitas_build_info{version="${version}",commit="${commit}",node="${process.version}"} 1`,
  ]);
  assert.match(text, /# TYPE civitas_build_info gauge/);
  assert.equal(buildInfo(), buildInfo(), 'read once');
});
