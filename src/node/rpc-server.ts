/**
 * The HTTP API. Built on node:http — the platform's own, well-kept server — with a small
 * route table (routes.ts): the API is a couple of dozen fixed routes, and a framework would
 * add more surface than it removes. JSON in and out, bytes as hex. Every client mistake is a
 * 4xx with `{"error": {"code", "message"}}`; only a fault of the node itself is a 500. The
 * OpenAPI document (src/api/openapi.ts) describes every route and answer.
 *
 *   GET  /status                    chain and node status (clock health, the lowest heights
 *                                   the node holds, the snapshot it joined from if it did)
 *   GET  /ready                     200 when the node is fit to serve and vote (peers for a
 *                                   quorum, in step with the chain, clock within the allowed
 *                                   drift), else 503 with the same body naming the failed check
 *   GET  /health                    200 {"status":"ok"} while the process answers
 *   GET  /openapi.json              the OpenAPI 3.1 description of this API
 *   GET  /validators[?height=H]     the validator set of the next height (or of height H)
 *   GET  /validators/changes        every validator-set change with its header and certificate
 *   POST /txs[?wait=commit&timeoutMs=N]  submit {"tx": "<hex>"} (or raw bytes); idempotent:
 *                                  the same tx again answers where it is (pending/committed)
 *   GET  /txs/:hash                 tx, receipt, Merkle proofs, header and certificate
 *   GET  /blocks/:height|latest     a block (JSON view + canonical bytes)
 *   GET  /accounts/:address[?proof=true]  balance and nonce (+ state proof)
 *   GET  /state/:module/:id[?proof=true][&height=H]  a module's object as JSON (+ state
 *                                   proof), at the tip or at a past height H; the id is
 *                                   everything after the module, '/' included
 *   GET  /history/:module/:id[?from=R&limit=N]  the object's history index: which tx (and op,
 *                                   and governance action) made each revision from R (default
 *                                   1) on, N entries (default 100, at most 1000) and `next`;
 *                                   unproven, a client proves each tx (src/client/history.ts);
 *                                   410 HISTORY_NOT_INDEXED for revisions made below the
 *                                   index's first height (a node that joined by state sync)
 *   GET  /gov/proposals             the last 100 governance proposals, newest first
 *   GET  /gov/proposals/:id         one proposal (status read at the current height)
 *   GET  /events[?from=ID][&tx=H|&address=A]  server-sent events, one per committed block
 *                                   (`id: <height>`), or per committed tx a filter selects
 *                                   (`id: <height>:<index>`); resumable (event-streams.ts)
 *   GET  /metrics                   Prometheus text (src/node/metrics.ts)
 *   GET|POST /admin/faults          fault injection (src/node/fault-injection.ts); 403 unless
 *                                   the node runs with CIVITAS_ENABLE_FAULT_INJECTION=1
 *
 * Beside the API, GET /explorer/ serves the explorer's static files (explorer-files.ts): a
 * web page, not an API route, so neither in the route table nor in the OpenAPI document.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type OpenApiDocument, openApiDocument } from '../api/openapi.ts';
import type {
  AccountProof,
  AccountResponse,
  BlockResponse,
  ClockJson,
  FaultsResponse,
  HealthResponse,
  HistoryResponse,
  ProposalJson,
  ProposalResponse,
  ProposalsResponse,
  ReadyResponse,
  StateResponse,
  StatusResponse,
  SubmitTxResponse,
  TxResponse,
  ValidatorChangesResponse,
  ValidatorsResponse,
} from '../api/types.ts';
import type { App } from '../app/app.ts';
import { accountStateKey, getAccount } from '../app/bank/account.ts';
import { proposalToJson } from '../app/gov/index.ts';
import { NEXT_KEY, nextIdCodec, proposalCodec, proposalKey } from '../app/gov/state.ts';
import type { AppModule } from '../app/module.ts';
import { entriesCodec, SET_KEY as VALIDATOR_SET_KEY } from '../app/validators/state.ts';
import {
  blockToJson,
  certificateToJson,
  decodeReceipt,
  encodeHeader,
  headerToJson,
  merkleProof,
  merkleProofToJson,
  parseAddress,
  receiptToJson,
  txHashOfBytes,
  txToJson,
} from '../chain/index.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError, httpStatusOf, isCivitasError } from '../errors/index.ts';
import type { Ledger } from '../state/ledger.ts';
import { encodeStateProof, stateProofToJson } from '../state/smt/index.ts';
import type { ChainStore } from '../state/store.ts';
import type { NodeEvents } from './block-committer.ts';
import { buildInfo } from './build-info.ts';
import type { ClockHealthReport } from './clock-health.ts';
import type { ConsensusStatus } from './consensus-service.ts';
import {
  EVENT_STREAM_LIMITS,
  type EventStreamLimits,
  EventStreams,
  parseEventStreamRequest,
} from './event-streams.ts';
import { ExplorerFiles, isExplorerPath } from './explorer-files.ts';
import type { FaultInjector } from './fault-injection.ts';
import type { Logger } from './logger.ts';
import type { NodeMetrics } from './metrics.ts';
import { matchRoute } from './routes.ts';

export interface RpcOptions {
  listen: string;
  maxBodyBytes: number;
  /** GET /events' bounds; EVENT_STREAM_LIMITS unless a test sets smaller ones. */
  eventStreams?: Partial<EventStreamLimits>;
  /** The explorer's built files; explorer/dist of the package unless a test sets another. */
  explorerDir?: string;
}

/** What the API reads of the chain: the tip, the validator sets, blocks, txs, receipts, state. */
export type RpcChain = Pick<
  Ledger,
  'tip' | 'height' | 'validatorsAt' | 'validatorChanges' | 'getValue' | 'prove' | 'history'
> & {
  store: Pick<
    ChainStore,
    | 'getTxLocation'
    | 'getReceipt'
    | 'getReceiptBytes'
    | 'getBlock'
    | 'getCertificate'
    | 'getCertificateBytes'
    | 'retainedFrom'
    | 'syncedFrom'
    | 'validatorChangeBlock'
  >;
};

/** What the API tells about the node itself (GET /status, /validators). */
export interface RpcNodeInfo {
  chainId: string;
  moniker: string;
  validatorKey: Uint8Array;
  startedAt: number;
  /** A validator's name from the genesis (by index in the set). */
  validatorName(index: number): string | undefined;
  consensus(): ConsensusStatus;
  mempoolSize(): number;
  /** Txs held behind a nonce gap. */
  mempoolQueued(): number;
  peers(): string[];
  /** The clock-offset estimate (clock-health.ts). */
  clock(): ClockHealthReport;
  /** Heights behind the chain, as far as this node has heard (0 for a solo validator). */
  behind(): number;
}

/** Submitting txs and waiting for them. */
export interface RpcTxs {
  submit(encoded: Uint8Array): Promise<Uint8Array>;
  waitFor(hash: Uint8Array, timeoutMs: number): Promise<number>;
  isPending(hash: Uint8Array): boolean;
}

export interface RpcModules {
  chain: RpcChain;
  /** The application's modules: object keys and JSON views for /state and /gov. */
  app: App;
  info: RpcNodeInfo;
  txs: RpcTxs;
  events: NodeEvents;
  metrics: Pick<NodeMetrics, 'text' | 'contentType'>;
  /** Present only when fault injection is enabled. */
  faults: Pick<FaultInjector, 'status' | 'apply'> | undefined;
  logger: Logger;
}

const DEFAULT_WAIT_MS = 30_000;
const MAX_WAIT_MS = 120_000;
/** Retry-After (seconds) on a 503 for a node with a backlog: about a few heights. */
const BUSY_RETRY_AFTER_S = 1;
/** GET /gov/proposals answers at most this many, the newest. */
const MAX_PROPOSALS_LISTED = 100;
/** GET /history entries per page: by default, and at most. */
const DEFAULT_HISTORY_PAGE = 100;
const MAX_HISTORY_PAGE = 1_000;
/** Revisions are u32 in the history index. */
const MAX_REV = 0xffff_ffff;

/** How long an idle kept-alive connection stays open. */
const KEEP_ALIVE_MS = 30_000;
/** Open connections the API accepts at once; more are closed as they arrive. */
const MAX_CONNECTIONS = 1_024;

/** /ready: a node this many heights behind what it heard is still in step (blocks in flight). */
const READY_MAX_BEHIND = 2;

function clockJson(r: ClockHealthReport): ClockJson {
  return { offsetMs: r.offsetMs, ok: r.ok, maxDriftMs: r.maxDriftMs };
}

export class RpcServer {
  private readonly opts: RpcOptions;
  private readonly m: RpcModules;
  private readonly chain: RpcChain;
  private readonly log: Logger;
  private readonly server: Server;
  private readonly streams: EventStreams;
  private readonly explorer: ExplorerFiles;
  private address: AddressInfo | undefined;
  /** GET /openapi.json, serialised once. */
  private openApiText: string | undefined;

  constructor(opts: RpcOptions, modules: RpcModules) {
    this.opts = opts;
    this.m = modules;
    this.chain = modules.chain;
    this.log = modules.logger;
    this.streams = new EventStreams(
      { ...EVENT_STREAM_LIMITS, ...opts.eventStreams },
      {
        chain: modules.chain,
        info: modules.info,
        events: modules.events,
        logger: modules.logger,
      },
    );
    this.explorer = new ExplorerFiles(opts.explorerDir);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => this.sendError(res, err));
    });
    // Idle kept-alive sockets are closed after KEEP_ALIVE_MS (Node advertises it in a
    // Keep-Alive: timeout=… header). Far above what clients keep an idle socket (undici: 4 s,
    // or the hint minus its margin), so the client always closes first: a socket the server
    // closes just as a client reuses it would fail that request (UND_ERR_SOCKET).
    this.server.keepAliveTimeout = KEEP_ALIVE_MS;
    this.server.headersTimeout = 10_000;
    this.server.maxConnections = MAX_CONNECTIONS;
    this.server.requestTimeout = MAX_WAIT_MS + 10_000;
  }

  async start(): Promise<void> {
    const i = this.opts.listen.lastIndexOf(':');
    const host = this.opts.listen.slice(0, i);
    const port = Number(this.opts.listen.slice(i + 1));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new CivitasError(
            'RPC_LISTEN_FAILED',
            `cannot listen on ${this.opts.listen}: ${err.code ?? err.message}`,
          ),
        );
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.address = this.server.address() as AddressInfo;
    this.streams.start();
  }

  /** GET /events streams open now. */
  get openEventStreams(): number {
    return this.streams.size;
  }

  get url(): string {
    const a = this.address;
    if (a === undefined) return `http://${this.opts.listen}`;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  async stop(): Promise<void> {
    this.streams.stop();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    if (status === 413) res.setHeader('connection', 'close');
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  private sendError(res: ServerResponse, err: unknown): void {
    const status = isCivitasError(err) ? httpStatusOf(err.code) : 500;
    if (status === 500)
      this.log.error('request failed', { err: (err as Error).stack ?? String(err) });
    const code = isCivitasError(err) ? err.code : 'INTERNAL';
    const message =
      status === 500 && !isCivitasError(err) ? 'internal error' : (err as Error).message;
    if (res.headersSent) {
      res.end();
      return;
    }
    // A node with a backlog refuses new txs for a moment; a client should come back later.
    if (status === 503) res.setHeader('retry-after', String(BUSY_RETRY_AFTER_S));
    this.send(res, status, { error: { code, message } });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if (isExplorerPath(url.pathname)) return this.explorer.serve(method, url.pathname, res);
    const match = matchRoute(method, url.pathname);
    if (!('key' in match)) {
      if (match.allowed.length > 0) {
        res.setHeader('allow', match.allowed.join(', '));
        throw new CivitasError('RPC_METHOD_NOT_ALLOWED', `no route ${method} ${url.pathname}`);
      }
      throw new CivitasError('RPC_NOT_FOUND', `no route ${method} ${url.pathname}`);
    }
    const { params } = match;
    switch (match.key) {
      case 'GET /status':
        return this.send(res, 200, this.status());
      case 'GET /ready': {
        const ready = this.ready();
        return this.send(res, ready.ready ? 200 : 503, ready);
      }
      case 'GET /health':
        return this.send(res, 200, { status: 'ok' } satisfies HealthResponse);
      case 'GET /openapi.json':
        return this.sendText(res, 200, 'application/json', this.openApi());
      case 'GET /validators': {
        const height = url.searchParams.get('height');
        return this.send(
          res,
          200,
          await this.validators(height === null ? undefined : parseHeight(height)),
        );
      }
      case 'GET /validators/changes':
        return this.send(res, 200, await this.validatorChanges());
      case 'POST /txs':
        return this.send(res, 200, await this.submitTx(req, url));
      case 'GET /txs/{hash}':
        return this.send(res, 200, await this.getTx(params.hash!));
      case 'GET /blocks/{id}':
        return this.send(res, 200, await this.getBlock(params.id!));
      case 'GET /accounts/{address}':
        return this.send(
          res,
          200,
          await this.account(params.address!, url.searchParams.get('proof') === 'true'),
        );
      case 'GET /state/{module}/{id}': {
        const { module, id } = objectTarget('state', url.pathname);
        const height = url.searchParams.get('height');
        return this.send(
          res,
          200,
          await this.stateObject(
            module,
            id,
            url.searchParams.get('proof') === 'true',
            height === null ? undefined : parseHeight(height),
          ),
        );
      }
      case 'GET /history/{module}/{id}': {
        const { module, id } = objectTarget('history', url.pathname);
        return this.send(res, 200, await this.history(module, id, url.searchParams));
      }
      case 'GET /gov/proposals':
        return this.send(res, 200, await this.proposals());
      case 'GET /gov/proposals/{id}':
        return this.send(res, 200, await this.proposal(params.id!));
      case 'GET /events': {
        const lastEventId = req.headers['last-event-id'];
        const request = parseEventStreamRequest(
          url.searchParams,
          typeof lastEventId === 'string' ? lastEventId.trim() : undefined,
        );
        return this.streams.open(req, res, request);
      }
      case 'GET /metrics':
        return this.sendText(res, 200, this.m.metrics.contentType, await this.m.metrics.text());
      case 'GET /admin/faults':
        return this.send(res, 200, this.faults().status());
      case 'POST /admin/faults':
        return this.send(res, 200, await this.setFaults(req));
      default:
        return unreachable(match.key);
    }
  }

  private sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  /** The OpenAPI document, its version the one GET /status reports. */
  openApiDocument(): OpenApiDocument {
    return openApiDocument(buildInfo().version);
  }

  private openApi(): string {
    this.openApiText ??= JSON.stringify(this.openApiDocument());
    return this.openApiText;
  }

  status(): StatusResponse {
    const { info } = this.m;
    const tip = this.chain.tip;
    const consensus = info.consensus();
    const validators = this.chain.validatorsAt(tip.height + 1);
    return {
      chainId: info.chainId,
      moniker: info.moniker,
      validator: toHex(info.validatorKey),
      height: tip.height,
      latestBlockHash: toHex(tip.hash),
      latestBlockTime: tip.timestamp,
      stateRoot: toHex(tip.stateRoot),
      consensus: {
        ...consensus,
        primaryKey: toHex(validators.validators[consensus.primary % validators.validators.length]!),
      },
      mempool: { size: info.mempoolSize(), queued: info.mempoolQueued() },
      peers: info.peers(),
      uptimeMs: Date.now() - info.startedAt,
      clock: clockJson(info.clock()),
      retained: { ...this.chain.store.retainedFrom() },
      stateSync: this.stateSyncJson(),
      ...buildInfo(),
    };
  }

  /** The snapshot height this node joined at (it did not replay below it), or null. */
  private stateSyncJson(): StatusResponse['stateSync'] {
    const height = this.chain.store.syncedFrom();
    return height === undefined ? null : { height };
  }

  /** Rules: peers for a quorum besides this node; at most READY_MAX_BEHIND heights behind; clock ok. */
  private ready(): ReadyResponse {
    const { info } = this.m;
    const set = this.chain.validatorsAt(this.chain.height + 1);
    const needed = set.validators.length > 1 ? set.quorum - 1 : 0;
    const connected = info.peers().length;
    const behind = info.behind();
    const clock = clockJson(info.clock());
    const checks = {
      peers: { ok: connected >= needed, connected, needed },
      sync: { ok: behind <= READY_MAX_BEHIND, behind },
      clock,
    };
    return { ready: checks.peers.ok && checks.sync.ok && clock.ok, checks };
  }

  /** Rule: a height from 1 to the next one (later sets are not decided yet). */
  private async validators(at?: number): Promise<ValidatorsResponse> {
    const next = this.chain.height + 1;
    const height = at ?? next;
    if (height < 1 || height > next) {
      throw new CivitasError('RPC_BAD_HEIGHT', `a validator set is known for heights 1..${next}`);
    }
    const set = this.chain.validatorsAt(height);
    // Names as governance recorded them (the set in state is the latest one).
    const stored = await this.chain.getValue(VALIDATOR_SET_KEY);
    const names = new Map(
      (stored === undefined ? [] : entriesCodec.decode(stored)).map((e) => [
        toHex(e.publicKey),
        e.name,
      ]),
    );
    return {
      height,
      hash: toHex(set.hash),
      quorum: set.quorum,
      maxFaulty: set.maxFaulty,
      validators: set.validators.map((v, i) => ({
        index: i,
        publicKey: toHex(v),
        name: names.get(toHex(v)) ?? this.m.info.validatorName(i) ?? `validator-${i}`,
      })),
    };
  }

  private async validatorChanges(): Promise<ValidatorChangesResponse> {
    const height = this.chain.height;
    const changes: ValidatorChangesResponse['changes'] = [];
    for (const change of this.chain.validatorChanges()) {
      if (change.fromHeight > height + 1) break;
      const at = change.fromHeight - 1;
      // The block, or on a node that joined by state sync the import's record of it.
      const made = await this.chain.store.validatorChangeBlock(at);
      if (made === undefined) {
        throw new CivitasError('LEDGER_CORRUPT', `block or certificate ${at} missing`);
      }
      changes.push({
        fromHeight: change.fromHeight,
        validators: change.set.validators.map(toHex),
        headerBytes: toHex(made.header),
        certificateBytes: toHex(made.certificate),
      });
    }
    return { height, changes };
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.opts.maxBodyBytes) {
      throw new CivitasError('RPC_BODY_TOO_LARGE', `body exceeds ${this.opts.maxBodyBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > this.opts.maxBodyBytes) {
        // Stop reading and answer 413; the connection closes after the reply.
        req.pause();
        throw new CivitasError(
          'RPC_BODY_TOO_LARGE',
          `body exceeds ${this.opts.maxBodyBytes} bytes`,
        );
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private async submitTx(req: IncomingMessage, url: URL): Promise<SubmitTxResponse> {
    const body = await this.readBody(req);
    let encoded: Uint8Array;
    if ((req.headers['content-type'] ?? '').startsWith('application/octet-stream')) {
      encoded = new Uint8Array(body);
    } else {
      let json: { tx?: unknown };
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        throw new CivitasError('RPC_BAD_JSON', 'body must be JSON {"tx": "<hex>"}');
      }
      if (json === null || typeof json !== 'object' || typeof json.tx !== 'string') {
        throw new CivitasError('RPC_BAD_REQUEST', 'body must be JSON {"tx": "<hex>"}');
      }
      encoded = fromHex(json.tx);
    }
    const wait = url.searchParams.get('wait');
    if (wait !== null && wait !== 'commit')
      throw new CivitasError('RPC_BAD_REQUEST', 'wait must be "commit"');
    const timeoutMs = parseTimeout(url.searchParams.get('timeoutMs'));
    let hash: Uint8Array;
    let committed = false;
    try {
      hash = await this.m.txs.submit(encoded);
    } catch (err) {
      // Submission is idempotent: the same bytes are the same tx (its hash is theirs), so a
      // client retrying after a lost answer learns where its tx is, not that it was "known".
      committed = isCivitasError(err, 'TX_ALREADY_COMMITTED');
      if (!committed && !isCivitasError(err, 'MEMPOOL_DUPLICATE')) throw err;
      hash = txHashOfBytes(encoded);
    }
    if (wait !== 'commit' && !committed) return { hash: toHex(hash), status: 'pending' };
    const height = await this.m.txs.waitFor(hash, timeoutMs);
    const location = await this.chain.store.getTxLocation(hash);
    const receipt = location && (await this.chain.store.getReceipt(location));
    return {
      hash: toHex(hash),
      status: 'committed',
      height,
      index: location?.index,
      receipt: receipt ? receiptToJson(receipt) : null,
    };
  }

  private async getTx(hashHex: string): Promise<TxResponse> {
    const hash = parseHash(hashHex);
    const store = this.chain.store;
    const location = await store.getTxLocation(hash);
    if (location === undefined) {
      if (this.m.txs.isPending(hash)) return { hash: toHex(hash), status: 'pending' };
      const { txsFrom } = store.retainedFrom();
      // A synced node never indexed the txs below its lifetime window: not found here is
      // not "never committed".
      const why =
        txsFrom > 0
          ? `: this node's tx index starts at height ${txsFrom} (it joined by state sync at ${store.syncedFrom()}), so it may be an older tx; ask an archive node`
          : '';
      throw new CivitasError('RPC_TX_NOT_FOUND', `tx ${toHex(hash)} not found${why}`, {
        txsFrom,
      });
    }
    const [block, certificate] = await Promise.all([
      store.getBlock(location.height),
      store.getCertificateBytes(location.height),
    ]);
    if (block === undefined || certificate === undefined) {
      throw new CivitasError('LEDGER_CORRUPT', `block ${location.height} missing`);
    }
    const receiptBytes = await store.getReceiptBytes(location.height, block.txs.length);
    const receipt = decodeReceipt(receiptBytes[location.index]!);
    return {
      hash: toHex(hash),
      status: 'committed',
      height: location.height,
      index: location.index,
      tx: txToJson(block.txs[location.index]!),
      txBytes: toHex(block.encodedTxs[location.index]!),
      receipt: receiptToJson(receipt),
      receiptBytes: toHex(receiptBytes[location.index]!),
      proof: merkleProofToJson(merkleProof(block.txHashes, location.index)),
      receiptProof: merkleProofToJson(merkleProof(receiptBytes, location.index)),
      header: headerToJson(block.header),
      headerBytes: toHex(encodeHeader(block.header)),
      certificateBytes: toHex(certificate),
    };
  }

  private async getBlock(which: string): Promise<BlockResponse> {
    const tip = this.chain.height;
    const height = which === 'latest' ? tip : parseHeight(which);
    if (height === 0)
      throw new CivitasError('RPC_BLOCK_NOT_FOUND', 'height 0 is the genesis state, not a block');
    const block = height <= tip ? await this.chain.store.getBlock(height) : undefined;
    if (block === undefined)
      throw new CivitasError('RPC_BLOCK_NOT_FOUND', `no block at height ${height} (tip is ${tip})`);
    const certificate = await this.chain.store.getCertificate(height);
    return {
      ...blockToJson(block),
      certificate: certificate ? certificateToJson(certificate) : null,
      blockBytes: toHex(block.encoded),
    };
  }

  private async account(addressHex: string, withProof: boolean): Promise<AccountResponse> {
    let address: Uint8Array;
    try {
      address = fromHex(addressHex, 20);
    } catch {
      address = parseAddress(addressHex);
    }
    const { height, value: account } = await this.atOneHeight(() =>
      getAccount(this.chain, address),
    );
    const out: AccountResponse = {
      address: toHex(address),
      balance: account.balance.toString(),
      nonce: account.nonce,
      height,
    };
    if (withProof) out.proof = (await this.proveAt(accountStateKey(address), height)).proof;
    return out;
  }

  /**
   * Reads from the flat state, which holds the latest values: again if a commit landed during
   * the read, so what is reported is what held at the height reported.
   */
  private async atOneHeight<T>(read: () => Promise<T>): Promise<{ height: number; value: T }> {
    let height = this.chain.height;
    let value = await read();
    while (this.chain.height !== height) {
      height = this.chain.height;
      value = await read();
    }
    return { height, value };
  }

  /**
   * A raw key's value and state proof at `height` (the versioned tree, so both are of that
   * height whatever commits meanwhile), with the header and certificate that anchor the root.
   */
  private async proveAt(
    key: Uint8Array,
    height: number,
  ): Promise<{ value: Uint8Array | undefined; proof: AccountProof }> {
    const p = await this.chain.prove(key, height);
    const [block, certificate] =
      height > 0
        ? await Promise.all([
            this.chain.store.getBlock(height),
            this.chain.store.getCertificateBytes(height),
          ])
        : [undefined, undefined];
    return {
      value: p.value,
      proof: {
        height,
        stateRoot: toHex(p.stateRoot),
        keyHash: toHex(p.keyHash),
        value: p.value === undefined ? null : toHex(p.value),
        proof: stateProofToJson(p.proof),
        proofBytes: toHex(encodeStateProof(p.proof)),
        headerBytes: block ? toHex(encodeHeader(block.header)) : null,
        certificateBytes: certificate ? toHex(certificate) : null,
      },
    };
  }

  private appModule(name: string): AppModule {
    const module = this.m.app.modules.get(name);
    if (module === undefined) {
      throw new CivitasError(
        'APP_UNKNOWN_MODULE',
        `no module ${JSON.stringify(name.slice(0, 64))} (modules: ${[...this.m.app.modules.keys()].join(', ')})`,
      );
    }
    return module;
  }

  /**
   * An object of a module: its key from the module (which checks the id), its JSON view, at
   * the tip or at `atHeight` (read from the versioned tree: every height in the kept window, state.keepVersions).
   */
  private async stateObject(
    moduleName: string,
    id: string,
    withProof: boolean,
    atHeight: number | undefined,
  ): Promise<StateResponse> {
    const module = this.appModule(moduleName);
    const key = module.objects.key(id);
    let height: number;
    let value: Uint8Array | undefined;
    let proof: StateResponse['proof'];
    if (atHeight !== undefined && atHeight > this.chain.height) {
      throw new CivitasError(
        'RPC_BLOCK_NOT_FOUND',
        `no block at height ${atHeight} (tip is ${this.chain.height})`,
      );
    }
    if (withProof || atHeight !== undefined) {
      height = atHeight ?? this.chain.height;
      const proven = await this.proveAt(key, height);
      value = proven.value;
      if (withProof) proof = { ...proven.proof, key: toHex(key) };
    } else {
      ({ height, value } = await this.atOneHeight(() => this.chain.getValue(key)));
    }
    const out: StateResponse = {
      module: moduleName,
      id,
      height,
      present: value !== undefined,
      value: value === undefined ? null : module.objects.toJson(value, id),
    };
    if (proof !== undefined) out.proof = proof;
    return out;
  }

  /**
   * An object's history index page: the entries from rev `from` (default 1), `limit` of them
   * (default 100, at most 1000), and the rev the next page starts at. A page that would start
   * with revisions made below the lowest height the index holds (a node that joined by state
   * sync) is 410 HISTORY_NOT_INDEXED, never a short list that looks complete.
   */
  private async history(
    moduleName: string,
    id: string,
    query: URLSearchParams,
  ): Promise<HistoryResponse> {
    const module = this.appModule(moduleName);
    const key = module.objects.key(id);
    const from = parseCount(query.get('from'), 'from', 0, MAX_REV, 1);
    const limit = parseCount(
      query.get('limit'),
      'limit',
      1,
      MAX_HISTORY_PAGE,
      DEFAULT_HISTORY_PAGE,
    );
    const { historyFrom } = this.chain.store.retainedFrom();
    // One more than asked for: whether there is a next page.
    const { height, value } = await this.atOneHeight(async () => {
      const read = await this.chain.history(key, { fromRev: from, limit: limit + 1 });
      if (historyFrom === 0) return { read, unindexed: 0 };
      // Revisions are 1..rev, each indexed if made from historyFrom on: those below the first
      // entry (or, with none, up to the object's current rev) were made before.
      const first = read[0]?.rev;
      const unindexed =
        first !== undefined ? first - 1 : currentRev(module, id, await this.chain.getValue(key));
      return { read, unindexed };
    });
    const { read, unindexed } = value;
    const start = Math.max(1, from);
    if (unindexed >= start) {
      throw new CivitasError(
        'HISTORY_NOT_INDEXED',
        `revisions ${start}..${unindexed} of ${moduleName} ${id} were made before height ${historyFrom}, where this node's history index starts (it joined by state sync at ${this.chain.store.syncedFrom()}); ask an archive node${read.length > 0 ? `, or from=${unindexed + 1} for the rest` : ''}`,
        { historyFrom, unindexedTo: unindexed },
      );
    }
    const page = read.slice(0, limit);
    return {
      module: moduleName,
      id,
      key: toHex(key),
      height,
      entries: page.map((e) => ({
        rev: e.rev,
        height: e.height,
        index: e.txIndex,
        txHash: toHex(e.txHash),
        opIndex: e.opIndex,
        action: e.action,
      })),
      next: read.length > limit ? read[limit]!.rev : null,
    };
  }

  private requireGov(): App {
    if (!this.m.app.modules.has('gov')) {
      throw new CivitasError('APP_UNKNOWN_MODULE', 'this chain runs no gov module');
    }
    return this.m.app;
  }

  /** The newest proposals (ids below gov/next), their status read at the height reported. */
  private async proposals(): Promise<ProposalsResponse> {
    const app = this.requireGov();
    const { height, value } = await this.atOneHeight(async () => {
      const raw = await this.chain.getValue(NEXT_KEY);
      const total = raw === undefined ? 0 : nextIdCodec.decode(raw) - 1;
      const ids: number[] = [];
      for (let id = total; id >= 1 && ids.length < MAX_PROPOSALS_LISTED; id--) ids.push(id);
      const values = await Promise.all(ids.map((id) => this.chain.getValue(proposalKey(id))));
      return { total, values };
    });
    return {
      height,
      total: value.total,
      proposals: value.values
        .filter((v) => v !== undefined)
        .map((v) => proposalView(app, v, height)),
    };
  }

  private async proposal(idText: string): Promise<ProposalResponse> {
    const app = this.requireGov();
    // The gov module's object ids are the proposal ids: it checks the id.
    const key = app.modules.get('gov')!.objects.key(idText);
    const { height, value } = await this.atOneHeight(() => this.chain.getValue(key));
    if (value === undefined) {
      throw new CivitasError('GOV_UNKNOWN_PROPOSAL', `no proposal ${idText}`);
    }
    return {
      height,
      proposal: proposalView(app, value, height),
    };
  }

  /** Fault injection; refused unless the node was started with it enabled. */
  private faults(): NonNullable<RpcModules['faults']> {
    const faults = this.m.faults;
    if (faults === undefined) {
      throw new CivitasError(
        'RPC_FAULT_INJECTION_DISABLED',
        'fault injection is disabled (start the node with CIVITAS_ENABLE_FAULT_INJECTION=1)',
      );
    }
    return faults;
  }

  private async setFaults(req: IncomingMessage): Promise<FaultsResponse> {
    const faults = this.faults();
    const body = await this.readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new CivitasError('RPC_BAD_JSON', 'body must be JSON');
    }
    return faults.apply(json);
  }
}

/** Exhaustiveness: every route of the table has a case. */
function unreachable(key: never): never {
  throw new CivitasError('INTERNAL', `route ${String(key)} has no handler`);
}

/** A stored proposal as the API shows it, its status read at `height`. */
function proposalView(app: App, value: Uint8Array, height: number): ProposalJson {
  // proposalToJson builds exactly ProposalJson (src/api/types.ts); src/app types it loosely.
  return proposalToJson(app, proposalCodec.decode(value), height) as unknown as ProposalJson;
}

/** A tracked object's current revision from its JSON view (0: absent, or keeps no history). */
function currentRev(module: AppModule, id: string, value: Uint8Array | undefined): number {
  if (value === undefined) return 0;
  const view = module.objects.toJson(value, id) as { rev?: unknown } | null;
  const rev = view?.rev;
  return typeof rev === 'number' && Number.isSafeInteger(rev) && rev > 0 ? rev : 0;
}

/** The module and id of /<root>/<module>/<id>: the id is all that follows, URL-decoded. */
function objectTarget(root: string, pathname: string): { module: string; id: string } {
  const m = /^\/[a-z]+\/([^/]+)\/(.+)$/.exec(pathname);
  if (m === null || !pathname.startsWith(`/${root}/`)) {
    throw new CivitasError('RPC_NOT_FOUND', `no route: an object is /${root}/<module>/<id>`);
  }
  try {
    return { module: decodeURIComponent(m[1]!), id: decodeURIComponent(m[2]!) };
  } catch {
    throw new CivitasError('RPC_BAD_REQUEST', 'the module or id is not URL-encoded properly');
  }
}

function parseHash(hex: string): Uint8Array {
  try {
    return fromHex(hex, HASH_LENGTH);
  } catch {
    throw new CivitasError('RPC_BAD_HASH', `not a 32-byte hex hash: ${hex.slice(0, 80)}`);
  }
}

function parseHeight(text: string): number {
  if (!/^[0-9]{1,15}$/.test(text))
    throw new CivitasError('RPC_BAD_HEIGHT', `not a block height: ${text.slice(0, 40)}`);
  return Number(text);
}

/** An integer query parameter in [min, max]; `fallback` when absent. */
function parseCount(
  text: string | null,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  if (text === null) return fallback;
  if (!/^[0-9]{1,10}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new CivitasError('RPC_BAD_REQUEST', `${name} must be an integer ${min}..${max}`);
  }
  return Number(text);
}

function parseTimeout(text: string | null): number {
  if (text === null) return DEFAULT_WAIT_MS;
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < 1 || Number(text) > MAX_WAIT_MS) {
    throw new CivitasError('RPC_BAD_TIMEOUT', `timeoutMs must be 1..${MAX_WAIT_MS}`);
  }
  return Number(text);
}
