import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isCivitasError } from '../../../src/errors/index.ts';
import { encodeFrames, encodeVarint, FrameDecoder } from '../../../src/p2p/framing.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(isCivitasError(err), String(err));
    return err.code;
  }
}

test('frames survive any chunking of the byte stream', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      (payloads, cuts) => {
        const wire = encodeFrames(payloads);
        const decoder = new FrameDecoder(300);
        const out: Uint8Array[] = [];
        let offset = 0;
        let i = 0;
        while (offset < wire.length) {
          const size = cuts[i++ % cuts.length]!;
          out.push(...decoder.push(wire.subarray(offset, offset + size)));
          offset += size;
        }
        decoder.finish();
        assert.deepEqual(out, payloads);
      },
    ),
  );
});

test('varint lengths are minimal and round-trip', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n) => {
      const v = encodeVarint(n);
      assert.ok(v.length === 1 || v[v.length - 1] !== 0);
      const decoder = new FrameDecoder(2 ** 31 - 1);
      // Only the header: the decoder must wait for the body, not fail.
      assert.deepEqual(decoder.push(v), n === 0 ? [new Uint8Array(0)] : []);
    }),
  );
});

test('the decoder refuses what the framing rules forbid', () => {
  // Rule 1: non-minimal length, and a varint that never ends.
  assert.equal(
    codeOf(() => new FrameDecoder(1000).push(Uint8Array.of(0x81, 0x00))),
    'P2P_FRAME_BAD_LENGTH',
  );
  assert.equal(
    codeOf(() => new FrameDecoder(2 ** 31 - 1).push(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80))),
    'P2P_FRAME_BAD_LENGTH',
  );
  // Rule 2: the limit is checked from the header alone, before any body byte arrives.
  assert.equal(
    codeOf(() => new FrameDecoder(100).push(encodeVarint(101))),
    'P2P_FRAME_TOO_LARGE',
  );
  assert.equal(
    codeOf(() => new FrameDecoder(100).push(Uint8Array.of(0xe0))),
    undefined,
  );
  assert.equal(
    codeOf(() => new FrameDecoder(100).push(Uint8Array.of(0xe0, 0x01))),
    'P2P_FRAME_TOO_LARGE',
  );
  // Rule 3: end of stream inside a frame.
  const decoder = new FrameDecoder(100);
  decoder.push(Uint8Array.of(5, 1, 2));
  assert.equal(
    codeOf(() => decoder.finish()),
    'P2P_FRAME_TRUNCATED',
  );
  const header = new FrameDecoder(100);
  header.push(Uint8Array.of(0x80));
  assert.equal(
    codeOf(() => header.finish()),
    'P2P_FRAME_TRUNCATED',
  );
});
