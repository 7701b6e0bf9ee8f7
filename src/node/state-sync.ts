/**
 * State sync (docs/STATE-SYNC.md): a node with an empty database joins from a peer's recent
 * state snapshot instead of replaying from the genesis. What it takes from peers, and how each
 * piece is made trustworthy from the genesis alone:
 *
 *   1. the snapshots peers offer (kind 5): the highest height S first;
 *   2. every validator-set change up to S (kind 7): each change block's certificate carries a
 *      quorum of the set trusted before it, and its header names that set as its own (a change
 *      left out before it shows there) and the new set as the next — as a light client
 *      follows them (src/client/validator-changes.ts);
 *   3. blocks S−63..S (kind 2): block S's certificate carries a quorum of the set at S; each
 *      block's hash is the next one's parentHash; each names the set of its height and of the
 *      next (for S, the only check that a change made by S itself was not left out), its txs
 *      make its txRoot and its last commit its lastCommitHash. Only S's certificate is taken
 *      from the peer: the others are the lastCommit of the block above (hash-bound);
 *   4. the tx hashes of the rest of the lifetime window, heights S − maxTxLifetime + 1 … S−64
 *      (kind 8): each header hashes to the parentHash of the one above, its hashes make its
 *      txRoot;
 *   5. the manifest checked against header(S).stateRoot, then the chunks (kind 6) from every
 *      peer that has them, each checked on arrival (snapshot-fetch.ts), imported with a
 *      marker so a crash restarts cleanly (state/snapshot-import.ts).
 *
 * A peer whose answers fail a check is left for the next offer (the result lists the refused
 * ones). After the import the node opens its ledger at S and block sync takes it on from S+1.
 */
import {
  type CommitCertificate,
  computeTxRoot,
  decodeBlock,
  decodeCertificate,
  decodeHeader,
  encodeCertificate,
  encodeHeader,
  type Genesis,
  genesisHash,
  genesisValidatorSet,
  type Header,
  headerHash,
  Limits,
  lastCommitHashOf,
  type SealedBlock,
  type SignatureCheck,
  type ValidatorSet,
  verifyCertificate,
} from '../chain/index.ts';
import { decode } from '../codec/reader.ts';
import { encode } from '../codec/writer.ts';
import { equalBytes } from '../crypto/bytes.ts';
import { HASH_LENGTH } from '../crypto/hash.ts';
import { CivitasError, codeOf } from '../errors/index.ts';
import type { Ledger } from '../state/ledger.ts';
import { verifyManifest } from '../state/snapshot.ts';
import { SnapshotImport } from '../state/snapshot-import.ts';
import { servedChunk, servedManifest, snapshotWindowFrom } from '../state/snapshot-store.ts';
import type { ChainStore } from '../state/store.ts';
import { decodeValidatorKeys, encodeValidatorKeys } from '../state/validator-log.ts';
import {
  encodeSyncRequest,
  MAX_BLOCKS_PER_REQUEST,
  MAX_CHANGES_PER_REQUEST,
  MAX_HEIGHTS_PER_REQUEST,
  type SnapshotSource,
  type SyncNetwork,
} from './block-sync.ts';
import { fetchSnapshotChunks, snapshotOffers } from './snapshot-fetch.ts';

const RECENT = Limits.recentBlocks;
const CERTIFICATE_MAX_BYTES = 64 + Limits.validators * 66;

/**
 * The lowest height whose block `store` holds: 1 on a node that replayed and never pruned;
 * on a pruned one where its pruning stopped; on one that joined by state sync at S, the 64
 * blocks up to S it fetched (unless pruning has since passed them).
 */
function lowestBlockHeld(store: Ledger['store']): number {
  const { blocksFrom } = store.retainedFrom();
  const synced = store.syncedFrom();
  if (synced !== undefined && blocksFrom <= synced + 1) return Math.max(1, synced - RECENT + 1);
  return Math.max(1, blocksFrom);
}

/** What a node serves to joining nodes: its stored snapshots, validator changes, tx hashes. */
export function stateSyncSource(ledger: Ledger): SnapshotSource {
  const store = ledger.store;
  // A snapshot whose window this node no longer holds (one a synced node took soon after
  // joining, or a pruned node's older one) is not offered.
  const lifetime = ledger.params.maxTxLifetime ?? 0;
  const servable = (height: number) =>
    snapshotWindowFrom(height, lifetime) >= lowestBlockHeld(store);
  return {
    manifest: (atOrBelow) => servedManifest(store, atOrBelow, servable),
    chunk: (height, index) => servedChunk(store, height, index),
    validatorChanges: async (first) => {
      const frames: Uint8Array[] = [];
      const changes = ledger.validatorChanges().slice(first, first + MAX_CHANGES_PER_REQUEST);
      for (const { fromHeight, set } of changes) {
        // The block, or on a node that itself joined by state sync the import's record of it.
        const made = await store.validatorChangeBlock(fromHeight - 1);
        if (made === undefined) break;
        frames.push(
          encode((w) =>
            w
              .varuint(fromHeight)
              .bytes(encodeValidatorKeys(set))
              .bytes(made.header)
              .bytes(made.certificate),
          ),
        );
      }
      return frames;
    },
    txHashes: async (from, count) => {
      const frames: Uint8Array[] = [];
      for (let h = from; h < from + count && h <= ledger.height; h++) {
        let block: SealedBlock | undefined;
        try {
          block = await store.getBlock(h);
        } catch {
          break; // pruned: the asker goes to another peer
        }
        if (block === undefined) break;
        frames.push(
          encode((w) =>
            w
              .bytes(encodeHeader(block.header))
              .list(block.txHashes, (ww, t) => ww.fixed(t, HASH_LENGTH)),
          ),
        );
      }
      return frames;
    },
  };
}

function unverified(message: string, context: Record<string, unknown> = {}): never {
  throw new CivitasError('STATE_SYNC_UNVERIFIED', message, context);
}

export interface StateSyncResult {
  readonly height: number;
  /** Bytes received: manifest, changes, blocks, tx hashes, chunks (refused ones included). */
  readonly bytes: number;
  readonly chunks: number;
  readonly peer: string;
  readonly ms: number;
  /** The offers tried before it and refused, in order, with why (STATE_SYNC_UNVERIFIED, …). */
  readonly refused: ReadonlyArray<{ readonly peer: string; readonly error: unknown }>;
}

interface Fetched {
  bytes: number;
}

async function ask(
  p2p: Pick<SyncNetwork, 'requestSync'>,
  peer: string,
  request: Parameters<typeof encodeSyncRequest>[0],
  timeoutMs: number,
  fetched: Fetched,
): Promise<Uint8Array[]> {
  const frames = await p2p.requestSync(peer, encodeSyncRequest(request), { timeoutMs });
  for (const f of frames) fetched.bytes += f.length;
  return frames;
}

/** A validator change as verified, with the header and certificate of the block that made it. */
interface TrustedChange {
  readonly fromHeight: number;
  readonly set: ValidatorSet;
  readonly header: Uint8Array;
  readonly certificate: Uint8Array;
}

/**
 * Step 2: the validator sets from the genesis up to `upTo` + 1, each change verified; each
 * keeps its block's header and certificate as received, for the import to keep (the next
 * joiner asks this node for them), in their canonical encoding.
 */
async function trustedChanges(
  p2p: Pick<SyncNetwork, 'requestSync'>,
  peer: string,
  genesis: Genesis,
  upTo: number,
  ctx: { timeoutMs: number; check: SignatureCheck; fetched: Fetched },
): Promise<TrustedChange[]> {
  const changes: TrustedChange[] = [];
  const setAt = (h: number): ValidatorSet => {
    let set = genesisValidatorSet(genesis);
    for (const c of changes) if (c.fromHeight <= h) set = c.set;
    return set;
  };
  for (;;) {
    const frames = await ask(
      p2p,
      peer,
      { kind: 'changes', first: changes.length },
      ctx.timeoutMs,
      ctx.fetched,
    );
    for (const frame of frames) {
      const { fromHeight, set, header, certificate } = decode(frame, (r) => ({
        fromHeight: r.varuint(),
        set: decodeValidatorKeys(r.bytes(64 + Limits.validators * 34)),
        header: decodeHeader(r.bytes(1024)),
        certificate: decodeCertificate(r.bytes(CERTIFICATE_MAX_BYTES)),
      }));
      if (fromHeight - 1 > upTo) return changes;
      const previous = changes.at(-1)?.fromHeight ?? 1;
      if (fromHeight <= previous) unverified(`validator change at ${fromHeight} is out of order`);
      const at = fromHeight - 1;
      if (header.height !== at || header.chainId !== genesis.chainId) {
        unverified(`validator change at ${fromHeight}: the header is not block ${at}`);
      }
      // A change left out before this one: the block names the set the hidden change made,
      // whose quorum may still pass for one of the set before it (an added member's).
      if (!equalBytes(header.validatorSetHash, setAt(at).hash)) {
        unverified(
          `validator change at ${fromHeight}: block ${at} names another validator set than the changes before it put in force`,
        );
      }
      try {
        verifyCertificate(
          certificate,
          {
            chainId: genesis.chainId,
            height: at,
            blockHash: headerHash(header),
            validators: setAt(at),
          },
          ctx.check,
        );
      } catch (err) {
        unverified(`validator change at ${fromHeight}: ${(err as Error).message}`, {
          cause: codeOf(err),
        });
      }
      if (!equalBytes(header.nextValidatorSetHash, set.hash)) {
        unverified(`validator change at ${fromHeight}: block ${at} names another next set`);
      }
      changes.push({
        fromHeight,
        set,
        header: encodeHeader(header),
        certificate: encodeCertificate(certificate),
      });
    }
    if (frames.length < MAX_CHANGES_PER_REQUEST) return changes;
  }
}

/** Step 3: blocks from..S, checked down from S's certificate. */
async function trustedBlocks(
  p2p: Pick<SyncNetwork, 'requestSync'>,
  peer: string,
  genesis: Genesis,
  range: { from: number; to: number },
  setAt: (h: number) => ValidatorSet,
  ctx: { timeoutMs: number; check: SignatureCheck; fetched: Fetched },
): Promise<Array<{ block: SealedBlock; certificate: CommitCertificate }>> {
  const raw: Array<{ block: SealedBlock; certificate: CommitCertificate }> = [];
  for (let h = range.from; h <= range.to; ) {
    const count = Math.min(MAX_BLOCKS_PER_REQUEST, range.to - h + 1);
    const frames = await ask(
      p2p,
      peer,
      { kind: 'blocks', from: h, count },
      ctx.timeoutMs,
      ctx.fetched,
    );
    if (frames.length === 0) unverified(`peer sent no block ${h}`);
    for (const frame of frames) {
      const { block, certificate } = decode(frame, (r) => ({
        block: decodeBlock(r.bytes(Limits.blockBytes)),
        certificate: decodeCertificate(r.bytes(CERTIFICATE_MAX_BYTES)),
      }));
      if (block.header.height !== h) unverified(`peer sent block ${block.header.height} for ${h}`);
      raw.push({ block, certificate });
      h++;
    }
  }
  const top = raw.at(-1)!;
  try {
    verifyCertificate(
      top.certificate,
      {
        chainId: genesis.chainId,
        height: range.to,
        blockHash: top.block.hash,
        validators: setAt(range.to),
      },
      ctx.check,
    );
  } catch (err) {
    unverified(`the certificate of block ${range.to}: ${(err as Error).message}`, {
      cause: codeOf(err),
    });
  }
  const out: Array<{ block: SealedBlock; certificate: CommitCertificate }> = [];
  for (let i = raw.length - 1; i >= 0; i--) {
    const { block } = raw[i]!;
    const h = block.header.height;
    const above = raw[i + 1]?.block;
    // The block above is trusted: its parentHash fixes this block, its lastCommit certifies it.
    if (above !== undefined && !equalBytes(above.header.parentHash, block.hash)) {
      unverified(`block ${h} is not the parent of block ${h + 1}`);
    }
    if (!equalBytes(block.header.validatorSetHash, setAt(h).hash)) {
      unverified(`block ${h} names another validator set than the changes put in force`);
    }
    // Below S the block above checks this too; for S it is the only check of the set of S+1
    // (a change made by block S itself, left out, would leave the node trusting the old set).
    if (!equalBytes(block.header.nextValidatorSetHash, setAt(h + 1).hash)) {
      unverified(`block ${h} names another next validator set than the changes put in force`);
    }
    if (!equalBytes(computeTxRoot(block.txHashes), block.header.txRoot)) {
      unverified(`block ${h}: its txs do not make its txRoot`);
    }
    if (!equalBytes(lastCommitHashOf(block.lastCommit), block.header.lastCommitHash)) {
      unverified(`block ${h}: its last commit is not the one its header names`);
    }
    const certificate = above === undefined ? raw[i]!.certificate : above.lastCommit;
    if (certificate === null) unverified(`block ${h + 1} carries no certificate of ${h}`);
    out.unshift({ block, certificate });
  }
  return out;
}

/** Step 4: tx hashes of heights from..to, checked down from `anchor` (the hash of block to). */
async function trustedTxHashes(
  p2p: Pick<SyncNetwork, 'requestSync'>,
  peer: string,
  range: { from: number; to: number },
  anchor: Uint8Array,
  ctx: { timeoutMs: number; fetched: Fetched },
): Promise<Array<{ height: number; txHashes: Uint8Array[] }>> {
  const raw: Array<{ header: Header; txHashes: Uint8Array[] }> = [];
  for (let h = range.from; h <= range.to; ) {
    const count = Math.min(MAX_HEIGHTS_PER_REQUEST, range.to - h + 1);
    const frames = await ask(
      p2p,
      peer,
      { kind: 'hashes', from: h, count },
      ctx.timeoutMs,
      ctx.fetched,
    );
    if (frames.length === 0) unverified(`peer sent no tx hashes of height ${h}`);
    for (const frame of frames) {
      raw.push(
        decode(frame, (r) => ({
          header: decodeHeader(r.bytes(1024)),
          txHashes: r.list(Limits.blockTxs, (rr) => rr.fixed(HASH_LENGTH)),
        })),
      );
      h++;
    }
  }
  let expected = anchor;
  for (let i = raw.length - 1; i >= 0; i--) {
    const { header, txHashes } = raw[i]!;
    const h = range.from + i;
    if (header.height !== h || !equalBytes(headerHash(header), expected)) {
      unverified(`the header of ${h} is not the parent of ${h + 1}`);
    }
    if (!equalBytes(computeTxRoot(txHashes), header.txRoot)) {
      unverified(`the tx hashes of ${h} do not make its txRoot`);
    }
    expected = header.parentHash;
  }
  return raw.map((r, i) => ({ height: range.from + i, txHashes: r.txHashes }));
}

/**
 * Joins the chain of `genesis` from the newest snapshot `peers` serve, into `store` (no
 * committed block; state/snapshot-import.ts). Returns where it landed and what it fetched.
 * STATE_SYNC_UNSUPPORTED without params.maxTxLifetime; SNAPSHOT_NOT_FOUND when no peer
 * offers a snapshot; the last offer's error when none verifies.
 */
export async function stateSync(
  deps: { p2p: Pick<SyncNetwork, 'requestSync'>; store: ChainStore; check: SignatureCheck },
  genesis: Genesis,
  peers: readonly string[],
  opts: { timeoutMs: number; parallel?: number; now?: () => number },
): Promise<StateSyncResult> {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const lifetime = genesis.params.maxTxLifetime;
  if (lifetime === undefined) {
    throw new CivitasError(
      'STATE_SYNC_UNSUPPORTED',
      'the genesis sets no params.maxTxLifetime: a node joins this chain by replay (block sync)',
    );
  }
  const fetched: Fetched = { bytes: 0 };
  const offers = await snapshotOffers(deps.p2p, peers, { timeoutMs: opts.timeoutMs });
  for (const o of offers) fetched.bytes += o.size;
  if (offers.length === 0) {
    throw new CivitasError('SNAPSHOT_NOT_FOUND', 'no peer offers a state snapshot');
  }
  const refused: Array<{ peer: string; error: unknown }> = [];
  for (const offer of offers) {
    const S = offer.manifest.height;
    const ctx = { timeoutMs: opts.timeoutMs, check: deps.check, fetched };
    try {
      const changes = await trustedChanges(deps.p2p, offer.peer, genesis, S, ctx);
      const setAt = (h: number): ValidatorSet => {
        let set = genesisValidatorSet(genesis);
        for (const c of changes) if (c.fromHeight <= h) set = c.set;
        return set;
      };
      const from = Math.max(1, S - RECENT + 1);
      const blocks = await trustedBlocks(
        deps.p2p,
        offer.peer,
        genesis,
        { from, to: S },
        setAt,
        ctx,
      );
      const windowFrom = Math.max(1, S - lifetime + 1);
      const txIndex =
        windowFrom < from
          ? await trustedTxHashes(
              deps.p2p,
              offer.peer,
              { from: windowFrom, to: from - 1 },
              blocks[0]!.block.header.parentHash,
              ctx,
            )
          : [];
      const header = blocks.at(-1)!.block.header;
      const verified = verifyManifest(offer.manifest, {
        chainId: genesis.chainId,
        height: S,
        stateRoot: header.stateRoot,
      });
      const importing = await SnapshotImport.begin(deps.store, verified);
      const holders = offers.filter((o) => o.manifest.height === S).map((o) => o.peer);
      const stats = await fetchSnapshotChunks(deps.p2p, holders, importing, {
        height: S,
        timeoutMs: opts.timeoutMs,
        ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}),
      });
      fetched.bytes += stats.bytes;
      await importing.complete({
        genesisHash: genesisHash(genesis),
        blocks,
        txIndex,
        validatorChanges: changes.map((c) => ({
          fromHeight: c.fromHeight,
          encoded: encodeValidatorKeys(c.set),
          header: c.header,
          certificate: c.certificate,
        })),
      });
      return {
        height: S,
        bytes: fetched.bytes,
        chunks: offer.manifest.chunks.length,
        peer: offer.peer,
        ms: now() - started,
        refused,
      };
    } catch (err) {
      refused.push({ peer: offer.peer, error: err });
    }
  }
  throw refused.at(-1)!.error;
}
