/**
 * The web UI when its connection drops mid-answer — a network blip, or the server it was talking to
 * went away while another continues the answer: the page reattaches by itself (GET …/stream), the
 * answer is replayed from its start and goes on to its end, shown once, with no error left on
 * screen. In a real Chromium, through a TCP proxy the test cuts (all open connections at once).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startTestServer, upstreamOptions } from '../support/test-service.js';
import { browserSkipReason, ensureWebBuilt, launchChromium, pageErrors, screenshot } from './browser.js';

const WAIT_MS = 20_000;
const words = (text: string) => text.match(/\S+\s*/g)!.map((word) => ({ text: word }));
const BEFORE = 'Here is the first half of a long answer, ';
const AFTER = 'and here is the second half, after the connection dropped.';

/** A TCP proxy to `port` whose open connections the test can cut. */
async function startCuttableProxy(port: number): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const server: Server = createServer((client) => {
    const target = connect(port, '127.0.0.1');
    track(client);
    track(target);
    client.pipe(target).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(browserSkipReason !== null)('web chat when the connection drops mid-answer', () => {
  let browser: Browser;
  let upstream: FakeUpstream;
  let server: RunningServer;
  let proxy: Awaited<ReturnType<typeof startCuttableProxy>>;

  beforeAll(async () => {
    await ensureWebBuilt();
    [upstream, browser] = await Promise.all([startFakeUpstream(), launchChromium()]);
    server = await startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' }));
    proxy = await startCuttableProxy(server.port);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.close();
    await upstream?.close();
  });

  it('reattaches by itself and shows the whole answer once, with no error', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    context.setDefaultTimeout(WAIT_MS);
    const page: Page = await context.newPage();
    const errors = pageErrors(page);
    try {
      upstream.enqueue({ steps: [...words(BEFORE), { gate: 'dropped' }, ...words(AFTER)], finishReason: 'stop' });
      await page.goto(`${proxy.url}/`);
      await page.getByTestId('message-input').fill('Tell me something long');
      await page.getByTestId('message-input').press('Enter');
      const answer = page.getByTestId('message-assistant').last();
      await expect.poll(async () => (await answer.textContent()) ?? '', { timeout: WAIT_MS }).toContain('first half of a long answer');

      const reattached = page.waitForResponse(
        (response) => response.request().method() === 'GET' && /\/api\/chat\/sessions\/[^/]+\/stream$/.test(response.url()),
      );
      proxy.cut();
      // It replays the answer so far, then follows it live.
      expect((await reattached).status()).toBe(200);
      upstream.release('dropped');

      await expect.poll(async () => (await answer.textContent()) ?? '', { timeout: WAIT_MS }).toContain('after the connection dropped.');
      await expect.poll(async () => page.getByTestId('error-banner').count(), { timeout: WAIT_MS }).toBe(0);
      expect(await page.getByTestId('message-assistant').count()).toBe(1);
      // Shown once: the replay replaced what was on screen instead of being added to it.
      const shown = (await answer.textContent()) ?? '';
      expect(shown).toContain(BEFORE + AFTER);
      expect(shown.split('first half of a long answer')).toHaveLength(2);
      await screenshot(page, 'reattach-after-drop');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
