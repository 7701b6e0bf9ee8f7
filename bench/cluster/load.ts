/**
 * The load: many funded senders, consecutive nonces per sender, txs signed before the clock
 * starts (with node:crypto, which is OpenSSL and several times faster than @noble/curves;
 * ed25519 is deterministic, so the signatures are the very bytes noble would produce — checked
 * on the first key), then submitted OPEN-LOOP: tx k is due at start + k/rate whatever happened
 * to earlier txs, so a slow chain shows up as latency instead of as a slower generator.
 *
 * Latency is measured from the time a tx was DUE, not from when it was sent: if the
 * generator or a node falls behind, that wait counts (no coordinated omission).
 *
 * Each sender submits to one node (its txs arrive there in nonce order). A tx whose node is
 * down, full, or not ready for its nonce yet is retried on the next live node, so one crash
 * does not leave a sender with a nonce gap that would block all its later txs. A node with a
 * backlog answers 503 with Retry-After; the tx is sent to it again after that long (not after
 * the 200 ms used for other retries), so the refused load does not turn into a storm of
 * retries that costs the busy node more than the txs themselves.
 *
 * Between runs, each sender restarts at the nonce the chain expects next (`resync`): a tx a
 * run gave up on (an overload) would otherwise leave a gap that queues all of the sender's
 * later txs. A tx is a pure function of (sender, nonce) — same recipient, amount and expiry,
 * deterministic signature — so one re-made for a nonce still pending is the same tx (the node
 * answers "duplicate", counted as accepted), and one that was lost fills the gap.
 */
import { createPrivateKey, type KeyObject, sign as nodeSign } from 'node:crypto';
import { Agent, request } from 'node:http';
import { transferOp } from '../../src/app/bank/transfer.ts';
import {
  assembleTx,
  encodeTx,
  txHashOfBytes,
  txSigningHash,
  unsignedTxV1,
} from '../../src/chain/index.ts';
import { equalBytes, toHex } from '../../src/crypto/bytes.ts';
import { sign as nobleSign } from '../../src/crypto/ed25519.ts';
import { loadKeyFile } from '../../src/crypto/keyfile.ts';

const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

export interface Sender {
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
  nextNonce: number;
}

export interface LoadTx {
  readonly sender: number;
  readonly bytes: Uint8Array;
  readonly hash: string;
}

export async function loadSenders(files: readonly string[]): Promise<Sender[]> {
  const senders: Sender[] = [];
  for (const file of files) {
    const keys = await loadKeyFile(file);
    const privateKey = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, keys.secretKey]),
      format: 'der',
      type: 'pkcs8',
    });
    senders.push({ publicKey: keys.publicKey, privateKey, nextNonce: 0 });
  }
  return senders;
}

/** Signs txs round-robin over the senders (consecutive nonces per sender). */
export class TxFactory {
  private readonly chainId: string;
  private readonly senders: readonly Sender[];
  private readonly sink: Uint8Array;
  private cursor = 0;
  private checked = false;
  private readonly secretOf: (sender: number) => Uint8Array | undefined;

  constructor(opts: {
    chainId: string;
    senders: readonly Sender[];
    /** Recipient of every transfer. */
    sink: Uint8Array;
    /** For the one-off check that node:crypto signs exactly as @noble/curves. */
    secretOf?: (sender: number) => Uint8Array | undefined;
  }) {
    this.chainId = opts.chainId;
    this.senders = opts.senders;
    this.sink = opts.sink;
    this.secretOf = opts.secretOf ?? (() => undefined);
  }

  one(senderIndex: number): LoadTx {
    const sender = this.senders[senderIndex]!;
    const unsigned = unsignedTxV1({
      chainId: this.chainId,
      sender: sender.publicKey,
      nonce: sender.nextNonce++,
      expiryHeight: 1_000_000_000,
      op: transferOp(this.sink, 1n),
    });
    const message = txSigningHash(unsigned);
    const signature = new Uint8Array(nodeSign(null, message, sender.privateKey));
    if (!this.checked) {
      const secret = this.secretOf(senderIndex);
      if (secret !== undefined && !equalBytes(signature, nobleSign(message, secret))) {
        throw new Error('node:crypto and @noble/curves ed25519 signatures differ');
      }
      this.checked = true;
    }
    const bytes = encodeTx(assembleTx(unsigned, signature));
    return { sender: senderIndex, bytes, hash: toHex(txHashOfBytes(bytes)) };
  }

  /**
   * Sets each sender's next nonce to the one the chain expects (`committedNonce`, e.g. from
   * GET /accounts/:address); returns how many senders moved back over txs that never committed.
   */
  async resync(committedNonce: (publicKey: Uint8Array) => Promise<number>): Promise<number> {
    let movedBack = 0;
    const CONCURRENCY = 32;
    for (let i = 0; i < this.senders.length; i += CONCURRENCY) {
      const group = this.senders.slice(i, i + CONCURRENCY);
      const nonces = await Promise.all(group.map((s) => committedNonce(s.publicKey)));
      group.forEach((s, j) => {
        const nonce = nonces[j]!;
        if (nonce < s.nextNonce) movedBack++;
        s.nextNonce = nonce;
      });
    }
    return movedBack;
  }

  /** `count` txs, senders interleaved so that consecutive txs come from different senders. */
  batch(count: number): LoadTx[] {
    const out: LoadTx[] = new Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = this.one(this.cursor);
      this.cursor = (this.cursor + 1) % this.senders.length;
    }
    return out;
  }
}

export type SubmitOutcome = 'accepted' | 'retry' | 'failed';

/** How a node's answer to POST /txs counts for the load. */
export function classifySubmit(status: number, code: string | undefined): SubmitOutcome {
  if (status === 200) return 'accepted';
  // Already pending or committed (a retry that raced the first attempt): it is in.
  if (status === 409) return 'accepted';
  if (code === 'TX_NONCE_TOO_LOW') return 'accepted';
  // Not yet: the mempool is full, or earlier nonces of this sender are still on their way.
  if (status === 429 || status === 503 || status >= 500 || code === 'TX_NONCE_TOO_HIGH') {
    return 'retry';
  }
  return 'failed';
}

export interface LoadCounters {
  due: number;
  sent: number;
  accepted: number;
  retries: number;
  failed: number;
  /** Failed codes (bounded: first 20 distinct). */
  failures: Record<string, number>;
  /** Largest delay between a tx being due and being sent, ms. */
  maxSendLagMs: number;
}

export interface LoadTarget {
  /** Base URLs of the node APIs, by validator index. */
  readonly urls: readonly string[];
  /** Whether the harness believes node i is up. */
  isUp(i: number): boolean;
}

const RETRY_DELAY_MS = 200;
const MAX_ATTEMPTS = 100;
const SEND_TICK_MS = 2;

/** One open-loop run over pre-signed txs; `onDue` fires when each tx becomes due. */
export class OpenLoopGenerator {
  readonly counters: LoadCounters = {
    due: 0,
    sent: 0,
    accepted: 0,
    retries: 0,
    failed: 0,
    failures: {},
    maxSendLagMs: 0,
  };
  private readonly agents: Agent[];
  private readonly target: LoadTarget;
  private inFlight = 0;
  private stopped = false;
  private sending = true;

  constructor(target: LoadTarget) {
    this.target = target;
    this.agents = target.urls.map(() => new Agent({ keepAlive: true, maxSockets: 32 }));
  }

  get pending(): number {
    return this.inFlight;
  }

  /**
   * Sends txs[k] at start + k·1000/rate (performance.now() clock). Resolves when every tx has
   * been sent and answered (or given up on), or when stop() is called.
   */
  async run(
    txs: readonly LoadTx[],
    rate: number,
    start: number,
    onDue: (tx: LoadTx, dueAt: number) => void,
  ): Promise<void> {
    const interval = 1000 / rate;
    let next = 0;
    while (next < txs.length && this.sending && !this.stopped) {
      const now = performance.now();
      while (next < txs.length && start + next * interval <= now) {
        const due = start + next * interval;
        const tx = txs[next]!;
        onDue(tx, due);
        this.counters.due++;
        this.counters.maxSendLagMs = Math.max(this.counters.maxSendLagMs, now - due);
        this.submit(tx, tx.sender % this.target.urls.length, 1);
        next++;
      }
      const wait = Math.max(0, Math.min(SEND_TICK_MS, start + next * interval - performance.now()));
      await new Promise((r) => setTimeout(r, wait));
    }
    while (this.inFlight > 0 && !this.stopped) await new Promise((r) => setTimeout(r, 20));
  }

  /** Sends no new txs; retries of refused ones go on (the drain waits for them). */
  stopSending(): void {
    this.sending = false;
  }

  stop(): void {
    this.stopped = true;
  }

  close(): void {
    this.stopped = true;
    for (const a of this.agents) a.destroy();
  }

  private liveNode(preferred: number): number {
    const n = this.target.urls.length;
    for (let k = 0; k < n; k++) {
      const i = (preferred + k) % n;
      if (this.target.isUp(i)) return i;
    }
    return preferred;
  }

  private submit(tx: LoadTx, preferred: number, attempt: number): void {
    const node = this.liveNode(preferred);
    this.inFlight++;
    this.counters.sent++;
    this.post(node, tx.bytes).then(
      ({ status, code, retryAfterMs }) => {
        this.inFlight--;
        const outcome = classifySubmit(status, code);
        this.settle(tx, node, attempt, outcome, code ?? `HTTP_${status}`, retryAfterMs);
      },
      (err: NodeJS.ErrnoException) => {
        this.inFlight--;
        this.settle(tx, node, attempt, 'retry', err.code ?? 'NETWORK');
      },
    );
  }

  private settle(
    tx: LoadTx,
    node: number,
    attempt: number,
    outcome: SubmitOutcome,
    code: string,
    retryAfterMs = 0,
  ): void {
    if (outcome === 'accepted') {
      this.counters.accepted++;
      return;
    }
    if (outcome === 'retry' && attempt < MAX_ATTEMPTS && !this.stopped) {
      this.counters.retries++;
      this.inFlight++;
      // A node that refused the connection is probably down: try the next one.
      const nextNode = /^E[A-Z]+/.test(code) ? node + 1 : node;
      // Spread the retries of one refusal wave over a fifth of the wait.
      const delay =
        retryAfterMs > RETRY_DELAY_MS ? retryAfterMs * (1 + Math.random() / 5) : RETRY_DELAY_MS;
      setTimeout(() => {
        this.inFlight--;
        if (!this.stopped) this.submit(tx, nextNode, attempt + 1);
      }, delay);
      return;
    }
    this.counters.failed++;
    const failures = this.counters.failures;
    if (code in failures || Object.keys(failures).length < 20) {
      failures[code] = (failures[code] ?? 0) + 1;
    }
  }

  private post(
    node: number,
    body: Uint8Array,
  ): Promise<{ status: number; code?: string; retryAfterMs?: number }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.target.urls[node]}/txs`,
        {
          method: 'POST',
          agent: this.agents[node],
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': body.length,
          },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status === 200) return resolve({ status });
            const retryAfterS = Number(res.headers['retry-after']);
            const retryAfterMs = Number.isFinite(retryAfterS) ? retryAfterS * 1000 : undefined;
            try {
              const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
                error?: { code?: string };
              };
              resolve({ status, code: json.error?.code, retryAfterMs });
            } catch {
              resolve({ status, retryAfterMs });
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
