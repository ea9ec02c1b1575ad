/**
 * Support for the browser end-to-end tests: Debian's Chromium driven through playwright-core, a built
 * web UI for the server to serve, and screenshots kept under `test-results/screenshots/` for CI.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const webIndex = join(repoRoot, 'dist/web/index.html');
const screenshotDir = join(repoRoot, 'test-results/screenshots');

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser suite cannot run here, or null when it can. */
export const browserSkipReason: string | null = existsSync(chromiumPath)
  ? null
  : `browser tests skipped: no Chromium at ${chromiumPath} (install Debian's chromium or set CHROMIUM_PATH)`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

function newestChange(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the web UI into dist/web when it is missing, or older than its sources (so a UI change is
 * never tested against a stale bundle). Must run before the server starts: it locates dist/web once.
 */
export async function ensureWebBuilt(): Promise<void> {
  const sources = Math.max(newestChange(join(repoRoot, 'web/src')), statSync(join(repoRoot, 'web/index.html')).mtimeMs);
  if (existsSync(webIndex) && statSync(webIndex).mtimeMs >= sources) return;
  await promisify(execFile)('npx', ['vite', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
    cwd: repoRoot,
    timeout: 120_000,
  });
  if (!existsSync(webIndex)) throw new Error(`vite build finished but ${webIndex} is missing`);
}

/** Saves a screenshot as `test-results/screenshots/<name>.png` and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Collects uncaught exceptions thrown in the page, so a test can insist there were none. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

/** The open session's id, read from the `#/s/{id}` address the UI keeps. */
export function openSessionId(page: Page): string {
  const match = /#\/s\/([^/?#]+)/.exec(page.url());
  if (!match) throw new Error(`no session is open at ${page.url()}`);
  return decodeURIComponent(match[1]!);
}

export const wordCount = (text: string): number => text.split(/\s+/).filter(Boolean).length;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
