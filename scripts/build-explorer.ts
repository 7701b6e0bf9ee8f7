/**
 * Builds the explorer (explorer/: the web app every node serves at /explorer/) into
 * explorer/dist: the TypeScript and the SDK it verifies with bundled by esbuild for the
 * browser into one minified ES module, its CSS (the page's and uPlot's) into one file, and
 * index.html copied. Nothing is fetched at run time from anywhere but the node, so the
 * explorer works offline. Run by `npm install` in a checkout (prepare), before `npm pack`,
 * and by `npm run build:explorer`; prints the files and their sizes on stderr (`npm pack
 * --json` passes a lifecycle script's stdout on as its own). A production install
 * (`npm ci --omit=dev`) has no esbuild: it says so and builds nothing, and the node then
 * answers /explorer/ with EXPLORER_NOT_BUILT.
 */
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const EXPLORER = fileURLToPath(new URL('../explorer/', import.meta.url));
const DIST = join(EXPLORER, 'dist');

const esbuild = await import('esbuild').catch(() => undefined);
if (esbuild === undefined) {
  process.stderr.write('explorer: esbuild is not installed (a production install): not built\n');
  process.exit(0);
}

await rm(DIST, { recursive: true, force: true });
await mkdir(DIST, { recursive: true });
await esbuild.build({
  entryPoints: { app: join(EXPLORER, 'src/main.ts') },
  outdir: DIST,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  // The map names the sources (src/ and explorer/ ship in the package) without copying them.
  sourcesContent: false,
  legalComments: 'linked',
  logLevel: 'warning',
});
await copyFile(join(EXPLORER, 'index.html'), join(DIST, 'index.html'));

const files = ['index.html', 'app.js', 'app.css'];
let total = 0;
for (const file of files) {
  const { size } = await stat(join(DIST, file));
  total += size;
  process.stderr.write(`explorer/dist/${file} ${(size / 1024).toFixed(1)} KiB\n`);
}
process.stderr.write(`explorer: ${(total / 1024).toFixed(1)} KiB served (source maps aside)\n`);
