/** Client commands: tx, query, verify. They use the SDK in src/client, and read key files as the CLI does (../passphrase.ts). */

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { StatusResponse } from '../../api/types.ts';
import {
  accountStateKey,
  appModule,
  appOp,
  appOps,
  CivitasClient,
  clientApp,
  DEFAULT_EXPIRY_BLOCKS,
  decodeTx,
  fromHex,
  type HistoryEntryJson,
  type KeyPair,
  makeValidatorSet,
  type ProposalJson,
  parseAddress,
  parseCall,
  type SubmitTxResponse,
  senderAddress,
  sign,
  stateKeyHash,
  type TrustedChain,
  type Tx,
  type TxOpInput,
  toHex,
  transfer,
  trustedChainFromGenesis,
  unsignedTx,
  type VerifiedHistoryEntry,
  verifyAccountProof,
  verifyHistory,
  verifyStateProof,
  verifyTxProof,
  verifyValidatorChanges,
} from '../../client/index.ts';
import { loadKeyFilePublicKey } from '../../crypto/keyfile.ts';
import { CivitasError } from '../../errors/index.ts';
import { parseJsonText } from '../../errors/json-text.ts';
import { loadGenesisFile } from '../../node/genesis-file.ts';
import { amountOption, DEFAULT_RPC, intOption } from '../options.ts';
import { action, printJson, printLines } from '../output.ts';
import { loadKey, loadKeys, type PassphraseOpts, passphraseFileOption } from '../passphrase.ts';

/** How long a node waits for a submitted tx's block under --wait (its default). */
const COMMIT_WAIT_MS = 30_000;

export interface RpcOpts {
  rpc: string;
  json?: boolean;
  /** Seconds to wait for each answer of the node. */
  timeout: number;
}

export function withRpc(cmd: Command): Command {
  return cmd
    .option('--rpc <url>', 'node API URL (env CIVITAS_RPC)', DEFAULT_RPC)
    .option(
      '--timeout <s>',
      'seconds to wait for each answer of the node (a tx is also sent again within this time when no answer came or the node was busy: submission is idempotent)',
      intOption(1, 3_600),
      10,
    )
    .option('--json', 'print JSON (errors too, as {"error": {"code", "message"}})');
}

/** The node's client; `extraMs` for a request that waits on the node by design (--wait). */
export function rpcClient(opts: RpcOpts, extraMs = 0): CivitasClient {
  return new CivitasClient(opts.rpc, {
    timeoutMs: opts.timeout * 1000 + extraMs,
    submitRetryMs: opts.timeout * 1000,
  });
}

function parseTxHash(hash: string): string {
  try {
    return toHex(fromHex(hash, 32));
  } catch {
    throw new CivitasError('CLI_BAD_HASH', `not a 32-byte hex tx hash: ${hash}`);
  }
}

/** Commander's collector for a repeatable option. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function parseJson(text: string, what: string): unknown {
  return parseJsonText(text, what, 'CLI_BAD_JSON');
}

export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new CivitasError('CLI_FILE_NOT_FOUND', `cannot read ${what} ${path} (${code})`);
  }
  return parseJson(text, `${what} ${path}`);
}

interface SendOpts extends RpcOpts, PassphraseOpts {
  key: string;
  cosign?: string[];
  nonce?: number;
  wait?: boolean;
}

/**
 * validators.ready proves the signing key follows the chain: the key's own public key and the
 * latest block hash fill in whatever `--args '{}'` leaves out.
 */
async function readyArgs(args: unknown, opts: SendOpts): Promise<unknown> {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return args;
  const given = args as Record<string, unknown>;
  // The public key is in clear even in an encrypted file: no passphrase asked here.
  const publicKey = await loadKeyFilePublicKey(opts.key);
  const latest =
    given.recentBlockHash === undefined ? (await rpcClient(opts).block('latest')).hash : undefined;
  return {
    publicKey: given.publicKey ?? toHex(publicKey),
    recentBlockHash: given.recentBlockHash ?? latest,
    ...given,
  };
}

/**
 * Signs ops (already built and checked) as the key and its cosigners, submits them, and
 * prints the outcome. A committed tx that failed exits 3 and names the op that failed it.
 */
async function sendOps(ops: TxOpInput[], opts: SendOpts): Promise<void> {
  // One after another: a terminal asks for one passphrase at a time.
  const [keys, ...cosigners] = (await loadKeys([opts.key, ...(opts.cosign ?? [])], opts)) as [
    KeyPair,
    ...KeyPair[],
  ];
  const client = rpcClient(opts);
  const status = await client.status();
  const nonce = opts.nonce ?? (await client.account(toHex(senderAddress(keys)))).nonce;
  const unsigned = unsignedTx({
    chainId: status.chainId,
    sender: keys.publicKey,
    nonce,
    expiryHeight: status.height + DEFAULT_EXPIRY_BLOCKS,
    ops,
    cosigners: cosigners.map((c: KeyPair) => c.publicKey),
  });
  const res = await rpcClient(opts, opts.wait ? COMMIT_WAIT_MS : 0).submit(
    sign(unsigned, keys, cosigners),
    { wait: opts.wait },
  );
  const failed = res.status === 'committed' && res.receipt?.status === 'failed';
  if (failed) process.exitCode = 3;
  if (opts.json) return printJson(res);
  printLines(outcomeLines(res, ops));
}

function outcomeLines(res: SubmitTxResponse, ops: readonly TxOpInput[]): string[] {
  if (res.status === 'pending') return [`submitted ${res.hash}`];
  const receipt = res.receipt;
  const lines = [
    `committed ${res.hash} at height ${res.height}`,
    `receipt   ${receipt?.status} (${receipt?.code})`,
  ];
  if (receipt?.status === 'failed' && receipt.failedOp !== null) {
    const op = ops[receipt.failedOp];
    const name = op === undefined ? '' : ` (${op.module}.${op.method})`;
    lines.push(`failed op ${receipt.failedOp}${name}: ${receipt.code}`);
  }
  for (const e of receipt?.events ?? []) {
    const attributes = Object.entries(e.attributes).map(([k, v]) => `${k}=${v}`);
    lines.push(`event     ${[e.type, ...attributes].join(' ')}`);
  }
  return lines;
}

/** The methods the modules offer, for --help (the client's own copy of the modules). */
function methodsHelp(): string {
  const lines = [...clientApp().modules.values()].map(
    (m) =>
      `  ${Object.keys(m.methods)
        .map((method) => `${m.name}.${method}`)
        .join(', ')}`,
  );
  return ['Methods (args: see each module in src/app):', ...lines].join('\n');
}

const OBJECT_IDS_HELP = [
  'Objects (module id):',
  '  bank <address>               an account: balance and nonce (no history)',
  '  org <org id>                 an organisation',
  '  org member/<address>         a member and its roles',
  '  gov <proposal id>            a governance proposal',
  '  params current               the governed parameters',
  '  asset <CLASS>                an asset class',
  '  asset <CLASS>/<ID>           an asset',
  '  doc <id>                     a document',
  '  recv <id>                    a receivable',
  '  freeze account/<address>     a freeze order on an account',
  '  freeze asset/<CLASS>/<ID>    a freeze order on an asset',
  '  freeze doc/<id>              a freeze order on a document',
  '  freeze recv/<id>             a freeze order on a receivable',
].join('\n');

const HISTORY_HELP = [
  'Every object below but bank accounts carries a revision (rev) and a history hash (hist)',
  'chained over each call that changed it: hist = H(hist, txHash, opIndex, H(module, method,',
  'args)), from 32 zero bytes at rev 0. The node keeps an index of which tx made each',
  'revision; `query history` shows it as the node says it, `verify history` proves it.',
].join('\n');

/** The options tx call and tx batch share: keys, nonce, waiting. */
function withSigning(cmd: Command): Command {
  return withRpc(
    cmd
      .requiredOption('--key <file>', 'sender key file')
      .option(
        '--cosign <file>',
        'a cosigner key file, signing here too (repeat for each cosigner, in order)',
        collect,
      )
      .addOption(passphraseFileOption())
      .option(
        '--nonce <n>',
        "sender nonce (default: the account's next nonce)",
        intOption(0, Number.MAX_SAFE_INTEGER),
      )
      .option(
        '--wait',
        'wait until the tx is committed and print its receipt (exit 3 if the tx failed)',
      ),
  );
}

export function registerTxCommand(program: Command): void {
  const tx = program.command('tx').description('build, sign and submit transactions');
  withRpc(
    tx
      .command('transfer')
      .description("transfer an amount from the key's account to --to")
      .requiredOption('--to <address>', 'recipient address (40 hex chars)')
      .requiredOption('--amount <n>', 'whole amount to send', amountOption)
      .requiredOption('--key <file>', 'sender key file')
      .addOption(passphraseFileOption())
      .option(
        '--nonce <n>',
        "sender nonce (default: the account's next nonce)",
        intOption(0, Number.MAX_SAFE_INTEGER),
      )
      .option('--wait', 'wait until the tx is committed and print its receipt'),
  ).action(
    action(
      async (
        opts: RpcOpts &
          PassphraseOpts & {
            to: string;
            amount: bigint;
            key: string;
            nonce?: number;
            wait?: boolean;
          },
      ) => {
        const to = parseAddress(opts.to);
        const keys = await loadKey(opts.key, opts);
        const client = rpcClient(opts);
        const status = await client.status();
        const nonce = opts.nonce ?? (await client.account(toHex(senderAddress(keys)))).nonce;
        const signed = transfer({
          chainId: status.chainId,
          keys,
          to,
          amount: opts.amount,
          nonce,
          expiryHeight: status.height + DEFAULT_EXPIRY_BLOCKS,
        });
        const res = await rpcClient(opts, opts.wait ? COMMIT_WAIT_MS : 0).submit(signed, {
          wait: opts.wait,
        });
        if (opts.json) return printJson(res);
        if (res.status === 'pending') return printLines([`submitted ${res.hash}`]);
        printLines([
          `committed ${res.hash} at height ${res.height}`,
          `receipt   ${res.receipt?.status} (${res.receipt?.code})`,
        ]);
        if (res.receipt?.status === 'failed') process.exitCode = 3;
      },
    ),
  );
  withSigning(
    tx
      .command('call')
      .summary('call one module method, its args as JSON')
      .description('sign and submit a tx calling one module method, its args in JSON form')
      .argument('<module.method>', 'the method, e.g. org.addMember')
      .requiredOption('--args <json>', "the method's args as a JSON object")
      .addHelpText('after', () => `\n${methodsHelp()}`)
      .option(
        '--expect-rev <n>',
        'fail the tx (STALE_REV) unless the object acted on is at this revision',
        intOption(0, Number.MAX_SAFE_INTEGER),
      ),
  ).action(
    action(async (target: string, opts: SendOpts & { args: string; expectRev?: number }) => {
      const { module, method } = parseCall(target);
      let args = parseJson(opts.args, '--args');
      if (module === 'validators' && method === 'ready') args = await readyArgs(args, opts);
      const op = appOp(module, method, args, opts.expectRev);
      await sendOps([op], opts);
    }),
  );
  withSigning(
    tx
      .command('batch')
      .summary('call 1-8 module methods in one tx, all or nothing')
      .description(
        'sign and submit one tx of 1-8 module calls, executed all or nothing (a failing op undoes the others)',
      )
      .requiredOption('--ops <file>', 'JSON file with the list of ops')
      .addHelpText(
        'after',
        () =>
          `\nThe ops file is a JSON list, e.g.\n  [{"call": "bank.transfer", "args": {"to": "<address>", "amount": "5"}},\n   {"call": "gov.vote", "args": {"id": 3, "approve": true}, "expectRev": 2}]\n\n${methodsHelp()}`,
      ),
  ).action(
    action(async (opts: SendOpts & { ops: string }) => {
      const list = await readJsonFile(opts.ops, 'ops file');
      if (!Array.isArray(list)) {
        throw new CivitasError(
          'CLI_BAD_JSON',
          `ops file ${opts.ops} must hold a JSON list of {"call", "args", "expectRev"?}`,
        );
      }
      await sendOps(appOps(list), opts);
    }),
  );
}

/** What a node holds, for `query status`: from the genesis, or from which heights and why. */
function heldFrom(s: StatusResponse): string {
  const { stateFrom, blocksFrom, txsFrom, historyFrom } = s.retained;
  const joined = s.stateSync === null ? '' : `  (joined by state sync at ${s.stateSync.height})`;
  if (stateFrom + blocksFrom + txsFrom + historyFrom === 0) return 'everything from the genesis';
  const from = (h: number) => (h === 0 ? 'the genesis' : String(h));
  return `state from ${from(stateFrom)}, blocks from ${from(blocksFrom)}, tx index from ${from(txsFrom)}, history from ${from(historyFrom)}${joined}`;
}

export function registerQueryCommand(program: Command): void {
  const query = program.command('query').description('query a node');
  withRpc(
    query.command('status').description('chain height, consensus view and primary, peers'),
  ).action(
    action(async (opts: RpcOpts) => {
      const s = await rpcClient(opts).status();
      if (opts.json) return printJson(s);
      printLines([
        `chain      ${s.chainId}`,
        `node       ${s.moniker} (${s.validator.slice(0, 16)}…)`,
        `height     ${s.height}  ${s.latestBlockHash}`,
        `consensus  ${s.consensus.engine} view ${s.consensus.view} primary ${s.consensus.primary}  view changes ${s.consensus.viewChanges}`,
        `mempool    ${s.mempool.size} txs`,
        `peers      ${s.peers.length}`,
        `holds      ${heldFrom(s)}`,
      ]);
    }),
  );
  withRpc(query.command('validators').description('the validator set')).action(
    action(async (opts: RpcOpts) => {
      const v = await rpcClient(opts).validators();
      if (opts.json) return printJson(v);
      printLines([
        `${v.validators.length} validators, quorum ${v.quorum}, set hash ${v.hash}`,
        ...v.validators.map((x) => `  ${x.index}  ${x.name}  ${x.publicKey}`),
      ]);
    }),
  );
  withRpc(
    query.command('block').description('a block by height (or "latest")').argument('<height>'),
  ).action(
    action(async (height: string, opts: RpcOpts) => {
      if (height !== 'latest' && !/^[0-9]+$/.test(height))
        throw new CivitasError('CLI_BAD_HEIGHT', `not a height: ${height}`);
      const b = (await rpcClient(opts).block(height === 'latest' ? 'latest' : Number(height))) as {
        hash: string;
        header: { height: number; timestamp: number; proposer: string; stateRoot: string };
        txHashes: string[];
      };
      if (opts.json) return printJson(b);
      printLines([
        `block ${b.header.height}  ${b.hash}`,
        `time       ${new Date(b.header.timestamp).toISOString()}`,
        `proposer   ${b.header.proposer}`,
        `state root ${b.header.stateRoot}`,
        `txs        ${b.txHashes.length}`,
      ]);
    }),
  );
  withRpc(
    query.command('tx').description('a tx with its receipt and proof').argument('<hash>'),
  ).action(
    action(async (hash: string, opts: RpcOpts) => {
      const t = (await rpcClient(opts).tx(parseTxHash(hash))) as {
        status: string;
        height?: number;
        index?: number;
        receipt?: { status: string; code: string; events: unknown[] };
      };
      if (opts.json) return printJson(t);
      if (t.status === 'pending') return printLines([`tx ${hash} is pending in the mempool`]);
      printLines([
        `tx ${hash}`,
        `height   ${t.height} (index ${t.index})`,
        `receipt  ${t.receipt?.status} (${t.receipt?.code})`,
        `events   ${JSON.stringify(t.receipt?.events)}`,
      ]);
    }),
  );
  withRpc(
    query.command('account').description('balance and nonce of an address').argument('<address>'),
  ).action(
    action(async (address: string, opts: RpcOpts) => {
      parseAddress(address);
      const a = (await rpcClient(opts).account(address)) as {
        balance: string;
        nonce: number;
        height: number;
      };
      if (opts.json) return printJson(a);
      printLines([
        `account ${address}`,
        `balance  ${a.balance}`,
        `nonce    ${a.nonce}`,
        `at height ${a.height}`,
      ]);
    }),
  );
  withRpc(
    query
      .command('state')
      .description('an object of a module, as JSON')
      .argument('<module>')
      .argument('<id>')
      .addHelpText('after', `\n${OBJECT_IDS_HELP}`),
  ).action(
    action(async (module: string, id: string, opts: RpcOpts) => {
      const s = await rpcClient(opts).state(module, id);
      if (opts.json) return printJson(s);
      printLines(stateLines(module, id, s.height, s.value));
    }),
  );
  withRpc(
    query
      .command('history')
      .summary("an object's history index: which tx made each revision")
      .description(
        "the node's index of an object's changes: for each revision the block, tx, op and call that made it (as the node says; `civitas verify history` proves it)",
      )
      .argument('<module>')
      .argument('<id>')
      .option('--from <rev>', 'first revision to list', intOption(0, 0xffff_ffff), 1)
      .option('--limit <n>', 'revisions to list (at most 1000)', intOption(1, 1_000), 100)
      .addHelpText('after', `\n${HISTORY_HELP}\n\n${OBJECT_IDS_HELP}`),
  ).action(
    action(async (module: string, id: string, opts: RpcOpts & { from: number; limit: number }) => {
      // Our own copy of the module checks the module and id before anything is asked.
      appModule(module).objects.key(id);
      const client = rpcClient(opts);
      const h = await client.history(module, id, { from: opts.from, limit: opts.limit });
      if (opts.json) return printJson(h);
      const calls = await entryCalls(client, h.entries);
      const rows = h.entries.map((e, i) => [
        String(e.rev),
        String(e.height),
        e.txHash,
        String(e.opIndex),
        calls[i]!,
      ]);
      printLines([
        `${module} ${id}: ${h.entries.length === 0 ? 'no changes' : `${h.entries.length} changes`} from rev ${opts.from}, index read at height ${h.height}`,
        ...table(['rev', 'height', 'tx', 'op', 'call'], rows),
        ...(h.next === null ? [] : [`more: --from ${h.next}`]),
      ]);
    }),
  );
  withRpc(
    query
      .command('proposals')
      .description('governance proposals, newest first (the last 100), or one proposal by id')
      .argument('[id]'),
  ).action(
    action(async (id: string | undefined, opts: RpcOpts) => {
      const client = rpcClient(opts);
      if (id !== undefined) {
        if (!/^[1-9][0-9]{0,15}$/.test(id)) {
          throw new CivitasError('GOV_BAD_ID', `a proposal id is a positive integer: ${id}`);
        }
        const r = await client.proposal(id);
        if (opts.json) return printJson(r);
        return printLines(proposalLines(r.proposal, r.height));
      }
      const r = await client.proposals();
      if (opts.json) return printJson(r);
      printLines([
        `${r.total} proposals at height ${r.height}${r.total > r.proposals.length ? ` (the last ${r.proposals.length} shown)` : ''}`,
        ...r.proposals.map((p) => `  ${proposalSummary(p)}`),
      ]);
    }),
  );
}

/**
 * The call of each index entry, read from its tx (and for a governance action from its
 * proposal): unproven, for display; `verify history` proves them.
 */
async function entryCalls(
  client: CivitasClient,
  entries: readonly HistoryEntryJson[],
): Promise<string[]> {
  const txs = new Map<string, Promise<Tx | undefined>>();
  const proposals = new Map<number, Promise<string[]>>();
  const txOf = (hash: string): Promise<Tx | undefined> => {
    let tx = txs.get(hash);
    if (tx === undefined) {
      tx = client
        .tx(hash)
        .then((r) => (r.status === 'committed' ? decodeTx(fromHex(r.txBytes)) : undefined));
      txs.set(hash, tx);
    }
    return tx;
  };
  const actionsOf = (id: number): Promise<string[]> => {
    let actions = proposals.get(id);
    if (actions === undefined) {
      actions = client.proposal(id).then((r) => r.proposal.actions.map((a) => a.call));
      proposals.set(id, actions);
    }
    return actions;
  };
  const vote = clientApp().method('gov', 'vote')!;
  return Promise.all(
    entries.map(async (e) => {
      const op = (await txOf(e.txHash))?.ops[e.opIndex];
      if (op === undefined) return '?';
      const call = `${op.module}.${op.method}`;
      if (e.action === null) return call;
      const { id } = vote.args.decode(op.args) as { id: number };
      const action = (await actionsOf(id))[e.action] ?? '?';
      return `${action} (proposal ${id} action ${e.action}, by ${call})`;
    }),
  );
}

/** A verified change as one line of `verify history`. */
function historyStep(e: VerifiedHistoryEntry): string {
  const by =
    e.proposal === null
      ? `tx ${e.txHash} op ${e.opIndex}`
      : `proposal ${e.proposal} action ${e.action}, passed by tx ${e.txHash} op ${e.opIndex}`;
  return `rev ${e.rev} at height ${e.height}: ${e.module}.${e.method} ${JSON.stringify(e.args)} (${by})`;
}

function stateLines(module: string, id: string, height: number, value: unknown): string[] {
  return [
    `${module} ${id} at height ${height}`,
    ...(value === null ? ['absent'] : JSON.stringify(value, null, 2).split('\n')),
  ];
}

/** Rows under a header, columns padded to their widest cell (the last one not padded). */
function table(header: readonly string[], rows: readonly string[][]): string[] {
  if (rows.length === 0) return [];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

function proposalSummary(p: ProposalJson): string {
  const approvals = p.votes.filter((v) => v.approve).length;
  return [
    `#${p.id}`,
    p.status.padEnd(9),
    `approvals ${approvals}/${p.threshold}`,
    `expires ${p.expiresAtHeight}`,
    p.actions.map((a) => a.call).join(','),
  ].join('  ');
}

function proposalLines(p: ProposalJson, height: number): string[] {
  const lines = [
    `proposal ${p.id}  ${p.status} at height ${height}`,
    `proposer   ${p.proposer}`,
    ...p.actions.map((a, i) => `action ${i}   ${a.call} ${JSON.stringify(a.args)}`),
    `committee  ${p.committee.join(', ')} (threshold ${p.threshold})`,
    `votes      ${p.votes.length === 0 ? 'none' : p.votes.map((v) => `${v.org} ${v.approve ? 'approve' : 'reject'}`).join(', ')}`,
    `created    ${p.createdAt}, expires ${p.expiresAtHeight}${p.closedAt > 0 ? `, closed ${p.closedAt}` : ''}`,
  ];
  if (p.failure !== null) lines.push(`failure    action ${p.failure.index}: ${p.failure.code}`);
  lines.push(`rev        ${p.rev}`);
  return lines;
}

/**
 * The chain a verification trusts: the genesis set (from --genesis, or else as the node
 * says), and every validator-set change since, each checked against the set before it.
 */
export async function trustedSet(
  client: CivitasClient,
  genesisPath: string | undefined,
): Promise<TrustedChain & { source: string }> {
  let trusted: TrustedChain;
  let source: string;
  if (genesisPath !== undefined) {
    trusted = await trustedChainFromGenesis(client, await loadGenesisFile(genesisPath));
    source = genesisPath;
  } else {
    const [status, v] = await Promise.all([client.status(), client.validators(1)]);
    const base = {
      chainId: status.chainId,
      validators: makeValidatorSet(v.validators.map((x) => fromHex(x.publicKey, 32))),
    };
    trusted = { ...base, changes: verifyValidatorChanges(base, await client.validatorChanges()) };
    source = `${client.rpcUrl} (pass --genesis to check against your own copy)`;
  }
  const changed = trusted.changes?.changes.length ?? 0;
  if (changed > 0) source += `, ${changed} validator-set change(s) verified`;
  return { ...trusted, source };
}

export function registerVerifyCommand(program: Command): void {
  const verify = program
    .command('verify')
    .description("verify a node's answers locally with proofs and certificates");
  withRpc(
    verify
      .command('tx')
      .description(
        "fetch a tx's Merkle proofs, header and commit certificate and check them locally",
      )
      .argument('<hash>')
      .option(
        '--genesis <file>',
        'trusted genesis file (the validator set to check signatures against)',
      ),
  ).action(
    action(async (hash: string, opts: RpcOpts & { genesis?: string }) => {
      const client = rpcClient(opts);
      const trusted = await trustedSet(client, opts.genesis);
      const response = await client.tx(parseTxHash(hash));
      if (response.status !== 'committed')
        throw new CivitasError('VERIFY_NOT_COMMITTED', `tx ${hash} is not committed yet`);
      const verified = verifyTxProof(fromHex(hash, 32), response, trusted);
      if (opts.json)
        return printJson({ verified: true, ...verified, validatorsFrom: trusted.source });
      printLines([
        `verified: tx ${hash}`,
        `  included at height ${verified.height} in block ${verified.blockHash}`,
        `  receipt ${verified.status} (${verified.code}), proven under receiptRoot`,
        `  block signed by ${verified.signers} of ${trusted.validators.validators.length} validators (quorum ${trusted.validators.quorum})`,
        `  validator set from ${trusted.source}`,
      ]);
    }),
  );
  withRpc(
    verify
      .command('account')
      .description('fetch an account with its state proof and check it against a certified header')
      .argument('<address>')
      .option('--genesis <file>', 'trusted genesis file'),
  ).action(
    action(async (address: string, opts: RpcOpts & { genesis?: string }) => {
      const client = rpcClient(opts);
      const trusted = await trustedSet(client, opts.genesis);
      const addr = parseAddress(address);
      const { proof } = await client.account(address, { proof: true });
      if (proof === undefined)
        throw new CivitasError('CLIENT_BAD_RESPONSE', 'the node answered without a proof');
      const verified = verifyAccountProof(stateKeyHash(accountStateKey(addr)), proof, trusted);
      if (opts.json)
        return printJson({ verified: true, ...verified, validatorsFrom: trusted.source });
      printLines([
        `verified: account ${address} at height ${verified.height}`,
        `  balance ${verified.balance}, nonce ${verified.nonce}${verified.present ? '' : ' (absent: proven non-inclusion)'}`,
        `  validator set from ${trusted.source}`,
      ]);
    }),
  );
  withRpc(
    verify
      .command('state')
      .description(
        "fetch a module's object with its state proof and check it against a certified header",
      )
      .argument('<module>')
      .argument('<id>')
      .addHelpText('after', `\n${OBJECT_IDS_HELP}`)
      .option('--genesis <file>', 'trusted genesis file')
      .option(
        '--height <h>',
        'prove the value as of this height (absence too: e.g. "not frozen at h")',
        intOption(0, Number.MAX_SAFE_INTEGER),
      ),
  ).action(
    action(
      async (module: string, id: string, opts: RpcOpts & { genesis?: string; height?: number }) => {
        // The key comes from our own copy of the module: a bad module or id stops here.
        appModule(module).objects.key(id);
        const client = rpcClient(opts);
        const trusted = await trustedSet(client, opts.genesis);
        const response = await client.state(module, id, { proof: true, height: opts.height });
        const verified = verifyStateProof(module, id, response, trusted);
        if (opts.height !== undefined && verified.height !== opts.height) {
          throw new CivitasError(
            'VERIFY_HEIGHT',
            `asked for height ${opts.height}, the node proved height ${verified.height}`,
          );
        }
        if (opts.json) {
          return printJson({
            verified: true,
            module,
            id,
            height: verified.height,
            present: verified.present,
            value: verified.value === undefined ? null : toHex(verified.value),
            json: verified.json,
            validatorsFrom: trusted.source,
          });
        }
        printLines([
          `verified: ${module} ${id} at height ${verified.height}`,
          ...(verified.json === null
            ? ['  absent (proven non-inclusion)']
            : JSON.stringify(verified.json, null, 2)
                .split('\n')
                .map((l) => `  ${l}`)),
          `  validator set from ${trusted.source}`,
        ]);
      },
    ),
  );
  withRpc(
    verify
      .command('history')
      .summary("prove an object's whole history against certified blocks")
      .description(
        "prove an object's history: its current rev and hist with a state proof, and every change the node's index names with the tx's Merkle proofs, receipt and commit certificate (a governance action with its proposal, proven at that height); the hash chain replayed from rev 0 must end at the proven hist",
      )
      .argument('<module>')
      .argument('<id>')
      .option('--genesis <file>', 'trusted genesis file')
      .addHelpText(
        'after',
        `\nExits 1 with one coded line (VERIFY_HISTORY_GAP, VERIFY_HISTORY_ENTRY,\nVERIFY_HISTORY_MISMATCH, VERIFY_*) when anything does not check out.\n\n${HISTORY_HELP}\n\n${OBJECT_IDS_HELP}`,
      ),
  ).action(
    action(async (module: string, id: string, opts: RpcOpts & { genesis?: string }) => {
      appModule(module).objects.key(id);
      const client = rpcClient(opts);
      const trusted = await trustedSet(client, opts.genesis);
      const onEntry = opts.json
        ? undefined
        : (e: VerifiedHistoryEntry) => printLines([historyStep(e)]);
      const verified = await verifyHistory(client, module, id, trusted, { onEntry });
      if (opts.json) {
        return printJson({ verified: true, ...verified, validatorsFrom: trusted.source });
      }
      printLines([
        `verified: ${module} ${id} rev ${verified.rev}, hist ${verified.hist}, ${verified.entries.length} changes, each proven by a certified block`,
        `  current value proven at height ${verified.height}${verified.present ? '' : ' (absent: proven non-inclusion)'}`,
        `  validator set from ${trusted.source}`,
      ]);
    }),
  );
}
