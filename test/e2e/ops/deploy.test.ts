/**
 * deploy/: no Docker engine or systemd runs here, so the tests take the files at their word.
 * - The Dockerfile's form: multi-stage, base images pinned to one Node major (≥ 24), the
 *   final stage runs as a non-root USER with the home as a VOLUME, HEALTHCHECK and CMD in exec
 *   form, no npm in the way of signals, and everything the CLI imports copied in.
 * - The image's CMD, exactly as written (WORKDIR = this checkout, the VOLUME = a home made by
 *   `civitas init`, `node` = the pinned Node 24), runs a node: the HEALTHCHECK command passes
 *   while it runs and fails once it is gone, GET /health answers, SIGTERM stops it with exit 0.
 * - compose.yaml's node services and civitas.service's ExecStart run the CMD's command line.
 * - deploy/init-network.sh (compose's init service) makes four homes from one genesis, each
 *   holding the validator key the genesis names for it, reachable by service name.
 * - civitas.service carries the restart, stop and hardening settings (and systemd-analyze
 *   verify accepts it where systemd-analyze exists).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { DEFAULT_MEMORY_BUDGET_MIB, heapFlags, NODE_ENV } from '../../../src/node/memory-budget.ts';
import { httpJson, waitUntil } from '../../helpers/http.ts';
import { NODE_BIN, REPO_ROOT, randomBasePort, runCli } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';
import {
  DEPLOY_DIR,
  execForm,
  finalStage,
  readCompose,
  readDockerfile,
  readUnit,
  unitValue,
  type Yaml,
} from './helpers/deploy-files.ts';

const run = promisify(execFile);

const docker = readDockerfile();
const workdir = finalStage(docker, 'WORKDIR')!.args;
const volumes = execForm(finalStage(docker, 'VOLUME')!.args, 'VOLUME');
const imageHome = volumes[0]!;
const cmd = execForm(finalStage(docker, 'CMD')!.args, 'CMD');
const healthcheck = finalStage(docker, 'HEALTHCHECK')!.args;
const healthcheckCmd = execForm(/\bCMD\s+(\[.*\])$/s.exec(healthcheck)![1]!, 'HEALTHCHECK CMD');

/**
 * The command after the Node binary: its flags, its script relative to the package root, the
 * rest with the home as HOME.
 */
function normalise(argv: readonly string[], cwd: string, root: string, home: string): string[] {
  const first = argv.slice(1).findIndex((a) => !a.startsWith('--'));
  const flags = argv.slice(1, 1 + first);
  const [script, ...rest] = argv.slice(1 + flags.length);
  const abs = posix.resolve(cwd, script!);
  assert.ok(abs.startsWith(`${root}/`), `${abs} is inside ${root}`);
  return [...flags, posix.relative(root, abs), ...rest.map((a) => (a === home ? 'HOME' : a))];
}

/** An argv of the image run on this machine: the pinned node, the home at `home`. */
function onThisMachine(argv: readonly string[], home: string): string[] {
  assert.equal(argv[0], 'node', 'the image runs node directly');
  return [NODE_BIN, ...argv.slice(1).map((a) => a.replaceAll(imageHome, home))];
}

function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of docker.filter((d) => d.stage === finalStage(docker, 'FROM')!.stage)) {
    if (i.op !== 'ENV') continue;
    const m = /^([A-Z_][A-Z0-9_]*)=(\S*)$/.exec(i.args);
    assert.ok(m, `ENV in KEY=value form: ${i.args}`);
    env[m[1]!] = m[2]!;
  }
  return env;
}

test('the Dockerfile: pinned multi-stage Node image, non-root, volume, healthcheck, exec-form CMD', () => {
  const froms = docker.filter((i) => i.op === 'FROM');
  assert.ok(froms.length >= 2, 'multi-stage');
  const majors = froms.map((f) => {
    const image = f.args.split(/\s+/)[0]!;
    // An official Node image pinned to a major version (a tag, never latest or untagged).
    const m = /^node:(\d+)(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?$/.exec(image);
    assert.ok(m, `base image pinned to a Node major: ${image}`);
    return Number(m[1]);
  });
  assert.equal(new Set(majors).size, 1, 'every stage on one Node major (native addons)');
  assert.ok(majors[0]! >= 24, 'Node >= 24 (type stripping)');

  const user = finalStage(docker, 'USER');
  assert.ok(user, 'USER set in the final stage');
  assert.ok(!/^(root|0)(:|$)/.test(user.args), `USER is not root: ${user.args}`);
  const userAt = docker.indexOf(user);
  assert.ok(
    docker.slice(userAt).every((i) => i.op !== 'RUN'),
    'nothing runs as root after USER',
  );
  assert.ok(posix.isAbsolute(imageHome), 'VOLUME names the home');
  assert.ok(/^\/[\w/.-]+$/.test(workdir), `WORKDIR absolute: ${workdir}`);

  assert.ok(healthcheck.includes('/health'), 'HEALTHCHECK asks GET /health');
  assert.match(healthcheck, /--timeout=\d+s/);
  assert.equal(healthcheckCmd[0], 'node', 'HEALTHCHECK needs no curl in the slim image');

  assert.equal(finalStage(docker, 'ENTRYPOINT'), undefined, 'no ENTRYPOINT wraps the CMD');
  assert.ok(!cmd.includes('npm') && !cmd.includes('npx'), 'the node runs without npm');
  // The node's environment and its V8 heap sized to the default memory budget
  // (node/memory-budget.ts), in the image and in the systemd unit.
  for (const [k, v] of Object.entries(NODE_ENV)) {
    assert.equal(imageEnv()[k], v, `the image sets ${k}`);
    const unitEnv = (readUnit().get('Service') ?? [])
      .filter(([key]) => key === 'Environment')
      .map(([, value]) => value);
    assert.ok(unitEnv.includes(`${k}=${v}`), `the unit sets ${k}`);
  }
  assert.deepEqual(cmd.slice(1), [
    ...heapFlags(DEFAULT_MEMORY_BUDGET_MIB),
    'src/cli/main.ts',
    'node',
    'start',
    '--home',
    imageHome,
  ]);
  const stop = finalStage(docker, 'STOPSIGNAL');
  assert.ok(stop === undefined || stop.args === 'SIGTERM', 'stopped with SIGTERM');

  // What the final stage copies from the build exists (build-info.json is written there),
  // and every top-level folder src/cli imports from is among it (civitas bench imports bench/).
  const copied = docker
    .filter((i) => i.op === 'COPY' && i.stage === froms.length - 1 && i.args.includes('--from='))
    .flatMap((i) => i.args.split(/\s+/).slice(1, -1))
    .map((p) => posix.relative('/app', p));
  for (const p of copied) {
    if (p === 'node_modules' || p === 'build-info.json') continue;
    assert.ok(existsSync(join(REPO_ROOT, p)), `copied path exists in the checkout: ${p}`);
  }
  assert.ok(copied.includes('build-info.json'), 'the build identity is copied');
  const cliDir = join(REPO_ROOT, 'src/cli');
  const imported = new Set<string>();
  for (const f of readdirSync(cliDir, { recursive: true }).map(String)) {
    if (!f.endsWith('.ts')) continue;
    const text = readFileSync(join(cliDir, f), 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = relative(REPO_ROOT, resolve(dirname(join(cliDir, f)), m[1]!));
      imported.add(target.split(sep)[0]!);
    }
  }
  assert.ok(imported.has('bench'), 'civitas bench imports bench/ (so the image needs it)');
  for (const top of imported) assert.ok(copied.includes(top), `the image has ${top}/`);
  assert.ok(copied.includes('src') && copied.includes('bin') && copied.includes('bench'));
});

test("the image's CMD runs a node from a `civitas init` home; HEALTHCHECK passes; SIGTERM stops it cleanly", async (t) => {
  const dir = await tempDir(t);
  const base = randomBasePort();
  const init = await runCli([
    'init',
    '--validators',
    '1',
    '--accounts',
    '1',
    '--dir',
    dir,
    '--base-port',
    String(base),
  ]);
  assert.equal(init.code, 0, init.stderr);
  const home = join(dir, 'node0');
  const api = `http://127.0.0.1:${base + 1}`;

  const health = onThisMachine(healthcheckCmd, home);
  const probe = async () => {
    const r = await run(health[0]!, health.slice(1), { cwd: REPO_ROOT }).then(
      () => 0,
      (e: { code?: number }) => e.code ?? -1,
    );
    return r;
  };
  assert.equal(await probe(), 1, 'HEALTHCHECK fails while no node runs');

  const argv = onThisMachine(cmd, home);
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: REPO_ROOT, // WORKDIR: the package root
    env: { ...process.env, ...imageEnv() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdout.resume();
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  await waitUntil(
    async () => (await fetch(`${api}/health`).catch(() => undefined))?.status === 200,
    'GET /health from the node the CMD started',
    20_000,
  );
  const body = await httpJson(`${api}/health`);
  assert.deepEqual(body.body, { status: 'ok' });
  assert.equal(await probe(), 0, 'HEALTHCHECK passes while the node runs');
  const status = await httpJson<{ height: number; moniker: string }>(`${api}/status`);
  assert.equal(status.body.moniker, 'node0');

  const stopAt = Date.now();
  child.kill('SIGTERM');
  const end = await Promise.race([
    exited,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000)),
  ]);
  assert.ok(end, 'the node stopped within 15 s of SIGTERM');
  assert.deepEqual(end, { code: 0, signal: null }, `clean exit; stderr:\n${stderr}`);
  assert.ok(!/\n\s+at .+:\d+:\d+/.test(stderr), `no stack trace; stderr:\n${stderr}`);
  t.diagnostic(`stopped ${Date.now() - stopAt} ms after SIGTERM`);
  assert.equal(await probe(), 1, 'HEALTHCHECK fails once the node is gone');
});

function commandOf(service: Yaml, name: string): string[] {
  assert.ok(service && typeof service === 'object' && !Array.isArray(service), name);
  const c = service.command;
  assert.ok(Array.isArray(c) && c.every((a) => typeof a === 'string'), `${name}: list command`);
  return c as string[];
}

test('compose.yaml and civitas.service run the same command line as the image', () => {
  const compose = readCompose();
  const services = compose.services as Record<string, Yaml>;
  const nodes = Object.keys(services).filter((n) => /^node\d+$/.test(n));
  assert.deepEqual(nodes, ['node0', 'node1', 'node2', 'node3'], 'four validators');

  const image = normalise(cmd, workdir, workdir, imageHome);
  const seenVolumes = new Set<string>();
  for (const name of nodes) {
    const svc = services[name] as Record<string, Yaml>;
    assert.deepEqual(commandOf(svc, name), cmd, `${name} runs the image's CMD`);
    const vols = svc.volumes as string[];
    const home = vols.find((v) => v.endsWith(`:${imageHome}`));
    assert.ok(home, `${name} mounts a volume at ${imageHome}`);
    seenVolumes.add(home.split(':')[0]!);
    assert.equal(svc.stop_signal ?? 'SIGTERM', 'SIGTERM');
    assert.equal(
      (svc.depends_on as Record<string, Record<string, string>>).init!.condition,
      'service_completed_successfully',
    );
    for (const p of svc.ports as string[])
      assert.match(p, /^127\.0\.0\.1:\d+:26601$/, `${name}: the API published on loopback only`);
  }
  assert.equal(seenVolumes.size, 4, 'one home volume per validator');

  // The init service writes each of those volumes with the script that exists in deploy/.
  const init = services.init as Record<string, Yaml>;
  const initCmd = commandOf(init, 'init');
  assert.ok(existsSync(join(REPO_ROOT, initCmd.at(-1)!)), `${initCmd.at(-1)} exists`);
  const homes = (init.environment as Record<string, string>).CIVITAS_HOMES;
  for (const v of seenVolumes) {
    assert.ok((init.volumes as string[]).includes(`${v}:${homes}/${v}`), `init writes ${v}`);
  }
  for (const v of [...seenVolumes, 'keys'])
    assert.ok(v in (compose.volumes as Record<string, Yaml>), `volume ${v} declared`);

  // systemd: ExecStart is the same command with its own paths.
  const unit = readUnit();
  const exec = unitValue(unit, 'Service', 'ExecStart')!.split(/\s+/);
  assert.ok(posix.isAbsolute(exec[0]!) && posix.basename(exec[0]!) === 'node', 'absolute node');
  const cwd = unitValue(unit, 'Service', 'WorkingDirectory')!;
  const stateHome = `/var/lib/${unitValue(unit, 'Service', 'StateDirectory')}`;
  assert.deepEqual(normalise(exec, cwd, cwd, stateHome), image, 'ExecStart = the image CMD');
  assert.equal(exec.at(-1), stateHome, 'the home is the StateDirectory');
});

test('civitas.service: restart, stop and hardening settings', async () => {
  const unit = readUnit();
  const v = (k: string) => unitValue(unit, 'Service', k);
  assert.equal(v('Restart'), 'on-failure');
  assert.equal(v('KillSignal'), 'SIGTERM');
  assert.match(v('TimeoutStopSec') ?? '', /^\d+s?$/);
  assert.ok(v('User') && v('User') !== 'root' && v('User') !== '0', 'an unprivileged user');
  for (const [k, want] of [
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['PrivateDevices', 'yes'],
    ['RestrictSUIDSGID', 'yes'],
    ['StateDirectoryMode', '0700'],
  ] as const) {
    assert.equal(v(k), want, k);
  }
  // V8's JIT needs writable+executable memory; libp2p needs IP sockets.
  assert.notEqual(v('MemoryDenyWriteExecute'), 'yes', 'MemoryDenyWriteExecute breaks Node');
  const families = (v('RestrictAddressFamilies') ?? '').split(/\s+/);
  assert.ok(families.includes('AF_INET') && families.includes('AF_INET6'), 'IP sockets allowed');
  assert.equal(v('CapabilityBoundingSet'), '', 'no capabilities');
  assert.ok(unitValue(unit, 'Install', 'WantedBy'));

  // systemd's own parser, where it exists (it does on this machine).
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
  if (analyze !== undefined) {
    const r = await run(analyze, ['verify', join(DEPLOY_DIR, 'civitas.service')]).then(
      (o) => ({ code: 0, out: o.stdout + o.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        out: e.stdout + e.stderr,
      }),
    );
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), '', `systemd-analyze verify warns:\n${r.out}`);
  }
});

test("compose's init script makes four homes from one genesis, each with its own validator key", async (t) => {
  const dir = await tempDir(t);
  const homes = join(dir, 'homes');
  const keys = join(dir, 'keys');
  const env = {
    ...process.env,
    PATH: `${join(REPO_ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
    CIVITAS_HOMES: homes,
    CIVITAS_KEYS: keys,
    CIVITAS_OWNER: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
  };
  const script = join(DEPLOY_DIR, 'init-network.sh');
  await run('sh', [script], { cwd: REPO_ROOT, env, timeout: 60_000 });

  const genesis = await readFile(join(homes, 'node0', 'genesis.json'), 'utf8');
  const network = JSON.parse(await readFile(join(keys, 'network.json'), 'utf8')) as {
    members: Array<{ name: string; validatorKey: string; peerId: string }>;
  };
  assert.deepEqual(
    network.members.map((m) => m.name),
    ['node0', 'node1', 'node2', 'node3'],
  );
  for (const [i, m] of network.members.entries()) {
    const home = join(homes, m.name);
    assert.equal(await readFile(join(home, 'genesis.json'), 'utf8'), genesis, 'one genesis');
    const keyFile = join(home, 'validator-key.json');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, `${m.name}: key mode 0600`);
    const shown = await runCli(['keys', 'show', '--key', keyFile, '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(
      (JSON.parse(shown.stdout) as { publicKey: string }).publicKey,
      m.validatorKey,
      `${m.name} holds the key the genesis names for it`,
    );
    const config = JSON.parse(await readFile(join(home, 'config.json'), 'utf8')) as {
      rpc: { listen: string };
      p2p: { listen: string[]; bootstrap: string[] };
    };
    assert.equal(config.rpc.listen, '0.0.0.0:26601', 'the API reachable through the port map');
    assert.deepEqual(config.p2p.listen, ['/ip4/0.0.0.0/tcp/26600']);
    const others = network.members.filter((_, j) => j !== i);
    assert.deepEqual(
      config.p2p.bootstrap,
      others.map((o) => `/dns4/${o.name}/tcp/26600/p2p/${o.peerId}`),
      'peers by compose service name',
    );
    assert.ok(existsSync(join(keys, `${m.name}-admin.json`)), 'admin key kept');
  }

  // Run again (every `docker compose up` does): nothing changes.
  const before = await readFile(join(homes, 'node2', 'validator-key.json'), 'utf8');
  const again = await run('sh', [script], { cwd: REPO_ROOT, env, timeout: 30_000 });
  assert.match(again.stdout, /nothing to do/);
  assert.equal(await readFile(join(homes, 'node2', 'validator-key.json'), 'utf8'), before);
});
