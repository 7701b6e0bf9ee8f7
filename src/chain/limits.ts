/**
 * Size limits that decoders enforce before allocating. They are part of the protocol: a
 * block one node accepts must not be rejected by another for size, so limits that bound
 * what is hashed live here and only change with a protocol version.
 */
export const Limits = {
  chainIdBytes: 64,
  moduleNameBytes: 32,
  methodNameBytes: 32,
  txArgsBytes: 16 * 1024,
  txBytes: 17 * 1024,
  /** Ops in one (v2) tx, executed all or nothing. */
  txOps: 8,
  /** Cosigners of one (v2) tx, besides its sender. */
  txCosigners: 7,
  blockTxs: 20_000,
  blockBytes: 32 * 1024 * 1024,
  validators: 256,
  eventsPerReceipt: 32,
  eventAttributes: 16,
  eventStringBytes: 256,
  receiptCodeBytes: 64,
  merkleProofSiblings: 64,
  /**
   * How many recent blocks execution may look back on (hashes, certificate signers): the
   * bound of params.validatorChangeSpacing.
   */
  recentBlocks: 64,
} as const;
