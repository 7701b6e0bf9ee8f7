/**
 * Request/response for block sync on `/civitas/<chainId>/sync/1`.
 *
 * Wire format (every frame is a strict varint-length-prefixed frame, see framing.ts):
 *   requester -> responder: exactly one request frame, then the requester closes its write side.
 *   responder -> requester: one 1-byte status frame, then (status OK only) zero or more
 *                           payload frames, then the responder closes its write side.
 * Limits, each enforced on the side that receives: request size, response frame size,
 * response frame count and total response bytes; one deadline covers a whole exchange on
 * each side. Any violation resets the stream with a typed CivitasError; it never throws past
 * the stream, so one bad peer cannot stall or crash other requests.
 * The responder bounds concurrent requests per peer and overall; over the bound it answers
 * BUSY at once instead of queueing.
 */
import type { Connection, Stream } from '@libp2p/interface';
import { CivitasError, type ErrorCode, isCivitasError } from '../errors/index.ts';
import { encodeFrame, encodeFrames, FrameDecoder } from './framing.ts';
import type { PeerRef } from './gossip.ts';
import type { Logger } from './logger.ts';
import type { MemberSet } from './membership.ts';

export type SyncHandler = (request: Uint8Array, from: PeerRef) => Promise<Uint8Array[]>;

export const SyncStatus = {
  ok: 0,
  busy: 1,
  handlerFailed: 2,
  badRequest: 3,
  noHandler: 4,
} as const;

const STATUS_ERRORS: Record<number, { code: ErrorCode; message: string }> = {
  [SyncStatus.busy]: { code: 'P2P_SYNC_REMOTE_BUSY', message: 'peer is serving too many requests' },
  [SyncStatus.handlerFailed]: { code: 'P2P_SYNC_REMOTE_FAILED', message: 'peer failed to answer' },
  [SyncStatus.badRequest]: {
    code: 'P2P_SYNC_REMOTE_BAD_REQUEST',
    message: 'peer refused the request',
  },
  [SyncStatus.noHandler]: {
    code: 'P2P_SYNC_REMOTE_NO_HANDLER',
    message: 'peer does not serve sync',
  },
};

export interface SyncLimits {
  timeoutMs: number;
  maxRequestBytes: number;
  maxResponseFrameBytes: number;
  maxResponseFrames: number;
  maxResponseBytes: number;
  maxInboundPerPeer: number;
  maxInboundTotal: number;
}

export interface SyncCounters {
  requestsSent: number;
  requestsFailed: number;
  served: number;
  serveFailed: number;
  refusedBusy: number;
  activeInbound: number;
}

/** Errors from the stream layer (resets, closes) become one typed code. */
function toSyncError(err: unknown, peerId: string): CivitasError {
  if (isCivitasError(err)) return err;
  const name = err instanceof Error ? err.name : 'Error';
  return new CivitasError('P2P_SYNC_STREAM_FAILED', `sync stream failed: ${String(err)}`, {
    peerId,
    cause: name,
  });
}

async function writeAll(stream: Stream, data: Uint8Array, signal: AbortSignal): Promise<void> {
  if (!stream.send(data)) await stream.onDrain({ signal });
}

/**
 * Arms the exchange's deadline: on expiry the stream (if open yet) is aborted with a typed
 * timeout error, which also ends any pending read on it.
 */
class Deadline {
  readonly controller = new AbortController();
  readonly error: CivitasError;
  readonly #timer: NodeJS.Timeout;
  #stream: Stream | undefined;

  constructor(timeoutMs: number, error: CivitasError) {
    this.error = error;
    this.#timer = setTimeout(() => {
      this.controller.abort(error);
      this.#stream?.abort(error);
    }, timeoutMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get expired(): boolean {
    return this.controller.signal.aborted;
  }

  bind(stream: Stream): void {
    this.#stream = stream;
    if (this.expired) stream.abort(this.error);
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

export class SyncService {
  readonly #limits: SyncLimits;
  readonly #members: MemberSet;
  readonly #logger: Logger;
  readonly #activeByPeer = new Map<string, number>();
  #handler: SyncHandler | undefined;
  readonly #counters: SyncCounters = {
    requestsSent: 0,
    requestsFailed: 0,
    served: 0,
    serveFailed: 0,
    refusedBusy: 0,
    activeInbound: 0,
  };

  constructor(limits: SyncLimits, deps: { members: MemberSet; logger: Logger }) {
    this.#limits = limits;
    this.#members = deps.members;
    this.#logger = deps.logger;
  }

  setHandler(handler: SyncHandler): void {
    this.#handler = handler;
  }

  counters(): SyncCounters {
    return { ...this.#counters };
  }

  /** The libp2p stream handler for inbound requests. */
  readonly handleInbound = async (stream: Stream, connection: Connection): Promise<void> => {
    const peerId = connection.remotePeer.toString();
    const perPeer = this.#activeByPeer.get(peerId) ?? 0;
    if (
      perPeer >= this.#limits.maxInboundPerPeer ||
      this.#counters.activeInbound >= this.#limits.maxInboundTotal
    ) {
      this.#counters.refusedBusy++;
      await this.#answerStatus(stream, SyncStatus.busy);
      return;
    }
    this.#counters.activeInbound++;
    this.#activeByPeer.set(peerId, perPeer + 1);
    const deadline = new Deadline(
      this.#limits.timeoutMs,
      new CivitasError('P2P_SYNC_TIMEOUT', 'sync request not served in time', { peerId }),
    );
    deadline.bind(stream);
    try {
      await this.#serve(stream, peerId, deadline);
      this.#counters.served++;
    } catch (err) {
      this.#counters.serveFailed++;
      const error = toSyncError(err, peerId);
      this.#logger.debug('sync request from peer failed', { peerId, code: error.code });
      stream.abort(error);
    } finally {
      deadline.clear();
      this.#counters.activeInbound--;
      const left = (this.#activeByPeer.get(peerId) ?? 1) - 1;
      if (left === 0) this.#activeByPeer.delete(peerId);
      else this.#activeByPeer.set(peerId, left);
    }
  };

  async #serve(stream: Stream, peerId: string, deadline: Deadline): Promise<void> {
    // The gater admits members only; re-checked since membership may shrink mid-connection.
    const publicKey = this.#members.publicKey(peerId);
    if (publicKey === undefined) {
      throw new CivitasError('P2P_NOT_MEMBER', 'sync request from a non-member', { peerId });
    }
    const request = await readRequest(stream, this.#limits.maxRequestBytes);
    const handler = this.#handler;
    if (handler === undefined) {
      await this.#answerStatus(stream, SyncStatus.noHandler, deadline.signal);
      return;
    }
    let frames: Uint8Array[];
    try {
      frames = await handler(request, { peerId, publicKey });
      checkResponse(frames, this.#limits);
    } catch (err) {
      // Debug, not warn: a malformed request is the requester's fault, and one bad member
      // could otherwise fill the logs. The requester is told with a handler-failed status.
      this.#logger.debug('sync handler failed', { peerId, error: String(err) });
      await this.#answerStatus(stream, SyncStatus.handlerFailed, deadline.signal);
      return;
    }
    if (deadline.expired) throw deadline.error;
    await writeAll(
      stream,
      encodeFrames([Uint8Array.of(SyncStatus.ok), ...frames]),
      deadline.signal,
    );
    await stream.close({ signal: deadline.signal });
  }

  async #answerStatus(stream: Stream, status: number, signal?: AbortSignal): Promise<void> {
    try {
      const s = signal ?? AbortSignal.timeout(this.#limits.timeoutMs);
      await writeAll(stream, encodeFrame(Uint8Array.of(status)), s);
      await stream.close({ signal: s });
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * Sends one request and collects the response frames. `open` dials the protocol; faults
   * and membership are checked by the caller.
   */
  async request(
    peerId: string,
    request: Uint8Array,
    open: (signal: AbortSignal) => Promise<Stream>,
    opts: { timeoutMs?: number; delayMs?: number; lost?: boolean } = {},
  ): Promise<Uint8Array[]> {
    if (!(request instanceof Uint8Array)) {
      throw new CivitasError('P2P_BAD_MESSAGE', 'sync request must be a Uint8Array');
    }
    if (request.length > this.#limits.maxRequestBytes) {
      throw new CivitasError(
        'P2P_SYNC_REQUEST_TOO_LARGE',
        `a sync request is at most ${this.#limits.maxRequestBytes} bytes`,
        { size: request.length, limit: this.#limits.maxRequestBytes },
      );
    }
    const timeoutMs = opts.timeoutMs ?? this.#limits.timeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new CivitasError('P2P_BAD_CONFIG', 'timeoutMs must be a positive number');
    }
    this.#counters.requestsSent++;
    const deadline = new Deadline(
      timeoutMs,
      new CivitasError('P2P_SYNC_TIMEOUT', `no complete sync response within ${timeoutMs} ms`, {
        peerId,
        timeoutMs,
      }),
    );
    let stream: Stream | undefined;
    try {
      // A request lost by an injected fault looks, to the caller, like a peer that never answers.
      if (opts.lost === true) await abortableSleep(Number.POSITIVE_INFINITY, deadline.signal);
      if ((opts.delayMs ?? 0) > 0) await abortableSleep(opts.delayMs!, deadline.signal);
      stream = await open(deadline.signal);
      deadline.bind(stream);
      await writeAll(stream, encodeFrame(request), deadline.signal);
      await stream.close({ signal: deadline.signal });
      return await readResponse(stream, this.#limits);
    } catch (err) {
      this.#counters.requestsFailed++;
      const error = deadline.expired ? deadline.error : toSyncError(err, peerId);
      stream?.abort(error);
      throw error;
    } finally {
      deadline.clear();
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = Number.isFinite(ms)
      ? setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms)
      : undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Reads exactly one request frame followed by end of stream. */
async function readRequest(stream: Stream, maxRequestBytes: number): Promise<Uint8Array> {
  const decoder = new FrameDecoder(maxRequestBytes);
  let request: Uint8Array | undefined;
  for await (const chunk of stream) {
    for (const frame of decoder.push(chunk)) {
      if (request !== undefined) {
        throw new CivitasError('P2P_SYNC_BAD_REQUEST', 'more than one request frame');
      }
      request = frame;
    }
    if (request !== undefined && decoder.buffered > 0) {
      throw new CivitasError('P2P_SYNC_BAD_REQUEST', 'bytes after the request frame');
    }
  }
  decoder.finish();
  if (request === undefined) {
    throw new CivitasError('P2P_SYNC_BAD_REQUEST', 'stream closed before a request frame');
  }
  return request;
}

/** Reads the status frame and then payload frames until end of stream, within the limits. */
async function readResponse(stream: Stream, limits: SyncLimits): Promise<Uint8Array[]> {
  const decoder = new FrameDecoder(limits.maxResponseFrameBytes);
  let status: number | undefined;
  const frames: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    for (const frame of decoder.push(chunk)) {
      if (status === undefined) {
        if (frame.length !== 1) {
          throw new CivitasError('P2P_SYNC_BAD_RESPONSE', 'status frame must be 1 byte');
        }
        status = frame[0]!;
        if (status !== SyncStatus.ok) {
          const known = STATUS_ERRORS[status];
          throw new CivitasError(
            known?.code ?? 'P2P_SYNC_BAD_RESPONSE',
            known?.message ?? `unknown sync status ${status}`,
            { status },
          );
        }
        continue;
      }
      total += frame.length;
      if (frames.length + 1 > limits.maxResponseFrames) {
        throw new CivitasError(
          'P2P_SYNC_RESPONSE_TOO_LARGE',
          `more than ${limits.maxResponseFrames} response frames`,
          { limit: limits.maxResponseFrames },
        );
      }
      if (total > limits.maxResponseBytes) {
        throw new CivitasError(
          'P2P_SYNC_RESPONSE_TOO_LARGE',
          `response exceeds ${limits.maxResponseBytes} bytes`,
          { limit: limits.maxResponseBytes },
        );
      }
      frames.push(frame);
    }
  }
  decoder.finish();
  if (status === undefined) {
    throw new CivitasError('P2P_SYNC_BAD_RESPONSE', 'stream closed before the status frame');
  }
  return frames;
}

/** The responder checks its own answer too: a node bug must not become a peer's problem. */
function checkResponse(frames: unknown, limits: SyncLimits): asserts frames is Uint8Array[] {
  if (!Array.isArray(frames) || frames.some((f) => !(f instanceof Uint8Array))) {
    throw new CivitasError('P2P_SYNC_BAD_RESPONSE', 'sync handler must return Uint8Array[]');
  }
  if (frames.length > limits.maxResponseFrames) {
    throw new CivitasError('P2P_SYNC_RESPONSE_TOO_LARGE', 'too many response frames', {
      count: frames.length,
      limit: limits.maxResponseFrames,
    });
  }
  let total = 0;
  for (const frame of frames) {
    if (frame.length > limits.maxResponseFrameBytes) {
      throw new CivitasError('P2P_SYNC_RESPONSE_TOO_LARGE', 'response frame too large', {
        size: frame.length,
        limit: limits.maxResponseFrameBytes,
      });
    }
    total += frame.length;
  }
  if (total > limits.maxResponseBytes) {
    throw new CivitasError('P2P_SYNC_RESPONSE_TOO_LARGE', 'response too large', {
      size: total,
      limit: limits.maxResponseBytes,
    });
  }
}
