/**
 * Installing and running the package: `prepare` rebuilds only when an input of the build changed (a
 * test or an unrelated file does not count), so `npx autochat` inside the project runs the built bin
 * without rebuilding dist/ under a running server, and the tarball ships dist/ with the embedded
 * database's snapshot.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtFromInputs, inputsHash } from '../scripts/prepare.mjs';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('what prepare rebuilds for', () => {
  let project: string;

  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'autochat-prepare-'));
    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(join(project, 'package.json'), '{"name":"x"}');
    await writeFile(join(project, 'src', 'a.ts'), 'export const a = 1;');
  });
  afterAll(async () => {
    await rm(project, { recursive: true, force: true });
  });

  it('changes with a source file, and not with a test or a file outside the build', async () => {
    const before = inputsHash(project);
    await writeFile(join(project, 'src', 'a.test.ts'), 'it("x", () => {});');
    await writeFile(join(project, 'README.md'), '# x');
    expect(inputsHash(project)).toBe(before);
    await writeFile(join(project, 'src', 'a.ts'), 'export const a = 2;');
    expect(inputsHash(project)).not.toBe(before);
  });
});

// Only meaningful when dist/ was built from the sources here (CI builds before it tests); otherwise
// the commands below would start a full build in the middle of the test run.
describe.skipIf(!builtFromInputs())('the built package', () => {
  it('npm install and npx autochat inside the project leave a current dist/ alone and run the bin', { timeout: 120_000 }, async () => {
    const before = (await stat(join(ROOT, 'dist', 'cli.js'))).mtimeMs;
    const prepared = await run('node', ['scripts/prepare.mjs'], { cwd: ROOT });
    expect(prepared.stdout).toContain('up to date');
    const npx = await run('npx', ['--yes', 'autochat', '--version'], {
      cwd: ROOT,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    expect(npx.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect((await stat(join(ROOT, 'dist', 'cli.js'))).mtimeMs).toBe(before);
  });

  it('packs dist/ (with the embedded database snapshot) into the tarball without rebuilding', { timeout: 120_000 }, async () => {
    const before = (await stat(join(ROOT, 'dist', 'cli.js'))).mtimeMs;
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT });
    // `prepare` says what it did before npm prints the JSON.
    const files = (JSON.parse(stdout.slice(stdout.indexOf('['))) as { files: { path: string }[] }[])[0]!.files.map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/cli.js',
        'dist/index.js',
        'dist/store/embedded-snapshot.tar.gz',
        'dist/store/embedded-snapshot.json',
        'catalog/agents.json',
      ]),
    );
    expect((await stat(join(ROOT, 'dist', 'cli.js'))).mtimeMs).toBe(before);
  });
});
