/**
 * Many small byte arrays carved out of a few large buffers. An update encodes every node it
 * writes (hundreds of 80–661-byte arrays per block); each `new Uint8Array(n)` above V8's
 * on-heap limit of 64 bytes is a separate off-heap allocation with its own bookkeeping and
 * GC finalisation, while a view into a shared chunk is a plain heap object.
 *
 * The price is retention: a chunk lives while any view into it does. One slab per update
 * keeps a block's nodes together, so they mostly die together (a rejected block's slab goes
 * with it), chunks are small, and the committed-node cache counts every chunk its entries
 * hold in full against its budget (node-cache.ts), so a few long-lived nodes pinning many
 * chunks make the cache evict rather than grow past its bound.
 */
const CHUNK_BYTES = 8 * 1024;
/** Larger requests get their own buffer: they would waste most of a chunk's tail. */
const MAX_SLAB_REQUEST = CHUNK_BYTES / 4;

export class ByteSlab {
  private chunk: ArrayBuffer | undefined;
  private used = 0;

  take(length: number): Uint8Array {
    if (length > MAX_SLAB_REQUEST) return new Uint8Array(length);
    if (this.chunk === undefined || this.used + length > CHUNK_BYTES) {
      this.chunk = new ArrayBuffer(CHUNK_BYTES);
      this.used = 0;
    }
    const out = new Uint8Array(this.chunk, this.used, length);
    this.used += length;
    return out;
  }
}
