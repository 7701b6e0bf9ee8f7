// Builds @civitas/client: compiles the repository's src/client/index.ts and what it imports
// into dist/ (tsconfig.json), copies the repository's LICENSE, and checks the closure. The
// package declares @noble/curves and @noble/hashes and nothing else, so the build fails if
// the code a client loads imports anything more: a package it does not declare (libp2p,
// level, sodium-native, …) or a `node:` module at top level (node:fs may be imported lazily,
// inside the function that needs it; node:crypto is reached through
// process.getBuiltinModule). Modules tsc emits only because a type is imported from them
// (state/store.js, which imports level, is one) are removed: nothing loads them, and the
// package should not ship code that imports what it does not declare. Their .d.ts stay.
//
// Plain JavaScript, so it runs on whichever Node npm finds; `node scripts/build.js --check`
// re-checks an existing dist/ without compiling.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = resolve(PACKAGE_DIR, '../..');
const DIST = join(PACKAGE_DIR, 'dist');
const ENTRY = join(DIST, 'client/index.js');

const require = createRequire(join(REPO_ROOT, 'package.json'));
const ts = require('typescript');

function fail(message) {
  process.stderr.write(`@civitas/client build: ${message}\n`);
  process.exit(1);
}

/** The npm package a bare specifier names: `@noble/curves/ed25519.js` → `@noble/curves`. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** A module's imports: `static` (import/export … from, import '…') and `dynamic` (import()). */
function importsOf(file) {
  const source = ts.createSourceFile(
    file,
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.JS,
  );
  const found = { static: [], dynamic: [] };
  for (const statement of source.statements) {
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      found.static.push(statement.moduleSpecifier.text);
    }
  }
  const visit = (node) => {
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length > 0
    ) {
      const [arg] = node.arguments;
      if (ts.isStringLiteralLike(arg)) found.dynamic.push(arg.text);
      else found.dynamic.push(`<computed: ${arg.getText(source)}>`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * Walks the modules `entry` loads and checks each import against `dependencies`. Returns the
 * modules reached and the packages imported; throws a list of what is wrong.
 */
function checkClosure(entry, dependencies) {
  const declared = new Set(Object.keys(dependencies));
  const reached = new Set();
  const packages = new Set();
  const problems = [];
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop();
    if (reached.has(file)) continue;
    reached.add(file);
    const where = relative(PACKAGE_DIR, file);
    const imports = importsOf(file);
    for (const [kind, specifiers] of Object.entries(imports)) {
      for (const specifier of specifiers) {
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(file), specifier);
          if (!existsSync(target)) problems.push(`${where} imports ${specifier}, not in dist/`);
          else pending.push(target);
        } else if (specifier.startsWith('<computed')) {
          problems.push(`${where} has an import() whose target is not a string: ${specifier}`);
        } else if (isBuiltin(specifier)) {
          if (kind === 'static') {
            problems.push(
              `${where} imports ${specifier} at top level (import it inside the function that needs it)`,
            );
          }
        } else if (!declared.has(packageName(specifier))) {
          problems.push(
            `${where} imports ${specifier}, which is not a dependency of @civitas/client`,
          );
        } else {
          packages.add(packageName(specifier));
        }
      }
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return { reached, packages };
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

function build() {
  rmSync(DIST, { recursive: true, force: true });
  copyFileSync(join(REPO_ROOT, 'LICENSE'), join(PACKAGE_DIR, 'LICENSE'));
  const tsc = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', join(PACKAGE_DIR, 'tsconfig.json')],
    { cwd: PACKAGE_DIR, stdio: 'inherit' },
  );
  if (tsc.status !== 0) fail(`tsc failed (${tsc.status ?? tsc.signal})`);
}

function check() {
  if (!existsSync(ENTRY)) fail(`${relative(PACKAGE_DIR, ENTRY)} is missing: build first`);
  const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8'));
  let closure;
  try {
    closure = checkClosure(ENTRY, pkg.dependencies ?? {});
  } catch (err) {
    fail(`the client imports what the package does not declare:\n${err.message}`);
  }
  const unreached = filesUnder(DIST).filter(
    (file) => /\.[cm]?js$/.test(file) && !closure.reached.has(file),
  );
  for (const file of unreached) rmSync(file);
  const shown = (files) => files.map((f) => relative(DIST, f).split(sep).join('/')).join(', ');
  process.stderr.write(
    `@civitas/client: ${closure.reached.size} modules from dist/client/index.js, importing ` +
      `${[...closure.packages].sort().join(', ') || 'no packages'}` +
      (unreached.length > 0
        ? `; removed ${unreached.length} nothing loads: ${shown(unreached)}`
        : '') +
      '\n',
  );
}

if (!process.argv.includes('--check')) build();
check();
