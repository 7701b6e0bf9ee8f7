import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SealedBlock } from '../../../src/chain/block.ts';
import type { CommitCertificate } from '../../../src/chain/certificate.ts';
import { ConsensusDriver, type ConsensusWal, type Timers } from '../../../src/consensus/driver.ts';
import { decodeMessage, encodeMessage } from '../../../src/consensus/messages.ts';
import { primaryIndex } from '../../../src/consensus/proofs.ts';
import {
  buildSimBlock,
  genesisParent,
  type ParentInfo,
  parentOf,
  validateSimBlock,
} from '../../../src/consensus/sim/sim-chain.ts';
import type { WalEntry } from '../../../src/consensus/wal.ts';
import { equalBytes, toHex } from '../../../src/crypto/bytes.ts';
import { CHAIN_ID, Cluster } from './harness.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A WAL whose appends take a turn of the event loop, like a synced disk write. */
class MemoryWal implements ConsensusWal {
  entries: WalEntry[] = [];
  failNext = false;
  async append(entries: readonly WalEntry[]): Promise<void> {
    await tick();
    if (this.failNext) throw new Error('disk full');
    this.entries.push(...entries);
  }
  async load(): Promise<WalEntry[]> {
    return [...this.entries];
  }
  async truncateBelow(height: number): Promise<void> {
    this.entries = this.entries.filter(
      (e) => (e.kind === 'signed' ? e.message.height : e.height) >= height,
    );
  }
}

/** Timers that fire only when the test says so. */
class ManualTimers implements Timers {
  pending = new Set<() => void>();
  set(_ms: number, fn: () => void): () => void {
    this.pending.add(fn);
    return () => this.pending.delete(fn);
  }
  fireAll(): void {
    const fns = [...this.pending];
    this.pending.clear();
    for (const fn of fns) fn();
  }
}

interface Node {
  driver: ConsensusDriver;
  wal: MemoryWal;
  timers: ManualTimers;
  chain: Array<{ block: SealedBlock; certificate: CommitCertificate }>;
  muted: boolean;
  /** Broadcasts whose message was not yet durable in the WAL when sent. */
  unpersistedSends: number;
  broadcasts: number;
}

function network(n: number, opts: { maxQueuedMessages?: number } = {}) {
  const c = new Cluster(n);
  const nodes: Node[] = [];
  const parent = (node: Node): ParentInfo => {
    const tip = node.chain.at(-1);
    return tip === undefined ? genesisParent(c.ctx) : parentOf(tip.block);
  };
  const makeNode = (i: number, wal = new MemoryWal(), chain: Node['chain'] = []): Node => {
    const timers = new ManualTimers();
    const node = { wal, timers, chain, muted: false, unpersistedSends: 0, broadcasts: 0 } as Node;
    node.driver = new ConsensusDriver(
      {
        engine: {
          chainId: CHAIN_ID,
          publicKey: c.keys[i]!.publicKey,
          validatorsAt: () => c.validators,
          clock: () => 0,
          sign: c.keys[i]!.sign,
          verify: c.ctx.verify,
          timeouts: { baseMs: 100, maxMs: 800, retransmitMs: 0 },
        },
        ...(opts.maxQueuedMessages !== undefined
          ? { maxQueuedMessages: opts.maxQueuedMessages }
          : {}),
      },
      {
        network: {
          broadcast: (bytes) => {
            node.broadcasts++;
            const m = decodeMessage(bytes);
            const durable = node.wal.entries.some(
              (e) => e.kind === 'signed' && equalBytes(encodeMessage(e.message), bytes),
            );
            if (!durable) node.unpersistedSends++;
            if (node.muted) return;
            for (const other of nodes) {
              if (other !== node) setImmediate(() => other.driver.deliver(bytes));
            }
            void m;
          },
        },
        wal,
        timers,
        app: {
          buildProposal: async (height, _view, lastCommit) => {
            await tick();
            assert.equal(height, node.chain.length + 1);
            return buildSimBlock(c.ctx, {
              parent: parent(node),
              proposer: c.keys[i]!.publicKey,
              lastCommit,
              salt: height * 10 + i,
            });
          },
          validateProposal: async (block) => {
            await tick();
            return validateSimBlock(c.ctx, block, parent(node)) === null;
          },
          commit: async (block, certificate) => {
            await tick();
            node.chain.push({ block, certificate });
          },
        },
      },
    );
    return node;
  };
  for (let i = 0; i < n; i++) nodes.push(makeNode(i));
  return { c, nodes, makeNode };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    if (cond()) return;
    await tick();
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('consensus driver', () => {
  it('drives four replicas to the same blocks, persisting every message before sending it', async () => {
    const { nodes } = network(4);
    await Promise.all(nodes.map((node) => node.driver.start(1, null)));
    await until(() => nodes.every((node) => node.chain.length >= 3), 'three blocks everywhere');
    for (let h = 0; h < 3; h++) {
      const hash = toHex(nodes[0]!.chain[h]!.block.hash);
      for (const node of nodes) assert.equal(toHex(node.chain[h]!.block.hash), hash);
    }
    for (const node of nodes) {
      assert.ok(node.broadcasts > 0);
      assert.equal(node.unpersistedSends, 0);
    }
    const status = nodes[0]!.driver.status();
    assert.ok(status.height >= 4 && status.committedBlocks >= 3);
    assert.equal(status.primary, primaryIndex(status.height, status.view, 4));
    // The WAL keeps nothing below the committed height.
    const committed = nodes[0]!.chain.length;
    await nodes[0]!.driver.idle();
    assert.ok(
      nodes[0]!.wal.entries.every(
        (e) => (e.kind === 'signed' ? e.message.height : e.height) > committed - 1,
      ),
    );
    await Promise.all(nodes.map((node) => node.driver.stop()));
  });

  it('changes view when the primary is silent, on timer expiry', async () => {
    const { nodes } = network(4);
    const silent = primaryIndex(1, 0, 4);
    nodes[silent]!.muted = true;
    await Promise.all(nodes.map((node) => node.driver.start(1, null)));
    for (let k = 0; k < 50; k++) await tick();
    assert.ok(nodes.every((node) => node.chain.length === 0));
    for (const node of nodes) node.timers.fireAll();
    await until(
      () => nodes.every((node, i) => i === silent || node.chain.length >= 1),
      'view 1 commit',
    );
    assert.equal(nodes[(silent + 1) % 4]!.chain[0]!.certificate.view, 1);
    assert.ok(nodes[(silent + 1) % 4]!.driver.status().viewChanges >= 1);
    await Promise.all(nodes.map((node) => node.driver.stop()));
  });

  it('expires a pending view timer early only for its exact round, once', async () => {
    const { nodes } = network(4);
    const silent = primaryIndex(1, 0, 4);
    nodes[silent]!.muted = true;
    await Promise.all(nodes.map((node) => node.driver.start(1, null)));
    for (let k = 0; k < 50; k++) await tick();
    for (const [i, node] of nodes.entries()) {
      if (i === silent) continue;
      assert.equal(node.timers.pending.size, 1, 'the view timer of (1, 0) is pending');
      assert.equal(node.driver.expireViewTimer(1, 1), false, 'another view');
      assert.equal(node.driver.expireViewTimer(2, 0), false, 'another height');
      assert.equal(node.timers.pending.size, 1);
      assert.equal(node.driver.expireViewTimer(1, 0), true);
      assert.equal(node.timers.pending.size, 0, 'the scheduled timer is cancelled');
      assert.equal(node.driver.expireViewTimer(1, 0), false, 'fires once');
    }
    await until(
      () => nodes.every((node, i) => i === silent || node.chain.length >= 1),
      'view 1 commit after the early expiry',
    );
    const certificate = nodes[(silent + 1) % 4]!.chain[0]!.certificate;
    assert.equal(certificate.view, 1);
    await Promise.all(nodes.map((node) => node.driver.stop()));
    assert.equal(nodes[0]!.driver.expireViewTimer(2, 0), false, 'a stopped driver fires nothing');
  });

  it('restarts from its WAL and re-sends what it signed instead of signing anew', async () => {
    const { nodes, makeNode } = network(4);
    const primary = primaryIndex(1, 0, 4);
    for (const node of nodes) node.muted = true;
    await Promise.all(nodes.map((node) => node.driver.start(1, null)));
    await until(() => nodes[primary]!.wal.entries.length > 0, 'a proposal in the WAL');
    await nodes[primary]!.driver.idle();
    const firstProposal = nodes[primary]!.wal.entries[0]!;
    await nodes[primary]!.driver.stop();
    const restarted = makeNode(primary, nodes[primary]!.wal);
    restarted.muted = true;
    await restarted.driver.start(1, null);
    await restarted.driver.idle();
    assert.equal(restarted.broadcasts, 1, 'the restored PRE-PREPARE is re-sent');
    assert.equal(restarted.wal.entries.length, 1, 'nothing new was signed');
    assert.ok(firstProposal.kind === 'signed' && firstProposal.message.type === 'pre-prepare');
  });

  it('stops on a failed durable write and sends nothing after it', async () => {
    const { nodes } = network(4);
    const primary = primaryIndex(1, 0, 4);
    nodes[primary]!.wal.failNext = true;
    await nodes[primary]!.driver.start(1, null).catch(() => {});
    await assert.rejects(async () => {
      for (let k = 0; k < 100; k++) await tick();
      await nodes[primary]!.driver.idle();
    }, /disk full/);
    assert.equal(nodes[primary]!.broadcasts, 0);
  });

  it('bounds its inbound queue', async () => {
    const { nodes } = network(4, { maxQueuedMessages: 3 });
    const node = nodes[0]!;
    await node.driver.start(1, null);
    for (let k = 0; k < 50; k++) node.driver.deliver(new Uint8Array([1, 2, 3]));
    assert.ok(node.driver.status().droppedMessages >= 40);
    await node.driver.stop();
  });
});
