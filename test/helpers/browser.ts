/**
 * A real browser for tests: Debian's headless Chromium driven by playwright-core (no browser
 * download at install time; .ci/run installs Chromium with apt when it is missing). Each
 * launch gets a fresh profile in a temp dir and is closed when its scope ends, also when the
 * test fails. Pages record their console errors and uncaught exceptions, and a page that
 * had any fails the test (at `assertNoErrors()`, and at the latest when the browser closes).
 * Screenshots go to test-results/screenshots/, which the test run keeps (git ignores it).
 */
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { REPO_ROOT } from './process.ts';
import type { CleanupScope } from './temp.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** The network is closed here: these keep Chromium from dialing out on its own. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-results/screenshots');

export interface BrowserPage {
  readonly page: Page;
  /** Console errors and uncaught exceptions so far, in order. */
  readonly errors: readonly string[];
  /** Throws, listing them, if the page logged an error or threw. */
  assertNoErrors(): void;
  /** Saves a full-page PNG as test-results/screenshots/<name>.png; returns its path. */
  screenshot(name: string): Promise<string>;
}

export interface TestBrowser {
  /** A new tab at `url`, watched from before it starts loading; `viewport` in CSS pixels. */
  open(url: string, opts?: { viewport?: { width: number; height: number } }): Promise<BrowserPage>;
  /** Closes Chromium (once); then throws if any page had errors. */
  close(): Promise<void>;
}

/** Throws an error that says how to install Chromium when it is missing. */
export function assertChromium(): void {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(
      `browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get install chromium\` (.ci/run does)`,
    );
  }
}

export async function launchBrowser(scope: CleanupScope): Promise<TestBrowser> {
  assertChromium();
  // Not tempDir: the profile must outlive Chromium, whatever order cleanups run in.
  const profile = await mkdtemp(join(tmpdir(), 'civitas-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  const pages: BrowserPage[] = [];
  let closed: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    closed ??= context.close().finally(() => rm(profile, { recursive: true, force: true }));
    await closed;
    const failed = pages.flatMap((p) => p.errors.map((e) => `${p.page.url()}: ${e}`));
    if (failed.length > 0) throw new Error(`browser pages had errors:\n${failed.join('\n')}`);
  };
  scope.after(close);

  return {
    close,
    open: async (url, opts = {}) => {
      const page = await context.newPage();
      if (opts.viewport !== undefined) await page.setViewportSize(opts.viewport);
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
      });
      page.on('pageerror', (err) => errors.push(`uncaught: ${err.stack ?? err.message}`));
      const watched: BrowserPage = {
        page,
        errors,
        assertNoErrors: () => {
          if (errors.length > 0) throw new Error(`the page had errors:\n${errors.join('\n')}`);
        },
        screenshot: async (name) => {
          if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new Error(`bad screenshot name ${name}`);
          await mkdir(SCREENSHOT_DIR, { recursive: true });
          const path = join(SCREENSHOT_DIR, `${name}.png`);
          await page.screenshot({ path, fullPage: true });
          return path;
        },
      };
      pages.push(watched);
      await page.goto(url);
      return watched;
    },
  };
}
