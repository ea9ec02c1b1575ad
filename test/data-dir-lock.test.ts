/**
 * Two processes on one DATA_DIR, with real `autochat` processes: the second `serve` and a
 * `store import` refuse with a sentence naming the directory and the process that holds it, and leave
 * its data alone; after the holder is killed with -9, the next start takes the lock over and finds
 * every session.
 */
import { realpath } from 'node:fs/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, serveCli, type ServingCli } from './support/cli-process.js';

/** A one-agent catalog for `store import`, which needs the DATA_DIR the lock guards. */
const LOCK_TEST_CATALOG = JSON.stringify([
  {
    slug: 'lock-test-agent',
    name: 'Lock Test Agent',
    subHeading: 'Checks locks',
    description: 'An agent that only exists in this test.',
    creator: 'tests',
    categories: ['testing'],
    runs: 1,
    rating: 4,
  },
]);

describe('one DATA_DIR, one process', () => {
  let dataDir: string;
  let holder: ServingCli | undefined;
  beforeAll(async () => {
    dataDir = await realpath(await mkdtemp(join(tmpdir(), 'autochat-datadir-')));
  });
  afterAll(async () => {
    await holder?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a second server and a store import while one runs, and takes over after kill -9', async () => {
    holder = await serveCli({ DATA_DIR: dataDir });
    const sessionId = (await (await fetch(`${holder.url}/api/chat/sessions`, { method: 'POST' })).json()).sessionId as string;

    // The second server is given the directory by a relative path: the sentence names the real one.
    const second = await serveCli({ DATA_DIR: basename(dataDir) }, { cwd: dirname(dataDir) }).then(
      (started) => started.stop().then(() => ({ code: 0, stderr: 'it started' })),
      (error: { code: number; stderr: string }) => error,
    );
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(
      `DATA_DIR ${dataDir} is in use by another autochat process (pid ${holder.pid} on host ${hostname()}, started 20`,
    );
    expect(second.stderr).toMatch(/stop that process first/);

    const catalog = join(dataDir, '..', `${basename(dataDir)}-catalog.json`);
    await writeFile(catalog, LOCK_TEST_CATALOG);
    try {
      const imported = await runCli(['store', 'import', catalog], { env: { DATA_DIR: dataDir } });
      expect(imported.code).not.toBe(0);
      expect(imported.stderr).toContain(`DATA_DIR ${dataDir} is in use by another autochat process (pid ${holder.pid}`);
      expect(imported.stdout).not.toMatch(/Imported/);
    } finally {
      await rm(catalog, { force: true });
    }

    // The holder is unharmed and still sees its session.
    const listed = await (await fetch(`${holder.url}/api/chat/sessions`)).json();
    expect(listed.sessions.map((session: { sessionId: string }) => session.sessionId)).toEqual([sessionId]);

    await holder.kill();
    holder = await serveCli({ DATA_DIR: dataDir });
    const after = await (await fetch(`${holder.url}/api/chat/sessions`)).json();
    expect(after.sessions.map((session: { sessionId: string }) => session.sessionId)).toEqual([sessionId]);
    expect(await holder.stop()).toBe(0);
    holder = undefined;

    // Stopped cleanly, the directory is free for a store import.
    await writeFile(catalog, LOCK_TEST_CATALOG);
    try {
      const imported = await runCli(['store', 'import', catalog], { env: { DATA_DIR: dataDir } });
      expect(imported).toMatchObject({ code: 0, stdout: expect.stringMatching(/Imported 1 agent/) });
    } finally {
      await rm(catalog, { force: true });
    }
  });

  it('lets exactly one of two servers started together on a stale lock run', async () => {
    const crashed = await serveCli({ DATA_DIR: dataDir });
    await crashed.kill();
    const results = await Promise.allSettled([serveCli({ DATA_DIR: dataDir }), serveCli({ DATA_DIR: dataDir })]);
    const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as { code: number; stderr: string }] : []));
    try {
      expect(started).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(refused[0]!.code).not.toBe(0);
      expect(refused[0]!.stderr).toContain(`(pid ${started[0]!.pid} on host`);
    } finally {
      await Promise.all(started.map((server) => server.stop()));
    }
  });
});
