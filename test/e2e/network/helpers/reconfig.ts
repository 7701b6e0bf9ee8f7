/**
 * Validator-set changes for the reconfiguration scenarios: governance and readiness txs signed
 * and submitted in-process (a CLI call costs a process, ~1 s, and S blocks are ~2 s here),
 * nodes outside the genesis set (observer homes made by initObserver, run as real processes
 * with their output in `<home>/node.log`, killed when the test ends), and the light client's
 * view of the certified change log.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ReceiptJson } from '../../../../src/chain/json.ts';
import {
  addressOf,
  type BatchOp,
  batch,
  CivitasClient,
  formatAddress,
  generateKeyPair,
  genesisFromJson,
  genesisValidatorSet,
  type KeyPair,
  loadKeyFile,
  saveKeyFile,
  sign,
  type TrustedValidatorChanges,
  toHex,
  verifyValidatorChanges,
} from '../../../../src/client/index.ts';
import { randomBasePort } from '../../../../src/localnet/manifest.ts';
import { FAULT_INJECTION_ENV } from '../../../../src/node/fault-injection.ts';
import { initObserver } from '../../../../src/node/home.ts';
import { type TestNetwork, waitFor } from './test-network.ts';

const CLI_MAIN = fileURLToPath(new URL('../../../../src/cli/main.ts', import.meta.url));
const TX_TIMEOUT_MS = 30_000;

/** A committed tx's receipt, with the height of its block. */
export interface Committed {
  readonly height: number;
  readonly receipt: ReceiptJson;
}

export function event(r: Committed, type: string): Record<string, string> | undefined {
  return r.receipt.events.find((e) => e.type === type)?.attributes;
}

/**
 * Signs and submits txs to one node of the network (`via`, changeable when that node goes
 * down), each with its sender's committed nonce, and runs governance: four organisations, three of four
 * votes decide (⌊2·4/3⌋+1).
 */
export class Consortium {
  readonly network: TestNetwork;
  /** The node txs are sent to: a node of the network by index, or any node's API URL. */
  via: number | string = 0;
  private admins: KeyPair[] = [];

  private constructor(network: TestNetwork) {
    this.network = network;
  }

  static async open(network: TestNetwork): Promise<Consortium> {
    const c = new Consortium(network);
    c.admins = await Promise.all(
      network.summary.organisations.map((o) => loadKeyFile(o.admin.file)),
    );
    return c;
  }

  client(): CivitasClient {
    const url = typeof this.via === 'string' ? this.via : this.network.local.rpc(this.via);
    return new CivitasClient(url, {
      timeoutMs: TX_TIMEOUT_MS + 10_000,
    });
  }

  async height(): Promise<number> {
    return (await this.client().status()).height;
  }

  /** One tx of `ops` from `keys`, waited for; its receipt (failed or not) and block height. */
  async tx(keys: KeyPair, ops: readonly BatchOp[]): Promise<Committed> {
    const client = this.client();
    // The committed nonce, read each time: txs of one sender here are sequential, and a tx
    // that fails leaves the sender's nonce as it was (docs/GOVERNANCE.md, atomic ops).
    const nonce = (await client.account(formatAddress(addressOf(keys.publicKey)))).nonce;
    const tip = (await client.status()).height;
    const tx = sign(
      batch({
        chainId: this.network.chainId,
        keys,
        nonce,
        expiryHeight: tip + 1_000,
        ops,
      }),
      keys,
    );
    const res = await client.submit(tx, { wait: true, timeoutMs: TX_TIMEOUT_MS });
    assert.equal(res.status, 'committed', `tx ${res.hash} was not committed in time`);
    assert.ok(res.status === 'committed' && res.receipt !== null);
    return { height: res.height, receipt: res.receipt };
  }

  /** A proposal by admin `by`; its receipt (a refused proposal fails with its code). */
  async propose(actions: readonly BatchOp[], by = 0): Promise<Committed & { id: number }> {
    const expiresAtHeight = (await this.height()) + 500;
    const r = await this.tx(this.admins[by]!, [
      { call: 'gov.propose', args: { actions, expiresAtHeight } },
    ]);
    return { ...r, id: Number(event(r, 'gov.proposed')?.id ?? 0) };
  }

  /**
   * Votes `id` through with admins 1, 2 and 3 at once (admin 0 proposes); the receipt of
   * the deciding vote (gov.passed, or gov.failed naming the action's code).
   */
  async approve(id: number, voters: readonly number[] = [1, 2, 3]): Promise<Committed> {
    const votes = await Promise.all(
      voters.map((v) => this.tx(this.admins[v]!, [{ call: 'gov.vote', args: { id } }])),
    );
    for (const v of votes) assert.equal(v.receipt.status, 'ok', JSON.stringify(v.receipt));
    const deciding = votes.find(
      (v) => event(v, 'gov.passed') !== undefined || event(v, 'gov.failed') !== undefined,
    );
    assert.ok(deciding, `no vote decided proposal ${id}: ${JSON.stringify(votes)}`);
    return deciding;
  }

  /** Propose `action` and vote it through: the deciding vote's receipt. */
  async decide(action: BatchOp): Promise<Committed> {
    const p = await this.propose([action]);
    assert.equal(p.receipt.status, 'ok', JSON.stringify(p.receipt));
    return this.approve(p.id);
  }

  /** Like decide, and asserts it passed; the height the change applies from. */
  async change(action: BatchOp, eventType: string): Promise<number> {
    const r = await this.decide(action);
    assert.ok(event(r, 'gov.passed'), `${action.call} did not pass: ${JSON.stringify(r.receipt)}`);
    const from = Number(event(r, eventType)?.fromHeight);
    assert.equal(from, r.height + 1, JSON.stringify(r.receipt));
    return from;
  }

  /**
   * validators.ready signed by `keys`, naming the latest block of the running network node
   * furthest ahead (a lagging node's tip could be more than S blocks old when the tx runs).
   */
  async ready(keys: KeyPair): Promise<Committed> {
    const running = Array.from({ length: this.network.size }, (_, i) => i).filter((i) =>
      this.network.isRunning(i),
    );
    const statuses = (await Promise.all(running.map((i) => this.network.status(i)))).filter(
      (s) => s !== undefined,
    );
    const status = statuses.reduce((a, b) => (b.height > a.height ? b : a));
    const r = await this.tx(keys, [
      {
        call: 'validators.ready',
        args: { publicKey: toHex(keys.publicKey), recentBlockHash: status.latestBlockHash },
      },
    ]);
    assert.equal(r.receipt.status, 'ok', JSON.stringify(r.receipt));
    return r;
  }

  /** Waits until the chain is `spacing` blocks past the change applied from `from`. */
  async waitSpacing(from: number, spacing: number, nodes: readonly number[]): Promise<void> {
    await this.network.waitForHeight(nodes, from - 1 + spacing, 60_000);
  }
}

/** The validator keys (hex) of node i's set at `height` (the next height's set by default). */
export async function validatorsOf(
  network: TestNetwork,
  i: number,
  height?: number,
): Promise<string[]> {
  const res = await network.get<{ validators: Array<{ publicKey: string }> }>(
    i,
    height === undefined ? '/validators' : `/validators?height=${height}`,
  );
  assert.equal(res?.status, 200, `node${i} /validators: ${JSON.stringify(res?.body)}`);
  return res!.body.validators.map((v) => v.publicKey);
}

/**
 * What a light client holding only the genesis file trusts after following node i's change
 * log (each change checked against the set before it).
 */
export async function lightClientChanges(
  network: TestNetwork,
  url: string,
): Promise<{
  chainId: string;
  genesisSet: ReturnType<typeof genesisValidatorSet>;
  changes: TrustedValidatorChanges;
}> {
  const genesis = genesisFromJson(JSON.parse(await readFile(network.summary.genesis, 'utf8')));
  const genesisSet = genesisValidatorSet(genesis);
  const changes = verifyValidatorChanges(
    { chainId: genesis.chainId, validators: genesisSet },
    await new CivitasClient(url).validatorChanges(),
  );
  return { chainId: genesis.chainId, genesisSet, changes };
}

/**
 * A node outside the genesis set: its own key, an observer home (initObserver, with the test
 * network's consensus timings so it keeps pace once it validates), run as a real process.
 */
export class ExtraNode {
  readonly name: string;
  readonly keys: KeyPair;
  readonly home: string;
  readonly rpc: string;
  readonly p2p: string;
  private readonly t: TestContext;
  private readonly env: Record<string, string>;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  private constructor(
    t: TestContext,
    parts: {
      name: string;
      keys: KeyPair;
      home: string;
      rpc: string;
      p2p: string;
      env: Record<string, string>;
    },
  ) {
    this.t = t;
    this.name = parts.name;
    this.keys = parts.keys;
    this.home = parts.home;
    this.rpc = parts.rpc;
    this.p2p = parts.p2p;
    this.env = parts.env;
  }

  get publicKey(): string {
    return toHex(this.keys.publicKey);
  }

  /** Makes the key and the home; `bootstrap` defaults to every genesis validator. */
  static async create(
    t: TestContext,
    network: TestNetwork,
    opts: { name: string; bootstrap?: readonly string[]; faultInjection?: boolean; port?: number },
  ): Promise<ExtraNode> {
    const keys = generateKeyPair();
    const keyFile = join(network.summary.dir, `${opts.name}-key.json`);
    await saveKeyFile(keyFile, keys);
    const port = opts.port ?? (await freePortPair());
    const home = join(network.summary.dir, opts.name);
    const made = await initObserver({
      dir: home,
      genesis: network.summary.genesis,
      key: keyFile,
      bootstrap: [...(opts.bootstrap ?? network.summary.nodes.map((n) => n.p2p))],
      p2pHost: '127.0.0.1',
      p2pPort: port,
      rpcPort: port + 1,
    });
    const config = JSON.parse(await readFile(made.config, 'utf8')) as Record<string, unknown>;
    config.consensus = { ...(config.consensus as object), ...network.consensus };
    await writeFile(made.config, `${JSON.stringify(config, null, 2)}\n`);
    return new ExtraNode(t, {
      name: opts.name,
      keys,
      home,
      rpc: made.rpc,
      p2p: `/ip4/127.0.0.1/tcp/${port}/p2p/${made.peerId}`,
      env: opts.faultInjection ? { [FAULT_INJECTION_ENV]: '1' } : {},
    });
  }

  get logPath(): string {
    return join(this.home, 'node.log');
  }

  isRunning(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** Starts the node (output appended to its log) and waits until its API answers. */
  async start(): Promise<void> {
    assert.ok(!this.isRunning(), `${this.name} is already running`);
    const fd = openSync(this.logPath, 'a');
    try {
      this.child = spawn(process.execPath, [CLI_MAIN, 'node', 'start', '--home', this.home], {
        env: { ...process.env, CIVITAS_DEBUG: '', ...this.env },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.t.after(() => this.stop('SIGKILL'));
    await waitFor(
      async () => {
        if (!this.isRunning()) {
          const log = await readFile(this.logPath, 'utf8').catch(() => '');
          throw new Error(`${this.name} exited at start:\n${log.slice(-3_000)}`);
        }
        return (await this.status()) ?? undefined;
      },
      `${this.name} to answer /status`,
      60_000,
      200,
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.isRunning()) return;
    this.child!.kill(signal);
    await this.exited;
  }

  async status(): Promise<{ height: number; latestBlockHash: string } | undefined> {
    try {
      const res = await fetch(`${this.rpc}/status`, { signal: AbortSignal.timeout(5_000) });
      return res.ok
        ? ((await res.json()) as { height: number; latestBlockHash: string })
        : undefined;
    } catch {
      return undefined;
    }
  }

  async height(): Promise<number> {
    return (await this.status())?.height ?? -1;
  }

  async waitForHeight(height: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => ((await this.height()) >= height ? true : undefined),
      `${this.name} to reach height ${height}`,
      timeoutMs,
    );
  }

  async blockHash(height: number): Promise<string> {
    const res = await fetch(`${this.rpc}/blocks/${height}`, {
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(res.status, 200, `${this.name} GET /blocks/${height}`);
    return ((await res.json()) as { hash: string }).hash;
  }

  /** POST /admin/faults (the node runs with fault injection). */
  async setFaults(body: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.rpc}/admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const json = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200, `${this.name} POST /admin/faults: ${JSON.stringify(json)}`);
    return json;
  }

  async logText(): Promise<string> {
    return readFile(this.logPath, 'utf8').catch(() => '');
  }
}

/** Asserts `extra` holds the same blocks as network node `i` at heights from..to. */
export async function assertSameBlocks(
  network: TestNetwork,
  i: number,
  extra: ExtraNode,
  from: number,
  to: number,
): Promise<void> {
  for (let h = from; h <= to; h++) {
    assert.equal(
      await extra.blockHash(h),
      await network.blockHash(i, h),
      `block ${h}: ${extra.name} vs node${i}`,
    );
  }
}

/** The sum of a Prometheus counter on node i, over the series whose labels contain `labels`. */
export async function counter(
  network: TestNetwork,
  i: number,
  name: string,
  labels = '',
): Promise<number> {
  const res = await fetch(`${network.local.rpc(i)}/metrics`, {
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(res.status, 200, `node${i} /metrics`);
  let sum = 0;
  for (const line of (await res.text()).split('\n')) {
    if (!line.startsWith(name) || !line.includes(labels)) continue;
    const [series, value] = line.split(' ');
    if (series === name || series!.startsWith(`${name}{`)) sum += Number(value);
  }
  return sum;
}

/** Whether nothing listens on `port` of 127.0.0.1 now (bound, then released). */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Two free ports (p2p, API) below Linux's ephemeral range, where outgoing connections take
 * theirs (a random port above 32768 once collided with one: EADDRINUSE at start).
 */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = randomBasePort(2);
    if ((await isFree(port)) && (await isFree(port + 1))) return port;
  }
}
