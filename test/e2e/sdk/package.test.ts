/**
 * The SDK as people install it: `npm pack` (whose prepack compiles src/client to dist/),
 * the tarball installed in a scratch project with `npm install`, and the README's "Client
 * SDK" example run as it stands from that project, on the machine's own Node (20 here) and
 * on the pinned Node 24, against a real one-validator node: a transfer submitted, waited for,
 * fetched and its proof verified against the genesis file. The same example, with checks
 * that nothing it touches is `any`, is type-checked by this repository's tsc against the
 * installed `.d.ts`. Also: `import 'civitas'` is refused, and the entry loads without
 * importing node:fs (loadKeyFile imports it when called). The tarball carries the built
 * explorer, and a node the installed package runs serves it at /explorer/. Packing,
 * installing and the node:
 * helpers/package.ts (shared with browser.test.ts, which runs the same logic in Chromium).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NODE_BIN, REPO_ROOT } from '../../helpers/process.ts';
import {
  type InitSummary,
  install,
  pack,
  readmeExample,
  run,
  runConsumerOnEachNode,
  startInstalledNode,
  startNetwork,
  suiteScope,
  systemNode,
  typecheckConsumer,
  writeConsumer,
} from './helpers/package.ts';

describe('the SDK package: packed, installed, run on Node 20 and 24, type-checked', () => {
  const scope = suiteScope();
  let files: string[];
  let project: string;
  let summary: InitSummary;
  let rpc: string;
  let example: string;

  before(async () => {
    example = await readmeExample();
    const [packed, network] = await Promise.all([
      pack(scope).then(async (p) => ({ ...p, project: await install(scope, p.tarball) })),
      startNetwork(scope),
    ]);
    files = packed.files;
    project = packed.project;
    ({ summary, rpc } = network);
    await writeConsumer(project, example, rpc, summary.accounts[1]!.address);
  });
  after(() => scope.run());

  test('the tarball ships the compiled client with declarations; exports point there', async () => {
    for (const f of ['dist/client/index.js', 'dist/client/index.d.ts', 'dist/api/types.d.ts']) {
      assert.ok(files.includes(f), `the package has ${f}`);
    }
    // dist/ holds the SDK (with declarations) and the compiled CLI the installed bin runs.
    assert.ok(
      !files.some((f) => /^dist\/(cli|consensus|p2p)\//.test(f)),
      'the SDK at the top of dist/',
    );
    assert.ok(
      files.every((f) => !f.startsWith('dist/node/') || /^dist\/node\/(src|bench)\//.test(f)),
      "no module of the node's src/node/ in the SDK",
    );
    assert.ok(files.includes('dist/node/src/cli/main.js'), 'the compiled CLI');
    assert.ok(files.includes('dist/node/src/crypto/verify-worker.js'), 'its worker');
    assert.ok(!files.some((f) => f.startsWith('dist/node/') && f.endsWith('.d.ts')));
    const installed = JSON.parse(
      await readFile(join(project, 'node_modules/civitas/package.json'), 'utf8'),
    ) as { exports: Record<string, unknown> };
    assert.deepEqual(installed.exports['./client'], {
      types: './dist/client/index.d.ts',
      default: './dist/client/index.js',
    });
  });

  test('the tarball carries the built explorer; a node the installed package runs serves it', async (t) => {
    for (const f of ['explorer/dist/index.html', 'explorer/dist/app.js', 'explorer/dist/app.css']) {
      assert.ok(files.includes(f), `the package has ${f}`);
    }
    const installed = join(project, 'node_modules/civitas/explorer/dist');
    const { rpc: served } = await startInstalledNode(t, project);
    const index = await fetch(`${served}/explorer/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(await index.text(), await readFile(join(installed, 'index.html'), 'utf8'));
    const app = await fetch(`${served}/explorer/app.js`);
    assert.equal(app.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.ok(
      Buffer.from(await app.arrayBuffer()).equals(await readFile(join(installed, 'app.js'))),
      'the bundle as installed',
    );
  });

  test('the installed civitas command runs the compiled CLI (Node strips no types under node_modules)', async () => {
    const bin = join(project, 'node_modules/.bin/civitas');
    const env = { ...process.env, PATH: `${dirname(NODE_BIN)}${delimiter}${process.env.PATH}` };
    const version = await run(bin, ['--version'], { env });
    assert.match(version.stdout, /^civitas \d+\.\d+\.\d+ \(commit /);
    const status = await run(bin, ['query', 'status', '--rpc', rpc, '--json'], { env });
    assert.match(status.stdout, /"chainId"/);
  });

  // One after the other: each run reads the sender's nonce the previous one left.
  test("the README example on the machine's Node (20) and on Node 24: transfer, commit, proof verified", async (t) => {
    await runConsumerOnEachNode(t, {
      project,
      cwd: summary.dir,
      rpc,
      recipient: summary.accounts[1]!.address,
    });
  });

  test("the machine's Node is older than the sources need (the point of compiling)", async () => {
    const { stdout } = await run(systemNode(), ['-p', 'process.versions.node']);
    const [major, minor] = stdout.trim().split('.').map(Number) as [number, number];
    if (major > 22 || (major === 22 && minor >= 18)) {
      return; // a machine whose Node runs TypeScript: nothing more to show here
    }
    // The checkout's own sources cannot run there; the installed package can (test above).
    const direct = await run(systemNode(), [join(REPO_ROOT, 'src/client/index.ts')]).then(
      () => 'ran',
      (err: { stderr?: string; message: string }) => err.stderr || err.message,
    );
    assert.match(direct, /ERR_UNKNOWN_FILE_EXTENSION/);
  });

  test("the entry loads without node:fs, and 'civitas' alone is not an entry", async () => {
    const probe = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ resolve(specifier, context, next) { loaded.push(specifier); return next(specifier, context); } });
      const sdk = await import('civitas/client');
      const fsAtLoad = loaded.filter((s) => /^(node:)?fs/.test(s));
      const keys = sdk.parseKeyFile(JSON.stringify(sdk.keyFileJson(sdk.generateKeyPair())));
      let root;
      try { await import('civitas'); root = 'imported'; } catch (err) { root = err.code; }
      console.log(JSON.stringify({ fsAtLoad, keyBytes: keys.secretKey.length, root }));
    `;
    await writeFile(join(project, 'probe.mjs'), probe);
    const { stdout } = await run(NODE_BIN, [join(project, 'probe.mjs')], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), {
      fsAtLoad: [],
      keyBytes: 32,
      root: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });

  test('the example type-checks against the installed .d.ts, and nothing it gets is any', async () => {
    const checks = `
// Nothing the SDK hands back is \`any\`.
type IsAny<T> = 0 extends 1 & T ? true : false;
const notAny: [
  IsAny<typeof genesis>,
  IsAny<typeof trusted>,
  IsAny<typeof keys>,
  IsAny<typeof height>,
  IsAny<typeof nonce>,
  IsAny<typeof tx>,
  IsAny<typeof hash>,
  IsAny<typeof answer>,
  IsAny<typeof verified>,
  IsAny<Awaited<ReturnType<typeof client.status>>>,
  IsAny<Awaited<ReturnType<typeof client.tx>>>,
  IsAny<Awaited<ReturnType<typeof client.block>>>,
  IsAny<Awaited<ReturnType<typeof client.account>>>,
  IsAny<Awaited<ReturnType<typeof client.state>>>,
  IsAny<Awaited<ReturnType<typeof client.history>>>,
  IsAny<Awaited<ReturnType<typeof client.validators>>>,
  IsAny<Awaited<ReturnType<typeof client.validatorChanges>>>,
  IsAny<Awaited<ReturnType<typeof client.submit>>>,
] = [
  false, false, false, false, false, false, false, false, false,
  false, false, false, false, false, false, false, false, false,
];
const committedHeight: number = answer.height;
const txBytes: string = answer.txBytes;
// @ts-expect-error not a field of a committed tx's answer
answer.notAField;
// @ts-expect-error a pending tx has no proof: the answer must be narrowed first
(await client.tx(hash)).proof;
import type { CommittedTxResponse, StatusResponse, TxResponse } from 'civitas/client';
const answers: [TxResponse, CommittedTxResponse, StatusResponse] = [answer, answer, await client.status()];
console.log(notAny, committedHeight, txBytes, answers);
`;
    const tsc = await typecheckConsumer(project, `${example}${checks}`, false);
    assert.equal(tsc, '', 'tsc found no errors');
  });
});
