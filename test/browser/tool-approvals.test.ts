/**
 * Approving tools in the web UI, in a real Chromium, with an MCP tool (which needs approval by
 * default): Approve runs it and the answer goes on, Deny does not run it and the model is told, and
 * the Approve button still works after a reload while the answer waits. Screenshots under
 * `test-results/screenshots/`.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { serveEchoOverHttp } from '../support/echo-mcp-server.js';
import { callTool, say, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startTestServer, upstreamOptions } from '../support/test-service.js';
import { browserSkipReason, ensureWebBuilt, launchChromium, openSessionId, pageErrors, screenshot } from './browser.js';

const WAIT_MS = 20_000;

async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('message-input').fill(text);
  await page.getByTestId('message-input').press('Enter');
}
const lastAnswer = (page: Page) => page.getByTestId('message-assistant').last();

describe.skipIf(browserSkipReason !== null)('tool approvals in the web UI', () => {
  let browser: Browser;
  let upstream: FakeUpstream;
  let echo: Awaited<ReturnType<typeof serveEchoOverHttp>>;
  let server: RunningServer;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    await ensureWebBuilt();
    [upstream, echo] = await Promise.all([startFakeUpstream(), serveEchoOverHttp()]);
    upstream.setDefault((request) => (request.body.stream ? say('Nothing more to say.') : say('Shouting')));
    [browser, server] = await Promise.all([
      launchChromium(),
      startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://', mcpServers: { everything: { url: echo.url } } })),
    ]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await Promise.all([upstream?.close(), echo?.close()]);
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

  const storedAnswer = async (sessionId: string) => {
    const session = await server.chat.getChatSession(sessionId);
    return session!;
  };

  it('Approve runs the tool and the answer goes on in the same message', async () => {
    upstream.enqueue(callTool('everything__echo_upper', { text: 'approve me' }, 'call_approve'), say('It shouted APPROVE ME.'));
    await page.goto(`${server.url}/`);
    await send(page, 'Shout approve me');
    const card = page.getByTestId('tool-approval');
    await card.waitFor();
    expect(await card.textContent()).toContain('everything__echo_upper');
    expect(await card.textContent()).toContain('approve me');
    await screenshot(page, 'tool-approval-asked');
    await card.getByTestId('approve-tool').click();
    await lastAnswer(page).getByText('It shouted APPROVE ME.').waitFor();
    expect(await page.getByTestId('message-assistant').count()).toBe(1);
    await screenshot(page, 'tool-approval-approved');
    const stored = await storedAnswer(openSessionId(page));
    expect(stored.status).toBe('idle');
    expect(stored.messages[1]!.parts).toContainEqual(expect.objectContaining({ state: 'output-available', output: 'APPROVE ME' }));
  });

  it('Deny does not run the tool; the card says so and the answer goes on', async () => {
    upstream.enqueue(callTool('everything__echo_upper', { text: 'deny me' }, 'call_deny'), say('All right, I left it alone.'));
    await page.goto(`${server.url}/`);
    await send(page, 'Shout deny me');
    const card = page.getByTestId('tool-approval');
    await card.getByTestId('deny-tool').click();
    await lastAnswer(page).getByText('All right, I left it alone.').waitFor();
    expect(await lastAnswer(page).getByTestId('tool-block').textContent()).toContain('denied');
    await screenshot(page, 'tool-approval-denied');
    const stored = await storedAnswer(openSessionId(page));
    expect(stored.messages[1]!.parts).toContainEqual(expect.objectContaining({ state: 'output-denied' }));
  });

  it('after a reload, the waiting answer still shows Approve, and approving then works', async () => {
    upstream.enqueue(callTool('everything__echo_upper', { text: 'later' }, 'call_reload'), say('Shouted LATER after your reload.'));
    await page.goto(`${server.url}/`);
    await send(page, 'Shout later');
    await page.getByTestId('tool-approval').waitFor();
    await expect.poll(() => page.url()).toContain('/s/');
    await page.reload();
    const card = page.getByTestId('tool-approval');
    await card.getByTestId('approve-tool').waitFor();
    await screenshot(page, 'tool-approval-after-reload');
    await card.getByTestId('approve-tool').click();
    await lastAnswer(page).getByText('Shouted LATER after your reload.').waitFor();
    expect(await page.getByTestId('message-assistant').count()).toBe(1);
    const stored = await storedAnswer(openSessionId(page));
    expect(stored.messages[1]!.parts).toContainEqual(expect.objectContaining({ state: 'output-available', output: 'LATER' }));
  });
});
