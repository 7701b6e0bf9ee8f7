/**
 * Reads tree nodes from a LevelDB sublevel. The structural type below is what a `level` v10
 * sublevel with binary encodings offers:
 *
 *   const nodes = db.sublevel<Uint8Array, Uint8Array>('state-nodes',
 *     { keyEncoding: 'view', valueEncoding: 'view' });
 *   const tree = new StateTree(new LevelNodeReader(nodes));
 *   const { nodes: writes } = await tree.update(h - 1, h, changes);
 *   await db.batch(writes.map(([key, value]) =>
 *     ({ type: 'put', sublevel: nodes, key, value })), { sync: true });
 *
 * Kept structural so this module does not depend on `level` itself.
 */
import type { TreeNodeReader } from './node-reader.ts';

export interface NodeSublevel {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
}

/** The options to open the node sublevel with: raw bytes in, raw bytes out. */
export const NODE_SUBLEVEL_OPTIONS = { keyEncoding: 'view', valueEncoding: 'view' } as const;

/**
 * classic-level hands back Buffers; the tree passes node bytes on into new writes, so they
 * are re-viewed (no copy) as plain Uint8Arrays: one byte type everywhere, as STYLE.md asks.
 */
function plain(bytes: Uint8Array | undefined): Uint8Array | undefined {
  if (bytes === undefined || Object.getPrototypeOf(bytes) === Uint8Array.prototype) return bytes;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class LevelNodeReader implements TreeNodeReader {
  private readonly sublevel: NodeSublevel;

  constructor(sublevel: NodeSublevel) {
    this.sublevel = sublevel;
  }

  async getNode(key: Uint8Array): Promise<Uint8Array | undefined> {
    return plain(await this.sublevel.get(key));
  }

  async getNodes(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return (await this.sublevel.getMany(keys.slice())).map(plain);
  }
}
