/**
 * The README's library example, run as a program exactly as written (only the import and the data
 * directory are pointed at this checkout): its stdout is the answer and nothing else, it exits
 * cleanly, and close() leaves the chat titled — no log lines in the output, no title cut off.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const ENTRY = join(ROOT, 'src/index.ts');

describe('the README library example', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'autochat-snippet-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints only the answer on stdout and leaves the chat titled when it closes', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const snippet = /### As a library\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet, 'README.md has a ```ts block under "### As a library"').toBeDefined();
    const dataDir = join(dir, 'data');
    const program = snippet!.replace(`from 'autochat'`, `from ${JSON.stringify(ENTRY)}`).replace(`'./.autochat'`, JSON.stringify(dataDir));
    expect(program).toContain(ENTRY);
    const file = join(dir, 'example.mts');
    await writeFile(file, program);
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env, timeout: 60_000 });
    expect(stdout).toMatch(/^\*\(Offline demo model/);
    expect(stdout).not.toMatch(/"level"|"msg"/);
    expect(stderr).not.toContain('title generation failed');

    const check = join(dir, 'check.mts');
    await writeFile(
      check,
      `import { createChatService } from ${JSON.stringify(ENTRY)};
const chat = await createChatService({ dataDir: ${JSON.stringify(dataDir)}, logLevel: 'silent' });
const [session] = (await chat.listChatSessions('alice')).sessions;
process.stdout.write(JSON.stringify(session));
await chat.close();
`,
    );
    const reopened = JSON.parse((await run(process.execPath, ['--import', 'tsx', check], { cwd: ROOT, env, timeout: 60_000 })).stdout);
    expect(reopened).toMatchObject({ userId: 'alice', title: 'Hello', lastRunStatus: 'finished' });
  });
});
