/**
 * Validator-set governance on its own (src/app/validators): observers, readiness proofs,
 * adding, removing and replacing validators through proposals, and every rule that keeps a
 * change from halting the chain.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entriesCodec, SET_KEY } from '../../../src/app/validators/state.ts';
import type { Receipt } from '../../../src/chain/receipt.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { AppChain, genesisWith, op, type Party, party } from './harness.ts';

/** The chain parameter validatorChangeSpacing of genesisWith's chains. */
const CHANGE_SPACING = 64;

const ok = (r: Receipt, what = ''): void => assert.equal(r.code, 'OK', `${what}: ${r.code}`);

function consortium(permissioned = false) {
  const admins = [party(), party(), party(), party()];
  const validators = [party(), party(), party(), party()];
  const candidate = party();
  const genesis = genesisWith({
    accounts: [...admins, candidate].map((who) => ({ who, balance: 1_000n })),
    app: {
      params: { permissioned },
      org: admins.map((a, i) => ({ id: `org${i}`, name: `Org ${i}`, admins: [a.hex] })),
    },
  });
  const chain = new AppChain({
    ...genesis,
    validators: validators.map((v, i) => ({ name: `v${i}`, publicKey: v.keys.publicKey })),
  });
  return { chain, admins, validators, candidate };
}

/** Proposes `actions` and has three of four organisations approve; the deciding receipt. */
async function decide(chain: AppChain, admins: Party[], actions: unknown[]): Promise<Receipt> {
  const [proposed] = await chain.block([
    chain.tx(admins[0]!, [op('gov', 'propose', { actions, expiresAtHeight: chain.height + 50 })]),
  ]);
  ok(proposed!, 'propose');
  const id = Number(proposed!.events.find((e) => e.type === 'gov.proposed')!.attributes[0]![1]);
  for (const admin of admins.slice(0, 2)) {
    ok((await chain.block([chain.tx(admin, [op('gov', 'vote', { id })])]))[0]!, 'vote');
  }
  const [deciding] = await chain.block([chain.tx(admins[2]!, [op('gov', 'vote', { id })])]);
  ok(deciding!, 'deciding vote');
  return deciding!;
}

/** The code a passed proposal's action failed with, or 'OK'. */
function outcome(r: Receipt): string {
  const failed = r.events.find((e) => e.type === 'gov.failed');
  return failed === undefined ? 'OK' : failed.attributes.find(([k]) => k === 'code')![1];
}

async function ready(chain: AppChain, who: Party, hashHeight = chain.height): Promise<Receipt> {
  const [r] = await chain.block([
    chain.tx(who, [
      op('validators', 'ready', {
        publicKey: toHex(who.keys.publicKey),
        recentBlockHash: toHex(AppChain.blockHash(hashHeight)),
      }),
    ]),
  ]);
  return r!;
}

function setKeys(chain: AppChain): string[] {
  return (chain.get(SET_KEY, entriesCodec) ?? []).map((e) => toHex(e.publicKey));
}

const entry = (who: Party, name = 'newcomer') => ({ publicKey: toHex(who.keys.publicKey), name });

describe('validators', () => {
  test('an observer proves it is ready and is voted in; then one validator is voted out', async () => {
    const { chain, admins, validators, candidate } = consortium();
    assert.equal(
      outcome(
        await decide(chain, admins, [{ call: 'validators.addObserver', args: entry(candidate) }]),
      ),
      'OK',
    );
    ok(await ready(chain, candidate), 'ready');
    const added = await decide(chain, admins, [{ call: 'validators.add', args: entry(candidate) }]);
    assert.equal(outcome(added), 'OK');
    const event = added.events.find((e) => e.type === 'validators.added')!;
    assert.deepEqual(
      event.attributes.find(([k]) => k === 'fromHeight'),
      ['fromHeight', String(chain.height + 1)],
    );
    assert.deepEqual(
      setKeys(chain),
      [...validators, candidate].map((v) => toHex(v.keys.publicKey)),
    );
    // The next change waits CHANGE_SPACING blocks.
    const tooSoon = await decide(chain, admins, [
      { call: 'validators.remove', args: { publicKey: toHex(validators[0]!.keys.publicKey) } },
    ]);
    assert.equal(outcome(tooSoon), 'VALIDATORS_TOO_SOON');
    await chain.advanceTo(chain.height + CHANGE_SPACING);
    const removed = await decide(chain, admins, [
      { call: 'validators.remove', args: { publicKey: toHex(validators[0]!.keys.publicKey) } },
    ]);
    assert.equal(outcome(removed), 'OK');
    assert.deepEqual(
      setKeys(chain),
      [...validators.slice(1), candidate].map((v) => toHex(v.keys.publicKey)),
    );
  });

  test('a joining key must be a registered observer and have proved readiness recently', async () => {
    const { chain, admins, candidate } = consortium();
    const notObserver = await decide(chain, admins, [
      { call: 'validators.add', args: entry(candidate) },
    ]);
    assert.equal(outcome(notObserver), 'VALIDATORS_NOT_OBSERVER');
    // Not an observer: its readiness proof is refused too.
    assert.equal((await ready(chain, candidate)).code, 'VALIDATORS_NOT_OBSERVER');
    await decide(chain, admins, [{ call: 'validators.addObserver', args: entry(candidate) }]);
    const notReady = await decide(chain, admins, [
      { call: 'validators.add', args: entry(candidate) },
    ]);
    assert.equal(outcome(notReady), 'VALIDATORS_NOT_READY');
    ok(await ready(chain, candidate));
    // A proof older than CHANGE_SPACING blocks no longer counts.
    await chain.advanceTo(chain.height + CHANGE_SPACING + 1);
    const stale = await decide(chain, admins, [{ call: 'validators.add', args: entry(candidate) }]);
    assert.equal(outcome(stale), 'VALIDATORS_NOT_READY');
  });

  test('a readiness proof names a recent block and is signed by its own key', async () => {
    const { chain, admins, candidate, validators } = consortium();
    await decide(chain, admins, [{ call: 'validators.addObserver', args: entry(candidate) }]);
    assert.equal((await ready(chain, candidate, chain.height + 5)).code, 'VALIDATORS_STALE_READY');
    await chain.advanceTo(chain.height + CHANGE_SPACING + 2);
    assert.equal(
      (await ready(chain, candidate, chain.height - CHANGE_SPACING - 1)).code,
      'VALIDATORS_STALE_READY',
    );
    const [forged] = await chain.block([
      chain.tx(validators[0]!, [
        op('validators', 'ready', {
          publicKey: toHex(candidate.keys.publicKey),
          recentBlockHash: toHex(AppChain.blockHash(chain.height)),
        }),
      ]),
    ]);
    assert.equal(forged!.code, 'VALIDATORS_NOT_KEY_OWNER');
    ok(await ready(chain, candidate));
  });

  test('a change that would leave the new set without a live quorum is refused', async () => {
    const { chain, admins, validators } = consortium();
    // Only two validators signed recent certificates: removing a third live one leaves 1 of 3.
    chain.liveSigners = new Set(validators.slice(0, 2).map((v) => toHex(v.keys.publicKey)));
    const halt = await decide(chain, admins, [
      { call: 'validators.remove', args: { publicKey: toHex(validators[0]!.keys.publicKey) } },
    ]);
    assert.equal(outcome(halt), 'VALIDATORS_WOULD_HALT');
    // Removing a silent one leaves 2 live of 3 (quorum 3): still refused.
    const silent = await decide(chain, admins, [
      { call: 'validators.remove', args: { publicKey: toHex(validators[3]!.keys.publicKey) } },
    ]);
    assert.equal(outcome(silent), 'VALIDATORS_WOULD_HALT');
    chain.liveSigners = new Set(validators.slice(0, 3).map((v) => toHex(v.keys.publicKey)));
    const fine = await decide(chain, admins, [
      { call: 'validators.remove', args: { publicKey: toHex(validators[3]!.keys.publicKey) } },
    ]);
    assert.equal(outcome(fine), 'OK');
  });

  test('replace rotates a key in place; governance only; one change per proposal', async () => {
    const { chain, admins, validators, candidate } = consortium();
    await decide(chain, admins, [{ call: 'validators.addObserver', args: entry(candidate) }]);
    ok(await ready(chain, candidate));
    const [direct] = await chain.block([
      chain.tx(admins[0]!, [op('validators', 'add', entry(candidate))]),
    ]);
    assert.equal(direct!.code, 'GOV_ONLY');
    const [two] = await chain.block([
      chain.tx(admins[0]!, [
        op('gov', 'propose', {
          actions: [
            { call: 'validators.add', args: entry(candidate) },
            {
              call: 'validators.remove',
              args: { publicKey: toHex(validators[0]!.keys.publicKey) },
            },
          ],
          expiresAtHeight: chain.height + 50,
        }),
      ]),
    ]);
    assert.equal(two!.code, 'GOV_ONE_VALIDATOR_CHANGE');
    const [first] = await chain.block([
      chain.tx(admins[0]!, [
        op('gov', 'propose', {
          actions: [{ call: 'validators.add', args: entry(candidate) }],
          expiresAtHeight: chain.height + 50,
        }),
      ]),
    ]);
    ok(first!);
    const [second] = await chain.block([
      chain.tx(admins[1]!, [
        op('gov', 'propose', {
          actions: [
            {
              call: 'validators.replace',
              args: {
                old: toHex(validators[1]!.keys.publicKey),
                new: entry(candidate).publicKey,
                name: 'x',
              },
            },
          ],
          expiresAtHeight: chain.height + 50,
        }),
      ]),
    ]);
    assert.equal(second!.code, 'GOV_VALIDATOR_PROPOSAL_OPEN');
    // Withdraw the open one; the replacement then passes and keeps the index.
    const id = Number(first!.events.find((e) => e.type === 'gov.proposed')!.attributes[0]![1]);
    ok((await chain.block([chain.tx(admins[0]!, [op('gov', 'cancel', { id })])]))[0]!);
    const replaced = await decide(chain, admins, [
      {
        call: 'validators.replace',
        args: {
          old: toHex(validators[1]!.keys.publicKey),
          new: entry(candidate).publicKey,
          name: 'v1b',
        },
      },
    ]);
    assert.equal(outcome(replaced), 'OK');
    const keys = setKeys(chain);
    assert.equal(keys[1], toHex(candidate.keys.publicKey));
    assert.equal(keys.length, 4);
  });

  test('on a permissioned chain a registered observer may send its readiness proof, nothing else', async () => {
    const { chain, admins, candidate } = consortium(true);
    assert.equal((await ready(chain, candidate)).code, 'ORG_NOT_A_MEMBER');
    await decide(chain, admins, [{ call: 'validators.addObserver', args: entry(candidate) }]);
    ok(await ready(chain, candidate), 'ready from a non-member observer');
    const [transfer] = await chain.block([
      chain.tx(candidate, [op('bank', 'transfer', { to: admins[0]!.hex, amount: '1' })]),
    ]);
    assert.equal(transfer!.code, 'ORG_NOT_A_MEMBER');
  });
});
