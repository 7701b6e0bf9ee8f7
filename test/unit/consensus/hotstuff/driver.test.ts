/**
 * The driver runs any engine over its own message and WAL types (DriverOptions.createEngine):
 * a `send` action goes to the network's `send` with the recipient's key, after the WAL
 * entries before it are durable; a network without `send` broadcasts it. And the HotStuff
 * twin (hotstuff/driver.ts) drives the real HotStuff engine: four drivers on an in-memory
 * network with real timers commit the same blocks, their votes reaching the leader alone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SealedBlock } from '../../../../src/chain/block.ts';
import type { CommitCertificate } from '../../../../src/chain/certificate.ts';
import { makeValidatorSet } from '../../../../src/chain/validator-set.ts';
import { ConsensusDriver, type StepEngine } from '../../../../src/consensus/driver.ts';
import type { EngineStatus } from '../../../../src/consensus/engine.ts';
import type { ConsensusAction, ConsensusEvent } from '../../../../src/consensus/events.ts';
import {
  createHotStuffDriver,
  type HotStuffDriver,
} from '../../../../src/consensus/hotstuff/driver.ts';
import { decodeHotStuffMessage } from '../../../../src/consensus/hotstuff/messages.ts';
import type { HotStuffWalEntry } from '../../../../src/consensus/hotstuff/wal.ts';
import { signatureScheme } from '../../../../src/consensus/sim/signatures.ts';
import {
  buildSimBlock,
  genesisParent,
  parentOf,
  type SimChainContext,
  validateSimBlock,
} from '../../../../src/consensus/sim/sim-chain.ts';
import { equalBytes, toHex, utf8 } from '../../../../src/crypto/bytes.ts';
import { sha256 } from '../../../../src/crypto/hash.ts';

type Msg = { readonly n: number };
type Entry = { readonly e: number };

const TO = new Uint8Array(32).fill(9);

/** An engine that, on start, persists one entry and sends one message to TO. */
function sendingEngine(): StepEngine<Msg, Entry> {
  return {
    step(event: ConsensusEvent<Msg, Entry>): ConsensusAction<Msg, Entry>[] {
      if (event.type !== 'start') return [];
      return [
        { type: 'persist', entry: { e: 1 } },
        { type: 'send', to: TO, message: { n: 7 }, bytes: new Uint8Array([7]) },
      ];
    },
    status: () => ({}) as EngineStatus,
    evidence: () => [],
  };
}

function driver(log: string[], withSend: boolean): ConsensusDriver<Msg, Entry> {
  return new ConsensusDriver<Msg, Entry>(
    { engine: {} as never, createEngine: sendingEngine },
    {
      network: {
        broadcast: (bytes, m) => void log.push(`broadcast ${m.n} ${bytes.length}`),
        ...(withSend
          ? {
              send: (to: Uint8Array, _b: Uint8Array, m: Msg) =>
                void log.push(`send ${m.n} to ${to[0]}`),
            }
          : {}),
      },
      wal: {
        append: async (entries) => {
          await new Promise((r) => setTimeout(r, 5));
          log.push(`wal ${entries.map((x) => x.e).join(',')}`);
        },
        load: async () => [],
        truncateBelow: async () => {},
      },
      timers: { set: () => () => {} },
      app: {
        buildProposal: () => Promise.reject(new Error('not used')),
        validateProposal: async () => false,
        commit: async () => {},
      },
    },
  );
}

describe('the driver with another engine', () => {
  test('send goes to the network after the WAL; without send it is broadcast', async () => {
    const sent: string[] = [];
    const d = driver(sent, true);
    await d.start(1, null);
    await d.stop();
    assert.deepEqual(sent, ['wal 1', 'send 7 to 9']);

    const broadcast: string[] = [];
    const b = driver(broadcast, false);
    await b.start(1, null);
    await b.stop();
    assert.deepEqual(broadcast, ['wal 1', 'broadcast 7 1']);
  });
});

describe('four HotStuff drivers', () => {
  test('commit the same blocks, each vote sent to its leader only', async () => {
    const n = 4;
    const scheme = signatureScheme('fake');
    const keys = Array.from({ length: n }, (_, i) => scheme.key(17, i));
    const validators = makeValidatorSet(keys.map((k) => k.publicKey));
    const ctx: SimChainContext = {
      chainId: 'civitas-test',
      genesisHash: sha256(utf8.encode('driver-test')),
      genesisTime: 1_700_000_000_000,
      validators,
      verify: scheme.verify,
    };
    const chains: Array<Array<{ block: SealedBlock; certificate: CommitCertificate }>> = keys.map(
      () => [],
    );
    const wals: HotStuffWalEntry[][] = keys.map(() => []);
    const votesTo: number[] = keys.map(() => 0);
    let wrongLeader = 0;
    let salt = 1;
    const parent = (i: number) => {
      const tip = chains[i]!.at(-1);
      return tip === undefined ? genesisParent(ctx) : parentOf(tip.block);
    };
    const drivers: HotStuffDriver[] = [];
    for (let i = 0; i < n; i++) {
      drivers.push(
        createHotStuffDriver(
          {
            engine: {
              chainId: ctx.chainId,
              publicKey: keys[i]!.publicKey,
              validatorsAt: () => validators,
              sign: keys[i]!.sign,
              verify: scheme.verify,
              clock: () => 0,
              timeouts: { baseMs: 2_000 },
            },
          },
          {
            network: {
              broadcast: (bytes) => {
                for (let j = 0; j < n; j++) {
                  if (j !== i) setImmediate(() => drivers[j]!.deliver(bytes));
                }
              },
              send: (to, bytes) => {
                const j = keys.findIndex((k) => equalBytes(k.publicKey, to));
                const vote = decodeHotStuffMessage(bytes);
                assert.equal(vote.type, 'vote');
                if (vote.type === 'vote' && (vote.height + vote.view) % n !== j) wrongLeader++;
                votesTo[j]!++;
                setImmediate(() => drivers[j]!.deliver(bytes));
              },
            },
            wal: {
              append: async (entries) => void wals[i]!.push(...entries),
              load: async () => [],
              truncateBelow: async () => {},
            },
            timers: {
              set: (ms, fn) => {
                const t = setTimeout(fn, ms);
                return () => clearTimeout(t);
              },
            },
            app: {
              buildProposal: async (_h, _v, lastCommit) =>
                buildSimBlock(ctx, {
                  parent: parent(i),
                  proposer: keys[i]!.publicKey,
                  lastCommit,
                  salt: salt++,
                }),
              validateProposal: async (block) => validateSimBlock(ctx, block, parent(i)) === null,
              commit: async (block, certificate) => void chains[i]!.push({ block, certificate }),
            },
          },
        ),
      );
    }
    await Promise.all(drivers.map((d) => d.start(1, null)));
    const target = 6;
    const deadline = Date.now() + 30_000;
    while (chains.some((c) => c.length < target)) {
      assert.ok(Date.now() < deadline, `heights ${chains.map((c) => c.length)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(drivers.map((d) => d.stop()));
    for (let h = 0; h < target; h++) {
      const hashes = new Set(chains.map((c) => toHex(c[h]!.block.hash)));
      assert.equal(hashes.size, 1, `height ${h + 1}: one block on every driver`);
    }
    assert.equal(wrongLeader, 0, 'every vote went to the leader of its view');
    assert.ok(
      votesTo.filter((v) => v > 0).length >= 2,
      `votes went to the leaders of several heights: ${votesTo}`,
    );
    assert.ok(wals.every((w) => w.some((e) => e.kind === 'signed' && e.message.type === 'vote')));
  });
});
