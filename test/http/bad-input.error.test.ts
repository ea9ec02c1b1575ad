/**
 * Input that used to answer 500 gets a documented 4xx in the error shape, over real HTTP, on PGlite
 * and on PostgreSQL when TEST_DATABASE_URL is set: a cursor with a time no database takes, a slug
 * with NUL (in a body and in a path), and web-asset paths that are a directory, a malformed
 * percent-encoding or an overlong UTF-8 encoding of `..`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { databaseTargets } from '../support/databases.js';
import { startTestServer } from '../support/test-service.js';

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const SOME_UUID = '3f2b8f9e-1111-4222-8333-444455556666';

describe.each(databaseTargets)('bad input on $name', (target) => {
  let database: Awaited<ReturnType<typeof target.create>>;
  let server: RunningServer;
  const call = (method: string, path: string, body?: string) =>
    fetch(`${server.url}${path}`, { method, body, headers: body === undefined ? {} : { 'content-type': 'application/json' } });
  const expectError = async (response: Response, status: number, code: string) => {
    const text = await response.text();
    expect(response.status, text).toBe(status);
    const body = JSON.parse(text) as { error: { code: string; message: string; requestId: string } };
    expect(body).toEqual({ error: { code, message: expect.any(String), requestId: response.headers.get('x-request-id') } });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a NUL echoed back is what this looks for
    expect(body.error.message).not.toMatch(/\u0000|\n\s+at |node_modules|\.ts:\d+|EISDIR|URIError/);
    return body.error.message;
  };

  beforeAll(async () => {
    database = await target.create();
    server = await startTestServer({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('refuses a cursor whose time no database takes (400), and other forged cursors', async () => {
    for (const updatedAt of [
      '99999-01-01',
      '+099999-01-01T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '-000001-01-01T00:00:00.000Z',
      '2026-13-45T99:99:99.000Z',
      'now',
    ]) {
      const message = await expectError(
        await call('GET', `/api/chat/sessions?cursor=${cursorOf({ updatedAt, id: SOME_UUID })}`),
        400,
        'invalid_request',
      );
      expect(message).toMatch(/cursor/);
    }
    await expectError(
      await call('GET', `/api/chat/sessions?cursor=${cursorOf({ updatedAt: '2026-01-01T00:00:00.000Z', id: 'a\u0000b' })}`),
      400,
      'invalid_request',
    );
    await expectError(
      await call(
        'GET',
        `/api/chat/sessions?cursor=${cursorOf({ updatedAt: '2026-01-01T00:00:00.000Z', id: '------------------------------------' })}`,
      ),
      400,
      'invalid_request',
    );
    // A genuine cursor still pages.
    for (let i = 0; i < 2; i++) await call('POST', '/api/chat/sessions');
    const first = (await (await call('GET', '/api/chat/sessions?limit=1')).json()) as { nextCursor: string };
    expect((await call('GET', `/api/chat/sessions?limit=1&cursor=${first.nextCursor}`)).status).toBe(200);
  });

  it('refuses a slug with NUL or of a shape no agent has, in a body and in a path (400), and stores nothing', async () => {
    for (const slug of ['a\u0000b', '\u0000', 'Money-Printing-Agent', 'a/b', 'x'.repeat(81), 'ä', 'a\uD800']) {
      const message = await expectError(await call('POST', '/api/library', JSON.stringify({ slug })), 400, 'invalid_request');
      expect(message).toMatch(/slug/);
    }
    for (const slug of ['a%00b', '%00', '%ED%A0%80', 'UPPER', '-leading-dash']) {
      await expectError(await call('DELETE', `/api/library/${slug}`), 400, 'invalid_request');
    }
    expect(((await (await call('GET', '/api/library')).json()) as { agents: unknown[] }).agents).toEqual([]);
    // A well-formed slug that is not in the library is still 404.
    await expectError(await call('DELETE', '/api/library/money-printing-agent'), 404, 'not_found');
  });

  it('bounds what a query may cost: search words and length, page sizes (400 with a sentence)', async () => {
    const words = (count: number) => Array.from({ length: count }, (_, i) => `word${i}`).join(' ');
    expect(await expectError(await call('GET', `/api/store/agents?q=${encodeURIComponent(words(17))}`), 400, 'invalid_request')).toMatch(
      /at most 16 different words/,
    );
    expect(await expectError(await call('GET', `/api/store/agents?q=${'x'.repeat(501)}`), 400, 'invalid_request')).toMatch(
      /at most 500 characters/,
    );
    expect((await call('GET', `/api/store/agents?q=${encodeURIComponent(words(16))}`)).status).toBe(200);
    for (const limit of ['0', '51', '2147483648', '99999999999999999999', '1e400', '-1', '2.5', 'ten', 'NaN', 'Infinity', '%00']) {
      expect(await expectError(await call('GET', `/api/store/agents?limit=${limit}`), 400, 'invalid_request')).toMatch(
        /limit must be a whole number from 1 to 50/,
      );
      expect(
        await expectError(await call('GET', `/api/chat/sessions?limit=${limit === '51' ? '101' : limit}`), 400, 'invalid_request'),
      ).toMatch(/from 1 to 100/);
    }
  });

  it('answers web-asset paths that are no file with 404, and malformed encodings with 400, never reading outside assets', async () => {
    await expectError(await call('GET', '/assets/'), 404, 'not_found');
    await expectError(await call('GET', '/assets//'), 404, 'not_found');
    await expectError(await call('GET', '/assets/no-such-file.js'), 404, 'not_found');
    await expectError(await call('GET', '/assets/..%2f..%2fpackage.json'), 404, 'not_found');
    await expectError(await call('GET', '/assets/%2e%2e%2fcli.js'), 404, 'not_found');
    await expectError(await call('GET', '/assets/%252e%252e/cli.js'), 404, 'not_found');
    await expectError(await call('GET', '/assets/a%00b.js'), 404, 'not_found');
    for (const path of [
      '/assets/%',
      '/assets/%zz',
      '/assets/%c0%ae%c0%ae/cli.js',
      '/assets/%e0%80%ae.js',
      '/assets/%ed%a0%80',
      '/assets/%ff',
    ]) {
      const message = await expectError(await call('GET', path), 400, 'invalid_request');
      expect(message).toMatch(/percent-encoding/);
    }
    // The real assets are still served.
    const page = await (await call('GET', '/')).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page)?.[1];
    expect(script).toBeDefined();
    const served = await call('GET', script!);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toMatch(/javascript/);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});
