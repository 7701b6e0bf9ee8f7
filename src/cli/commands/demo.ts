/**
 * `civitas demo`: the battery-lease use case, step by step, against a running devnet (the one
 * `npm start` runs in .civitas/devnet), or against a fresh 4-validator devnet it starts in a
 * temporary directory and stops at the end. Every step is a real signed tx committed by the
 * validators; the last steps check the asset's state proof and its complete history on the
 * client side, against the genesis file.
 *
 *   maker A (org0's admin, an issuer) defines a battery class and mints a battery;
 *   A leases it to carmaker B (org1's admin): both sign, and one signature is not enough;
 *   B grants its IoT gateway (a member of org1) the record kind "soc"; the gateway records;
 *   the regulator freezes the battery: A's transfer is refused, records go on;
 *   the freeze is lifted; A cannot end the lease early, B ends it; the gateway's grant ended;
 *   the asset's state and history verify against commit certificates.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { SubmitTxResponse } from '../../api/types.ts';
import { addressOf } from '../../chain/address.ts';
import { call, sign } from '../../client/calls.ts';
import { CivitasClient } from '../../client/client.ts';
import { verifyHistory } from '../../client/history.ts';
import { verifyStateProof } from '../../client/verify.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import type { KeyPair } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { CivitasError } from '../../errors/index.ts';
import { LocalNetwork, readNetworkSummary } from '../../localnet/index.ts';
import type { InitSummary } from '../../node/home.ts';
import { action, printLines } from '../output.ts';
import { loadKey } from '../passphrase.ts';
import { trustedSet } from './client.ts';

/** Blocks a lease lasts: the lessee ends it early, so the owner's early end is refused. */
const LEASE_BLOCKS = 1_000;

interface Party {
  readonly name: string;
  readonly keys: KeyPair;
  readonly address: string;
}

async function party(name: string, file: string): Promise<Party> {
  // The devnet's keys are plaintext; an encrypted one takes CIVITAS_PASSPHRASE or a prompt.
  const keys = await loadKey(file);
  return { name, keys, address: toHex(addressOf(keys.publicKey)) };
}

const hashOf = (text: string): string => toHex(sha256(utf8.encode(text)));

/** The use case, run against one node's API. */
class BatteryDemo {
  readonly client: CivitasClient;
  readonly chainId: string;
  step = 0;

  constructor(client: CivitasClient, chainId: string) {
    this.client = client;
    this.chainId = chainId;
  }

  /** Sends one call signed by `from` (and `cosigners`), waits for its block, prints the outcome. */
  async send(
    what: string,
    from: Party,
    method: string,
    args: unknown,
    opts: { cosigners?: Party[]; expect?: string } = {},
  ): Promise<SubmitTxResponse> {
    const [module, name] = method.split('.') as [string, string];
    const [status, account] = await Promise.all([
      this.client.status(),
      this.client.account(from.address),
    ]);
    const cosigners = opts.cosigners ?? [];
    const unsigned = call({
      chainId: this.chainId,
      keys: from.keys,
      nonce: account.nonce,
      expiryHeight: status.height + 100,
      cosigners: cosigners.map((c) => c.keys.publicKey),
      module,
      method: name,
      args,
    });
    const res = await this.client.submit(
      sign(
        unsigned,
        from.keys,
        cosigners.map((c) => c.keys),
      ),
      { wait: true },
    );
    const committed = res.status === 'committed' ? res : undefined;
    const code = committed?.receipt?.code ?? 'PENDING';
    const expected = opts.expect ?? 'OK';
    this.step++;
    const signers = [from, ...cosigners].map((p) => p.name).join(' + ');
    const mark = code === 'OK' ? 'ok' : `refused ${code}`;
    printLines([
      `${String(this.step).padStart(2)}. ${what}`,
      `    ${method} signed by ${signers}: ${mark} (height ${committed?.height ?? '?'})`,
    ]);
    if (code !== expected) {
      throw new CivitasError(
        'CLI_DEMO_FAILED',
        `step ${this.step} (${method}) ended ${code}, expected ${expected}`,
      );
    }
    return res;
  }
}

async function runDemo(summary: InitSummary): Promise<void> {
  const client = new CivitasClient(summary.nodes[0]!.rpc);
  const demo = new BatteryDemo(client, summary.chainId);
  const [orgA, orgB, orgC] = summary.organisations;
  const gatewayKey = summary.accounts.find((a) => a.org === orgB?.id);
  if (orgA === undefined || orgB === undefined || orgC === undefined || gatewayKey === undefined) {
    throw new CivitasError(
      'CLI_DEMO_FAILED',
      'the demo needs 3 organisations and a funded member of the second (init with --validators 4 --accounts 4)',
    );
  }
  const makerA = await party(`maker A (${orgA.id} admin)`, orgA.admin.file);
  const carmakerB = await party(`carmaker B (${orgB.id} admin)`, orgB.admin.file);
  const carmakerC = await party(`carmaker C (${orgC.id} admin)`, orgC.admin.file);
  const gateway = await party(`B's gateway (${orgB.id} member)`, gatewayKey.file);
  const regulator = await party('the regulator', summary.regulator.file);
  // A devnet initialised before organisations' admins were issuers cannot run the use case.
  const member = await client.state('org', `member/${makerA.address}`);
  const roles = (member.value as { roles?: string[] } | null)?.roles ?? [];
  if (!roles.includes('issuer')) {
    throw new CivitasError(
      'CLI_DEMO_FAILED',
      `${orgA.id}'s admin is not an issuer on this chain (a devnet made by an older version): run npm start -- --reset, or civitas demo --dir <an empty dir>`,
    );
  }
  const cls = 'battery';
  const id = `BAT-${Date.now().toString(36).toUpperCase()}`;
  const asset = `${cls}/${id}`;
  const target = { class: cls, id };

  printLines([
    `Battery lease on ${summary.chainId} (${summary.nodes.length} validators, API ${client.rpcUrl})`,
    '',
  ]);
  const classState = await client.state('asset', cls);
  if (!classState.present) {
    await demo.send('Maker A defines the battery class (leasable)', makerA, 'asset.defineClass', {
      id: cls,
      leasable: true,
      transferNeedsAcceptance: false,
      schemaHash: hashOf('battery-schema-v1'),
    });
  }
  await demo.send(`Maker A mints battery ${asset}`, makerA, 'asset.mint', {
    ...target,
    metaHash: hashOf(`${asset} 75 kWh LFP`),
  });
  const endHeight = (await client.status()).height + LEASE_BLOCKS;
  const lease = {
    ...target,
    lessee: carmakerB.address,
    endHeight,
    termsHash: hashOf('lease terms'),
  };
  await demo.send('A leases it to B with A’s signature only', makerA, 'asset.leaseStart', lease, {
    expect: 'ASSET_CONSENT_REQUIRED',
  });
  await demo.send(
    `A and B sign the lease until height ${endHeight}`,
    makerA,
    'asset.leaseStart',
    lease,
    {
      cosigners: [carmakerB],
    },
  );
  await demo.send('B grants its gateway the record kind "soc"', carmakerB, 'asset.grant', {
    ...target,
    grantee: gateway.address,
    kinds: ['soc'],
    untilHeight: endHeight,
  });
  for (const soc of [97, 91]) {
    await demo.send(`The gateway records state of charge ${soc}%`, gateway, 'asset.record', {
      ...target,
      kind: 'soc',
      dataHash: hashOf(`soc ${soc}`),
    });
  }
  await demo.send(
    'The regulator freezes the battery (court order 2026-17)',
    regulator,
    'freeze.impose',
    {
      kind: 'asset',
      id: asset,
      legalBasis: hashOf('court order 2026-17'),
      reason: 'illegal trade inquiry',
    },
  );
  await demo.send(
    'A tries to sell the frozen battery to C',
    makerA,
    'asset.transfer',
    {
      ...target,
      to: carmakerC.address,
    },
    { expect: 'FREEZE_ACTIVE' },
  );
  await demo.send('Monitoring goes on: the gateway records while frozen', gateway, 'asset.record', {
    ...target,
    kind: 'soc',
    dataHash: hashOf('soc 88'),
  });
  await demo.send('The regulator lifts the freeze', regulator, 'freeze.lift', {
    kind: 'asset',
    id: asset,
  });
  await demo.send('A tries to end the lease early', makerA, 'asset.leaseEnd', target, {
    expect: 'ASSET_LEASE_NOT_ENDED',
  });
  await demo.send('B, the lessee, ends the lease', carmakerB, 'asset.leaseEnd', target);
  await demo.send(
    'The gateway’s grant ended with the lease',
    gateway,
    'asset.record',
    {
      ...target,
      kind: 'soc',
      dataHash: hashOf('soc 80'),
    },
    { expect: 'ASSET_NOT_AUTHORIZED' },
  );

  printLines(['', 'Client-side verification, against the genesis file:']);
  const trusted = await trustedSet(client, summary.genesis);
  const state = verifyStateProof(
    'asset',
    asset,
    await client.state('asset', asset, { proof: true }),
    trusted,
  );
  const json = state.json ?? {};
  printLines([
    `  state of ${asset} at height ${state.height}: owner ${String(json.owner).slice(0, 12)}…, holder ${String(json.holder).slice(0, 12)}…, rev ${json.rev}, ${json.records} records — proven by a certified block`,
  ]);
  const history = await verifyHistory(client, 'asset', asset, trusted);
  for (const e of history.entries) {
    printLines([
      `  rev ${String(e.rev).padStart(2)}  height ${String(e.height).padStart(5)}  ${e.module}.${e.method}`,
    ]);
  }
  printLines([
    `  history of ${asset}: ${history.entries.length} changes, hist ${history.hist.slice(0, 16)}…, complete and unaltered (every tx proven in a certified block)`,
  ]);
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run the battery-lease use case step by step: against the running devnet, or a fresh one',
    )
    .option('--dir <dir>', 'the devnet directory (npm start)', '.civitas/devnet')
    .addHelpText(
      'after',
      `
A carmaker mints a battery and leases it to another carmaker (both sign); the lessee's IoT
gateway appends condition records under a grant; the regulator freezes the battery (a sale is
refused, records go on) and lifts the freeze; the lease ends; the asset's state and complete
history are verified on the client against commit certificates.

If the devnet in --dir is running (npm start), the demo uses it; otherwise it starts a fresh
4-validator devnet in a temporary directory and stops it at the end.`,
    )
    .action(
      action(async (opts: { dir: string }) => {
        const summary = await readNetworkSummary(resolve(opts.dir));
        const running =
          summary !== undefined &&
          (await new CivitasClient(summary.nodes[0]!.rpc, { timeoutMs: 2_000 }).status().then(
            () => true,
            () => false,
          ));
        if (running) {
          process.stderr.write(`demo: using the devnet running in ${summary.dir}\n`);
          return runDemo(summary);
        }
        const dir = await mkdtemp(join(tmpdir(), 'civitas-demo-'));
        process.stderr.write(
          `demo: no devnet running in ${opts.dir}; starting 4 validators in ${dir}…\n`,
        );
        const network = await LocalNetwork.launch(
          { dir: join(dir, 'net'), validators: 4, accounts: 4, basePort: 'random' },
          { timeoutMs: 30_000 },
        );
        try {
          await runDemo(network.summary);
        } finally {
          await network.stop();
          await rm(dir, { recursive: true, force: true, maxRetries: 3 });
        }
      }),
    );
}
