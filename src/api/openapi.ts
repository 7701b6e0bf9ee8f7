/**
 * The HTTP API described as OpenAPI 3.1, served at GET /openapi.json. One schema per type of
 * src/api/types.ts, under the type's name; objects are closed (`additionalProperties:
 * false`) where the type is, so a field the server adds or drops without this document
 * fails test/e2e/api/openapi.test.ts, which checks real answers of a running node against
 * it. The paths are the server's route table (src/node/routes.ts), entry for entry
 * (test/unit/api/openapi.test.ts).
 */

export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

/** The part of JSON Schema (2020-12) this document uses. */
export interface JsonSchema {
  type?: JsonType | JsonType[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  oneOf?: JsonSchema[];
  $ref?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  format?: string;
  contentMediaType?: string;
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description: string;
  schema: JsonSchema;
}

export interface OpenApiMediaType {
  schema: JsonSchema;
}

export interface OpenApiResponse {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  content?: Record<string, OpenApiMediaType>;
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; content: Record<string, OpenApiMediaType> };
  /** By status code; `{ $ref }` to a shared response under components.responses. */
  responses: Record<string, OpenApiResponse | { $ref: string }>;
  /** GET /events: the schema of each event's `data`, by event name. */
  'x-events'?: Record<string, JsonSchema>;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string; license: { name: string } };
  servers: Array<{ url: string; description: string }>;
  paths: Record<string, Partial<Record<'get' | 'post', OpenApiOperation>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, OpenApiResponse>;
  };
}

// Building blocks. Lowercase hex, as the API writes it.
const HEX = '^([0-9a-f]{2})*$';
const HASH = '^[0-9a-f]{64}$';
const ADDRESS = '^[0-9a-f]{40}$';
const PUBLIC_KEY = HASH;
const SIGNATURE = '^[0-9a-f]{128}$';

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const str = (description?: string): JsonSchema => ({ type: 'string', ...desc(description) });
const hex = (pattern: string, description?: string): JsonSchema => ({
  type: 'string',
  pattern,
  ...desc(description),
});
const int = (description?: string, minimum = 0): JsonSchema => ({
  type: 'integer',
  minimum,
  ...desc(description),
});
const signedInt = (description?: string): JsonSchema => ({
  type: 'integer',
  ...desc(description),
});
const bool = (description?: string): JsonSchema => ({ type: 'boolean', ...desc(description) });
const arrayOf = (items: JsonSchema, description?: string): JsonSchema => ({
  type: 'array',
  items,
  ...desc(description),
});
const oneOfEnum = (values: string[], description?: string): JsonSchema => ({
  type: 'string',
  enum: values,
  ...desc(description),
});
/** A value or null: a type array for a primitive, oneOf for a reference. */
function nullable(schema: JsonSchema): JsonSchema {
  if (schema.$ref !== undefined) return { oneOf: [schema, { type: 'null' }] };
  const type = schema.type as JsonType;
  return { ...schema, type: [type, 'null'] };
}
function desc(description: string | undefined): { description?: string } {
  return description === undefined ? {} : { description };
}

/**
 * A closed object: every property required but those in `optional`, nothing else allowed.
 */
function object(
  properties: Record<string, JsonSchema>,
  opts: { optional?: string[]; description?: string } = {},
): JsonSchema {
  const optional = new Set(opts.optional ?? []);
  return {
    type: 'object',
    ...desc(opts.description),
    properties,
    required: Object.keys(properties).filter((k) => !optional.has(k)),
    additionalProperties: false,
  };
}

const clock = object({
  offsetMs: nullable(
    signedInt('this clock minus the validators’ median, ms; null until a certificate was decided'),
  ),
  ok: bool('|offsetMs| ≤ maxDriftMs (true while unknown)'),
  maxDriftMs: int('the genesis parameter maxClockDriftMs'),
});

const txOp = object({
  module: str(),
  method: str(),
  args: hex(HEX, "the module's canonical argument bytes"),
  expectRev: nullable(int('the revision the op expects of its object')),
});

const tx = object({
  version: { type: 'integer', enum: [1, 2] },
  chainId: str(),
  sender: hex(PUBLIC_KEY, "the sender's public key"),
  senderAddress: hex(ADDRESS),
  nonce: int(),
  expiryHeight: int(),
  ops: arrayOf(ref('TxOpJson')),
  cosigners: arrayOf(hex(PUBLIC_KEY)),
  cosignerAddresses: arrayOf(hex(ADDRESS)),
  signature: hex(SIGNATURE),
  cosignatures: arrayOf(hex(SIGNATURE), 'one per cosigner, in cosigner order'),
});

const header = object({
  chainId: str(),
  height: int(),
  parentHash: hex(HASH),
  timestamp: int('ms since the epoch: the median of the certificate’s vote times'),
  proposer: hex(PUBLIC_KEY),
  txRoot: hex(HASH),
  receiptRoot: hex(HASH),
  stateRoot: hex(HASH),
  validatorSetHash: hex(HASH),
  nextValidatorSetHash: hex(HASH),
  lastCommitHash: hex(HASH),
});

const certificate = object({
  height: int(),
  view: int(),
  blockHash: hex(HASH),
  signers: arrayOf(int(), 'indexes of the signing validators in the set of the height'),
});

const receipt = object({
  txHash: hex(HASH),
  status: oneOfEnum(['ok', 'failed']),
  code: str('OK, or the error code that failed the tx'),
  events: arrayOf(
    object({
      type: str(),
      attributes: { type: 'object', additionalProperties: { type: 'string' } },
    }),
  ),
  failedOp: nullable(int('the op that failed the tx')),
});

const merkleProof = object({
  index: int(),
  size: int(),
  siblings: arrayOf(hex(HASH)),
});

const stateProof = object({
  leaf: nullable(object({ keyHash: hex(HASH), valueHash: hex(HASH) })),
  siblings: arrayOf(nullable(hex(HASH)), 'root side first; null for an empty sibling'),
});

const accountProofFields: Record<string, JsonSchema> = {
  height: int(),
  stateRoot: hex(HASH),
  keyHash: hex(HASH),
  value: nullable(hex(HEX, 'the encoded value; null when absent (a proof of non-inclusion)')),
  proof: ref('StateProofJson'),
  proofBytes: hex(HEX),
  headerBytes: nullable(hex(HEX, 'null at height 0: check the genesis state instead')),
  certificateBytes: nullable(hex(HEX)),
};

const committedTxFields: Record<string, JsonSchema> = {
  hash: hex(HASH),
  status: { const: 'committed' },
  height: int(),
  index: int(),
};

const proposal = object({
  id: int(undefined, 1),
  proposer: hex(HEX),
  actions: arrayOf(
    object({
      call: str('module.method'),
      args: { description: "the method's JSON args (hex if they do not decode)" },
    }),
  ),
  createdAt: int(),
  expiresAtHeight: int(),
  committee: arrayOf(str()),
  threshold: int(),
  votes: arrayOf(object({ org: str(), voter: hex(HEX), approve: bool() })),
  status: oneOfEnum(['open', 'passed', 'failed', 'rejected', 'cancelled', 'expired']),
  failure: nullable(
    object({ index: int(), code: str() }, { description: "a failed proposal's failing action" }),
  ),
  closedAt: int('height at which the proposal closed (0 while open)'),
  rev: int(),
  hist: hex(HASH),
});

const SCHEMAS: Record<string, JsonSchema> = {
  ApiErrorBody: object({
    error: object({
      code: str('a code of the error catalogue (src/errors)'),
      message: str(),
    }),
  }),
  ClockJson: clock,
  RetainedJson: object(
    {
      stateFrom: int('the lowest height whose state is kept for reads and proofs'),
      blocksFrom: int('the lowest height whose block, certificate and receipts are kept'),
      txsFrom: int('the lowest height whose txs GET /txs/{hash} finds'),
      historyFrom: int('the lowest height whose changes GET /history lists'),
    },
    {
      description:
        'where what the node holds starts, per kind (0: at the genesis); below: 410 STATE_VERSION_PRUNED, LEDGER_BLOCK_PRUNED, HISTORY_NOT_INDEXED, or a 404 whose message names txsFrom',
    },
  ),
  StateSyncJson: object(
    { height: int('the height of the snapshot it joined from', 1) },
    { description: 'the node joined by state sync (null instead: it replayed from the genesis)' },
  ),
  StatusResponse: object({
    chainId: str(),
    moniker: str(),
    validator: hex(PUBLIC_KEY, "this node's validator key"),
    height: int(),
    latestBlockHash: hex(HASH),
    latestBlockTime: int(),
    stateRoot: hex(HASH),
    consensus: object({
      engine: oneOfEnum(['solo', 'pbft', 'hotstuff']),
      view: int(),
      primary: int('index of the current primary in the validator set'),
      primaryKey: hex(PUBLIC_KEY),
      viewChanges: int(),
    }),
    mempool: object({ size: int('txs held'), queued: int('of which wait behind a nonce gap') }),
    peers: arrayOf(str(), 'connected peer ids'),
    uptimeMs: int(),
    clock: ref('ClockJson'),
    retained: ref('RetainedJson'),
    stateSync: nullable(ref('StateSyncJson')),
    version: str('the package version'),
    commit: str('the git commit (-dirty if modified) or unknown'),
  }),
  HealthResponse: object({ status: { const: 'ok' } }),
  ReadyResponse: object({
    ready: bool(),
    checks: object({
      peers: object({ ok: bool(), connected: int(), needed: int() }),
      sync: object({ ok: bool(), behind: int() }),
      clock: ref('ClockJson'),
    }),
  }),
  ValidatorsResponse: object({
    height: int(undefined, 1),
    hash: hex(HASH),
    quorum: int(),
    maxFaulty: int(),
    validators: arrayOf(object({ index: int(), publicKey: hex(PUBLIC_KEY), name: str() })),
  }),
  ValidatorChangesResponse: object({
    height: int('the tip when the node answered: the list is complete up to tip + 1'),
    changes: arrayOf(
      object({
        fromHeight: int(undefined, 1),
        validators: arrayOf(hex(PUBLIC_KEY), 'the new set, in set order'),
        headerBytes: hex(HEX),
        certificateBytes: hex(HEX),
      }),
    ),
  }),
  SubmitTxRequest: object({ tx: hex(HEX, 'the canonical tx bytes') }),
  SubmitTxResponse: {
    oneOf: [
      object({ hash: hex(HASH), status: { const: 'pending' } }),
      object(
        {
          hash: hex(HASH),
          status: { const: 'committed' },
          height: int(),
          index: int('absent if the tx index did not answer'),
          receipt: nullable(ref('ReceiptJson')),
        },
        { optional: ['index'] },
      ),
    ],
  },
  TxOpJson: txOp,
  TxJson: tx,
  HeaderJson: header,
  CertificateJson: certificate,
  ReceiptJson: receipt,
  MerkleProofJson: merkleProof,
  StateProofJson: stateProof,
  CommittedTxResponse: object({
    ...committedTxFields,
    tx: ref('TxJson'),
    txBytes: hex(HEX),
    receipt: ref('ReceiptJson'),
    receiptBytes: hex(HEX),
    proof: ref('MerkleProofJson'),
    receiptProof: ref('MerkleProofJson'),
    header: ref('HeaderJson'),
    headerBytes: hex(HEX),
    certificateBytes: hex(HEX),
  }),
  TxResponse: {
    oneOf: [
      object(
        { hash: hex(HASH), status: { const: 'pending' } },
        { description: "in this node's mempool" },
      ),
      ref('CommittedTxResponse'),
    ],
  },
  BlockResponse: object({
    hash: hex(HASH),
    header: ref('HeaderJson'),
    txHashes: arrayOf(hex(HASH)),
    lastCommit: nullable(ref('CertificateJson')),
    certificate: nullable(ref('CertificateJson')),
    blockBytes: hex(HEX),
  }),
  AccountProof: object(accountProofFields),
  AccountResponse: object(
    {
      address: hex(ADDRESS),
      balance: hex('^[0-9]+$', 'a decimal amount'),
      nonce: int(),
      height: int(),
      proof: ref('AccountProof'),
    },
    { optional: ['proof'] },
  ),
  StateObjectProof: object({ ...accountProofFields, key: hex(HEX, 'the raw state key') }),
  StateResponse: object(
    {
      module: str(),
      id: str(),
      height: int(),
      present: bool(),
      value: {
        type: ['object', 'null'],
        description: "the module's JSON view of the value; null when absent",
      },
      proof: ref('StateObjectProof'),
    },
    { optional: ['proof'] },
  ),
  HistoryEntryJson: object({
    rev: int(undefined, 1),
    height: int(undefined, 1),
    index: int(),
    txHash: hex(HASH),
    opIndex: int(),
    action: nullable(int('for a governance action: its index in the proposal')),
  }),
  HistoryResponse: object({
    module: str(),
    id: str(),
    key: hex(HEX),
    height: int(),
    entries: arrayOf(ref('HistoryEntryJson')),
    next: nullable(int('the from of the next page; null after the last')),
  }),
  ProposalJson: proposal,
  ProposalsResponse: object({
    height: int(),
    total: int('proposals ever made (ids 1..total)'),
    proposals: arrayOf(ref('ProposalJson'), 'newest first, at most 100'),
  }),
  ProposalResponse: object({ height: int(), proposal: ref('ProposalJson') }),
  FaultsResponse: object({
    enabled: { const: true },
    links: {
      type: 'object',
      description: 'by remote validator index (or peer id)',
      additionalProperties: object(
        { delayMs: int(), lossRate: { type: 'number' }, blocked: bool() },
        { optional: ['delayMs', 'lossRate', 'blocked'] },
      ),
    },
    byzantine: oneOfEnum(['none', 'equivocate', 'silent']),
    clockOffsetMs: signedInt(),
    silenced: int(),
    equivocations: int(),
  }),
  BlockEvent: object({
    height: int(undefined, 1),
    hash: hex(HASH),
    timestamp: int(),
    txs: int('txs in the block'),
  }),
  TxEvent: object({
    hash: hex(HASH),
    height: int(undefined, 1),
    index: int(),
    senderAddress: hex(ADDRESS),
    status: oneOfEnum(['ok', 'failed']),
    code: str(),
    failedOp: nullable(int()),
  }),
  GapEvent: object({
    from: int('the first height not replayed', 1),
    to: int('the last height not replayed', 1),
  }),
};

const json = (schema: JsonSchema): Record<string, OpenApiMediaType> => ({
  'application/json': { schema },
});
const ok = (description: string, schema: JsonSchema): OpenApiResponse => ({
  description,
  content: json(schema),
});
const err = (status: number): { $ref: string } => ({ $ref: `#/components/responses/E${status}` });

const ERROR_RESPONSES: Record<number, string> = {
  400: 'a client mistake: a malformed parameter, body or tx (the code says which)',
  403: 'refused for who asks or what is asked of the node',
  404: 'no such thing (the code says what)',
  409: "a conflict: another tx holds the sender's nonce",
  410: 'gone from this node: pruned (STATE_VERSION_PRUNED, LEDGER_BLOCK_PRUNED), or made before the height it joined by state sync at (HISTORY_NOT_INDEXED); an archive node has it',
  413: 'the body exceeds rpc.maxBodyBytes',
  429: 'the mempool is full (overall or for this sender)',
  500: 'a fault of the node itself',
  503: 'busy: retry after Retry-After seconds',
  504: 'the wait for a commit timed out (the tx may still commit)',
};

const heightQuery = (description: string): OpenApiParameter => ({
  name: 'height',
  in: 'query',
  description,
  schema: { type: 'integer', minimum: 0 },
});
const proofQuery: OpenApiParameter = {
  name: 'proof',
  in: 'query',
  description: 'true: add the state proof, header and certificate',
  schema: { type: 'boolean' },
};
const pathParam = (name: string, description: string, schema: JsonSchema): OpenApiParameter => ({
  name,
  in: 'path',
  required: true,
  description,
  schema,
});
const moduleParam = pathParam('module', 'a module name (bank, org, gov, …)', str());
const objectIdParam = pathParam(
  'id',
  "the object's id: everything after the module, '/' included (account/<address>)",
  str(),
);

const PATHS: OpenApiDocument['paths'] = {
  '/status': {
    get: {
      operationId: 'status',
      summary: 'chain and node status, clock health and build',
      responses: { 200: ok('status', ref('StatusResponse')), 500: err(500) },
    },
  },
  '/ready': {
    get: {
      operationId: 'ready',
      summary: 'whether the node is fit to serve and vote',
      description:
        'peers: connected validators ≥ quorum − 1; sync: at most 2 heights behind; clock within maxClockDriftMs',
      responses: {
        200: ok('every check passes', ref('ReadyResponse')),
        503: ok('a check fails (the same body names it)', ref('ReadyResponse')),
      },
    },
  },
  '/health': {
    get: {
      operationId: 'health',
      summary: 'the process answers',
      responses: { 200: ok('alive', ref('HealthResponse')) },
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'openapi',
      summary: 'this document',
      responses: {
        200: ok('the OpenAPI 3.1 document of this API', {
          type: 'object',
          required: ['openapi', 'info', 'paths', 'components'],
        }),
      },
    },
  },
  '/validators': {
    get: {
      operationId: 'validators',
      summary: 'the validator set of the next height, or of height H',
      parameters: [heightQuery('a height from 1 to the next one')],
      responses: {
        200: ok('the set', ref('ValidatorsResponse')),
        400: err(400),
        500: err(500),
      },
    },
  },
  '/validators/changes': {
    get: {
      operationId: 'validatorChanges',
      summary: 'every validator-set change, with the header and certificate that prove it',
      description:
        '410 LEDGER_BLOCK_PRUNED for a change whose block this node does not hold: one that joined by state sync at S holds no block below S − 63',
      responses: {
        200: ok('the changes', ref('ValidatorChangesResponse')),
        410: err(410),
        500: err(500),
      },
    },
  },
  '/txs': {
    post: {
      operationId: 'submitTx',
      summary: 'submit a signed tx, optionally waiting for its commit',
      parameters: [
        {
          name: 'wait',
          in: 'query',
          description: 'commit: answer once the tx is in a committed block',
          schema: oneOfEnum(['commit']),
        },
        {
          name: 'timeoutMs',
          in: 'query',
          description: 'how long to wait for the commit (default 30000)',
          schema: { type: 'integer', minimum: 1, maximum: 120_000 },
        },
      ],
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: ref('SubmitTxRequest') },
          'application/octet-stream': {
            schema: { type: 'string', contentMediaType: 'application/octet-stream' },
          },
        },
      },
      responses: {
        200: ok(
          'admitted (pending), or committed with ?wait=commit. Idempotent: the same tx again answers where it is (pending, or committed with or without a wait), never "duplicate", so a client may resend it after a lost answer',
          ref('SubmitTxResponse'),
        ),
        400: err(400),
        403: err(403),
        409: err(409),
        413: err(413),
        429: err(429),
        500: err(500),
        503: err(503),
        504: err(504),
      },
    },
  },
  '/txs/{hash}': {
    get: {
      operationId: 'tx',
      summary: 'a tx with its receipt, Merkle proofs, header and certificate',
      description:
        '404 RPC_TX_NOT_FOUND: neither committed as far as the tx index reaches nor pending (a node that joined by state sync indexes txs from retained.txsFrom of GET /status on, and its message says so); 410 LEDGER_BLOCK_PRUNED: committed in a block this node no longer keeps',
      parameters: [pathParam('hash', 'the tx hash', hex(HASH))],
      responses: {
        200: ok('committed, or pending in this node’s mempool', ref('TxResponse')),
        400: err(400),
        404: err(404),
        410: err(410),
        500: err(500),
      },
    },
  },
  '/blocks/{id}': {
    get: {
      operationId: 'block',
      summary: 'a block: its JSON view, certificate and canonical bytes',
      description:
        '410 LEDGER_BLOCK_PRUNED below the blocks this node keeps (retained.blocksFrom of GET /status)',
      parameters: [
        pathParam('id', 'a height, or latest', {
          type: 'string',
          pattern: '^([0-9]{1,15}|latest)$',
        }),
      ],
      responses: {
        200: ok('the block', ref('BlockResponse')),
        400: err(400),
        404: err(404),
        410: err(410),
        500: err(500),
      },
    },
  },
  '/accounts/{address}': {
    get: {
      operationId: 'account',
      summary: 'an account’s balance and nonce (+ state proof)',
      parameters: [pathParam('address', 'the account address', hex(ADDRESS)), proofQuery],
      responses: {
        200: ok('the account', ref('AccountResponse')),
        400: err(400),
        500: err(500),
      },
    },
  },
  '/state/{module}/{id}': {
    get: {
      operationId: 'state',
      summary: 'a module’s object as JSON (+ state proof), at the tip or a past height',
      description:
        '410 STATE_VERSION_PRUNED for a height below the state this node keeps (retained.stateFrom of GET /status), LEDGER_BLOCK_PRUNED with a proof whose block it no longer keeps',
      parameters: [
        moduleParam,
        objectIdParam,
        proofQuery,
        heightQuery('read the object as it was at this committed height'),
      ],
      responses: {
        200: ok('the object (present: false when absent)', ref('StateResponse')),
        400: err(400),
        404: err(404),
        410: err(410),
        500: err(500),
      },
    },
  },
  '/history/{module}/{id}': {
    get: {
      operationId: 'history',
      summary: 'an object’s history index: which tx made each revision (unproven)',
      description:
        '410 HISTORY_NOT_INDEXED when the page would start with revisions made below retained.historyFrom of GET /status (a node that joined by state sync): never a short list that looks complete',
      parameters: [
        moduleParam,
        objectIdParam,
        {
          name: 'from',
          in: 'query',
          description: 'the first revision (default 1)',
          schema: { type: 'integer', minimum: 0, maximum: 0xffff_ffff },
        },
        {
          name: 'limit',
          in: 'query',
          description: 'entries per page (default 100)',
          schema: { type: 'integer', minimum: 1, maximum: 1_000 },
        },
      ],
      responses: {
        200: ok('one page of the index', ref('HistoryResponse')),
        400: err(400),
        404: err(404),
        410: err(410),
        500: err(500),
      },
    },
  },
  '/gov/proposals': {
    get: {
      operationId: 'proposals',
      summary: 'the newest governance proposals (at most 100), newest first',
      responses: {
        200: ok('the proposals', ref('ProposalsResponse')),
        404: err(404),
        500: err(500),
      },
    },
  },
  '/gov/proposals/{id}': {
    get: {
      operationId: 'proposal',
      summary: 'one governance proposal, its status read at the current height',
      parameters: [pathParam('id', 'the proposal id', { type: 'integer', minimum: 1 })],
      responses: {
        200: ok('the proposal', ref('ProposalResponse')),
        400: err(400),
        404: err(404),
        500: err(500),
      },
    },
  },
  '/events': {
    get: {
      operationId: 'events',
      summary: 'server-sent events: committed blocks, or the committed txs a filter selects',
      description: [
        'Without a filter, `event: block` with `id: <height>` per committed block. With',
        '`tx` or `address`, `event: tx` with `id: <height>:<index>` per committed tx the',
        'filter selects (for `tx`: once, at once if it is already committed), and after',
        'each block a bare `id: <height>` line that moves the client’s resume point on.',
        'A client that reconnects with `Last-Event-ID` (or `from`) first gets what',
        'committed after that id, read from the chain, then the live stream, with no gap',
        'and no repeat; at most 1,000 blocks are replayed: from further back the stream',
        'starts with `event: gap` (`id: <to>`) naming the blocks it skipped. A client',
        'that does not read its stream is dropped once the node holds 1 MiB for it.',
      ].join(' '),
      parameters: [
        {
          name: 'from',
          in: 'query',
          description: 'resume after this event id (<height> or <height>:<index>)',
          schema: { type: 'string', pattern: '^[0-9]{1,15}(:[0-9]{1,6})?$' },
        },
        {
          name: 'Last-Event-ID',
          in: 'header',
          description: 'as from; wins over from (an EventSource sends it when it reconnects)',
          schema: { type: 'string', pattern: '^[0-9]{1,15}(:[0-9]{1,6})?$' },
        },
        {
          name: 'tx',
          in: 'query',
          description: 'only this tx: one event when it commits',
          schema: hex(HASH),
        },
        {
          name: 'address',
          in: 'query',
          description: 'only the txs this address sends (not with tx)',
          schema: hex(ADDRESS),
        },
      ],
      responses: {
        200: {
          description: 'the stream; each event’s data is JSON, its schema under x-events',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
        400: err(400),
        503: err(503),
      },
      'x-events': { block: ref('BlockEvent'), tx: ref('TxEvent'), gap: ref('GapEvent') },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      responses: {
        200: {
          description: 'the Prometheus text format',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
    },
  },
  '/admin/faults': {
    get: {
      operationId: 'faults',
      summary: 'the faults applied now (fault injection)',
      responses: { 200: ok('the faults', ref('FaultsResponse')), 403: err(403) },
    },
    post: {
      operationId: 'setFaults',
      summary: 'replace the faults (link faults, a Byzantine mode, a clock offset)',
      requestBody: {
        required: true,
        content: json(
          object(
            {
              links: {
                type: 'object',
                description: 'by remote validator index or peer id',
                additionalProperties: object(
                  { delayMs: int(), lossRate: { type: 'number' }, blocked: bool() },
                  { optional: ['delayMs', 'lossRate', 'blocked'] },
                ),
              },
              byzantine: oneOfEnum(['none', 'equivocate', 'silent']),
              clockOffsetMs: signedInt(),
            },
            { optional: ['links', 'byzantine', 'clockOffsetMs'] },
          ),
        ),
      },
      responses: {
        200: ok('the faults now', ref('FaultsResponse')),
        400: err(400),
        403: err(403),
        413: err(413),
      },
    },
  },
};

/** The document; `version` is the node's package version (what GET /status reports). */
export function openApiDocument(version: string): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Civitas node HTTP API',
      version,
      description: [
        'JSON in and out; bytes are lowercase hex, amounts decimal strings. Every answer',
        'that is not 2xx has the body ApiErrorBody; its code is from the error catalogue.',
        'A path no route has is 404 RPC_NOT_FOUND, another method on a route’s path 405',
        'RPC_METHOD_NOT_ALLOWED. Verify answers locally with the SDK (civitas/client).',
      ].join(' '),
      license: { name: 'Apache-2.0' },
    },
    servers: [{ url: '/', description: 'the node that serves this document' }],
    paths: PATHS,
    components: {
      schemas: SCHEMAS,
      responses: Object.fromEntries(
        Object.entries(ERROR_RESPONSES).map(([status, description]) => [
          `E${status}`,
          {
            description,
            ...(status === '503'
              ? {
                  headers: {
                    'Retry-After': {
                      description: 'seconds to wait before retrying',
                      schema: { type: 'integer' },
                    },
                  },
                }
              : {}),
            content: json(ref('ApiErrorBody')),
          },
        ]),
      ),
    },
  };
}
