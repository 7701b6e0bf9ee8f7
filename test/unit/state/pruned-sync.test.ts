/**
 * Block sync from a node that prunes blocks: served from its real store (as node.ts wires
 * it), a range that starts below its window gets no frames (not an error), and the asker,
 * after that peer, catches up from a peer that keeps every block. An in-memory link stands in
 * for libp2p; the asker commits through a real Ledger's validation and commit path.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { decodeBlock, decodeCertificate, type Tx } from '../../../src/chain/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import {
  BlockSync,
  decodeSyncRequest,
  encodeSyncRequest,
  type SyncChain,
  type SyncNetwork,
} from '../../../src/node/block-sync.ts';
import { type Logger, silentLogger } from '../../../src/node/logger.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import {
  accountAddress,
  commitNext,
  makeTestChain,
  plainValidation,
  transferTx,
} from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

type Handler = Parameters<SyncNetwork['onSyncRequest']>[0];

function serving(ledger: Ledger): SyncChain {
  return {
    height: () => ledger.height,
    blockBytes: (h) => ledger.store.getBlockBytes(h),
    certificateBytes: (h) => ledger.store.getCertificateBytes(h),
    commitSynced: () => Promise.reject(new Error('a server commits nothing')),
  };
}

/** A BlockSync's handler, captured from serve(). */
function handlerOf(ledger: Ledger): Handler {
  let handler: Handler | undefined;
  const p2p = {
    onSyncRequest: (h: Handler) => {
      handler = h;
    },
  } as unknown as SyncNetwork;
  new BlockSync(
    { intervalMs: 60_000, requestTimeoutMs: 5_000 },
    { chain: serving(ledger), p2p, logger: silentLogger },
  ).serve();
  return handler!;
}

test('a pruned peer answers no blocks below its window; sync goes on from another peer', async (t) => {
  const dir = await tempDir(t);
  const chain = makeTestChain({ accounts: 2 });
  const pruned = await Ledger.open(join(dir, 'pruned'), chain.genesis, civitasStateMachine(), {
    pruning: { keepVersions: 64, retainBlocks: 64 },
  });
  t.after(() => pruned.close());
  const archive = await Ledger.open(join(dir, 'archive'), chain.genesis, civitasStateMachine());
  t.after(() => archive.close());
  for (let i = 0; i < 72; i++) {
    const txs: Tx[] = [transferTx(chain, 0, accountAddress(chain, 1), 1n, i)];
    const { block, certificate } = await commitNext(pruned, chain, txs);
    await archive.commit(block, certificate, await archive.validateBlock(block, plainValidation()));
  }
  await pruned.pruningSettled();
  assert.equal(pruned.pruningStats().blocksFrom, 9);

  const handlers: Record<string, Handler> = {
    pruned: handlerOf(pruned),
    archive: handlerOf(archive),
  };
  // Served straight: below the window nothing, from it on the blocks as committed.
  const ask = (peer: string, from: number, count: number) =>
    handlers[peer]!(encodeSyncRequest({ kind: 'blocks', from, count }), {
      peerId: peer,
    } as never) as Promise<Uint8Array[]>;
  assert.deepEqual(await ask('pruned', 1, 4), []);
  assert.deepEqual(await ask('pruned', 8, 1), []);
  assert.equal((await ask('pruned', 9, 4)).length, 4);
  assert.equal((await ask('archive', 1, 4)).length, 4);

  // A new node that sees only the pruned peer gets nowhere, and says why.
  const fresh = await Ledger.open(join(dir, 'fresh'), chain.genesis, civitasStateMachine());
  t.after(() => fresh.close());
  let peers = ['pruned'];
  const asked: string[] = [];
  const lines: string[] = [];
  const logger: Logger = {
    ...silentLogger,
    info: (msg, fields) => lines.push(`info ${msg} ${JSON.stringify(fields ?? {})}`),
    warn: (msg, fields) => lines.push(`warn ${msg} ${JSON.stringify(fields ?? {})}`),
    child: () => logger,
  };
  const client = new BlockSync(
    { intervalMs: 60_000, requestTimeoutMs: 5_000 },
    {
      chain: {
        height: () => fresh.height,
        blockBytes: (h) => fresh.store.getBlockBytes(h),
        certificateBytes: (h) => fresh.store.getCertificateBytes(h),
        commitSynced: async (source) => {
          let blocks = 0;
          for await (const { block, certificate } of source) {
            const sealed = decodeBlock(block);
            const executed = await fresh.validateBlock(sealed, plainValidation());
            await fresh.commit(sealed, decodeCertificate(certificate), executed);
            blocks++;
          }
          return { blocks };
        },
      },
      p2p: {
        onSyncRequest: () => {},
        requestSync: async (peer: string, request: Uint8Array) => {
          const r = decodeSyncRequest(request);
          if (r.kind === 'blocks') asked.push(`${peer}:${r.from}`);
          return handlers[peer]!(request, { peerId: peer } as never);
        },
        connectedPeers: () => peers,
        isMember: () => true,
      } as unknown as SyncNetwork,
      logger,
    },
  );
  t.after(() => client.stop());
  const round = async () => {
    const before = lines.length;
    client.trigger();
    while (!lines.slice(before).some((l) => /^(info synced|warn sync from peer)/.test(l))) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  await round();
  assert.equal(fresh.height, 0);
  assert.deepEqual(asked, ['pruned:1']);
  assert.ok(
    lines.some((l) => /warn sync from peer failed.*no blocks from height 1.*pruned/.test(l)),
    lines.join('\n'),
  );

  // With a peer that keeps every block, the same round catches up (whichever it asks first).
  peers = ['pruned', 'archive'];
  await round();
  while (fresh.height < 72) await round();
  assert.equal(fresh.height, 72);
  assert.equal(toHex(fresh.tip.hash), toHex(archive.tip.hash));
  assert.equal(toHex(fresh.tip.stateRoot), toHex(archive.tip.stateRoot));
});
