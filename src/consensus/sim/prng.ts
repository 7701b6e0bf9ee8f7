/**
 * A small seeded PRNG: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit
 * state, passes PractRand), seeded through splitmix32.
 *
 * Written here rather than taken from a library on purpose: a failing seed must replay the
 * same run forever, so the generator's exact output sequence is part of the simulator's
 * contract and must not change with a dependency upgrade; and Math.random cannot be seeded.
 * Every random choice in a run derives from one seed through named forks, so adding a new
 * random decision in one place does not reshuffle every other stream.
 */

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private readonly seed: number;
  private readonly stream: number;

  constructor(seed: number, stream = 0) {
    this.seed = seed;
    this.stream = stream;
    const mix = splitmix32(
      (seed >>> 0) ^ Math.imul(stream >>> 0, 0x27d4eb2d) ^ Math.floor(seed / 2 ** 32),
    );
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [low, high). */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length)]!;
  }

  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.nextU32() & 0xff;
    return out;
  }

  /** An independent stream named by `label`: depends on the seed and label, not on use. */
  fork(label: string): Prng {
    return new Prng(this.seed, hashLabel(`${this.stream}/${label}`));
  }
}
