/**
 * HotStuffConsensus in the node (src/node/hotstuff-consensus.ts): four validators of a chain
 * whose genesis names `consensus.protocol: "hotstuff"`, each a CivitasNode in this process with
 * its own LevelDB, talking real libp2p on 127.0.0.1. Transfers posted to every node commit,
 * every node reports the HotStuff engine and holds the same blocks, and the WAL entries the
 * nodes leave carry HotStuff's protocol byte.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { civitasApp } from '../../../src/app/registry.ts';
import { addressOf, encodeTx, makeTx, type Tx } from '../../../src/chain/index.ts';
import { WAL_PROTOCOL_BYTE } from '../../../src/consensus/wal.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import type { KeyPair } from '../../../src/crypto/ed25519.ts';
import { loadKeyFile } from '../../../src/crypto/keyfile.ts';
import { type InitSummary, initNetwork } from '../../../src/node/home.ts';
import { silentLogger } from '../../../src/node/logger.ts';
import { CivitasNode } from '../../../src/node/node.ts';
import { httpJson } from '../../helpers/http.ts';
import { randomBasePort } from '../../helpers/process.ts';
import { suiteScope, tempDir } from '../../helpers/temp.ts';

const N = 4;
const TXS_PER_ACCOUNT = 4;

function transfer(chainId: string, from: KeyPair, nonce: number, to: Uint8Array): Tx {
  const impl = civitasApp().method('bank', 'transfer')!;
  const args = impl.args.encode(impl.args.fromJson({ to: toHex(to), amount: '1' }));
  return makeTx(
    {
      chainId,
      sender: from.publicKey,
      nonce,
      expiryHeight: 1_000_000,
      ops: [{ module: 'bank', method: 'transfer', args }],
      cosigners: [],
    },
    from.secretKey,
  );
}

async function until<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('four HotStuff validators in one process over libp2p', () => {
  const scope = suiteScope();
  let summary: InitSummary;
  const nodes: CivitasNode[] = [];

  before(async () => {
    const dir = await tempDir(scope, 'civitas-hotstuff-');
    summary = await initNetwork({
      dir: join(dir, 'net'),
      validators: N,
      accounts: 2,
      basePort: randomBasePort(),
      protocol: 'hotstuff',
      configOverrides: { consensus: { timeoutMs: 2_000, blockIntervalMs: 20 } },
    });
    const started = await Promise.all(
      summary.nodes.map((n) =>
        CivitasNode.start(n.home, {
          rpcListen: '127.0.0.1:0',
          logger: silentLogger,
          verifyWorkers: 0,
        }),
      ),
    );
    nodes.push(...started);
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await scope.run();
  });

  test('the genesis names HotStuff and every node runs it', () => {
    assert.equal(nodes[0]!.genesis.consensus?.protocol, 'hotstuff');
    for (const node of nodes) assert.equal(node.consensusStatus().engine, 'hotstuff');
  });

  test('transfers posted to every node commit, and all nodes hold the same blocks', async () => {
    const accounts = await Promise.all(summary.accounts.map((a) => loadKeyFile(a.file)));
    const sink = addressOf(accounts[0]!.publicKey);
    const posts: Array<Promise<{ status: number; body: Record<string, unknown> }>> = [];
    let k = 0;
    for (let nonce = 0; nonce < TXS_PER_ACCOUNT; nonce++) {
      for (const from of accounts) {
        const tx = transfer(summary.chainId, from, nonce, sink);
        const node = nodes[k++ % N]!;
        posts.push(
          httpJson(`${node.rpcUrl}/txs?wait=commit&timeoutMs=30000`, {
            method: 'POST',
            body: JSON.stringify({ tx: toHex(encodeTx(tx)) }),
            headers: { 'content-type': 'application/json' },
          }),
        );
      }
    }
    for (const res of await Promise.all(posts)) {
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.status, 'committed', JSON.stringify(res.body));
    }
    const top = Math.max(...nodes.map((n) => n.ledger.height));
    await until(`every node at height ${top}`, 30_000, () =>
      nodes.every((n) => n.ledger.height >= top) ? true : undefined,
    );
    let txs = 0;
    for (let h = 1; h <= top; h++) {
      const blocks = await Promise.all(nodes.map((n) => n.ledger.store.getBlock(h)));
      const hashes = new Set(blocks.map((b) => toHex(b!.hash)));
      assert.equal(hashes.size, 1, `height ${h}: the same block on every node`);
      txs += blocks[0]!.txs.length;
    }
    assert.equal(txs, TXS_PER_ACCOUNT * accounts.length, 'every transfer in exactly one block');
  });

  test("the WAL holds HotStuff's entries only", async () => {
    // Between heights a WAL may be empty (truncated at each commit): look until one is not.
    const deadline = Date.now() + 20_000;
    let seen = 0;
    while (seen === 0 && Date.now() < deadline) {
      for (const node of nodes) {
        for await (const [, value] of node.ledger.store.wal.iterator()) {
          assert.equal(value[0], WAL_PROTOCOL_BYTE.hotstuff);
          seen++;
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(seen > 0, 'a node deciding a height has its entries in its WAL');
  });
});
