/**
 * GET /events over a real ledger (LevelDB in a temp dir) and a real HTTP server: the test
 * commits the blocks itself and announces each as the node's commit path does, so it can
 * choose when a block commits (in the middle of a replay) and when it is announced (after a
 * stream caught up from the store). Checked on the wire: ids, resume with Last-Event-ID and
 * `from` (no block missed, none twice), the replay bound (`event: gap`), the tx and address
 * filters (replayed and live), 400s with codes, the stream cap, and the SDK's streams.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { BlockEvent, GapEvent, TxEvent } from '../../../src/api/types.ts';
import { civitasApp, civitasStateMachine } from '../../../src/app/index.ts';
import { addressOf, type SealedBlock, type Tx, txHash } from '../../../src/chain/index.ts';
import { CivitasClient } from '../../../src/client/client.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { CivitasError } from '../../../src/errors/index.ts';
import type { NodeEvents } from '../../../src/node/block-committer.ts';
import { EVENT_STREAM_LIMITS, EventStreams } from '../../../src/node/event-streams.ts';
import { silentLogger } from '../../../src/node/logger.ts';
import { type RpcChain, type RpcNodeInfo, RpcServer } from '../../../src/node/rpc-server.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { commitNext, makeTestChain, transferTx } from '../../helpers/chain.ts';
import { httpJson, waitUntil } from '../../helpers/http.ts';
import { tempDir } from '../../helpers/temp.ts';

const MAX_REPLAY = 5;
const MAX_CLIENTS = 4;

interface Frame {
  id: string | undefined;
  event: string | undefined;
  data: unknown;
}

/** A raw event stream: every frame as it came (comments dropped), read as it arrives. */
class RawStream {
  readonly frames: Frame[] = [];
  status = 0;
  private readonly abort = new AbortController();
  private ended = false;

  static async open(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
    const s = new RawStream();
    const res = await fetch(url, { headers, signal: s.abort.signal });
    s.status = res.status;
    if (!res.ok) {
      s.frames.push({ id: undefined, event: 'error', data: await res.json() });
      return s;
    }
    void s.read(res.body!);
    return s;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const frame: Frame = { id: undefined, event: undefined, data: undefined };
          for (const line of buffer.slice(0, end).split('\n')) {
            if (line.startsWith('id: ')) frame.id = line.slice(4);
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
            else assert.match(line, /^: /, `unexpected line ${line}`);
          }
          if (frame.id !== undefined || frame.event !== undefined) this.frames.push(frame);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // aborted
    }
    this.ended = true;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  events(kind: string): Frame[] {
    return this.frames.filter((f) => f.event === kind);
  }

  /** Waits until a frame has id `id` (bare or not). */
  async untilId(id: string | number): Promise<void> {
    await waitUntil(
      () => this.frames.some((f) => f.id === String(id)),
      `a frame with id ${id}; got ${JSON.stringify(this.frames.map((f) => f.id))}`,
    );
  }

  close(): void {
    this.abort.abort();
  }
}

describe('GET /events on a real ledger', () => {
  const chain = makeTestChain({ accounts: 3 });
  const events = new EventEmitter() as NodeEvents;
  const nonces = [0, 0, 0];
  const address = (i: number): string => toHex(addressOf(chain.accountKeys[i]!.publicKey));
  let ledger: Ledger;
  let server: RpcServer;
  let url: string;
  /** Runs before the store answers getBlock(height): a block can commit mid-replay. */
  let beforeGetBlock: (height: number) => Promise<void> = async () => {};
  /** The lowest height whose block the store keeps, as a pruned node's would say. */
  let keptFrom: number | undefined;
  const streams: RawStream[] = [];

  const transfer = (from: number, amount = 1n): Tx =>
    transferTx(chain, from, addressOf(chain.accountKeys[2]!.publicKey), amount, nonces[from]!++);

  /** Commits the next block; announces it as the commit path does unless told not to. */
  async function commit(
    txs: Tx[] = [],
    opts: { announce?: boolean } = {},
  ): Promise<{ block: SealedBlock; announce: () => void }> {
    const committed = await commitNext(ledger, chain, txs);
    const announce = (): void => {
      events.emit('block', committed);
    };
    if (opts.announce !== false) announce();
    return { block: committed.block, announce };
  }

  async function open(query = '', headers: Record<string, string> = {}): Promise<RawStream> {
    const s = await RawStream.open(`${url}/events${query}`, headers);
    streams.push(s);
    return s;
  }

  before(async () => {
    ledger = await Ledger.open(await tempDir({ after }), chain.genesis, civitasStateMachine());
    const store = ledger.store;
    const wrapped = {
      get height() {
        return ledger.height;
      },
      store: {
        getBlock: async (height: number) => {
          await beforeGetBlock(height);
          return store.getBlock(height);
        },
        getTxLocation: (hash: Uint8Array) => store.getTxLocation(hash),
        getReceipt: (location: { height: number; index: number }) => store.getReceipt(location),
        retainedFrom: () => ({
          ...store.retainedFrom(),
          ...(keptFrom === undefined ? {} : { blocksFrom: keptFrom }),
        }),
      },
    } as unknown as RpcChain;
    const unused = () => {
      throw new Error('not used by GET /events');
    };
    server = new RpcServer(
      {
        listen: '127.0.0.1:0',
        maxBodyBytes: 64 * 1024,
        eventStreams: { maxReplayBlocks: MAX_REPLAY, maxClients: MAX_CLIENTS },
      },
      {
        chain: wrapped,
        app: civitasApp(),
        info: { chainId: chain.genesis.chainId } as unknown as RpcNodeInfo,
        txs: { submit: unused, waitFor: unused, isPending: unused },
        events,
        metrics: { text: async () => '', contentType: 'text/plain' },
        faults: undefined,
        logger: silentLogger,
      },
    );
    await server.start();
    url = server.url;
    for (let i = 0; i < 3; i++) await commit([transfer(0)]);
  });

  after(async () => {
    for (const s of streams) s.close();
    await server?.stop();
    await ledger?.close();
  });

  /** Closes a test's streams, so the next one has the stream cap to itself. */
  async function closeAll(): Promise<void> {
    for (const s of streams.splice(0)) s.close();
    // The server drops a stream when it sees its connection close.
    await waitUntil(() => server.openEventStreams === 0, 'the server to see the streams close');
  }

  test('each block event carries id: <height>, its data the block', async () => {
    const s = await open();
    const first = (await commit()).block;
    const second = (await commit([transfer(1)])).block;
    await s.untilId(second.header.height);
    assert.deepEqual(
      s.frames.map((f) => [f.id, f.event]),
      [
        [String(first.header.height), 'block'],
        [String(second.header.height), 'block'],
      ],
    );
    assert.deepEqual(s.frames[1]!.data, {
      height: second.header.height,
      hash: toHex(second.hash),
      timestamp: second.header.timestamp,
      txs: 1,
    } satisfies BlockEvent);
    await closeAll();
  });

  test('Last-Event-ID resumes: missed blocks from the store, then live, none twice, also when blocks commit during the replay', async () => {
    const from = ledger.height;
    for (let i = 0; i < 3; i++) await commit([transfer(0)]);
    // While the stream replays from+2, block from+4 commits and is announced, and from+5
    // commits with its announcement held back until the stream has caught up from the store.
    let held: (() => void) | undefined;
    beforeGetBlock = async (height) => {
      if (height !== from + 2 || held !== undefined) return;
      await commit();
      held = (await commit([], { announce: false })).announce;
    };
    const s = await open('?from=1', { 'Last-Event-ID': String(from) });
    await s.untilId(from + 5);
    beforeGetBlock = async () => {};
    held!();
    await commit();
    await s.untilId(from + 6);
    assert.deepEqual(
      s.frames.map((f) => [f.id, f.event, (f.data as BlockEvent).height]),
      [1, 2, 3, 4, 5, 6].map((k) => [String(from + k), 'block', from + k]),
      'Last-Event-ID wins over from; each block once, in order',
    );
    // ?from alone, from inside the replay window.
    const tail = await open(`?from=${from + 4}`);
    await tail.untilId(from + 6);
    await commit();
    await tail.untilId(from + 7);
    assert.deepEqual(
      tail.frames.map((f) => f.id),
      [5, 6, 7].map((k) => String(from + k)),
    );
    // A resume point above the tip (a node behind the one the client used): blocks above it.
    const ahead = await open(`?from=${ledger.height + 1}`);
    await commit();
    await commit();
    await ahead.untilId(ledger.height);
    assert.deepEqual(
      ahead.frames.map((f) => f.id),
      [String(ledger.height)],
    );
    await closeAll();
  });

  test('from further back than the replay bound: event gap first, then the last blocks', async () => {
    const tip = ledger.height;
    assert.ok(tip > MAX_REPLAY + 1);
    const s = await open('?from=0');
    await s.untilId(tip);
    const to = tip - MAX_REPLAY;
    assert.deepEqual(s.frames[0], {
      id: String(to),
      event: 'gap',
      data: { from: 1, to } satisfies GapEvent,
    });
    assert.deepEqual(
      s.frames.slice(1).map((f) => [f.id, f.event]),
      Array.from({ length: MAX_REPLAY }, (_, k) => [String(to + 1 + k), 'block']),
    );
    await closeAll();
  });

  test('from below the blocks a pruned node keeps: event gap up to them, then every kept block', async () => {
    const tip = ledger.height;
    keptFrom = tip - 1; // within the replay bound: the gap is the pruning's, not the bound's
    try {
      const s = await open('?from=1');
      await s.untilId(tip);
      assert.deepEqual(s.frames[0], {
        id: String(tip - 2),
        event: 'gap',
        data: { from: 2, to: tip - 2 } satisfies GapEvent,
      });
      assert.deepEqual(
        s.frames.slice(1).map((f) => [f.id, f.event]),
        [
          [String(tip - 1), 'block'],
          [String(tip), 'block'],
        ],
      );
    } finally {
      keptFrom = undefined;
      await closeAll();
    }
  });

  test('?tx=: one event when the tx commits, at once if it has, never again after its id', async () => {
    const early = transfer(1);
    const { block } = await commit([transfer(0), early]);
    const hash = toHex(block.txHashes[1]!);
    const h = block.header.height;
    const s = await open(`?tx=${hash}`);
    await s.untilId(ledger.height);
    assert.deepEqual(s.frames, [
      {
        id: `${h}:1`,
        event: 'tx',
        data: {
          hash,
          height: h,
          index: 1,
          senderAddress: address(1),
          status: 'ok',
          code: 'OK',
          failedOp: null,
        } satisfies TxEvent,
      },
      { id: String(ledger.height), event: undefined, data: undefined },
    ]);
    // Resumed at its id: nothing but the block ids that move the resume point on.
    const resumed = await open(`?tx=${hash}&from=${h}:1`);
    const next = (await commit([transfer(0)])).block.header.height;
    await resumed.untilId(next);
    assert.deepEqual(resumed.events('tx'), []);
    // A tx that has not committed yet: its event comes live, once.
    const later = transfer(1);
    const pendingHash = toHex(txHash(later));
    const waiting = await open(`?tx=${pendingHash}`);
    await waiting.untilId(ledger.height);
    const { block: laterBlock } = await commit([transfer(0), transfer(0), later]);
    await commit([transfer(0)]);
    await waiting.untilId(ledger.height);
    assert.deepEqual(
      waiting.events('tx').map((f) => [f.id, (f.data as TxEvent).hash]),
      [[`${laterBlock.header.height}:2`, pendingHash]],
    );
    await closeAll();
  });

  test('?address=: each tx that address sends, replayed and live, its receipt status; nothing else', async () => {
    const before = ledger.height;
    const a = await commit([transfer(1), transfer(0), transfer(1)]);
    const s = await open(`?address=${address(1)}&from=${before}`);
    await s.untilId(a.block.header.height);
    // Live: a transfer it cannot pay fails (its nonce stays unused).
    const failing = transferTx(
      chain,
      1,
      addressOf(chain.accountKeys[2]!.publicKey),
      10n ** 30n,
      nonces[1]!,
    );
    const b = await commit([transfer(0), failing]);
    await s.untilId(b.block.header.height);
    const ha = a.block.header.height;
    const hb = b.block.header.height;
    assert.deepEqual(
      s.frames.map((f) => [f.id, f.event]),
      [
        [`${ha}:0`, 'tx'],
        [`${ha}:2`, 'tx'],
        [String(ha), undefined],
        [`${hb}:1`, 'tx'],
        [String(hb), undefined],
      ],
    );
    const failed = s.events('tx')[2]!.data as TxEvent;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.code, 'BANK_INSUFFICIENT_FUNDS');
    assert.equal(failed.senderAddress, address(1));
    // Resumed inside a block: only what follows that tx.
    const inside = await open(`?address=${address(1)}&from=${ha}:0`);
    await inside.untilId(hb);
    assert.deepEqual(
      inside.events('tx').map((f) => f.id),
      [`${ha}:2`, `${hb}:1`],
    );
    await closeAll();
  });

  test('bad parameters are 400 with a code; the stream cap is 503', async () => {
    const hash = 'ab'.repeat(32);
    const cases: Array<[string, Record<string, string>, string]> = [
      ['?filter=x', {}, 'RPC_BAD_FILTER'],
      [`?tx=${hash}&address=${'00'.repeat(20)}`, {}, 'RPC_BAD_FILTER'],
      [`?tx=${hash}&tx=${hash}`, {}, 'RPC_BAD_FILTER'],
      ['?tx=zz', {}, 'RPC_BAD_HASH'],
      ['?tx=abab', {}, 'RPC_BAD_HASH'],
      ['?address=0x12', {}, 'ADDRESS_INVALID'],
      ['?from=-1', {}, 'RPC_BAD_EVENT_ID'],
      ['?from=1:2:3', {}, 'RPC_BAD_EVENT_ID'],
      ['?from=abc', {}, 'RPC_BAD_EVENT_ID'],
      ['', { 'Last-Event-ID': 'x' }, 'RPC_BAD_EVENT_ID'],
    ];
    for (const [query, headers, code] of cases) {
      const res = await httpJson<{ error: { code: string } }>(`${url}/events${query}`, {
        headers,
      });
      assert.deepEqual([res.status, res.body.error.code], [400, code], query);
    }
    for (let i = 0; i < MAX_CLIENTS; i++) await open();
    const refused = await httpJson<{ error: { code: string } }>(`${url}/events`);
    assert.deepEqual([refused.status, refused.body.error.code], [503, 'RPC_TOO_MANY_STREAMS']);
    streams.pop()!.close();
    await waitUntil(() => server.openEventStreams < MAX_CLIENTS, 'a closed stream to go');
    assert.equal((await open()).status, 200);
    await closeAll();
  });

  test('SDK: openBlockEvents resumes from a height; openTxEvents filters; a gap throws CLIENT_EVENTS_GAP', async () => {
    const client = new CivitasClient(url);
    const from = ledger.height;
    await commit();
    await commit([transfer(1)]);
    const blocks = await client.openBlockEvents({ from });
    const seen: number[] = [];
    for await (const b of blocks) {
      seen.push(b.height);
      assert.equal(blocks.lastEventId, String(b.height));
      if (b.height === from + 2) break;
    }
    assert.deepEqual(seen, [from + 1, from + 2]);

    const txs = await client.openTxEvents({ address: address(1) }, { from });
    for await (const t of txs) {
      assert.deepEqual([t.height, t.senderAddress, t.status], [from + 2, address(1), 'ok']);
      assert.equal(txs.lastEventId, `${from + 2}:0`);
      break;
    }

    const far = await client.openBlockEvents({ from: 0 });
    await assert.rejects(
      (async () => {
        for await (const _ of far) assert.fail('no block before the gap');
      })(),
      (err: unknown) =>
        err instanceof CivitasError &&
        err.code === 'CLIENT_EVENTS_GAP' &&
        err.context.to === ledger.height - MAX_REPLAY,
    );
    assert.equal(far.lastEventId, String(ledger.height - MAX_REPLAY));

    const gaps: GapEvent[] = [];
    const tip = ledger.height;
    const withGap = await client.openBlockEvents({ from: 0, onGap: (g) => gaps.push(g) });
    for await (const b of withGap) if (b.height === tip) break;
    assert.deepEqual(gaps, [{ from: 1, to: tip - MAX_REPLAY }]);

    await assert.rejects(client.openTxEvents({ tx: 'nope' }), { code: 'RPC_BAD_HASH' });
    // Each stream above was left by `break` or a throw, which closes its connection.
    await waitUntil(() => server.openEventStreams === 0, 'the SDK streams to close');
  });

  test('a client that does not read is dropped once the node holds more than the bound for it', async () => {
    // Loopback sockets absorb megabytes before Node buffers anything, so the stream here is a
    // response that never drains: everything written stays in writableLength.
    const streams2 = new EventStreams(
      { ...EVENT_STREAM_LIMITS, maxBufferedBytes: 1_000 },
      { chain: ledger, info: { chainId: chain.genesis.chainId }, events, logger: silentLogger },
    );
    streams2.start();
    try {
      const stuck = Object.assign(
        new Writable({ write: () => {} }), // never calls back: nothing drains
        { writeHead: () => {} },
      );
      streams2.open(undefined as never, stuck as never, {
        filter: { kind: 'blocks' },
        after: undefined,
      });
      assert.equal(streams2.size, 1);
      let blocks = 0;
      while (!stuck.destroyed) {
        await commit();
        blocks++;
        assert.ok(blocks < 50, 'still not dropped after 50 blocks');
      }
      assert.equal(streams2.size, 0);
      assert.ok(blocks >= 5, `dropped after ${blocks} blocks: the bound is 1,000 bytes`);
    } finally {
      streams2.stop();
    }
  });
});
