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

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What the build reads (tests excluded: they are not built). */
const INPUTS = ['src', 'web', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
const stampOf = (root) => join(root, 'dist', '.build-inputs');

function filesUnder(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** A hash of the contents (and paths) of every input of the build under `root`. */
export function inputsHash(root = ROOT) {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((input) => filesUnder(join(root, input))).sort()) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/** True when dist/ under `root` was built from exactly the inputs there now. */
export function builtFromInputs(root = ROOT) {
  return (
    existsSync(join(root, 'dist', 'cli.js')) && existsSync(stampOf(root)) && readFileSync(stampOf(root), 'utf8').trim() === inputsHash(root)
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--stamp')) {
    writeFileSync(stampOf(ROOT), `${inputsHash()}\n`);
  } else if (builtFromInputs()) {
    console.log('autochat: dist/ is up to date with the sources; not rebuilding.');
  } else {
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
    process.exitCode = built.status ?? 1;
  }
}
