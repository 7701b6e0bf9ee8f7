/**
 * Codec strictness of chain objects (Tx v1 and v2, Header, CommitCertificate, Receipt v1 and
 * v2, Block): random objects round-trip exactly and re-encode byte-identically; random and
 * mutated bytes are either refused as malformed (a CODEC_* error, or for a tx one of its shape
 * rules' TX_* codes) or are themselves the one canonical encoding of what they decode to (so
 * no object has two encodings); and hand-built malformed encodings (non-minimal varints, wrong
 * versions, oversize lengths, unsorted signers) give their codes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  BLOCK_VERSION,
  type Block,
  type CommitCertificate,
  decodeBlock,
  decodeCertificate,
  decodeHeader,
  decodeReceipt,
  decodeTx,
  encodeBlockParts,
  encodeCertificate,
  encodeHeader,
  encodeReceipt,
  encodeTx,
  type Header,
  headerHash,
  Limits,
  makeValidatorSet,
  type Receipt,
  sealBlock,
  type Tx,
  type TxOp,
  txHash,
  txHashOfBytes,
  verifyCertificate,
  voteSigningHash,
  writeCertificate,
  writeHeader,
} from '../../../src/chain/index.ts';
import { encode, Reader } from '../../../src/codec/index.ts';
import { concatBytes, equalBytes } from '../../../src/crypto/bytes.ts';
import { generateKeyPair, sign, verifyNative } from '../../../src/crypto/ed25519.ts';
import { CivitasError, isCivitasError } from '../../../src/errors/index.ts';

const RUNS = 250;
const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

// --- arbitraries -------------------------------------------------------------------------

// Plain-prototype records, so deepStrictEqual compares them with what the decoders build.
const record = <T extends Record<string, unknown>>(
  model: {
    [K in keyof T]: fc.Arbitrary<T[K]>;
  },
): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;

const fixedBytes = (n: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: n, maxLength: n });

/** Well-formed strings (any code point, never a lone surrogate) within a byte budget. */
const boundedString = (maxBytes: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', maxLength }).filter((s) => utf8Length(s) <= maxBytes);

const argsArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 1000, maxLength: 1200 }),
);

const opArb = (expectRev: fc.Arbitrary<number | null>): fc.Arbitrary<TxOp> =>
  record({
    module: boundedString(Limits.moduleNameBytes, 8),
    method: boundedString(Limits.methodNameBytes, 8),
    args: argsArb,
    expectRev,
  });

const expectRevArb = fc.option(
  fc.oneof(fc.nat(300), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1 })),
  { nil: null },
);

const txV1Arb: fc.Arbitrary<Tx> = record({
  version: fc.constant(1 as const),
  chainId: boundedString(Limits.chainIdBytes, 16),
  sender: fixedBytes(32),
  nonce: fc.oneof(fc.nat(300), fc.maxSafeNat()),
  expiryHeight: fc.oneof(fc.nat(300), fc.maxSafeNat()),
  ops: opArb(fc.constant(null)).map((op) => [op]),
  cosigners: fc.constant([]),
  signature: fixedBytes(64),
  cosignatures: fc.constant([]),
});

const txV2Arb: fc.Arbitrary<Tx> = fc
  .tuple(
    fixedBytes(32),
    fc.uniqueArray(fixedBytes(32), { maxLength: Limits.txCosigners, comparator: equalBytes }),
  )
  .chain(([sender, keys]): fc.Arbitrary<Tx> => {
    const cosigners = keys.filter((k) => !equalBytes(k, sender));
    return record({
      version: fc.constant(2 as const),
      chainId: boundedString(Limits.chainIdBytes, 16),
      sender: fc.constant(sender),
      nonce: fc.oneof(fc.nat(300), fc.maxSafeNat()),
      expiryHeight: fc.oneof(fc.nat(300), fc.maxSafeNat()),
      ops: fc.array(opArb(expectRevArb), { minLength: 1, maxLength: Limits.txOps }),
      cosigners: fc.constant(cosigners),
      signature: fixedBytes(64),
      cosignatures: fc.array(fixedBytes(64), {
        minLength: cosigners.length,
        maxLength: cosigners.length,
      }),
    });
  });

const txArb: fc.Arbitrary<Tx> = fc.oneof(txV1Arb, txV2Arb);

const headerArb: fc.Arbitrary<Header> = record({
  chainId: boundedString(Limits.chainIdBytes, 16),
  height: fc.oneof(fc.nat(300), fc.maxSafeNat()),
  parentHash: fixedBytes(32),
  timestamp: fc.oneof(fc.nat(300), fc.maxSafeNat()),
  proposer: fixedBytes(32),
  txRoot: fixedBytes(32),
  receiptRoot: fixedBytes(32),
  stateRoot: fixedBytes(32),
  validatorSetHash: fixedBytes(32),
  nextValidatorSetHash: fixedBytes(32),
  lastCommitHash: fixedBytes(32),
});

const certificateArb: fc.Arbitrary<CommitCertificate> = record({
  height: fc.maxSafeNat(),
  view: fc.oneof(fc.nat(10), fc.maxSafeNat()),
  blockHash: fixedBytes(32),
  signatures: fc
    .uniqueArray(fc.integer({ min: 0, max: 0xffff }), { maxLength: 8 })
    .chain((indexes) =>
      fc.tuple(
        ...[...indexes]
          .sort((a, b) => a - b)
          .map((validatorIndex) =>
            fc
              .tuple(fixedBytes(64), fc.oneof(fc.nat(300), fc.maxSafeNat()))
              .map(([signature, timestamp]) => ({ validatorIndex, signature, timestamp })),
          ),
      ),
    ),
});

const receiptArb: fc.Arbitrary<Receipt> = fc.constantFrom('ok' as const, 'failed' as const).chain(
  (status): fc.Arbitrary<Receipt> =>
    record({
      txHash: fixedBytes(32),
      status: fc.constant(status),
      code: boundedString(Limits.receiptCodeBytes, 16),
      events: fc.array(
        record({
          type: boundedString(Limits.eventStringBytes, 24),
          attributes: fc.array(
            fc.tuple(
              boundedString(Limits.eventStringBytes, 24),
              boundedString(Limits.eventStringBytes, 24),
            ),
            { maxLength: 4 },
          ),
        }),
        { maxLength: 4 },
      ),
      failedOp:
        status === 'ok' ? fc.constant(null) : fc.option(fc.nat(Limits.txOps - 1), { nil: null }),
    }),
);

const blockArb: fc.Arbitrary<Block> = record({
  header: headerArb,
  txs: fc.array(txArb, { maxLength: 4 }),
  lastCommit: fc.option(certificateArb, { nil: null }),
});

// --- mutations ---------------------------------------------------------------------------

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'insert'; at: number; value: number }
  | { kind: 'delete'; at: number; count: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('append' as const),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 4 }),
  }),
);

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out: Uint8Array = Uint8Array.from(bytes);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : ('at' in m ? m.at : 0) % out.length;
    switch (m.kind) {
      case 'flip':
        if (out.length > 0) out[at]! ^= 1 << m.bit;
        break;
      case 'set':
        if (out.length > 0) out[at] = m.value;
        break;
      case 'truncate':
        out = out.slice(0, at);
        break;
      case 'append':
        out = concatBytes(out, m.bytes);
        break;
      case 'insert':
        out = concatBytes(out.slice(0, at), Uint8Array.of(m.value), out.slice(at));
        break;
      case 'delete':
        out = concatBytes(out.slice(0, at), out.slice(at + m.count));
        break;
    }
  }
  return out;
}

// --- the codecs under test, uniformly --------------------------------------------------------

interface Codec<T> {
  readonly name: string;
  readonly arb: fc.Arbitrary<T>;
  /** The version bytes the decoder knows. */
  readonly versions: readonly number[];
  encode(x: T): Uint8Array;
  /** Must throw CODEC_* on anything that is not a canonical encoding. */
  decode(bytes: Uint8Array): T;
  /** The canonical bytes of a decoded value (to prove accepted bytes are canonical). */
  reencode(x: T): Uint8Array;
}

const codecs: Codec<unknown>[] = [
  {
    name: 'Tx',
    arb: txArb,
    versions: [1, 2],
    encode: encodeTx,
    decode: decodeTx,
    reencode: encodeTx,
  },
  {
    name: 'Header',
    arb: headerArb,
    versions: [1, 2],
    encode: encodeHeader,
    decode: decodeHeader,
    reencode: encodeHeader,
  },
  {
    name: 'CommitCertificate',
    arb: certificateArb,
    versions: [1, 2],
    encode: encodeCertificate,
    decode: decodeCertificate,
    reencode: encodeCertificate,
  },
  {
    name: 'Receipt',
    arb: receiptArb,
    versions: [1, 2],
    encode: encodeReceipt,
    decode: decodeReceipt,
    reencode: encodeReceipt,
  },
  {
    name: 'Block',
    arb: blockArb,
    versions: [1],
    encode: (b: Block) => sealBlock(b).encoded,
    decode: (bytes: Uint8Array) => {
      const sealed = decodeBlock(bytes);
      return { header: sealed.header, txs: sealed.txs, lastCommit: sealed.lastCommit };
    },
    reencode: (b: Block) => encodeBlockParts(b.header, b.txs.map(encodeTx), b.lastCommit),
  },
] as Codec<unknown>[];

/** The tx shape rules, checked while decoding: malformed bytes as much as CODEC_* ones. */
const TX_SHAPE_CODES = new Set([
  'TX_BAD_OP_COUNT',
  'TX_TOO_MANY_COSIGNERS',
  'TX_DUPLICATE_COSIGNER',
  'TX_COSIGNER_IS_SENDER',
]);

function isCodecError(err: unknown): boolean {
  return isCivitasError(err, 'CODEC_') || (isCivitasError(err) && TX_SHAPE_CODES.has(err.code));
}

/** Decodes `bytes`: either a CODEC_* error, or a value whose canonical bytes are `bytes`. */
function checkStrict(codec: Codec<unknown>, bytes: Uint8Array): void {
  let value: unknown;
  try {
    value = codec.decode(bytes);
  } catch (err) {
    if (!isCodecError(err)) {
      assert.fail(
        `${codec.name}: decoding threw a non-codec error: ${(err as Error)?.stack ?? String(err)}`,
      );
    }
    return;
  }
  assert.deepEqual(
    codec.reencode(value),
    bytes,
    `${codec.name}: accepted bytes are not the canonical encoding of what they decode to`,
  );
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CivitasError, `expected CivitasError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

// --- tests -------------------------------------------------------------------------------

for (const codec of codecs) {
  describe(`${codec.name} codec`, () => {
    test('decode(encode(x)) deep-equals x and re-encoding is byte-identical', () => {
      fc.assert(
        fc.property(codec.arb, (x) => {
          const bytes = codec.encode(x);
          const decoded = codec.decode(bytes);
          assert.deepStrictEqual(decoded, x);
          assert.deepEqual(codec.reencode(decoded), bytes);
          assert.deepEqual(codec.encode(decoded), bytes);
        }),
        { numRuns: RUNS },
      );
    });

    test('mutated encodings are refused with CODEC_* or are canonical', () => {
      fc.assert(
        fc.property(
          codec.arb,
          fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
          (x, mutations) => {
            checkStrict(codec, mutate(codec.encode(x), mutations));
          },
        ),
        { numRuns: RUNS * 2 },
      );
    });

    test('random bytes never crash the decoder (with and without a valid version byte)', () => {
      fc.assert(
        fc.property(
          fc.option(fc.constantFrom(...codec.versions), { nil: undefined }),
          fc.uint8Array({ maxLength: 400 }),
          (version, bytes) => {
            checkStrict(
              codec,
              version === undefined ? bytes : concatBytes(Uint8Array.of(version), bytes),
            );
          },
        ),
        { numRuns: RUNS * 2 },
      );
    });

    test('truncation at every offset and any appended byte are refused', () => {
      fc.assert(
        fc.property(codec.arb, fc.nat(255), (x, extra) => {
          const bytes = codec.encode(x);
          for (let n = 0; n < bytes.length; n++) {
            assert.throws(() => codec.decode(bytes.subarray(0, n)), isCodecError);
          }
          assert.throws(() => codec.decode(concatBytes(bytes, Uint8Array.of(extra))), isCodecError);
        }),
        { numRuns: 20 },
      );
    });

    test('a wrong version byte is CODEC_BAD_VERSION', () => {
      fc.assert(
        fc.property(
          codec.arb,
          fc.integer({ min: 0, max: 255 }).filter((v) => !codec.versions.includes(v)),
          (x, version) => {
            const bytes = Uint8Array.from(codec.encode(x));
            bytes[0] = version;
            throwsCode(() => codec.decode(bytes), 'CODEC_BAD_VERSION');
          },
        ),
        { numRuns: 50 },
      );
    });
  });
}

describe('hand-built malformed encodings', () => {
  const sampleTx = fc.sample(txArb, { numRuns: 1, seed: 7 })[0]!;
  const tx: Tx = {
    ...sampleTx,
    version: 1,
    chainId: 'chain',
    nonce: 5,
    expiryHeight: 9,
    ops: [{ module: 'bank', method: 'transfer', args: new Uint8Array(3), expectRev: null }],
    cosigners: [],
    cosignatures: [],
  };
  const header: Header = {
    ...fc.sample(headerArb, { numRuns: 1, seed: 3 })[0]!,
    chainId: 'c',
    height: 1,
  };

  test('non-minimal varints are CODEC_NON_MINIMAL_INT (tx nonce, header height, list count)', () => {
    // tx: version | string "chain" (1+5) | 32 sender | nonce at offset 39.
    const txBytes = encodeTx(tx);
    assert.equal(txBytes[39], 5);
    const nonMinimalTx = concatBytes(
      txBytes.subarray(0, 39),
      Uint8Array.of(0x85, 0x00),
      txBytes.subarray(40),
    );
    throwsCode(() => decodeTx(nonMinimalTx), 'CODEC_NON_MINIMAL_INT');
    // header: version | string "c" (1+1) | height at offset 3.
    const headerBytes = encodeHeader(header);
    assert.equal(headerBytes[3], 1);
    throwsCode(
      () =>
        decodeHeader(
          concatBytes(
            headerBytes.subarray(0, 3),
            Uint8Array.of(0x81, 0x80, 0x00),
            headerBytes.subarray(4),
          ),
        ),
      'CODEC_NON_MINIMAL_INT',
    );
    // certificate with zero signers written as 0x80 0x00.
    const cert: CommitCertificate = {
      height: 1,
      view: 0,
      blockHash: new Uint8Array(32),
      signatures: [],
    };
    const certBytes = encodeCertificate(cert);
    assert.equal(certBytes.at(-1), 0);
    throwsCode(
      () => decodeCertificate(concatBytes(certBytes.subarray(0, -1), Uint8Array.of(0x80, 0x00))),
      'CODEC_NON_MINIMAL_INT',
    );
  });

  test('oversize lengths are CODEC_TOO_LARGE before allocation', () => {
    const bigChainId = encode((w) =>
      w
        .u8(1)
        .string('x'.repeat(Limits.chainIdBytes + 1))
        .fixed(new Uint8Array(32), 32),
    );
    throwsCode(() => decodeTx(bigChainId), 'CODEC_TOO_LARGE');
    // A huge declared length with almost no bytes behind it.
    const hugeArgs = encode((w) =>
      w
        .u8(1)
        .string('c')
        .fixed(new Uint8Array(32), 32)
        .varuint(0)
        .varuint(0)
        .string('bank')
        .string('transfer')
        .varuint(2 ** 50),
    );
    throwsCode(() => decodeTx(hugeArgs), 'CODEC_TOO_LARGE');
    const bigArgs = encodeTx({
      ...tx,
      ops: [{ ...tx.ops[0]!, args: new Uint8Array(Limits.txArgsBytes + 1) }],
    });
    throwsCode(() => decodeTx(bigArgs), 'CODEC_TOO_LARGE');
    const manySigners = encode((w) =>
      w
        .u8(1)
        .varuint(1)
        .varuint(0)
        .fixed(new Uint8Array(32), 32)
        .varuint(Limits.validators + 1),
    );
    throwsCode(() => decodeCertificate(manySigners), 'CODEC_TOO_LARGE');
    const manyEvents = encode((w) =>
      w
        .u8(1)
        .fixed(new Uint8Array(32), 32)
        .u8(0)
        .string('OK')
        .varuint(Limits.eventsPerReceipt + 1),
    );
    throwsCode(() => decodeReceipt(manyEvents), 'CODEC_TOO_LARGE');
    const longCode = encode((w) =>
      w
        .u8(1)
        .fixed(new Uint8Array(32), 32)
        .u8(1)
        .string('E'.repeat(Limits.receiptCodeBytes + 1))
        .varuint(0),
    );
    throwsCode(() => decodeReceipt(longCode), 'CODEC_TOO_LARGE');
    const manyTxs = encode((w) => {
      w.u8(BLOCK_VERSION);
      writeHeader(w, header);
      w.varuint(Limits.blockTxs + 1);
    });
    throwsCode(() => decodeBlock(manyTxs), 'CODEC_TOO_LARGE');
    // A list count that exceeds the bytes left is refused before looping.
    const lyingCount = encode((w) => {
      w.u8(BLOCK_VERSION);
      writeHeader(w, header);
      w.varuint(1000);
    });
    throwsCode(() => decodeBlock(lyingCount), 'CODEC_TRUNCATED');
  });

  test('a tx over the size limit is rejected before parsing', () => {
    // 0xff… would be CODEC_BAD_VERSION if it were parsed; the size check must come first.
    throwsCode(() => decodeTx(new Uint8Array(Limits.txBytes + 1).fill(0xff)), 'CODEC_TOO_LARGE');
    throwsCode(() => decodeTx(new Uint8Array(Limits.txBytes).fill(0xff)), 'CODEC_BAD_VERSION');
  });

  test('a block over the size limit is rejected before parsing', () => {
    throwsCode(
      () => decodeBlock(new Uint8Array(Limits.blockBytes + 1).fill(0xff)),
      'CODEC_TOO_LARGE',
    );
  });

  test('certificate signers must be strictly increasing', () => {
    const withSigners = (indexes: number[]): Uint8Array =>
      encode((w) =>
        writeCertificate(w, {
          height: 3,
          view: 1,
          blockHash: new Uint8Array(32).fill(7),
          signatures: indexes.map((validatorIndex) => ({
            validatorIndex,
            signature: new Uint8Array(64).fill(validatorIndex),
            timestamp: 1_700_000_000_000 + validatorIndex,
          })),
        }),
      );
    assert.deepEqual(
      decodeCertificate(withSigners([0, 2, 5])).signatures.map((s) => s.validatorIndex),
      [0, 2, 5],
    );
    throwsCode(() => decodeCertificate(withSigners([0, 2, 2])), 'CODEC_BAD_ORDER');
    throwsCode(() => decodeCertificate(withSigners([3, 1])), 'CODEC_BAD_ORDER');
  });

  test('receipt status other than 0/1 is CODEC_BAD_VALUE; bool other than 0/1 too', () => {
    const bytes = Uint8Array.from(
      encodeReceipt({
        txHash: new Uint8Array(32),
        status: 'ok',
        code: 'OK',
        events: [],
        failedOp: null,
      }),
    );
    bytes[33] = 2;
    throwsCode(() => decodeReceipt(bytes), 'CODEC_BAD_VALUE');
    const block = sealBlock({ header, txs: [], lastCommit: null });
    const badFlag = Uint8Array.from(block.encoded);
    badFlag[badFlag.length - 1] = 2;
    throwsCode(() => decodeBlock(badFlag), 'CODEC_BAD_VALUE');
  });

  test('a framed tx inside a block must itself be exact (no trailing bytes, valid version)', () => {
    const good = encodeTx(tx);
    const framed = (txBytes: Uint8Array): Uint8Array => encodeBlockParts(header, [txBytes], null);
    assert.equal(decodeBlock(framed(good)).txs.length, 1);
    throwsCode(
      () => decodeBlock(framed(concatBytes(good, Uint8Array.of(0)))),
      'CODEC_TRAILING_BYTES',
    );
    const badVersion = Uint8Array.from(good);
    badVersion[0] = 3;
    throwsCode(() => decodeBlock(framed(badVersion)), 'CODEC_BAD_VERSION');
  });

  test('invalid UTF-8 in a string is CODEC_BAD_UTF8; empty input is CODEC_TRUNCATED', () => {
    const bytes = encode((w) => w.u8(1).bytes(Uint8Array.of(0xc3, 0x28)));
    throwsCode(() => decodeTx(bytes), 'CODEC_BAD_UTF8');
    for (const codec of codecs) {
      assert.throws(
        () => codec.decode(new Uint8Array(0)),
        (err: unknown) => isCivitasError(err, 'CODEC_TRUNCATED'),
      );
    }
    throwsCode(() => new Reader('abc' as unknown as Uint8Array), 'CODEC_BAD_INPUT');
  });

  test('hashes are over the canonical bytes and distinguish the signature', () => {
    const bytes = encodeTx(tx);
    assert.deepEqual(txHash(tx), txHashOfBytes(bytes));
    const otherSig = { ...tx, signature: Uint8Array.from(tx.signature, (b) => b ^ 1) };
    assert.notDeepEqual(txHash(otherSig), txHash(tx));
    const sealed = decodeBlock(sealBlock({ header, txs: [tx], lastCommit: null }).encoded);
    assert.deepEqual(sealed.hash, headerHash(header));
    assert.deepEqual(sealed.txHashes[0], txHash(tx));
  });
});

describe('old versions still decode (header v1, certificate v1)', () => {
  const header: Header = {
    chainId: 'old-chain',
    height: 9,
    parentHash: new Uint8Array(32).fill(1),
    timestamp: 1_700_000_000_123,
    proposer: new Uint8Array(32).fill(2),
    txRoot: new Uint8Array(32).fill(3),
    receiptRoot: new Uint8Array(32).fill(4),
    stateRoot: new Uint8Array(32).fill(5),
    validatorSetHash: new Uint8Array(32).fill(6),
    nextValidatorSetHash: new Uint8Array(32).fill(8),
    lastCommitHash: new Uint8Array(32).fill(7),
  };

  test('a v1 header decodes, is marked v1 and re-encodes to its own bytes', () => {
    const v2 = encodeHeader(header);
    assert.equal(v2[0], 2);
    // v1: the same layout without nextValidatorSetHash (the 32 bytes before lastCommitHash).
    const v1 = concatBytes(
      new Uint8Array([1]),
      v2.subarray(1, v2.length - 64),
      v2.subarray(v2.length - 32),
    );
    const decoded = decodeHeader(v1);
    assert.equal(decoded.version, 1);
    assert.equal(decoded.timestamp, header.timestamp);
    assert.deepEqual(decoded.nextValidatorSetHash, new Uint8Array(32));
    assert.deepEqual(decoded.lastCommitHash, header.lastCommitHash);
    assert.deepEqual(encodeHeader(decoded), v1);
    assert.notDeepEqual(headerHash(decoded), headerHash(header));
    assert.equal(decodeHeader(v2).version, undefined);
  });

  test('a v1 certificate (untimed COMMITs) decodes, re-encodes and still verifies', () => {
    const keys = Array.from({ length: 4 }, () => generateKeyPair());
    const validators = makeValidatorSet(keys.map((k) => k.publicKey));
    const blockHash = new Uint8Array(32).fill(9);
    const untimed = voteSigningHash('commit', 'old-chain', 5, 0, blockHash);
    const signatures = [0, 1, 2].map((i) => sign(untimed, keys[i]!.secretKey));
    // v1 layout: u8 1 | height | view | blockHash | list of (u16 index | 64 signature).
    const bytes = encode((w) =>
      w
        .u8(1)
        .varuint(5)
        .varuint(0)
        .fixed(blockHash, 32)
        .list([0, 1, 2], (ww, i) => ww.u16(i).fixed(signatures[i]!, 64)),
    );
    const cert = decodeCertificate(bytes);
    assert.equal(cert.version, 1);
    assert.deepEqual(
      cert.signatures.map((s) => s.timestamp),
      [0, 0, 0],
    );
    assert.deepEqual(encodeCertificate(cert), bytes);
    verifyCertificate(
      cert,
      { chainId: 'old-chain', height: 5, blockHash, validators },
      verifyNative,
    );
    // The same signatures presented as v2 (timed) do not verify: the time is signed.
    assert.throws(
      () =>
        verifyCertificate(
          { ...cert, version: undefined },
          { chainId: 'old-chain', height: 5, blockHash, validators },
          verifyNative,
        ),
      (err: unknown) => isCivitasError(err) && err.code === 'CERT_BAD_SIGNATURE',
    );
  });

  test('unknown header and certificate versions are refused', () => {
    const v3 = concatBytes(new Uint8Array([3]), encodeHeader(header).subarray(1));
    // (a version byte alone decides the layout: 3 is no layout at all)
    assert.throws(
      () => decodeHeader(v3),
      (err: unknown) => isCivitasError(err) && err.code === 'CODEC_BAD_VERSION',
    );
    const cert = encodeCertificate({
      height: 1,
      view: 0,
      blockHash: new Uint8Array(32),
      signatures: [],
    });
    cert[0] = 3;
    assert.throws(
      () => decodeCertificate(cert),
      (err: unknown) => isCivitasError(err) && err.code === 'CODEC_BAD_VERSION',
    );
  });
});
