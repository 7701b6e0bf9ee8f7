/**
 * The composition root. Builds the parts in order — logger → config → genesis and key →
 * ledger (LevelDB) → verifier → mempool → consensus → API — and closes them in reverse.
 * Everything a part needs is handed to it here; no part reaches for another on its own.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { addressOf as addressOfKey } from '../chain/address.ts';
import {
  type CommitCertificate,
  type Genesis,
  genesisFromJson,
  type SealedBlock,
  TxVerifier,
} from '../chain/index.ts';
import { equalBytes, toHex } from '../crypto/bytes.ts';
import type { KeyPair } from '../crypto/ed25519.ts';
import { verifyNative } from '../crypto/ed25519.ts';
import { loadKeyFile } from '../crypto/keyfile.ts';
import { CivitasError } from '../errors.ts';
import { Ledger } from '../state/ledger.ts';
import { loadConfig, type NodeConfig, resolveHomePath } from './config.ts';
import type { ConsensusApp, ConsensusService } from './consensus-service.ts';
import { createLogger, type Logger } from './logger.ts';
import { Mempool } from './mempool.ts';
import { RpcServer } from './rpc-server.ts';
import { SoloConsensus } from './solo-consensus.ts';

export interface CommittedBlockEvent {
  readonly block: SealedBlock;
  readonly certificate: CommitCertificate;
}

export interface NodeStartOptions {
  logger?: Logger;
  /** Override the API listen address (tests use port 0). */
  rpcListen?: string;
}

export async function loadGenesisFile(path: string): Promise<Genesis> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CivitasError('GENESIS_NOT_FOUND', `cannot read genesis file ${path}`, { path });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CivitasError('GENESIS_INVALID', `${path}: not valid JSON`, { path });
  }
  return genesisFromJson(json);
}

export class CivitasNode {
  readonly home: string;
  readonly config: NodeConfig;
  readonly genesis: Genesis;
  readonly keys: KeyPair;
  readonly ledger: Ledger;
  readonly mempool: Mempool;
  readonly verifier: TxVerifier;
  readonly log: Logger;
  readonly events = new EventEmitter<{ block: [CommittedBlockEvent] }>();
  readonly startedAt = Date.now();
  private consensus!: ConsensusService;
  private rpc!: RpcServer;
  private readonly txWaiters = new Map<string, Set<(height: number) => void>>();
  private stopping: Promise<void> | undefined;

  private constructor(parts: {
    home: string;
    config: NodeConfig;
    genesis: Genesis;
    keys: KeyPair;
    ledger: Ledger;
    log: Logger;
  }) {
    this.home = parts.home;
    this.config = parts.config;
    this.genesis = parts.genesis;
    this.keys = parts.keys;
    this.ledger = parts.ledger;
    this.log = parts.log;
    this.events.setMaxListeners(10_000);
    this.verifier = new TxVerifier();
    this.mempool = new Mempool(this.config.mempool, {
      chainId: this.genesis.chainId,
      nextHeight: () => this.ledger.height + 1,
      accountNonce: async (sender) => (await this.ledger.getAccount(addressOfKey(sender))).nonce,
      committed: (hashes) => this.ledger.store.hasTxs(hashes),
      verify: (txs, hashes) => this.verifier.verify(txs, hashes),
    });
  }

  static async start(home: string, opts: NodeStartOptions = {}): Promise<CivitasNode> {
    const config = await loadConfig(home);
    const log = opts.logger ?? createLogger({ ...config.log, module: config.moniker });
    const genesis = await loadGenesisFile(resolveHomePath(home, config.genesisFile));
    const keys = await loadKeyFile(resolveHomePath(home, config.keyFile));
    const validators = genesis.validators.map((v) => v.publicKey);
    const myIndex = validators.findIndex((v) => equalBytes(v, keys.publicKey));
    if (myIndex === -1) {
      throw new CivitasError(
        'NODE_NOT_A_VALIDATOR',
        `key ${toHex(keys.publicKey)} is not a validator in the genesis`,
      );
    }
    if (validators.length > 1) {
      throw new CivitasError(
        'NODE_MULTI_VALIDATOR',
        'multi-validator networks need the PBFT engine (not wired yet)',
      );
    }
    const ledger = await Ledger.open(resolveHomePath(home, config.dataDir), genesis);
    const node = new CivitasNode({ home, config, genesis, keys, ledger, log });
    try {
      node.consensus = new SoloConsensus(
        {
          chainId: genesis.chainId,
          secretKey: keys.secretKey,
          blockIntervalMs: config.consensus.blockIntervalMs,
          emptyBlockIntervalMs: config.consensus.emptyBlockIntervalMs,
        },
        { app: node.consensusApp(), logger: log.child('consensus') },
      );
      node.rpc = new RpcServer(
        { listen: opts.rpcListen ?? config.rpc.listen, maxBodyBytes: config.rpc.maxBodyBytes },
        { node, logger: log.child('rpc') },
      );
      await node.rpc.start();
      await node.consensus.start();
    } catch (err) {
      await node.rpc?.stop().catch(() => {});
      await ledger.close();
      throw err;
    }
    log.info('node started', {
      chainId: genesis.chainId,
      height: ledger.height,
      rpc: node.rpcUrl,
      validator: toHex(keys.publicKey),
    });
    return node;
  }

  get rpcUrl(): string {
    return this.rpc.url;
  }

  consensusStatus(): ReturnType<ConsensusService['status']> {
    return this.consensus.status();
  }

  private consensusApp(): ConsensusApp {
    return {
      height: () => this.ledger.height,
      hasPendingTxs: () => this.mempool.size > 0,
      buildProposal: async (_height, _view) => {
        const entries = this.mempool.reap(
          this.genesis.params.maxBlockTxs,
          this.genesis.params.maxBlockBytes,
        );
        const { block } = await this.ledger.buildBlock({
          txs: entries.map((e) => e.tx),
          proposer: this.keys.publicKey,
          timestamp: Date.now(),
          lastCommit: this.ledger.tip.certificate,
        });
        return block;
      },
      validateProposal: async (block) => {
        try {
          await this.ledger.validateBlock(block, this.validationOptions());
          return true;
        } catch (err) {
          this.log.warn('invalid proposal', {
            height: block.header.height,
            code: (err as CivitasError).code,
            err: (err as Error).message,
          });
          return false;
        }
      },
      commit: (block, certificate) => this.commitBlock(block, certificate),
    };
  }

  validationOptions(): Parameters<Ledger['validateBlock']>[1] {
    return {
      verifySignatures: (txs, hashes) => this.verifier.verify(txs, hashes),
      checkSignature: verifyNative,
      now: Date.now(),
    };
  }

  /** Commits a final block: ledger first (durable), then mempool, waiters and listeners. */
  async commitBlock(block: SealedBlock, certificate: CommitCertificate): Promise<void> {
    const executed =
      this.ledger.executedFor(block) ??
      (await this.ledger.validateBlock(block, this.validationOptions()));
    await this.ledger.commit(block, certificate, executed);
    await this.mempool.onCommit(block.txs, block.txHashes);
    const height = block.header.height;
    for (const h of block.txHashes) {
      const waiters = this.txWaiters.get(toHex(h));
      if (waiters === undefined) continue;
      this.txWaiters.delete(toHex(h));
      for (const w of waiters) w(height);
    }
    this.log.info('committed block', {
      height,
      txs: block.txs.length,
      hash: toHex(block.hash).slice(0, 16),
    });
    this.events.emit('block', { block, certificate });
  }

  /** Commits a block fetched by block sync (certificate already checked): full validation first. */
  async commitSyncedBlock(block: SealedBlock, certificate: CommitCertificate): Promise<void> {
    await this.ledger.validateBlock(block, this.validationOptions());
    await this.commitBlock(block, certificate);
    this.consensus.onBlockSynced(block.header.height, certificate);
  }

  /** Admits a tx (encoded bytes) to the mempool; returns its hash. */
  async submitTx(encoded: Uint8Array): Promise<Uint8Array> {
    const entry = await this.mempool.add(encoded);
    this.consensus.onTxsAvailable();
    return entry.hash;
  }

  /** Resolves with the height at which tx `hash` commits; rejects after `timeoutMs`. */
  async waitForTx(hash: Uint8Array, timeoutMs: number): Promise<number> {
    const location = await this.ledger.store.getTxLocation(hash);
    if (location !== undefined) return location.height;
    const key = toHex(hash);
    return new Promise<number>((resolve, reject) => {
      let waiters = this.txWaiters.get(key);
      if (waiters === undefined) {
        waiters = new Set();
        this.txWaiters.set(key, waiters);
      }
      const done = (height: number): void => {
        clearTimeout(timer);
        resolve(height);
      };
      const timer = setTimeout(() => {
        waiters.delete(done);
        if (waiters.size === 0) this.txWaiters.delete(key);
        reject(new CivitasError('TX_WAIT_TIMEOUT', `tx not committed within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(done);
    });
  }

  /** Stops the API, consensus, then the database, in that order. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('stopping');
      await this.rpc.stop().catch((err) => this.log.warn('rpc stop failed', { err }));
      await this.consensus.stop().catch((err) => this.log.warn('consensus stop failed', { err }));
      await this.ledger.close();
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}
