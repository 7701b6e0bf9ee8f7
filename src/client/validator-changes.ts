/**
 * Following validator-set changes as a light client (adjacent verification: consortium sets
 * change rarely). Starting from the set a client trusts (its own genesis), each change is
 * accepted only if the block that made it — at height fromHeight − 1 — carries a certificate
 * from the set trusted at that height, and its header names the new set (nextValidatorSetHash).
 * A node cannot forge a change without a quorum of the previous set's keys; one that hides a
 * change is caught at the next change, whose block names the hidden set as its own, or when a
 * header's validatorSetHash is not the set the client expects there (verify.ts).
 */
import type { ValidatorChangesResponse } from '../api/types.ts';
import {
  decodeCertificate,
  decodeHeader,
  headerHash,
  makeValidatorSet,
  type SignatureCheck,
  type ValidatorSet,
  verifyCertificate,
} from '../chain/index.ts';
import { equalBytes, fromHex } from '../crypto/bytes.ts';
import { verifyNoble } from '../crypto/ed25519.ts';
import { CivitasError } from '../errors/index.ts';

/** The validator sets a client verified, from genesis on. */
export interface TrustedValidatorChanges {
  readonly changes: ReadonlyArray<{ readonly fromHeight: number; readonly set: ValidatorSet }>;
  /** Verified up to this height (the answering node's tip + 1): later heights may differ. */
  readonly upTo: number;
}

/** The set the client trusts at `height`: genesis's, or the last verified change before it. */
export function trustedSetAt(
  genesisSet: ValidatorSet,
  changes: TrustedValidatorChanges | undefined,
  height: number,
): ValidatorSet {
  let set = genesisSet;
  for (const c of changes?.changes ?? []) if (c.fromHeight <= height) set = c.set;
  return set;
}

function fail(message: string): never {
  throw new CivitasError('VERIFY_VALIDATOR_CHANGE', message);
}

/**
 * Checks every change in a GET /validators/changes answer, in order, against the sets
 * verified before it. Throws VERIFY_VALIDATOR_CHANGE naming the first that fails.
 */
export function verifyValidatorChanges(
  trusted: { chainId: string; validators: ValidatorSet },
  response: ValidatorChangesResponse,
  check: SignatureCheck = verifyNoble,
): TrustedValidatorChanges {
  const changes: Array<{ fromHeight: number; set: ValidatorSet }> = [];
  let previous = 1;
  for (const c of response.changes) {
    const at = c.fromHeight - 1;
    if (!Number.isSafeInteger(c.fromHeight) || c.fromHeight <= previous) {
      fail(`change at height ${c.fromHeight} is not after the one at ${previous}`);
    }
    let set: ValidatorSet;
    let header: ReturnType<typeof decodeHeader>;
    let certificate: ReturnType<typeof decodeCertificate>;
    try {
      set = makeValidatorSet(c.validators.map((v) => fromHex(v, 32)));
      header = decodeHeader(fromHex(c.headerBytes));
      certificate = decodeCertificate(fromHex(c.certificateBytes));
    } catch (err) {
      fail(`change at ${c.fromHeight} does not decode: ${(err as Error).message}`);
    }
    if (header.chainId !== trusted.chainId) fail(`change at ${c.fromHeight}: another chain`);
    if (header.height !== at) fail(`change at ${c.fromHeight}: the header is not of height ${at}`);
    const signers = trustedSetAt(trusted.validators, { changes, upTo: at }, at);
    // A change left out before this one: the block names the set it made, whose quorum may
    // still pass for one of the set before it (when it only added a member).
    if (!equalBytes(header.validatorSetHash, signers.hash)) {
      fail(`change at ${c.fromHeight}: block ${at} names another validator set than the client's`);
    }
    try {
      verifyCertificate(
        certificate,
        {
          chainId: trusted.chainId,
          height: at,
          blockHash: headerHash(header),
          validators: signers,
        },
        check,
      );
    } catch (err) {
      fail(`change at ${c.fromHeight}: certificate of block ${at}: ${(err as Error).message}`);
    }
    if (!equalBytes(header.nextValidatorSetHash, set.hash)) {
      fail(`change at ${c.fromHeight}: block ${at} names another next set`);
    }
    changes.push({ fromHeight: c.fromHeight, set });
    previous = c.fromHeight;
  }
  return { changes, upTo: response.height + 1 };
}
