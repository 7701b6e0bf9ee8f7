/**
 * A real Ledger (LevelDB in a temp dir) whose blocks change tracked objects in every way the
 * history index must record: a freeze order imposed and lifted by a regulator; a member
 * added (cosigned), given a role by a governance action (the deciding vote's tx and op, the
 * action's index), then changed twice by one 2-op tx; a proposal made, voted and passed; and
 * failed txs that must leave no entry. For the index tests and verifyHistory's.
 */
import { join } from 'node:path';
import { civitasStateMachine } from '../../../src/app/index.ts';
import type { Receipt, Tx } from '../../../src/chain/index.ts';
import {
  addressOf,
  appModule,
  type BatchOp,
  batch,
  call,
  type KeyPair,
  sign,
  toHex,
  txHash,
} from '../../../src/client/index.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { commitNext, makeTestChain, type TestChain } from '../../helpers/chain.ts';

export const LEGAL_BASIS = 'c0'.repeat(32);

/** An object's state key, as GET /state and GET /history derive it. */
export function objectKey(module: string, id: string): Uint8Array {
  return appModule(module).objects.key(id);
}

export interface HistoryChain {
  readonly chain: TestChain;
  readonly ledger: Ledger;
  readonly dir: string;
  readonly admin: KeyPair;
  /** The admin of a second committee organisation (so a proposal needs two votes). */
  readonly betaAdmin: KeyPair;
  readonly regulator: KeyPair;
  /** A plain member whose account is frozen and unfrozen. */
  readonly member: KeyPair;
  /** Added by the admin, made a regulator by governance. */
  readonly newcomer: KeyPair;
  readonly hex: (k: KeyPair) => string;
  /** The state keys of the tracked objects the blocks change. */
  readonly keys: {
    readonly freezeOrder: Uint8Array;
    readonly newcomer: Uint8Array;
    readonly proposal: Uint8Array;
    /** A freeze order only a failed tx tried to make. */
    readonly neverFrozen: Uint8Array;
  };
  /** What each block held: its txs (hash hex) and receipts. */
  readonly blocks: Array<{ height: number; txs: string[]; receipts: Receipt[] }>;
  /** Signs and commits txs as the next block. */
  commit(txs: Tx[]): Promise<Receipt[]>;
  /** A signed one-call tx from `from`, with its next nonce. */
  tx(from: KeyPair, module: string, method: string, args: unknown, cosigners?: KeyPair[]): Tx;
  /** A signed batch tx from `from`. */
  batchTx(from: KeyPair, ops: BatchOp[]): Tx;
}

export async function historyChain(parent: string, name = 'db'): Promise<HistoryChain> {
  const base = makeTestChain({ validators: 1, accounts: 5 });
  const [admin, regulator, member, newcomer, betaAdmin] = base.accountKeys as [
    KeyPair,
    KeyPair,
    KeyPair,
    KeyPair,
    KeyPair,
  ];
  const hex = (k: KeyPair) => toHex(addressOf(k.publicKey));
  const genesis = {
    ...base.genesis,
    app: {
      params: { permissioned: true, freezeThreshold: 1 },
      org: [
        {
          id: 'acme',
          name: 'Acme',
          admins: [hex(admin)],
          members: [{ account: hex(member), roles: ['member'] }],
        },
        { id: 'beta', name: 'Beta', admins: [hex(betaAdmin)] },
        {
          id: 'regulator',
          name: 'Regulator',
          committee: false,
          members: [{ account: hex(regulator), roles: ['member', 'regulator'] }],
        },
      ],
    },
  };
  const chain = { ...base, genesis };
  const dir = join(parent, name);
  const ledger = await Ledger.open(dir, genesis, civitasStateMachine());
  const nonces = new Map<string, number>();
  const envelope = (from: KeyPair, cosigners: KeyPair[] = []) => {
    const nonce = nonces.get(hex(from)) ?? 0;
    nonces.set(hex(from), nonce + 1);
    return {
      chainId: genesis.chainId,
      keys: from,
      nonce,
      expiryHeight: 1_000_000,
      cosigners: cosigners.map((c) => c.publicKey),
    };
  };
  const blocks: HistoryChain['blocks'] = [];
  const hc: HistoryChain = {
    chain,
    ledger,
    dir,
    admin,
    betaAdmin,
    regulator,
    member,
    newcomer,
    hex,
    keys: {
      freezeOrder: objectKey('freeze', `account/${hex(member)}`),
      newcomer: objectKey('org', `member/${hex(newcomer)}`),
      proposal: objectKey('gov', '1'),
      neverFrozen: objectKey('freeze', `account/${hex(admin)}`),
    },
    blocks,
    tx: (from, module, method, args, cosigners = []) =>
      sign(call({ ...envelope(from, cosigners), module, method, args }), from, cosigners),
    batchTx: (from, ops) => sign(batch({ ...envelope(from), ops }), from),
    async commit(txs) {
      await commitNext(ledger, chain, txs);
      const height = ledger.height;
      const receipts = await ledger.store.getReceipts(height, txs.length);
      blocks.push({ height, txs: txs.map((t) => toHex(txHash(t))), receipts });
      // A failed tx uses no nonce: recount from the chain's view of who succeeded.
      receipts.forEach((r, i) => {
        if (r.status === 'failed') {
          const sender = hex({ publicKey: txs[i]!.sender } as KeyPair);
          nonces.set(sender, (nonces.get(sender) ?? 1) - 1);
        }
      });
      return receipts;
    },
  };
  return hc;
}

/**
 * The blocks: 1 impose; 2 addMember (cosigned) and a failed impose by a non-regulator;
 * 3 propose (committee acme and beta: two votes needed); 4 acme's vote; 5 beta's deciding
 * vote (the newcomer becomes a regulator); 6 lift, and a 2-op tx changing the newcomer twice;
 * 7 a 2-op tx whose first op changes the newcomer and whose second fails (neither counts).
 */
export async function runHistoryScenario(hc: HistoryChain): Promise<void> {
  const { admin, regulator, member, newcomer, hex } = hc;
  const order = { kind: 'account', id: hex(member) };
  const expect = (receipts: Receipt[], statuses: string[]) => {
    const got = receipts.map((r) => (r.status === 'ok' ? 'ok' : r.code));
    if (got.join() !== statuses.join()) throw new Error(`receipts ${got} (wanted ${statuses})`);
  };
  expect(
    await hc.commit([
      hc.tx(regulator, 'freeze', 'impose', { ...order, legalBasis: LEGAL_BASIS, reason: 'r1' }),
    ]),
    ['ok'],
  );
  expect(
    await hc.commit([
      hc.tx(admin, 'org', 'addMember', { account: hex(newcomer), roles: ['member'] }, [newcomer]),
      hc.tx(member, 'freeze', 'impose', {
        kind: 'account',
        id: hex(admin),
        legalBasis: LEGAL_BASIS,
        reason: 'not a regulator',
      }),
    ]),
    ['ok', 'FREEZE_NOT_REGULATOR'],
  );
  expect(
    await hc.commit([
      hc.tx(admin, 'gov', 'propose', {
        actions: [
          {
            call: 'org.setRoles',
            args: { account: hex(newcomer), roles: ['member', 'regulator'] },
          },
        ],
        expiresAtHeight: 100,
      }),
    ]),
    ['ok'],
  );
  expect(await hc.commit([hc.tx(admin, 'gov', 'vote', { id: 1, approve: true })]), ['ok']);
  expect(await hc.commit([hc.tx(hc.betaAdmin, 'gov', 'vote', { id: 1, approve: true })]), ['ok']);
  expect(
    await hc.commit([
      hc.tx(regulator, 'freeze', 'lift', order),
      hc.batchTx(admin, [
        {
          call: 'org.setRoles',
          args: { account: hex(newcomer), roles: ['member', 'regulator', 'admin'] },
        },
        { call: 'org.setRoles', args: { account: hex(newcomer), roles: ['member', 'regulator'] } },
      ]),
    ]),
    ['ok', 'ok'],
  );
  expect(
    await hc.commit([
      hc.batchTx(admin, [
        {
          call: 'org.setRoles',
          args: { account: hex(newcomer), roles: ['member', 'regulator', 'admin'] },
        },
        { call: 'freeze.lift', args: order },
      ]),
    ]),
    ['FREEZE_NOT_REGULATOR'],
  );
}
