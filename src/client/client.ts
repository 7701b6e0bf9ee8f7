/**
 * The HTTP client: typed calls to a node's API. Errors from the node arrive as
 * CivitasError with the node's code; a node that cannot be reached is CLIENT_UNREACHABLE.
 */

import type {
  AccountResponse,
  BlockEvent,
  BlockResponse,
  HistoryResponse,
  ProposalResponse,
  ProposalsResponse,
  StateResponse,
  StatusResponse,
  SubmitTxResponse,
  TxResponse,
  ValidatorChangesResponse,
  ValidatorsResponse,
} from '../api/types.ts';
import { encodeTx, type Tx } from '../chain/index.ts';
import { toHex } from '../crypto/bytes.ts';
import { CivitasError } from '../errors/index.ts';

/** Parses the server-sent events of GET /events into block events. */
async function* readBlockEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<BlockEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split('\n').find((l) => l.startsWith('data: '));
      if (data !== undefined) yield JSON.parse(data.slice(6)) as BlockEvent;
      end = buffer.indexOf('\n\n');
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

export class CivitasClient {
  readonly rpcUrl: string;
  private readonly timeoutMs: number;

  constructor(rpcUrl: string, opts: { timeoutMs?: number } = {}) {
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
      throw CivitasError.fromJSON({
        code: e?.code ?? 'CLIENT_HTTP_ERROR',
        message: e?.message ?? `HTTP ${res.status}`,
        context: { status: res.status },
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
   * Opens the node's stream of committed blocks. Resolves once the stream is open (so a
   * caller can then catch up on what committed before it), to an iterable of block events
   * that ends when the node closes the stream or `signal` aborts.
   */
  async openBlockEvents(signal?: AbortSignal): Promise<AsyncIterable<BlockEvent>> {
    let res: Response;
    try {
      res = await fetch(`${this.rpcUrl}/events`, { signal });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new CivitasError(
        'CLIENT_UNREACHABLE',
        `cannot reach node at ${this.rpcUrl} (${cause})`,
      );
    }
    if (!res.ok || res.body === null) {
      throw new CivitasError('CLIENT_HTTP_ERROR', `events: HTTP ${res.status}`, {
        status: res.status,
      });
    }
    return readBlockEvents(res.body as AsyncIterable<Uint8Array>);
  }

  /** Submits a signed tx; with `wait`, resolves once it is committed (or the wait times out). */
  submit(
    tx: Tx | Uint8Array,
    opts: { wait?: boolean; timeoutMs?: number } = {},
  ): Promise<SubmitTxResponse> {
    const bytes = tx instanceof Uint8Array ? tx : encodeTx(tx);
    const query = opts.wait
      ? `?wait=commit${opts.timeoutMs ? `&timeoutMs=${opts.timeoutMs}` : ''}`
      : '';
    return this.request('POST', `/txs${query}`, { tx: toHex(bytes) });
  }
}
