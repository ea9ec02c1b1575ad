/**
 * The web UI end to end in a real Chromium: the offline demo (answers, agent cards, library), and with
 * a scripted upstream the things a person does mid-answer — stop it, reload the page — and what they
 * see when the model provider fails. Each test saves a screenshot under `test-results/screenshots/`.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { say, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startTestServer, upstreamOptions } from '../support/test-service.js';
import { browserSkipReason, ensureWebBuilt, launchChromium, openSessionId, pageErrors, screenshot, sleep, wordCount } from './browser.js';

const WAIT_MS = 20_000;
const GREETING = 'Hello, how are you?';
const FIND_AGENT = "Please find me an agent that can help me with my business. Use the query 'moneny printing agent'";

if (browserSkipReason) console.warn(browserSkipReason);

/** Types a message into the composer and sends it with Enter, as a person would. */
async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('message-input').fill(text);
  await page.getByTestId('message-input').press('Enter');
}

const lastAnswer = (page: Page) => page.getByTestId('message-assistant').last();
const answerText = async (page: Page) => ((await lastAnswer(page).textContent()) ?? '').trim();

/** Waits until no answer is streaming: the composer shows Send again instead of Stop. */
async function waitForIdle(page: Page): Promise<void> {
  await page.getByTestId('send').waitFor({ state: 'visible' });
  await page.getByTestId('stop').waitFor({ state: 'detached' });
}

describe.skipIf(browserSkipReason !== null)('web chat in Chromium', () => {
  let browser: Browser;
  let demo: RunningServer;
  let upstream: FakeUpstream;
  let real: RunningServer;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  const getJson = async (server: RunningServer, path: string) => {
    const response = await fetch(`${server.url}${path}`);
    expect(response.status, `GET ${path}`).toBe(200);
    return response.json();
  };

  beforeAll(async () => {
    // The server looks for dist/web when it starts, so the UI must be built first.
    await ensureWebBuilt();
    upstream = await startFakeUpstream();
    [browser, demo, real] = await Promise.all([
      launchChromium(),
      startTestServer({ dataDir: 'memory://' }),
      startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' })),
    ]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([demo?.close(), real?.close()]);
    await upstream?.close();
  });

  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    context.setDefaultTimeout(WAIT_MS);
    page = await context.newPage();
    errors = pageErrors(page);
  });

  afterEach(async () => {
    await context?.close();
    expect(errors, 'uncaught errors in the page').toEqual([]);
  });

  it('chats with the offline demo model, finds an agent and adds it to the library', async () => {
    await page.goto(`${demo.url}/`);
    await expect.poll(() => page.getByTestId('demo-banner').textContent(), { timeout: WAIT_MS }).toMatch(/offline demo/i);
    await page.getByTestId('usage-meter').waitFor();

    await send(page, GREETING);
    await expect.poll(() => page.getByTestId('message-user').first().textContent(), { timeout: WAIT_MS }).toBe(GREETING);
    await expect.poll(() => answerText(page), { timeout: WAIT_MS }).toMatch(/demo/i);
    await waitForIdle(page);

    await send(page, FIND_AGENT);
    const firstCard = page.getByTestId('agent-card').first();
    await firstCard.waitFor();
    expect(await page.getByTestId('agent-card').count()).toBeGreaterThanOrEqual(1);
    expect(await firstCard.getByRole('heading').textContent()).toBe('Money Printing Agent');
    await waitForIdle(page);
    expect(await page.getByTestId('message-assistant').count()).toBe(2);
    expect(await answerText(page)).toContain('Money Printing Agent');

    await firstCard.getByRole('button', { name: 'Add Money Printing Agent to library' }).click();
    await firstCard.getByRole('button', { name: 'Money Printing Agent added to library' }).waitFor();
    expect(await firstCard.getByRole('button', { name: /added to library/ }).textContent()).toContain('Added');
    const library = await getJson(demo, '/api/library');
    expect(library.agents.map((agent: { slug: string }) => agent.slug)).toContain('money-printing-agent');

    // The sidebar lists the chat, and the meter counts the tokens the two answers used.
    const item = page.getByTestId('session-item').first();
    await item.waitFor();
    expect(await item.getAttribute('data-session-id')).toBe(openSessionId(page));
    await page.getByTestId('usage-meter').waitFor();
    const today = page.getByRole('meter', { name: 'Today token usage' });
    await expect.poll(async () => Number(await today.getAttribute('aria-valuenow')), { timeout: WAIT_MS }).toBeGreaterThan(0);
    await screenshot(page, 'offline-demo');
  });

  it('creates a chat only with its first message, marks agents already in the library, and shortens long titles with an ellipsis', async () => {
    await page.goto(`${demo.url}/`);
    await page.getByTestId('message-input').waitFor();
    const chatsBefore = (await getJson(demo, '/api/chat/sessions')).sessions.length;
    for (let click = 0; click < 3; click++) await page.getByTestId('new-chat').click();
    expect((await getJson(demo, '/api/chat/sessions')).sessions.length, '"New chat" stored empty chats').toBe(chatsBefore);

    const added = await fetch(`${demo.url}/api/library`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'money-printing-agent' }),
    });
    expect(added.status).toBeLessThan(300);
    const longWords = 'Extraordinarily complicated multinational telecommunications infrastructure questionnaire';
    await send(page, `${longWords}. ${FIND_AGENT}`);
    await page.getByTestId('agent-card').first().waitFor();
    await waitForIdle(page);
    expect((await getJson(demo, '/api/chat/sessions')).sessions.length).toBe(chatsBefore + 1);

    // Reopened, the chat shows the agent as already in the library instead of offering to add it again.
    await page.reload();
    const card = page.getByTestId('agent-card').filter({ hasText: 'Money Printing Agent' }).first();
    await card.getByRole('button', { name: 'Money Printing Agent added to library' }).waitFor();

    const title = page.getByTestId('session-item').first().locator('.session-item__text');
    await expect.poll(async () => (await title.textContent()) ?? '', { timeout: WAIT_MS }).toContain('Extraordinarily');
    const fit = await title.evaluate((element) => {
      const style = getComputedStyle(element);
      return {
        overflows: element.scrollWidth > element.clientWidth,
        textOverflow: style.textOverflow,
        overflow: style.overflowX,
        display: style.display,
      };
    });
    expect(fit).toEqual({ overflows: true, textOverflow: 'ellipsis', overflow: 'hidden', display: expect.not.stringMatching(/flex/) });
    await screenshot(page, 'library-aware-and-ellipsis');
  });

  it('takes feedback on an answer (kept after a reload) and exports the chat as Markdown', async () => {
    await page.goto(`${demo.url}/`);
    await send(page, GREETING);
    await expect.poll(() => answerText(page), { timeout: WAIT_MS }).toMatch(/demo/i);
    await waitForIdle(page);
    const answer = lastAnswer(page);
    await answer.getByRole('button', { name: 'Bad answer' }).click();
    await answer.getByRole('textbox', { name: 'What went wrong? (optional)' }).fill('Too generic');
    await answer.getByRole('button', { name: 'Send' }).click();
    await answer.getByText('“Too generic”').waitFor();

    const sessionId = openSessionId(page);
    const stored = await getJson(demo, `/api/chat/sessions/${sessionId}`);
    expect(stored.messages[1].metadata.feedback).toMatchObject({ rating: 'down', comment: 'Too generic' });

    await page.reload();
    const reloaded = lastAnswer(page);
    await reloaded.getByText('“Too generic”').waitFor();
    expect(await reloaded.getByRole('button', { name: 'Bad answer' }).getAttribute('aria-pressed')).toBe('true');
    await reloaded.getByRole('button', { name: 'Good answer' }).click();
    await expect
      .poll(async () => (await getJson(demo, `/api/chat/sessions/${sessionId}`)).messages[1].metadata.feedback?.rating, {
        timeout: WAIT_MS,
      })
      .toBe('up');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-chat').click()]);
    expect(download.suggestedFilename()).toMatch(/\.md$/);
    const file = await download.path();
    const markdown = (await import('node:fs')).readFileSync(file, 'utf8');
    expect(markdown).toContain(`## You\n\n${GREETING}`);
    expect(markdown).toContain('## autochat');
    await screenshot(page, 'feedback-and-export');
  });

  it('stops an answer mid-stream: the text stops growing and the partial answer is stored as stopped', async () => {
    upstream.enqueue(say('word '.repeat(300), 25));
    await page.goto(`${real.url}/`);
    await send(page, 'Count words for me, slowly.');
    await expect.poll(async () => wordCount(await answerText(page)), { timeout: WAIT_MS }).toBeGreaterThanOrEqual(5);

    await page.getByTestId('stop').click();
    await waitForIdle(page);
    const shown = await answerText(page);
    // A window to watch in, not a wait for something: the answer must not grow during it.
    await sleep(1000);
    expect(await answerText(page), 'the answer kept growing after Stop').toBe(shown);
    const shownWords = wordCount(shown.replace(/Stopped.*$/s, ''));
    expect(shownWords).toBeGreaterThanOrEqual(5);
    expect(shownWords).toBeLessThan(300);
    await lastAnswer(page).getByText('Stopped', { exact: true }).waitFor();

    // Stopping really ended the model call: the server closed its upstream connection early.
    const closed = await upstream.waitForEarlyClose(WAIT_MS);
    expect(closed.closedEarly).toBe(true);

    const sessionId = openSessionId(page);
    await expect
      .poll(async () => (await getJson(real, `/api/chat/sessions/${sessionId}`)).lastRunStatus, { timeout: WAIT_MS })
      .toBe('stopped');
    const session = await getJson(real, `/api/chat/sessions/${sessionId}`);
    expect(session.status).toBe('idle');
    const stored = session.messages.at(-1) as { role: string; parts: { type: string; text?: string }[] };
    expect(stored.role).toBe('assistant');
    const storedWords = wordCount(stored.parts.map((part) => (part.type === 'text' ? part.text : '')).join(' '));
    expect(storedWords).toBeGreaterThanOrEqual(shownWords);
    expect(storedWords).toBeLessThan(300);
    await screenshot(page, 'stop-mid-answer');
  });

  it('reloading mid-answer resumes the stream and shows the whole answer once', async () => {
    const answer = 'alpha beta gamma '.repeat(60).trim();
    upstream.enqueue(say(answer, 30));
    await page.goto(`${real.url}/`);
    await send(page, 'Recite the Greek letters, slowly.');
    await expect.poll(async () => wordCount(await answerText(page)), { timeout: WAIT_MS }).toBeGreaterThanOrEqual(6);
    const sessionUrl = page.url();
    const wordsBeforeReload = wordCount(await answerText(page));
    expect(wordsBeforeReload, 'the answer finished before the reload').toBeLessThan(150);

    await page.reload();
    expect(page.url()).toBe(sessionUrl);
    // The answer's own text (without its token count), exactly once and complete.
    const shown = async () => (await lastAnswer(page).locator('.markdown').allTextContents()).join(' ').trim();
    await expect.poll(shown, { timeout: WAIT_MS }).toBe(answer);
    await waitForIdle(page);
    await sleep(300);
    expect(await shown()).toBe(answer);
    expect(await page.getByTestId('message-assistant').count()).toBe(1);
    expect(await page.getByTestId('message-user').count()).toBe(1);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    await screenshot(page, 'reload-mid-answer');
  });

  it('shows an upstream failure in place, and Retry gets the answer', async () => {
    upstream.enqueue({ status: 500 });
    await page.goto(`${real.url}/`);
    await send(page, 'Are you there?');
    const banner = page.getByTestId('error-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/unavailable/i);
    // Titled as the manual shows it, not "Something went wrong".
    expect(await banner.getAttribute('data-code')).toBe('upstream_unavailable');
    expect(await banner.locator('strong').textContent()).toBe('Model unavailable');
    const retry = page.getByTestId('retry');
    await retry.waitFor();
    await waitForIdle(page);
    // The answer failed before its first word: no empty assistant bubble above the banner.
    expect(await page.getByTestId('message-assistant').count()).toBe(0);
    await screenshot(page, 'server-error');

    upstream.enqueue(say('Yes, I am here and ready to help.'));
    await retry.click();
    await expect.poll(() => answerText(page), { timeout: WAIT_MS }).toContain('Yes, I am here and ready to help.');
    await waitForIdle(page);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    expect(await page.getByTestId('message-user').count()).toBe(1);
    expect(await page.getByTestId('message-assistant').count()).toBe(1);
    await screenshot(page, 'server-error-retried');
    // The retry answered the stored question rather than storing it a second time.
    const stored = await (await fetch(`${real.url}/api/chat/sessions/${openSessionId(page)}`)).json();
    expect(stored.messages.map((message: { role: string }) => message.role)).toEqual(['user', 'assistant']);
  });

  it('fits a phone-sized screen', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    try {
      phone.setDefaultTimeout(WAIT_MS);
      const small = await phone.newPage();
      const smallErrors = pageErrors(small);
      await small.goto(`${demo.url}/`);
      const input = small.getByTestId('message-input');
      await input.waitFor({ state: 'visible' });
      const box = await input.boundingBox();
      expect(box).not.toBeNull();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(390);
      expect(box!.y + box!.height).toBeLessThanOrEqual(844);
      expect(await small.evaluate(() => document.documentElement.scrollWidth), 'the page scrolls sideways').toBeLessThanOrEqual(390);
      await small.getByTestId('demo-banner').waitFor();
      await small.getByRole('button', { name: 'Open menu' }).waitFor();
      await screenshot(small, 'phone');
      expect(smallErrors).toEqual([]);
    } finally {
      await phone.close();
    }
  });
});
