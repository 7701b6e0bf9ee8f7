/**
 * The genesis parameter maxTxLifetime (docs/STATE-SYNC.md): a tx in block h expires at or
 * below h + maxTxLifetime. Checked at mempool admission and as a block validity rule on real
 * ledgers (LevelDB in a temp dir); a genesis without the parameter keeps its hash and its
 * blocks' validity (unbounded lifetime).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { civitasStateMachine } from '../../../src/app/index.ts';
import {
  DEFAULT_PARAMS,
  encodeTx,
  type Genesis,
  genesisFromJson,
  genesisHash,
  genesisToJson,
  type Tx,
  TxVerifier,
  validateTxStateless,
} from '../../../src/chain/index.ts';
import { encode } from '../../../src/codec/writer.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { verifyNative } from '../../../src/crypto/ed25519.ts';
import { DomainTag, taggedHash } from '../../../src/crypto/hash.ts';
import { codeOf } from '../../../src/errors/index.ts';
import { Mempool } from '../../../src/node/mempool.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { accountAddress, makeTestChain, transferTx } from '../../helpers/chain.ts';
import { tempDir } from '../../helpers/temp.ts';

/** The genesis hash as it was computed before maxTxLifetime existed (no app sections). */
function hashBeforeTheParameter(g: Genesis): string {
  return toHex(
    taggedHash(
      DomainTag.genesis,
      encode((w) => {
        w.string(g.chainId).varuint(g.genesisTime);
        w.list(g.validators, (ww, v) => ww.string(v.name).fixed(v.publicKey, 32));
        w.list(g.accounts, (ww, a) => ww.fixed(a.address, 20).varbig(a.balance));
        w.varuint(g.params.maxBlockTxs)
          .varuint(g.params.maxBlockBytes)
          .varuint(g.params.maxClockDriftMs)
          .varuint(g.params.validatorChangeSpacing);
      }),
    ),
  );
}

async function throwsCode(run: () => unknown, code: string): Promise<void> {
  try {
    await run();
  } catch (err) {
    assert.equal(codeOf(err), code, String(err));
    return;
  }
  assert.fail(`expected ${code}`);
}

describe('genesis params.maxTxLifetime', () => {
  const chain = makeTestChain();
  const json = () => genesisToJson(chain.genesis);

  test('absent means unbounded, and the genesis hashes as before', () => {
    const g = genesisFromJson(json());
    assert.equal(g.params.maxTxLifetime, undefined);
    assert.equal(toHex(genesisHash(g)), hashBeforeTheParameter(g));
  });

  test('present, it is a chain parameter: it changes the hash and survives JSON', () => {
    const withIt = genesisFromJson({ ...json(), params: { ...json().params, maxTxLifetime: 500 } });
    assert.equal(withIt.params.maxTxLifetime, 500);
    assert.notEqual(toHex(genesisHash(withIt)), hashBeforeTheParameter(withIt));
    const other = genesisFromJson({ ...json(), params: { ...json().params, maxTxLifetime: 501 } });
    assert.notEqual(toHex(genesisHash(withIt)), toHex(genesisHash(other)));
    const again = genesisFromJson(JSON.parse(JSON.stringify(genesisToJson(withIt))));
    assert.equal(toHex(genesisHash(again)), toHex(genesisHash(withIt)));
    // The parameter and an app section cannot stand in for each other.
    const withApp = genesisFromJson({ ...json(), app: { org: {} } });
    const both = genesisFromJson({
      ...json(),
      app: { org: {} },
      params: { ...json().params, maxTxLifetime: 500 },
    });
    assert.equal(
      new Set([withIt, withApp, both].map((g) => toHex(genesisHash(g)))).size,
      3,
      'three genesis files, three hashes',
    );
  });

  test('refused unless a positive integer', async () => {
    for (const value of [0, -1, 1.5, '100', null]) {
      await throwsCode(
        () => genesisFromJson({ ...json(), params: { ...json().params, maxTxLifetime: value } }),
        'GENESIS_INVALID',
      );
    }
  });
});

describe('the lifetime rule', () => {
  const chain = makeTestChain({ params: { maxTxLifetime: 100 } });
  const to = accountAddress(chain, 1);

  test('validateTxStateless: expiry at most height + maxTxLifetime', async () => {
    const tx = transferTx(chain, 0, to, 1n, 0, { expiryHeight: 110 });
    validateTxStateless(tx, chain.genesis.chainId, 10, 100);
    validateTxStateless(tx, chain.genesis.chainId, 10); // unbounded
    await throwsCode(
      () => validateTxStateless(tx, chain.genesis.chainId, 9, 100),
      'TX_LIFETIME_TOO_LONG',
    );
  });

  test('mempool admission refuses a tx living longer than the window', async () => {
    const verifier = new TxVerifier();
    const mempool = new Mempool(
      {},
      {
        chainId: chain.genesis.chainId,
        maxTxLifetime: 100,
        nextHeight: () => 5,
        accountNonce: () => 0,
        recentlyCommitted: () => false,
        committed: async (hashes) => hashes.map(() => false),
        verify: (txs, hashes) => verifier.verify(txs, hashes),
        senderRefusal: () => undefined,
      },
    );
    await throwsCode(
      () => mempool.add(encodeTx(transferTx(chain, 0, to, 1n, 0, { expiryHeight: 106 }))),
      'TX_LIFETIME_TOO_LONG',
    );
    const entry = await mempool.add(
      encodeTx(transferTx(chain, 0, to, 1n, 0, { expiryHeight: 105 })),
    );
    assert.equal(entry.tx.expiryHeight, 105);
  });

  test('a block with such a tx is invalid; without the parameter the same block is valid', async (t) => {
    const dir = await tempDir(t, 'civitas-lifetime-');
    const bounded = makeTestChain({ params: { maxTxLifetime: 100 } });
    const unbounded = {
      ...bounded,
      genesis: { ...bounded.genesis, params: { ...DEFAULT_PARAMS } },
    };
    const opts = {
      verifySignatures: (txs: readonly Tx[], hashes: readonly Uint8Array[]) =>
        new TxVerifier().verify(txs, hashes),
      checkSignature: verifyNative,
    };
    for (const [name, c, expected] of [
      ['bounded', bounded, 'TX_LIFETIME_TOO_LONG'],
      ['unbounded', unbounded, 'valid'],
    ] as const) {
      const proposer = await Ledger.open(join(dir, `${name}-p`), c.genesis, civitasStateMachine());
      const replica = await Ledger.open(join(dir, `${name}-r`), c.genesis, civitasStateMachine());
      try {
        const far = transferTx(c, 0, accountAddress(c, 1), 1n, 0, { expiryHeight: 102 });
        const near = transferTx(c, 1, accountAddress(c, 0), 1n, 0, { expiryHeight: 101 });
        const { block } = await proposer.buildBlock({
          txs: [near, far],
          proposer: c.validatorKeys[0]!.publicKey,
          lastCommit: null,
        });
        let verdict = 'valid';
        try {
          await replica.validateBlock(block, opts);
        } catch (err) {
          verdict = codeOf(err) ?? String(err);
        }
        assert.equal(verdict, expected, name);
      } finally {
        await proposer.close();
        await replica.close();
      }
    }
    // New chains are not bounded behind their authors' backs: the default is unbounded.
    assert.equal(DEFAULT_PARAMS.maxTxLifetime, undefined);
  });
});
