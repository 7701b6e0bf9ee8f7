/** Byte helpers. Bytes are Uint8Array everywhere; hex appears only at the edges. */
import { CivitasError } from '../errors/index.ts';

const HEX_RE = /^(0x)?([0-9a-fA-F]{2})*$/;

/**
 * Node's Buffer when there is one (the node; the SDK on Node), else undefined (the SDK in a
 * browser): the helpers below use Buffer's native codecs where they can, plain code elsewhere.
 */
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
type Slice = (this: Uint8Array, start: number, end: number) => string;

const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// Buffer's own hex encoder, called on a plain Uint8Array: no Buffer view per call (receipts
// carry hex addresses, so a block's execution calls this for every transfer).
const hexSlice: Slice =
  (NodeBuffer?.prototype as unknown as { hexSlice?: Slice } | undefined)?.hexSlice ??
  function (this: Uint8Array, start: number, end: number): string {
    let out = '';
    for (let i = start; i < end; i++) out += HEX_DIGITS[this[i]!];
    return out;
  };

export function toHex(bytes: Uint8Array): string {
  return hexSlice.call(bytes, 0, bytes.length);
}

function decodeHex(body: string): Uint8Array {
  if (NodeBuffer !== undefined) return new Uint8Array(NodeBuffer.from(body, 'hex'));
  const out = new Uint8Array(body.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(body.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Parses hex (optional 0x prefix). Throws BYTES_BAD_HEX; with `length`, BYTES_BAD_LENGTH. */
export function fromHex(hex: string, length?: number): Uint8Array {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) {
    throw new CivitasError('BYTES_BAD_HEX', 'expected an even-length hex string');
  }
  const body = hex.startsWith('0x') ? hex.slice(2) : hex;
  const out = decodeHex(body);
  if (length !== undefined && out.length !== length) {
    throw new CivitasError('BYTES_BAD_LENGTH', `expected ${length} bytes, got ${out.length}`, {
      expected: length,
      actual: out.length,
    });
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic order, shorter-prefix first: the order of keys in LevelDB and in Merkle leaves. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export const utf8 = {
  encode: (s: string): Uint8Array => new TextEncoder().encode(s),
  decode: (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: true }).decode(b),
};

// Buffer's own latin1 decoder, called on a plain Uint8Array: no Buffer view is allocated
// (2.5× faster than Buffer.from(…).toString('latin1') on 25-byte keys).
const latin1Slice: Slice =
  (NodeBuffer?.prototype as unknown as { latin1Slice?: Slice } | undefined)?.latin1Slice ??
  function (this: Uint8Array, start: number, end: number): string {
    let out = '';
    for (let i = start; i < end; i++) out += String.fromCharCode(this[i]!);
    return out;
  };

/** A map key for bytes: latin1 maps each byte to one char, cheaper than hex. */
export function latin1Key(bytes: Uint8Array): string {
  return latin1Slice.call(bytes, 0, bytes.length);
}
