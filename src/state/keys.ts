/** Fixed-width big-endian numeric keys: LevelDB orders keys bytewise, so heights sort. */
export function heightKey(height: number): Uint8Array {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(height));
  return key;
}

export function readHeightKey(key: Uint8Array, offset = 0): number {
  return Number(new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(offset));
}

/** (height, index) → 12 bytes: receipts of one block sit together, in tx order. */
export function txLocationKey(height: number, index: number): Uint8Array {
  const key = new Uint8Array(12);
  const view = new DataView(key.buffer);
  view.setBigUint64(0, BigInt(height));
  view.setUint32(8, index);
  return key;
}

export function readTxLocation(key: Uint8Array): { height: number; index: number } {
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return { height: Number(view.getBigUint64(0)), index: view.getUint32(8) };
}

/**
 * (state key hash, rev) → 36 bytes: an object's history entries sit together, in rev order.
 * A rev is at most u32 (an object changed 4 billion times is out of reach).
 */
export function historyKey(keyHash: Uint8Array, rev: number): Uint8Array {
  const key = new Uint8Array(keyHash.length + 4);
  key.set(keyHash, 0);
  new DataView(key.buffer).setUint32(keyHash.length, rev);
  return key;
}

export function readHistoryRev(key: Uint8Array): number {
  return new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(key.byteLength - 4);
}
