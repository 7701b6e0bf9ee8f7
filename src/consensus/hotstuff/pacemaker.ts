/**
 * HotStuff's pacemaker rules (docs/HOTSTUFF.md, "Pacemaker"): who leads a view, and which
 * view the TIMEOUTs a replica has seen let it enter or join. Pure functions of their inputs.
 */

/** The leader of view `view` at `height` rotates with both, as PBFT's primary does. */
export function leaderIndex(height: number, view: number, validators: number): number {
  return (height + view) % validators;
}

/**
 * The view this replica should give up on because f + 1 validators already did: the
 * (f + 1)-th highest of the views each validator last timed out in (at least one of those
 * f + 1 is honest and gave up on every view below it). Null while fewer than f + 1 did.
 */
export function joinView(lastTimeoutViews: Iterable<number>, maxFaulty: number): number | null {
  const views = [...lastTimeoutViews].sort((a, b) => b - a);
  return views[maxFaulty] ?? null;
}

/** The highest view some quorum of TIMEOUTs (a TC) covers, from per-view counts. */
export function certifiedTimeoutView(
  counts: ReadonlyMap<number, number>,
  quorum: number,
): number | null {
  let best: number | null = null;
  for (const [view, count] of counts) {
    if (count >= quorum && (best === null || view > best)) best = view;
  }
  return best;
}
