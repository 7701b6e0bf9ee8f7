/**
 * What a validator signs when it votes. PREPARE and COMMIT votes share one signing format,
 * distinguished by kind, so a PREPARE can never be replayed as a COMMIT; COMMIT votes are the
 * signatures a commit certificate collects, which is why this lives in chain (certificates
 * are checked by clients and block sync) and consensus reuses it.
 *
 * A COMMIT also signs the voter's clock reading (ms since epoch): the next block's time is
 * the median of those readings in the certificate it carries (block-time.ts), so the vote
 * time is as binding as the vote. Kind bytes: 1 PREPARE, 2 COMMIT without a time (certificate
 * v1, decoded for old data only), 3 COMMIT with a time.
 */

import { encode } from '../codec/writer.ts';
import { DomainTag, HASH_LENGTH, taggedHash } from '../crypto/hash.ts';

export const VoteKind = { prepare: 1, untimedCommit: 2, commit: 3 } as const;
export type VoteKindName = 'prepare' | 'commit';

/**
 * The hash a vote signs. `commitTime` is the COMMIT's signed clock reading; PREPAREs carry
 * none, and a COMMIT with `commitTime` null is the untimed form of certificate v1.
 */
export function voteSigningHash(
  kind: VoteKindName,
  chainId: string,
  height: number,
  view: number,
  blockHash: Uint8Array,
  commitTime: number | null = null,
): Uint8Array {
  const timed = kind === 'commit' && commitTime !== null;
  const kindByte =
    kind === 'prepare' ? VoteKind.prepare : timed ? VoteKind.commit : VoteKind.untimedCommit;
  return taggedHash(
    DomainTag.vote,
    encode((w) => {
      w.u8(kindByte).string(chainId).varuint(height).varuint(view).fixed(blockHash, HASH_LENGTH);
      if (timed) w.varuint(commitTime);
    }),
  );
}
