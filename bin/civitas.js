#!/usr/bin/env node
// The `civitas` command. The sources are TypeScript run by Node's type stripping, so this
// shim only checks the Node version and hands over to the CLI.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `civitas: needs Node >= 22.18 (this is ${process.versions.node}); run it through npx or npm scripts, which use the pinned Node\n`,
  );
  process.exit(1);
}
await import('../src/cli/main.ts');
