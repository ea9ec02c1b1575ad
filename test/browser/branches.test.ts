/**
 * Versions in the web UI, in a real Chromium: regenerate an answer, edit a message (a pencil), flip
 * between versions with "‹ 1/2 ›", and find the chosen version again after a reload. Against a
 * scripted upstream whose answers are numbered, so each version can be told apart.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { say, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startTestServer, upstreamOptions } from '../support/test-service.js';
import { browserSkipReason, ensureWebBuilt, launchChromium, openSessionId, pageErrors, screenshot } from './browser.js';

const WAIT_MS = 20_000;

if (browserSkipReason) console.warn(browserSkipReason);

const texts = async (page: Page, testId: string) => (await page.getByTestId(testId).allTextContents()).map((text) => text.trim());

async function waitForIdle(page: Page): Promise<void> {
  await page.getByTestId('send').waitFor({ state: 'visible' });
  await page.getByTestId('stop').waitFor({ state: 'detached' });
}

describe.skipIf(browserSkipReason !== null)('message versions in the web UI', () => {
  let browser: Browser;
  let upstream: FakeUpstream;
  let server: RunningServer;
  let answers = 0;

  beforeAll(async () => {
    await ensureWebBuilt();
    upstream = await startFakeUpstream();
    upstream.setDefault((request) => (request.body.tools?.length ? say(`Answer number ${++answers}.`) : say('Title')));
    [browser, server] = await Promise.all([launchChromium(), startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' }))]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await upstream?.close();
  });

  it('regenerates, edits and flips between versions, and keeps the chosen one across a reload', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    const errors = pageErrors(page);
    try {
      await page.goto(`${server.url}/`);
      await page.getByTestId('message-input').fill('What is a good name for a cat?');
      await page.getByTestId('message-input').press('Enter');
      await expect
        .poll(() => texts(page, 'message-assistant'), { timeout: WAIT_MS })
        .toEqual([expect.stringContaining('Answer number 1.')]);
      await waitForIdle(page);

      // Regenerate: a second answer, shown as version 2 of 2.
      await page.getByRole('button', { name: 'Regenerate answer' }).click();
      await expect
        .poll(() => texts(page, 'message-assistant'), { timeout: WAIT_MS })
        .toEqual([expect.stringContaining('Answer number 2.')]);
      await expect
        .poll(() => page.getByTestId('message-assistant').getByTestId('version-position').textContent(), { timeout: WAIT_MS })
        .toBe('2/2');
      await page.getByTestId('message-assistant').getByRole('button', { name: 'Previous version' }).click();
      await expect
        .poll(() => texts(page, 'message-assistant'), { timeout: WAIT_MS })
        .toEqual([expect.stringContaining('Answer number 1.')]);

      // Edit the question: a new version of it, with its own answer.
      await page.getByRole('button', { name: 'Edit message' }).click();
      await page.getByLabel('Edit your message').fill('What is a good name for a dog?');
      await page.locator('.message__edit').getByRole('button', { name: 'Send' }).click();
      await expect
        .poll(() => texts(page, 'message-assistant'), { timeout: WAIT_MS })
        .toEqual([expect.stringContaining('Answer number 3.')]);
      await expect
        .poll(() => page.getByTestId('message-user').getByTestId('version-position').textContent(), { timeout: WAIT_MS })
        .toBe('2/2');
      expect(await texts(page, 'message-user')).toEqual([expect.stringContaining('dog')]);
      await screenshot(page, 'branches-edited');

      // Flip back to the first question: its latest answer (the regenerated one) comes with it, and
      // the chosen versions stay after a reload.
      await page.getByTestId('message-user').getByRole('button', { name: 'Previous version' }).click();
      await expect.poll(() => texts(page, 'message-user'), { timeout: WAIT_MS }).toEqual([expect.stringContaining('cat')]);
      expect(await texts(page, 'message-assistant')).toEqual([expect.stringContaining('Answer number 2.')]);
      await page.getByTestId('message-assistant').getByRole('button', { name: 'Previous version' }).click();
      await expect
        .poll(() => texts(page, 'message-assistant'), { timeout: WAIT_MS })
        .toEqual([expect.stringContaining('Answer number 1.')]);
      const sessionId = openSessionId(page);
      await page.reload();
      await expect.poll(() => texts(page, 'message-user'), { timeout: WAIT_MS }).toEqual([expect.stringContaining('cat')]);
      expect(await texts(page, 'message-assistant')).toEqual([expect.stringContaining('Answer number 1.')]);
      expect(await page.getByTestId('message-user').getByTestId('version-position').textContent()).toBe('1/2');
      expect(await page.getByTestId('message-assistant').getByTestId('version-position').textContent()).toBe('1/2');
      const stored = (await (await fetch(`${server.url}/api/chat/sessions/${sessionId}`)).json()) as { messages: { role: string }[] };
      expect(stored.messages.map((message) => message.role)).toEqual(['user', 'assistant']);

      // A message sent from this page, edited at once: it branches from the answer before it.
      await page.getByTestId('message-input').fill('And for a bird?');
      await page.getByTestId('message-input').press('Enter');
      await expect.poll(() => texts(page, 'message-assistant'), { timeout: WAIT_MS }).toHaveLength(2);
      await waitForIdle(page);
      await page.getByRole('button', { name: 'Edit message' }).last().click();
      await page.getByLabel('Edit your message').fill('And for a fish?');
      await page.locator('.message__edit').getByRole('button', { name: 'Send' }).click();
      await expect
        .poll(() => page.getByTestId('message-user').last().getByTestId('version-position').textContent(), { timeout: WAIT_MS })
        .toBe('2/2');
      expect(await texts(page, 'message-user')).toEqual([expect.stringContaining('cat'), expect.stringContaining('fish')]);
      expect(await texts(page, 'message-assistant')).toEqual([
        expect.stringContaining('Answer number 1.'),
        expect.stringContaining('Answer number 5.'),
      ]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
