/**
 * The node's WAL (src/node/level-wal.ts over a real LevelDB in a temp dir) stores each entry
 * behind its protocol's byte: a PBFT WAL written before the byte existed loads unchanged after
 * an upgrade in place (and takes new entries beside the old), HotStuff's entries round-trip,
 * and a node whose protocol is not the one that wrote the WAL refuses it with
 * CONSENSUS_WAL_PROTOCOL instead of misreading it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { HotStuffWalEntry } from '../../../../src/consensus/hotstuff/wal.ts';
import { HOTSTUFF_WAL_CODEC } from '../../../../src/consensus/hotstuff/wal.ts';
import {
  encodeWalEntry,
  WAL_PROTOCOL_BYTE,
  type WalEntry,
  walRecordProtocol,
} from '../../../../src/consensus/wal.ts';
import { codeOf } from '../../../../src/errors/index.ts';
import { LevelWal } from '../../../../src/node/level-wal.ts';
import { ChainStore } from '../../../../src/state/store.ts';
import { tempDir } from '../../../helpers/temp.ts';

const hash = (b: number) => new Uint8Array(32).fill(b);
const sig = (b: number) => new Uint8Array(64).fill(b);

const pbftVote = (height: number, validatorIndex: number): WalEntry => ({
  kind: 'signed',
  message: {
    type: 'prepare',
    height,
    view: 0,
    blockHash: hash(height),
    validatorIndex,
    signature: sig(validatorIndex + 1),
    timestamp: 0,
  },
});

const hotStuffEntries = (height: number): HotStuffWalEntry[] => [
  {
    kind: 'signed',
    message: {
      type: 'vote',
      phase: 'commit',
      height,
      view: 1,
      blockHash: hash(7),
      validatorIndex: 2,
      signature: sig(3),
      timestamp: 1_700_000_000_123,
    },
  },
  {
    kind: 'qc',
    qc: {
      phase: 'pre-commit',
      height,
      view: 1,
      blockHash: hash(7),
      signatures: [0, 1, 3].map((i) => ({ validatorIndex: i, signature: sig(i + 9) })),
    },
    block: null,
  },
];

/** The key LevelWal gives an entry: (height, seq), fixed-width big-endian. */
function key(height: number, seq: number): Uint8Array {
  const k = new Uint8Array(16);
  const v = new DataView(k.buffer);
  v.setBigUint64(0, BigInt(height));
  v.setBigUint64(8, BigInt(seq));
  return k;
}

async function withStore<T>(dir: string, body: (store: ChainStore) => Promise<T>): Promise<T> {
  const store = await ChainStore.open(dir);
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

async function refusal(load: () => Promise<unknown>): Promise<Error> {
  try {
    await load();
  } catch (err) {
    assert.equal(codeOf(err), 'CONSENSUS_WAL_PROTOCOL', String(err));
    return err as Error;
  }
  assert.fail('the WAL was loaded');
}

describe('the WAL protocol byte', () => {
  test('a PBFT WAL written before the byte loads after an upgrade in place, beside new entries', async (t) => {
    const dir = join(await tempDir(t), 'db');
    const old = [pbftVote(5, 0), pbftVote(5, 1)];
    // What LevelWal wrote before the byte: the bare entry (its version byte first).
    await withStore(dir, async (store) => {
      const batch = store.wal.batch();
      for (const [seq, e] of old.entries()) batch.put(key(5, seq), encodeWalEntry(e));
      await batch.write({ sync: true });
    });
    await withStore(dir, async (store) => {
      const wal = new LevelWal(store);
      assert.deepEqual(await wal.load(), old);
      await wal.append([pbftVote(6, 2)]);
      const stored: Uint8Array[] = [];
      for await (const [, value] of store.wal.iterator()) stored.push(value);
      assert.deepEqual(
        stored.map((v) => walRecordProtocol(v)),
        ['pbft', 'pbft', 'pbft'],
      );
      assert.equal(stored[0]![0], 1, 'the old entries stay as they were');
      assert.equal(stored[2]![0], WAL_PROTOCOL_BYTE.pbft, 'a new entry carries the byte');
    });
    await withStore(dir, async (store) => {
      assert.deepEqual(await new LevelWal(store).load(), [...old, pbftVote(6, 2)]);
      // HotStuff on this WAL (old entries and new alike) refuses it.
      const err = await refusal(() => new LevelWal(store, HOTSTUFF_WAL_CODEC).load());
      assert.match(err.message, /written by pbft but the genesis names hotstuff/);
    });
  });

  test("HotStuff's entries round-trip and PBFT refuses them", async (t) => {
    const dir = join(await tempDir(t), 'db');
    await withStore(dir, async (store) => {
      const wal = new LevelWal(store, HOTSTUFF_WAL_CODEC);
      await wal.append(hotStuffEntries(3));
      await wal.append(hotStuffEntries(4));
      await wal.truncateBelow(4);
    });
    await withStore(dir, async (store) => {
      assert.deepEqual(await new LevelWal(store, HOTSTUFF_WAL_CODEC).load(), hotStuffEntries(4));
      for await (const [, value] of store.wal.iterator()) {
        assert.equal(value[0], WAL_PROTOCOL_BYTE.hotstuff);
      }
      const err = await refusal(() => new LevelWal(store).load());
      assert.match(err.message, /written by hotstuff but the genesis names pbft/);
    });
  });
});
