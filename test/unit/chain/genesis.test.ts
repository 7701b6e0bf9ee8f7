/**
 * Genesis files: the JSON form round-trips to the same genesis hash; the hash commits to
 * every field (so nodes with different files never agree on block 1); malformed files are
 * GENESIS_INVALID (never a TypeError), and unknown params are refused rather than ignored.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type Genesis,
  type GenesisJson,
  genesisFromJson,
  genesisHash,
  genesisToJson,
  genesisValidatorSet,
} from '../../../src/chain/index.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { makeTestChain } from '../../helpers/chain.ts';

const chain = makeTestChain({ validators: 3, accounts: 2 });
const json = (): GenesisJson => structuredClone(genesisToJson(chain.genesis));
const hashOf = (g: Genesis): string => toHex(genesisHash(g));

function rejects(input: unknown, what: string): void {
  assert.throws(
    () => genesisFromJson(input),
    (err: unknown) => isCivitasError(err) && err.code === 'GENESIS_INVALID',
    what,
  );
}

describe('genesis', () => {
  test('JSON round trip keeps every field and the hash', () => {
    const back = genesisFromJson(JSON.parse(JSON.stringify(genesisToJson(chain.genesis))));
    assert.deepEqual(genesisToJson(back), genesisToJson(chain.genesis));
    assert.equal(hashOf(back), hashOf(chain.genesis));
    assert.equal(genesisValidatorSet(back).validators.length, 3);
    // Omitted params take the defaults.
    const { params: _omitted, ...noParams } = json();
    assert.deepEqual(genesisFromJson(noParams).params, chain.genesis.params);
  });

  test('the hash commits to every field', () => {
    const variants: Array<[string, (j: GenesisJson) => void]> = [
      ['chain id', (j) => Object.assign(j, { chainId: 'other' })],
      ['genesis time', (j) => Object.assign(j, { genesisTime: j.genesisTime + 1 })],
      ['validator name', (j) => Object.assign(j.validators[0]!, { name: 'renamed' })],
      [
        'validator key',
        (j) =>
          Object.assign(j.validators[1]!, {
            publicKey: '12'.repeat(32),
          }),
      ],
      ['validator order', (j) => j.validators.reverse()],
      ['account balance', (j) => Object.assign(j.accounts[0]!, { balance: '1' })],
      ['account address', (j) => Object.assign(j.accounts[1]!, { address: '00'.repeat(20) })],
      ['account order', (j) => j.accounts.reverse()],
      [
        'maxBlockTxs',
        (j) => Object.assign(j, { params: { ...j.params, maxBlockTxs: j.params.maxBlockTxs + 1 } }),
      ],
      [
        'maxBlockBytes',
        (j) =>
          Object.assign(j, { params: { ...j.params, maxBlockBytes: j.params.maxBlockBytes + 1 } }),
      ],
      [
        'maxClockDriftMs',
        (j) =>
          Object.assign(j, {
            params: { ...j.params, maxClockDriftMs: j.params.maxClockDriftMs + 1 },
          }),
      ],
    ];
    const seen = new Set([hashOf(chain.genesis)]);
    for (const [what, change] of variants) {
      const j = json();
      change(j);
      const g = genesisFromJson(j);
      const h = hashOf(g);
      assert.ok(!seen.has(h), `${what} does not change the genesis hash`);
      seen.add(h);
    }
    assert.equal(seen.size, variants.length + 1);
  });

  test('malformed files are GENESIS_INVALID', () => {
    const cases: Array<[string, unknown]> = [
      ['null', null],
      ['a string', 'genesis'],
      ['no chain id', { ...json(), chainId: undefined }],
      ['empty chain id', { ...json(), chainId: '' }],
      ['chain id with spaces', { ...json(), chainId: 'bad id' }],
      ['chain id too long', { ...json(), chainId: 'c'.repeat(65) }],
      ['negative time', { ...json(), genesisTime: -1 }],
      ['fractional time', { ...json(), genesisTime: 1.5 }],
      ['no validators', { ...json(), validators: [] }],
      ['validators not a list', { ...json(), validators: {} }],
      ['short validator key', { ...json(), validators: [{ name: 'v', publicKey: 'abcd' }] }],
      ['null validator', { ...json(), validators: [null] }],
      ['accounts not a list', { ...json(), accounts: {} }],
      ['accounts a string', { ...json(), accounts: 'none' }],
      ['null account', { ...json(), accounts: [null] }],
      ['short address', { ...json(), accounts: [{ address: 'ab', balance: '1' }] }],
      ['numeric balance', { ...json(), accounts: [{ address: '00'.repeat(20), balance: 5 }] }],
      ['negative balance', { ...json(), accounts: [{ address: '00'.repeat(20), balance: '-5' }] }],
      [
        'leading-zero balance',
        { ...json(), accounts: [{ address: '00'.repeat(20), balance: '05' }] },
      ],
      ['zero maxBlockTxs', { ...json(), params: { ...json().params, maxBlockTxs: 0 } }],
      ['string param', { ...json(), params: { ...json().params, maxBlockBytes: '5' } }],
      ['maxBlockTxs over the protocol limit', { ...json(), params: { maxBlockTxs: 1_000_000 } }],
      ['params a list', { ...json(), params: [] }],
      ['params a string', { ...json(), params: 'fast' }],
      ['unknown param (a typo)', { ...json(), params: { ...json().params, maxBlockTx: 10 } }],
    ];
    for (const [what, input] of cases) rejects(input, what);
  });

  test('a duplicate validator key is refused', () => {
    const j = json();
    j.validators[1]!.publicKey = j.validators[0]!.publicKey;
    assert.throws(
      () => genesisFromJson(j),
      (err: unknown) => isCivitasError(err, 'VALIDATORS_'),
    );
  });

  test('arbitrary JSON never crashes the parser with anything but a CivitasError', () => {
    const valid = json();
    const field = <T>(good: T) => fc.oneof(fc.constant(good), fc.anything());
    fc.assert(
      fc.property(
        fc.record(
          {
            chainId: field(valid.chainId),
            genesisTime: field(valid.genesisTime),
            validators: field(valid.validators),
            accounts: fc.oneof(field(valid.accounts), fc.array(fc.anything(), { maxLength: 3 })),
            params: fc.oneof(field(valid.params), fc.dictionary(fc.string(), fc.anything())),
          },
          { requiredKeys: [] },
        ),
        (input) => {
          try {
            genesisFromJson(input);
          } catch (err) {
            assert.ok(isCivitasError(err), `threw ${String(err)} for ${fc.stringify(input)}`);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
