/**
 * Block time from the quorum ("BFT time", as in CometBFT): no single clock decides it.
 *
 * - Every COMMIT vote signs its voter's clock reading; an honest voter never signs a time at
 *   or before the time of the block it commits (`commitVoteTime`).
 * - Block h ≥ 2 takes the lower median of the vote times in the certificate it carries
 *   (`lastCommit`, the certificate of block h − 1); block 1, which carries none, takes the
 *   genesis time + 1 ms.
 *
 * Why it is safe: a certificate holds k ≥ 2f + 1 votes of which at most f are Byzantine or
 * skewed, and the lower median (sorted index ⌊(k − 1)/2⌋) has at least f votes on each side,
 * so it lies between the smallest and the largest honest time. Hence the time is
 * deterministic (every replica recomputes it from signed data), monotonic (every honest
 * time exceeds the parent's), and within the honest validators' clocks whatever the others
 * sign. The local clock never judges a certified block.
 */

import type { CommitCertificate } from './certificate.ts';

/** The lower median of the certificate's vote times. */
export function certificateTime(c: CommitCertificate): number {
  const times = c.signatures.map((s) => s.timestamp).sort((a, b) => a - b);
  if (times.length === 0) return 0;
  return times[(times.length - 1) >> 1]!;
}

/** The time block `height` must carry, given the certificate it carries. */
export function blockTimeOf(
  height: number,
  lastCommit: CommitCertificate | null,
  genesisTime: number,
): number {
  if (height === 1 || lastCommit === null) return genesisTime + 1;
  return certificateTime(lastCommit);
}

/** The time an honest validator signs into its COMMIT for a block of time `blockTime`. */
export function commitVoteTime(localNow: number, blockTime: number): number {
  return Math.max(Math.floor(localNow), blockTime + 1);
}
