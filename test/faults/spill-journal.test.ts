/**
 * PostgreSQL down as a run ends on a single instance without Redis: the end is kept in the spill
 * journal under DATA_DIR (fsynced, sealed with ENCRYPTION_KEY) before readers are told it is done,
 * survives a kill -9 of autochat, and is stored — finished, with its usage — by the next start once
 * the database is back. Against a PostgreSQL server this test starts, kills and restarts itself.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { followSse } from '../support/live-sse.js';
import { spawnServer, type ServerProcess } from '../support/server-processes.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { textOf, typesOf } from '../support/ui-stream.js';
import { waitUntil } from '../support/wait-until.js';

const json = { 'content-type': 'application/json' };
const BEFORE = 'Journal answer, first half, ';
const AFTER = 'second half written while the database was down.';
const words = (text: string) => text.match(/\S+\s*/g)!.map((word) => ({ text: word }));

describe('PostgreSQL down as a run ends, without Redis: the spill journal', () => {
  let postgres: ThrowawayPostgres;
  let upstream: FakeUpstream;
  let dataDir: string;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    [postgres, upstream] = await Promise.all([startThrowawayPostgres(), startFakeUpstream()]);
    dataDir = await mkdtemp(join(tmpdir(), 'autochat-journal-'));
  });
  afterAll(async () => {
    await server?.kill();
    await upstream?.close();
    await postgres?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps the end in the journal through a kill -9, and the next start stores it as finished with its usage', async () => {
    const env = {
      DATABASE_URL: await postgres.createDatabase('journal'),
      DATA_DIR: dataDir,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      OPEN_ROUTER_API_KEY: 'test-key',
      LLM_BASE_URL: upstream.url,
      CHAT_MODEL: 'test/chat',
      TITLE_MODEL: 'test/title',
      LLM_MAX_RETRIES: '0',
      RUN_LEASE_MS: '1500',
    };
    server = await spawnServer(env);
    const sessionId = (await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST' })).json()).sessionId as string;
    upstream.enqueue({
      steps: [...words(BEFORE), { gate: 'journal' }, ...words(AFTER)],
      finishReason: 'stop',
      usage: { prompt_tokens: 17, completion_tokens: 11 },
    });
    const post = await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: json,
      body: '{"message":"Hello"}',
    });
    const reader = followSse(post);
    await upstream.reached('journal');
    await reader.until((live) => live.text() === BEFORE);

    await postgres.kill();
    upstream.release('journal');
    const stream = await reader.ended;
    expect(stream.invalid).toEqual([]);
    expect(textOf(stream.chunks)).toBe(BEFORE + AFTER);
    expect(typesOf(stream.chunks).slice(-2)).toEqual(['data-save-pending', 'finish']);

    // On disk before the reader was told: the journal holds it, sealed (no answer text in clear).
    const journal = join(dataDir, 'pending-saves.journal');
    const kept = await readFile(journal, 'utf8');
    expect(kept.trim().split('\n')).toHaveLength(1);
    expect(kept).toContain('"put":"enc1:');
    expect(kept).not.toContain('second half');
    expect(((await stat(journal)).mode & 0o777).toString(8)).toBe('600');

    // The process dies; the database comes back; a new process on the same DATA_DIR takes over.
    await server.kill();
    await postgres.start();
    server = await spawnServer(env);
    let session:
      | {
          status: string;
          lastRunStatus: string;
          messages: { parts: { text?: string }[] }[];
          usage: { kind: string; promptTokens: number; completionTokens: number; estimated?: boolean }[];
        }
      | undefined;
    await waitUntil(async () => {
      const response = await fetch(`${server!.url}/api/chat/sessions/${sessionId}`);
      if (response.status !== 200) return false;
      session = await response.json();
      return session!.status === 'idle';
    }, 30_000);
    expect(session!.lastRunStatus).toBe('finished');
    expect(session!.messages[1]!.parts.map((part) => part.text ?? '').join('')).toBe(BEFORE + AFTER);
    // The answer's call, charged once with what the provider reported (the chat's title, made or not
    // before the outage, is a usage row of its own).
    const chat = session!.usage.filter((entry) => entry.kind === 'chat');
    expect(chat).toEqual([expect.objectContaining({ promptTokens: 17, completionTokens: 11 })]);
    expect(chat[0]!.estimated).toBeUndefined();
    // Stored, so the journal is emptied rather than left to grow.
    await waitUntil(async () => (await stat(journal)).size === 0, 10_000);
  });
});
