/** Temporary directories that are removed when the test (or suite) that made them ends. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Anything with an `after(fn)` hook: a TestContext, or `{ after }` from node:test in a suite. */
export interface CleanupScope {
  after(fn: () => unknown): void;
}

export async function tempDir(scope: CleanupScope, prefix = 'civitas-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  scope.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Cleanups registered from suite hooks (where `after` cannot be called), run last-first by
 * `run()` in the suite's own `after`. Every one runs even when another throws (a node left
 * running would keep the test process alive); then the errors are thrown.
 */
export function suiteScope(): CleanupScope & { run(): Promise<void> } {
  const fns: Array<() => unknown> = [];
  return {
    after: (fn) => {
      fns.push(fn);
    },
    run: async () => {
      const errors: unknown[] = [];
      for (const fn of fns.reverse()) {
        try {
          await fn();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, 'suite cleanups failed');
    },
  };
}
