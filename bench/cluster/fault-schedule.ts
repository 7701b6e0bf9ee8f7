/**
 * Turns a list of faults into what each node must be told at each moment: which processes
 * are down, and per node the link faults, Byzantine mode and clock offset to POST to
 * /admin/faults. Link
 * faults act on the receiving side (src/p2p/link-faults.ts), so a fault on link I–J is set on
 * both I (towards J) and J (towards I).
 */
import type { Fault, NodeRef } from './fault-spec.ts';

export interface LinkSetting {
  delayMs?: number;
  lossRate?: number;
  blocked?: boolean;
}

export interface NodeFaultSettings {
  /** Keyed by the remote validator index. */
  links: Record<string, LinkSetting>;
  byzantine: 'none' | 'equivocate' | 'silent';
  /**
   * Added to the node's clock, ms: the sum of its active skews, 0 when none is. Sent as 0
   * rather than left out (which means "the offset the node started with"): the harness
   * starts every node at 0, and a number in every request is easier to read in a log.
   */
  clockOffsetMs: number;
}

function active(f: Fault, t: number): boolean {
  return f.atMs <= t && (f.untilMs === undefined || t < f.untilMs);
}

function endpoints(a: NodeRef, b: NodeRef, n: number): Array<[number, number]> {
  const nodes = Array.from({ length: n }, (_, i) => i);
  // Unordered and unique: a link is faulted once, then in both directions by the caller.
  const pairs = new Map<string, [number, number]>();
  for (const i of a === '*' ? nodes : [a]) {
    for (const j of b === '*' ? nodes : [b]) {
      if (i !== j) pairs.set(`${Math.min(i, j)}-${Math.max(i, j)}`, [i, j]);
    }
  }
  return [...pairs.values()];
}

/** What every node's /admin/faults should hold at time t (ms after the load starts). */
export function settingsAt(faults: readonly Fault[], n: number, t: number): NodeFaultSettings[] {
  const out: NodeFaultSettings[] = Array.from({ length: n }, () => ({
    links: {},
    byzantine: 'none',
    clockOffsetMs: 0,
  }));
  const link = (i: number, j: number): LinkSetting => {
    out[i]!.links[j] ??= {};
    return out[i]!.links[j]!;
  };
  for (const f of faults) {
    if (!active(f, t)) continue;
    switch (f.kind) {
      case 'partition':
        for (let g = 0; g < f.groups.length; g++) {
          for (let h = 0; h < f.groups.length; h++) {
            if (g === h) continue;
            for (const i of f.groups[g]!) for (const j of f.groups[h]!) link(i, j).blocked = true;
          }
        }
        break;
      case 'delay':
        // Both directions: the fault is applied where messages arrive.
        for (const [i, j] of endpoints(f.a, f.b, n)) {
          link(i, j).delayMs = (link(i, j).delayMs ?? 0) + f.delayMs;
          link(j, i).delayMs = (link(j, i).delayMs ?? 0) + f.delayMs;
        }
        break;
      case 'loss':
        for (const [i, j] of endpoints(f.a, f.b, n)) {
          for (const [x, y] of [
            [i, j],
            [j, i],
          ] as const) {
            const s = link(x, y);
            // Independent losses compose: P(delivered) multiplies.
            s.lossRate = 1 - (1 - (s.lossRate ?? 0)) * (1 - f.lossRate);
          }
        }
        break;
      case 'byzantine':
        out[f.node]!.byzantine = f.mode;
        break;
      case 'skew':
        // Overlapping skews add up (checkFaults keeps the sum within a day).
        out[f.node]!.clockOffsetMs += f.offsetMs;
        break;
      case 'crash':
        break;
    }
  }
  return out;
}

/** Every moment at which some fault starts or ends, in order, within [0, durationMs]. */
export function boundaries(faults: readonly Fault[], durationMs: number): number[] {
  const times = new Set<number>();
  for (const f of faults) {
    if (f.atMs <= durationMs) times.add(f.atMs);
    if (f.untilMs !== undefined && f.untilMs <= durationMs) times.add(f.untilMs);
  }
  return [...times].sort((a, b) => a - b);
}

/** Whether any fault needs the admin API (everything but crashes). */
export function needsAdminApi(faults: readonly Fault[]): boolean {
  return faults.some((f) => f.kind !== 'crash');
}
