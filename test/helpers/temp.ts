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
