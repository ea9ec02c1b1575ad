/**
 * Running agents in the web UI, in a real Chromium with a scripted upstream: the Library lists your
 * agents, Run opens a form built from the agent's inputs, a missing input is named, and the started
 * execution's output shows live in Executions, where Stop ends it keeping what it wrote; Run again
 * starts it anew. A `run_agent` call in chat shows as a card linking to the execution. With the offline
 * demo model, "find me an agent … and run it about …" finds it, asks its setup, waits for Approve,
 * starts it, and "show me its output" reads it back into the chat.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { callTool, say, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startTestServer, testOptions, upstreamOptions } from '../support/test-service.js';
import { browserSkipReason, ensureWebBuilt, launchChromium, pageErrors, screenshot } from './browser.js';

const WAIT_MS = 20_000;

describe.skipIf(browserSkipReason !== null)('running agents in the web UI', () => {
  let browser: Browser;
  let upstream: FakeUpstream;
  let server: RunningServer;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    await ensureWebBuilt();
    upstream = await startFakeUpstream();
    [browser, server] = await Promise.all([launchChromium(), startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' }))]);
    await server.chat.agents.addToLibrary('local', 'money-printing-agent');
  }, 120_000);

  afterAll(async () => {
    upstream?.release('web-held');
    await browser?.close();
    await server?.close();
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

  it('runs an agent from the Library with a form built from its inputs, and follows its output live until Stop', async () => {
    await page.goto(`${server.url}/`);
    await page.getByTestId('nav-library').click();
    const agent = page.getByTestId('library-agent').filter({ hasText: 'Money Printing Agent' });
    await agent.getByRole('button', { name: 'Run' }).click();
    const form = page.getByTestId('run-form');
    await form.getByLabel('Skills').fill('leather crafts');
    // The default of "Hours per week" is filled in; "Startup budget" is left empty first.
    expect(await form.getByLabel('Hours per week').inputValue()).toBe('10');
    await form.getByLabel('Startup budget').evaluate((input) => input.removeAttribute('required'));
    await form.getByRole('button', { name: 'Run' }).click();
    await expect
      .poll(() =>
        form
          .getByRole('alert')
          .textContent()
          .catch(() => ''),
      )
      .toContain('Startup budget is required');

    upstream.enqueue({
      steps: [{ text: 'Week one: ' }, { text: 'make **wallets**. ' }, { gate: 'web-held' }, { text: 'Never shown.' }],
      finishReason: 'stop',
    });
    await form.getByLabel('Startup budget').fill('300');
    await form.getByRole('button', { name: 'Run' }).click();
    await page.waitForURL(/#\/executions\/[0-9a-f-]{36}$/);
    const detail = page.getByTestId('execution-detail');
    await expect.poll(() => detail.getByTestId('execution-output').textContent()).toContain('Week one: make wallets.');
    expect(await detail.getByTestId('execution-status').textContent()).toBe('running');
    expect(await detail.locator('strong').textContent()).toBe('wallets');
    await screenshot(page, 'execution-live');

    await detail.getByTestId('execution-stop').click();
    await expect.poll(() => detail.getByTestId('execution-status').textContent()).toBe('stopped');
    expect(await detail.getByTestId('execution-output').textContent()).toContain('Week one: make wallets.');
    const executionId = /#\/executions\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    expect((await server.chat.executions.get(executionId, 'local')).status).toBe('stopped');
    await expect.poll(() => page.getByTestId('execution-link').first().textContent()).toContain('stopped');

    // Run again, with the same inputs filled in.
    upstream.enqueue(say('A fresh plan.'));
    await detail.getByTestId('execution-rerun').click();
    expect(await page.getByTestId('run-form').getByLabel('Skills').inputValue()).toBe('leather crafts');
    await page.getByTestId('run-form').getByRole('button', { name: 'Run' }).click();
    await page.waitForURL((url) => !url.href.endsWith(executionId) && /#\/executions\/[0-9a-f-]{36}$/.test(url.href));
    await expect.poll(() => page.getByTestId('execution-detail').getByTestId('execution-status').textContent()).toBe('finished');
    expect(await page.getByTestId('execution-output').textContent()).toContain('A fresh plan.');
  });

  it('asks before run_agent starts, then shows its result in chat as a card that opens the execution', async () => {
    upstream.enqueue(
      callTool('run_agent', { slug: 'money-printing-agent', inputs: { skills: 'pottery', startupBudget: 40 } }),
      say('Started it for you.'),
    );
    upstream.setDefault(say('Pottery plan from the agent.'));
    await page.goto(`${server.url}/`);
    await page.getByTestId('message-input').fill('Run the money printing agent for pottery with 40 dollars');
    await page.getByTestId('message-input').press('Enter');
    // run_agent spends tokens: it waits for the user's approval (TOOL_APPROVAL's default) before it starts.
    await page.getByTestId('approve-tool').click();
    const card = page.getByTestId('execution-card');
    await card.waitFor({ state: 'visible' });
    await card.getByRole('link', { name: 'Follow the execution' }).click();
    await page.waitForURL(/#\/executions\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByTestId('execution-detail').getByTestId('execution-status').textContent()).toBe('finished');
    expect(await page.getByTestId('execution-output').textContent()).toContain('Pottery plan from the agent.');
    await screenshot(page, 'execution-from-chat');
  });

  it('with the demo model: find, set up, approve, run and read back an agent from the chat', async () => {
    const demo = await startTestServer(testOptions({ dataDir: 'memory://' }));
    try {
      await page.goto(`${demo.url}/`);
      await page.getByTestId('message-input').fill('Find me an agent that writes LinkedIn posts and run it about our launch');
      await page.getByTestId('message-input').press('Enter');
      await page.getByTestId('approve-tool').click();
      const card = page.getByTestId('execution-card');
      await card.waitFor({ state: 'visible' });
      const [execution] = (await demo.chat.executions.list('local')).executions;
      expect(execution).toMatchObject({ slug: 'linkedin-post-generator', inputs: expect.objectContaining({ topic: 'our launch' }) });
      await demo.chat.executions.waitFor(execution!.executionId);
      await page.getByTestId('message-input').fill('Show me its output');
      await page.getByTestId('message-input').press('Enter');
      await expect.poll(() => page.locator('body').textContent(), { timeout: WAIT_MS }).toContain('The execution is finished');
      await screenshot(page, 'demo-agent-run-from-chat');
    } finally {
      await demo.close();
    }
  });
});
