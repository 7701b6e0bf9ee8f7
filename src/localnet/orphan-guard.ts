/**
 * Validator processes die with the process that started them. Each live child is SIGKILLed
 * on 'exit', and on SIGINT / SIGTERM / SIGHUP when nothing else handles the signal: Node's
 * default action ends the process without an 'exit' event, which would leave the validators
 * running on their ports. A handler of the caller's (the devnet's Ctrl-C, the test runner's)
 * takes precedence; it stops the network itself or calls process.exit, which fires 'exit'.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let installed = false;

function killLive(): void {
  for (const child of live) child.kill('SIGKILL');
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', killLive);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      if (process.listenerCount(signal) > 1) return;
      killLive();
      // Die of the signal as if nobody had listened, so the exit status stays the usual one.
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Kills `child` with this process unless it has exited first. */
export function guardChild(child: ChildProcess): void {
  install();
  live.add(child);
  const forget = (): void => {
    live.delete(child);
  };
  child.once('exit', forget);
  child.once('error', forget);
}
