/**
 * The web UI when the database goes away as an answer ends: the whole answer stays on screen with a
 * calm note that saving is pending (not an error), and once the database is back a reload shows the
 * answer stored. In a real Chromium, against a PostgreSQL server this test kills and restarts.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startTestServer, upstreamOptions } from '../support/test-service.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { waitUntil } from '../support/wait-until.js';
import { browserSkipReason, ensureWebBuilt, launchChromium, openSessionId, pageErrors, screenshot } from './browser.js';

const WAIT_MS = 20_000;
const words = (text: string) => text.match(/\S+\s*/g)!.map((word) => ({ text: word }));

describe.skipIf(browserSkipReason !== null)('web chat when the database goes away as an answer ends', () => {
  let browser: Browser;
  let postgres: ThrowawayPostgres;
  let upstream: FakeUpstream;
  let server: RunningServer;

  beforeAll(async () => {
    await ensureWebBuilt();
    [postgres, upstream, browser] = await Promise.all([startThrowawayPostgres(), startFakeUpstream(), launchChromium()]);
    server = await startTestServer(
      upstreamOptions(upstream.url, { databaseUrl: await postgres.createDatabase('web'), dataDir: 'memory://', runLeaseMs: 1500 }),
    );
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await postgres?.start().catch(() => {});
    await server?.close();
    await upstream?.close();
    await postgres?.destroy();
  });

  it('shows the whole answer and a note that saving is pending, then the stored answer after a reload', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    context.setDefaultTimeout(WAIT_MS);
    const page: Page = await context.newPage();
    const errors = pageErrors(page);
    try {
      upstream.enqueue({
        steps: [...words('Here is the first half, '), { gate: 'web' }, ...words('and here the second half.')],
        finishReason: 'stop',
      });
      await page.goto(`${server.url}/`);
      await page.getByTestId('message-input').fill('Hello');
      await page.getByTestId('message-input').press('Enter');
      await expect
        .poll(async () => (await page.getByTestId('message-assistant').last().textContent()) ?? '', { timeout: WAIT_MS })
        .toContain('first half');

      await postgres.kill();
      upstream.release('web');
      const note = page.getByTestId('save-pending');
      await note.waitFor({ state: 'visible' });
      expect(await note.textContent()).toMatch(/saving it is delayed.*saved automatically/);
      expect(await page.getByTestId('message-assistant').last().textContent()).toContain('and here the second half.');
      await screenshot(page, 'save-pending');

      await postgres.start();
      const sessionId = openSessionId(page);
      await waitUntil(async () => {
        const response = await fetch(`${server.url}/api/chat/sessions/${sessionId}`);
        return response.status === 200 && (await response.json()).status === 'idle';
      }, WAIT_MS);
      await page.reload();
      await expect
        .poll(async () => (await page.getByTestId('message-assistant').last().textContent()) ?? '', { timeout: WAIT_MS })
        .toContain('and here the second half.');
      expect(await page.getByTestId('save-pending').count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
