/**
 * The genesis field `consensus.protocol` (docs/HOTSTUFF.md, "In the node"): absent, the chain
 * runs PBFT and the genesis is written and hashed exactly as before the field existed (a
 * pinned vector from before it, and the old layout computed here); present, it is hashed, it
 * survives JSON, and an unknown protocol is refused with one typed line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  consensusProtocol,
  type Genesis,
  type GenesisJson,
  genesisFromJson,
  genesisHash,
  genesisToJson,
} from '../../../../src/chain/genesis.ts';
import { encode } from '../../../../src/codec/writer.ts';
import { toHex } from '../../../../src/crypto/bytes.ts';
import { DomainTag, taggedHash } from '../../../../src/crypto/hash.ts';
import { codeOf } from '../../../../src/errors/index.ts';

/** A genesis file as `civitas init` wrote them before the field (keys are fixed bytes). */
const BEFORE: GenesisJson = {
  chainId: 'civitas-devnet',
  genesisTime: 1_700_000_000_000,
  validators: [
    { name: 'node0', publicKey: '11'.repeat(32) },
    { name: 'node1', publicKey: '22'.repeat(32) },
  ],
  accounts: [{ address: 'aa'.repeat(20), balance: '1000000000' }],
  params: {
    maxBlockTxs: 5_000,
    maxBlockBytes: 3_145_728,
    maxClockDriftMs: 10_000,
    validatorChangeSpacing: 64,
  },
  app: { params: { permissioned: true, freezeThreshold: 1 } },
};

/** genesisHash(BEFORE) computed by the code at acc670a, before `consensus` existed. */
const BEFORE_HASH = '1cf422545daa156839f48c5f4f2a5afe62efe3bc61f5c8558ca141aad69369a2';

/** The hash's layout before the field: what a genesis without it must still hash to. */
function hashWithoutTheField(g: Genesis): string {
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
        if (g.app !== undefined) w.string(JSON.stringify(sortKeys(g.app)));
        if (g.params.maxTxLifetime !== undefined) w.u8(0).varuint(g.params.maxTxLifetime);
      }),
    ),
  );
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, x]) => [k, sortKeys(x)]),
  );
}

function refused(json: unknown, pattern: RegExp): void {
  try {
    genesisFromJson(json);
  } catch (err) {
    assert.equal(codeOf(err), 'GENESIS_INVALID', String(err));
    const message = (err as Error).message;
    assert.match(message, pattern);
    assert.ok(!message.includes('\n'), `one line: ${message}`);
    return;
  }
  assert.fail(`accepted ${JSON.stringify((json as GenesisJson).consensus)}`);
}

describe('genesis consensus.protocol', () => {
  test('absent: PBFT, and the genesis hashes and writes as before the field', () => {
    const g = genesisFromJson(structuredClone(BEFORE));
    assert.equal(consensusProtocol(g), 'pbft');
    assert.equal(g.consensus, undefined);
    assert.equal(toHex(genesisHash(g)), BEFORE_HASH);
    assert.equal(toHex(genesisHash(g)), hashWithoutTheField(g));
    // Written back, the file is the same bytes (no consensus key appears).
    assert.equal(JSON.stringify(genesisToJson(g)), JSON.stringify(BEFORE));
    const lifetime = genesisFromJson({ ...BEFORE, params: { ...BEFORE.params, maxTxLifetime: 9 } });
    assert.equal(toHex(genesisHash(lifetime)), hashWithoutTheField(lifetime));
  });

  test('present: hashed, kept through JSON, and each value its own hash', () => {
    const hotstuff = genesisFromJson({ ...BEFORE, consensus: { protocol: 'hotstuff' } });
    const pbft = genesisFromJson({ ...BEFORE, consensus: { protocol: 'pbft' } });
    const absent = genesisFromJson(BEFORE);
    assert.equal(consensusProtocol(hotstuff), 'hotstuff');
    assert.equal(consensusProtocol(pbft), 'pbft');
    const hashes = [hotstuff, pbft, absent].map((g) => toHex(genesisHash(g)));
    assert.equal(new Set(hashes).size, 3, 'the hash commits to the field as written');
    const again = genesisFromJson(JSON.parse(JSON.stringify(genesisToJson(hotstuff))));
    assert.deepEqual(again.consensus, { protocol: 'hotstuff' });
    assert.equal(toHex(genesisHash(again)), hashes[0]);
    // With maxTxLifetime and the app section around it, no field can stand in for another.
    const noApp = { ...BEFORE, app: undefined };
    const withLifetime = { ...noApp, params: { ...BEFORE.params, maxTxLifetime: 1 } };
    const variants = [
      genesisFromJson(withLifetime),
      genesisFromJson({ ...withLifetime, consensus: { protocol: 'hotstuff' } }),
      genesisFromJson({ ...noApp, consensus: { protocol: 'hotstuff' } }),
      genesisFromJson(noApp),
    ];
    assert.equal(new Set(variants.map((g) => toHex(genesisHash(g)))).size, 4);
  });

  test('an unknown protocol, another key or another shape is refused in one line', () => {
    refused(
      { ...BEFORE, consensus: { protocol: 'tendermint' } },
      /consensus\.protocol must be pbft or hotstuff, not "tendermint"/,
    );
    refused({ ...BEFORE, consensus: { protocol: 'HotStuff' } }, /consensus\.protocol must be/);
    refused(
      { ...BEFORE, consensus: {} },
      /consensus\.protocol must be pbft or hotstuff, not missing/,
    );
    refused(
      { ...BEFORE, consensus: { protocol: 'pbft', timeoutMs: 5 } },
      /consensus\.timeoutMs is not a consensus setting/,
    );
    refused({ ...BEFORE, consensus: 'hotstuff' }, /consensus must be an object/);
    refused({ ...BEFORE, consensus: null }, /consensus must be an object/);
  });
});
