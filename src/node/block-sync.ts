/**
 * Block sync: a node that is behind (restarted, new, partitioned) asks members for their
 * height, fetches the missing blocks with the certificates that committed them, and hands
 * them in order to the chain's commit path (the node's BlockPipeline: each certificate
 * checked against the validator set of its height, the signatures of the next blocks checked
 * on the verify workers while one block is re-executed and committed). The next response is
 * requested while the blocks of the current one are validated, and the pipeline pulls blocks
 * only as it has room, so at most two responses are held. Nothing a peer sends is trusted: a
 * wrong block or certificate fails validation and the peer is skipped.
 *
 * A node that prunes blocks (state.retainBlocks) answers a range starting below its window with
 * no frames, and the asker tries its next peer: a node further behind than the pruned peers'
 * windows needs one peer that keeps those blocks (an archive node).
 *
 * Wire format (request/response frames over the p2p sync protocol):
 *   request  u8 version | u8 kind | kind 1 (status): nothing |
 *            kind 2 (blocks): varuint from | varuint count |
 *            kind 3 (txs): list of 32 txHash (≤ MAX_TXS_PER_REQUEST) | kind 4 (block): 32 blockHash
 *   status   one frame: varuint height
 *   blocks   one frame per block: bytes block | bytes certificate
 *   txs      one frame: list of (bytes tx), the named txs the peer holds (mempool or a recent
 *            proposal), in request order
 *            kind 5 (snapshot): varuint atOrBelow (0: the newest) |
 *            kind 6 (chunk): varuint height | varuint index |
 *            kind 7 (validator changes): varuint first (index of the first change wanted) |
 *            kind 8 (tx hashes): varuint from | varuint count (≤ MAX_HEIGHTS_PER_REQUEST)
 *   block    one frame, the raw bytes of a recent proposal with that hash, or no frame
 *   snapshot one frame, the manifest of the newest stored state snapshot at or below the
 *            height, or no frame
 *   chunk    one frame, that chunk of the stored snapshot of that height (≤ 1 MiB + 16), or
 *            no frame
 *   changes  one frame per validator-set change from `first` on (≤ MAX_CHANGES_PER_REQUEST):
 *            varuint fromHeight | bytes keys | bytes header | bytes certificate (of the block
 *            at fromHeight − 1, which made the change)
 *   hashes   one frame per height from `from` on while the peer has its block: bytes header |
 *            list of 32 txHash
 * Kinds 3 and 4 serve compact proposals (src/node/proposal-resolver.ts), kinds 5 to 8 state
 * sync (docs/STATE-SYNC.md; src/node/snapshot-fetch.ts, src/node/state-sync.ts).
 */

import { Limits } from '../chain/index.ts';
import { decode, expectVersion } from '../codec/reader.ts';
import { encode } from '../codec/writer.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError, codeOf } from '../errors/index.ts';
import type { P2PNode } from '../p2p/index.ts';
import type { Logger } from './logger.ts';

const SYNC_VERSION = 1;
const KIND_STATUS = 1;
const KIND_BLOCKS = 2;
const KIND_TXS = 3;
const KIND_BLOCK = 4;
const KIND_SNAPSHOT = 5;
const KIND_CHUNK = 6;
const KIND_CHANGES = 7;
const KIND_HASHES = 8;
/** Validator changes per answer (kind 7): under the response frame count limit. */
export const MAX_CHANGES_PER_REQUEST = 128;
/** Heights of tx hashes per answer (kind 8): ≤ 128 × (a header + 5,000 hashes) ≈ 20 MiB. */
export const MAX_HEIGHTS_PER_REQUEST = 128;
/**
 * Most txs asked for in one request: 16 KiB of hashes (under the 24 KiB request limit), and an
 * answer of at most 512 × the tx size limit fits one response frame.
 */
export const MAX_TXS_PER_REQUEST = 512;
/** Most blocks served per request: bounds one response in count and, with block limits, size. */
export const MAX_BLOCKS_PER_REQUEST = 32;
const CERTIFICATE_MAX_BYTES = 64 + Limits.validators * 66;

export type SyncRequest =
  | { kind: 'status' }
  | { kind: 'blocks'; from: number; count: number }
  | { kind: 'txs'; hashes: readonly Uint8Array[] }
  | { kind: 'block'; hash: Uint8Array }
  | { kind: 'snapshot'; atOrBelow: number }
  | { kind: 'chunk'; height: number; index: number }
  | { kind: 'changes'; first: number }
  | { kind: 'hashes'; from: number; count: number };

export function encodeSyncRequest(r: SyncRequest): Uint8Array {
  return encode((w) => {
    w.u8(SYNC_VERSION);
    if (r.kind === 'status') w.u8(KIND_STATUS);
    else if (r.kind === 'blocks') w.u8(KIND_BLOCKS).varuint(r.from).varuint(r.count);
    else if (r.kind === 'txs') w.u8(KIND_TXS).list(r.hashes, (ww, h) => ww.fixed(h, HASH_LENGTH));
    else if (r.kind === 'block') w.u8(KIND_BLOCK).fixed(r.hash, HASH_LENGTH);
    else if (r.kind === 'snapshot') w.u8(KIND_SNAPSHOT).varuint(r.atOrBelow);
    else if (r.kind === 'chunk') w.u8(KIND_CHUNK).varuint(r.height).varuint(r.index);
    else if (r.kind === 'changes') w.u8(KIND_CHANGES).varuint(r.first);
    else w.u8(KIND_HASHES).varuint(r.from).varuint(r.count);
  });
}

export function decodeSyncRequest(bytes: Uint8Array): SyncRequest {
  return decode(bytes, (r) => {
    expectVersion(r, SYNC_VERSION, 'sync request');
    const kind = r.u8();
    if (kind === KIND_STATUS) return { kind: 'status' };
    if (kind === KIND_BLOCKS) {
      const from = r.varuint();
      const count = r.varuint(MAX_BLOCKS_PER_REQUEST);
      if (from < 1 || count < 1)
        throw new CivitasError('SYNC_BAD_REQUEST', 'blocks request needs from ≥ 1 and count ≥ 1');
      return { kind: 'blocks', from, count };
    }
    if (kind === KIND_TXS) {
      const hashes = r.list(MAX_TXS_PER_REQUEST, (rr) => rr.fixed(HASH_LENGTH));
      if (hashes.length < 1) throw new CivitasError('SYNC_BAD_REQUEST', 'txs request names no tx');
      return { kind: 'txs', hashes };
    }
    if (kind === KIND_BLOCK) return { kind: 'block', hash: r.fixed(HASH_LENGTH) };
    if (kind === KIND_SNAPSHOT) return { kind: 'snapshot', atOrBelow: r.varuint() };
    if (kind === KIND_CHUNK) {
      return { kind: 'chunk', height: r.varuint(), index: r.varuint(0xffff_ffff) };
    }
    if (kind === KIND_CHANGES) return { kind: 'changes', first: r.varuint() };
    if (kind === KIND_HASHES) {
      const from = r.varuint();
      const count = r.varuint(MAX_HEIGHTS_PER_REQUEST);
      if (from < 1 || count < 1)
        throw new CivitasError('SYNC_BAD_REQUEST', 'hashes request needs from ≥ 1 and count ≥ 1');
      return { kind: 'hashes', from, count };
    }
    throw new CivitasError('SYNC_BAD_REQUEST', `unknown sync request kind ${kind}`);
  });
}

export interface BlockSyncOptions {
  /** How often to compare heights with peers when nothing else prompts it. */
  intervalMs: number;
  requestTimeoutMs: number;
}

/** One fetched block and the certificate that committed it, as the peer sent them. */
export interface SyncedBlock {
  readonly block: Uint8Array;
  readonly certificate: Uint8Array;
}

/** What block sync reads of the local chain, and how it commits what it fetched. */
export interface SyncChain {
  height(): number;
  blockBytes(height: number): Promise<Uint8Array | undefined>;
  certificateBytes(height: number): Promise<Uint8Array | undefined>;
  /**
   * Decodes, checks each block's certificate against the validator set of its height,
   * validates, re-executes and commits the blocks in order, pulling the next ones only as it
   * has room (the node's BlockPipeline); blocks already committed meanwhile are skipped.
   * Rejects with the first failure, after committing the blocks before it.
   */
  commitSynced(blocks: AsyncIterable<SyncedBlock>): Promise<{ blocks: number }>;
}

/** Serves the txs and blocks of compact proposals (kinds 3 and 4). */
export interface ProposalSource {
  txs(hashes: readonly Uint8Array[]): Uint8Array[];
  block(hash: Uint8Array): Uint8Array | undefined;
}

/** Serves what state sync asks (kinds 5 to 8): undefined or no frames where there is none. */
export interface SnapshotSource {
  /** The encoded manifest of the newest stored snapshot at or below `atOrBelow` (0: any). */
  manifest(atOrBelow: number): Promise<Uint8Array | undefined>;
  chunk(height: number, index: number): Promise<Uint8Array | undefined>;
  /** Kind 7's frames, from change `first` on (at most MAX_CHANGES_PER_REQUEST). */
  validatorChanges?(first: number): Promise<Uint8Array[]>;
  /** Kind 8's frames for heights from `from`, at most `count`, stopping at a missing block. */
  txHashes?(from: number, count: number): Promise<Uint8Array[]>;
}

export type SyncNetwork = Pick<
  P2PNode,
  'onSyncRequest' | 'requestSync' | 'connectedPeers' | 'isMember'
>;

/** The peers in random order (Fisher–Yates): sync from whoever is ahead, not always the same one. */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function describeError(err: unknown): { code: string | undefined; err: string } {
  return { code: codeOf(err), err: (err as Error).message };
}

export class BlockSync {
  private readonly opts: BlockSyncOptions;
  private readonly chain: SyncChain;
  private readonly p2p: SyncNetwork;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** The highest height anything said the chain has reached (for readiness). */
  private known = 0;

  constructor(
    opts: BlockSyncOptions,
    deps: { chain: SyncChain; p2p: SyncNetwork; logger: Logger },
  ) {
    this.opts = opts;
    this.chain = deps.chain;
    this.p2p = deps.p2p;
    this.log = deps.logger;
  }

  /**
   * Serves our committed blocks to members, with `proposals` compact proposals' parts, and
   * with `snapshots` the stored state snapshots.
   */
  serve(proposals?: ProposalSource, snapshots?: SnapshotSource): void {
    this.p2p.onSyncRequest(async (request) => {
      const r = decodeSyncRequest(request);
      if (r.kind === 'status') return [encode((w) => w.varuint(this.chain.height()))];
      if (r.kind === 'txs') {
        const txs = proposals?.txs(r.hashes) ?? [];
        let size = 16;
        for (const t of txs) size += t.length + 3;
        return [encode((w) => w.list(txs, (ww, t) => ww.bytes(t)), size)];
      }
      if (r.kind === 'block') {
        const block = proposals?.block(r.hash);
        return block === undefined ? [] : [block];
      }
      if (r.kind === 'changes') return (await snapshots?.validatorChanges?.(r.first)) ?? [];
      if (r.kind === 'hashes') return (await snapshots?.txHashes?.(r.from, r.count)) ?? [];
      if (r.kind === 'snapshot' || r.kind === 'chunk') {
        const bytes =
          r.kind === 'snapshot'
            ? await snapshots?.manifest(r.atOrBelow)
            : await snapshots?.chunk(r.height, r.index);
        return bytes === undefined ? [] : [bytes];
      }
      const frames: Uint8Array[] = [];
      const last = Math.min(r.from + r.count - 1, this.chain.height());
      for (let h = r.from; h <= last; h++) {
        let block: Uint8Array | undefined;
        let certificate: Uint8Array | undefined;
        try {
          [block, certificate] = await Promise.all([
            this.chain.blockBytes(h),
            this.chain.certificateBytes(h),
          ]);
        } catch (err) {
          // A pruned node serves what it has: none below its window, and the asker moves on
          // to another peer (catchUp).
          if (codeOf(err) === 'LEDGER_BLOCK_PRUNED') break;
          throw err;
        }
        if (block === undefined || certificate === undefined) break;
        frames.push(
          encode((w) => w.bytes(block).bytes(certificate), block.length + certificate.length + 8),
        );
      }
      return frames;
    });
  }

  start(): void {
    const loop = (): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.trigger();
        loop();
      }, this.opts.intervalMs);
    };
    loop();
  }

  /** Something (a consensus message, a peer) says the chain is at least at `height`. */
  noteHeight(height: number): void {
    this.known = Math.max(this.known, height);
    if (height > this.chain.height()) this.trigger();
  }

  /** How many heights this node is behind what it last heard of (0 when in step). */
  get behind(): number {
    return Math.max(0, this.known - this.chain.height());
  }

  /** Starts one catch-up round unless one is running. */
  trigger(): void {
    if (this.stopped || this.running !== undefined) return;
    this.running = this.catchUp()
      .catch((err) => this.log.warn('sync round failed', describeError(err)))
      .finally(() => {
        this.running = undefined;
      });
  }

  private async peerHeight(peerId: string): Promise<number> {
    const [frame] = await this.p2p.requestSync(peerId, encodeSyncRequest({ kind: 'status' }), {
      timeoutMs: this.opts.requestTimeoutMs,
    });
    if (frame === undefined) throw new CivitasError('SYNC_BAD_RESPONSE', 'empty status response');
    const height = decode(frame, (r) => r.varuint());
    this.known = Math.max(this.known, height);
    return height;
  }

  private async catchUp(): Promise<void> {
    const peers = this.p2p.connectedPeers().filter((p) => this.p2p.isMember(p));
    // Ask peers in random order; sync from the first that is ahead of us.
    for (const peerId of shuffled(peers)) {
      if (this.stopped) return;
      let height: number;
      try {
        height = await this.peerHeight(peerId);
      } catch {
        continue;
      }
      if (height <= this.chain.height()) continue;
      this.log.info('catching up', {
        from: this.chain.height(),
        to: height,
        peer: peerId.slice(-8),
      });
      try {
        await this.fetchFrom(peerId, height);
      } catch (err) {
        this.log.warn('sync from peer failed', { peer: peerId.slice(-8), ...describeError(err) });
      }
    }
  }

  private async fetchFrom(peerId: string, peerHeight: number): Promise<void> {
    const from = this.chain.height() + 1;
    const { blocks } = await this.chain.commitSynced(this.blocksFrom(peerId, peerHeight));
    this.log.info('synced', { from, blocks, height: this.chain.height(), peer: peerId.slice(-8) });
  }

  /** The peer's blocks after our height, up to `peerHeight`, one response fetched ahead. */
  private async *blocksFrom(peerId: string, peerHeight: number): AsyncGenerator<SyncedBlock> {
    let next = this.chain.height() + 1;
    let pending = next <= peerHeight ? this.requestBlocks(peerId, next, peerHeight) : undefined;
    while (pending !== undefined && !this.stopped) {
      const frames = await pending;
      if (frames.length === 0) {
        throw new CivitasError(
          'SYNC_BAD_RESPONSE',
          `peer sent no blocks from height ${next} (a pruned node keeps only recent blocks)`,
          { from: next },
        );
      }
      next += frames.length;
      pending =
        next <= peerHeight && !this.stopped
          ? this.requestBlocks(peerId, next, peerHeight)
          : undefined;
      // Awaited on the next turn; a failure must not go unhandled if the pipeline stops first.
      pending?.catch(() => {});
      for (const frame of frames) {
        if (this.stopped) return;
        yield decode(frame, (r) => ({
          block: r.bytes(Limits.blockBytes),
          certificate: r.bytes(CERTIFICATE_MAX_BYTES),
        }));
      }
    }
  }

  private requestBlocks(peerId: string, from: number, peerHeight: number): Promise<Uint8Array[]> {
    const count = Math.min(MAX_BLOCKS_PER_REQUEST, peerHeight - from + 1);
    return this.p2p.requestSync(peerId, encodeSyncRequest({ kind: 'blocks', from, count }), {
      timeoutMs: this.opts.requestTimeoutMs,
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
