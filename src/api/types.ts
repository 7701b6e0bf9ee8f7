/**
 * The HTTP API's request and response bodies: one definition, used by the server
 * (src/node/rpc-server.ts) and by the client SDK (src/client). Bytes are hex; amounts are
 * decimal strings. The readable JSON views (`tx`, `header`, `receipt`) are for people; a
 * client that verifies reads the canonical `*Bytes` fields next to them.
 */
import type {
  CertificateJson,
  HeaderJson,
  MerkleProofJson,
  ReceiptJson,
  TxJson,
} from '../chain/json.ts';
import type { StateProofJson } from '../state/smt/proof.ts';

export type {
  CertificateJson,
  HeaderJson,
  MerkleProofJson,
  ReceiptJson,
  TxJson,
  TxOpJson,
} from '../chain/json.ts';
export type { StateProofJson } from '../state/smt/proof.ts';

/** Every non-2xx answer. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** GET /status */
export interface StatusResponse {
  chainId: string;
  moniker: string;
  /** This node's validator key. */
  validator: string;
  height: number;
  latestBlockHash: string;
  latestBlockTime: number;
  stateRoot: string;
  consensus: {
    engine: 'solo' | 'pbft' | 'hotstuff';
    view: number;
    /** Index of the current primary in the validator set. */
    primary: number;
    primaryKey: string;
    viewChanges: number;
  };
  /** Txs held (size), of which `queued` wait behind a nonce gap (the rest are ready). */
  mempool: { size: number; queued: number };
  /** Connected peer ids. */
  peers: string[];
  uptimeMs: number;
  clock: ClockJson;
  /** The lowest height of what this node holds, per kind (0: everything from the genesis). */
  retained: RetainedJson;
  /** The snapshot this node joined from by state sync (nothing below it replayed), or null. */
  stateSync: StateSyncJson | null;
  /** The running build: package version, and the git commit (`-dirty` if modified) or `unknown`. */
  version: string;
  commit: string;
}

/**
 * Where what a node holds starts (0: at the genesis). A pruned node raises the first two
 * (state.keepVersions, state.retainBlocks; reads below answer 410 STATE_VERSION_PRUNED and
 * LEDGER_BLOCK_PRUNED); a node that joined by state sync at S holds state from S, blocks with
 * receipts from S + 1, the tx index from S − maxTxLifetime + 1 and the history index from
 * S + 1 (410 HISTORY_NOT_INDEXED below).
 */
export interface RetainedJson {
  stateFrom: number;
  blocksFrom: number;
  txsFrom: number;
  historyFrom: number;
}

/** How a node joined by state sync: the height of the snapshot it imported. */
export interface StateSyncJson {
  height: number;
}

/**
 * This node's clock against the validators' signed COMMIT vote times (block time never
 * depends on it: it is the median of those vote times).
 */
export interface ClockJson {
  /** This clock minus the validators' median, ms; null until a certificate was decided. */
  offsetMs: number | null;
  /** |offsetMs| ≤ maxDriftMs (true while unknown). */
  ok: boolean;
  /** The genesis parameter maxClockDriftMs. */
  maxDriftMs: number;
}

/** GET /health: the process answers. */
export interface HealthResponse {
  status: 'ok';
}

/**
 * GET /ready: whether this node is fit to serve and vote — 200 when every check passes, 503
 * (with this same body) when one does not. GET /health only says the process answers.
 */
export interface ReadyResponse {
  ready: boolean;
  checks: {
    /** Connected validators, and how many a quorum needs besides this node (0 for solo). */
    peers: { ok: boolean; connected: number; needed: number };
    /** Heights behind what peers and certificates say the chain has reached. */
    sync: { ok: boolean; behind: number };
    clock: ClockJson;
  };
}

/** GET /validators: the set that decides the next height. */
export interface ValidatorsResponse {
  height: number;
  hash: string;
  quorum: number;
  maxFaulty: number;
  validators: Array<{ index: number; publicKey: string; name: string }>;
}

/**
 * GET /validators/changes: every validator-set change since genesis, each with the proof a
 * light client checks (src/client/validator-changes.ts): the header of the block that made
 * it (height fromHeight − 1, naming the new set as nextValidatorSetHash) and that block's
 * commit certificate, signed by the set before the change.
 */
export interface ValidatorChangesResponse {
  /** The node's tip when it answered: the list is complete up to tip + 1. */
  height: number;
  changes: Array<{
    fromHeight: number;
    /** The new set's public keys, in set order (hex). */
    validators: string[];
    headerBytes: string;
    certificateBytes: string;
  }>;
}

/** POST /txs, as JSON (the alternative is the raw bytes as application/octet-stream). */
export interface SubmitTxRequest {
  tx: string;
}

/** POST /txs answers `pending`, or with `?wait=commit` `committed` once the tx is in a block. */
export type SubmitTxResponse =
  | { hash: string; status: 'pending' }
  | {
      hash: string;
      status: 'committed';
      height: number;
      index: number | undefined;
      receipt: ReceiptJson | null;
    };

/** GET /txs/:hash of a committed tx: everything a client needs to verify it. */
export interface CommittedTxResponse {
  hash: string;
  status: 'committed';
  height: number;
  index: number;
  tx: TxJson;
  txBytes: string;
  receipt: ReceiptJson;
  receiptBytes: string;
  /** The tx hash under the header's txRoot. */
  proof: MerkleProofJson;
  /** The receipt bytes under the header's receiptRoot. */
  receiptProof: MerkleProofJson;
  header: HeaderJson;
  headerBytes: string;
  certificateBytes: string;
}

/** GET /txs/:hash: committed, or still in this node's mempool. */
export type TxResponse = { hash: string; status: 'pending' } | CommittedTxResponse;

/** GET /blocks/:height|latest */
export interface BlockResponse {
  hash: string;
  header: HeaderJson;
  txHashes: string[];
  lastCommit: CertificateJson | null;
  /** The certificate that committed this block. */
  certificate: CertificateJson | null;
  blockBytes: string;
}

/** The `proof` member of GET /accounts/:address?proof=true. */
export interface AccountProof {
  height: number;
  stateRoot: string;
  keyHash: string;
  /** The account's encoded value, null when absent (the proof then shows non-inclusion). */
  value: string | null;
  proof: StateProofJson;
  proofBytes: string;
  /** Null at height 0: the genesis state has no header; check against the genesis file. */
  headerBytes: string | null;
  certificateBytes: string | null;
}

/** GET /accounts/:address[?proof=true] */
export interface AccountResponse {
  address: string;
  balance: string;
  nonce: number;
  height: number;
  proof?: AccountProof;
}

/**
 * The `proof` member of GET /state/:module/:id?proof=true: the account proof's fields plus the
 * raw state key. A client derives the key from module and id itself; `key` is for reading.
 */
export interface StateObjectProof extends AccountProof {
  /** The raw state key (hex) the module maps the id to. */
  key: string;
}

/**
 * GET /state/:module/:id[?proof=true][&height=H]: one object of a module, as the module
 * renders it, at the tip or at a past height H (the proof then anchors in H's header).
 */
export interface StateResponse {
  module: string;
  id: string;
  height: number;
  present: boolean;
  /** The module's JSON view of the stored value; null when absent. */
  value: Record<string, unknown> | null;
  proof?: StateObjectProof;
}

/**
 * One entry of an object's history index: the tx (and op in it) that made revision `rev`.
 * Unproven: a client proves the tx with GET /txs/:hash (src/client/history.ts).
 */
export interface HistoryEntryJson {
  rev: number;
  /** Height of the block that holds the tx. */
  height: number;
  /** The tx's index in that block. */
  index: number;
  txHash: string;
  /** The op of the tx that made the change (for a governance action: the deciding vote). */
  opIndex: number;
  /** For a governance action: its index in the proposal the vote executed; else null. */
  action: number | null;
}

/** GET /history/:module/:id[?from=<rev>&limit=<n>]: an object's history index, in rev order. */
export interface HistoryResponse {
  module: string;
  id: string;
  /** The object's raw state key (hex). */
  key: string;
  /** The committed height the index was read at. */
  height: number;
  entries: HistoryEntryJson[];
  /** The `from` of the next page, or null when this page holds the last entry. */
  next: number | null;
}

/** A governance proposal (src/app/gov), its status read at the answer's height. */
export interface ProposalJson {
  id: number;
  proposer: string;
  /** `call` is "module.method"; `args` the method's JSON form (hex if it does not decode). */
  actions: Array<{ call: string; args: unknown }>;
  createdAt: number;
  expiresAtHeight: number;
  committee: string[];
  threshold: number;
  votes: Array<{ org: string; voter: string; approve: boolean }>;
  /** `expired`: still open on chain, but past its expiry at the answer's height. */
  status: 'open' | 'passed' | 'failed' | 'rejected' | 'cancelled' | 'expired';
  /** For a failed proposal: the action that failed and its code. */
  failure: { index: number; code: string } | null;
  closedAt: number;
  rev: number;
  hist: string;
}

/** GET /gov/proposals: the newest proposals first, at most 100. */
export interface ProposalsResponse {
  height: number;
  /** How many proposals were ever made (ids 1..total). */
  total: number;
  proposals: ProposalJson[];
}

/** GET /gov/proposals/:id */
export interface ProposalResponse {
  height: number;
  proposal: ProposalJson;
}

/**
 * GET /admin/faults (and POST's answer): the faults a node started with
 * CIVITAS_ENABLE_FAULT_INJECTION=1 applies now (src/node/fault-injection.ts).
 */
export interface FaultsResponse {
  enabled: true;
  /** Link faults keyed by the remote validator index (or peer id if not a validator). */
  links: Record<string, { delayMs?: number; lossRate?: number; blocked?: boolean }>;
  byzantine: 'none' | 'equivocate' | 'silent';
  /** This node's clock offset now, ms. */
  clockOffsetMs: number;
  /** Outgoing consensus messages dropped while silent. */
  silenced: number;
  /** Conflicting PRE-PREPAREs sent while equivocating. */
  equivocations: number;
}

/**
 * One committed block, as announced on GET /events: `event: block`, `id: <height>`.
 */
export interface BlockEvent {
  height: number;
  hash: string;
  timestamp: number;
  txs: number;
}

/**
 * One committed tx on GET /events?tx=<hash> or ?address=<address>: `event: tx`,
 * `id: <height>:<index>`. A summary of its receipt; GET /txs/:hash has the rest and the proofs.
 */
export interface TxEvent {
  hash: string;
  height: number;
  /** The tx's index in its block. */
  index: number;
  /** The sender's address. */
  senderAddress: string;
  status: 'ok' | 'failed';
  /** The receipt code: OK, or why the tx failed. */
  code: string;
  /** The index of the op that failed the tx; null when it succeeded or no op failed it. */
  failedOp: number | null;
}

/**
 * GET /events resumed from further back than the node replays (1,000 blocks): `event: gap`,
 * `id: <to>`, first on the stream. Blocks `from`..`to` were not replayed (read them with
 * GET /blocks/:height); the stream goes on with block `to` + 1.
 */
export interface GapEvent {
  from: number;
  to: number;
}
