/**
 * The strict decoder, the mirror of `writer.ts`. It accepts exactly the bytes the writer
 * produces and nothing else: truncation, trailing bytes, non-minimal varints, oversized
 * lengths, and out-of-range values are typed `CODEC_*` errors. Sizes are checked against the
 * bytes actually remaining before anything is allocated, so hostile lengths cannot make the
 * decoder allocate or loop beyond its input.
 */
import { CivitasError } from '../errors/index.ts';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const BIG_LIMITS = new Map<number, bigint>();

/** 2^bits as a BigInt, computed once per width. */
export function bigLimit(bits: number): bigint {
  let limit = BIG_LIMITS.get(bits);
  if (limit === undefined) {
    limit = 1n << BigInt(bits);
    BIG_LIMITS.set(bits, limit);
  }
  return limit;
}

/**
 * Short ASCII strings decoded before, by a hash of their bytes. Module and method names,
 * chain ids and event names repeat in every tx and receipt; a string built afresh for each
 * was a chain of one-character concatenations, all garbage. A hit is compared char by char
 * with the bytes, so it returns exactly the string the bytes spell. Bounded: when full, the
 * table starts over.
 */
const INTERN_MAX_LENGTH = 32;
const INTERN_MAX_ENTRIES = 4_096;
const interned = new Map<number, string>();

/** FNV-1a over bytes [from, end); -1 when one is not ASCII (never interned). */
function asciiHash(buf: Uint8Array, from: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return -1;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h;
}

function intern(s: string, buf: Uint8Array, from: number, end: number): void {
  const h = asciiHash(buf, from, end);
  if (interned.has(h)) return; // another string with this hash keeps its place
  if (interned.size >= INTERN_MAX_ENTRIES) interned.clear();
  interned.set(h, s);
}

export class Reader {
  private readonly buf: Uint8Array;
  /** The input is a plain Uint8Array (not a Buffer), whose own slice() is a copy. */
  private readonly plain: boolean;
  private pos = 0;

  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array)) {
      throw new CivitasError('CODEC_BAD_INPUT', 'expected Uint8Array input');
    }
    // No DataView: u16/u32 are assembled from bytes, which saves an allocation per decode
    // (a block decodes thousands of small objects).
    this.buf = bytes;
    this.plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new CivitasError('CODEC_TRUNCATED', `truncated input reading ${what}`, {
        offset: this.pos,
        needed: n,
        remaining: this.remaining,
      });
    }
  }

  u8(): number {
    this.need(1, 'u8');
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2, 'u16');
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4, 'u32');
    const b = this.buf;
    const p = this.pos;
    const v = b[p]! * 0x100_0000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
    this.pos += 4;
    return v;
  }

  varuint(max = Number.MAX_SAFE_INTEGER): number {
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i >= 8) throw new CivitasError('CODEC_BAD_VARINT', 'varint too long', { offset: start });
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) {
          throw new CivitasError('CODEC_NON_MINIMAL_INT', 'non-minimal varint', { offset: start });
        }
        break;
      }
      scale *= 0x80;
    }
    if (result > max || !Number.isSafeInteger(result)) {
      throw new CivitasError('CODEC_VALUE_TOO_LARGE', `value ${result} exceeds ${max}`, {
        offset: start,
        max,
      });
    }
    return result;
  }

  varbig(maxBits = 128): bigint {
    const start = this.pos;
    const maxBytes = Math.ceil(maxBits / 7);
    // The first 7 groups (49 bits) are summed as a Number: amounts and balances nearly always
    // fit, and a BigInt shift-or per byte allocated several BigInts per value decoded.
    let low = 0;
    let scale = 1;
    let big: bigint | undefined;
    let shift = 49n;
    for (let i = 0; ; i++) {
      if (i >= maxBytes) {
        throw new CivitasError('CODEC_BAD_VARINT', 'varint too long', { offset: start });
      }
      const byte = this.u8();
      if (i < 7) {
        low += (byte & 0x7f) * scale;
        scale *= 0x80;
      } else {
        big ??= BigInt(low);
        big |= BigInt(byte & 0x7f) << shift;
        shift += 7n;
      }
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) {
          throw new CivitasError('CODEC_NON_MINIMAL_INT', 'non-minimal varint', { offset: start });
        }
        break;
      }
    }
    const result = big ?? BigInt(low);
    if ((big !== undefined || maxBits < 49) && result >= bigLimit(maxBits)) {
      throw new CivitasError('CODEC_VALUE_TOO_LARGE', `value exceeds 2^${maxBits}-1`, {
        offset: start,
      });
    }
    return result;
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1)
      throw new CivitasError('CODEC_BAD_VALUE', 'bool must be 0 or 1', { offset: this.pos - 1 });
    return b === 1;
  }

  /** Fixed-length bytes. Returns a copy, so decoded objects never alias network buffers. */
  fixed(length: number): Uint8Array {
    this.need(length, `${length} bytes`);
    // A plain Uint8Array copy: a Buffer's own slice (LevelDB hands out Buffers) would alias,
    // so a Buffer is copied through a view; a plain input's slice() copies in one step.
    const out = this.plain
      ? this.buf.slice(this.pos, this.pos + length)
      : new Uint8Array(this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
    return out;
  }

  bytes(maxLength: number): Uint8Array {
    return this.fixed(this.byteStringLength(maxLength));
  }

  string(maxLength: number): string {
    const start = this.pos;
    const length = this.byteStringLength(maxLength);
    this.need(length, `${length} bytes`);
    const end = this.pos + length;
    // Short ASCII (chain ids, module and method names, codes) is built in place: its UTF-8 is
    // itself, and it skips a copy and a TextDecoder call per string.
    if (length <= INTERN_MAX_LENGTH) {
      const known = this.internedAscii(end, length);
      if (known !== undefined) {
        this.pos = end;
        return known;
      }
    }
    if (length <= 64) {
      let ascii = '';
      let i = this.pos;
      for (; i < end; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) break;
        ascii += String.fromCharCode(c);
      }
      if (i === end) {
        if (length <= INTERN_MAX_LENGTH) intern(ascii, this.buf, this.pos, end);
        this.pos = end;
        return ascii;
      }
    }
    try {
      // ignoreBOM keeps a leading U+FEFF in the value; the default strips it, which would let
      // "EF BB BF 61" and "61" decode to the same string: two encodings of one value.
      const value = UTF8.decode(this.buf.subarray(this.pos, end));
      this.pos = end;
      return value;
    } catch {
      throw new CivitasError('CODEC_BAD_UTF8', 'invalid UTF-8', { offset: start });
    }
  }

  /** The interned string the ASCII bytes [pos, end) spell, if one is known. */
  private internedAscii(end: number, length: number): string | undefined {
    const known = interned.get(asciiHash(this.buf, this.pos, end));
    if (known === undefined || known.length !== length) return undefined;
    const buf = this.buf;
    for (let i = 0, j = this.pos; j < end; i++, j++) {
      if (known.charCodeAt(i) !== buf[j]) return undefined;
    }
    return known;
  }

  /** The varint length of a byte string, checked against `maxLength`. */
  private byteStringLength(maxLength: number): number {
    const start = this.pos;
    const length = this.varuint();
    if (length > maxLength) {
      throw new CivitasError('CODEC_TOO_LARGE', `byte string of ${length} exceeds ${maxLength}`, {
        offset: start,
        length,
        maxLength,
      });
    }
    return length;
  }

  /** A list with a varint count, capped at `maxItems` and by the bytes remaining. */
  list<T>(maxItems: number, decodeItem: (r: Reader) => T): T[] {
    const start = this.pos;
    const count = this.varuint();
    if (count > maxItems) {
      throw new CivitasError('CODEC_TOO_LARGE', `list of ${count} exceeds ${maxItems} items`, {
        offset: start,
        count,
        maxItems,
      });
    }
    // Every item takes at least one byte; a count above that is a lie we refuse before looping.
    if (count > this.remaining) {
      throw new CivitasError('CODEC_TRUNCATED', 'list count exceeds remaining bytes', {
        offset: start,
      });
    }
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(decodeItem(this));
    return items;
  }

  /** Sub-slice view of the next n bytes (no copy), for hashing nested encodings. */
  slice(length: number): Uint8Array {
    this.need(length, `${length} bytes`);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** Asserts the input is fully consumed: trailing bytes are a different encoding. */
  end(): void {
    if (this.remaining !== 0) {
      throw new CivitasError('CODEC_TRAILING_BYTES', `${this.remaining} trailing bytes`, {
        offset: this.pos,
      });
    }
  }
}

/** Decodes a whole buffer: `fn` reads one object and any byte left over is an error. */
export function decode<T>(bytes: Uint8Array, fn: (r: Reader) => T): T {
  const r = new Reader(bytes);
  const value = fn(r);
  r.end();
  return value;
}

/** Reads and checks a version byte. */
export function expectVersion(r: Reader, expected: number, what: string): void {
  const v = r.u8();
  if (v !== expected) {
    throw new CivitasError('CODEC_BAD_VERSION', `${what}: unknown version ${v}`, {
      expected,
      actual: v,
    });
  }
}
