/**
 * A node started the way every launcher starts it (the default memory budget's heap flags and
 * malloc settings) on a genesis that funds 100,000 accounts, with an empty data directory, so
 * it builds the genesis state before anything else (issue #19: such a node once died within
 * seconds, "JavaScript heap out of memory"). It must start at height 0, and its height-0 state
 * proofs must verify against the root this test computes from the genesis file alone, as a
 * client does (genesisStateRoot).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { genesisFromJson, genesisValidatorSet } from '../../../src/chain/index.ts';
import { genesisStateRoot } from '../../../src/client/index.ts';
import {
  type AccountProofResponse,
  type StateProofResponse,
  verifyStateProof,
} from '../../../src/client/verify.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { DEFAULT_MEMORY_BUDGET_MIB, heapFlags, NODE_ENV } from '../../../src/node/memory-budget.ts';
import { httpJson } from '../../helpers/http.ts';
import { editJson, startSingleNode } from '../../helpers/single-node.ts';

const ACCOUNTS = 100_000;

test('a node with the default budget starts from a genesis funding 100,000 accounts', async (t) => {
  const funded: string[] = [];
  const net = await startSingleNode(t, {
    prefix: 'civitas-large-genesis-',
    // The launchers pass these on the command line; NODE_OPTIONS gives the child the same.
    env: { ...NODE_ENV, NODE_OPTIONS: heapFlags(DEFAULT_MEMORY_BUDGET_MIB).join(' ') },
    // Generous: the build is ~5 s alone, far longer on a loaded machine. Not a goal.
    timeoutMs: 180_000,
    configure: async ({ home }) => {
      await editJson<{ accounts: Array<{ address: string; balance: string }> }>(
        join(home, 'genesis.json'),
        (genesis) => {
          for (let i = 0; i < ACCOUNTS; i++) {
            const address = randomBytes(20).toString('hex');
            funded.push(address);
            genesis.accounts.push({ address, balance: String(1_000 + i) });
          }
        },
      );
    },
  });
  const stderr = net.node.stderr();
  assert.match(stderr, /"msg":"node started".*"height":0/);
  // The flags took: a node whose heap may outgrow its budget says so at start.
  assert.doesNotMatch(stderr, /the V8 heap may grow/);

  const genesis = genesisFromJson(
    JSON.parse(await readFile(join(net.home, 'genesis.json'), 'utf8')),
  );
  assert.ok(genesis.accounts.length > ACCOUNTS);
  const trusted = {
    chainId: genesis.chainId,
    validators: genesisValidatorSet(genesis),
    genesisStateRoot: await genesisStateRoot(genesis),
  };
  for (const i of [0, ACCOUNTS / 2, ACCOUNTS - 1]) {
    const address = funded[i]!;
    const { status, body } = await httpJson<
      StateProofResponse & { proof: AccountProofResponse & { stateRoot: string } }
    >(`${net.rpc}/state/bank/${address}?proof=true&height=0`);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.proof.stateRoot, toHex(trusted.genesisStateRoot));
    const proven = verifyStateProof('bank', address, body, trusted);
    assert.equal(proven.height, 0);
    assert.deepEqual(proven.json, { balance: String(1_000 + i), nonce: 0 });
  }
});
