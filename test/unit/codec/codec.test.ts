/**
 * Property tests for the strict codec: every value the Writer can produce reads back equal, and
 * every byte string the Writer would NOT produce is refused with a typed CODEC_* error. Random
 * "schemas" (sequences of primitive fields) make the round-trip, truncation and trailing-byte
 * properties cover the primitives in combination, not just one at a time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decode, encode, expectVersion, Reader, Writer } from '../../../src/codec/index.ts';
import { CivitasError, isCivitasError } from '../../../src/errors/index.ts';

const MAX_LEN = 64;
const MAX_ITEMS = 8;

type Field =
  | { kind: 'u8'; value: number }
  | { kind: 'u16'; value: number }
  | { kind: 'u32'; value: number }
  | { kind: 'varuint'; value: number }
  | { kind: 'varbig'; value: bigint; maxBits: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'fixed'; value: Uint8Array }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'string'; value: string }
  | { kind: 'list'; value: number[] };

const maxBitsArb = fc.constantFrom(8, 64, 128, 256);

const fieldArb: fc.Arbitrary<Field> = fc.oneof(
  fc.integer({ min: 0, max: 0xff }).map((value) => ({ kind: 'u8' as const, value })),
  fc.integer({ min: 0, max: 0xffff }).map((value) => ({ kind: 'u16' as const, value })),
  fc.integer({ min: 0, max: 0xffff_ffff }).map((value) => ({ kind: 'u32' as const, value })),
  fc
    .oneof(fc.nat(300), fc.maxSafeNat(), fc.constant(Number.MAX_SAFE_INTEGER))
    .map((value) => ({ kind: 'varuint' as const, value })),
  maxBitsArb.chain((maxBits) =>
    fc
      .oneof(
        fc.bigInt({ min: 0n, max: (1n << BigInt(maxBits)) - 1n }),
        fc.constant((1n << BigInt(maxBits)) - 1n),
        fc.constant(0n),
      )
      .map((value) => ({ kind: 'varbig' as const, value, maxBits })),
  ),
  fc.boolean().map((value) => ({ kind: 'bool' as const, value })),
  fc.uint8Array({ maxLength: MAX_LEN }).map((value) => ({ kind: 'fixed' as const, value })),
  fc.uint8Array({ maxLength: MAX_LEN }).map((value) => ({ kind: 'bytes' as const, value })),
  fc
    .string({ unit: 'grapheme', maxLength: 16 })
    .filter((s) => new TextEncoder().encode(s).length <= MAX_LEN)
    .map((value) => ({ kind: 'string' as const, value })),
  fc
    .array(fc.maxSafeNat(), { maxLength: MAX_ITEMS })
    .map((value) => ({ kind: 'list' as const, value })),
);

function writeField(w: Writer, f: Field): void {
  switch (f.kind) {
    case 'u8':
      w.u8(f.value);
      break;
    case 'u16':
      w.u16(f.value);
      break;
    case 'u32':
      w.u32(f.value);
      break;
    case 'varuint':
      w.varuint(f.value);
      break;
    case 'varbig':
      w.varbig(f.value, f.maxBits);
      break;
    case 'bool':
      w.bool(f.value);
      break;
    case 'fixed':
      w.fixed(f.value, f.value.length);
      break;
    case 'bytes':
      w.bytes(f.value);
      break;
    case 'string':
      w.string(f.value);
      break;
    case 'list':
      w.list(f.value, (lw, n) => lw.varuint(n));
      break;
  }
}

/** Reads a field of the same shape; `shape` only supplies kind, fixed length and maxBits. */
function readField(r: Reader, shape: Field): Field {
  switch (shape.kind) {
    case 'u8':
      return { kind: 'u8', value: r.u8() };
    case 'u16':
      return { kind: 'u16', value: r.u16() };
    case 'u32':
      return { kind: 'u32', value: r.u32() };
    case 'varuint':
      return { kind: 'varuint', value: r.varuint() };
    case 'varbig':
      return { kind: 'varbig', value: r.varbig(shape.maxBits), maxBits: shape.maxBits };
    case 'bool':
      return { kind: 'bool', value: r.bool() };
    case 'fixed':
      return { kind: 'fixed', value: r.fixed(shape.value.length) };
    case 'bytes':
      return { kind: 'bytes', value: r.bytes(MAX_LEN) };
    case 'string':
      return { kind: 'string', value: r.string(MAX_LEN) };
    case 'list':
      return { kind: 'list', value: r.list(MAX_ITEMS, (lr) => lr.varuint()) };
  }
}

const encodeFields = (fields: Field[]) =>
  encode((w) => {
    for (const f of fields) writeField(w, f);
  });
const decodeFields = (bytes: Uint8Array, shape: Field[]) =>
  decode(bytes, (r) => shape.map((f) => readField(r, f)));

function codecError(code?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof CivitasError, `expected CivitasError, got ${String(err)}`);
    if (code !== undefined) assert.equal(err.code, code, err.message);
    else assert.ok(err.code.startsWith('CODEC_'), err.code);
    return true;
  };
}

describe('round trips', () => {
  test('any sequence of primitives decodes to what was written', () => {
    fc.assert(
      fc.property(fc.array(fieldArb, { maxLength: 12 }), (fields) => {
        const bytes = encodeFields(fields);
        assert.deepEqual(decodeFields(bytes, fields), fields);
        // one encoding per value: re-encoding the decoded value gives the same bytes
        assert.deepEqual(encodeFields(decodeFields(bytes, fields)), bytes);
      }),
      { numRuns: 500 },
    );
  });

  test('fixed-width integers are big-endian and exactly sized', () => {
    assert.deepEqual(
      encode((w) => w.u16(0x0102).u32(0x03040506)),
      Uint8Array.from([1, 2, 3, 4, 5, 6]),
    );
  });

  test('varuint is unsigned LEB128', () => {
    const cases: [number, number[]][] = [
      [0, [0x00]],
      [1, [0x01]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [300, [0xac, 0x02]],
      [16384, [0x80, 0x80, 0x01]],
      [Number.MAX_SAFE_INTEGER, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ];
    for (const [n, bytes] of cases) {
      assert.deepEqual(
        encode((w) => w.varuint(n)),
        Uint8Array.from(bytes),
        String(n),
      );
      assert.equal(
        decode(Uint8Array.from(bytes), (r) => r.varuint()),
        n,
      );
    }
  });

  test('strings keep a leading BOM and every code point', () => {
    for (const s of ['\uFEFF', '\uFEFFabc', 'a\uFEFF', '😀', '\u0000', 'é', '\u{10FFFF}']) {
      const bytes = encode((w) => w.string(s));
      assert.equal(
        decode(bytes, (r) => r.string(16)),
        s,
        JSON.stringify(s),
      );
    }
  });

  test('encode() reuses one scratch writer safely: nested calls, throws, huge objects', () => {
    const inner = () => encode((w) => w.u8(7).bytes(new Uint8Array([1, 2])));
    // A nested encode must not clobber the outer object being written.
    const outer = encode((w) => w.u8(1).raw(inner()).u8(2));
    assert.deepEqual([...outer], [1, 7, 2, 1, 2, 2]);
    // A throwing encoder leaves the scratch usable, with nothing of its bytes left behind.
    assert.throws(() => encode((w) => w.u8(9).u8(300)), isCivitasError);
    assert.deepEqual([...encode((w) => w.u8(5))], [5]);
    // Results are copies: the next encode does not change an earlier result.
    const first = encode((w) => w.fixed(new Uint8Array(32).fill(0xaa), 32));
    encode((w) => w.fixed(new Uint8Array(32).fill(0xbb), 32));
    assert.ok(first.every((b) => b === 0xaa));
    // An object larger than the scratch grows it (and a huge one is not kept afterwards).
    const big = encode((w) => w.bytes(new Uint8Array(5 * 1024 * 1024).fill(3)));
    assert.equal(big.length, 5 * 1024 * 1024 + 4);
    assert.deepEqual([...encode((w) => w.u16(0x0102))], [1, 2]);
  });

  test('a Writer with zero initial capacity still grows', () => {
    const w = new Writer(0);
    w.u8(1).bytes(new Uint8Array(100));
    assert.equal(w.finish().length, 102);
  });
});

describe('decoded values are fresh and exact', () => {
  test('short ASCII strings read again (interned) are exactly the strings the bytes spell', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme-ascii', maxLength: 40 }), {
          minLength: 1,
          maxLength: 6,
        }),
        (strings) => {
          const bytes = encode((w) => {
            // Each string twice, and a same-length neighbour that differs in its last char.
            for (const s of strings) {
              const other = s.length === 0 ? 'x' : s.slice(0, -1) + (s.endsWith('a') ? 'b' : 'a');
              w.string(s).string(other).string(s);
            }
          });
          const read = decode(bytes, (r) =>
            strings.map(() => [r.string(64), r.string(64), r.string(64)]),
          );
          read.forEach(([a, other, b], i) => {
            assert.equal(a, strings[i]);
            assert.equal(b, strings[i]);
            assert.notEqual(other, strings[i]);
          });
        },
      ),
    );
  });

  test('an interned string never stands for non-ASCII bytes or another string', () => {
    const first = decode(
      encode((w) => w.string('bank')),
      (r) => r.string(64),
    );
    assert.equal(first, 'bank');
    // Same length, one byte changed, and a non-ASCII string of the same byte length.
    assert.equal(
      decode(
        encode((w) => w.string('banj')),
        (r) => r.string(64),
      ),
      'banj',
    );
    assert.equal(
      decode(
        encode((w) => w.string('bé')),
        (r) => r.string(64),
      ),
      'bé',
    );
    assert.equal(
      decode(
        encode((w) => w.string('bank')),
        (r) => r.string(64),
      ),
      'bank',
    );
    // Thousands of distinct strings (the table starts over when full) still read exactly.
    for (let i = 0; i < 10_000; i += 7) {
      const s = `m${i}`;
      assert.equal(
        decode(
          encode((w) => w.string(s)),
          (r) => r.string(64),
        ),
        s,
      );
    }
  });

  test('fixed and bytes are plain Uint8Array copies, from plain arrays and from Buffers', () => {
    const encoded = encode((w) =>
      w.fixed(new Uint8Array([1, 2, 3]), 3).bytes(new Uint8Array([4, 5])),
    );
    for (const input of [encoded.slice(), Buffer.from(encoded)]) {
      const [fixed, bytes] = decode(input, (r) => [r.fixed(3), r.bytes(8)] as const);
      assert.deepEqual([...fixed], [1, 2, 3]);
      assert.deepEqual([...bytes], [4, 5]);
      for (const out of [fixed, bytes]) {
        assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype);
        assert.notEqual(out.buffer, input.buffer);
      }
      input.fill(9);
      assert.deepEqual([...fixed], [1, 2, 3]);
    }
  });
});

describe('the Writer refuses values that have no encoding', () => {
  test('integers out of range', () => {
    const bad: [string, (w: Writer) => void][] = [
      ['u8 256', (w) => w.u8(256)],
      ['u8 -1', (w) => w.u8(-1)],
      ['u8 1.5', (w) => w.u8(1.5)],
      ['u8 NaN', (w) => w.u8(Number.NaN)],
      ['u16 65536', (w) => w.u16(65536)],
      ['u32 2^32', (w) => w.u32(2 ** 32)],
      ['varuint 2^53', (w) => w.varuint(2 ** 53)],
      ['varuint -1', (w) => w.varuint(-1)],
      ['varuint Infinity', (w) => w.varuint(Number.POSITIVE_INFINITY)],
      ['varbig -1', (w) => w.varbig(-1n)],
      ['varbig 2^128', (w) => w.varbig(1n << 128n)],
      ['varbig 2^64 at 64 bits', (w) => w.varbig(1n << 64n, 64)],
    ];
    for (const [name, write] of bad) {
      assert.throws(() => encode(write), codecError('CODEC_BAD_VALUE'), name);
    }
  });

  test('fixed bytes of the wrong length', () => {
    assert.throws(
      () => encode((w) => w.fixed(new Uint8Array(31), 32)),
      codecError('CODEC_BAD_LENGTH'),
    );
  });

  test('strings with a lone surrogate (they would encode as U+FFFD)', () => {
    for (const s of ['\uD800', 'a\uDC00', '\uDBFF', 'x\uD83D']) {
      assert.throws(() => encode((w) => w.string(s)), codecError('CODEC_BAD_VALUE'), s);
    }
  });
});

describe('the Reader refuses every non-canonical input', () => {
  test('non-minimal varuints: a redundant zero continuation group', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        const minimal = encode((w) => w.varuint(n));
        fc.pre(minimal.length < 8);
        const padded = Uint8Array.from([...minimal, 0]);
        padded[minimal.length - 1]! |= 0x80;
        assert.throws(
          () => decode(padded, (r) => r.varuint()),
          codecError('CODEC_NON_MINIMAL_INT'),
        );
      }),
    );
    assert.throws(
      () => decode(Uint8Array.from([0x80, 0x00]), (r) => r.varuint()),
      codecError('CODEC_NON_MINIMAL_INT'),
    );
  });

  test('varbig at every power-of-two boundary matches a reference LEB128 and reads back', () => {
    const reference = (n: bigint): number[] => {
      const out: number[] = [];
      do {
        const low = Number(n & 0x7fn);
        n >>= 7n;
        out.push(n > 0n ? low | 0x80 : low);
      } while (n > 0n);
      return out;
    };
    for (let k = 0; k <= 128; k++) {
      for (const n of [(1n << BigInt(k)) - 1n, 1n << BigInt(k), (1n << BigInt(k)) + 1n]) {
        if (n >= 1n << 128n) continue;
        const bytes = encode((w) => w.varbig(n));
        assert.deepEqual([...bytes], reference(n), `encoding of 2^${k} neighbour ${n}`);
        assert.equal(
          decode(bytes, (r) => r.varbig()),
          n,
        );
      }
    }
    // Within the byte budget of 64 bits (10 groups = 70 bits) but above 2^64 - 1.
    assert.throws(
      () => decode(Uint8Array.from(reference(1n << 64n)), (r) => r.varbig(64)),
      codecError('CODEC_VALUE_TOO_LARGE'),
    );
    // A narrow width on the Number path: 300 does not fit 8 bits.
    assert.throws(
      () => decode(Uint8Array.from(reference(300n)), (r) => r.varbig(8)),
      codecError('CODEC_VALUE_TOO_LARGE'),
    );
  });

  test('non-minimal varbigs', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 120n) - 1n }), (n) => {
        const minimal = encode((w) => w.varbig(n));
        const padded = Uint8Array.from([...minimal, 0]);
        padded[minimal.length - 1]! |= 0x80;
        assert.throws(() => decode(padded, (r) => r.varbig()), codecError('CODEC_NON_MINIMAL_INT'));
      }),
    );
  });

  test('varuint beyond 8 bytes, beyond 2^53, beyond max', () => {
    const nine = Uint8Array.from([0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01]);
    assert.throws(() => decode(nine, (r) => r.varuint()), codecError('CODEC_BAD_VARINT'));
    const twoTo53 = encode((w) => w.varbig(2n ** 53n));
    assert.throws(() => decode(twoTo53, (r) => r.varuint()), codecError('CODEC_VALUE_TOO_LARGE'));
    const big = encode((w) => w.varbig(2n ** 56n - 1n));
    assert.throws(() => decode(big, (r) => r.varuint()), codecError());
    assert.throws(
      () =>
        decode(
          encode((w) => w.varuint(1001)),
          (r) => r.varuint(1000),
        ),
      codecError('CODEC_VALUE_TOO_LARGE'),
    );
    assert.equal(
      decode(
        encode((w) => w.varuint(1000)),
        (r) => r.varuint(1000),
      ),
      1000,
    );
  });

  test('varbig bounds: 2^maxBits − 1 reads, 2^maxBits does not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), (maxBits) => {
        const top = (1n << BigInt(maxBits)) - 1n;
        const ok = encode((w) => w.varbig(top, maxBits));
        assert.equal(
          decode(ok, (r) => r.varbig(maxBits)),
          top,
        );
        const over = encode((w) => w.varbig(top + 1n, maxBits + 7));
        assert.throws(() => decode(over, (r) => r.varbig(maxBits)), codecError());
      }),
      { numRuns: 200 },
    );
  });

  test('trailing bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fieldArb, { maxLength: 6 }),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        (fields, extra) => {
          const bytes = Uint8Array.from([...encodeFields(fields), ...extra]);
          assert.throws(() => decodeFields(bytes, fields), codecError('CODEC_TRAILING_BYTES'));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('every strict prefix is truncated', () => {
    fc.assert(
      fc.property(fc.array(fieldArb, { minLength: 1, maxLength: 6 }), fc.nat(), (fields, cut) => {
        const bytes = encodeFields(fields);
        fc.pre(bytes.length > 0);
        const prefix = bytes.subarray(0, cut % bytes.length);
        assert.throws(() => decodeFields(prefix, fields), codecError('CODEC_TRUNCATED'));
      }),
      { numRuns: 500 },
    );
  });

  test('oversized byte strings and lists', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.nat(50), (max, over) => {
        const length = max + 1 + over;
        const bytes = encode((w) => w.bytes(new Uint8Array(length)));
        assert.throws(() => decode(bytes, (r) => r.bytes(max)), codecError('CODEC_TOO_LARGE'));
        const text = encode((w) => w.string('x'.repeat(length)));
        assert.throws(() => decode(text, (r) => r.string(max)), codecError('CODEC_TOO_LARGE'));
        const list = encode((w) => w.list(new Array(length).fill(0), (lw, n) => lw.u8(n)));
        assert.throws(
          () => decode(list, (r) => r.list(max, (lr) => lr.u8())),
          codecError('CODEC_TOO_LARGE'),
        );
      }),
      { numRuns: 100 },
    );
  });

  test('a list count larger than the remaining bytes is refused before looping', () => {
    const lie = encode((w) => w.varuint(Number.MAX_SAFE_INTEGER).u8(0));
    assert.throws(
      () => decode(lie, (r) => r.list(Number.MAX_SAFE_INTEGER, (lr) => lr.u8())),
      codecError('CODEC_TRUNCATED'),
    );
    const hugeBytes = encode((w) => w.varuint(2 ** 40));
    assert.throws(
      () => decode(hugeBytes, (r) => r.bytes(Number.MAX_SAFE_INTEGER)),
      codecError('CODEC_TRUNCATED'),
    );
  });

  test('bool is exactly 0 or 1', () => {
    assert.equal(
      decode(Uint8Array.of(0), (r) => r.bool()),
      false,
    );
    assert.equal(
      decode(Uint8Array.of(1), (r) => r.bool()),
      true,
    );
    for (let b = 2; b < 256; b++) {
      assert.throws(() => decode(Uint8Array.of(b), (r) => r.bool()), codecError('CODEC_BAD_VALUE'));
    }
  });

  test('invalid UTF-8 is CODEC_BAD_UTF8', () => {
    for (const raw of [
      [0xff],
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xe2, 0x82],
      [0xf4, 0x90, 0x80, 0x80],
    ]) {
      const bytes = encode((w) => w.bytes(Uint8Array.from(raw)));
      assert.throws(() => decode(bytes, (r) => r.string(16)), codecError('CODEC_BAD_UTF8'));
    }
  });

  test('expectVersion', () => {
    assert.doesNotThrow(() => decode(Uint8Array.of(1), (r) => expectVersion(r, 1, 'thing')));
    assert.throws(
      () => decode(Uint8Array.of(2), (r) => expectVersion(r, 1, 'thing')),
      codecError('CODEC_BAD_VERSION'),
    );
  });

  test('non-Uint8Array input is CODEC_BAD_INPUT', () => {
    assert.throws(() => new Reader([1, 2] as unknown as Uint8Array), codecError('CODEC_BAD_INPUT'));
  });
});

describe('hostile input', () => {
  test('random bytes under a random schema: only CODEC_ errors, and decoding terminates', () => {
    fc.assert(
      fc.property(
        fc.array(fieldArb, { minLength: 1, maxLength: 8 }),
        fc.uint8Array({ maxLength: 256 }),
        (shape, bytes) => {
          try {
            decodeFields(bytes, shape);
          } catch (err) {
            assert.ok(isCivitasError(err, 'CODEC_'), `unexpected error: ${String(err)}`);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('mutated valid encodings: decode to a valid value or fail with a CODEC_ error', () => {
    fc.assert(
      fc.property(
        fc.array(fieldArb, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (fields, at, xor) => {
          const bytes = encodeFields(fields).slice();
          fc.pre(bytes.length > 0);
          bytes[at % bytes.length]! ^= xor;
          try {
            const decoded = decodeFields(bytes, fields);
            // if it decodes, it is the canonical encoding of what it decoded to
            assert.deepEqual(encodeFields(decoded), bytes);
          } catch (err) {
            assert.ok(isCivitasError(err, 'CODEC_'), `unexpected error: ${String(err)}`);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('nested lists with lying counts stay bounded by the input size', () => {
    // Every level claims the maximum; the count check against remaining bytes stops it.
    const bytes = new Uint8Array(4096).fill(0x7f);
    const nested = (r: Reader, depth: number): unknown =>
      depth === 0 ? r.u8() : r.list(1_000_000, (lr) => nested(lr, depth - 1));
    assert.throws(() => decode(bytes, (r) => nested(r, 4)), codecError());
  });
});
