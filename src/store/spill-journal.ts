/**
 * The local place for run ends the database could not take yet: an append-only file under DATA_DIR
 * (`pending-saves.journal`), one JSON line per change — `{"put": <record>}` when a record is kept,
 * `{"done": runId}` when it is stored — each `put` fsynced before the run reports its end. Replayed at
 * start; rewritten with only the live records when it would outgrow its bound, and emptied when none
 * is left. Records are sealed like message content when ENCRYPTION_KEY is set.
 */
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ContentCipher } from './content-cipher.js';
import { parseEndRecord, serializeEndRecord, type EndRecord } from './end-record.js';
import type { PendingSaves } from './pending-saves.js';

type Line = { put?: string; done?: string };

export async function openSpillJournal(path: string, options: { cipher: ContentCipher; maxBytes: number }): Promise<PendingSaves> {
  const { cipher, maxBytes } = options;
  /** The live records, by run, as the lines that keep them. */
  const live = new Map<string, { record: EndRecord; line: string }>();
  let handle: FileHandle | undefined;
  let size = 0;
  // Changes are written one at a time, in call order.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  const ensureOpen = async (): Promise<FileHandle> => {
    if (handle) return handle;
    await mkdir(dirname(path), { recursive: true });
    handle = await open(path, 'a', 0o600);
    size = (await handle.stat()).size;
    return handle;
  };

  /** Replaces the file by one holding only the live records (write, fsync, rename, fsync the directory). */
  const compact = async () => {
    await handle?.close();
    handle = undefined;
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.tmp`;
    const out = await open(temporary, 'w', 0o600);
    try {
      const text = [...live.values()].map((entry) => entry.line).join('');
      await out.writeFile(text);
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(temporary, path);
    const directory = await open(dirname(path), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    await ensureOpen();
  };

  const lineOf = (line: Line) => `${JSON.stringify(line)}\n`;

  return {
    kind: 'journal',

    put: (record) =>
      serial(async () => {
        const line = lineOf({ put: cipher.seal(serializeEndRecord(record)) });
        const bytes = Buffer.byteLength(line);
        if (bytes > maxBytes) return false;
        await ensureOpen();
        if (size + bytes > maxBytes) {
          await compact();
          const liveBytes = [...live.values()].reduce((sum, entry) => sum + Buffer.byteLength(entry.line), 0);
          if (liveBytes + bytes > maxBytes) return false;
        }
        const file = await ensureOpen();
        await file.appendFile(line);
        await file.datasync();
        size += bytes;
        live.set(record.runId, { record, line });
        return true;
      }),

    remove: (runId) =>
      serial(async () => {
        if (!live.delete(runId)) return;
        const file = await ensureOpen();
        if (live.size === 0) {
          // Nothing left to replay: start the file afresh rather than let it grow.
          await file.truncate(0);
          await file.datasync();
          size = 0;
          return;
        }
        // Not fsynced: a `done` lost in a crash only makes the next start try a stored record again,
        // which the database refuses (a run ends once).
        const line = lineOf({ done: runId });
        await file.appendFile(line);
        size += Buffer.byteLength(line);
      }),

    async get(runId) {
      return live.get(runId)?.record;
    },

    load: () =>
      serial(async () => {
        let text: string;
        try {
          text = await readFile(path, 'utf8');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw error;
        }
        for (const raw of text.split('\n')) {
          if (!raw.trim()) continue;
          let line: Line;
          try {
            line = JSON.parse(raw) as Line;
          } catch {
            continue; // a line torn by a crash mid-write: its run never reported its end
          }
          if (typeof line.done === 'string') live.delete(line.done);
          if (typeof line.put === 'string') {
            let opened: string;
            try {
              opened = cipher.open(line.put);
            } catch {
              throw new Error(
                `An unsaved answer in ${path} is encrypted with a key that is not configured: set ENCRYPTION_KEY (or ENCRYPTION_KEYS_PREVIOUS) to the key it was written with.`,
              );
            }
            const record = parseEndRecord(opened);
            if (record) live.set(record.runId, { record, line: lineOf(line) });
          }
        }
        await compact();
        return [...live.values()].map((entry) => entry.record);
      }),

    close: () =>
      serial(async () => {
        await handle?.close();
        handle = undefined;
      }),
  };
}
