/**
 * Transactions v1 and v2 (src/chain/tx.ts), receipts with a failed op, and the signature
 * checks of cosigned txs: v1 bytes, signing hashes and tx hashes are what they were before v2
 * (a vector captured from the v1-only code, and a hand-built encoding); v2 encodes as its
 * grammar says; each shape rule is refused by the decoder and the encoder with its code;
 * sender and cosigners sign one hash, apart or together; the TxVerifier wants every signature
 * and caches only a tx whose signatures all hold. Random round trips and mutations of both
 * versions are in codec.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assembleTx,
  cosignTx,
  decodeReceipt,
  decodeTx,
  decodeUnsignedTx,
  encodeReceipt,
  encodeTx,
  encodeUnsignedTx,
  Limits,
  makeTx,
  type Receipt,
  receiptToJson,
  type SignatureItem,
  signTx,
  type Tx,
  type TxOp,
  TxVerifier,
  txHash,
  txHashOfBytes,
  txSigningHash,
  txSigningHashOfEncoded,
  txToJson,
  type UnsignedTx,
  unsignedTx,
  unsignedTxV1,
} from '../../../src/chain/index.ts';
import { encode, type Writer } from '../../../src/codec/writer.ts';
import { concatBytes, fromHex, toHex } from '../../../src/crypto/bytes.ts';
import {
  generateKeyPair,
  type KeyPair,
  keyPairFromSecret,
  verifyNative,
} from '../../../src/crypto/ed25519.ts';
import { DomainTag, taggedHash } from '../../../src/crypto/hash.ts';
import { CivitasError, type ErrorCode } from '../../../src/errors/index.ts';

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CivitasError, `expected CivitasError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const GOLDEN_SECRET = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

/**
 * A v1 transfer signed with GOLDEN_SECRET, captured from the v1-only tx.ts (commit 4372088):
 * chainId "civitas-golden", nonce 300, expiry 1 000 000, bank.transfer(01 02 03 04 05).
 */
const GOLDEN_V1 = {
  publicKey: '79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664',
  bytes:
    '010e636976697461732d676f6c64656e79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad04' +
    '9664ac02c0843d0462616e6b087472616e73666572050102030405955efd6ffbdddbac9dac67f00e5812e6fc0f7f' +
    '668cc653831832b6c7bafd50de43e8a2188e42b3f92f97d7ec3b2642fcf844c13e03273d205729c14334cd8b0b',
  signingHash: 'b3beb6163855a5df5639bb0626e3115f929c0642e12848f1d084b0076d777b47',
  hash: '54bedc824d99ff7648d1a411ec19e0f38f4482723bd4d1c6362b19882a9d1eac',
};

const goldenKeys = keyPairFromSecret(GOLDEN_SECRET);
const goldenUnsigned = unsignedTxV1({
  chainId: 'civitas-golden',
  sender: goldenKeys.publicKey,
  nonce: 300,
  expiryHeight: 1_000_000,
  op: { module: 'bank', method: 'transfer', args: Uint8Array.of(1, 2, 3, 4, 5) },
});

const sender = generateKeyPair();
const cosignerKeys: KeyPair[] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];

const op = (method: string, expectRev: number | null = null): TxOp => ({
  module: 'registry',
  method,
  args: Uint8Array.of(method.length, 7),
  expectRev,
});

function v2(overrides: Partial<UnsignedTx> = {}): UnsignedTx {
  return {
    version: 2,
    chainId: 'civitas-test',
    sender: sender.publicKey,
    nonce: 4,
    expiryHeight: 900,
    ops: [op('create'), op('update', 41)],
    cosigners: cosignerKeys.slice(0, 2).map((k) => k.publicKey),
    ...overrides,
  };
}

const signedV2 = (overrides: Partial<UnsignedTx> = {}): Tx => {
  const tx = v2(overrides);
  return signTx(
    tx,
    sender.secretKey,
    tx.cosigners.map((key) => cosignerKeys.find((k) => k.publicKey === key)!.secretKey),
  );
};

/** The v2 unsigned grammar, written field by field from the spec in tx.ts. */
function writeV2ByHand(w: Writer, tx: UnsignedTx): void {
  w.u8(2)
    .string(tx.chainId)
    .fixed(tx.sender, 32)
    .varuint(tx.nonce)
    .varuint(tx.expiryHeight)
    .varuint(tx.ops.length);
  for (const o of tx.ops) {
    w.string(o.module)
      .string(o.method)
      .bytes(o.args)
      .varuint(o.expectRev === null ? 0 : o.expectRev + 1);
  }
  w.varuint(tx.cosigners.length);
  for (const c of tx.cosigners) w.fixed(c, 32);
}

describe('tx v1: unchanged by v2', () => {
  test('encoding, signing hash and tx hash equal the vector captured before v2', () => {
    assert.equal(toHex(goldenKeys.publicKey), GOLDEN_V1.publicKey);
    const tx = signTx(goldenUnsigned, goldenKeys.secretKey);
    assert.equal(toHex(encodeTx(tx)), GOLDEN_V1.bytes);
    assert.equal(toHex(txSigningHash(goldenUnsigned)), GOLDEN_V1.signingHash);
    assert.equal(toHex(txHash(tx)), GOLDEN_V1.hash);
    const decoded = decodeTx(fromHex(GOLDEN_V1.bytes));
    assert.deepEqual(decoded, tx);
    assert.equal(decoded.version, 1);
    assert.deepEqual(decoded.ops, [
      { module: 'bank', method: 'transfer', args: Uint8Array.of(1, 2, 3, 4, 5), expectRev: null },
    ]);
    assert.deepEqual([decoded.cosigners, decoded.cosignatures], [[], []]);
    assert.equal(
      toHex(txSigningHashOfEncoded(fromHex(GOLDEN_V1.bytes), decoded)),
      GOLDEN_V1.signingHash,
    );
  });

  test('the v1 grammar written by hand is what encodeTx writes', () => {
    const tx = signTx(goldenUnsigned, goldenKeys.secretKey);
    const unsigned = encode((w) =>
      w
        .u8(1)
        .string(tx.chainId)
        .fixed(tx.sender, 32)
        .varuint(tx.nonce)
        .varuint(tx.expiryHeight)
        .string('bank')
        .string('transfer')
        .bytes(Uint8Array.of(1, 2, 3, 4, 5)),
    );
    assert.deepEqual(encodeUnsignedTx(tx), unsigned);
    assert.deepEqual(encodeTx(tx), concatBytes(unsigned, tx.signature));
    assert.deepEqual(txSigningHash(tx), taggedHash(DomainTag.txSigning, unsigned));
    assert.deepEqual(txHash(tx), taggedHash(DomainTag.tx, concatBytes(unsigned, tx.signature)));
  });

  test('the encoder refuses a version-1 tx that does not fit v1 (TX_NOT_V1)', () => {
    const tx = signTx(goldenUnsigned, goldenKeys.secretKey);
    const notV1: Tx[] = [
      { ...tx, ops: [tx.ops[0]!, tx.ops[0]!] },
      { ...tx, ops: [{ ...tx.ops[0]!, expectRev: 0 }] },
      { ...tx, cosigners: [cosignerKeys[0]!.publicKey], cosignatures: [new Uint8Array(64)] },
      { ...tx, ops: [] },
    ];
    for (const bad of notV1) {
      throwsCode(() => encodeTx(bad), 'TX_NOT_V1');
      throwsCode(() => txSigningHash(bad), 'TX_NOT_V1');
      throwsCode(() => txHash(bad), 'TX_NOT_V1');
      throwsCode(
        () => signTx(bad, sender.secretKey),
        bad.cosigners.length > 0 ? 'TX_BAD_COSIGNATURE_COUNT' : 'TX_NOT_V1',
      );
    }
    // The same content as v2 is fine, and a different tx (the version is signed).
    const asV2 = signTx({ ...goldenUnsigned, version: 2 }, goldenKeys.secretKey);
    assert.equal(decodeTx(encodeTx(asV2)).version, 2);
    assert.notDeepEqual(txSigningHash(asV2), txSigningHash(goldenUnsigned));
  });
});

describe('tx v2', () => {
  test('encodes as its grammar: ops with expectRev + 1, cosigner keys, then signatures', () => {
    const tx = signedV2();
    const unsigned = encode((w) => writeV2ByHand(w, tx));
    assert.deepEqual(encodeUnsignedTx(tx), unsigned);
    assert.deepEqual(
      encodeTx(tx),
      concatBytes(unsigned, tx.signature, ...tx.cosignatures),
      'signature, then one cosignature per cosigner with no count',
    );
    assert.deepEqual(txSigningHash(tx), taggedHash(DomainTag.txSigning, unsigned));
    assert.deepEqual(txHash(tx), txHashOfBytes(encodeTx(tx)));
  });

  test('round-trips: decode(encode(tx)) deep-equals tx, for every op and cosigner count', () => {
    for (let ops = 1; ops <= Limits.txOps; ops++) {
      for (const cosigners of [0, 1, 3]) {
        const tx = signedV2({
          ops: Array.from({ length: ops }, (_, i) => op(`m${i}`, i % 2 === 0 ? null : i * 1000)),
          cosigners: cosignerKeys.slice(0, cosigners).map((k) => k.publicKey),
        });
        const bytes = encodeTx(tx);
        const decoded = decodeTx(bytes);
        assert.deepEqual(decoded, tx);
        assert.deepEqual(encodeTx(decoded), bytes);
        assert.deepEqual(txSigningHashOfEncoded(bytes, decoded), txSigningHash(tx));
      }
    }
  });

  test('expectRev: none is 0, a revision r is r + 1, up to 2^53 − 2', () => {
    for (const [rev, byte] of [
      [null, 0],
      [0, 1],
      [41, 42],
    ] as const) {
      const unsigned = v2({ ops: [op('x', rev)], cosigners: [] });
      const bytes = encodeUnsignedTx(unsigned);
      assert.equal(bytes.at(-2), byte, 'the expectRev varint precedes the cosigner count');
      assert.equal(decodeUnsignedTx(bytes).ops[0]!.expectRev, rev);
    }
    const top = v2({ ops: [op('x', Number.MAX_SAFE_INTEGER - 1)] });
    assert.equal(
      decodeUnsignedTx(encodeUnsignedTx(top)).ops[0]!.expectRev,
      Number.MAX_SAFE_INTEGER - 1,
    );
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER, Number.NaN]) {
      throwsCode(() => encodeUnsignedTx(v2({ ops: [op('x', bad)] })), 'CODEC_BAD_VALUE');
    }
  });

  describe('the decoder refuses each shape rule and any non-canonical v2 encoding', () => {
    const base = v2();
    const signatures = (n: number) =>
      Array.from({ length: n }, (_, i) => new Uint8Array(64).fill(i + 1));
    /** A v2 tx written by hand, so a rule the encoder enforces can still be broken. */
    const raw = (tx: UnsignedTx, cosignatures = tx.cosigners.length): Uint8Array =>
      concatBytes(
        encode((w) => writeV2ByHand(w, tx)),
        ...signatures(1 + cosignatures),
      );

    test('the hand-written encoding of a valid tx decodes (the baseline)', () => {
      assert.equal(decodeTx(raw(base)).cosignatures.length, 2);
    });
    test('no op, or more than Limits.txOps: TX_BAD_OP_COUNT', () => {
      throwsCode(() => decodeTx(raw({ ...base, ops: [] })), 'TX_BAD_OP_COUNT');
      const nine = Array.from({ length: Limits.txOps + 1 }, () => op('x'));
      throwsCode(() => decodeTx(raw({ ...base, ops: nine })), 'TX_BAD_OP_COUNT');
      throwsCode(
        () => decodeUnsignedTx(encode((w) => writeV2ByHand(w, { ...base, ops: [] }))),
        'TX_BAD_OP_COUNT',
      );
    });
    test('more than Limits.txCosigners cosigners: TX_TOO_MANY_COSIGNERS', () => {
      const eight = Array.from(
        { length: Limits.txCosigners + 1 },
        () => generateKeyPair().publicKey,
      );
      throwsCode(() => decodeTx(raw({ ...base, cosigners: eight })), 'TX_TOO_MANY_COSIGNERS');
      // Seven is the limit, and is fine.
      const seven = eight.slice(1);
      assert.equal(decodeTx(raw({ ...base, cosigners: seven })).cosignatures.length, 7);
    });
    test('a cosigner twice: TX_DUPLICATE_COSIGNER', () => {
      const [a, b] = base.cosigners as [Uint8Array, Uint8Array];
      throwsCode(() => decodeTx(raw({ ...base, cosigners: [a, b, a] })), 'TX_DUPLICATE_COSIGNER');
      throwsCode(() => decodeTx(raw({ ...base, cosigners: [b, b] })), 'TX_DUPLICATE_COSIGNER');
    });
    test('the sender as a cosigner: TX_COSIGNER_IS_SENDER', () => {
      throwsCode(
        () => decodeTx(raw({ ...base, cosigners: [base.cosigners[0]!, base.sender] })),
        'TX_COSIGNER_IS_SENDER',
      );
    });
    test('a missing or an extra cosignature: CODEC_TRUNCATED / CODEC_TRAILING_BYTES', () => {
      throwsCode(() => decodeTx(raw(base, 1)), 'CODEC_TRUNCATED');
      throwsCode(() => decodeTx(raw(base, 3)), 'CODEC_TRAILING_BYTES');
      throwsCode(() => decodeTx(raw({ ...base, cosigners: [] }, 1)), 'CODEC_TRAILING_BYTES');
    });
    test('non-minimal counts and expectRev, an unknown version: CODEC_*', () => {
      const tx = v2({ ops: [op('x', 0)], cosigners: [] });
      const bytes = encodeTx(signTx(tx, sender.secretKey));
      const signed = bytes.length - 64;
      // ... | expectRev+1 = 1 | cosigner count 0 | signature
      assert.deepEqual([bytes[signed - 2], bytes[signed - 1]], [1, 0]);
      const at = (i: number, replacement: number[]) =>
        concatBytes(bytes.subarray(0, i), Uint8Array.from(replacement), bytes.subarray(i + 1));
      throwsCode(() => decodeTx(at(signed - 2, [0x81, 0x00])), 'CODEC_NON_MINIMAL_INT');
      throwsCode(() => decodeTx(at(signed - 1, [0x80, 0x00])), 'CODEC_NON_MINIMAL_INT');
      const opCountAt = encode((w) =>
        w.u8(2).string(tx.chainId).fixed(tx.sender, 32).varuint(tx.nonce).varuint(tx.expiryHeight),
      ).length;
      assert.equal(bytes[opCountAt], 1);
      throwsCode(() => decodeTx(at(opCountAt, [0x81, 0x00])), 'CODEC_NON_MINIMAL_INT');
      throwsCode(() => decodeTx(at(0, [3])), 'CODEC_BAD_VERSION');
      throwsCode(() => decodeTx(at(0, [0])), 'CODEC_BAD_VERSION');
    });
  });

  test('the encoder and the builders refuse what the decoder refuses', () => {
    const tx = signedV2();
    const [a, b] = tx.cosigners as [Uint8Array, Uint8Array];
    const cases: [Tx, ErrorCode][] = [
      [{ ...tx, ops: [] }, 'TX_BAD_OP_COUNT'],
      [{ ...tx, ops: Array.from({ length: Limits.txOps + 1 }, () => op('x')) }, 'TX_BAD_OP_COUNT'],
      [{ ...tx, cosigners: [a, a], cosignatures: tx.cosignatures }, 'TX_DUPLICATE_COSIGNER'],
      [{ ...tx, cosigners: [a, tx.sender] }, 'TX_COSIGNER_IS_SENDER'],
      [
        {
          ...tx,
          cosigners: Array.from(
            { length: Limits.txCosigners + 1 },
            () => generateKeyPair().publicKey,
          ),
          cosignatures: Array.from({ length: Limits.txCosigners + 1 }, () => new Uint8Array(64)),
        },
        'TX_TOO_MANY_COSIGNERS',
      ],
      [{ ...tx, cosignatures: [tx.cosignatures[0]!] }, 'TX_BAD_COSIGNATURE_COUNT'],
      [
        { ...tx, cosignatures: [...tx.cosignatures, new Uint8Array(64)] },
        'TX_BAD_COSIGNATURE_COUNT',
      ],
    ];
    for (const [bad, code] of cases) throwsCode(() => encodeTx(bad), code);
    throwsCode(() => encodeTx({ ...tx, version: 3 as 2 }), 'CODEC_BAD_VERSION');
    const fields = { chainId: 'c', sender: sender.publicKey, nonce: 0, expiryHeight: 1 };
    throwsCode(() => unsignedTx({ ...fields, ops: [] }), 'TX_BAD_OP_COUNT');
    throwsCode(
      () => unsignedTx({ ...fields, ops: [op('x')], cosigners: [a, b, a] }),
      'TX_DUPLICATE_COSIGNER',
    );
    throwsCode(
      () => unsignedTx({ ...fields, ops: [op('x')], cosigners: [sender.publicKey] }),
      'TX_COSIGNER_IS_SENDER',
    );
    throwsCode(() => assembleTx(v2(), tx.signature, []), 'TX_BAD_COSIGNATURE_COUNT');
    throwsCode(() => signTx(v2(), sender.secretKey), 'TX_BAD_COSIGNATURE_COUNT');
    throwsCode(
      () => signTx(v2(), sender.secretKey, [cosignerKeys[0]!.secretKey]),
      'TX_BAD_COSIGNATURE_COUNT',
    );
  });

  test('builders: unsignedTx is v2 with defaults, frozen; makeTx signs for everyone', () => {
    const fields = {
      chainId: 'c',
      sender: sender.publicKey,
      nonce: 1,
      expiryHeight: 10,
      ops: [{ module: 'm', method: 'f', args: Uint8Array.of(1) }],
    };
    const built = unsignedTx(fields);
    assert.deepEqual(built, {
      version: 2,
      ...fields,
      ops: [{ module: 'm', method: 'f', args: Uint8Array.of(1), expectRev: null }],
      cosigners: [],
    });
    assert.ok(
      Object.isFrozen(built) && Object.isFrozen(built.ops) && Object.isFrozen(built.ops[0]),
    );
    const v1 = unsignedTxV1({ ...fields, op: fields.ops[0]! });
    assert.equal(v1.version, 1);
    assert.deepEqual(v1.ops, built.ops);
    const cosigners = cosignerKeys.map((k) => k.publicKey);
    const tx = makeTx(
      { ...fields, cosigners },
      sender.secretKey,
      cosignerKeys.map((k) => k.secretKey),
    );
    const message = txSigningHash(tx);
    assert.ok(verifyNative(tx.signature, message, sender.publicKey));
    tx.cosignatures.forEach((sig, i) => {
      assert.ok(verifyNative(sig, message, cosigners[i]!));
    });
  });
});

describe('signing apart: cosigners on other machines', () => {
  test('cosignTx over the decoded unsigned bytes, assembled, equals signTx done in one place', () => {
    const unsigned = v2();
    // The sender ships the unsigned bytes; each cosigner decodes them and signs.
    const shipped = encodeUnsignedTx(unsigned);
    const cosignatures = cosignerKeys
      .slice(0, 2)
      .map((k) => cosignTx(decodeUnsignedTx(shipped), k.secretKey));
    const assembled = assembleTx(unsigned, cosignTx(unsigned, sender.secretKey), cosignatures);
    const together = signedV2();
    assert.deepEqual(encodeTx(assembled), encodeTx(together), 'ed25519 is deterministic');
    assert.deepEqual(txSigningHash(decodeUnsignedTx(shipped)), txSigningHash(unsigned));
    // The signing hash is over the unsigned prefix of the signed encoding.
    const bytes = encodeTx(assembled);
    assert.deepEqual(bytes.subarray(0, shipped.length), shipped);
  });

  test('decodeUnsignedTx is strict: signed bytes, trailing bytes, oversize are refused', () => {
    const unsigned = v2();
    throwsCode(() => decodeUnsignedTx(encodeTx(signedV2())), 'CODEC_TRAILING_BYTES');
    throwsCode(() => decodeUnsignedTx(new Uint8Array(Limits.txBytes + 1)), 'CODEC_TOO_LARGE');
    assert.deepEqual(decodeUnsignedTx(encodeUnsignedTx(unsigned)), unsigned);
  });
});

describe('TxVerifier with cosigners', () => {
  const flip = (sig: Uint8Array): Uint8Array =>
    Uint8Array.from(sig, (b, i) => (i === 3 ? b ^ 1 : b));

  test('every signature must hold; only a valid tx is cached', async () => {
    const good = signedV2();
    const badCosig = {
      ...good,
      cosignatures: [good.cosignatures[0]!, flip(good.cosignatures[1]!)],
    };
    const swapped = { ...good, cosignatures: [good.cosignatures[1]!, good.cosignatures[0]!] };
    const badSender = { ...good, signature: flip(good.signature) };
    const lacking = { ...good, cosignatures: [good.cosignatures[0]!] };
    const txs = [good, badCosig, swapped, badSender, lacking];
    const hashes = txs.map((t, i) => (i === 4 ? new Uint8Array(32).fill(4) : txHash(t)));
    const verifier = new TxVerifier();
    assert.deepEqual(await verifier.verify(txs, hashes), [true, false, false, false, false]);
    assert.deepEqual([verifier.hits, verifier.misses], [0, 5]);
    assert.deepEqual(await verifier.verify(txs, hashes), [true, false, false, false, false]);
    assert.deepEqual([verifier.hits, verifier.misses], [1, 9], 'only the valid tx is a hit');
  });

  test('the batch verifier gets one item per signature, and verdicts map back per tx', async () => {
    const v1 = signTx(goldenUnsigned, goldenKeys.secretKey);
    const three = signedV2({ cosigners: cosignerKeys.map((k) => k.publicKey) });
    const bad = {
      ...three,
      cosignatures: [three.cosignatures[0]!, three.cosignatures[1]!, flip(three.cosignatures[2]!)],
    };
    const none = signedV2({ cosigners: [] });
    const txs = [v1, three, bad, none];
    const encoded = txs.map(encodeTx);
    const batches: SignatureItem[][] = [];
    const verifier = new TxVerifier({
      batch: {
        verifyBatch: async (items) => {
          batches.push([...items]);
          return items.map((it) => verifyNative(it.signature, it.message, it.publicKey));
        },
      },
    });
    assert.deepEqual(await verifier.verify(txs, encoded.map(txHashOfBytes), encoded), [
      true,
      true,
      false,
      true,
    ]);
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.length, 1 + 4 + 4 + 1);
    // Items of a tx: the sender's first, then the cosigners', all over its signing hash.
    const items = batches[0]!.slice(1, 5);
    assert.deepEqual(
      items.map((it) => toHex(it.publicKey)),
      [three.sender, ...three.cosigners].map(toHex),
    );
    for (const it of items) assert.deepEqual(it.message, txSigningHash(three));
    // Second round: the three valid txs are hits, the bad one goes out alone.
    assert.deepEqual(await verifier.verify(txs, encoded.map(txHashOfBytes), encoded), [
      true,
      true,
      false,
      true,
    ]);
    assert.equal(batches[1]!.length, 4);
  });
});

describe('receipts: failedOp', () => {
  const base: Receipt = {
    txHash: new Uint8Array(32).fill(9),
    status: 'failed',
    code: 'BANK_INSUFFICIENT_FUNDS',
    events: [{ type: 't', attributes: [['k', 'v']] }],
    failedOp: null,
  };
  const v1Bytes = encode((w) =>
    w
      .u8(1)
      .fixed(base.txHash, 32)
      .u8(1)
      .string(base.code)
      .varuint(1)
      .string('t')
      .varuint(1)
      .string('k')
      .string('v'),
  );

  test('without a failed op: the v1 bytes, unchanged', () => {
    assert.deepEqual(encodeReceipt(base), v1Bytes);
    assert.deepEqual(decodeReceipt(v1Bytes), base);
    const ok: Receipt = { ...base, status: 'ok', code: 'OK' };
    assert.equal(encodeReceipt(ok)[0], 1);
    assert.deepEqual(decodeReceipt(encodeReceipt(ok)), ok);
  });

  test('with a failed op: version 2, the v1 fields, then varuint failedOp', () => {
    for (const failedOp of [0, 3, Limits.txOps - 1]) {
      const r = { ...base, failedOp };
      const bytes = encodeReceipt(r);
      assert.deepEqual(
        bytes,
        concatBytes(Uint8Array.of(2), v1Bytes.subarray(1), Uint8Array.of(failedOp)),
      );
      assert.deepEqual(decodeReceipt(bytes), r);
    }
  });

  test('an ok receipt naming a failed op, or a failedOp out of range, is refused both ways', () => {
    const okWithOp = concatBytes(Uint8Array.of(2), v1Bytes.subarray(1), Uint8Array.of(0));
    okWithOp[33] = 0;
    throwsCode(() => decodeReceipt(okWithOp), 'CODEC_BAD_VALUE');
    throwsCode(() => encodeReceipt({ ...base, status: 'ok', failedOp: 0 }), 'CODEC_BAD_VALUE');
    const outOfRange = concatBytes(
      Uint8Array.of(2),
      v1Bytes.subarray(1),
      Uint8Array.of(Limits.txOps),
    );
    throwsCode(() => decodeReceipt(outOfRange), 'CODEC_BAD_VALUE');
    for (const failedOp of [Limits.txOps, -1, 0.5]) {
      throwsCode(() => encodeReceipt({ ...base, failedOp }), 'CODEC_BAD_VALUE');
    }
    throwsCode(
      () => decodeReceipt(concatBytes(Uint8Array.of(2), v1Bytes.subarray(1))),
      'CODEC_TRUNCATED',
    );
    throwsCode(
      () => decodeReceipt(concatBytes(Uint8Array.of(3), v1Bytes.subarray(1))),
      'CODEC_BAD_VERSION',
    );
  });
});

describe('JSON views', () => {
  test('txToJson shows the version, ops, cosigners and cosignatures', () => {
    const tx = signedV2();
    const json = txToJson(tx);
    assert.equal(json.version, 2);
    assert.deepEqual(json.ops, [
      { module: 'registry', method: 'create', args: '0607', expectRev: null },
      { module: 'registry', method: 'update', args: '0607', expectRev: 41 },
    ]);
    assert.deepEqual(json.cosigners, tx.cosigners.map(toHex));
    assert.equal(json.cosignerAddresses.length, 2);
    assert.deepEqual(json.cosignatures, tx.cosignatures.map(toHex));
    assert.equal(json.signature, toHex(tx.signature));
    const v1 = txToJson(signTx(goldenUnsigned, goldenKeys.secretKey));
    assert.equal(v1.version, 1);
    assert.deepEqual([v1.cosigners, v1.cosignatures, v1.ops.length], [[], [], 1]);
  });

  test('receiptToJson shows failedOp', () => {
    const r: Receipt = {
      txHash: new Uint8Array(32),
      status: 'failed',
      code: 'X',
      events: [],
      failedOp: 2,
    };
    assert.equal(receiptToJson(r).failedOp, 2);
    assert.equal(receiptToJson({ ...r, failedOp: null }).failedOp, null);
  });
});
