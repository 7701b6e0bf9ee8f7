/**
 * The application without a ledger: genesis values and executed blocks applied to an
 * in-memory map, txs built from named keys. For tests of modules and the executor.
 */

import type { App } from '../../../src/app/app.ts';
import { accountCodec, accountStateKey } from '../../../src/app/bank/account.ts';
import { executeBlock, type ObjectChange } from '../../../src/app/executor.ts';
import { genesisValues } from '../../../src/app/genesis.ts';
import {
  type History,
  historyRecordHash,
  NO_HISTORY,
  nextHistory,
} from '../../../src/app/history.ts';
import { civitasApp } from '../../../src/app/registry.ts';
import { keyId, type StateAccess } from '../../../src/app/state-view.ts';
import { addressOf } from '../../../src/chain/address.ts';
import { type Genesis, genesisValidatorSet } from '../../../src/chain/genesis.ts';
import type { Receipt } from '../../../src/chain/receipt.ts';
import { makeTx, type Tx, type TxOpInput, txHash } from '../../../src/chain/tx.ts';
import { toHex, utf8 } from '../../../src/crypto/bytes.ts';
import { generateKeyPair, type KeyPair } from '../../../src/crypto/ed25519.ts';
import { sha256 } from '../../../src/crypto/hash.ts';
import { type ChainView, RECENT_BLOCKS } from '../../../src/state/ledger.ts';

export const CHAIN_ID = 'app-test';

export interface Party {
  readonly keys: KeyPair;
  readonly address: Uint8Array;
  readonly hex: string;
}

export function party(): Party {
  const keys = generateKeyPair();
  const address = addressOf(keys.publicKey);
  return { keys, address, hex: Buffer.from(address).toString('hex') };
}

export class AppChain {
  readonly app: App = civitasApp();
  readonly values = new Map<string, Uint8Array>();
  height = 0;
  /** Raw keys read by the executor, per block (to see what a block prefetched). */
  reads: number[] = [];
  /** Every object change the blocks made, with the tx that made it (the node's history index). */
  readonly changed: Array<ObjectChange & { height: number; tx: Tx; txHash: Uint8Array }> = [];
  private readonly nonces = new Map<string, number>();

  readonly genesis: Genesis;

  constructor(genesis: Genesis) {
    this.genesis = genesis;
    for (const [key, value] of genesisValues(this.app, genesis)) this.values.set(keyId(key), value);
  }

  get<T>(key: Uint8Array, codec: { decode(b: Uint8Array): T }): T | undefined {
    const v = this.values.get(keyId(key));
    return v === undefined ? undefined : codec.decode(v);
  }

  /** The committed state, read-only, for keeper functions. */
  readonly view: StateAccess = {
    get: (key, codec) => this.get(key, codec),
    set: () => {
      throw new Error('read-only');
    },
  };

  balance(who: Party): bigint {
    return this.get(accountStateKey(who.address), accountCodec)?.balance ?? 0n;
  }

  nonce(who: Party): number {
    return this.get(accountStateKey(who.address), accountCodec)?.nonce ?? 0;
  }

  /** A v2 tx from `from` with the next nonce this harness handed out (not the chain's). */
  tx(from: Party, ops: TxOpInput[], opts: { cosigners?: Party[]; nonce?: number } = {}): Tx {
    const nonce = opts.nonce ?? this.nonces.get(from.hex) ?? this.nonce(from);
    this.nonces.set(from.hex, nonce + 1);
    return makeTx(
      {
        chainId: CHAIN_ID,
        sender: from.keys.publicKey,
        nonce,
        expiryHeight: 1_000_000,
        ops,
        cosigners: (opts.cosigners ?? []).map((c) => c.keys.publicKey),
      },
      from.keys.secretKey,
      (opts.cosigners ?? []).map((c) => c.keys.secretKey),
    );
  }

  /**
   * Validators whose COMMIT votes the chain view reports as recent (hex keys); default: every
   * genesis validator, as on a healthy chain.
   */
  liveSigners: Set<string> | undefined;

  /** The stand-in hash of harness block `height` (blocks have no bytes here). */
  static blockHash(height: number): Uint8Array {
    return sha256(utf8.encode(`harness-block/${height}`));
  }

  /** What execution may know of the chain: the genesis set, stand-in hashes, live signers. */
  chainView(): ChainView {
    const height = this.height;
    const live =
      this.liveSigners ?? new Set(this.genesis.validators.map((v) => toHex(v.publicKey)));
    return {
      params: this.genesis.params,
      validators: genesisValidatorSet(this.genesis),
      blockHash: (h) =>
        h >= 1 && h < height && h >= height - RECENT_BLOCKS ? AppChain.blockHash(h) : undefined,
      signedSince: () => live,
    };
  }

  /** Executes txs as the next block and applies its changes. */
  async block(txs: Tx[]): Promise<Receipt[]> {
    this.height++;
    let reads = 0;
    const hashes = txs.map(txHash);
    const { receipts, changes, history } = await executeBlock(
      this.app,
      txs,
      hashes,
      this.height,
      async (keys) => {
        reads++;
        return keys.map((k) => this.values.get(keyId(k)));
      },
      this.chainView(),
    );
    this.reads.push(reads);
    for (const { key, value } of changes) this.values.set(keyId(key), value);
    for (const c of history) {
      this.changed.push({
        ...c,
        height: this.height,
        tx: txs[c.txIndex]!,
        txHash: hashes[c.txIndex]!,
      });
    }
    // A failed tx uses no nonce: resynchronise the harness's counters with the chain.
    this.nonces.clear();
    return receipts;
  }

  /** The changes of the object at `key`, oldest first. */
  historyOf(key: Uint8Array): typeof this.changed {
    const id = keyId(key);
    return this.changed.filter((c) => keyId(c.key) === id);
  }

  /**
   * Replays the object's hash chain from the txs that changed it (as a client does with
   * proven txs) and returns where it ends: equal to the object's stored history when the
   * index is complete. Governance actions are not replayed here (they need the proposal).
   */
  replayHistory(key: Uint8Array): History {
    let h = NO_HISTORY;
    for (const c of this.historyOf(key)) {
      if (c.action !== null) throw new Error('replayHistory: a governance action');
      const op = c.tx.ops[c.opIndex]!;
      h = nextHistory(h, c.txHash, c.opIndex, historyRecordHash(op.module, op.method, op.args));
      if (h.rev !== c.rev) throw new Error(`rev ${c.rev} out of order (replayed ${h.rev})`);
    }
    return h;
  }

  /** Empty blocks until the chain is at `height`. */
  async advanceTo(height: number): Promise<void> {
    while (this.height < height) await this.block([]);
  }
}

export function op(
  module: string,
  method: string,
  argsJson: unknown,
  app = civitasApp(),
): TxOpInput {
  const impl = app.method(module, method);
  if (impl === undefined) throw new Error(`no ${module}.${method}`);
  return { module, method, args: impl.args.encode(impl.args.fromJson(argsJson)) };
}

export function genesisWith(opts: {
  accounts: Array<{ who: Party; balance: bigint }>;
  app?: Record<string, unknown>;
}): Genesis {
  return {
    chainId: CHAIN_ID,
    genesisTime: 1_700_000_000_000,
    validators: [{ name: 'v0', publicKey: generateKeyPair().publicKey }],
    accounts: opts.accounts.map((a) => ({ address: a.who.address, balance: a.balance })),
    params: {
      maxBlockTxs: 1000,
      maxBlockBytes: 1 << 20,
      maxClockDriftMs: 10_000,
      validatorChangeSpacing: 64,
    },
    ...(opts.app === undefined ? {} : { app: opts.app }),
  };
}
