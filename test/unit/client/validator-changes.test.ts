/**
 * A light client following validator-set changes: a change is trusted only when the block
 * that made it is certified by the set before it and names the new set; a client that was
 * not told of a change notices at the next change, whose block names the hidden set, or at
 * the first header signed by the new set.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ValidatorChangesResponse } from '../../../src/api/types.ts';
import {
  type CommitCertificate,
  encodeCertificate,
  encodeHeader,
  type Header,
  headerHash,
  makeValidatorSet,
  voteSigningHash,
} from '../../../src/chain/index.ts';
import { trustedSetAt, verifyValidatorChanges } from '../../../src/client/validator-changes.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { generateKeyPair, type KeyPair, sign, verifyNative } from '../../../src/crypto/ed25519.ts';
import { isCivitasError } from '../../../src/errors/index.ts';

const CHAIN = 'changes-test';
const keysA = Array.from({ length: 4 }, () => generateKeyPair());
const keysB = [...keysA.slice(1), generateKeyPair()];
const setA = makeValidatorSet(keysA.map((k) => k.publicKey));
const setB = makeValidatorSet(keysB.map((k) => k.publicKey));

function header(height: number, next: Uint8Array): Header {
  const z = new Uint8Array(32);
  return {
    chainId: CHAIN,
    height,
    parentHash: z,
    timestamp: 1_700_000_000_000 + height,
    proposer: keysA[0]!.publicKey,
    txRoot: z,
    receiptRoot: z,
    stateRoot: z,
    validatorSetHash: setA.hash,
    nextValidatorSetHash: next,
    lastCommitHash: z,
  };
}

function certify(h: Header, signers: readonly KeyPair[], count = 3): CommitCertificate {
  const blockHash = headerHash(h);
  return {
    height: h.height,
    view: 0,
    blockHash,
    signatures: signers.slice(0, count).map((k, validatorIndex) => {
      const timestamp = h.timestamp + 1;
      const message = voteSigningHash('commit', CHAIN, h.height, 0, blockHash, timestamp);
      return { validatorIndex, signature: sign(message, k.secretKey), timestamp };
    }),
  };
}

function response(h: Header, cert: CommitCertificate, next = setB): ValidatorChangesResponse {
  return {
    height: h.height + 5,
    changes: [
      {
        fromHeight: h.height + 1,
        validators: next.validators.map(toHex),
        headerBytes: toHex(encodeHeader(h)),
        certificateBytes: toHex(encodeCertificate(cert)),
      },
    ],
  };
}

const refused = (f: () => unknown) =>
  assert.throws(f, (err: unknown) => isCivitasError(err) && err.code === 'VERIFY_VALIDATOR_CHANGE');

describe('validator changes, as a light client follows them', () => {
  const trusted = { chainId: CHAIN, validators: setA };

  test('a change certified by the set before it is trusted from the next height', () => {
    const h = header(9, setB.hash);
    const changes = verifyValidatorChanges(trusted, response(h, certify(h, keysA)), verifyNative);
    assert.equal(changes.changes.length, 1);
    assert.equal(changes.upTo, 15);
    assert.equal(trustedSetAt(setA, changes, 9), setA);
    assert.deepEqual(trustedSetAt(setA, changes, 10).hash, setB.hash);
  });

  test('a change signed by the new set itself, or naming another set, is refused', () => {
    const h = header(9, setB.hash);
    refused(() => verifyValidatorChanges(trusted, response(h, certify(h, keysB)), verifyNative));
    const wrongNext = header(9, setA.hash);
    refused(() =>
      verifyValidatorChanges(trusted, response(wrongNext, certify(wrongNext, keysA)), verifyNative),
    );
    // A header of another height than the change's.
    const r = response(h, certify(h, keysA));
    refused(() =>
      verifyValidatorChanges(
        trusted,
        { ...r, changes: [{ ...r.changes[0]!, fromHeight: 12 }] },
        verifyNative,
      ),
    );
  });

  test('a change left out is caught at the next one, whose block names the hidden set', () => {
    // A → C adds a member at 10; C → D at 20 is certified by C's first four: A's own keys.
    const keysC = [...keysA, generateKeyPair()];
    const setC = makeValidatorSet(keysC.map((k) => k.publicKey));
    const setD = makeValidatorSet(keysC.slice(1).map((k) => k.publicKey));
    const first = header(9, setC.hash);
    const second = { ...header(19, setD.hash), validatorSetHash: setC.hash };
    const both: ValidatorChangesResponse = {
      height: 25,
      changes: [
        response(first, certify(first, keysA), setC).changes[0]!,
        response(second, certify(second, keysC, 4), setD).changes[0]!,
      ],
    };
    assert.equal(verifyValidatorChanges(trusted, both, verifyNative).changes.length, 2);
    refused(() =>
      verifyValidatorChanges(trusted, { ...both, changes: [both.changes[1]!] }, verifyNative),
    );
  });
});
