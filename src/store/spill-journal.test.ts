import { randomBytes, randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContentCipher } from './content-cipher.js';
import type { EndRecord } from './end-record.js';
import { openSpillJournal } from './spill-journal.js';

const record = (text = 'an answer'): EndRecord => ({
  runId: randomUUID(),
  sessionId: randomUUID(),
  userId: 'u',
  status: 'finished',
  message: { id: randomUUID(), role: 'assistant', parts: [{ type: 'text', text }] },
  usage: [{ kind: 'chat', model: 'm', promptTokens: 10, completionTokens: 5, totalTokens: 15 }],
  endedAt: new Date().toISOString(),
});

describe('spill journal', () => {
  let directory: string;
  let path: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'autochat-journal-unit-'));
    path = join(directory, 'data', 'pending-saves.journal');
  });
  afterEach(async () => rm(directory, { recursive: true, force: true }));

  it('keeps what is put until it is removed, across a reopen; creates nothing until needed', async () => {
    const cipher = createContentCipher();
    const first = await openSpillJournal(path, { cipher, maxBytes: 1 << 20 });
    expect(await first.load()).toEqual([]);
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    const [a, b, c] = [record('first'), record('second'), record('third')];
    for (const entry of [a, b, c]) expect(await first.put(entry)).toBe(true);
    await first.remove(b.runId);
    expect(await first.get(a.runId)).toEqual(a);
    await first.close();

    // A new process replays it: what was put and not removed, in order.
    const second = await openSpillJournal(path, { cipher, maxBytes: 1 << 20 });
    expect(await second.load()).toEqual([a, c]);
    // The replay rewrote it with only the live records.
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(2);
    await second.remove(a.runId);
    await second.remove(c.runId);
    expect((await stat(path)).size).toBe(0);
    await second.close();
  });

  it('ignores a line torn by a crash mid-write', async () => {
    const cipher = createContentCipher();
    const journal = await openSpillJournal(path, { cipher, maxBytes: 1 << 20 });
    const kept = record();
    await journal.put(kept);
    await journal.close();
    await appendFile(path, '{"put":"{\\"runId\\":');
    const reopened = await openSpillJournal(path, { cipher, maxBytes: 1 << 20 });
    expect(await reopened.load()).toEqual([kept]);
    await reopened.close();
  });

  it('seals records with ENCRYPTION_KEY, and refuses to start without the key that wrote them', async () => {
    const key = randomBytes(32).toString('base64');
    const journal = await openSpillJournal(path, { cipher: createContentCipher(key), maxBytes: 1 << 20 });
    await journal.put(record('a secret answer'));
    await journal.close();
    expect(await readFile(path, 'utf8')).not.toContain('secret');
    const withoutKey = await openSpillJournal(path, { cipher: createContentCipher(), maxBytes: 1 << 20 });
    await expect(withoutKey.load()).rejects.toThrow(/ENCRYPTION_KEY/);
    await withoutKey.close();
    const withKey = await openSpillJournal(path, { cipher: createContentCipher(key), maxBytes: 1 << 20 });
    expect((await withKey.load())[0]!.message!.parts).toEqual([{ type: 'text', text: 'a secret answer' }]);
    await withKey.close();
  });

  it('stays within its bound: compacts when it would outgrow it, and refuses a record that does not fit', async () => {
    const cipher = createContentCipher();
    const size = Buffer.byteLength(`${JSON.stringify({ put: JSON.stringify(record('x'.repeat(100))) })}\n`);
    const journal = await openSpillJournal(path, { cipher, maxBytes: size * 3 + 10 });
    const [a, b, c, d] = [1, 2, 3, 4].map(() => record('x'.repeat(100)));
    expect(await journal.put(a!)).toBe(true);
    expect(await journal.put(b!)).toBe(true);
    await journal.remove(a!.runId);
    expect(await journal.put(c!)).toBe(true);
    // Three records' worth with one removed: compacted to two live ones, and the new one fits.
    expect(await journal.put(d!)).toBe(true);
    expect((await stat(path)).size).toBeLessThanOrEqual(size * 3 + 10);
    // A fourth live record would not fit: refused, and nothing written.
    expect(await journal.put(record('x'.repeat(100)))).toBe(false);
    expect(await journal.put(record('y'.repeat(10_000)))).toBe(false);
    await journal.close();
    const reopened = await openSpillJournal(path, { cipher, maxBytes: size * 3 + 10 });
    expect((await reopened.load()).map((entry) => entry.runId)).toEqual([b!.runId, c!.runId, d!.runId]);
    await reopened.close();
  });
});
