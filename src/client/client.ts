/**
 * The HTTP client: typed calls to a node's API. Errors from the node arrive as
 * CivitasError with the node's code; a node that cannot be reached is CLIENT_UNREACHABLE.
 */

import type {
  AccountResponse,
  BlockEvent,
  BlockResponse,
  GapEvent,
  HistoryResponse,
  ProposalResponse,
  ProposalsResponse,
  StateResponse,
  StatusResponse,
  SubmitTxResponse,
  TxEvent,
  TxResponse,
  ValidatorChangesResponse,
  ValidatorsResponse,
} from '../api/types.ts';
import { encodeTx, type Tx } from '../chain/index.ts';
import { toHex } from '../crypto/bytes.ts';
import { CivitasError } from '../errors/index.ts';

/** One server-sent event as it came: a frame without data only moves the last event id. */
interface SseFrame {
  id: string | undefined;
  event: string | undefined;
  data: string | undefined;
}

/** The chunks of a fetch body, through a reader (browsers without async iteration too). */
async function* bodyChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // The caller stopped early (or the stream failed): close the connection.
    await reader.cancel().catch(() => {});
  }
}

/**
 * Frames of an event stream, as the HTML standard reads them: lines end with LF, CRLF or CR;
 * `field: value` (one space after the colon dropped), comments (`:`) and other fields skipped;
 * a blank line ends a frame.
 */
async function* readFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  let buffer = '';
  let frame: SseFrame = { id: undefined, event: undefined, data: undefined };
  for await (const chunk of bodyChunks(body)) {
    let text = buffer + decoder.decode(chunk, { stream: true });
    // A CR at the very end may be the first half of a CRLF: it waits for the next chunk.
    const held = text.endsWith('\r') ? '\r' : '';
    if (held !== '') text = text.slice(0, -1);
    const lines = text.split(/\r\n|\n|\r/);
    // The last piece has no line end yet.
    buffer = lines.pop()! + held;
    for (const line of lines) {
      if (line === '') {
        if (frame.id !== undefined || frame.data !== undefined) yield frame;
        frame = { id: undefined, event: undefined, data: undefined };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') frame.id = value;
      else if (field === 'event') frame.event = value;
      else if (field === 'data')
        frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
    }
  }
}

/**
 * A stream of one kind of event from GET /events. `lastEventId` is the id of the last event
 * read (or of the last bare id a filtered stream sends after each block): open a stream with
 * `from: lastEventId` to go on right after it.
 */
export interface EventStream<T> extends AsyncIterable<T> {
  readonly lastEventId: string | undefined;
}

export interface EventStreamOptions {
  /**
   * Resume after this event id (a height, or `<height>:<index>` of a tx event): what committed
   * after it comes first, read from the node's store, then the live stream.
   */
  from?: number | string;
  signal?: AbortSignal;
  /**
   * The node replays at most 1,000 blocks: resumed from further back, it names the blocks it
   * skipped. Without this callback the stream then throws CLIENT_EVENTS_GAP (its context holds
   * `from` and `to`; `lastEventId` is then `to`, so a stream opened from it goes on after them).
   */
  onGap?: (gap: GapEvent) => void;
}

class EventStreamReader<T> implements EventStream<T> {
  lastEventId: string | undefined;
  private readonly body: ReadableStream<Uint8Array>;
  private readonly event: 'block' | 'tx';
  private readonly onGap: ((gap: GapEvent) => void) | undefined;

  constructor(
    body: ReadableStream<Uint8Array>,
    event: 'block' | 'tx',
    onGap: ((gap: GapEvent) => void) | undefined,
  ) {
    this.body = body;
    this.event = event;
    this.onGap = onGap;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const frame of readFrames(this.body)) {
      if (frame.id !== undefined) this.lastEventId = frame.id;
      if (frame.data === undefined) continue;
      if (frame.event === 'gap') {
        const gap = JSON.parse(frame.data) as GapEvent;
        if (this.onGap === undefined) {
          throw new CivitasError(
            'CLIENT_EVENTS_GAP',
            `the node did not replay blocks ${gap.from}..${gap.to} (read them with block(height))`,
            { from: gap.from, to: gap.to },
          );
        }
        this.onGap(gap);
      } else if (frame.event === this.event) {
        yield JSON.parse(frame.data) as T;
      }
    }
  }
}

/** `module/id` as path segments, each encoded on its own: ids like account/<address> keep their slashes. */
function objectPath(module: string, id: string): string {
  return [module, ...id.split('/')].map(encodeURIComponent).join('/');
}

function queryString(query: URLSearchParams): string {
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}

/** Errors of a connection that died under a request, as opposed to a node that is down. */
const STALE_SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/**
 * Answers after which submit() sends the same tx again: no answer at all (the connection
 * failed or the node is restarting), or a node that is busy or full for now. Safe because
 * submission is idempotent: the node answers a tx it already holds or committed with where
 * it is, never with a second copy.
 */
const RETRY_SUBMIT_CODES = new Set([
  'CLIENT_UNREACHABLE',
  'MEMPOOL_BUSY',
  'MEMPOOL_FULL',
  'MEMPOOL_SENDER_FULL',
]);
/** submit()'s back-off: the first wait, doubling up to the cap, each with ±50% jitter. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2_000;

export interface ClientOptions {
  /** Longest wait for any one answer, ms (default 130 s: above the longest commit wait). */
  timeoutMs?: number;
  /** How long submit() keeps sending a tx again after no answer or a busy node, ms (default 30 s; 0: never). */
  submitRetryMs?: number;
}

export interface SubmitOptions {
  /** Answer once the tx is committed (the node waits up to `timeoutMs`, its default 30 s). */
  wait?: boolean;
  timeoutMs?: number;
  /** This call's retry window (ClientOptions.submitRetryMs). */
  retryMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class CivitasClient {
  readonly rpcUrl: string;
  private readonly timeoutMs: number;
  private readonly submitRetryMs: number;

  constructor(rpcUrl: string, opts: ClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(rpcUrl);
    } catch {
      throw new CivitasError('CLIENT_BAD_URL', `not a URL: ${rpcUrl}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new CivitasError('CLIENT_BAD_URL', `not an http(s) URL: ${rpcUrl}`);
    }
    this.rpcUrl = url.toString().replace(/\/$/, '');
    this.timeoutMs = opts.timeoutMs ?? 130_000;
    this.submitRetryMs = opts.submitRetryMs ?? 30_000;
  }

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await fetch(`${this.rpcUrl}${path}`, {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        break;
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        // A kept-alive socket the node closed as we reused it fails before any answer. A GET
        // is safe to send again; a POST is not retried (the caller cannot tell whether the
        // first one arrived, and a second submission would answer "duplicate").
        if (method === 'GET' && attempt === 1 && STALE_SOCKET_CODES.has(cause)) continue;
        if ((err as Error).name === 'TimeoutError') {
          throw new CivitasError(
            'CLIENT_TIMEOUT',
            `no answer from the node at ${this.rpcUrl} within ${this.timeoutMs / 1000} s`,
          );
        }
        throw new CivitasError(
          'CLIENT_UNREACHABLE',
          `cannot reach node at ${this.rpcUrl} (${cause})`,
          {
            cause,
          },
        );
      }
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CivitasError('CLIENT_BAD_RESPONSE', `node answered ${res.status} with non-JSON`);
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string } }).error;
      // The node's own code, as sent: a node of another version may send one not in our catalogue.
      const retryAfterS = Number(res.headers.get('retry-after') ?? Number.NaN);
      throw CivitasError.fromJSON({
        code: e?.code ?? 'CLIENT_HTTP_ERROR',
        message: e?.message ?? `HTTP ${res.status}`,
        context: Number.isFinite(retryAfterS)
          ? { status: res.status, retryAfterMs: retryAfterS * 1000 }
          : { status: res.status },
      });
    }
    return json as T;
  }

  status(): Promise<StatusResponse> {
    return this.request('GET', '/status');
  }

  /** The set of the next height, or of `height`. */
  validators(height?: number): Promise<ValidatorsResponse> {
    return this.request(
      'GET',
      height === undefined ? '/validators' : `/validators?height=${height}`,
    );
  }

  /** Every validator-set change, with the header and certificate that prove it. */
  validatorChanges(): Promise<ValidatorChangesResponse> {
    return this.request('GET', '/validators/changes');
  }

  block(height: number | 'latest'): Promise<BlockResponse> {
    return this.request('GET', `/blocks/${height}`);
  }

  tx(hash: string): Promise<TxResponse> {
    return this.request('GET', `/txs/${hash}`);
  }

  account(address: string, opts: { proof?: boolean } = {}): Promise<AccountResponse> {
    return this.request('GET', `/accounts/${address}${opts.proof ? '?proof=true' : ''}`);
  }

  /**
   * An object of a module (GET /state/:module/:id): `present: false` and `value: null` when
   * absent. With `proof`, the state proof, header and certificate for verifyStateProof; with
   * `height`, the object as it was at that committed height (its proof anchored there).
   */
  state(
    module: string,
    id: string,
    opts: { proof?: boolean; height?: number } = {},
  ): Promise<StateResponse> {
    const query = new URLSearchParams();
    if (opts.proof) query.set('proof', 'true');
    if (opts.height !== undefined) query.set('height', String(opts.height));
    return this.request('GET', `/state/${objectPath(module, id)}${queryString(query)}`);
  }

  /**
   * One page of an object's history index (GET /history/:module/:id): which tx made each
   * revision from `from` on (default 1), `limit` entries (default 100, at most 1000), and
   * `next`, the `from` of the next page (null after the last). Unproven: verifyHistory
   * (src/client/history.ts) proves it.
   */
  history(
    module: string,
    id: string,
    opts: { from?: number; limit?: number } = {},
  ): Promise<HistoryResponse> {
    const query = new URLSearchParams();
    if (opts.from !== undefined) query.set('from', String(opts.from));
    if (opts.limit !== undefined) query.set('limit', String(opts.limit));
    return this.request('GET', `/history/${objectPath(module, id)}${queryString(query)}`);
  }

  /** The newest governance proposals (at most 100), status read at the node's height. */
  proposals(): Promise<ProposalsResponse> {
    return this.request('GET', '/gov/proposals');
  }

  /** One governance proposal; GOV_UNKNOWN_PROPOSAL (404) when there is none. */
  proposal(id: number | string): Promise<ProposalResponse> {
    return this.request('GET', `/gov/proposals/${encodeURIComponent(String(id))}`);
  }

  /**
   * Opens the node's stream of committed blocks (`signal` alone, as before, or options).
   * Resolves once the stream is open (so a caller can then catch up on what committed before
   * it), to an iterable of block events that ends when the node closes the stream or `signal`
   * aborts. With `from`, the blocks after that height come first, then the live ones, none
   * missed and none twice.
   */
  openBlockEvents(opts?: AbortSignal | EventStreamOptions): Promise<EventStream<BlockEvent>> {
    const options = opts instanceof AbortSignal ? { signal: opts } : (opts ?? {});
    return this.openEvents('block', new URLSearchParams(), options);
  }

  /**
   * Opens a stream of committed txs: the one with hash `tx` (once, at once if it is already
   * committed), or every tx `address` sends. Each event names the tx's place and its
   * receipt's status and code; `tx(hash)` has the rest and the proofs.
   */
  openTxEvents(
    filter: { tx: string } | { address: string },
    opts: EventStreamOptions = {},
  ): Promise<EventStream<TxEvent>> {
    const query = new URLSearchParams(
      'tx' in filter ? { tx: filter.tx } : { address: filter.address },
    );
    return this.openEvents('tx', query, opts);
  }

  private async openEvents<T>(
    event: 'block' | 'tx',
    query: URLSearchParams,
    opts: EventStreamOptions,
  ): Promise<EventStream<T>> {
    if (opts.from !== undefined) query.set('from', String(opts.from));
    let res: Response;
    try {
      res = await fetch(`${this.rpcUrl}/events${queryString(query)}`, {
        headers: { accept: 'text/event-stream' },
        signal: opts.signal,
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new CivitasError(
        'CLIENT_UNREACHABLE',
        `cannot reach node at ${this.rpcUrl} (${cause})`,
      );
    }
    if (!res.ok || res.body === null) {
      let error: { code?: string; message?: string } | undefined;
      try {
        error = ((await res.json()) as { error?: { code?: string; message?: string } }).error;
      } catch {
        // not JSON: the status says it
      }
      throw CivitasError.fromJSON({
        code: error?.code ?? 'CLIENT_HTTP_ERROR',
        message: error?.message ?? `events: HTTP ${res.status}`,
        context: { status: res.status },
      });
    }
    return new EventStreamReader<T>(res.body, event, opts.onGap);
  }

  /** Submits a signed tx; with `wait`, resolves once it is committed (or the wait times out). */
  /**
   * Submits a signed tx. Idempotent, so it is sent again (with back-off, for up to
   * `retryMs`) when no answer came back or the node was busy or full: a tx the node already
   * holds answers `pending`, one it committed answers `committed`, as the first submission
   * would have. Any other refusal, or the window running out, throws.
   */
  async submit(tx: Tx | Uint8Array, opts: SubmitOptions = {}): Promise<SubmitTxResponse> {
    const bytes = tx instanceof Uint8Array ? tx : encodeTx(tx);
    const query = opts.wait
      ? `?wait=commit${opts.timeoutMs ? `&timeoutMs=${opts.timeoutMs}` : ''}`
      : '';
    const body = { tx: toHex(bytes) };
    const deadline = Date.now() + (opts.retryMs ?? this.submitRetryMs);
    for (let backoff = RETRY_FIRST_MS; ; backoff = Math.min(2 * backoff, RETRY_MAX_MS)) {
      try {
        return await this.request<SubmitTxResponse>('POST', `/txs${query}`, body);
      } catch (err) {
        if (!(err instanceof CivitasError) || !RETRY_SUBMIT_CODES.has(err.code)) throw err;
        const hinted = err.context.retryAfterMs;
        const jittered = backoff * (0.5 + Math.random());
        const pause = typeof hinted === 'number' ? Math.max(hinted, jittered) : jittered;
        if (Date.now() + pause > deadline) throw err;
        await sleep(pause);
      }
    }
  }
}
