/**
 * Which build of Civitas is running: the package version and the git commit it was built
 * from, for `civitas --version`, `GET /status` and the `civitas_build_info` metric.
 *
 * The commit comes, in this order, from:
 * 1. git, at run time, when the package root is itself the top of a git checkout (a clone
 *    running from source). A working tree with changes to tracked files gets `-dirty`: it is
 *    not exactly that commit that runs.
 * 2. `build-info.json` in the package root, written when the package or the image is built
 *    (`npm pack` runs `prepack`; deploy/Dockerfile runs the same writer), for installs
 *    without a checkout or without git.
 * 3. `unknown` when neither says.
 *
 * Nothing is guessed: a commit is only ever what git or the build said.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  /** package.json's version. */
  readonly version: string;
  /** The full git commit hash (with `-dirty` for a modified checkout), or `unknown`. */
  readonly commit: string;
}

/** The written file: the commit as the build saw it, and when. */
export const BUILD_INFO_FILE = 'build-info.json';
export const UNKNOWN = 'unknown';

/**
 * The package root: the nearest folder holding a package.json, from two levels above this
 * file up (src/node/ in a checkout; dist/node/src/node/ when installed, compiled).
 */
export const PACKAGE_ROOT = packageRoot(fileURLToPath(new URL('../../', import.meta.url)));

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}

const GIT_TIMEOUT_MS = 3_000;

function git(root: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: GIT_TIMEOUT_MS,
    }).trim();
  } catch {
    return undefined; // no git, not a repository, or git refused (e.g. safe.directory)
  }
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * The commit of the git checkout whose top is `root`, or undefined. A package installed
 * inside someone else's repository (node_modules of a project) is not that repository's
 * commit, so the checkout must start at `root` itself.
 */
export function gitCommit(root: string): string | undefined {
  const top = git(root, ['rev-parse', '--show-toplevel']);
  if (top === undefined || !samePath(top, root)) return undefined;
  const head = git(root, ['rev-parse', 'HEAD']);
  if (head === undefined || !/^[0-9a-f]{40,64}$/.test(head)) return undefined;
  const changes = git(root, ['status', '--porcelain', '--untracked-files=no']);
  return changes === undefined || changes === '' ? head : `${head}-dirty`;
}

function packageVersion(root: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' && pkg.version !== '' ? pkg.version : UNKNOWN;
  } catch {
    return UNKNOWN;
  }
}

function writtenCommit(root: string): string | undefined {
  const file = join(root, BUILD_INFO_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as { commit?: unknown };
    return typeof info.commit === 'string' && info.commit !== '' ? info.commit : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the build identity of the package at `root` (uncached; see buildInfo()). */
export function readBuildInfo(root: string = PACKAGE_ROOT): BuildInfo {
  return {
    version: packageVersion(root),
    commit: gitCommit(root) ?? writtenCommit(root) ?? UNKNOWN,
  };
}

let cached: BuildInfo | undefined;

/** This process's build identity, read once. */
export function buildInfo(): BuildInfo {
  cached ??= Object.freeze(readBuildInfo());
  return cached;
}

/**
 * Writes `build-info.json` at `root` from git (or `commitOverride`, e.g. a CI's commit for a
 * build from a source tarball). Returns what it wrote.
 */
export function writeBuildInfo(
  root: string = PACKAGE_ROOT,
  commitOverride?: string,
): { version: string; commit: string; builtAt: string } {
  const override = commitOverride?.trim();
  const info = {
    version: packageVersion(root),
    commit: override !== undefined && override !== '' ? override : (gitCommit(root) ?? UNKNOWN),
    builtAt: new Date().toISOString(),
  };
  writeFileSync(join(root, BUILD_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

// `node src/node/build-info.ts write`: what `npm pack` (prepack) and deploy/Dockerfile run.
if (import.meta.main && process.argv[2] === 'write') {
  const info = writeBuildInfo(PACKAGE_ROOT, process.env.CIVITAS_COMMIT);
  process.stderr.write(`wrote ${BUILD_INFO_FILE}: ${info.version} ${info.commit}\n`);
}
