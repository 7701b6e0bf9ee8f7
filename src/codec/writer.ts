/**
 * The canonical encoder. Hand-written rather than a schema library because exactness is the
 * point: every hashed or signed object must have exactly one byte encoding, and this file
 * plus `reader.ts` are the whole definition of it (docs/ARCHITECTURE.md, "Encoding").
 *
 * Primitives: fixed-width u8/u16/u32 big-endian; unsigned LEB128 varints, always minimal;
 * byte strings with a varint length prefix; fixed-length byte strings with no prefix.
 */
import { CivitasError } from '../errors/index.ts';
import { bigLimit } from './reader.ts';

const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    // max(…, 16): doubling a zero capacity (new Writer(0)) would never grow.
    let cap = Math.max(this.buf.length * 2, 16);
    while (cap < this.pos + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(n: number): this {
    checkUint(n, 0xff, 'u8');
    this.ensure(1);
    this.buf[this.pos++] = n;
    return this;
  }

  u16(n: number): this {
    checkUint(n, 0xffff, 'u16');
    this.ensure(2);
    this.view.setUint16(this.pos, n);
    this.pos += 2;
    return this;
  }

  u32(n: number): this {
    checkUint(n, 0xffff_ffff, 'u32');
    this.ensure(4);
    this.view.setUint32(this.pos, n);
    this.pos += 4;
    return this;
  }

  /** Unsigned LEB128 of a safe integer (heights, nonces, counts, timestamps in ms). */
  varuint(n: number): this {
    checkUint(n, Number.MAX_SAFE_INTEGER, 'varuint');
    this.ensure(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
    return this;
  }

  /** Unsigned LEB128 of a bigint below 2^maxBits (amounts, balances). */
  varbig(n: bigint, maxBits = 128): this {
    if (typeof n !== 'bigint' || n < 0n || n >= bigLimit(maxBits)) {
      throw new CivitasError('CODEC_BAD_VALUE', `varbig out of range 0..2^${maxBits}-1`);
    }
    this.ensure(Math.ceil(maxBits / 7) + 1);
    // Values below 2^53 (nearly every amount) are written with Number arithmetic: a BigInt
    // mask and shift per 7 bits allocated two BigInts per byte.
    if (n <= MAX_SAFE_BIGINT) {
      let m = Number(n);
      while (m >= 0x80) {
        this.buf[this.pos++] = (m % 0x80) | 0x80;
        m = Math.floor(m / 0x80);
      }
      this.buf[this.pos++] = m;
      return this;
    }
    while (n >= 0x80n) {
      this.buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.pos++] = Number(n);
    return this;
  }

  bool(b: boolean): this {
    return this.u8(b ? 1 : 0);
  }

  /** Bytes of a length fixed by the schema: no prefix. */
  fixed(bytes: Uint8Array, length: number): this {
    if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
      throw new CivitasError('CODEC_BAD_LENGTH', `expected ${length} bytes`, {
        expected: length,
        actual: bytes?.length,
      });
    }
    this.ensure(length);
    this.buf.set(bytes, this.pos);
    this.pos += length;
    return this;
  }

  /** Variable-length bytes: varint length, then the bytes. */
  bytes(bytes: Uint8Array): this {
    this.varuint(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /**
   * UTF-8 of a well-formed string. A lone surrogate would be silently encoded as U+FFFD, so two
   * different strings would share one encoding (and one hash); refuse it instead.
   */
  string(s: string): this {
    if (typeof s !== 'string' || !s.isWellFormed()) {
      throw new CivitasError(
        'CODEC_BAD_VALUE',
        'string is not well-formed UTF-16 (lone surrogate)',
      );
    }
    // ASCII (chain ids, module names, codes, hex) is written in place: its UTF-8 is itself.
    const n = s.length;
    if (n < 0x80) {
      this.ensure(n + 1);
      const start = this.pos;
      this.buf[this.pos++] = n;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[this.pos++] = c;
      }
      if (i === n) return this;
      this.pos = start;
    }
    return this.bytes(UTF8_ENCODER.encode(s));
  }

  /** Raw bytes already in canonical form (e.g. a nested encoding whose length is framed). */
  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  list<T>(items: readonly T[], encodeItem: (w: Writer, item: T) => void): this {
    this.varuint(items.length);
    for (const item of items) encodeItem(this, item);
    return this;
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Forgets what was written; the buffer is kept for the next object. */
  reset(): void {
    this.pos = 0;
  }

  get capacity(): number {
    return this.buf.length;
  }
}

const UTF8_ENCODER = new TextEncoder();

function checkUint(n: number, max: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new CivitasError('CODEC_BAD_VALUE', `${what} out of range: ${n}`);
  }
}

// encode() writes into one reused scratch Writer and copies out the exact bytes: a fresh
// Writer per call cost two off-heap allocations (its buffer and the result), plus regrowth
// for large objects, on every tx, receipt, account and tree node of a block, and the garbage
// showed up as GC time in the validation benchmark. A nested encode() (an encoder calling
// encode() from inside fn) finds the scratch busy and gets a Writer of its own.
const SCRATCH_INITIAL = 64 * 1024;
// A scratch that grew past this for one huge object is dropped rather than kept for good.
const SCRATCH_KEEP_MAX = 4 * 1024 * 1024;
let scratch = new Writer(SCRATCH_INITIAL);
let scratchBusy = false;

export function encode(fn: (w: Writer) => void, initialCapacity?: number): Uint8Array {
  if (scratchBusy) {
    const w = new Writer(initialCapacity);
    fn(w);
    return w.finish();
  }
  scratchBusy = true;
  const w = scratch;
  try {
    w.reset();
    fn(w);
    return w.finish();
  } finally {
    if (w.capacity > SCRATCH_KEEP_MAX) scratch = new Writer(SCRATCH_INITIAL);
    scratchBusy = false;
  }
}
