/**
 * What a validator signs when it votes. PREPARE and COMMIT votes share one signing format,
 * distinguished by kind, so a PREPARE can never be replayed as a COMMIT; COMMIT votes are the
 * signatures a commit certificate collects, which is why this lives in chain (certificates
 * are checked by clients and block sync) and consensus reuses it.
 */

import { encode } from '../codec/writer.ts';
import { DomainTag, HASH_LENGTH, taggedHash } from '../crypto/hash.ts';

export const VoteKind = { prepare: 1, commit: 2 } as const;
export type VoteKindName = keyof typeof VoteKind;

export function voteSigningHash(
  kind: VoteKindName,
  chainId: string,
  height: number,
  view: number,
  blockHash: Uint8Array,
): Uint8Array {
  return taggedHash(
    DomainTag.vote,
    encode((w) =>
      w
        .u8(VoteKind[kind])
        .string(chainId)
        .varuint(height)
        .varuint(view)
        .fixed(blockHash, HASH_LENGTH),
    ),
  );
}
