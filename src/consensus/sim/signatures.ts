/**
 * Signature schemes for simulated validators. `ed25519` is the real thing (Civitas' rule,
 * native backend). `fake` is a deterministic stand-in that costs one SHA-256 per sign or
 * verify, so bulk seeds run ~100× faster: signature = SHA-256(tag ‖ publicKey ‖ message) ‖
 * 32 zero bytes. Anyone who knows a public key could forge it, so it only stands in for
 * ed25519 because simulated Byzantine code never calls `sign` with another replica's key;
 * the forgeries they send are the ones a real adversary could make (wrong keys, flipped bits).
 */

import { createHash, createPrivateKey, sign as nodeSign } from 'node:crypto';
import { utf8 } from '../../crypto/bytes.ts';
import { keyPairFromSecret, verifyNative } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';

export type SignatureSchemeName = 'fake' | 'ed25519';

export interface SimKey {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export interface SignatureScheme {
  readonly name: SignatureSchemeName;
  key(seed: number, index: number): SimKey;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

const FAKE_TAG = utf8.encode('civitas/sim-fake-signature');

// node:crypto rather than @noble/hashes: this hash is the whole cost of a fake signature,
// and OpenSSL's per-call overhead is several times lower for 100-byte inputs.
function fakeSignature(publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(createHash('sha256').update(FAKE_TAG).update(publicKey).update(message).digest());
  return out;
}

function secretFor(seed: number, index: number): Uint8Array {
  return sha256(utf8.encode(`civitas/sim-validator/${seed}/${index}`));
}

// In one process every replica checks the same decoded signature against the same signing
// hash (messages and their hashes are shared objects), so results are remembered by object
// identity: exact, and it removes n−1 of every n hash computations.
const verified = new WeakMap<
  Uint8Array,
  { message: Uint8Array; publicKey: Uint8Array; ok: boolean }
>();

export const fakeScheme: SignatureScheme = {
  name: 'fake',
  key(seed, index) {
    const publicKey = sha256(secretFor(seed, index));
    return { publicKey, sign: (message) => fakeSignature(publicKey, message) };
  },
  verify(signature, message, publicKey) {
    const hit = verified.get(signature);
    if (hit !== undefined && hit.message === message && hit.publicKey === publicKey) return hit.ok;
    let ok = signature.length === 64;
    if (ok) {
      const expected = fakeSignature(publicKey, message);
      for (let i = 0; i < 64 && ok; i++) ok = signature[i] === expected[i];
    }
    verified.set(signature, { message, publicKey, ok });
    return ok;
  },
};

const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

/**
 * Real ed25519, signing through OpenSSL (RFC 8032 signatures are deterministic, so this is
 * byte-identical to the portable signer, several times faster) and verifying under the
 * Civitas rule (native backend).
 */
export const ed25519Scheme: SignatureScheme = {
  name: 'ed25519',
  key(seed, index) {
    const pair = keyPairFromSecret(secretFor(seed, index));
    const der = Buffer.concat([PKCS8_ED25519_PREFIX, pair.secretKey]);
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return {
      publicKey: pair.publicKey,
      sign: (message) => new Uint8Array(nodeSign(null, message, privateKey)),
    };
  },
  verify: verifyNative,
};

export function signatureScheme(name: SignatureSchemeName): SignatureScheme {
  return name === 'ed25519' ? ed25519Scheme : fakeScheme;
}
