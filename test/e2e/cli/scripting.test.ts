/**
 * The CLI in scripts: a node that accepts connections but never answers costs --timeout
 * seconds, not minutes; --json turns errors into {"error": {"code", "message"}}; every error,
 * a file one included, carries a code; a broken JSON file is named with its line and column.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';

test('a silent node costs --timeout seconds; --json errors are JSON; every error has a code', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((s) => sockets.add(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const port = (silent.address() as { port: number }).port;
  const rpc = `http://127.0.0.1:${port}`;

  const started = Date.now();
  const r = await runCli(['query', 'status', '--rpc', rpc, '--timeout', '1']);
  const tookMs = Date.now() - started;
  assert.equal(r.code, 1);
  assert.match(
    r.stderr.trim(),
    /^civitas: no answer from the node at .* within 1 s \[CLIENT_TIMEOUT\]$/,
  );
  assert.ok(tookMs < 20_000, `took ${tookMs} ms`);

  const j = await runCli(['query', 'status', '--rpc', rpc, '--timeout', '1', '--json']);
  assert.equal(j.code, 1);
  const body = JSON.parse(j.stdout) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'CLIENT_TIMEOUT');
  assert.equal(j.stderr, '');

  const dir = await tempDir(t, 'civitas-scripting-');
  const missing = await runCli(['keys', 'generate', '--out', join(dir, 'no', 'such', 'key.json')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr.trim(), /^civitas: .*ENOENT.* \[CLI_FILE_ERROR\]$/);
  assert.doesNotMatch(missing.stderr, /unexpected error/);

  const ops = join(dir, 'ops.json');
  await writeFile(ops, '[\n  {"call": "bank.transfer",\n   "args": {"to": "00", }}\n]\n');
  const bad = await runCli([
    'tx',
    'batch',
    '--ops',
    ops,
    '--key',
    join(dir, 'k.json'),
    '--rpc',
    rpc,
    '--timeout',
    '1',
  ]);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr.trim(),
    /ops\.json:3:25: not valid JSON: .*trailing commas.*\[CLI_BAD_JSON\]$/,
  );
});
