/**
 * Block sync commits through the node's BlockPipeline: a BlockSync serving a generated chain
 * (its real request/response encoding, an in-memory link in place of libp2p) and a BlockSync
 * catching up into a real Ledger through `Verification.pipeline`, as node.ts wires it. The
 * signatures of the next blocks are verified on the pool's workers while one executes, the
 * next response is requested while the current one's blocks are validated, and a bad block
 * stops sync after the blocks before it are committed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { certifyFast, type GeneratedChain, generateChain } from '../../../bench/chain-generator.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import {
  computeTxRoot,
  decodeBlock,
  encodeCertificate,
  encodeTx,
  sealBlock,
  txHashOfBytes,
} from '../../../src/chain/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import {
  BlockSync,
  decodeSyncRequest,
  MAX_BLOCKS_PER_REQUEST,
  type SyncChain,
  type SyncNetwork,
} from '../../../src/node/block-sync.ts';
import type { Logger } from '../../../src/node/logger.ts';
import { silentLogger } from '../../../src/node/logger.ts';
import { Verification } from '../../../src/node/verification.ts';
import type { CommittedBlockInfo } from '../../../src/state/block-pipeline.ts';
import { Ledger } from '../../../src/state/ledger.ts';

type EncodedBlock = GeneratedChain['blocks'][number];
type Handler = Parameters<SyncNetwork['onSyncRequest']>[0];

/** Two BlockSyncs joined in memory: what `requestSync` sends reaches the other's handler. */
class Link {
  private handler: Handler | undefined;
  readonly blockRequests: Array<{ from: number; heightAtRequest: number }> = [];
  heightOfClient: () => number = () => 0;

  serverSide(): SyncNetwork {
    return {
      onSyncRequest: (handler: Handler) => {
        this.handler = handler;
      },
      requestSync: () => Promise.reject(new Error('the server never requests')),
      connectedPeers: () => [],
      isMember: () => true,
    } as unknown as SyncNetwork;
  }

  clientSide(): SyncNetwork {
    return {
      onSyncRequest: () => {},
      requestSync: async (_peer: string, request: Uint8Array) => {
        const r = decodeSyncRequest(request);
        if (r.kind === 'blocks') {
          this.blockRequests.push({ from: r.from, heightAtRequest: this.heightOfClient() });
        }
        // A network hop: the answer comes in a later turn.
        await new Promise((resolve) => setTimeout(resolve, 1));
        return this.handler!(request, { peerId: 'server' } as never);
      },
      connectedPeers: () => ['server'],
      isMember: () => true,
    } as unknown as SyncNetwork;
  }
}

function servingChain(blocks: readonly EncodedBlock[]): SyncChain {
  return {
    height: () => blocks.length,
    blockBytes: async (h) => blocks[h - 1]?.block,
    certificateBytes: async (h) => blocks[h - 1]?.certificate,
    commitSynced: () => Promise.reject(new Error('the server commits nothing')),
  };
}

/** Block `index` with one tx signature flipped, re-sealed and certified by a quorum. */
function withBadSignature(chain: GeneratedChain, index: number): EncodedBlock {
  const block = decodeBlock(chain.blocks[index]!.block);
  const txs = block.txs.map((tx, i) => {
    if (i !== 1) return tx;
    const signature = tx.signature.slice();
    signature[9]! ^= 0x01;
    return { ...tx, signature };
  });
  const txRoot = computeTxRoot(txs.map((tx) => txHashOfBytes(encodeTx(tx))));
  const sealed = sealBlock({ ...block, header: { ...block.header, txRoot }, txs });
  return {
    block: sealed.encoded,
    certificate: encodeCertificate(certifyFast(chain.genesis, chain.validatorKeys, sealed)),
  };
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function capturingLogger(lines: string[]): Logger {
  const logger: Logger = {
    ...silentLogger,
    info: (msg, fields) => lines.push(`info ${msg} ${JSON.stringify(fields ?? {})}`),
    warn: (msg, fields) => lines.push(`warn ${msg} ${JSON.stringify(fields ?? {})}`),
    child: () => logger,
  };
  return logger;
}

describe('block sync through the block pipeline', () => {
  let chain: GeneratedChain;
  const dirs: string[] = [];

  before(async () => {
    // 70 blocks: three sync responses (32 + 32 + 6).
    chain = await generateChain({ txs: 560, blockSize: 8, txsPerSender: 4 });
  });

  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  async function catchUp(blocks: readonly EncodedBlock[], until: (height: number) => boolean) {
    const dir = await mkdtemp(join(tmpdir(), 'civitas-block-sync-'));
    dirs.push(dir);
    const ledger = await Ledger.open(dir, chain.genesis, civitasStateMachine());
    // 8 signatures per block: a threshold of 4 sends every block's look-ahead to the workers.
    const verification = Verification.create({ workers: 2, mainThreadBelow: 4, startWorkersAt: 4 });
    const link = new Link();
    link.heightOfClient = () => ledger.height;
    const committed: CommittedBlockInfo[] = [];
    const pipeline = verification.pipeline(ledger, {
      onCommitted: (info) => committed.push(info),
    });
    const lines: string[] = [];
    const server = new BlockSync(
      { intervalMs: 60_000, requestTimeoutMs: 5_000 },
      { chain: servingChain(blocks), p2p: link.serverSide(), logger: silentLogger },
    );
    server.serve();
    const client = new BlockSync(
      { intervalMs: 60_000, requestTimeoutMs: 5_000 },
      {
        chain: {
          height: () => ledger.height,
          blockBytes: (h) => ledger.store.getBlockBytes(h),
          certificateBytes: (h) => ledger.store.getCertificateBytes(h),
          commitSynced: (source) => pipeline.run(source),
        },
        p2p: link.clientSide(),
        logger: capturingLogger(lines),
      },
    );
    try {
      client.noteHeight(blocks.length);
      await waitFor('the sync round', () =>
        lines.some((l) => l.startsWith('info synced') || l.startsWith('warn sync from peer')),
      );
      assert.ok(until(ledger.height), `height ${ledger.height}`);
      return { ledger, committed, stats: verification.stats(), link, lines };
    } finally {
      await client.stop();
      await verification.close();
      await ledger.close();
    }
  }

  test('catches up block by block through the pipeline, verifying ahead on the workers', async () => {
    const { committed, stats, link, lines } = await catchUp(chain.blocks, (h) => h === 70);
    assert.deepEqual(
      committed.map((c) => c.height),
      chain.blocks.map((_, i) => i + 1),
    );
    // Every tx signature was checked once, on the sync path, by the pool's workers.
    assert.deepEqual(stats.paths.sync, {
      txs: chain.txCount,
      cacheHits: 0,
      signatures: chain.txCount,
      invalid: 0,
    });
    assert.equal(stats.onWorkers, chain.txCount);
    assert.equal(stats.onCallingThread, 0);
    // Three requests, each for the heights after the previous response, and each of the
    // later ones sent before the blocks of the response before it were all committed.
    assert.deepEqual(
      link.blockRequests.map((r) => r.from),
      [1, 1 + MAX_BLOCKS_PER_REQUEST, 1 + 2 * MAX_BLOCKS_PER_REQUEST],
    );
    assert.ok(link.blockRequests[1]!.heightAtRequest < MAX_BLOCKS_PER_REQUEST, 'fetched ahead');
    assert.ok(link.blockRequests[2]!.heightAtRequest < 2 * MAX_BLOCKS_PER_REQUEST, 'fetched ahead');
    assert.ok(
      lines.some((l) => l.startsWith('info synced') && l.includes('"blocks":70')),
      lines.join('\n'),
    );
  });

  test('a bad block stops sync with its error, after the blocks before it are committed', async () => {
    const blocks = [...chain.blocks];
    blocks[39] = withBadSignature(chain, 39);
    const { ledger, committed, lines } = await catchUp(blocks, (h) => h === 39);
    assert.equal(committed.length, 39);
    assert.equal(
      toHex(ledger.tip.hash),
      toHex(decodeBlock(chain.blocks[38]!.block).hash),
      'block 39 is the tip',
    );
    assert.ok(
      lines.some(
        (l) => l.startsWith('warn sync from peer failed') && l.includes('BLOCK_BAD_TX_SIGNATURE'),
      ),
      lines.join('\n'),
    );
  });
});
