/**
 * ed25519 conformance: the Civitas verification rule (src/crypto/ed25519.ts) on published and
 * generated vectors, on ALL THREE backends, plus a randomized cross-check that the backends
 * never disagree. Two nodes that disagree on one signature split the chain, so every vector is
 * run through verifySodium (libsodium), verifyNodeCrypto (OpenSSL) and verifyNoble
 * (@noble/curves), and through verifyNative (whichever of the first two this node uses), and
 * all must give the same, expected verdict. libsodium must load here: a cross-check that
 * skipped it would pass without checking the node's own verifier.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  isAcceptablePublicKey,
  isCanonicalSignature,
  isSmallOrderEncoding,
  keyPairFromSecret,
  nativeVerifier,
  sign,
  type VerifyBackend,
  verifierOf,
  verify,
  verifyNative,
  verifyNoble,
  verifyNodeCrypto,
  verifySodium,
} from '../../../src/crypto/ed25519.ts';
import { loadSodium, sodiumStatus } from '../../../src/crypto/sodium.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { EDGE_FIXTURE_PATH, generateEdgeFixture } from '../../fixtures/generate-ed25519-edge.ts';
import {
  challenge,
  equationFacts,
  hex,
  L,
  mod,
  Point,
  scalarFromBytes,
  scalarToBytes,
  smallOrderEncodings,
  TORSION,
  unhex,
} from './ed25519-reference.ts';

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

function allBackends(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) {
  return {
    sodium: verifySodium(signature, message, publicKey),
    nodeCrypto: verifyNodeCrypto(signature, message, publicKey),
    noble: verifyNoble(signature, message, publicKey),
    native: verifyNative(signature, message, publicKey),
  };
}

function assertVerdict(
  label: string,
  expected: boolean,
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): void {
  const got = allBackends(signature, message, publicKey);
  assert.deepEqual(
    got,
    { sodium: expected, nodeCrypto: expected, noble: expected, native: expected },
    `${label}: expected ${expected}`,
  );
}

test('libsodium loads on this machine, and verifyNative uses it', () => {
  assert.ok(loadSodium() !== undefined, `sodium-native did not load: ${sodiumStatus().error}`);
  assert.equal(nativeVerifier(), 'sodium');
});

describe('RFC 8032 §7.1 test vectors', () => {
  const rfc = fixture<{
    vectors: {
      name: string;
      secretKey: string;
      publicKey: string;
      message: string;
      signature: string;
      expected: boolean;
    }[];
  }>('ed25519-rfc8032.json');

  test('the fixture holds the five published vectors', () => {
    assert.deepEqual(
      rfc.vectors.map((v) => v.name),
      ['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)'],
    );
    assert.equal(unhex(rfc.vectors[3]!.message).length, 1023);
  });

  for (const v of rfc.vectors) {
    test(`${v.name}: key derivation and signing reproduce the published bytes`, () => {
      const keys = keyPairFromSecret(unhex(v.secretKey));
      assert.equal(hex(keys.publicKey), v.publicKey);
      assert.equal(hex(sign(unhex(v.message), keys.secretKey)), v.signature);
    });

    test(`${v.name}: every backend accepts; a flipped bit anywhere is rejected`, () => {
      const sig = unhex(v.signature);
      const msg = unhex(v.message);
      const pk = unhex(v.publicKey);
      assertVerdict(v.name, v.expected, sig, msg, pk);
      for (const [what, bytes] of [
        ['signature', sig],
        ['publicKey', pk],
        ['message', msg],
      ] as const) {
        if (bytes.length === 0) continue;
        for (const bit of [0, 7, bytes.length * 4 + 3, bytes.length * 8 - 1]) {
          const mutated = bytes.slice();
          mutated[bit >> 3]! ^= 1 << (bit & 7);
          const args: [Uint8Array, Uint8Array, Uint8Array] =
            what === 'signature'
              ? [mutated, msg, pk]
              : what === 'publicKey'
                ? [sig, msg, mutated]
                : [sig, mutated, pk];
          assertVerdict(`${v.name} ${what} bit ${bit}`, false, ...args);
        }
      }
    });
  }
});

describe('published edge cases ("Taming the many EdDSAs", C2SP CCTV)', () => {
  const published = fixture<{
    speccheck: {
      index: number;
      message: string;
      publicKey: string;
      signature: string;
      published: string;
      expected: boolean;
    }[];
    cctv: { number: number; key: string; sig: string; msg: string; expected: boolean }[];
  }>('ed25519-speccheck.json');

  test('Chalkias et al. vectors 0–11 give the Civitas verdict on every backend', () => {
    assert.equal(published.speccheck.length, 12);
    for (const v of published.speccheck) {
      assertVerdict(
        `speccheck #${v.index} (${v.published})`,
        v.expected,
        unhex(v.signature),
        unhex(v.message),
        unhex(v.publicKey),
      );
    }
  });

  test('CCTV vectors give the Civitas verdict on every backend', () => {
    for (const v of published.cctv) {
      assertVerdict(
        `cctv #${v.number}`,
        v.expected,
        unhex(v.sig),
        new TextEncoder().encode(v.msg),
        unhex(v.key),
      );
    }
  });

  test('the published set exercises both verdicts', () => {
    const all = [...published.speccheck, ...published.cctv].map((v) => v.expected);
    assert.ok(all.includes(true) && all.includes(false));
  });
});

describe('generated edge cases (test/fixtures/ed25519-edge.json)', () => {
  interface EdgeVector {
    name: string;
    category: string;
    publicKey: string;
    message: string;
    signature: string;
    expected: boolean;
    facts: { cofactorless: boolean; pointEquation: boolean; cofactored: boolean };
  }
  const edge = fixture<{ vectors: EdgeVector[] }>('ed25519-edge.json');

  test('every vector gives the expected verdict on every backend', () => {
    for (const v of edge.vectors) {
      assertVerdict(
        `${v.category}: ${v.name}`,
        v.expected,
        unhex(v.signature),
        unhex(v.message),
        unhex(v.publicKey),
      );
    }
  });

  test('the fixture is exactly what the generator produces (no hand edits)', () => {
    assert.equal(generateEdgeFixture(), readFileSync(EDGE_FIXTURE_PATH, 'utf8'));
  });

  test('recorded equation facts match the reference arithmetic', () => {
    // The facts say why each vector matters: e.g. small-order A vectors satisfy the
    // cofactorless equation, so only the key rule rejects them.
    for (const v of edge.vectors) {
      assert.deepEqual(
        equationFacts(unhex(v.signature), unhex(v.message), unhex(v.publicKey)),
        v.facts,
        v.name,
      );
    }
  });

  test('coverage: every category the rule distinguishes is present', () => {
    const categories = new Set(edge.vectors.map((v) => v.category));
    for (const c of [
      'valid',
      's-non-canonical',
      'small-order-A',
      'non-canonical-A',
      'small-order-R',
      'r-identity',
      'non-canonical-R',
      'mixed-order-A',
      'mixed-order-R',
      'off-curve',
      'length',
    ]) {
      assert.ok(categories.has(c), `missing category ${c}`);
    }
    // All 14 small-order encodings appear as A, and each non-canonical one as R.
    const smallA = new Set(
      edge.vectors.filter((v) => v.name.startsWith('small-order-A ')).map((v) => v.publicKey),
    );
    for (const e of smallOrderEncodings()) assert.ok(smallA.has(e.hex), `A = ${e.hex}`);
    const rs = new Set(edge.vectors.map((v) => v.signature.slice(0, 64)));
    for (const e of smallOrderEncodings()) assert.ok(rs.has(e.hex), `R = ${e.hex}`);
  });

  test('the rule is stricter than the bare equation exactly where it says', () => {
    // Vectors that satisfy the cofactorless equation but are rejected: S ≥ L, small-order A,
    // small-order R. Everything accepted satisfies the equation.
    for (const v of edge.vectors) {
      if (v.expected) assert.ok(v.facts.cofactorless, v.name);
      if (v.facts.cofactorless && !v.expected) {
        assert.ok(
          [
            's-non-canonical',
            'small-order-A',
            'non-canonical-A',
            'small-order-R',
            'r-identity',
          ].includes(v.category),
          `${v.name} satisfies the equation and is rejected by no stated rule`,
        );
      }
    }
  });
});

describe('rule building blocks', () => {
  test('the small-order R blocklist is exactly the 14 encodings of the torsion points', () => {
    const encodings = smallOrderEncodings();
    assert.equal(new Set(encodings.map((e) => e.hex)).size, 14);
    for (const e of encodings) assert.ok(isSmallOrderEncoding(unhex(e.hex)), e.hex);
    // Points with a prime-order part are never on the list, whatever their torsion part.
    for (let i = 0; i < 8; i++) {
      const p = Point.BASE.multiplyUnsafe(BigInt(1000 + i)).add(TORSION[i]!);
      assert.equal(isSmallOrderEncoding(p.toBytes()), false);
    }
    assert.equal(isSmallOrderEncoding(new Uint8Array(31)), false);
  });

  test('isCanonicalSignature: S < L exactly', () => {
    const R = new Uint8Array(32);
    const withS = (s: bigint) => new Uint8Array([...R, ...scalarToBytes(s)]);
    assert.equal(isCanonicalSignature(withS(0n)), true);
    assert.equal(isCanonicalSignature(withS(L - 1n)), true);
    assert.equal(isCanonicalSignature(withS(L)), false);
    assert.equal(isCanonicalSignature(withS(2n ** 256n - 1n)), false);
    assert.equal(isCanonicalSignature(new Uint8Array(63)), false);
  });

  test('isAcceptablePublicKey: canonical, on the curve, not small order', () => {
    const keys = keyPairFromSecret(new Uint8Array(32).fill(7));
    assert.equal(isAcceptablePublicKey(keys.publicKey), true);
    assert.equal(isAcceptablePublicKey(keys.publicKey), true, 'cached answer is the same');
    for (const e of smallOrderEncodings()) assert.equal(isAcceptablePublicKey(unhex(e.hex)), false);
    assert.equal(isAcceptablePublicKey(new Uint8Array(33)), false);
  });

  test('verify() and verifierOf() dispatch to the named backend', () => {
    const keys = keyPairFromSecret(new Uint8Array(32).fill(9));
    const msg = new TextEncoder().encode('dispatch');
    const sig = sign(msg, keys.secretKey);
    assert.equal(verify(sig, msg, keys.publicKey), true);
    for (const backend of ['native', 'sodium', 'node:crypto', 'noble'] as const) {
      assert.equal(verify(sig, msg, keys.publicKey, backend), true, backend);
      assert.equal(verify(sig, msg.subarray(1), keys.publicKey, backend), false, backend);
    }
    assert.equal(verifierOf('sodium'), verifySodium);
    assert.equal(verifierOf('node:crypto'), verifyNodeCrypto);
    assert.equal(verifierOf('noble'), verifyNoble);
    assert.equal(verifierOf('native'), verifyNative);
    assert.throws(
      () => verifierOf('openssl' as VerifyBackend),
      (err: unknown) => isCivitasError(err) && err.code === 'CRYPTO_BAD_BACKEND',
    );
  });

  test('the encoding rules stand in front of libsodium: alone it would split the chain', () => {
    // libsodium reads the first 64 bytes of a longer signature and accepts it, and throws on
    // a short signature or key: only rule 1, checked first, makes its verdict the rule's.
    const sodium = loadSodium()!;
    const keys = keyPairFromSecret(new Uint8Array(32).fill(5));
    const msg = new TextEncoder().encode('rule one');
    const sig = sign(msg, keys.secretKey);
    const longer = new Uint8Array([...sig, 0]);
    assert.equal(sodium.verifyDetached(longer, msg, keys.publicKey), true, 'raw libsodium');
    assert.deepEqual(allBackends(longer, msg, keys.publicKey), {
      sodium: false,
      nodeCrypto: false,
      noble: false,
      native: false,
    });
    assert.throws(() => sodium.verifyDetached(sig.subarray(0, 63), msg, keys.publicKey));
    assert.throws(() => sodium.verifyDetached(sig, msg, keys.publicKey.subarray(1)));
    assert.equal(verifySodium(sig.subarray(0, 63), msg, keys.publicKey), false);
    assert.equal(verifySodium(sig, msg, keys.publicKey.subarray(1)), false);
  });
});

describe('cross-check: the backends agree on random signatures and mutations', () => {
  // Each run signs with a key that may carry a torsion component and a nonce point that may
  // too, then applies a mutation. All backends must agree, and must match the verdict the
  // construction predicts (see test/fixtures/generate-ed25519-edge.ts for the algebra).
  const mutation = fc.constantFrom(
    'none',
    'flip-signature-bit',
    'flip-key-bit',
    'flip-message-bit',
    's-plus-l',
    'r-plus-torsion',
    'a-plus-torsion',
    'small-order-r',
  );
  const scalarArb = fc.bigInt({ min: 1n, max: L - 1n });

  test('random keys, messages and mutations', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(
        scalarArb,
        scalarArb,
        fc.nat(7),
        fc.nat(7),
        fc.uint8Array({ maxLength: 200 }),
        mutation,
        fc.nat(),
        (a, r, ia, ir, message, kind, pick) => {
          // Most runs use clean points; a quarter carry torsion on A or R. 'small-order-r' signs
          // with R = [ir]T8 and a mixed-order A, which satisfies the bare equation 1 time in 8.
          const smallR = kind === 'small-order-r';
          if (smallR) r = 0n;
          const torsionA = smallR ? 1 : pick % 4 === 0 ? ia : 0;
          const torsionR = smallR || pick % 4 === 1 ? ir : 0;
          const A = Point.BASE.multiplyUnsafe(a).add(TORSION[torsionA]!);
          const Rp = Point.BASE.multiplyUnsafe(r).add(TORSION[torsionR]!);
          let pk = A.toBytes();
          const rBytes = Rp.toBytes();
          const k = challenge(rBytes, pk, message);
          let sig = new Uint8Array([...rBytes, ...scalarToBytes(mod(r + k * a, L))]);
          let msg = message;
          let predicted: boolean | undefined = Number(mod(-k * BigInt(torsionA), 8n)) === torsionR;
          const bit = pick % 256;
          switch (kind) {
            case 'flip-signature-bit':
              sig = sig.slice();
              sig[bit >> 2]! ^= 1 << (bit & 7);
              predicted = undefined;
              break;
            case 'flip-key-bit':
              pk = pk.slice();
              pk[bit >> 3]! ^= 1 << (bit & 7);
              predicted = false;
              break;
            case 'flip-message-bit':
              if (msg.length === 0) {
                msg = new Uint8Array([1]);
              } else {
                msg = msg.slice();
                msg[(pick >> 8) % msg.length]! ^= 1 << (bit & 7);
              }
              predicted = undefined;
              break;
            case 's-plus-l': {
              const S = scalarFromBytes(sig.subarray(32)) + L;
              sig = new Uint8Array([...sig.subarray(0, 32), ...scalarToBytes(S)]);
              predicted = false;
              break;
            }
            case 'r-plus-torsion':
              sig = new Uint8Array([
                ...Rp.add(TORSION[1 + (pick % 7)]!).toBytes(),
                ...sig.subarray(32),
              ]);
              predicted = false;
              break;
            case 'a-plus-torsion':
              pk = A.add(TORSION[1 + (pick % 7)]!).toBytes();
              predicted = undefined;
              break;
            case 'small-order-r':
              predicted = false; // rule 4
              break;
          }
          const got = allBackends(sig, msg, pk);
          const native = got.native;
          assert.deepEqual(
            got,
            { sodium: native, nodeCrypto: native, noble: native, native },
            `backends disagree (${kind})`,
          );
          if (predicted !== undefined)
            assert.equal(native, predicted, `unexpected verdict (${kind})`);
          if (native) accepted++;
          else rejected++;
        },
      ),
      { numRuns: 2000 },
    );
    // The mix must exercise both verdicts or the agreement means little.
    assert.ok(accepted > 50 && rejected > 50, `accepted ${accepted}, rejected ${rejected}`);
  });

  test('valid signatures from honest keys always verify on every backend', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        (secret, message) => {
          const keys = keyPairFromSecret(secret);
          const sig = sign(message, keys.secretKey);
          assert.deepEqual(allBackends(sig, message, keys.publicKey), {
            sodium: true,
            nodeCrypto: true,
            noble: true,
            native: true,
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});
