import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type ConsensusMessage,
  decodeMessage,
  encodeMessage,
  MAX_MESSAGE_BYTES,
  type NewView,
  type ViewChange,
} from '../../../src/consensus/messages.ts';
import { decodeWalEntry, encodeWalEntry, walEntryHeight } from '../../../src/consensus/wal.ts';
import { equalBytes } from '../../../src/crypto/bytes.ts';
import { CivitasError } from '../../../src/errors/index.ts';
import { Cluster } from './harness.ts';

/** One of every message type, from a run with a view change (commits of view 0 lost). */
function sampleMessages(): { messages: ConsensusMessage[]; cluster: Cluster } {
  const c = new Cluster(4);
  c.filter = (_from, _to, m) => !(m.type === 'commit' && m.view === 0);
  c.startAll();
  c.run();
  c.filter = () => true;
  c.fireAll();
  c.run(20_000, 2);
  return { messages: c.sent.flat(), cluster: c };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CivitasError, `expected a CivitasError, got ${err}`);
    return err.code;
  }
  return 'none';
}

describe('consensus message codec', () => {
  const { messages, cluster } = sampleMessages();
  const byType = (t: ConsensusMessage['type']) => messages.find((m) => m.type === t)!;

  it('round-trips every message type byte for byte', () => {
    const types = new Set(messages.map((m) => m.type));
    assert.deepEqual([...types].sort(), [
      'commit',
      'new-view',
      'pre-prepare',
      'prepare',
      'view-change',
    ]);
    for (const m of messages) {
      const bytes = encodeMessage(m);
      const back = decodeMessage(bytes);
      assert.equal(back.type, m.type);
      assert.ok(equalBytes(encodeMessage(back), bytes));
    }
    const vc = byType('view-change') as ViewChange;
    assert.ok(vc.prepared !== null && vc.preparedBlock !== null && vc.lastCommit === null);
    const nv = byType('new-view') as NewView;
    assert.ok(nv.viewChanges.length >= 3 && nv.viewChanges.every((v) => v.preparedBlock === null));
  });

  it('round-trips every WAL entry', () => {
    const entries = cluster.wal.flat();
    assert.ok(
      entries.some((e) => e.kind === 'prepared') && entries.some((e) => e.kind === 'signed'),
    );
    for (const e of entries) {
      const bytes = encodeWalEntry(e);
      const back = decodeWalEntry(bytes);
      assert.equal(walEntryHeight(back), walEntryHeight(e));
      assert.ok(equalBytes(encodeWalEntry(back), bytes));
    }
    assert.equal(
      codeOf(() => decodeWalEntry(new Uint8Array([1, 9]))),
      'CODEC_BAD_VALUE',
    );
    assert.equal(
      codeOf(() => decodeWalEntry(new Uint8Array([2, 1]))),
      'CODEC_BAD_VERSION',
    );
  });

  it('rejects trailing bytes, truncation, unknown versions and types', () => {
    for (const t of ['pre-prepare', 'prepare', 'commit', 'view-change', 'new-view'] as const) {
      const bytes = encodeMessage(byType(t));
      assert.equal(
        codeOf(() => decodeMessage(Uint8Array.from([...bytes, 0]))),
        'CODEC_TRAILING_BYTES',
      );
      const step = Math.max(1, Math.floor(bytes.length / 97));
      for (let cut = 0; cut < bytes.length; cut += step) {
        assert.notEqual(
          codeOf(() => decodeMessage(bytes.subarray(0, cut))),
          'none',
          `${t} cut at ${cut}`,
        );
      }
      const badVersion = bytes.slice();
      badVersion[0] = 2;
      assert.equal(
        codeOf(() => decodeMessage(badVersion)),
        'CODEC_BAD_VERSION',
      );
    }
    assert.equal(
      codeOf(() => decodeMessage(new Uint8Array([1, 6]))),
      'CODEC_BAD_VALUE',
    );
    assert.equal(
      codeOf(() => decodeMessage(new Uint8Array(0))),
      'CODEC_TRUNCATED',
    );
  });

  it('rejects signer lists that are not strictly increasing (one encoding per set)', () => {
    const vc = byType('view-change') as ViewChange;
    const p = vc.prepared!;
    const swapped = { ...vc, prepared: { ...p, prepares: [...p.prepares].reverse() } };
    assert.equal(
      codeOf(() => decodeMessage(encodeMessage(swapped))),
      'CODEC_BAD_ORDER',
    );
    const nv = byType('new-view') as NewView;
    const reordered = { ...nv, viewChanges: [...nv.viewChanges].reverse() };
    assert.equal(
      codeOf(() => decodeMessage(encodeMessage(reordered))),
      'CODEC_BAD_ORDER',
    );
  });

  it('rejects oversized input before parsing', () => {
    const huge = new Uint8Array(MAX_MESSAGE_BYTES + 1);
    assert.equal(
      codeOf(() => decodeMessage(huge)),
      'CODEC_TOO_LARGE',
    );
  });

  it('never throws anything but a CivitasError, and what decodes re-encodes identically', () => {
    const samples = messages.slice(0, 40).map(encodeMessage);
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (bytes, flips) => {
          const mutated = bytes.slice();
          for (const [pos, x] of flips) mutated[pos % mutated.length]! ^= x;
          let decoded: ConsensusMessage;
          try {
            decoded = decodeMessage(mutated);
          } catch (err) {
            return err instanceof CivitasError;
          }
          return equalBytes(encodeMessage(decoded), mutated);
        },
      ),
      { numRuns: 400, seed: 42 },
    );
  });
});
