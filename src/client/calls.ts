/**
 * Building txs that call application modules. Args are given in a method's JSON form
 * (addresses and hashes hex, amounts decimal strings) and encoded by the client's own copy of
 * the modules (src/app), the very codecs the node decodes them with: a mistake surfaces here
 * as the module's *_BAD_ARGS code, before anything is signed or sent.
 */
import type { App } from '../app/app.ts';
import type { AppModule } from '../app/module.ts';
import { civitasApp } from '../app/registry.ts';
import { Limits } from '../chain/limits.ts';
import {
  cosignTx,
  signTx,
  type Tx,
  type TxOpInput,
  type UnsignedTx,
  unsignedTx,
} from '../chain/tx.ts';
import { equalBytes } from '../crypto/bytes.ts';
import type { KeyPair } from '../crypto/ed25519.ts';
import { CivitasError } from '../errors/index.ts';

let app: App | undefined;

/** The modules this client knows (built once, on first use). */
export function clientApp(): App {
  app ??= civitasApp();
  return app;
}

/** A module by name; APP_UNKNOWN_MODULE if this client has none of that name. */
export function appModule(name: string): AppModule {
  const module = clientApp().modules.get(name);
  if (module === undefined) {
    throw new CivitasError(
      'APP_UNKNOWN_MODULE',
      `no module ${name} (modules: ${[...clientApp().modules.keys()].join(', ')})`,
    );
  }
  return module;
}

/** "module.method" split in two; APP_UNKNOWN_METHOD when it is not of that shape. */
export function parseCall(call: string): { module: string; method: string } {
  const m = /^([a-z][a-zA-Z0-9]*)\.([a-z][a-zA-Z0-9]*)$/.exec(call);
  if (m === null) {
    throw new CivitasError(
      'APP_UNKNOWN_METHOD',
      `a call is "module.method", e.g. "bank.transfer": ${call.slice(0, 80)}`,
    );
  }
  return { module: m[1]!, method: m[2]! };
}

function checkExpectRev(expectRev: unknown): number | null {
  if (expectRev === undefined || expectRev === null) return null;
  if (!Number.isSafeInteger(expectRev) || (expectRev as number) < 0) {
    throw new CivitasError('APP_BAD_ARGS', 'expectRev must be a non-negative integer');
  }
  return expectRev as number;
}

/**
 * One op: the method looked up (APP_UNKNOWN_METHOD), its JSON args parsed and encoded
 * canonically (the module's *_BAD_ARGS), and the revision it expects, if any.
 */
export function appOp(
  module: string,
  method: string,
  args: unknown,
  expectRev?: number,
): TxOpInput {
  const impl = clientApp().method(module, method);
  if (impl === undefined) {
    throw new CivitasError('APP_UNKNOWN_METHOD', `no method ${module}.${method}`);
  }
  return {
    module,
    method,
    args: impl.args.encode(impl.args.fromJson(args)),
    expectRev: checkExpectRev(expectRev),
  };
}

/** An op of a batch, as JSON files and scripts write it. */
export interface BatchOp {
  /** "module.method", e.g. "org.addMember". */
  call: string;
  /** The method's args in JSON form. */
  args: unknown;
  expectRev?: number;
}

/** The parts of a tx every builder takes. */
export interface TxEnvelope {
  chainId: string;
  /** The sender (only its public key is read: building does not sign). */
  keys: Pick<KeyPair, 'publicKey'>;
  nonce: number;
  expiryHeight: number;
  /** Cosigners' public keys, in the order their signatures will follow. */
  cosigners?: readonly Uint8Array[];
}

/** A v2 tx of one call, unsigned: sign it with `sign` (and cosigners with `cosign`). */
export function call(
  opts: TxEnvelope & { module: string; method: string; args: unknown; expectRev?: number },
): UnsignedTx {
  return envelope(opts, [appOp(opts.module, opts.method, opts.args, opts.expectRev)]);
}

/**
 * The ops of a batch, each built by appOp; a mistake names the op's index. Missing args are
 * `{}`. 1–8 ops (TX_BAD_OP_COUNT), checked here so a tool can check a batch before asking a
 * node anything.
 */
export function appOps(ops: readonly BatchOp[]): TxOpInput[] {
  if (!Array.isArray(ops)) {
    throw new CivitasError('APP_BAD_ARGS', 'ops must be a list of {call, args, expectRev?}');
  }
  if (ops.length < 1 || ops.length > Limits.txOps) {
    throw new CivitasError(
      'TX_BAD_OP_COUNT',
      `a tx carries 1 to ${Limits.txOps} ops, not ${ops.length}`,
    );
  }
  return ops.map((op: unknown, i) => {
    try {
      if (op === null || typeof op !== 'object' || Array.isArray(op)) {
        throw new CivitasError('APP_BAD_ARGS', 'an op is {"call": "module.method", "args": {…}}');
      }
      const { call, args, expectRev, ...rest } = op as Record<string, unknown>;
      const unknown = Object.keys(rest);
      if (unknown.length > 0) {
        throw new CivitasError(
          'APP_BAD_ARGS',
          `unknown field "${unknown[0]}" (call, args, expectRev)`,
        );
      }
      if (typeof call !== 'string') {
        throw new CivitasError('APP_BAD_ARGS', 'an op is {"call": "module.method", "args": {…}}');
      }
      const { module, method } = parseCall(call);
      return appOp(module, method, args ?? {}, expectRev as number | undefined);
    } catch (err) {
      if (err instanceof CivitasError) {
        throw new CivitasError(err.code, `op ${i}: ${err.message}`, err.context);
      }
      throw err;
    }
  });
}

/** A v2 tx of 1–8 calls executed all or nothing, unsigned. */
export function batch(opts: TxEnvelope & { ops: readonly BatchOp[] }): UnsignedTx {
  return envelope(opts, appOps(opts.ops));
}

function envelope(opts: TxEnvelope, ops: TxOpInput[]): UnsignedTx {
  return unsignedTx({
    chainId: opts.chainId,
    sender: opts.keys.publicKey,
    nonce: opts.nonce,
    expiryHeight: opts.expiryHeight,
    ops,
    cosigners: opts.cosigners ?? [],
  });
}

/**
 * Signs an unsigned tx as its sender, and as every cosigner whose keys are at hand (in
 * cosigner order). Cosigners who sign elsewhere use `cosign`, and `assembleTx` joins them.
 */
export function sign(tx: UnsignedTx, keys: KeyPair, cosigners: readonly KeyPair[] = []): Tx {
  // A signature by the wrong key is a tx the node refuses (TX_BAD_SIGNATURE); say which here.
  if (!equalBytes(keys.publicKey, tx.sender)) {
    throw new CivitasError('CLIENT_WRONG_KEY', "the signing key is not the tx's sender");
  }
  cosigners.forEach((c, i) => {
    if (tx.cosigners[i] !== undefined && !equalBytes(c.publicKey, tx.cosigners[i])) {
      throw new CivitasError('CLIENT_WRONG_KEY', `cosigner key ${i} is not the tx's cosigner ${i}`);
    }
  });
  return signTx(
    tx,
    keys.secretKey,
    cosigners.map((c) => c.secretKey),
  );
}

/** A cosigner's signature over the tx's signing hash (what `assembleTx` takes). */
export function cosign(tx: UnsignedTx, keys: KeyPair): Uint8Array {
  if (!tx.cosigners.some((c) => equalBytes(c, keys.publicKey))) {
    throw new CivitasError('CLIENT_WRONG_KEY', 'the key is not one of the tx cosigners');
  }
  return cosignTx(tx, keys.secretKey);
}
