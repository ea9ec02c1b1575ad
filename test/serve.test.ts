/**
 * `autochat serve` as a person runs it: it starts with the embedded defaults, refuses bad settings
 * with a message naming the variable, refuses a public host without auth, and on SIGTERM lets the
 * running answer finish and stores it before exiting. Also: the built package exposes the library.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveCli } from './support/cli-process.js';
import { startFakeUpstream, say, type FakeUpstream } from './support/fake-upstream.js';
import { readSse } from './support/ui-stream.js';

describe('autochat serve', () => {
  let dataDir: string;
  let upstream: FakeUpstream;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'autochat-serve-'));
    upstream = await startFakeUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts on the embedded database with the demo model, and says so', async () => {
    const server = await serveCli({ DATA_DIR: dataDir });
    try {
      expect(server.stderr()).toMatch(/offline demo model/);
      const info = await (await fetch(`${server.url}/api/info`)).json();
      expect(info).toMatchObject({ demoModel: true, authRequired: false });
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
  });

  it('refuses a bad setting, naming the variable', async () => {
    await expect(serveCli({ DATA_DIR: dataDir, DAILY_TOKEN_LIMIT: 'lots' })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/DAILY_TOKEN_LIMIT: expected a whole number/),
    });
  });

  it('says which setting to check when DATABASE_URL names a server that does not answer, without its password', async () => {
    const failure = serveCli({ DATA_DIR: dataDir, DATABASE_URL: 'postgres://someone:hunter2@127.0.0.1:1/autochat' });
    await expect(failure).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/Could not connect to PostgreSQL at DATABASE_URL \(127\.0\.0\.1:1\/autochat\): nothing answers there/),
    });
    await expect(failure).rejects.toMatchObject({ stderr: expect.not.stringContaining('hunter2') });
  });

  it('refuses a non-loopback host without AUTH_JWT_SECRET', async () => {
    await expect(serveCli({ DATA_DIR: dataDir }, { args: ['--host', '0.0.0.0'] })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/AUTH_JWT_SECRET/),
    });
  });

  it('on SIGTERM lets the running answer finish, stores it, then exits 0', async () => {
    const env = { DATA_DIR: dataDir, OPEN_ROUTER_API_KEY: 'k', LLM_BASE_URL: upstream.url, LLM_MAX_RETRIES: '0' };
    const server = await serveCli(env);
    const sessionId = (await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST' })).json()).sessionId;
    upstream.enqueue(say('graceful shutdown keeps this whole answer '.repeat(3), 40));
    const calls = upstream.requests.length;
    const response = await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message":"Hello"}',
    });
    const reading = readSse(response);
    // Mid-answer (the model has been called; it answers for about a second), then SIGTERM.
    await expect.poll(() => upstream.requests.length).toBeGreaterThan(calls);
    server.child.kill('SIGTERM');
    const stream = await reading;
    expect(stream.chunks.at(-1)!.type).toBe('finish');
    expect(await server.exited).toBe(0);

    const again = await serveCli(env);
    try {
      const session = await (await fetch(`${again.url}/api/chat/sessions/${sessionId}`)).json();
      expect(session.lastRunStatus).toBe('finished');
      expect(session.messages[1].parts.map((part: { text?: string }) => part.text ?? '').join('')).toBe(
        'graceful shutdown keeps this whole answer '.repeat(3),
      );
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });
});

const built = existsSync('dist/index.js') && existsSync('dist/cli.js');
if (!built) console.warn('dist/ is not built: the package-entry test is skipped (CI runs `npm run build` first).');

describe.runIf(built)('the built package', () => {
  it('exports the library API from dist/index.js and ships an executable dist/cli.js', async () => {
    const library = (await import(join(process.cwd(), 'dist/index.js'))) as Record<string, unknown>;
    expect(typeof library.createChatService).toBe('function');
    expect(typeof library.ChatError).toBe('function');
    const help = await new Promise<string>((resolve) => {
      const child = spawn(join(process.cwd(), 'dist/cli.js'), ['--help']);
      let out = '';
      child.stdout.on('data', (data: Buffer) => (out += data.toString()));
      child.on('exit', () => resolve(out));
    });
    expect(help).toMatch(/autochat serve/);
  });
});
