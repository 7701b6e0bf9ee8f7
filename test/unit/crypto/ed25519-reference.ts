/**
 * Reference arithmetic for the ed25519 conformance tests and the fixture generator.
 *
 * None of this is the production rule: it is deliberately lenient (any y < 2^255, x = -0
 * allowed, small-order keys allowed, S reduced mod L) so a test can say WHY a vector is
 * interesting: "the equation holds, yet the Civitas rule rejects it because of the encoding",
 * or "a cofactored verifier would accept this, the cofactorless rule does not".
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';

export type Point = InstanceType<typeof ed25519.Point>;
export const Point = ed25519.Point;

export const L = 2n ** 252n + 27742317777372353535851937790883648493n;
export const P = 2n ** 255n - 19n;

export function scalarFromBytes(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

export function scalarToBytes(n: bigint, length = 32): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  if (n !== 0n) throw new Error('scalar does not fit');
  return out;
}

export function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** k = SHA-512(R || A || M) mod L over the bytes exactly as given (RFC 8032 §5.1.7 step 2). */
export function challenge(rBytes: Uint8Array, aBytes: Uint8Array, message: Uint8Array): bigint {
  const h = sha512.create().update(rBytes).update(aBytes).update(message).digest();
  return mod(scalarFromBytes(h), L);
}

/** [n]Q for any n (reduced mod L only when Q is in the prime-order subgroup is NOT assumed). */
export function mul(point: Point, n: bigint): Point {
  // multiplyUnsafe takes 0 <= n < L; for points with a torsion part, [n]Q depends on n mod 8L,
  // so reduce mod 8L and split into two in-range multiplications.
  let r = mod(n, 8n * L);
  let acc = Point.ZERO;
  while (r >= L) {
    acc = acc.add(point.multiplyUnsafe(L - 1n)).add(point);
    r -= L;
  }
  return acc.add(point.multiplyUnsafe(r));
}

/** The order-8 generator of the torsion subgroup (canonical encoding, x even). */
export const TORSION_GENERATOR = Point.fromHex(
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
);

/** The 8 small-order points, [i]T8 for i = 0..7. Index 0 is the identity. */
export const TORSION: readonly Point[] = Array.from({ length: 8 }, (_, i) =>
  mul(TORSION_GENERATOR, BigInt(i)),
);

export function pointOrder(point: Point): number {
  let q = point;
  for (let order = 1; order <= 8; order *= 2) {
    if (q.is0()) return order;
    q = q.double();
  }
  throw new Error('not a small-order point');
}

/** Index i with T = [i]T8, or -1 when `point` is not a torsion point. */
export function torsionIndex(point: Point): number {
  return TORSION.findIndex((t) => t.equals(point));
}

/**
 * Every encoding that lenient decoding maps to a small-order point: the 8 canonical ones plus
 * the 6 non-canonical ones (x = -0 for the two points with x = 0; y + p for the points whose
 * y < 19, i.e. y = 0 (order 4, both signs) and y = 1 (identity, both signs)).
 */
export function smallOrderEncodings(): { hex: string; canonical: boolean; index: number }[] {
  const out: { hex: string; canonical: boolean; index: number }[] = [];
  for (let i = 0; i < 8; i++) {
    const bytes = TORSION[i]!.toBytes();
    out.push({ hex: hex(bytes), canonical: true, index: i });
  }
  const nonCanonical: Uint8Array[] = [];
  for (const i of [0, 4]) {
    // identity (y = 1) and the order-2 point (y = -1) have x = 0: set the sign bit anyway
    const b = TORSION[i]!.toBytes();
    b[31] |= 0x80;
    nonCanonical.push(b);
  }
  for (const y of [0n, 1n]) {
    for (const sign of [0, 0x80]) {
      const b = scalarToBytes(y + P);
      b[31] |= sign;
      nonCanonical.push(b);
    }
  }
  for (const b of nonCanonical) {
    const index = torsionIndex(Point.fromBytes(b, true));
    if (index < 0) throw new Error('non-canonical encoding is not small order');
    out.push({ hex: hex(b), canonical: false, index });
  }
  return out;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

function decodeLenient(bytes: Uint8Array): Point | undefined {
  if (bytes.length !== 32) return undefined;
  try {
    return Point.fromBytes(bytes, true);
  } catch {
    return undefined;
  }
}

export interface EquationFacts {
  /** encode([S mod L]B − [k]A) == R bytes, A decoded leniently: what ref10/OpenSSL compute. */
  cofactorless: boolean;
  /** [S mod L]B − [k]A == decode(R) as points (a ZIP-215-style decode-and-compare). */
  pointEquation: boolean;
  /** [8]([S mod L]B − R − [k]A) == 0: what a cofactored verifier accepts. */
  cofactored: boolean;
}

/** The verification equations with every encoding rule switched off. */
export function equationFacts(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): EquationFacts {
  const none = { cofactorless: false, pointEquation: false, cofactored: false };
  if (signature.length !== 64) return none;
  const A = decodeLenient(publicKey);
  if (A === undefined) return none;
  const rBytes = signature.subarray(0, 32);
  const S = mod(scalarFromBytes(signature.subarray(32)), L);
  const k = challenge(rBytes, publicKey, message);
  const lhs = Point.BASE.multiplyUnsafe(S).subtract(mul(A, k));
  const cofactorless = hex(lhs.toBytes()) === hex(rBytes);
  const R = decodeLenient(rBytes);
  if (R === undefined) return { cofactorless, pointEquation: false, cofactored: false };
  return {
    cofactorless,
    pointEquation: lhs.equals(R),
    cofactored: lhs.subtract(R).clearCofactor().is0(),
  };
}
