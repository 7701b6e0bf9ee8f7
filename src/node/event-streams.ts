/**
 * GET /events: server-sent events of committed blocks, resumable and filtered.
 *
 * Every event has an id that is its place in the chain: `<height>` for a block,
 * `<height>:<index>` for a tx. A filtered stream (`tx` or `address`) also sends a bare
 * `id: <height>` after each block, which moves the client's resume point on without an event
 * (an EventSource keeps the id of a dispatch with no data), so a quiet filter resumes from
 * where the chain was, not from its last match.
 *
 * A client that resumes (Last-Event-ID, or `from`) is first served from the chain store, then
 * joins the live stream; the switch happens in the same turn as the check that it has caught
 * up with the ledger's height. The ledger's height moves before the node announces a block, so
 * every block announced after the switch is above what was replayed or the next one, and one
 * that is neither (a gap) sends the client back to the store. Each client keeps the position it
 * was last sent, and nothing at or below it is sent again: no gap, no repeat.
 *
 * Bounds (EVENT_STREAM_LIMITS): 256 streams; at most 1,000 blocks replayed (from further back
 * the client is told with `event: gap`); while replaying, the node waits for the client's
 * socket to drain; a live client whose socket holds more than 1 MiB unsent is dropped, so a
 * client that does not read cannot make the node buffer without bound.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BlockEvent, GapEvent, TxEvent } from '../api/types.ts';
import { addressOf, parseAddress, type SealedBlock } from '../chain/index.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError } from '../errors/index.ts';
import type { ChainStore } from '../state/store.ts';
import type { CommittedBlockEvent, NodeEvents } from './block-committer.ts';
import type { Logger } from './logger.ts';

export interface EventStreamLimits {
  /** Streams open at once (RPC_TOO_MANY_STREAMS beyond). */
  readonly maxClients: number;
  /** A resumed stream replays at most this many blocks from the store. */
  readonly maxReplayBlocks: number;
  /** A client whose socket holds more than this unsent is dropped. */
  readonly maxBufferedBytes: number;
}

export const EVENT_STREAM_LIMITS: EventStreamLimits = {
  maxClients: 256,
  maxReplayBlocks: 1_000,
  maxBufferedBytes: 1024 * 1024,
};

/** While replaying, the node waits for the socket to drain above this. */
const REPLAY_PAUSE_BYTES = 64 * 1024;

/** The index of a block's end: a position (h, END) is "all of block h". */
const END = Number.MAX_SAFE_INTEGER;

/** A place in the chain: a tx (height, index), or the end of a block (height, END). */
export interface Position {
  readonly height: number;
  readonly index: number;
}

export type EventFilter =
  | { readonly kind: 'blocks' }
  | { readonly kind: 'tx'; readonly hash: Uint8Array; readonly hex: string }
  | { readonly kind: 'address'; readonly hex: string };

export interface EventStreamRequest {
  readonly filter: EventFilter;
  /** Resume after this position; undefined: from now on. */
  readonly after: Position | undefined;
}

const PARAMETERS = new Set(['from', 'tx', 'address']);
const EVENT_ID = /^([0-9]{1,15})(?::([0-9]{1,6}))?$/;

/** An event id (`<height>` or `<height>:<index>`) as the position it names. */
export function parseEventId(text: string): Position {
  const m = EVENT_ID.exec(text);
  if (m === null) {
    throw new CivitasError(
      'RPC_BAD_EVENT_ID',
      `not an event id (<height> or <height>:<index>): ${text.slice(0, 40)}`,
    );
  }
  return { height: Number(m[1]), index: m[2] === undefined ? END : Number(m[2]) };
}

/**
 * The stream a request asks for. Rules: only `from`, `tx` and `address`, each at most once;
 * `tx` and `address` not together; Last-Event-ID (an EventSource's reconnection) wins over
 * `from` (the URL it reconnects to still carries the first one).
 */
export function parseEventStreamRequest(
  query: URLSearchParams,
  lastEventId: string | undefined,
): EventStreamRequest {
  for (const key of new Set(query.keys())) {
    if (!PARAMETERS.has(key)) {
      throw new CivitasError(
        'RPC_BAD_FILTER',
        `unknown parameter ${JSON.stringify(key.slice(0, 40))} (from, tx, address)`,
      );
    }
    if (query.getAll(key).length > 1) {
      throw new CivitasError('RPC_BAD_FILTER', `${key} is given more than once`);
    }
  }
  const tx = query.get('tx');
  const address = query.get('address');
  if (tx !== null && address !== null) {
    throw new CivitasError('RPC_BAD_FILTER', 'tx and address cannot be combined');
  }
  let filter: EventFilter = { kind: 'blocks' };
  if (tx !== null) {
    let hash: Uint8Array;
    try {
      hash = fromHex(tx, HASH_LENGTH);
    } catch {
      throw new CivitasError('RPC_BAD_HASH', `not a 32-byte hex hash: ${tx.slice(0, 80)}`);
    }
    filter = { kind: 'tx', hash, hex: toHex(hash) };
  } else if (address !== null) {
    filter = { kind: 'address', hex: toHex(parseAddress(address)) };
  }
  const id = lastEventId !== undefined && lastEventId !== '' ? lastEventId : query.get('from');
  return { filter, after: id === null ? undefined : parseEventId(id) };
}

export interface EventStreamsModules {
  chain: {
    readonly height: number;
    readonly store: Pick<ChainStore, 'getBlock' | 'getTxLocation' | 'getReceipt' | 'retainedFrom'>;
  };
  /** Named in the comment that opens each stream. */
  info: { readonly chainId: string };
  events: NodeEvents;
  logger: Logger;
}

interface Client {
  readonly res: ServerResponse;
  readonly filter: EventFilter;
  /** The last position sent (or passed over): nothing at or below it is sent again. */
  at: Position;
  /** Fed by committed-block announcements; false while served from the store. */
  live: boolean;
  /** A tx filter's tx was sent (or was at or below the resume point). */
  txSent: boolean;
  closed: boolean;
}

function blockEvent(block: SealedBlock): BlockEvent {
  return {
    height: block.header.height,
    hash: toHex(block.hash),
    timestamp: block.header.timestamp,
    txs: block.txHashes.length,
  };
}

function frame(event: string, id: string, data: BlockEvent | TxEvent | GapEvent): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Whether block `height` has anything above `at` (false: sent already, or passed over). */
function isPast(height: number, at: Position): boolean {
  return height < at.height || (height === at.height && at.index === END);
}

/** Whether block `height` comes right after `at` (the rest of at's block, or the next one). */
function isNext(height: number, at: Position): boolean {
  return at.index === END ? height === at.height + 1 : height === at.height;
}

export class EventStreams {
  private readonly limits: EventStreamLimits;
  private readonly m: EventStreamsModules;
  private readonly log: Logger;
  private readonly clients = new Set<Client>();
  /** Live delivery to filtered clients: one block at a time, in order (receipts are read). */
  private filtered: Promise<void> = Promise.resolve();

  constructor(limits: EventStreamLimits, modules: EventStreamsModules) {
    this.limits = limits;
    this.m = modules;
    this.log = modules.logger;
  }

  start(): void {
    this.m.events.on('block', this.onBlock);
  }

  stop(): void {
    this.m.events.off('block', this.onBlock);
    for (const c of this.clients) {
      c.closed = true;
      c.res.end();
    }
    this.clients.clear();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Opens a stream on `res` (the request's parameters parsed by parseEventStreamRequest). */
  open(_req: IncomingMessage, res: ServerResponse, request: EventStreamRequest): void {
    if (this.clients.size >= this.limits.maxClients) {
      throw new CivitasError('RPC_TOO_MANY_STREAMS', 'too many event streams open');
    }
    const tip = this.m.chain.height;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(`: civitas ${this.m.info.chainId} height ${tip}\n\n`);
    const { filter, after } = request;
    const client: Client = {
      res,
      filter,
      // A tx filter without a resume point wants its tx wherever it committed.
      at: after ?? (filter.kind === 'tx' ? { height: 0, index: END } : { height: tip, index: END }),
      live: false,
      txSent: false,
      closed: false,
    };
    this.clients.add(client);
    res.on('close', () => this.drop(client));
    void this.catchUp(client);
  }

  /**
   * Serves a client from the store until it has caught up with the ledger's height, then makes
   * it live in the same turn as that check (runs synchronously when there is nothing to do).
   */
  private async catchUp(c: Client): Promise<void> {
    c.live = false;
    try {
      while (!c.closed) {
        const tip = this.m.chain.height;
        if (isPast(tip, c.at) || c.at.height > tip) {
          c.live = true;
          return;
        }
        if (c.filter.kind === 'tx') await this.lookUpTx(c, c.filter, tip);
        else await this.replay(c, tip);
      }
    } catch (err) {
      if (c.closed) return;
      this.log.warn('event stream failed while catching up; closing it', {
        err: (err as Error).message,
      });
      this.drop(c);
    }
  }

  /**
   * Rule: at most maxReplayBlocks blocks, and none below the blocks this node keeps (a pruned
   * or state-synced node: `blocksFrom`); anything before them is one `gap` event.
   */
  private async replay(c: Client, tip: number): Promise<void> {
    let first = c.at.index === END ? c.at.height + 1 : c.at.height;
    const kept = this.m.chain.store.retainedFrom().blocksFrom;
    if (tip - first + 1 > this.limits.maxReplayBlocks || first < kept) {
      const to = Math.max(tip - this.limits.maxReplayBlocks, kept - 1);
      this.write(c, frame('gap', String(to), { from: first, to }));
      c.at = { height: to, index: END };
      first = to + 1;
    }
    for (let height = first; height <= tip && !c.closed; height++) {
      const block = await this.m.chain.store.getBlock(height);
      if (block === undefined) {
        throw new CivitasError('LEDGER_CORRUPT', `block ${height} missing`);
      }
      const txEvents =
        c.filter.kind === 'blocks' ? new Map() : await this.txEvents(block, [c.filter]);
      this.deliver(c, block, txEvents);
      if (c.res.writableLength > REPLAY_PAUSE_BYTES) await this.drained(c);
    }
  }

  /**
   * A tx filter catches up through the tx index, not the blocks. `tip` is read before the
   * lookup: a tx the index does not know yet commits above it, and reaches the client live.
   */
  private async lookUpTx(
    c: Client,
    filter: Extract<EventFilter, { kind: 'tx' }>,
    tip: number,
  ): Promise<void> {
    if (!c.txSent) {
      const location = await this.m.chain.store.getTxLocation(filter.hash);
      if (location !== undefined && !c.closed) {
        c.txSent = true;
        if (!isPast(location.height, c.at) && location.index > atIndex(c.at, location.height)) {
          const block = await this.m.chain.store.getBlock(location.height);
          if (block === undefined) {
            throw new CivitasError('LEDGER_CORRUPT', `block ${location.height} missing`);
          }
          const event = (await this.txEvents(block, [filter])).get(location.index);
          if (event !== undefined) {
            this.write(c, frame('tx', `${location.height}:${location.index}`, event));
          }
        }
      }
    }
    if (c.at.height <= tip) {
      c.at = { height: tip, index: END };
      this.write(c, `id: ${tip}\n\n`);
    }
  }

  private readonly onBlock = ({ block }: CommittedBlockEvent): void => {
    const height = block.header.height;
    const filtered: Client[] = [];
    for (const c of this.clients) {
      if (!c.live) continue; // its catch-up reads this block from the store
      if (c.filter.kind !== 'blocks') filtered.push(c);
      else this.deliverLive(c, block, new Map());
    }
    if (filtered.length === 0) return;
    this.filtered = this.filtered
      .then(async () => {
        const txEvents = await this.txEvents(
          block,
          filtered.map((c) => c.filter),
        );
        for (const c of filtered) if (c.live) this.deliverLive(c, block, txEvents);
      })
      .catch((err) => {
        this.log.warn('event streams: cannot read block receipts', {
          height,
          err: (err as Error).message,
        });
        // Each client goes back to the store, which it reads on its own.
        for (const c of filtered) if (c.live && !c.closed) void this.catchUp(c);
      });
  };

  private deliverLive(c: Client, block: SealedBlock, txEvents: Map<number, TxEvent>): void {
    const height = block.header.height;
    if (c.closed || isPast(height, c.at)) return;
    if (!isNext(height, c.at)) {
      void this.catchUp(c); // a block it has not had: back to the store
      return;
    }
    this.deliver(c, block, txEvents);
  }

  /** A block's events for `c` above its position; then `c` is at the block's end. */
  private deliver(c: Client, block: SealedBlock, txEvents: Map<number, TxEvent>): void {
    const height = block.header.height;
    const filter = c.filter;
    let text = '';
    if (filter.kind === 'blocks') {
      text = frame('block', String(height), blockEvent(block));
    } else {
      const above = atIndex(c.at, height);
      for (const [index, event] of txEvents) {
        if (index <= above) continue;
        if (filter.kind === 'tx') {
          if (c.txSent || event.hash !== filter.hex) continue;
          c.txSent = true;
        } else if (event.senderAddress !== filter.hex) {
          continue;
        }
        text += frame('tx', `${height}:${index}`, event);
      }
      text += `id: ${height}\n\n`;
    }
    c.at = { height, index: END };
    this.write(c, text);
  }

  /** The committed txs of `block` any of `filters` selects, by index (in index order). */
  private async txEvents(
    block: SealedBlock,
    filters: readonly EventFilter[],
  ): Promise<Map<number, TxEvent>> {
    const hashes = new Set<string>();
    const addresses = new Set<string>();
    for (const f of filters) {
      if (f.kind === 'tx') hashes.add(f.hex);
      else if (f.kind === 'address') addresses.add(f.hex);
    }
    const picked: Array<{ index: number; hash: string; sender: string }> = [];
    for (let index = 0; index < block.txs.length; index++) {
      const hash = toHex(block.txHashes[index]!);
      const sender =
        addresses.size > 0 || hashes.has(hash) ? toHex(addressOf(block.txs[index]!.sender)) : '';
      if (hashes.has(hash) || addresses.has(sender)) picked.push({ index, hash, sender });
    }
    const height = block.header.height;
    const receipts = await Promise.all(
      picked.map((p) => this.m.chain.store.getReceipt({ height, index: p.index })),
    );
    const out = new Map<number, TxEvent>();
    picked.forEach((p, i) => {
      const receipt = receipts[i];
      if (receipt === undefined) {
        throw new CivitasError('LEDGER_CORRUPT', `receipt ${height}:${p.index} missing`);
      }
      out.set(p.index, {
        hash: p.hash,
        height,
        index: p.index,
        senderAddress: p.sender,
        status: receipt.status,
        code: receipt.code,
        failedOp: receipt.failedOp,
      });
    });
    return out;
  }

  private write(c: Client, text: string): void {
    if (c.closed) return;
    c.res.write(text);
    if (c.res.writableLength > this.limits.maxBufferedBytes) {
      this.log.info('event stream dropped: the client does not read it', {
        buffered: c.res.writableLength,
      });
      this.drop(c);
    }
  }

  private drained(c: Client): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        c.res.off('drain', done);
        c.res.off('close', done);
        resolve();
      };
      c.res.on('drain', done);
      c.res.on('close', done);
    });
  }

  private drop(c: Client): void {
    if (c.closed) return;
    c.closed = true;
    this.clients.delete(c);
    c.res.destroy();
  }
}

/** The tx index in block `height` that `at` has reached (-1: none of that block yet). */
function atIndex(at: Position, height: number): number {
  return at.height === height ? at.index : -1;
}
