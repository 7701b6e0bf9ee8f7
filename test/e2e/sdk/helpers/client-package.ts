/**
 * The client-only package, @civitas/client, as people get it, for
 * test/e2e/sdk/client-package.test.ts: `npm pack` of packages/client from a copy of what its
 * build reads (src/, the tsconfigs, LICENSE), and what an install of the tarball holds. The
 * install, the README example, the system `node` and the node to point it at are
 * test/e2e/sdk/helpers/package.ts's.
 *
 * The copy keeps the checkout's layout (packages/client next to ../../src) so the package's
 * tsconfig works unchanged, and lets tests pack at the same time without two prepacks
 * writing one dist/.
 */
import { cp, lstat, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../../../helpers/process.ts';
import { type CleanupScope, tempDir } from '../../../helpers/temp.ts';
import { npmPack } from './package.ts';

export const CLIENT_PACKAGE_DIR = join(REPO_ROOT, 'packages/client');

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
  const { info, tarball, stderr } = await npmPack(packageDir, dir);
  return {
    tarball,
    files: info.files.map((f) => f.path),
    size: info.size,
    unpackedSize: info.unpackedSize,
    buildLog: stderr,
  };
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
