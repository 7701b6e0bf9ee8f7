/** Client commands: tx, query, verify. They use the SDK in src/client only. */
import type { Command } from 'commander';
import type { ValidatorSet } from '../../chain/validator-set.ts';
import {
  accountStateKey,
  CivitasClient,
  DEFAULT_EXPIRY_BLOCKS,
  fromHex,
  genesisStateRoot,
  genesisValidatorSet,
  loadKeyFile,
  makeValidatorSet,
  parseAddress,
  senderAddress,
  stateKeyHash,
  toHex,
  transfer,
  verifyAccountProof,
  verifyTxProof,
} from '../../client/index.ts';
import { CivitasError } from '../../errors/index.ts';
import { loadGenesisFile } from '../../node/genesis-file.ts';
import { amountOption, DEFAULT_RPC, intOption } from '../options.ts';
import { action, printJson, printLines } from '../output.ts';

interface RpcOpts {
  rpc: string;
  json?: boolean;
}

function withRpc(cmd: Command): Command {
  return cmd
    .option('--rpc <url>', 'node API URL (env CIVITAS_RPC)', DEFAULT_RPC)
    .option('--json', 'print JSON');
}

function parseTxHash(hash: string): string {
  try {
    return toHex(fromHex(hash, 32));
  } catch {
    throw new CivitasError('CLI_BAD_HASH', `not a 32-byte hex tx hash: ${hash}`);
  }
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
      .option(
        '--nonce <n>',
        "sender nonce (default: the account's next nonce)",
        intOption(0, Number.MAX_SAFE_INTEGER),
      )
      .option('--wait', 'wait until the tx is committed and print its receipt'),
  ).action(
    action(
      async (
        opts: RpcOpts & { to: string; amount: bigint; key: string; nonce?: number; wait?: boolean },
      ) => {
        const to = parseAddress(opts.to);
        const keys = await loadKeyFile(opts.key);
        const client = new CivitasClient(opts.rpc);
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
        const res = await client.submit(signed, { wait: opts.wait });
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
}

export function registerQueryCommand(program: Command): void {
  const query = program.command('query').description('query a node');
  withRpc(
    query.command('status').description('chain height, consensus view and primary, peers'),
  ).action(
    action(async (opts: RpcOpts) => {
      const s = await new CivitasClient(opts.rpc).status();
      if (opts.json) return printJson(s);
      printLines([
        `chain      ${s.chainId}`,
        `node       ${s.moniker} (${s.validator.slice(0, 16)}…)`,
        `height     ${s.height}  ${s.latestBlockHash}`,
        `consensus  ${s.consensus.engine} view ${s.consensus.view} primary ${s.consensus.primary}  view changes ${s.consensus.viewChanges}`,
        `mempool    ${s.mempool.size} txs`,
        `peers      ${s.peers.length}`,
      ]);
    }),
  );
  withRpc(query.command('validators').description('the validator set')).action(
    action(async (opts: RpcOpts) => {
      const v = await new CivitasClient(opts.rpc).validators();
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
      const b = (await new CivitasClient(opts.rpc).block(
        height === 'latest' ? 'latest' : Number(height),
      )) as {
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
      const t = (await new CivitasClient(opts.rpc).tx(parseTxHash(hash))) as {
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
      const a = (await new CivitasClient(opts.rpc).account(address)) as {
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
}

async function trustedSet(
  client: CivitasClient,
  genesisPath: string | undefined,
): Promise<{
  chainId: string;
  validators: ValidatorSet;
  source: string;
  genesisStateRoot?: Uint8Array;
}> {
  if (genesisPath !== undefined) {
    const genesis = await loadGenesisFile(genesisPath);
    return {
      chainId: genesis.chainId,
      validators: genesisValidatorSet(genesis),
      source: genesisPath,
      genesisStateRoot: await genesisStateRoot(genesis),
    };
  }
  const [status, v] = await Promise.all([client.status(), client.validators()]);
  return {
    chainId: status.chainId,
    validators: makeValidatorSet(v.validators.map((x) => fromHex(x.publicKey, 32))),
    source: `${client.rpcUrl} (pass --genesis to check against your own copy)`,
  };
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
      const client = new CivitasClient(opts.rpc);
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
      const client = new CivitasClient(opts.rpc);
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
}
