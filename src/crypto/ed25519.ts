/**
 * ed25519 signatures under ONE verification rule, implemented by three backends.
 *
 * The Civitas verification rule (docs/ARCHITECTURE.md, "Signature rule"):
 *   1. The public key A is 32 bytes and the signature 64 bytes (R || S).
 *   2. S is canonical: S < L (RFC 8032 §5.1.7). Rejects the S + L malleability.
 *   3. A is a canonical point encoding (y < p), decodes to a point on the curve, and is NOT
 *      of small order (one of the 8 torsion points). Rejects keys that verify anything.
 *   4. R is not an encoding of a small-order point (any of the 14 encodings of the 8 torsion
 *      points). OpenSSL 3.5 (Node 24) rejects small-order R while OpenSSL 3.0 and the plain
 *      cofactorless equation accept it (e.g. R = identity with S = k·a); banning it here keeps
 *      the verdict independent of the OpenSSL build. test/unit/crypto found this divergence.
 *   5. The cofactorless equation holds byte-exactly: encode([S]B − [k]A) == R, with
 *      k = SHA-512(R || A || M) mod L. A non-canonical R can never equal a fresh encoding, so
 *      non-canonical R is rejected as well.
 *
 * Rules 1–4 run in this module before any backend is asked, so backends cannot differ on
 * encodings (libsodium alone, for one, reads the first 64 bytes of a longer signature and
 * accepts it). Rule 5 is what each backend computes:
 *   - libsodium (`verifySodium`, sodium-native): crypto_sign_verify_detached, cofactorless
 *     with a byte compare of R (it also applies rules 2–4 itself, identically). About twice
 *     as fast as OpenSSL per core here.
 *   - OpenSSL (`verifyNodeCrypto`, node:crypto): ED25519_verify, the same equation.
 *   - @noble/curves (`verifyNoble`, portable: the client SDK, browsers): the same equation with
 *     noble's point arithmetic rather than `ed25519.verify` (which is cofactored and would
 *     accept R + T for a torsion T).
 * Mixed-order keys (prime-order part plus torsion) are accepted by all three the same way,
 * since all evaluate the identical cofactorless equation. `verifyNative` is the node's
 * verifier: libsodium when the addon loads (src/crypto/sodium.ts) unless
 * CIVITAS_CRYPTO_BACKEND=node, node:crypto otherwise; `nativeVerifier()` says which. Two
 * nodes that disagreed on a signature would split the chain; test/unit/crypto cross-checks
 * the three backends on vectors and mutations.
 *
 * node:crypto is reached through `process.getBuiltinModule`, not a static import, so this
 * module (which the client SDK imports for verifyNoble and key generation) loads in browsers.
 */
import type * as NodeCrypto from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { CivitasError } from '../errors/index.ts';
import { fromHex, latin1Key } from './bytes.ts';
import { loadSodium, nativeCryptoChoice, onNativeCryptoChange, requireSodium } from './sodium.ts';

export const PUBLIC_KEY_LENGTH = 32;
export const SECRET_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

/** Group order L and field prime p of edwards25519. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

/** `native` is whichever of sodium and node:crypto verifyNative uses (see nativeVerifier). */
export type VerifyBackend = 'native' | NativeVerifier | 'noble';
/** The backends verifyNative can use. */
export type NativeVerifier = 'sodium' | 'node:crypto';

const nodeCrypto = globalThis.process?.getBuiltinModule?.('node:crypto') as
  | typeof NodeCrypto
  | undefined;

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

function littleEndian(bytes: Uint8Array, from: number, to: number): bigint {
  let n = 0n;
  for (let i = to - 1; i >= from; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

export function generateKeyPair(): KeyPair {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  if (secretKey.length !== SECRET_KEY_LENGTH) {
    throw new CivitasError(
      'CRYPTO_BAD_SECRET_KEY',
      `secret key must be ${SECRET_KEY_LENGTH} bytes`,
    );
  }
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}

// L as 32 little-endian bytes, for rule 2 by byte comparison: this runs on every signature,
// and a BigInt conversion of S cost more (~8 µs) than the comparison it feeds.
const L_BYTES = Uint8Array.from({ length: 32 }, (_, i) => Number((L >> BigInt(8 * i)) & 0xffn));

/** Rule 2: S < L. */
export function isCanonicalSignature(signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH) return false;
  // Compare S (bytes 32..63, little-endian) with L from the most significant byte down.
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    const l = L_BYTES[i]!;
    if (s !== l) return s < l;
  }
  return false; // S = L
}

// Rule 3 needs a point decompression (a square root), so results are cached per key: senders
// and validators repeat. Bounded so a flood of fresh keys cannot grow memory.
const KEY_CACHE_MAX = 65_536;
const keyChecks = new Map<string, boolean>();
const nativeKeys = new Map<string, NodeCrypto.KeyObject>();

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= KEY_CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
  return value;
}

function keyId(publicKey: Uint8Array): string {
  return latin1Key(publicKey);
}

/** Rule 3: canonical encoding, on the curve, not small order. */
export function isAcceptablePublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  const id = keyId(publicKey);
  const known = keyChecks.get(id);
  if (known !== undefined) return known;
  const y = littleEndian(publicKey, 0, 32) & ((1n << 255n) - 1n);
  let ok = y < P;
  if (ok) {
    try {
      ok = !ed25519.Point.fromBytes(publicKey, false).isSmallOrder();
    } catch {
      ok = false;
    }
  }
  return remember(keyChecks, id, ok);
}

function nativeKey(crypto: typeof NodeCrypto, publicKey: Uint8Array): NodeCrypto.KeyObject {
  const id = keyId(publicKey);
  const cached = nativeKeys.get(id);
  if (cached !== undefined) return cached;
  // JWK rather than DER: OpenSSL imports the raw key either way, and Node's JWK path skips the
  // ASN.1 parse (36 vs 45 µs per new key here); every worker pays this once per sender.
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString(
    'base64url',
  );
  return remember(
    nativeKeys,
    id,
    crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }),
  );
}

// Rule 4: every encoding that decodes to a torsion point: the 8 canonical ones, x = -0 for the
// two points with x = 0, and y + p for the points with y = 0 and y = 1 (both signs). A byte
// list, not a decompression, because this runs on every signature.
const SMALL_ORDER_HEX = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];
const SMALL_ORDER_ENCODINGS = SMALL_ORDER_HEX.map((hex) => fromHex(hex));
// First bytes of the list: a random point's first byte rules it out 249 times in 256 without
// touching the other 31 bytes (this runs twice per signature: for R and for the key).
const SMALL_ORDER_FIRST_BYTES = new Set(SMALL_ORDER_ENCODINGS.map((e) => e[0]!));

/** Rule 4: R (the first half of the signature) is not a small-order point. */
export function isSmallOrderEncoding(point: Uint8Array): boolean {
  if (point.length !== 32 || !SMALL_ORDER_FIRST_BYTES.has(point[0]!)) return false;
  search: for (const encoding of SMALL_ORDER_ENCODINGS) {
    for (let i = 0; i < 32; i++) if (encoding[i] !== point[i]) continue search;
    return true;
  }
  return false;
}

/**
 * Rule 3 without the decompression: with y < p, a key is small-order iff its bytes are one of
 * the small-order encodings, and a key off the curve fails point decoding in every backend's
 * rule-5 check (OpenSSL's, libsodium's ge25519_frombytes, and fromBytes in verifyNoble), so
 * the verdict is the same.
 */
function isVerifiableKeyEncoding(publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  // y < p = 2^255 - 19, i.e. not (top byte & 0x7f = 0x7f, bytes 30..1 = 0xff, byte 0 >= 0xed).
  if ((publicKey[31]! & 0x7f) === 0x7f && publicKey[0]! >= 0xed) {
    let allOnes = true;
    for (let i = 1; i < 31 && allOnes; i++) allOnes = publicKey[i] === 0xff;
    if (allOnes) return false;
  }
  return !isSmallOrderEncoding(publicKey);
}

function passesEncodingRules(signature: Uint8Array, publicKey: Uint8Array): boolean {
  return (
    isCanonicalSignature(signature) &&
    !isSmallOrderEncoding(signature.subarray(0, 32)) &&
    isVerifiableKeyEncoding(publicKey)
  );
}

function unavailable(backend: NativeVerifier, cause: string): CivitasError {
  return new CivitasError('CRYPTO_BACKEND_UNAVAILABLE', `${backend} is not available here`, {
    backend,
    cause,
  });
}

/** OpenSSL through node:crypto (rule 5 is OpenSSL's cofactorless check). */
export function verifyNodeCrypto(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (nodeCrypto === undefined) throw unavailable('node:crypto', 'not running on Node');
  if (!passesEncodingRules(signature, publicKey)) return false;
  try {
    return nodeCrypto.verify(null, message, nativeKey(nodeCrypto, publicKey), signature);
  } catch {
    return false;
  }
}

/**
 * libsodium through sodium-native (rule 5 is crypto_sign_verify_detached's cofactorless
 * check). Throws CRYPTO_BACKEND_UNAVAILABLE when the addon cannot load: a caller that names
 * this backend must not get node:crypto's verdict in its place unknowingly.
 */
export function verifySodium(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  const sodium = requireSodium();
  if (!passesEncodingRules(signature, publicKey)) return false;
  try {
    return sodium.verifyDetached(signature, message, publicKey);
  } catch {
    return false;
  }
}

let nativeChoice: NativeVerifier | undefined;
onNativeCryptoChange(() => {
  nativeChoice = undefined;
});

/**
 * The backend verifyNative uses on this thread: sodium when the addon loads and
 * CIVITAS_CRYPTO_BACKEND (or setNativeCrypto) is not `node`, node:crypto otherwise. Loads the
 * addon on the first call.
 */
export function nativeVerifier(): NativeVerifier {
  nativeChoice ??=
    nativeCryptoChoice() === 'auto' && loadSodium() !== undefined ? 'sodium' : 'node:crypto';
  return nativeChoice;
}

/** The verify function of a backend, by name. */
export function verifierOf(
  backend: VerifyBackend,
): (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean {
  switch (backend) {
    case 'native':
      return verifyNative;
    case 'sodium':
      requireSodium();
      return verifySodium;
    case 'node:crypto':
      if (nodeCrypto === undefined) throw unavailable('node:crypto', 'not running on Node');
      return verifyNodeCrypto;
    case 'noble':
      return verifyNoble;
    default:
      throw new CivitasError('CRYPTO_BAD_BACKEND', 'no such signature backend', {
        backend: String(backend),
      });
  }
}

/** The node's verifier: the rule on the fastest native backend here (see nativeVerifier). */
export function verifyNative(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  return (nativeChoice ?? nativeVerifier()) === 'sodium'
    ? verifySodium(signature, message, publicKey)
    : verifyNodeCrypto(signature, message, publicKey);
}

/** Portable path: the same cofactorless equation with @noble/curves arithmetic. */
export function verifyNoble(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (!passesEncodingRules(signature, publicKey)) return false;
  try {
    const A = ed25519.Point.fromBytes(publicKey, false);
    const R = signature.subarray(0, 32);
    const S = littleEndian(signature, 32, 64);
    const h = sha512.create().update(R).update(publicKey).update(message).digest();
    const k = littleEndian(h, 0, 64) % L;
    const check = ed25519.Point.BASE.multiplyUnsafe(S).subtract(A.multiplyUnsafe(k));
    const encoded = check.toBytes();
    for (let i = 0; i < 32; i++) if (encoded[i] !== R[i]) return false;
    return true;
  } catch {
    return false;
  }
}

export function verify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  backend: VerifyBackend = 'native',
): boolean {
  return verifierOf(backend)(signature, message, publicKey);
}
