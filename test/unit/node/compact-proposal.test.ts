import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parseNodeTimings } from '../../../bench/cluster/run.ts';
import {
  computeTxRoot,
  decodeBlock,
  lastCommitHashOf,
  type SealedBlock,
  sealBlock,
  ZERO_HASH,
} from '../../../src/chain/block.ts';
import { blockTimeOf } from '../../../src/chain/block-time.ts';
import type { CommitCertificate } from '../../../src/chain/certificate.ts';
import {
  assembleTx,
  decodeTx,
  encodeTx,
  type Tx,
  txHashOfBytes,
  unsignedTxV1,
} from '../../../src/chain/tx.ts';
import { makeValidatorSet } from '../../../src/chain/validator-set.ts';
import { voteSigningHash } from '../../../src/chain/vote.ts';
import { encode } from '../../../src/codec/writer.ts';
import {
  type ConsensusMessage,
  decodeMessage,
  encodeMessage,
  signingHashOf,
} from '../../../src/consensus/messages.ts';
import {
  expectedStateRoot,
  type ParentInfo,
  parentOf,
  type SimChainContext,
  validateSimBlock,
} from '../../../src/consensus/sim/sim-chain.ts';
import { equalBytes, toHex, utf8 } from '../../../src/crypto/bytes.ts';
import { generateKeyPair, sign, verifyNative } from '../../../src/crypto/ed25519.ts';
import { sha256 } from '../../../src/crypto/hash.ts';
import { CivitasError } from '../../../src/errors/index.ts';
import {
  BlockSync,
  decodeSyncRequest,
  encodeSyncRequest,
  MAX_TXS_PER_REQUEST,
} from '../../../src/node/block-sync.ts';
import {
  blockOf,
  COMPACT_VERSION,
  decodeCompact,
  encodeCompact,
  expandCompact,
  type HeldTx,
  isCompact,
  rebuildBlock,
  signedPartOf,
} from '../../../src/node/compact-proposal.ts';
import type { ConsensusApp } from '../../../src/node/consensus-service.ts';
import { openEnvelope, sealEnvelope } from '../../../src/node/driver-binding.ts';
import { silentLogger } from '../../../src/node/logger.ts';
import { NodeMetrics } from '../../../src/node/metrics.ts';
import { PbftConsensus } from '../../../src/node/pbft-consensus.ts';
import { ProposalResolver } from '../../../src/node/proposal-resolver.ts';
import type { GossipHandler, GossipValidator } from '../../../src/p2p/gossip.ts';
import { peerIdFromValidatorKey, type SyncHandler } from '../../../src/p2p/index.ts';
import { CHAIN_ID, Cluster } from '../consensus/harness.ts';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CivitasError, `expected a CivitasError, got ${err}`);
    return err.code;
  }
  return 'none';
}

/** Messages of every type from an engine run with a view change, as the codec tests use. */
function sampleMessages(): ConsensusMessage[] {
  const c = new Cluster(4);
  c.filter = (_from, _to, m) => !(m.type === 'commit' && m.view === 0);
  c.startAll();
  c.run();
  c.filter = () => true;
  c.fireAll();
  c.run(20_000, 3);
  return c.sent.flat();
}

describe('compact proposal codec', () => {
  const messages = sampleMessages();
  const withBlocks = messages.filter((m) => blockOf(m) !== null);

  it('round-trips every block-carrying message to its v1 bytes, byte for byte', () => {
    const types = new Set(withBlocks.map((m) => m.type));
    assert.deepEqual([...types].sort(), ['new-view', 'pre-prepare', 'view-change']);
    assert.ok(withBlocks.some((m) => blockOf(m)!.lastCommit !== null));
    assert.ok(withBlocks.some((m) => blockOf(m)!.txs.length > 0));
    for (const m of withBlocks) {
      const full = encodeMessage(m);
      const compact = encodeCompact(m, full)!;
      assert.equal(compact[0], COMPACT_VERSION);
      assert.ok(isCompact(compact) && !isCompact(full));
      const c = decodeCompact(compact);
      const block = blockOf(m)!;
      assert.equal(c.type, m.type);
      assert.equal(c.height, m.height);
      assert.equal(c.view, m.view);
      assert.equal(c.validatorIndex, m.validatorIndex);
      assert.ok(equalBytes(c.blockHash, block.hash));
      assert.equal(c.inline.size, 0);
      const rebuilt = rebuildBlock(c, heldOf(block));
      assert.ok(equalBytes(rebuilt.encoded, block.encoded));
      // What was rebuilt without a decode is what a strict decode of its bytes gives.
      const strict = decodeBlock(rebuilt.encoded);
      assert.deepEqual(
        { ...rebuilt, encoded: null },
        { ...strict, encoded: null },
        'rebuilt block equals the strict decode of its bytes',
      );
      const back = expandCompact(c, rebuilt);
      assert.ok(equalBytes(encodeMessage(back), full), `${m.type} rebuilds to its v1 bytes`);
      // The v1 encoding still decodes as before.
      assert.ok(equalBytes(encodeMessage(decodeMessage(full)), full));
    }
  });

  it('names txs by hash: smaller than the full message when the block has txs', () => {
    const m = withBlocks.find((x) => blockOf(x)!.txs.length > 0)!;
    const full = encodeMessage(m);
    const compact = encodeCompact(m, full)!;
    const txBytes = blockOf(m)!.encodedTxs.reduce((s, t) => s + t.length, 0);
    assert.ok(compact.length < full.length - txBytes + 33 * blockOf(m)!.txs.length + 8);
  });

  it('carries txs inline on request and checks each against its hash', () => {
    const m = withBlocks.find((x) => blockOf(x)!.txs.length >= 1)!;
    const block = blockOf(m)!;
    const compact = encodeCompact(m, encodeMessage(m), () => true)!;
    const c = decodeCompact(compact);
    assert.equal(c.inline.size, block.txs.length);
    const txs = c.txHashes.map((_h, i) => {
      const encoded = c.inline.get(i)!;
      return { encoded, tx: decodeTx(encoded) };
    });
    assert.ok(equalBytes(rebuildBlock(c, txs).encoded, block.encoded));
    // Flip a byte inside the first inline tx (the last bytes before the certificate flag).
    const tx0 = block.encodedTxs[0]!;
    const at = indexOf(compact, tx0);
    const bad = compact.slice();
    bad[at + tx0.length - 1]! ^= 1;
    assert.equal(
      codeOf(() => decodeCompact(bad)),
      'CODEC_BAD_VALUE',
    );
  });

  it('refuses a malformed compact message', () => {
    const m = withBlocks[0]!;
    const compact = encodeCompact(m, encodeMessage(m))!;
    assert.equal(
      codeOf(() => decodeCompact(Uint8Array.of(3, ...compact.subarray(1)))),
      'CODEC_BAD_VERSION',
    );
    assert.equal(
      codeOf(() => decodeCompact(Uint8Array.of(...compact, 0))),
      'CODEC_TRAILING_BYTES',
    );
    // A vote has no compact form.
    const vote = messages.find((x) => x.type === 'prepare')!;
    const head = encode((w) => w.u8(COMPACT_VERSION).bytes(encodeMessage(vote)));
    assert.equal(
      codeOf(() => decodeCompact(head)),
      'CODEC_BAD_VALUE',
    );
  });

  it('refuses tx names that are not the header tx root, and a block of another hash', () => {
    const [a, b] = withBlocks.filter((x) => x.type === 'pre-prepare' && blockOf(x)!.txs.length > 0);
    assert.ok(
      a !== undefined && b !== undefined && !equalBytes(blockOf(a)!.hash, blockOf(b)!.hash),
    );
    const c = decodeCompact(encodeCompact(a, encodeMessage(a))!);
    // A sender naming other txs than its header commits to (here: b's, or one dropped).
    const named = { ...c, txHashes: blockOf(b)!.txHashes };
    assert.equal(
      codeOf(() => rebuildBlock(named, heldOf(blockOf(b)!))),
      'PROPOSAL_TX_ROOT_MISMATCH',
    );
    const fewer = { ...c, txHashes: c.txHashes.slice(1) };
    assert.equal(
      codeOf(() => rebuildBlock(fewer, heldOf(blockOf(a)!).slice(1))),
      'PROPOSAL_TX_ROOT_MISMATCH',
    );
    assert.equal(
      codeOf(() => rebuildBlock(c, heldOf(blockOf(a)!))),
      'none',
    );
    assert.equal(
      codeOf(() => expandCompact(c, blockOf(b)!)),
      'PROPOSAL_BLOCK_MISMATCH',
    );
  });

  it('gives the signed part of a compact message before its block is rebuilt', () => {
    for (const m of withBlocks) {
      const signed = signedPartOf(decodeCompact(encodeCompact(m, encodeMessage(m))!));
      assert.equal(signed.type, m.type);
      assert.ok(equalBytes(signed.signature, m.signature));
      assert.ok(equalBytes(signingHashOf(CHAIN_ID, signed), signingHashOf(CHAIN_ID, m)));
    }
  });

  it('encodes the fetch requests (sync kinds 3 and 4) strictly, with a cap', () => {
    const hashes = [sha256(utf8.encode('a')), sha256(utf8.encode('b'))];
    const r = decodeSyncRequest(encodeSyncRequest({ kind: 'txs', hashes }));
    assert.ok(r.kind === 'txs' && r.hashes.length === 2 && equalBytes(r.hashes[1]!, hashes[1]!));
    const b = decodeSyncRequest(encodeSyncRequest({ kind: 'block', hash: hashes[0]! }));
    assert.ok(b.kind === 'block' && equalBytes(b.hash, hashes[0]!));
    const tooMany = Array.from({ length: MAX_TXS_PER_REQUEST + 1 }, () => hashes[0]!);
    assert.equal(
      codeOf(() => decodeSyncRequest(encodeSyncRequest({ kind: 'txs', hashes: tooMany }))),
      'CODEC_TOO_LARGE',
    );
    assert.equal(
      codeOf(() => decodeSyncRequest(encodeSyncRequest({ kind: 'txs', hashes: [] }))),
      'SYNC_BAD_REQUEST',
    );
  });
});

function heldOf(block: SealedBlock): HeldTx[] {
  return block.encodedTxs.map((encoded, i) => ({ encoded, tx: block.txs[i]! }));
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error('not found');
}

// ---------------------------------------------------------------------------------------------
// Four PbftConsensus nodes on an in-memory gossip bus and sync protocol.

const CHAIN = 'civitas-compact-test';
const TXS_PER_BLOCK = 6;

interface TestNode {
  readonly peerId: string;
  readonly key: Uint8Array;
  readonly pool: Map<string, HeldTx>;
  readonly chain: Array<{ block: SealedBlock; certificate: CommitCertificate }>;
  readonly sent: ConsensusMessage[];
  readonly wire: Uint8Array[];
  /** The peers this node sent fetch requests to, in order. */
  readonly asked: string[];
  gossip?: { validator: GossipValidator; handler: GossipHandler };
  serve?: SyncHandler;
  pbft?: PbftConsensus;
  /** The error lines its consensus logged. */
  errors?: string[];
  secretKey?: Uint8Array;
}

interface NetOptions {
  /** Which nodes get a built block's txs into their pools (default: all). */
  share?: (builder: number, receiver: number, txIndex: number) => boolean;
  /** Nodes that answer no fetch request. */
  silentServers?: ReadonlySet<number>;
  /** Base view timeout (default 2 s: no view change on a slow machine unless a test wants one). */
  timeoutMs?: number;
}

function makeTxs(height: number, view: number, builder: number): Tx[] {
  return Array.from({ length: TXS_PER_BLOCK }, (_, i) =>
    assembleTx(
      unsignedTxV1({
        chainId: CHAIN,
        sender: sha256(utf8.encode(`sender/${builder}`)),
        nonce: height * 100 + view * 10 + i,
        expiryHeight: height + 100,
        op: { module: 'sim', method: 'noop', args: encode((w) => w.varuint(i)) },
      }),
      new Uint8Array(64),
    ),
  );
}

class TestNet {
  readonly nodes: TestNode[] = [];
  readonly ctx: SimChainContext;
  private readonly opts: NetOptions;

  constructor(n: number, opts: NetOptions = {}) {
    this.opts = opts;
    const keys = Array.from({ length: n }, () => generateKeyPair());
    const validators = makeValidatorSet(keys.map((k) => k.publicKey));
    this.ctx = {
      chainId: CHAIN,
      genesisHash: sha256(utf8.encode('genesis')),
      genesisTime: 1_700_000_000_000,
      validators,
      quorum: validators.quorum,
      verify: verifyNative,
    };
    // Node i is validator i of the set (the set may order keys its own way).
    const ordered = validators.validators.map((v) => keys.find((k) => equalBytes(k.publicKey, v))!);
    ordered.forEach((k, i) => {
      const node: TestNode = {
        peerId: peerIdFromValidatorKey(k.publicKey),
        key: k.publicKey,
        pool: new Map(),
        chain: [],
        sent: [],
        wire: [],
        asked: [],
      };
      this.nodes.push(node);
      node.pbft = this.makeConsensus(node, i, k.secretKey);
    });
  }

  private parent(node: TestNode): ParentInfo {
    const last = node.chain.at(-1);
    return last === undefined
      ? {
          height: 0,
          hash: this.ctx.genesisHash,
          stateRoot: ZERO_HASH,
          timestamp: this.ctx.genesisTime,
        }
      : parentOf(last.block);
  }

  app(node: TestNode, index: number): ConsensusApp {
    return {
      height: () => node.chain.length,
      lastCertificate: () => node.chain.at(-1)?.certificate ?? null,
      hasPendingTxs: () => true,
      buildProposal: async (height, view) => {
        const parent = this.parent(node);
        const txs = makeTxs(height, view, index);
        const encodedTxs = txs.map(encodeTx);
        for (const other of this.nodes) {
          encodedTxs.forEach((t, i) => {
            const j = this.nodes.indexOf(other);
            if (other === node || (this.opts.share?.(index, j, i) ?? true)) {
              other.pool.set(toHex(txHashOfBytes(t)), { encoded: t, tx: txs[i]! });
            }
          });
        }
        const lastCommit = node.chain.at(-1)?.certificate ?? null;
        return sealBlock({
          header: {
            chainId: CHAIN,
            height,
            parentHash: parent.hash,
            timestamp: blockTimeOf(height, lastCommit, this.ctx.genesisTime),
            proposer: node.key,
            txRoot: computeTxRoot(encodedTxs.map(txHashOfBytes)),
            receiptRoot: ZERO_HASH,
            stateRoot: expectedStateRoot(parent.stateRoot, height),
            validatorSetHash: this.ctx.validators.hash,
            nextValidatorSetHash: this.ctx.validators.hash,
            lastCommitHash: lastCommitHashOf(lastCommit),
          },
          txs,
          lastCommit,
        });
      },
      validateProposal: async (block) =>
        validateSimBlock(this.ctx, block, this.parent(node)) === null,
      commit: async (block, certificate) => {
        node.chain.push({ block, certificate });
      },
    };
  }

  private makeConsensus(node: TestNode, index: number, secretKey: Uint8Array): PbftConsensus {
    const others = () => this.nodes.filter((o) => o !== node);
    node.secretKey = secretKey;
    node.errors = [];
    const errors = node.errors;
    const logger = { ...silentLogger, error: (msg: string) => void errors.push(msg) };
    const pbft = new PbftConsensus(
      {
        chainId: CHAIN,
        publicKey: node.key,
        secretKey,
        timeoutMs: this.opts.timeoutMs ?? 2_000,
        validatorsAt: () => this.ctx.validators,
        resolver: { requestTimeoutMs: 200 },
      },
      {
        app: this.app(node, index),
        p2p: {
          publish: async (_topic, data) => {
            const bytes = openEnvelope(data)!;
            node.wire.push(bytes);
            const full = isCompact(bytes) ? undefined : decodeMessage(bytes);
            if (full !== undefined) node.sent.push(full);
            for (const o of others()) {
              setImmediate(async () => {
                const from = { peerId: node.peerId, publicKey: node.key };
                if ((await o.gossip?.validator(data, from)) === 'accept') {
                  await o.gossip?.handler(data, from);
                }
              });
            }
            return others().length;
          },
          onGossip: (_topic, validator, handler) => {
            node.gossip = { validator, handler };
          },
          requestSync: async (peerId, request) => {
            node.asked.push(peerId);
            const target = this.nodes.find((o) => o.peerId === peerId);
            const silent = target && this.opts.silentServers?.has(this.nodes.indexOf(target));
            if (target?.serve === undefined || silent) {
              throw new CivitasError('P2P_SYNC_REMOTE_NO_HANDLER', 'peer does not serve sync');
            }
            return target.serve(request, { peerId: node.peerId, publicKey: node.key });
          },
          connectedPeers: () => others().map((o) => o.peerId),
          isMember: () => true,
        },
        lookupTx: (hash) => node.pool.get(toHex(hash)),
        wal: { append: async () => {}, load: async () => [], truncateBelow: async () => {} },
        requestSync: () => {},
        metrics: { consensusRejected: () => {}, evidenceRecorded: () => {} },
        logger,
        onFatal: (err) => {
          throw err;
        },
        clock: Date.now,
      },
    );
    // The node serves fetches through block sync's handler, as node.ts wires it.
    const sync = new BlockSync(
      { intervalMs: 60_000, requestTimeoutMs: 1_000 },
      {
        chain: {
          height: () => node.chain.length,
          blockBytes: async () => undefined,
          certificateBytes: async () => undefined,
          commitSynced: async () => ({ blocks: 0 }),
        },
        p2p: {
          onSyncRequest: (h) => {
            node.serve = h;
          },
          requestSync: async () => [],
          connectedPeers: () => [],
          isMember: () => true,
        },
        logger: silentLogger,
      },
    );
    sync.serve(pbft.proposals);
    return pbft;
  }

  async start(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.pbft!.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.pbft!.stop()));
  }

  /** Waits until every node listed has committed `height` (fails after `ms`). */
  async until(height: number, nodes: readonly number[], ms = 8_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!nodes.every((i) => this.nodes[i]!.chain.length >= height)) {
      if (Date.now() > deadline) {
        const heights = this.nodes.map((n) => n.chain.length).join(',');
        throw new Error(`height ${height} not reached in ${ms} ms (heights ${heights})`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The votes a node put on the wire (votes always travel in v1 form). */
function sentVotes(node: TestNode, type: 'prepare' | 'commit'): ConsensusMessage[] {
  return node.sent.filter((m) => m.type === type);
}

describe('compact proposals between PbftConsensus nodes', () => {
  const nets: TestNet[] = [];
  after(async () => {
    for (const n of nets) await n.stop();
  });

  it('a replica lacking some txs fetches them from the primary, rebuilds the block and votes', async () => {
    const lacking = 2;
    // The replica misses txs 1 and 4 of every block; the others get everything.
    const net = new TestNet(4, {
      share: (_builder, receiver, i) => !(receiver === lacking && (i === 1 || i === 4)),
    });
    nets.push(net);
    await net.start();
    await net.until(2, [0, 1, 2, 3]);
    const hashes = net.nodes.map((n) => toHex(n.chain[1]!.block.hash));
    assert.equal(new Set(hashes).size, 1, 'every node committed the same block at height 2');
    const replica = net.nodes[lacking]!;
    const block1 = replica.chain[0]!.block;
    assert.ok(block1.txs.length === TXS_PER_BLOCK);
    // The replica voted for the rebuilt block: its PREPARE names the block hash.
    const prepares = sentVotes(replica, 'prepare').filter((m) => m.height === 1);
    assert.ok(prepares.some((m) => m.type === 'prepare' && equalBytes(m.blockHash, block1.hash)));
    assert.ok(replica.pbft!.proposals.counters.txsFetched >= 2);
    // The txs were asked of the block's author (the primary), not of a relaying peer.
    const author = net.nodes.find((n) => equalBytes(n.key, block1.header.proposer))!;
    assert.equal(replica.asked[0], author.peerId);
    for (const [i, n] of net.nodes.entries()) {
      if (i !== lacking) assert.deepEqual(n.asked, [], `node ${i} had every tx`);
    }
    assert.equal(replica.pbft!.proposals.counters.blocksFetched, 0);
    // Proposals went on the wire compact: no PRE-PREPARE in v1 form.
    const primary = net.nodes.find((n) => equalBytes(n.key, block1.header.proposer))!;
    assert.ok(primary.wire.some((b) => isCompact(b)));
    assert.ok(!primary.sent.some((m) => m.type === 'pre-prepare'));
    assert.ok(primary.pbft!.proposals.counters.sent >= 1);
  });

  it('falls back to the whole block when the forwarder cannot supply the txs', async () => {
    const resolverNet = new TestNet(4);
    const holder = resolverNet.nodes[1]!;
    const asker = resolverNet.nodes[3]!;
    // A block the holder saw (it was sent as its own proposal) and the asker lacks entirely.
    const block = await resolverNet.app(holder, 1).buildProposal(1, 7);
    for (const t of block.txHashes) asker.pool.delete(toHex(t));
    const m: ConsensusMessage = {
      type: 'pre-prepare',
      height: 1,
      view: 7,
      validatorIndex: 1,
      signature: new Uint8Array(64),
      block,
    };
    const wire = holder.pbft!.proposals.wireBytes(m, encodeMessage(m));
    const c = decodeCompact(wire);
    const resolver = new ProposalResolver(
      { requestTimeoutMs: 200 },
      {
        lookupTx: () => undefined,
        request: async (peerId, request) => {
          // The forwarder answers with a tx the proposal does not name (ignored), and has no
          // block; the holder answers block requests.
          if (peerId === 'forwarder') {
            const stranger = encodeTx(makeTxs(9, 9, 9)[0]!);
            return [encode((w) => w.list([stranger], (ww, t) => ww.bytes(t)))];
          }
          return resolverNet.nodes.find((n) => n.peerId === peerId)!.serve!(request, {
            peerId: 'x',
            publicKey: asker.key,
          });
        },
        peers: () => [holder.peerId],
        tip: () => 0,
        logger: silentLogger,
      },
    );
    const full = await resolver.resolve(c, 'forwarder');
    assert.ok(full !== undefined && equalBytes(encodeMessage(full), encodeMessage(m)));
    assert.equal(resolver.counters.blocksFetched, 1);
    assert.equal(resolver.counters.txsFetched, 0);
    // Out of the height window: dropped without a fetch.
    const stale = new ProposalResolver(
      {},
      {
        lookupTx: () => undefined,
        request: async () => assert.fail('no fetch for a stale height'),
        peers: () => [],
        tip: () => 5,
        logger: silentLogger,
      },
    );
    assert.equal(await stale.resolve(c, 'forwarder'), undefined);
    assert.equal(stale.counters.dropped, 1);
  });

  it('fetches nothing for a message its validator did not sign, and caps fetches per validator', async () => {
    const net = new TestNet(4);
    const holder = net.nodes[1]!;
    const blocks = await Promise.all([7, 8, 9].map((v) => net.app(holder, 1).buildProposal(1, v)));
    const compacts = blocks.map((block, i) => {
      const m: ConsensusMessage = {
        type: 'pre-prepare',
        height: 1,
        view: 7 + i,
        validatorIndex: 1,
        signature: new Uint8Array(64),
        block,
      };
      return decodeCompact(encodeCompact(m, encodeMessage(m))!);
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const requests: string[] = [];
    const deps = (authentic: boolean) => ({
      lookupTx: () => undefined,
      request: async (peerId: string) => {
        requests.push(peerId);
        await gate;
        return [] as Uint8Array[];
      },
      peers: () => [],
      tip: () => 0,
      logger: silentLogger,
      authentic: () => authentic,
    });
    const forged = new ProposalResolver({}, deps(false));
    assert.equal(await forged.resolve(compacts[0]!, 'forwarder'), undefined);
    assert.deepEqual(requests, [], 'no fetch for a forged message');
    assert.equal(forged.counters.dropped, 1);

    const capped = new ProposalResolver({ maxInFlightPerAuthor: 2 }, deps(true));
    const pending = compacts.map((c) => capped.resolve(c, 'forwarder'));
    // The third block of the same validator is dropped at once; two fetches are in flight.
    assert.equal(await pending[2], undefined);
    assert.equal(requests.length, 2);
    release();
    assert.deepEqual(await Promise.all(pending.slice(0, 2)), [undefined, undefined]);
    assert.equal(capped.counters.dropped, 3);
  });

  it('sends inline the txs its sendInline picks (recently admitted ones, in the node)', async () => {
    const net = new TestNet(4);
    const block = await net.app(net.nodes[1]!, 1).buildProposal(1, 3);
    const recent = toHex(block.txHashes[2]!);
    const resolver = new ProposalResolver(
      {},
      {
        lookupTx: () => undefined,
        request: async () => [],
        peers: () => [],
        tip: () => 0,
        logger: silentLogger,
        sendInline: (hash) => toHex(hash) === recent,
      },
    );
    const m: ConsensusMessage = {
      type: 'pre-prepare',
      height: 1,
      view: 3,
      validatorIndex: 1,
      signature: new Uint8Array(64),
      block,
    };
    const c = decodeCompact(resolver.wireBytes(m, encodeMessage(m)));
    assert.deepEqual([...c.inline.keys()], [2]);
    assert.ok(equalBytes(c.inline.get(2)!, block.encodedTxs[2]!));
    assert.equal(resolver.counters.txsInlined, 1);
  });

  it('a compact proposal naming a tx nobody has gets no vote, and the view changes', async () => {
    // Node 1 (primary of view 0 at height 1: validators[(h + v) mod n]) shares no tx of its
    // blocks and serves no fetch.
    const byzantine = 1;
    const net = new TestNet(4, {
      share: (builder) => builder !== byzantine,
      silentServers: new Set([byzantine]),
      timeoutMs: 400,
    });
    nets.push(net);
    await net.start();
    await net.until(1, [0, 2, 3]);
    for (const i of [0, 2, 3]) {
      const node = net.nodes[i]!;
      const votes = sentVotes(node, 'prepare').filter((m) => m.height === 1 && m.view === 0);
      assert.deepEqual(votes, [], `replica ${i} sent no PREPARE in view 0`);
      assert.ok(node.chain[0]!.certificate.view >= 1, 'height 1 was decided after a view change');
      assert.ok(!equalBytes(node.chain[0]!.block.header.proposer, net.nodes[byzantine]!.key));
      assert.ok(node.pbft!.status().viewChanges >= 1);
      assert.ok(node.pbft!.proposals.counters.dropped >= 1);
    }
  });
});

describe('compact proposal metrics', () => {
  it('exports the resolver counters as civitas_compact_proposals_total{event}', async () => {
    let counters = { sent: 2, received: 5, local: 4, txsFetched: 3, blocksFetched: 0, dropped: 1 };
    const metrics = new NodeMetrics(
      {
        height: () => 0,
        view: () => 0,
        viewChanges: () => 0,
        mempoolSize: () => 0,
        mempoolQueued: () => 0,
        peers: () => 0,
        gossip: () => undefined,
        compactProposals: () => counters,
        consensusBytes: () => ({ wire: 1_000, v1: 4_500 }),
      },
      { processMetrics: false },
    );
    let text = await metrics.registry.metrics();
    assert.match(text, /civitas_compact_proposals_total\{event="txs_fetched"\} 3/);
    assert.match(text, /civitas_compact_proposals_total\{event="dropped"\} 1/);
    counters = { ...counters, txsFetched: 10 };
    text = await metrics.registry.metrics();
    assert.match(text, /civitas_compact_proposals_total\{event="txs_fetched"\} 10/);
    assert.match(text, /civitas_consensus_published_bytes_total\{form="wire"\} 1000/);
    // The cluster benchmark reads them back per node.
    const timings = parseNodeTimings(text);
    assert.equal(timings.compactProposals?.txs_fetched, 10);
    assert.equal(timings.compactProposals?.local, 4);
    assert.deepEqual(timings.consensusBytes, { wire: 1_000, v1: 4_500 });
  });
});

describe('the double-sign guard', () => {
  it('a node that sees two conflicting votes signed with its own key stops consensus and says why', async () => {
    const net = new TestNet(4);
    await net.start();
    try {
      await net.until(1, [0, 1, 2, 3]);
      const node = net.nodes[2]!;
      const height = node.chain.length + 1;
      const vote = (blockHash: Uint8Array) => {
        const signature = sign(
          voteSigningHash('prepare', CHAIN, height, 0, blockHash),
          node.secretKey!,
        );
        const m: ConsensusMessage = {
          type: 'prepare',
          height,
          view: 0,
          blockHash,
          validatorIndex: 2,
          signature,
          timestamp: 0,
        };
        return sealEnvelope(encodeMessage(m));
      };
      // Another process with this key signed two different PREPAREs, relayed by node 0.
      const from = { peerId: net.nodes[0]!.peerId, publicKey: net.nodes[0]!.key };
      for (const hash of [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]) {
        const data = vote(hash);
        if ((await node.gossip!.validator(data, from)) === 'accept') {
          await node.gossip!.handler(data, from);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(
        node.errors!.some((l) => l.includes('signed two conflicting messages')),
        JSON.stringify(node.errors),
      );
      // The others go on without it (three of four are a quorum).
      await net.until(height + 2, [0, 1, 3]);
    } finally {
      await net.stop();
    }
  });
});
