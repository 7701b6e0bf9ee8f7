/**
 * How the tree reads stored nodes. The tree never writes: an update returns its new nodes and
 * the caller puts them into its own atomic block-commit batch (or into an overlay, to execute
 * a block on top of another block that is not committed yet).
 */
import { nodeKeyString } from './node-key.ts';

export type NodeWrite = [key: Uint8Array, value: Uint8Array];

export interface TreeNodeReader {
  /** The stored node bytes, or undefined when no node has this key. */
  getNode(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Optional batched read (one round trip for a whole tree level); same order as `keys`. */
  getNodes?(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
}

export function readNodes(
  reader: TreeNodeReader,
  keys: readonly Uint8Array[],
): Promise<Array<Uint8Array | undefined>> {
  if (keys.length === 1) return reader.getNode(keys[0]!).then((v) => [v]);
  if (reader.getNodes !== undefined) return reader.getNodes(keys);
  return Promise.all(keys.map((k) => reader.getNode(k)));
}

/** Nodes held in memory: tests, tools, and the pending writes of uncommitted blocks. */
export class MemoryNodeReader implements TreeNodeReader {
  private readonly nodes = new Map<string, Uint8Array>();

  constructor(writes: Iterable<NodeWrite> = []) {
    this.apply(writes);
  }

  /** Adds nodes. Node keys are write-once, so a key already present keeps its first value. */
  apply(writes: Iterable<NodeWrite>): void {
    for (const [key, value] of writes) {
      const k = nodeKeyString(key);
      if (!this.nodes.has(k)) this.nodes.set(k, value);
    }
  }

  get size(): number {
    return this.nodes.size;
  }

  async getNode(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.nodes.get(nodeKeyString(key));
  }

  async getNodes(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return keys.map((k) => this.nodes.get(nodeKeyString(k)));
  }

  /** Whether a node key is held here (not in any base). */
  has(key: Uint8Array): boolean {
    return this.nodes.has(nodeKeyString(key));
  }
}

/**
 * Pending node writes over a base reader. Executing block h+1 speculatively on top of
 * uncommitted block h: `new OverlayNodeReader(committedReader, nodesOfBlockH)`; overlays
 * stack. Discarding a speculative block is dropping its overlay: nothing else was touched.
 */
export class OverlayNodeReader implements TreeNodeReader {
  private readonly base: TreeNodeReader;
  private readonly pending: MemoryNodeReader;

  constructor(base: TreeNodeReader, pending: Iterable<NodeWrite> = []) {
    this.base = base;
    this.pending = new MemoryNodeReader(pending);
  }

  add(writes: Iterable<NodeWrite>): void {
    this.pending.apply(writes);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  async getNode(key: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.pending.getNode(key)) ?? this.base.getNode(key);
  }

  async getNodes(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    const out = await this.pending.getNodes(keys);
    const missing: number[] = [];
    for (let i = 0; i < out.length; i++) if (out[i] === undefined) missing.push(i);
    if (missing.length === 0) return out;
    const fromBase = await readNodes(
      this.base,
      missing.map((i) => keys[i]!),
    );
    for (let j = 0; j < missing.length; j++) out[missing[j]!] = fromBase[j];
    return out;
  }
}
