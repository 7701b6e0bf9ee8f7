/**
 * What the txs of a validation benchmark chain do (`civitas bench validate --workload`), and
 * the genesis they run on.
 *
 *   transfers  each tx one bank.transfer (v1), to a random sender, 1..1,000 units — the
 *              benchmark's original workload
 *   records    each tx one asset.record (v2) by an asset's owner on its own asset: every
 *              sender owns one asset (`bench/a<sender>`), created in the genesis
 *   mixed      each tx drawn (seeded) from: 50% bank.transfer, 30% asset.record, 20% a 2-op
 *              atomic batch (asset.record on the sender's asset, then a bank.transfer)
 *
 * Chains:
 *   open        today's genesis: funded senders, no organisations, anyone may transact
 *   consortium  what the devnet runs (src/node/home.ts): permissioned, one organisation per
 *               validator in the committee with a funded admin (admin, member, issuer), a
 *               regulator organisation outside it, every sender an active member (role
 *               member) of organisation i mod N; plus one asset class `bench` issued by org0
 *               and one asset per sender, owned by it
 * `transfers` alone runs on the open chain by default (the figures before workloads existed);
 * any other workload needs the consortium, and then every workload of the run uses it, so
 * the ratio to `transfers` compares txs on one genesis.
 */

import { civitasApp } from '../src/app/registry.ts';
import { addressOf } from '../src/chain/address.ts';
import type { Receipt } from '../src/chain/receipt.ts';
import type { Tx, TxOpInput } from '../src/chain/tx.ts';
import { toHex } from '../src/crypto/bytes.ts';
import { CivitasError } from '../src/errors/index.ts';

export const WORKLOADS = ['transfers', 'records', 'mixed'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export const CHAIN_KINDS = ['open', 'consortium'] as const;
export type ChainKind = (typeof CHAIN_KINDS)[number];

/** What one tx does. */
export type TxKind = 'transfer' | 'record' | 'batch';
export const TX_KINDS: readonly TxKind[] = ['transfer', 'record', 'batch'];

/** Txs of each kind in a chain. */
export type TxMix = Record<TxKind, number>;

/** Shares of the `mixed` workload, out of 100. */
export const MIXED_SHARES: Readonly<TxMix> = { transfer: 50, record: 30, batch: 20 };

/** The asset class every sender's asset is minted in. */
export const BENCH_ASSET_CLASS = 'bench';
/** The kind of record the benchmark appends. */
export const BENCH_RECORD_KIND = 'inspection';
/** Most members the org module takes in one organisation's genesis list (admin included). */
const ORG_GENESIS_MEMBERS = 10_000;
/** Most organisations the org module holds. */
const MAX_ORGS = 256;

/**
 * `--workload` values: each a name or a comma-separated list, in the order given, each once.
 * Nothing given: `transfers`.
 */
export function parseWorkloads(values: readonly string[] | undefined): WorkloadName[] {
  const names: WorkloadName[] = [];
  for (const value of values ?? []) {
    for (const part of value.split(',')) {
      const name = part.trim();
      if (!(WORKLOADS as readonly string[]).includes(name)) {
        throw new CivitasError(
          'BENCH_BAD_ARGS',
          `--workload must be one of ${WORKLOADS.join(', ')} (or a comma-separated list): ${JSON.stringify(name)}`,
        );
      }
      if (!names.includes(name as WorkloadName)) names.push(name as WorkloadName);
    }
  }
  return names.length === 0 ? ['transfers'] : names;
}

/** The chain a run uses: the one asked for, else open for `transfers` alone, else consortium. */
export function chainKindFor(workloads: readonly WorkloadName[], asked?: ChainKind): ChainKind {
  const needsConsortium = workloads.some((w) => w !== 'transfers');
  // Rule: records and mixed act on assets and run where the devnet does: the consortium.
  if (asked === 'open' && needsConsortium) {
    throw new CivitasError(
      'BENCH_BAD_ARGS',
      `--chain open runs only the transfers workload (${workloads.filter((w) => w !== 'transfers').join(', ')} need the consortium chain)`,
    );
  }
  return asked ?? (needsConsortium ? 'consortium' : 'open');
}

/** The kind of tx `index` of a chain of this workload (`random` is the chain's seeded PRNG). */
export function txKindOf(workload: WorkloadName, random: () => number): TxKind {
  if (workload === 'transfers') return 'transfer';
  if (workload === 'records') return 'record';
  const draw = random() * 100;
  if (draw < MIXED_SHARES.transfer) return 'transfer';
  return draw < MIXED_SHARES.transfer + MIXED_SHARES.record ? 'record' : 'batch';
}

export function emptyMix(): TxMix {
  return { transfer: 0, record: 0, batch: 0 };
}

export function benchAssetId(sender: number): string {
  return `a${sender}`;
}

/** Keys of the consortium besides the senders: one admin per organisation, the regulator. */
export interface ConsortiumKeys {
  /** Public keys of the organisations' admins (one per organisation). */
  readonly admins: readonly Uint8Array[];
  readonly regulator: Uint8Array;
}

/** Organisations the consortium needs for this many senders (one per validator at least). */
export function consortiumOrgCount(validators: number, senders: number): number {
  const orgs = Math.max(validators, Math.ceil(senders / (ORG_GENESIS_MEMBERS - 1)));
  if (orgs > MAX_ORGS - 1) {
    throw new CivitasError(
      'BENCH_BAD_ARGS',
      `${senders} senders need more than ${MAX_ORGS - 1} organisations of ${ORG_GENESIS_MEMBERS - 1} members: raise --txs-per-sender`,
    );
  }
  return orgs;
}

const hexAddress = (publicKey: Uint8Array): string => toHex(addressOf(publicKey));

/** A fixed, recognisable 32-byte hash as hex (schema and metadata hashes of the genesis). */
function fillHash(byte: number): string {
  return byte.toString(16).padStart(2, '0').repeat(32);
}

/**
 * The `app` section of the consortium genesis: the devnet's organisations (one per validator,
 * in the committee, its admin with roles admin, member and issuer; a regulator organisation
 * outside the committee), sender i a member of organisation i mod N, and one asset per sender.
 * Organisations past the validators' (for more than 9,999 senders each) are outside the
 * committee.
 */
export function consortiumApp(
  validators: number,
  senders: readonly Uint8Array[],
  keys: ConsortiumKeys,
): Record<string, unknown> {
  const orgs = keys.admins.length;
  const members: Array<Array<{ account: string; roles: string[] }>> = keys.admins.map(() => []);
  senders.forEach((key, i) => {
    members[i % orgs]!.push({ account: hexAddress(key), roles: ['member'] });
  });
  return {
    params: { permissioned: true, freezeThreshold: 1 },
    org: [
      ...keys.admins.map((admin, i) => ({
        id: `org${i}`,
        name: i < validators ? `v${i}` : `bench org ${i}`,
        committee: i < validators,
        members: [
          { account: hexAddress(admin), roles: ['admin', 'member', 'issuer'] },
          ...members[i]!,
        ],
      })),
      {
        id: 'regulator',
        name: 'Regulator',
        committee: false,
        members: [{ account: hexAddress(keys.regulator), roles: ['member', 'regulator'] }],
      },
    ],
    asset: {
      classes: [
        {
          id: BENCH_ASSET_CLASS,
          issuerOrg: 'org0',
          leasable: false,
          transferNeedsAcceptance: false,
          schemaHash: fillHash(0x5c),
        },
      ],
      assets: senders.map((key, i) => ({
        class: BENCH_ASSET_CLASS,
        id: benchAssetId(i),
        owner: hexAddress(key),
        metaHash: fillHash(0x3e),
      })),
    },
  };
}

/** Builds module ops from their public JSON args with the app's own codecs. */
export class OpBuilder {
  private readonly app = civitasApp();

  op(module: string, method: string, json: unknown): TxOpInput {
    const impl = this.app.method(module, method);
    if (impl === undefined) {
      throw new CivitasError('APP_UNKNOWN_METHOD', `this build has no ${module}.${method}`);
    }
    return { module, method, args: impl.args.encode(impl.args.fromJson(json)) };
  }

  /** asset.record by sender `sender` on its own asset, with a fresh (seeded) data hash. */
  record(sender: number, random: () => number): TxOpInput {
    const dataHash = new Uint8Array(32);
    for (let i = 0; i < 32; i += 4) {
      new DataView(dataHash.buffer).setUint32(i, Math.floor(random() * 2 ** 32));
    }
    return this.op('asset', 'record', {
      class: BENCH_ASSET_CLASS,
      id: benchAssetId(sender),
      kind: BENCH_RECORD_KIND,
      dataHash: toHex(dataHash),
    });
  }
}

/**
 * Aborts on the first failed receipt: a benchmark of failing txs would measure nothing. The
 * error carries the receipt's own code (ORG_NOT_A_MEMBER, ASSET_…) and where it happened.
 */
export function assertReceiptsOk(
  height: number,
  txs: readonly Tx[],
  receipts: readonly Receipt[],
): void {
  for (let i = 0; i < receipts.length; i++) {
    const r = receipts[i]!;
    if (r.status === 'ok') continue;
    const ops = txs[i]?.ops ?? [];
    const op = ops[r.failedOp ?? 0];
    const call = op === undefined ? 'tx' : `${op.module}.${op.method}`;
    const where = `tx ${i} of block ${height}${r.failedOp === null ? '' : `, op ${r.failedOp}`}`;
    throw CivitasError.fromJSON({
      code: r.code,
      message: `bench: ${where} (${call}) failed with ${r.code}; a benchmark of failing txs measures nothing`,
      context: { height, tx: i, failedOp: r.failedOp },
    });
  }
}
