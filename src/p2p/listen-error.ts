/**
 * A p2p listen address that cannot be bound (the port is taken, the address is not this
 * host's) as one coded line naming the address and the system's reason. libp2p throws one
 * UnsupportedListenAddressesError whose message lists each failed address with its cause's
 * whole stack, and keeps no structured copy of the causes, so they are read back from that
 * message; an error of another shape is not a listen failure and is left to the caller.
 */
import { CivitasError } from '../errors/index.ts';

export interface ListenFailure {
  readonly address: string;
  /** The system error code (EADDRINUSE, EADDRNOTAVAIL, EACCES), when the cause names one. */
  readonly errno: string | undefined;
  /** Its words as Node gives them ("address already in use"). */
  readonly reason: string | undefined;
}

/** Each address libp2p could not listen on, or none when `err` is not a listen failure. */
export function listenFailures(err: unknown): ListenFailure[] {
  if (!(err instanceof Error) || err.name !== 'UnsupportedListenAddressesError') return [];
  const failures: ListenFailure[] = [];
  // One entry per address: two spaces, the multiaddr, then the cause's first line. The cause's
  // stack frames below it are indented further and never start with a slash.
  for (const entry of err.message.matchAll(/^ {2}(\/\S+): (.*)$/gm)) {
    const cause = /\b(E[A-Z]{2,})\b(?::\s*([a-z][a-z ]*[a-z]))?/.exec(entry[2]!);
    failures.push({ address: entry[1]!, errno: cause?.[1], reason: cause?.[2] });
  }
  return failures;
}

/** P2P_LISTEN_FAILED for the failures `listenFailures` found (at least one). */
export function listenError(failures: readonly ListenFailure[]): CivitasError {
  const each = failures.map((f) => {
    if (f.errno === undefined) return f.address;
    return `${f.address}: ${f.errno}${f.reason === undefined ? '' : ` (${f.reason})`}`;
  });
  return new CivitasError('P2P_LISTEN_FAILED', `p2p cannot listen on ${each.join('; ')}`, {
    addresses: failures.map((f) => ({ address: f.address, errno: f.errno })),
  });
}
