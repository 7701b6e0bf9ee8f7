#!/usr/bin/env node
// The `civitas` command: checks the Node version and hands over to the CLI. In a checkout the
// TypeScript sources run through Node's type stripping; installed (under node_modules, where
// Node strips no types) the JavaScript that `npm pack` compiled into dist/node runs.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `civitas: needs Node >= 22.18 (this is ${process.versions.node}); run it through npx or npm scripts, which use the pinned Node\n`,
  );
  process.exit(1);
}
const installed = import.meta.url.includes('/node_modules/');
await import(installed ? '../dist/node/src/cli/main.js' : '../src/cli/main.ts');
