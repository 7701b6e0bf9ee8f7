import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../../src/crypto/bytes.ts';
import {
  DomainTag,
  HASH_LENGTH,
  sha256,
  taggedHash,
  taggedHashNoble,
} from '../../../src/crypto/hash.ts';

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

test('both backends (node:crypto one-shot, @noble/hashes) agree, across the scratch-buffer size', () => {
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
