// `prepare` runs on `npm install` in a clone, on `npx autochat` inside the project (npm installs the
// project into its npx cache, running `prepare` here first) and when this directory is installed as
// a dependency. It builds only when dist/ is missing or was built from other inputs than these, so a
// current build is never redone (minutes) nor rewritten under a running server. The build writes the
// stamp (`node scripts/prepare.mjs --stamp`): a hash of every input of the build.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const STAMP = join(root, 'dist', '.build-inputs');
/** What the build reads (tests excluded: they are not built). */
const INPUTS = ['src', 'web', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];

function filesUnder(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

function inputsHash() {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((input) => filesUnder(join(root, input))).sort()) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

if (process.argv.includes('--stamp')) {
  writeFileSync(STAMP, `${inputsHash()}\n`);
} else {
  const current = existsSync(join(root, 'dist', 'cli.js')) && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === inputsHash();
  if (current) {
    console.log('autochat: dist/ is up to date with the sources; not rebuilding.');
  } else {
    const built = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
    process.exitCode = built.status ?? 1;
  }
}
