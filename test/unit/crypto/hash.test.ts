import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../../src/crypto/bytes.ts';
import { nativeVerifier } from '../../../src/crypto/ed25519.ts';
import {
  DomainTag,
  HASH_LENGTH,
  type HashBackend,
  hashBackend,
  SODIUM_SHA256_MAX_INPUT,
  sha256,
  sha256With,
  taggedHash,
  taggedHashInto,
  taggedHashNoble,
  taggedHashWith,
} from '../../../src/crypto/hash.ts';
import { loadedSodium, setNativeCrypto } from '../../../src/crypto/sodium.ts';

const BACKENDS: readonly HashBackend[] = ['sodium', 'node:crypto', 'noble'];

const tags = Object.values(DomainTag);

/** Independent definition: SHA-256(SHA-256(tag) || data), computed with OpenSSL. */
function referenceTaggedHash(tag: string, data: Uint8Array): string {
  const prefix = createHash('sha256').update(tag, 'utf8').digest();
  return createHash('sha256').update(prefix).update(data).digest('hex');
}

test('sha256 matches the FIPS 180-2 "abc" vector and node:crypto', () => {
  assert.equal(
    toHex(sha256(new TextEncoder().encode('abc'))),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
      assert.equal(toHex(sha256(data)), createHash('sha256').update(data).digest('hex'));
    }),
    { numRuns: 200 },
  );
});

test('taggedHash = SHA-256(SHA-256(tag) || data) for every registered tag', () => {
  for (const tag of tags) {
    const data = new TextEncoder().encode(`payload for ${tag}`);
    const h = taggedHash(tag, data);
    assert.equal(h.length, HASH_LENGTH);
    assert.equal(toHex(h), referenceTaggedHash(tag, data));
  }
});

test('domain separation: the same data under different tags never collides', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
      const digests = tags.map((tag) => toHex(taggedHash(tag, data)));
      assert.equal(new Set(digests).size, tags.length);
      // and no tagged hash equals the untagged one
      assert.ok(!digests.includes(toHex(sha256(data))));
    }),
    { numRuns: 100 },
  );
});

test('tag registry: names and values are unique, versioned and namespaced', () => {
  assert.equal(new Set(tags).size, tags.length, 'a tag value is registered twice');
  for (const [name, value] of Object.entries(DomainTag)) {
    assert.match(value, /^civitas\/[a-z0-9-]+\/v[0-9]+$/, `${name} = ${value}`);
  }
});

test('the cached tag prefix is not mutated between calls', () => {
  const data = new Uint8Array([1, 2, 3]);
  const first = toHex(taggedHash(DomainTag.tx, data));
  taggedHash(DomainTag.tx, new Uint8Array(1000));
  assert.equal(toHex(taggedHash(DomainTag.tx, data)), first);
});

test('parts are concatenated without framing: callers must frame variable-length parts', () => {
  // Documents the contract rather than endorsing it: ("ab","c") and ("a","bc") hash alike,
  // so any object with two variable-length fields must length-prefix them (the codec does).
  const enc = new TextEncoder();
  assert.deepEqual(
    taggedHash(DomainTag.tx, enc.encode('ab'), enc.encode('c')),
    taggedHash(DomainTag.tx, enc.encode('a'), enc.encode('bc')),
  );
  assert.deepEqual(
    taggedHash(DomainTag.tx, enc.encode('abc')),
    taggedHash(DomainTag.tx, enc.encode('a'), enc.encode('b'), enc.encode('c')),
  );
});

test('taggedHash and taggedHashNoble agree, across the scratch-buffer size', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...tags),
      fc.array(fc.uint8Array({ maxLength: 9_000 }), { maxLength: 4 }),
      (tag, parts) => {
        const native = taggedHash(tag, ...parts);
        assert.equal(toHex(native), toHex(taggedHashNoble(tag, ...parts)));
        assert.equal(toHex(native), referenceTaggedHash(tag, concat(parts)));
        // A result is a plain Uint8Array of its own: slice() copies, no shared buffer.
        assert.equal(Object.getPrototypeOf(native), Uint8Array.prototype);
        const copy = native.slice();
        copy[0] = copy[0]! ^ 0xff;
        assert.notEqual(copy[0], native[0]);
      },
    ),
    { numRuns: 150 },
  );
});

test('a result is not overwritten by the next call (the input buffer is reused)', () => {
  const a = taggedHash(DomainTag.tx, new Uint8Array([1]));
  const before = toHex(a);
  taggedHash(DomainTag.tx, new Uint8Array(5_000).fill(7));
  assert.equal(toHex(a), before);
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// The hashing backends are cross-checked like the signature backends: a node whose hash
// differed on one input would compute other roots and split from the chain.

const FIPS_VECTORS: Array<[string, Uint8Array, string]> = [
  ['empty', new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  [
    'abc',
    new TextEncoder().encode('abc'),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  ],
  [
    '448-bit message',
    new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  ],
  [
    '896-bit message',
    new TextEncoder().encode(
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
    ),
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  ],
  [
    'one million a',
    new Uint8Array(1_000_000).fill(0x61),
    'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
  ],
];

test('published SHA-256 vectors (FIPS 180-2) on every backend', () => {
  for (const [name, data, digest] of FIPS_VECTORS) {
    for (const backend of BACKENDS) {
      assert.equal(toHex(sha256With(backend, data)), digest, `${name} on ${backend}`);
    }
    assert.equal(toHex(sha256(data)), digest, `${name} on sha256()`);
  }
});

/** Lengths around the block boundaries (55/56, 64, 119/120) and the libsodium threshold. */
const EDGE_LENGTHS = [0, 1, 31, 32, 55, 56, 63, 64, 65, 86, 87, 88, 118, 119, 120, 121, 183, 184];

test('the three backends agree on every length at a block or threshold edge', () => {
  assert.ok(EDGE_LENGTHS.includes(SODIUM_SHA256_MAX_INPUT));
  assert.ok(EDGE_LENGTHS.includes(SODIUM_SHA256_MAX_INPUT + 1));
  for (const length of EDGE_LENGTHS) {
    const data = Uint8Array.from({ length }, (_, i) => (i * 151 + length) & 0xff);
    const expected = createHash('sha256').update(data).digest('hex');
    for (const backend of BACKENDS) {
      assert.equal(toHex(sha256With(backend, data)), expected, `${length} bytes on ${backend}`);
    }
    // Tagged: the prefix adds 32 bytes, so these straddle the threshold as well.
    const tagged = referenceTaggedHash(DomainTag.stateInner, data);
    for (const backend of BACKENDS) {
      assert.equal(
        toHex(taggedHashWith(backend, DomainTag.stateInner, data)),
        tagged,
        `tagged ${length} bytes on ${backend}`,
      );
    }
  }
});

test('generated inputs: the three backends agree, in parts and whole', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...tags),
      fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 4 }),
      fc.uint8Array({ maxLength: 20_000 }),
      (tag, parts, data) => {
        const tagged = referenceTaggedHash(tag, concat(parts));
        const plain = createHash('sha256').update(data).digest('hex');
        for (const backend of BACKENDS) {
          assert.equal(toHex(taggedHashWith(backend, tag, ...parts)), tagged, backend);
          assert.equal(toHex(sha256With(backend, data)), plain, backend);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('mutated inputs: one flipped bit changes the digest on every backend alike', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), (data, pick) => {
      const mutated = data.slice();
      mutated[pick % data.length]! ^= 1 << (pick & 7);
      const digests = BACKENDS.map((b) => toHex(sha256With(b, mutated)));
      assert.deepEqual(
        digests,
        BACKENDS.map(() => digests[0]),
      );
      assert.equal(digests[0], createHash('sha256').update(mutated).digest('hex'));
      assert.notEqual(digests[0], toHex(sha256With('noble', data)));
    }),
    { numRuns: 200 },
  );
});

test('sha256/taggedHash use libsodium for short inputs once it is loaded, node:crypto under the override', () => {
  nativeVerifier(); // a node path: loads libsodium
  assert.ok(loadedSodium() !== undefined);
  assert.equal(hashBackend(), 'sodium+node:crypto');
  const check = () => {
    for (const length of EDGE_LENGTHS) {
      const data = new Uint8Array(length).fill(length);
      assert.equal(
        toHex(taggedHash(DomainTag.merkleInner, data)),
        referenceTaggedHash(DomainTag.merkleInner, data),
      );
      assert.equal(toHex(sha256(data)), createHash('sha256').update(data).digest('hex'));
    }
  };
  check();
  const previous = setNativeCrypto('node');
  try {
    assert.equal(hashBackend(), 'node:crypto');
    check();
  } finally {
    setNativeCrypto(previous);
  }
  assert.equal(hashBackend(), 'sodium+node:crypto');
});

test('a libsodium digest is a fresh array of its own', () => {
  nativeVerifier();
  const short = new Uint8Array(40).fill(1);
  const a = taggedHash(DomainTag.stateKey, short);
  const before = toHex(a);
  const b = taggedHash(DomainTag.stateKey, new Uint8Array(40).fill(2));
  assert.equal(toHex(a), before);
  assert.notEqual(a.buffer, b.buffer);
  assert.equal(Object.getPrototypeOf(a), Uint8Array.prototype);
});

test('taggedHashInto writes what taggedHash returns, on either native choice', () => {
  for (const choice of ['auto', 'node'] as const) {
    const previous = setNativeCrypto(choice);
    try {
      for (const length of EDGE_LENGTHS) {
        const data = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
        const out = new Uint8Array(HASH_LENGTH).fill(0xaa);
        taggedHashInto(
          out,
          DomainTag.stateValue,
          data.subarray(0, length >> 1),
          data.subarray(length >> 1),
        );
        assert.equal(
          toHex(out),
          referenceTaggedHash(DomainTag.stateValue, data),
          `${length} (${choice})`,
        );
        assert.equal(toHex(out), toHex(taggedHash(DomainTag.stateValue, data)));
      }
    } finally {
      setNativeCrypto(previous);
    }
  }
});
