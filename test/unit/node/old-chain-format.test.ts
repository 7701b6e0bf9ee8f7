/**
 * A chain whose tip was certified by an earlier build (certificate v1: untimed COMMITs)
 * cannot be extended under the quorum-time rule; the node says so in one line at start
 * instead of stalling at the next height.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { civitasStateMachine } from '../../../src/app/index.ts';
import { voteSigningHash } from '../../../src/chain/index.ts';
import { sign } from '../../../src/crypto/ed25519.ts';
import { loadKeyFile } from '../../../src/crypto/keyfile.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { loadGenesisFile } from '../../../src/node/genesis-file.ts';
import { initNetwork } from '../../../src/node/home.ts';
import { silentLogger } from '../../../src/node/logger.ts';
import { CivitasNode } from '../../../src/node/node.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { randomBasePort } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/temp.ts';

test('a node refuses to extend a chain certified with v1 certificates: NODE_OLD_CHAIN_FORMAT', async (t) => {
  const dir = await tempDir(t, 'civitas-old-chain-');
  const summary = await initNetwork({
    dir: join(dir, 'net'),
    validators: 1,
    accounts: 0,
    basePort: randomBasePort(),
  });
  const home = summary.nodes[0]!.home;
  const genesis = await loadGenesisFile(join(home, 'genesis.json'));
  const keys = await loadKeyFile(join(home, 'validator-key.json'));
  const ledger = await Ledger.open(join(home, 'data'), genesis, civitasStateMachine());
  const { block, executed } = await ledger.buildBlock({
    txs: [],
    proposer: keys.publicKey,
    lastCommit: null,
  });
  const untimed = voteSigningHash('commit', genesis.chainId, 1, 0, block.hash);
  const certificate = {
    version: 1,
    height: 1,
    view: 0,
    blockHash: block.hash,
    signatures: [{ validatorIndex: 0, signature: sign(untimed, keys.secretKey), timestamp: 0 }],
  };
  await ledger.commit(block, certificate, executed);
  await ledger.close();

  await assert.rejects(
    CivitasNode.start(home, { logger: silentLogger, rpcListen: '127.0.0.1:0' }),
    (err: unknown) =>
      isCivitasError(err) &&
      err.code === 'NODE_OLD_CHAIN_FORMAT' &&
      err.message.includes('devnet --reset'),
  );
});
